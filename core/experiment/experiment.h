#pragma once
// An experiment: everything a run needs, as typed values. Built from JSON by experimentFromJson() (schema.h),
// which fills every default, so code that reads an Experiment never guesses. Each member is bound to its field in
// experiment/fieldtable.cpp, and its initialiser here is that field's default in the schema and the docs.
#include <array>
#include <cassert>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace lbk {

// A closed set of the experiment is an enum whose words, as the JSON writes them, kWords lists right below it: one
// for each value, in the enum's order, which is the order the docs give them. The field table binds the field to
// them (so the schema's choices are these words), toString() writes a value's word and fromWord() reads one.
template <typename E> inline constexpr std::array<const char *, 0> kWords{}; // not a closed set

enum class TextField { Title, Abstract, TitleAbstract };
template <> inline constexpr auto kWords<TextField> = std::to_array({"title", "abstract", "title+abstract"});

// data.format. Auto: by the file's extension (.zst is decompressed first).
enum class DataFormat { Auto, Jsonl, Csv, Tsv };
template <> inline constexpr auto kWords<DataFormat> = std::to_array({"auto", "jsonl", "csv", "tsv"});

struct DataSpec {
    // data.path as written: one path or pattern, or several (a list in the file); resolve with resolveDataFiles().
    std::vector<std::string> paths;
    // The paths as messages name them: "a.jsonl", or "a.jsonl, shards/*.jsonl.zst".
    std::string pathText() const
    {
        std::string s;
        for (const auto &p : paths)
            s += (s.empty() ? "" : ", ") + p;
        return s;
    }
    DataFormat format = DataFormat::Auto;
    TextField text = TextField::Title;
    std::string idColumn = "id";
    std::string titleColumn = "title";
    std::string abstractColumn = "abstract";
    std::string categoriesColumn = "categories";
    double maxBadShare = 0.01; // lines that fail to parse, as a share of all lines, before reading fails
    int64_t limit = 0;         // read at most this many rows (0: all)
};

enum class TaskKind { MultiClass, Binary, MultiLabel };
template <> inline constexpr auto kWords<TaskKind> = std::to_array({"multiclass", "binary", "multilabel"});

struct LabelSpec {
    TaskKind kind = TaskKind::MultiClass;
    int topN = 10;                      // multiclass: the N most common primary categories
    bool poolOthers = false;            // multiclass: others pooled into "other" (true) or dropped (false)
    std::vector<std::string> positive;  // binary: categories that make a paper positive
    bool matchPrimaryOnly = false;      // binary: match only the primary category (else any category)
    std::string prefix = "cs.";         // multilabel: categories starting with this
    int minCount = 1;                   // multilabel: drop categories with fewer papers than this
};

struct SplitSpec {
    double train = 0.70, validation = 0.15, test = 0.15;
    uint64_t seed = 13;
    bool stratify = true;
};

// tokenizer.type: sentencepiece's unigram or BPE pieces, or whole words (also through sentencepiece). Its word is
// also sentencepiece's model_type.
enum class TokenizerType { Unigram, Bpe, Word };
template <> inline constexpr auto kWords<TokenizerType> = std::to_array({"unigram", "bpe", "word"});

struct TokenizerSpec {
    TokenizerType type = TokenizerType::Unigram;
    int vocabSize = 8000;
    int minCount = 2;             // word: rarer words are unknown
    bool lowercase = true;
    int maxTokens = 64;
    double characterCoverage = 0.9995;
};

// model.type. BagCnn: a bag and a CNN, their logits averaged. Encoder: the BERT family as Hugging Face implements it
// (post-norm blocks, learned positions), from scratch or fine-tuned from a checkpoint folder (model.init_from).
enum class ModelType { Bag, Cnn, Gru, Transformer, BagCnn, Encoder };
template <>
inline constexpr auto kWords<ModelType> = std::to_array({"bag", "cnn", "gru", "transformer", "bag_cnn", "encoder"});

// model.ngram_hash: how the bag hashes an n-gram into its buckets. Multiplicative only for runs recorded before the
// field existed, which used it.
enum class NgramHash { Mix, Multiplicative };
template <> inline constexpr auto kWords<NgramHash> = std::to_array({"mix", "multiplicative"});

// model.weighting: how the bag averages its token and n-gram vectors.
enum class BagWeighting { Mean, TfIdf };
template <> inline constexpr auto kWords<BagWeighting> = std::to_array({"mean", "tfidf"});

// model.pooling: how token states become one vector. gru: mean | max | meanmax; transformer: cls | mean; encoder:
// pooler | cls | mean.
enum class Pooling { Mean, Max, MeanMax, Cls, Pooler };
template <> inline constexpr auto kWords<Pooling> = std::to_array({"mean", "max", "meanmax", "cls", "pooler"});

// model.init_from "run:REF" names a pre-training run of the same store instead of a folder; "run:REF@STEP" names
// the copy of its weights kept at that evaluation step (evaluation.keep_checkpoints).
inline constexpr std::string_view kInitRunPrefix = "run:";
// The most CPU threads a run, lbk predict or lbk eval may ask for (beyond it a typo, 100000, starts thread after
// thread for minutes).
inline constexpr int kMaxThreads = 1024;

