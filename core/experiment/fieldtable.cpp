// The table of experiment fields (fieldtable.h): the one place a field is declared, bound to its member.
#include "experiment/fieldtable.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

namespace lbk {

using nlohmann::json;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Integers are read as int or 64-bit; beyond these a value would wrap, so the schema refuses it.
constexpr double kMaxInt = 2147483647.0;
constexpr double kMaxInt64 = 9007199254740992.0; // 2^53: still exact as a JSON number

// The member of Experiment that holds each part. A part's type occurs once in Experiment, so a field names only
// its own member (&ModelSpec::channels), and a member of some other struct does not compile.
template <typename Part> constexpr Part Experiment::*kPart = nullptr;
template <> constexpr DataSpec Experiment::*kPart<DataSpec> = &Experiment::data;
template <> constexpr LabelSpec Experiment::*kPart<LabelSpec> = &Experiment::labels;
template <> constexpr SplitSpec Experiment::*kPart<SplitSpec> = &Experiment::split;
template <> constexpr TokenizerSpec Experiment::*kPart<TokenizerSpec> = &Experiment::tokenizer;
template <> constexpr ModelSpec Experiment::*kPart<ModelSpec> = &Experiment::model;
template <> constexpr OptimizerSpec Experiment::*kPart<OptimizerSpec> = &Experiment::optimizer;
template <> constexpr ScheduleSpec Experiment::*kPart<ScheduleSpec> = &Experiment::schedule;
template <> constexpr TrainingSpec Experiment::*kPart<TrainingSpec> = &Experiment::training;
template <> constexpr EvaluationSpec Experiment::*kPart<EvaluationSpec> = &Experiment::evaluation;
template <> constexpr LrFinderSpec Experiment::*kPart<LrFinderSpec> = &Experiment::lrFinder;
template <> constexpr MlmSpec Experiment::*kPart<MlmSpec> = &Experiment::mlm;

template <typename Part, typename M, typename E>
auto &memberOf(E &e, M Part::*member)
{
    if constexpr (std::is_same_v<Part, Experiment>) {
        return e.*member;
    } else {
        static_assert(kPart<Part> != nullptr, "the member's struct is not a part of Experiment");
        return (e.*kPart<Part>).*member;
    }
}

// The schema's type follows from the member's, so the two cannot disagree.
template <typename M>
constexpr FieldType fieldTypeOf()
{
    if constexpr (std::is_same_v<M, bool>)
        return FieldType::Bool;
    else if constexpr (std::is_integral_v<M>)
        return FieldType::Int;
    else if constexpr (std::is_floating_point_v<M>)
        return FieldType::Float;
    else if constexpr (std::is_same_v<M, std::vector<std::string>>)
        return FieldType::StringList;
    else if constexpr (std::is_same_v<M, std::vector<int>>)
        return FieldType::IntList;
    else {
        static_assert(std::is_same_v<M, std::string>, "the schema has no type for this member's type");
        return FieldType::String;
    }
}

FieldSpec makeSpec(std::string path, FieldType type, json def, std::string help)
{
    FieldSpec f;
    const auto dot = path.find('.');
    f.group = dot == std::string::npos ? "experiment" : path.substr(0, dot); // top-level keys: the "experiment" section
    f.path = std::move(path);
    f.type = type;
    f.defaultValue = std::move(def);
    f.help = std::move(help);
    return f;
}

// One row of the table as it is declared: field() and its kin start it, the calls after it say what the field
// allows, and it converts to the FieldBinding the table holds.
class Row {
public:
    explicit Row(FieldBinding b) : m_b(std::move(b)) {}
    Row &range(double lo, double hi, bool loExclusive = false, bool hiExclusive = false)
    {
        m_b.spec.min = lo;
        if (std::isfinite(hi))
            m_b.spec.max = hi;
        m_b.spec.minExclusive = loExclusive;
        m_b.spec.maxExclusive = hiExclusive;
        return *this;
    }
    Row &choices(std::vector<std::string> c) // a string member (or a config-only enum) then takes only these
    {
        assert(m_b.spec.type == FieldType::String || m_b.spec.type == FieldType::Enum);
        m_b.spec.type = FieldType::Enum;
        m_b.spec.choices = std::move(c);
        return *this;
    }
    Row &when(std::vector<std::string> conditions)
    {
        m_b.spec.appliesTo = std::move(conditions);
        return *this;
    }
    Row &unless(std::vector<std::string> conditions)
    {
        m_b.spec.unless = std::move(conditions);
        return *this;
    }
    Row &logScaled()
    {
        m_b.spec.logScale = true;
        return *this;
    }
    Row &sweptWithin(double lo, double hi)
    {
        m_b.spec.sweepRange = std::pair{lo, hi};
        return *this;
    }
    Row &notAHyperparameter()
    {
        m_b.spec.hyperparameter = false;
        return *this;
    }
    Row &required()
    {
        m_b.spec.required = true;
        return *this;
    }
    Row &recordedBefore(json value)
    {
        m_b.recordedDefault = std::move(value);
        return *this;
    }
    operator FieldBinding() const { return m_b; }

private:
    FieldBinding m_b;
};

// A field whose value is its member's, as JSON: the usual case.
template <typename Part, typename M>
Row field(M Part::*member, std::string path, std::string help)
{
    FieldBinding b;
    b.read = [member](const json &v, Experiment &e) { v.get_to(memberOf(e, member)); };
    b.write = [member](const Experiment &e) { return json(memberOf(e, member)); };
    b.spec = makeSpec(std::move(path), fieldTypeOf<M>(), b.write(Experiment{}), std::move(help));
    return Row(std::move(b));
}

// data.path: one path (written back as a string, as every config recorded before lists existed has it) or a list.
Row pathsField(std::vector<std::string> DataSpec::*member, std::string path, std::string help)
{
    FieldBinding b;
    b.read = [member](const json &v, Experiment &e) {
        auto &paths = memberOf(e, member);
        paths = v.is_array() ? v.get<std::vector<std::string>>() : std::vector<std::string>{v.get<std::string>()};
    };
    b.write = [member](const Experiment &e) {
        const auto &paths = memberOf(e, member);
        return paths.size() == 1 ? json(paths.front()) : paths.empty() ? json("") : json(paths);
    };
    b.spec = makeSpec(std::move(path), FieldType::Paths, b.write(Experiment{}), std::move(help));
    return Row(std::move(b));
}

// A choice whose member is not the string but a value each word stands for, such as a bool named by two words
// (labels.others): the words and their values are listed together, in the order the docs give them.
template <typename Part, typename M>
Row choiceField(M Part::*member, std::string path, std::string help, std::vector<std::pair<std::string, M>> words)
{
    FieldBinding b;
    b.read = [member, words](const json &v, Experiment &e) {
        for (const auto &[word, value] : words)
            if (v == word)
                memberOf(e, member) = value;
    };
    b.write = [member, words](const Experiment &e) {
        for (const auto &[word, value] : words)
            if (memberOf(e, member) == value)
                return json(word);
        return json();
    };
    b.spec = makeSpec(std::move(path), FieldType::Enum, b.write(Experiment{}), std::move(help));
    for (const auto &[word, value] : words)
        b.spec.choices.push_back(word);
    return Row(std::move(b));
}

// The usual choice: an enum of experiment.h, written with its words (kWords).
template <typename Part, ClosedSet M>
Row choiceField(M Part::*member, std::string path, std::string help)
{
    std::vector<std::pair<std::string, M>> words;
    for (size_t i = 0; i < kWords<M>.size(); ++i)
        words.emplace_back(kWords<M>[i], static_cast<M>(i));
    return choiceField(member, std::move(path), std::move(help), std::move(words));
}

// A field without a member: the code that uses it reads Experiment::config, named at each such row.
Row configOnly(std::string path, FieldType type, json def, std::string help)
{
    FieldBinding b;
    b.spec = makeSpec(std::move(path), type, std::move(def), std::move(help));
    return Row(std::move(b));
}

// The model types with a bag member and with a CNN member (ModelSpec::hasBag and hasCnn).
std::vector<std::string> bagModels()
{
    return {"model.type=bag", "model.type=bag_cnn"};
}
std::vector<std::string> cnnModels()
{
    return {"model.type=cnn", "model.type=bag_cnn"};
}

std::vector<FieldBinding> topLevelFields()
{
    return {
        field(&Experiment::name, "name", "A short name for the experiment; defaults to the file's name."),
        field(&Experiment::description, "description", "What this experiment tries out, in a sentence or two."),
        // Read into the run's tags when it is launched (launch/local.cpp); they do not change what it computes.
        configOnly("tags", FieldType::StringList, json::array(), "Tags given to every run of this experiment."),
    };
}

std::vector<FieldBinding> dataFields()
{
    return {
        pathsField(&DataSpec::paths, "data.path",
                   "Dataset file: JSON lines (.jsonl, .jsonl.zst) as arXiv's metadata, or CSV/TSV with a header; a "
                   "pattern (shards/*.jsonl.zst) reads every matching file, and a list of paths and patterns reads them "
                   "all as one corpus. Relative paths resolve against the data root (--data-root, $LABBOOK_DATA, else "
                   "../shared/data beside the checkout). A launch on this machine refuses a file that is not there, or a "
                   "pattern that matches nothing, before the run exists; lbk validate only notes it, as a target may "
                   "have the data.")
            .required(),
        choiceField(&DataSpec::format, "data.format", "File format; auto decides by the extension."),
        choiceField(&DataSpec::text, "data.text", "Which text the model reads."),
        field(&DataSpec::idColumn, "data.columns.id", "Column (or JSON field) holding the paper id."),
        field(&DataSpec::titleColumn, "data.columns.title", "Column (or JSON field) holding the title."),
        field(&DataSpec::abstractColumn, "data.columns.abstract", "Column (or JSON field) holding the abstract."),
        field(&DataSpec::categoriesColumn, "data.columns.categories",
              "Column (or JSON field) holding the space-separated categories, primary first."),
        field(&DataSpec::maxBadShare, "data.max_bad_share",
              "Share of lines that may fail to parse (they are skipped and reported) before the read fails.")
            .range(0, 1),
        field(&DataSpec::limit, "data.limit", "Read at most this many papers (0: all).").range(0, kMaxInt64),
    };
}

std::vector<FieldBinding> labelFields()
{
    return {
        choiceField(&LabelSpec::kind, "labels.kind",
                    "multiclass: the primary category among the N most common; binary: does the paper carry one of "
                    "the positive categories; multilabel: every category with a prefix."),
        field(&LabelSpec::topN, "labels.top_n", "Multiclass: keep the N most common primary categories.")
            .range(2, 10000)
            .when({"labels.kind=multiclass"}),
        choiceField(&LabelSpec::poolOthers, "labels.others",
                    "Multiclass: papers outside the top N are dropped, or pooled into 'other'.",
                    {{"drop", false}, {"pool", true}})
            .when({"labels.kind=multiclass"}),
        field(&LabelSpec::positive, "labels.positive",
              "Binary: the categories that make a paper positive, e.g. [\"cs.CV\"].")
            .when({"labels.kind=binary"}),
        choiceField(&LabelSpec::matchPrimaryOnly, "labels.match",
                    "Binary: match any of the paper's categories, or only its primary one.",
                    {{"any", false}, {"primary", true}})
            .when({"labels.kind=binary"}),
        field(&LabelSpec::prefix, "labels.prefix",
              "Multilabel: the categories starting with this prefix are the labels.")
            .when({"labels.kind=multilabel"}),
        field(&LabelSpec::minCount, "labels.min_count", "Multilabel: categories carried by fewer papers are left out.")
            .range(1, kMaxInt)
            .when({"labels.kind=multilabel"}),
    };
}

std::vector<FieldBinding> splitFields()
{
    return {
        field(&SplitSpec::train, "split.train", "Share of papers for training.").range(0, 1, true),
        field(&SplitSpec::validation, "split.validation", "Share for validation (evaluations during training).")
            .range(0, 1),
        field(&SplitSpec::test, "split.test", "Share for the final test.").range(0, 1),
        field(&SplitSpec::seed, "split.seed", "Seed of the split; the same seed gives the same split on every machine.")
            .range(0, kMaxInt64),
        field(&SplitSpec::stratify, "split.stratify", "Keep each class's share the same in every split."),
    };
}

std::vector<FieldBinding> tokenizerFields()
{
    return {
        choiceField(
            &TokenizerSpec::type, "tokenizer.type",
            "Sentencepiece model type: unigram or bpe pieces; word: whole words (runs of ASCII letters, digits, _ "
            "and non-ASCII characters; everything else separates them), the vocab_size most frequent seen at least "
            "tokenizer.min_count times, others unknown.")
            .unless({"model.init_from"}),
        field(&TokenizerSpec::minCount, "tokenizer.min_count",
              "Word tokenizer: words seen fewer times in the training split are unknown.")
            .range(1, 1000000)
            .when({"tokenizer.type=word"})
            .unless({"model.init_from"}),
        field(&TokenizerSpec::vocabSize, "tokenizer.vocab_size", "Vocabulary size (a soft limit on small data).")
            .range(100, 1000000)
            .unless({"model.init_from"}),
        field(&TokenizerSpec::lowercase, "tokenizer.lowercase", "Lower-case text before tokenizing.")
            .unless({"model.init_from"}),
        field(&TokenizerSpec::maxTokens, "tokenizer.max_tokens", "Longer texts are cut to this many tokens.")
            .range(4, 4096),
        field(&TokenizerSpec::characterCoverage, "tokenizer.character_coverage",
              "Share of characters the vocabulary must cover.")
            .range(0.9, 1)
            .when({"tokenizer.type=unigram", "tokenizer.type=bpe"})
            .unless({"model.init_from"}),
    };
}

// The model's fields in four parts (common, bag, CNN, sequence), in this order in the docs and the form.
std::vector<FieldBinding> modelCommonFields()
{
    return {
        choiceField(
            &ModelSpec::type, "model.type",
            "bag: fastText-style bag of word and n-gram embeddings; cnn: convolutions over token embeddings; gru: "
            "bidirectional GRU with pooling; transformer: a small pre-norm encoder; bag_cnn: a bag and a CNN side "
            "by side, each trained on its own loss (train/loss is their mean), predicting with their logits "
            "averaged (model.bag_weight); it gains over either alone because they make different mistakes; "
            "encoder: a BERT or RoBERTa encoder as Hugging Face's transformers implements it, fine-tuned from a "
            "checkpoint folder (model.init_from) or trained from scratch."),
        field(&ModelSpec::embeddingDim, "model.embedding_dim", "Token embedding size.").range(8, 4096),
        field(&ModelSpec::dropout, "model.dropout", "Dropout before the classifier (and inside the model).")
            .range(0, 1, false, true)
            .sweptWithin(0, 0.5),
    };
}

std::vector<FieldBinding> modelBagFields()
{
    return {
        field(&ModelSpec::ngrams, "model.ngrams", "Bag: token n-grams up to this order.").range(1, 4).when(bagModels()),
        field(&ModelSpec::ngramBuckets, "model.ngram_buckets",
              "Bag: hash buckets for the n-grams above order 1 (0: unigrams only).")
            .range(0, 100000000)
            .when(bagModels()),
        field(&ModelSpec::minDf, "model.min_df",
              "Bag with TF-IDF weighting: tokens and n-grams found in fewer training texts than this get weight 0 "
              "(scikit-learn's min_df).")
            .range(1, 1000000)
            .when({"model.weighting=tfidf"}),
        field(&ModelSpec::charNgrams, "model.char_ngrams",
              "Bag: also the character n-grams of every token, of lengths model.char_ngrams_min to this (fastText's "
              "subwords; 0: off). They share the n-gram buckets.")
            .range(0, 8)
            .when(bagModels()),
        field(&ModelSpec::charNgramsMin, "model.char_ngrams_min", "Bag: shortest character n-gram.")
            .range(1, 8)
            .when(bagModels())
            .unless({"model.char_ngrams=0"}),
        choiceField(&ModelSpec::ngramHash, "model.ngram_hash",
                    "Bag: how an n-gram's tokens pick its bucket. mix: a 64-bit mixing hash (docs/EXPERIMENTS.md). "
                    "multiplicative: h * 1000003 + token, which puts many n-grams in the same bucket; only for runs "
                    "recorded before 2026-11-24, which used it.")
            .when(bagModels())
            .recordedBefore("multiplicative"),
        choiceField(&ModelSpec::weighting, "model.weighting",
                    "Bag: mean, the plain average of the text's token and n-gram vectors (fastText); tfidf, their sum "
                    "weighted by (1 + log tf) x idf and L2-normalised per text, with idf from the training split.")
            .when(bagModels()),
    };
}

std::vector<FieldBinding> modelCnnFields()
{
    return {
        field(&ModelSpec::kernelSizes, "model.kernel_sizes", "CNN: widths of the convolutions.")
            .range(1, 16)
            .when(cnnModels()),
        field(&ModelSpec::channels, "model.channels", "CNN: filters per kernel width.")
            .range(1, 4096)
            .when(cnnModels()),
        field(&ModelSpec::bagWeight, "model.bag_weight",
              "bag_cnn: the bag's share of the averaged logits (the CNN gets the rest); for a softmax that is the "
              "members' probabilities' weighted geometric mean.")
            .range(0, 1)
            .when({"model.type=bag_cnn"}),
        field(&ModelSpec::cnnEmbeddingDim, "model.cnn_embedding_dim",
              "bag_cnn: the CNN member's token embedding size (0: model.embedding_dim), so the CNN can have wider "
              "embeddings than the bag's big n-gram table.")
            .range(0, 4096)
            .when({"model.type=bag_cnn"}),
        field(&ModelSpec::cnnLrFactor, "model.cnn_lr_factor",
              "bag_cnn: the CNN member's learning rate as a multiple of optimizer.lr (the schedule scales both); a "
              "CNN usually wants a higher rate than the bag.")
            .range(0, 100, true)
            .when({"model.type=bag_cnn"}),
    };
}

std::vector<FieldBinding> modelSequenceFields()
{
    return {
        field(&ModelSpec::hidden, "model.hidden",
              "GRU: hidden size per direction; transformer, encoder: feed-forward size (encoder with init_from: the "
              "checkpoint's intermediate_size).")
            .range(1, 16384)
            .when({"model.type=gru", "model.type=transformer", "model.type=encoder"}),
        field(&ModelSpec::layers, "model.layers", "GRU, transformer or encoder layers (encoder with init_from: the "
                                                  "checkpoint's).")
            .range(1, 48)
            .when({"model.type=gru", "model.type=transformer", "model.type=encoder"}),
        field(&ModelSpec::heads, "model.heads", "Transformer, encoder: attention heads (must divide embedding_dim).")
            .range(1, 64)
            .when({"model.type=transformer", "model.type=encoder"}),
        choiceField(&ModelSpec::pooling, "model.pooling",
                    "How token states become one vector: mean, max, meanmax (GRU), cls (transformer, encoder: the "
                    "first token's state), pooler (encoder: Hugging Face's own head, BERT's pooler or RoBERTa's dense "
                    "layer over the first token; needed for `lbk export --format hf`).")
            .when({"model.type=gru", "model.type=transformer", "model.type=encoder"})
            .unless({"training.objective=mlm"}),
    };
}

std::vector<FieldBinding> modelEncoderFields()
{
    const std::vector<std::string> encoder = {"model.type=encoder"};
    const std::vector<std::string> classifierOnly = {"training.objective=mlm"}; // pre-training trains all at one rate
    return {
        field(&ModelSpec::initFrom, "model.init_from",
              "A Hugging Face checkpoint folder (config.json, model.safetensors, vocab.txt or vocab.json + "
              "merges.txt) to fine-tune from; its sizes and tokenizer replace the experiment's. \"run:ID\": the "
              "encoder of an MLM pre-training run of this store (id, name or uid). Empty: train from scratch with "
              "model.layers, embedding_dim, heads and hidden.")
            .when(encoder),
        field(&ModelSpec::appendSep, "model.append_sep",
              "Encoder from an MLM pre-training run (init_from \"run:ID\"): a text is [CLS] pieces [SEP], as the "
              "pre-training sequences were; false: [CLS] pieces, as runs recorded before 2026-12-03 had it.")
            .when(encoder)
            .recordedBefore(false),
        field(&ModelSpec::allowMissingWeights, "model.allow_missing_weights",
              "Start weights the folder lacks (other than the new classification head) at random instead of "
              "failing.")
            .when(encoder),
        field(&ModelSpec::headLrFactor, "model.head_lr_factor",
              "The classification head's learning rate as a multiple of optimizer.lr.")
            .range(0, 1000, true)
            .when(encoder)
            .unless(classifierOnly),
        field(&ModelSpec::layerLrDecay, "model.layer_lr_decay",
              "Layer-wise rate decay: the pooler (when there is one) trains at optimizer.lr, the top layer at this "
              "times it, each layer below at this times the one above, the embeddings lowest (this to the power "
              "layers + 1); 1: off.")
            .range(0, 1, true)
            .when(encoder)
            .unless(classifierOnly),
        field(&ModelSpec::freezeEmbeddings, "model.freeze_embeddings", "Keep the embedding tables as loaded.")
            .when(encoder)
            .unless(classifierOnly),
    };
}

std::vector<FieldBinding> optimizerFields()
{
    return {
        choiceField(&OptimizerSpec::type, "optimizer.type",
                    "AdamW, or SGD with momentum. A bag model (mean weighting, no dropout) on a multiclass task "
                    "without class weights, with plain SGD (momentum, weight decay and clipping 0), one fp32 process "
                    "on the CPU and one part per batch, trains with fastText's fused step, without autograd: the same "
                    "updates in a third of the time (docs/BENCHMARKS.md, fastText)."),
        field(&OptimizerSpec::lr, "optimizer.lr", "Peak learning rate (the LR finder suggests one).")
            .range(0, 10, true)
            .logScaled(),
        field(&OptimizerSpec::weightDecay, "optimizer.weight_decay", "Decoupled weight decay (AdamW) or L2 (SGD).")
            .range(0, 1)
            .sweptWithin(0, 0.1),
        field(&OptimizerSpec::momentum, "optimizer.momentum", "SGD momentum.")
            .range(0, 1, false, true)
            .sweptWithin(0.8, 0.99)
            .when({"optimizer.type=sgd"}),
        field(&OptimizerSpec::beta1, "optimizer.beta1", "AdamW beta1.")
            .range(0, 1, false, true)
            .sweptWithin(0.8, 0.95)
            .when({"optimizer.type=adamw"}),
        field(&OptimizerSpec::beta2, "optimizer.beta2", "AdamW beta2.")
            .range(0, 1, false, true)
            .sweptWithin(0.98, 0.9995)
            .when({"optimizer.type=adamw"}),
        field(&OptimizerSpec::gradClip, "optimizer.grad_clip", "Clip the global gradient norm to this (0: off).")
            .range(0, kInf),
        field(&OptimizerSpec::labelSmoothing, "optimizer.label_smoothing", "Label smoothing for multiclass losses.")
            .when({"labels.kind=multiclass"}) // binary and multi-label losses are per-label sigmoids, unsmoothed
            .range(0, 1, false, true)
            .sweptWithin(0, 0.2),
        // The trainer reads it from the config when it builds the optimizer (engine/trainer.cpp).
        configOnly("optimizer.sparse_embeddings", FieldType::Bool, true,
                   "Bag: update only the embedding rows a batch uses (lazy AdamW, as PyTorch's SparseAdam, or SGD "
                   "as fastText does); much faster on large n-gram tables. SGD with momentum 0 keeps no state beside "
                   "the table (AdamW keeps two copies of it). Weight decay applies to the rows updated. false: the "
                   "optimizer on every row.")
            .when(bagModels()),
    };
}

std::vector<FieldBinding> scheduleFields()
{
    return {
        choiceField(&ScheduleSpec::type, "schedule.type",
                    "constant; linear: warm-up then linear decay; onecycle: cosine up then down; cosine: warm-up then "
                    "cosine decay."),
        field(&ScheduleSpec::warmup, "schedule.warmup", "Share of all steps spent warming up.")
            .range(0, 1, false, true),
        field(&ScheduleSpec::finalLrFactor, "schedule.final_lr_factor",
              "Learning rate at the last step, as a share of the peak (linear, cosine, onecycle).")
            .range(0, 1),
    };
}

std::vector<FieldBinding> trainingFields()
{
    return {
        choiceField(&TrainingSpec::objective, "training.objective",
                    "classify: learn the labels; mlm: pre-train an encoder with masked-language modelling on the "
                    "texts alone (docs/PRETRAINING.md)."),
        field(&TrainingSpec::batchSize, "training.batch_size", "Examples per step.").range(1, 65536),
        field(&TrainingSpec::accumulate, "training.accumulate",
              "Gradient accumulation: each step's batch is computed in this many parts (same result, less memory).")
            .range(1, 1024),
        field(&TrainingSpec::epochs, "training.epochs", "Passes over the training split.").range(1, 10000),
        field(&TrainingSpec::maxSteps, "training.max_steps", "Stop after this many steps (0: the epochs decide).")
            .range(0, kMaxInt64)
            .notAHyperparameter(), // 0 means no cap: a range around it is trials of a step or two
        field(&TrainingSpec::seed, "training.seed", "Seed for initialisation, data order and dropout.")
            .range(0, kMaxInt64),
        choiceField(&TrainingSpec::device, "training.device", "auto: CUDA when available, else CPU.")
            .notAHyperparameter(),
        field(&TrainingSpec::threads, "training.threads",
              "CPU threads for LibTorch and the BLAS under it (0: all cores).")
            .range(0, kMaxThreads)
            .notAHyperparameter(),
        field(&TrainingSpec::logEvery, "training.log_every", "Steps between training metrics.")
            .range(1, 1000000)
            .notAHyperparameter(),
        field(&TrainingSpec::checkpointMinutes, "training.checkpoint_minutes",
              "Minutes of training a killed run may lose: the resumable checkpoint (checkpoints/last.pt, with the "
              "optimizer's state) is written this often, and when the run is cancelled (0: at every evaluation). A "
              "finished run keeps only best.pt.")
            .range(0, 10080)
            .notAHyperparameter(),
        field(&TrainingSpec::balanced, "training.balanced",
              "Weight classes inversely to their frequency in the training loss (for skewed labels); evaluations "
              "record the unweighted loss.")
            .unless({"training.objective=mlm"}), // masked tokens have no classes to weight
        // The trainer and the scorer read it from the config (engine/trainer.cpp, engine/inference.cpp).
        configOnly("training.precision", FieldType::Enum, "fp32",
                   "bf16: autocast matrix products to bfloat16 on CUDA or on CPUs with native bf16 (AVX512-BF16, "
                   "AMX); elsewhere the run trains in fp32 and logs a warning. `lbk predict` and `lbk eval` score the "
                   "run the same way (their --precision auto).")
            .choices({"fp32", "bf16"}),
        field(&TrainingSpec::processes, "training.processes",
              "Training processes (torch.distributed, data parallel): the global batch is split across them and only "
              "the first reports. Started by the worker itself, or by srun as one task each in a Slurm job.")
            .range(1, 256)
            .notAHyperparameter(),
        choiceField(&TrainingSpec::backend, "training.backend",
                    "Collective backend when processes > 1; auto: NCCL on CUDA, Gloo on CPU.")
            .notAHyperparameter(),
    };
}

std::vector<FieldBinding> evaluationFields()
{
    return {
        field(&EvaluationSpec::everySteps, "evaluation.every_steps",
              "Evaluate on validation every N steps (0: each epoch).")
            .range(0, kMaxInt64),
        field(&EvaluationSpec::maxPredictions, "evaluation.max_predictions",
              "Per-example predictions kept per evaluation (0: all).")
            .range(0, kMaxInt64),
        field(&EvaluationSpec::topK, "evaluation.top_k", "Predicted labels kept per example.").range(1, 50),
        field(&EvaluationSpec::histogramBins, "evaluation.histogram_bins", "Bins of the prediction histograms.")
            .range(2, 1000),
        choiceField(&EvaluationSpec::metric, "evaluation.metric",
                    "Validation metric that picks the best checkpoint and drives early stopping."),
        field(&EvaluationSpec::earlyStopping, "evaluation.early_stopping",
              "Stop after this many evaluations without improvement (0: off).")
            .range(0, kMaxInt),
        field(&EvaluationSpec::keepCheckpoints, "evaluation.keep_checkpoints",
              "Keep the model's weights at every evaluation as checkpoints/step-N.pt, e.g. to fine-tune from a "
              "pre-training run as it was after N steps (model.init_from \"run:ID@N\")."),
    };
}

std::vector<FieldBinding> mlmFields()
{
    return {
        field(&MlmSpec::probability, "mlm.probability",
              "Share of the non-special tokens chosen for the loss, drawn afresh for every batch; of those 80% become "
              "the mask token, 10% a random token, 10% stay.")
            .range(0, 1, true, true)
            .when({"training.objective=mlm"}),
        field(&MlmSpec::onePerDocument, "mlm.one_per_document",
              "One document per sequence (cut to tokenizer.max_tokens); otherwise documents are packed across their "
              "boundaries with separators, so no sequence but the last has padding.")
            .when({"training.objective=mlm"}),
        field(&MlmSpec::taskSplit, "mlm.task_split",
              "Split the documents as a classifier with this experiment's labels and split would: its training papers "
              "train, its validation papers are held out, its test papers and papers outside the task are never read. "
              "Pre-training then never sees a paper the fine-tuned classifier is validated or tested on.")
            .when({"training.objective=mlm"}),
        field(&MlmSpec::evalSequences, "mlm.eval_sequences",
              "Held-out sequences scored at each evaluation, the same ones every time (0: all of them).")
            .range(0, kMaxInt)
            .when({"training.objective=mlm"}),
        field(&MlmSpec::tiedDecoder, "mlm.tied_decoder",
              "The prediction head's decoder is the word embeddings, as in BERT. false gives it a matrix of its own "
              "(the export says tie_word_embeddings: false), so the softmax over the vocabulary no longer pushes the "
              "input embeddings of rarely seen words towards one another: what a short pre-training leaves them with "
              "(docs/PRETRAINING.md). Pre-training from scratch only; a checkpoint in model.init_from keeps its own.")
            .when({"training.objective=mlm"})
            .unless({"model.init_from"}),
    };
}

std::vector<FieldBinding> lrFinderFields()
{
    return {
        field(&LrFinderSpec::minLr, "lr_finder.min_lr", "LR range test: first rate.").range(0, 1, true).logScaled(),
        field(&LrFinderSpec::maxLr, "lr_finder.max_lr", "LR range test: last rate.").range(0, 1000, true).logScaled(),
        field(&LrFinderSpec::steps, "lr_finder.steps", "LR range test: steps (rates, exponentially spaced).")
            .range(10, 100000),
        field(&LrFinderSpec::beta, "lr_finder.beta",
              "LR range test: smoothing of the running loss that decides when to stop (EMA, debiased).")
            .range(0, 1, false, true),
        field(&LrFinderSpec::stopFactor, "lr_finder.stop_factor",
              "LR range test: stop when the smoothed loss exceeds this many times the best.")
            .range(1, 1000, true),
    };
}

} // namespace

