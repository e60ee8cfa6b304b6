// The table of experiment fields (schema.h): the one place a field is declared.
#include <algorithm>
#include <cmath>
#include <limits>

#include "experiment/schema.h"

namespace lbk {

using nlohmann::json;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Integers are read as int or 64-bit; beyond these a value would wrap, so the schema refuses it.
constexpr double kMaxInt = 2147483647.0;
constexpr double kMaxInt64 = 9007199254740992.0; // 2^53: still exact as a JSON number

FieldSpec field(std::string path, FieldType type, json def, std::string help)
{
    FieldSpec f;
    f.group = path.substr(0, path.find('.'));
    f.path = std::move(path);
    f.type = type;
    f.defaultValue = std::move(def);
    f.help = std::move(help);
    return f;
}

FieldSpec range(FieldSpec f, double lo, double hi, bool loExclusive = false, bool hiExclusive = false)
{
    f.min = lo;
    if (std::isfinite(hi))
        f.max = hi;
    f.minExclusive = loExclusive;
    f.maxExclusive = hiExclusive;
    return f;
}

FieldSpec choices(FieldSpec f, std::vector<std::string> c)
{
    f.choices = std::move(c);
    return f;
}

FieldSpec applies(FieldSpec f, std::vector<std::string> when)
{
    f.appliesTo = std::move(when);
    return f;
}

FieldSpec logScaled(FieldSpec f)
{
    f.logScale = true;
    return f;
}

std::vector<FieldSpec> makeFields()
{
    using T = FieldType;
    // The model types with a bag member and with a CNN member (ModelSpec::hasBag and hasCnn).
    const std::vector<std::string> kBagModels = {"model.type=bag", "model.type=bag_cnn"};
    const std::vector<std::string> kCnnModels = {"model.type=cnn", "model.type=bag_cnn"};
    std::vector<FieldSpec> f;
    f.push_back(field("name", T::String, "", "A short name for the experiment; defaults to the file's name."));
    f.back().group = "experiment";
    f.push_back(field("description", T::String, "", "What this experiment tries out, in a sentence or two."));
    f.back().group = "experiment";
    f.push_back(field("tags", T::StringList, json::array(), "Tags given to every run of this experiment."));
    f.back().group = "experiment";

    FieldSpec path = field("data.path", T::String, "",
                           "Dataset file: JSON lines (.jsonl, .jsonl.zst) as arXiv's metadata, or CSV/TSV with a "
                           "header. Relative paths resolve against the data root (--data-root, $LABBOOK_DATA, "
                           "else ../shared/data beside the checkout).");
    path.required = true;
    f.push_back(path);
    f.push_back(choices(field("data.format", T::Enum, "auto", "File format; auto decides by the extension."),
                        {"auto", "jsonl", "csv", "tsv"}));
    f.push_back(choices(field("data.text", T::Enum, "title", "Which text the model reads."),
                        {"title", "abstract", "title+abstract"}));
    f.push_back(field("data.columns.id", T::String, "id", "Column (or JSON field) holding the paper id."));
    f.push_back(field("data.columns.title", T::String, "title", "Column (or JSON field) holding the title."));
    f.push_back(field("data.columns.abstract", T::String, "abstract", "Column (or JSON field) holding the abstract."));
    f.push_back(field("data.columns.categories", T::String, "categories",
                      "Column (or JSON field) holding the space-separated categories, primary first."));
    f.push_back(range(field("data.max_bad_share", T::Float, 0.01,
                            "Share of lines that may fail to parse (they are skipped and reported) before the "
                            "read fails."),
                      0, 1));
    f.push_back(range(field("data.limit", T::Int, 0, "Read at most this many papers (0: all)."), 0, kMaxInt64));

    f.push_back(choices(field("labels.kind", T::Enum, "multiclass",
                              "multiclass: the primary category among the N most common; binary: does the paper "
                              "carry one of the positive categories; multilabel: every category with a prefix."),
                        {"multiclass", "binary", "multilabel"}));
    f.push_back(applies(range(field("labels.top_n", T::Int, 10, "Multiclass: keep the N most common primary categories."),
                              2, 10000),
                        {"labels.kind=multiclass"}));
    f.push_back(applies(choices(field("labels.others", T::Enum, "drop",
                                      "Multiclass: papers outside the top N are dropped, or pooled into 'other'."),
                                {"drop", "pool"}),
                        {"labels.kind=multiclass"}));
    f.push_back(applies(field("labels.positive", T::StringList, json::array(),
                              "Binary: the categories that make a paper positive, e.g. [\"cs.CV\"]."),
                        {"labels.kind=binary"}));
    f.push_back(applies(choices(field("labels.match", T::Enum, "any",
                                      "Binary: match any of the paper's categories, or only its primary one."),
                                {"any", "primary"}),
                        {"labels.kind=binary"}));
    f.push_back(applies(field("labels.prefix", T::String, "cs.",
                              "Multilabel: the categories starting with this prefix are the labels."),
                        {"labels.kind=multilabel"}));
    f.push_back(applies(range(field("labels.min_count", T::Int, 1,
                                    "Multilabel: categories carried by fewer papers are left out."),
                              1, kMaxInt),
                        {"labels.kind=multilabel"}));

    f.push_back(range(field("split.train", T::Float, 0.70, "Share of papers for training."), 0, 1, true));
    f.push_back(range(field("split.validation", T::Float, 0.15, "Share for validation (evaluations during training)."), 0, 1));
    f.push_back(range(field("split.test", T::Float, 0.15, "Share for the final test."), 0, 1));
    f.push_back(range(field("split.seed", T::Int, 13, "Seed of the split; the same seed gives the same split on every machine."),
                      0, kMaxInt64));
    f.push_back(field("split.stratify", T::Bool, true, "Keep each class's share the same in every split."));

    f.push_back(choices(field("tokenizer.type", T::Enum, "unigram",
                              "Sentencepiece model type: unigram or bpe pieces; word: whole words (runs of ASCII "
                              "letters, digits, _ and non-ASCII characters; everything else separates them), the "
                              "vocab_size most frequent seen at least tokenizer.min_count times, others unknown."),
                        {"unigram", "bpe", "word"}));
    f.push_back(applies(range(field("tokenizer.min_count", T::Int, 2,
                                    "Word tokenizer: words seen fewer times in the training split are unknown."),
                              1, 1000000),
                        {"tokenizer.type=word"}));
    f.push_back(range(field("tokenizer.vocab_size", T::Int, 8000, "Vocabulary size (a soft limit on small data)."), 100,
                      1000000));
    f.push_back(field("tokenizer.lowercase", T::Bool, true, "Lower-case text before tokenizing."));
    f.push_back(range(field("tokenizer.max_tokens", T::Int, 64, "Longer texts are cut to this many tokens."), 4, 4096));
    f.push_back(applies(range(field("tokenizer.character_coverage", T::Float, 0.9995,
                                    "Share of characters the vocabulary must cover."),
                              0.9, 1),
                        {"tokenizer.type=unigram", "tokenizer.type=bpe"}));

    f.push_back(choices(field("model.type", T::Enum, "bag",
                              "bag: fastText-style bag of word and n-gram embeddings; cnn: convolutions over token "
                              "embeddings; gru: bidirectional GRU with pooling; transformer: a small pre-norm encoder; "
                              "bag_cnn: a bag and a CNN side by side, each trained on its own loss (train/loss is "
                              "their mean), predicting with their logits averaged (model.bag_weight); it gains over "
                              "either alone because they make different mistakes."),
                        {"bag", "cnn", "gru", "transformer", "bag_cnn"}));
    f.push_back(range(field("model.embedding_dim", T::Int, 64, "Token embedding size."), 8, 4096));
    f.push_back(range(field("model.dropout", T::Float, 0.1, "Dropout before the classifier (and inside the model)."), 0,
                      1, false, true));
    f.push_back(applies(range(field("model.ngrams", T::Int, 2, "Bag: token n-grams up to this order."), 1, 4),
                        kBagModels));
    f.push_back(applies(range(field("model.ngram_buckets", T::Int, 200000,
                                    "Bag: hash buckets for the n-grams above order 1 (0: unigrams only)."),
                              0, 100000000),
                        kBagModels));
    f.push_back(applies(range(field("model.min_df", T::Int, 1,
                                    "Bag with TF-IDF weighting: tokens and n-grams found in fewer training texts "
                                    "than this get weight 0 (scikit-learn's min_df)."),
                              1, 1000000),
                        {"model.weighting=tfidf"}));
    f.push_back(applies(range(field("model.char_ngrams", T::Int, 0,
                                    "Bag: also the character n-grams of every token, of lengths "
                                    "model.char_ngrams_min to this (fastText's subwords; 0: off). They share the "
                                    "n-gram buckets."),
                              0, 8),
                        kBagModels));
    f.push_back(applies(range(field("model.char_ngrams_min", T::Int, 2, "Bag: shortest character n-gram."), 1, 8),
                        kBagModels));
    f.push_back(applies(choices(field("model.ngram_hash", T::Enum, "mix",
                                      "Bag: how an n-gram's tokens pick its bucket. mix: a 64-bit mixing hash "
                                      "(docs/EXPERIMENTS.md). multiplicative: h * 1000003 + token, which puts "
                                      "many n-grams in the same bucket; only for runs recorded before 2026-11-24, "
                                      "which used it."),
                                {"mix", "multiplicative"}),
                        kBagModels));
    f.push_back(applies(choices(field("model.weighting", T::Enum, "mean",
                                      "Bag: mean, the plain average of the text's token and n-gram vectors "
                                      "(fastText); tfidf, their sum weighted by (1 + log tf) x idf and "
                                      "L2-normalised per text, with idf from the training split."),
                                {"mean", "tfidf"}),
                        kBagModels));
    f.push_back(applies(range(field("model.kernel_sizes", T::IntList, json::array({2, 3, 4}),
                                    "CNN: widths of the convolutions."),
                              1, 16),
                        kCnnModels));
    f.push_back(applies(range(field("model.channels", T::Int, 128, "CNN: filters per kernel width."), 1, 4096),
                        kCnnModels));
    f.push_back(applies(range(field("model.bag_weight", T::Float, 0.7,
                                    "bag_cnn: the bag's share of the averaged logits (the CNN gets the rest); "
                                    "for a softmax that is the members' probabilities' weighted geometric mean."),
                              0, 1),
                        {"model.type=bag_cnn"}));
    f.push_back(applies(range(field("model.cnn_embedding_dim", T::Int, 0,
                                    "bag_cnn: the CNN member's token embedding size (0: model.embedding_dim), so "
                                    "the CNN can have wider embeddings than the bag's big n-gram table."),
                              0, 4096),
                        {"model.type=bag_cnn"}));
    f.push_back(applies(range(field("model.cnn_lr_factor", T::Float, 1.0,
                                    "bag_cnn: the CNN member's learning rate as a multiple of optimizer.lr (the "
                                    "schedule scales both); a CNN usually wants a higher rate than the bag."),
                              0, 100, true),
                        {"model.type=bag_cnn"}));
    f.push_back(applies(range(field("model.hidden", T::Int, 128,
                                    "GRU: hidden size per direction; transformer: feed-forward size."),
                              1, 16384),
                        {"model.type=gru", "model.type=transformer"}));
    f.push_back(applies(range(field("model.layers", T::Int, 1, "GRU or transformer layers."), 1, 24),
                        {"model.type=gru", "model.type=transformer"}));
    f.push_back(applies(range(field("model.heads", T::Int, 4, "Transformer: attention heads (must divide embedding_dim)."),
                              1, 64),
                        {"model.type=transformer"}));
    f.push_back(applies(choices(field("model.pooling", T::Enum, "mean",
                                      "How token states become one vector: mean, max, meanmax (GRU), cls (transformer)."),
                                {"mean", "max", "meanmax", "cls"}),
                        {"model.type=gru", "model.type=transformer"}));

    f.push_back(choices(field("optimizer.type", T::Enum, "adamw", "AdamW, or SGD with momentum."), {"adamw", "sgd"}));
    f.push_back(logScaled(range(field("optimizer.lr", T::Float, 3e-3, "Peak learning rate (the LR finder suggests one)."),
                                0, 10, true)));
    f.push_back(range(field("optimizer.weight_decay", T::Float, 0.01, "Decoupled weight decay (AdamW) or L2 (SGD)."), 0, 1));
    f.push_back(applies(range(field("optimizer.momentum", T::Float, 0.9, "SGD momentum."), 0, 1, false, true),
                        {"optimizer.type=sgd"}));
    f.push_back(applies(range(field("optimizer.beta1", T::Float, 0.9, "AdamW beta1."), 0, 1, false, true),
                        {"optimizer.type=adamw"}));
    f.push_back(applies(range(field("optimizer.beta2", T::Float, 0.999, "AdamW beta2."), 0, 1, false, true),
                        {"optimizer.type=adamw"}));
    f.push_back(range(field("optimizer.grad_clip", T::Float, 0.0, "Clip the global gradient norm to this (0: off)."), 0,
                      kInf));
    f.push_back(range(field("optimizer.label_smoothing", T::Float, 0.0, "Label smoothing for multiclass losses."), 0, 1,
                      false, true));
    f.push_back(applies(field("optimizer.sparse_embeddings", T::Bool, true,
                              "Bag with AdamW: update only the embedding rows a batch uses (lazy AdamW, as PyTorch's "
                              "SparseAdam); much faster on large n-gram tables. false: dense AdamW on every row."),
                        kBagModels));

    f.push_back(choices(field("schedule.type", T::Enum, "constant",
                              "constant; linear: warm-up then linear decay; onecycle: cosine up then down; cosine: "
                              "warm-up then cosine decay."),
                        {"constant", "linear", "onecycle", "cosine"}));
    f.push_back(range(field("schedule.warmup", T::Float, 0.0, "Share of all steps spent warming up."), 0, 1, false, true));
    f.push_back(range(field("schedule.final_lr_factor", T::Float, 0.0,
                            "Learning rate at the last step, as a share of the peak (linear, cosine, onecycle)."),
                      0, 1));

    f.push_back(range(field("training.batch_size", T::Int, 64, "Examples per step."), 1, 65536));
    f.push_back(range(field("training.epochs", T::Int, 3, "Passes over the training split."), 1, 10000));
    f.push_back(range(field("training.max_steps", T::Int, 0, "Stop after this many steps (0: the epochs decide)."), 0,
                      kMaxInt64));
    f.push_back(range(field("training.seed", T::Int, 13, "Seed for initialisation, data order and dropout."), 0, kMaxInt64));
    f.push_back(choices(field("training.device", T::Enum, "auto", "auto: CUDA when available, else CPU."),
                        {"auto", "cpu", "cuda"}));
    f.push_back(range(field("training.threads", T::Int, 0,
                            "CPU threads for LibTorch and the BLAS under it (0: all cores)."),
                      0, 1024));
    f.push_back(range(field("training.log_every", T::Int, 10, "Steps between training metrics."), 1, 1000000));
    f.push_back(field("training.balanced", T::Bool, false,
                      "Weight classes inversely to their frequency (for skewed labels)."));
    f.push_back(choices(field("training.precision", T::Enum, "fp32",
                              "bf16: autocast matrix products to bfloat16 on CUDA or on CPUs with native bf16 "
                              "(AVX512-BF16, AMX); elsewhere the run trains in fp32 and logs a warning. `lbk "
                              "predict` and `lbk eval` score the run the same way (their --precision auto)."),
                        {"fp32", "bf16"}));
    f.push_back(range(field("training.processes", T::Int, 1,
                            "Training processes (torch.distributed, data parallel): the global batch is split across "
                            "them and only the first reports. Started by the worker itself, or by srun as one task "
                            "each in a Slurm job."),
                      1, 256));
    f.push_back(choices(field("training.backend", T::Enum, "auto",
                              "Collective backend when processes > 1; auto: NCCL on CUDA, Gloo on CPU."),
                        {"auto", "gloo", "nccl"}));

    f.push_back(range(field("evaluation.every_steps", T::Int, 0, "Evaluate on validation every N steps (0: each epoch)."),
                      0, kMaxInt64));
    f.push_back(range(field("evaluation.max_predictions", T::Int, 0,
                            "Per-example predictions kept per evaluation (0: all)."),
                      0, kMaxInt64));
    f.push_back(range(field("evaluation.top_k", T::Int, 3, "Predicted labels kept per example."), 1, 50));
    f.push_back(range(field("evaluation.histogram_bins", T::Int, 20, "Bins of the prediction histograms."), 2, 1000));
    f.push_back(choices(field("evaluation.metric", T::Enum, "macro_f1",
                              "Validation metric that picks the best checkpoint and drives early stopping."),
                        {"accuracy", "macro_f1", "micro_f1", "loss", "roc_auc", "pr_auc", "f1"}));
    f.push_back(range(field("evaluation.early_stopping", T::Int, 0,
                            "Stop after this many evaluations without improvement (0: off)."),
                      0, kMaxInt));

    f.push_back(logScaled(range(field("lr_finder.min_lr", T::Float, 1e-7, "LR range test: first rate."), 0, 1, true)));
    f.push_back(logScaled(range(field("lr_finder.max_lr", T::Float, 10.0, "LR range test: last rate."), 0, 1000, true)));
    f.push_back(range(field("lr_finder.steps", T::Int, 100, "LR range test: steps (rates, exponentially spaced)."), 10,
                      100000));
    f.push_back(range(field("lr_finder.beta", T::Float, 0.98, "LR range test: smoothing of the loss (EMA, debiased)."), 0,
                      1, false, true));
    f.push_back(range(field("lr_finder.stop_factor", T::Float, 4.0,
                            "LR range test: stop when the smoothed loss exceeds this many times the best."),
                      1, 1000, true));
    return f;
}

} // namespace

const std::vector<FieldSpec> &experimentFields()
{
    static const std::vector<FieldSpec> fields = makeFields();
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