struct InitRun {
    std::string ref;   // an id, name or uid (a uid once launched)
    int64_t step = -1; // -1: the run's best checkpoint, else its last
};
// The run that an init_from value names, or nothing when it does not start with kInitRunPrefix. A malformed step
// ("run:x@abc") gives step -2, which launch refuses.
inline std::optional<InitRun> parseInitRun(std::string_view initFrom)
{
    if (!initFrom.starts_with(kInitRunPrefix))
        return std::nullopt;
    initFrom.remove_prefix(kInitRunPrefix.size());
    const auto at = initFrom.rfind('@');
    if (at == std::string_view::npos)
        return InitRun{std::string(initFrom), -1};
    InitRun run{std::string(initFrom.substr(0, at)), -2};
    const std::string_view step = initFrom.substr(at + 1);
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), value);
    if (ec == std::errc() && end == step.data() + step.size() && value >= 0)
        run.step = value;
    return run;
}
// Why a fine-tune cannot start from run:REF when that run continued the pre-training of a Hugging Face checkpoint
// (its weights and tokenizer are in that checkpoint's layout), and what to do instead: lbk validate, a launch and
// the engine say it in these words.
inline std::string continuedPretrainingRefusal(const std::string &ref)
{
    return "model.init_from: run " + ref + " continued the pre-training of a Hugging Face checkpoint; fine-tune "
           "from its export instead: lbk export " + ref + " --format hf --out DIR, then model.init_from: DIR";
}

struct ModelSpec {
    ModelType type = ModelType::Bag;
    int embeddingDim = 64;
    double dropout = 0.1;
    int ngrams = 2;               // bag: word n-grams up to this order (hashed into buckets)
    int ngramBuckets = 200000;    // bag
    NgramHash ngramHash = NgramHash::Mix; // bag
    int charNgrams = 0;           // bag: character n-grams of each token up to this length (0: off)
    int minDf = 1;                // bag, tfidf: rows in fewer training texts get weight 0
    int charNgramsMin = 2;
    BagWeighting weighting = BagWeighting::Mean; // bag
    std::vector<int> kernelSizes = {2, 3, 4}; // cnn
    int channels = 128;           // cnn: filters per kernel size
    int hidden = 128;             // gru: hidden size per direction; transformer, encoder: feed-forward size
    int layers = 1;               // gru, transformer, encoder
    int heads = 4;                // transformer, encoder
    Pooling pooling = Pooling::Mean;
    std::string initFrom;         // encoder: a Hugging Face checkpoint folder to start from ("": from scratch)
    bool appendSep = true;        // encoder from an MLM run ("run:ID"): texts end with [SEP], as its sequences did
    bool allowMissingWeights = false; // encoder: weights the folder lacks (besides the new head) start random
    double headLrFactor = 1.0;    // encoder: the classification head's rate as a multiple of optimizer.lr
    double layerLrDecay = 1.0;    // encoder: each layer below the top trains at this times the rate of the one above
    bool freezeEmbeddings = false; // encoder: the embedding tables do not train
    double bagWeight = 0.7;       // bag_cnn: the bag's share of the averaged logits
    int cnnEmbeddingDim = 0;      // bag_cnn: the CNN member's token embedding size (0: embeddingDim)
    double cnnLrFactor = 1.0;     // bag_cnn: the CNN member's learning rate as a multiple of optimizer.lr

    bool hasBag() const { return type == ModelType::Bag || type == ModelType::BagCnn; }
    bool hasCnn() const { return type == ModelType::Cnn || type == ModelType::BagCnn; }
    bool hasSequence() const { return type != ModelType::Bag; } // the model reads padded token sequences
    // model.init_from "run:UID": an MLM pre-training run of the same store (its encoder, tokenizer and sizes).
    bool initFromRun() const { return type == ModelType::Encoder && initFrom.starts_with(kInitRunPrefix); }
    // The run (and step) that init_from "run:REF[@STEP]" names; ref empty for any other init_from.
    InitRun initRun() const { return initFromRun() ? parseInitRun(initFrom).value_or(InitRun{}) : InitRun{}; }
    // model.init_from a Hugging Face folder: sizes and tokenizer from the folder.
    bool pretrained() const { return type == ModelType::Encoder && !initFrom.empty() && !initFromRun(); }
};

enum class OptimizerType { AdamW, Sgd };
template <> inline constexpr auto kWords<OptimizerType> = std::to_array({"adamw", "sgd"});

struct OptimizerSpec {
    OptimizerType type = OptimizerType::AdamW;
    double lr = 3e-3;
    double weightDecay = 0.01;
    double momentum = 0.9;      // sgd
    double beta1 = 0.9, beta2 = 0.999; // adamw
    double gradClip = 0.0;      // max global grad norm (0: off)
    double labelSmoothing = 0.0;
};

enum class ScheduleType { Constant, Linear, OneCycle, Cosine };
template <> inline constexpr auto kWords<ScheduleType> = std::to_array({"constant", "linear", "onecycle", "cosine"});