const std::vector<FieldBinding> &fieldBindings()
{
    static const std::vector<FieldBinding> table = [] {
        std::vector<FieldBinding> all;
        for (auto part : {topLevelFields, dataFields, labelFields, splitFields, tokenizerFields, modelCommonFields,
                          modelBagFields, modelCnnFields, modelSequenceFields, modelEncoderFields, optimizerFields, scheduleFields,
                          trainingFields, evaluationFields, lrFinderFields, mlmFields})
            for (auto &row : part())
                all.push_back(std::move(row));
        return all;
    }();
    return table;
}

Experiment readFields(const json &resolved)
{
    Experiment e;
    e.config = resolved;
    for (const auto &b : fieldBindings())
        if (b.read)
            b.read(valueAt(resolved, b.spec.path), e);
    return e;
}

json writeFields(const Experiment &e)
{
    json j = json::object();
    for (const auto &b : fieldBindings())
        if (b.write)
            setValueAt(j, b.spec.path, b.write(e));
    return j;
}

const std::vector<FieldSpec> &experimentFields()
{
    static const std::vector<FieldSpec> fields = [] {
        std::vector<FieldSpec> specs;
        for (const auto &b : fieldBindings())
            specs.push_back(b.spec);
        return specs;
    }();
    return fields;
}

const FieldSpec *findField(std::string_view path)
{
    for (const auto &f : experimentFields())
        if (f.path == path)
            return &f;
    return nullptr;
}

std::vector<std::string> experimentGroups()
{
    std::vector<std::string> groups;
    for (const auto &f : experimentFields())
        if (std::find(groups.begin(), groups.end(), f.group) == groups.end())
            groups.push_back(f.group);
    return groups;
}

} // namespace lbk