struct ScheduleSpec {
    ScheduleType type = ScheduleType::Constant;
    double warmup = 0.0;   // share of total steps spent warming up (linear, cosine, onecycle)
    double finalLrFactor = 0.0; // lr at the end as a share of the peak (linear, cosine)
};

// training.device: auto is CUDA when available, else the CPU.
enum class TrainingDevice { Auto, Cpu, Cuda };
template <> inline constexpr auto kWords<TrainingDevice> = std::to_array({"auto", "cpu", "cuda"});

// training.backend, the collectives' library when processes > 1: auto is NCCL on CUDA (where LibTorch has it), else
// Gloo.
enum class CollectiveBackend { Auto, Gloo, Nccl };
template <> inline constexpr auto kWords<CollectiveBackend> = std::to_array({"auto", "gloo", "nccl"});

// training.objective: what a run learns. classify: the labels (every task kind); mlm: masked-language-model
// pre-training of an encoder on the texts alone (engine/mlm.cpp).
enum class TrainingObjective { Classify, Mlm };
template <> inline constexpr auto kWords<TrainingObjective> = std::to_array({"classify", "mlm"});

struct TrainingSpec {
    TrainingObjective objective = TrainingObjective::Classify;
    int batchSize = 64;
    int epochs = 3;
    int64_t maxSteps = 0; // 0: epochs decide
    uint64_t seed = 13;
    TrainingDevice device = TrainingDevice::Auto;
    int threads = 0;             // 0: all cores; at most kMaxThreads
    int logEvery = 10;           // steps between train metric events
    bool balanced = false;       // class weights inversely proportional to frequency
    int accumulate = 1;          // micro-batches per step: a step's batch is computed in this many parts
    int processes = 1;           // data-parallel training processes (torch.distributed)
    CollectiveBackend backend = CollectiveBackend::Auto;
    // Minutes of training a killed run may lose: the resumable checkpoints/last.pt (weights and optimizer state) is
    // written this often, and when the run is cancelled; 0: at every evaluation. A finished run keeps none.
    double checkpointMinutes = 10;
};

// evaluation.metric: the validation metric that picks the best checkpoint. Its word is the metric's key in an
// evaluation summary (metrics.h, scalarMetricKeys).
enum class EvalMetric { Accuracy, MacroF1, MicroF1, Loss, RocAuc, PrAuc, F1 };
template <>
inline constexpr auto kWords<EvalMetric> = std::to_array({"accuracy", "macro_f1", "micro_f1", "loss", "roc_auc",
                                                          "pr_auc", "f1"});

struct EvaluationSpec {
    int64_t everySteps = 0;     // 0: once per epoch
    int64_t maxPredictions = 0; // per evaluation and split (0: all)
    int topK = 3;
    int histogramBins = 20;
    EvalMetric metric = EvalMetric::MacroF1;
    int earlyStopping = 0;      // evaluations without improvement before stopping (0: off)
    bool keepCheckpoints = false; // keep the weights of every evaluation as checkpoints/step-N.pt
};

struct LrFinderSpec {
    double minLr = 1e-7;
    double maxLr = 10.0;
    int steps = 100;
    double beta = 0.98;
    double stopFactor = 4.0;
};

// Masked-language-model pre-training (training.objective "mlm"), as BERT's: of the non-special tokens a share is
// chosen for the loss; of those 80% become the mask token, 10% a random token, 10% stay.
struct MlmSpec {
    double probability = 0.15;
    bool onePerDocument = false; // one document per sequence (cut), else packed across documents
    bool taskSplit = false;      // documents split as a classifier of this experiment's labels splits its papers
    int evalSequences = 2000;    // held-out sequences scored per evaluation (0: all)
    bool tiedDecoder = true;     // the prediction head's decoder is the word embeddings (BERT's layout)
};

struct Experiment {
    std::string name;
    std::string description;
    DataSpec data;
    LabelSpec labels;
    SplitSpec split;
    TokenizerSpec tokenizer;
    ModelSpec model;
    OptimizerSpec optimizer;
    ScheduleSpec schedule;
    TrainingSpec training;
    EvaluationSpec evaluation;
    LrFinderSpec lrFinder;
    MlmSpec mlm;

    nlohmann::json config; // the full JSON with every default filled in, as stored with each run
    nlohmann::json given;  // the JSON as the file or form gave it (null for a recorded config): which keys were set
};

template <typename E>
concept ClosedSet = std::is_enum_v<E> && (kWords<E>.size() > 0);

// The word a value is written as.
template <ClosedSet E>
constexpr const char *toString(E value)
{
    const auto i = static_cast<size_t>(value);
    assert(i < kWords<E>.size()); // a value without a word: add it to kWords
    return kWords<E>[i];
}

// The value a word stands for; none for a word outside the set.
template <ClosedSet E>
constexpr std::optional<E> fromWord(std::string_view word)
{
    for (size_t i = 0; i < kWords<E>.size(); ++i)
        if (word == kWords<E>[i])
            return static_cast<E>(i);
    return std::nullopt;
}

} // namespace lbk
