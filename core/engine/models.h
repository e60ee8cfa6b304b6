#pragma once
#include <functional>
// The model zoo. LibTorch: include only from engine translation units.
#include <memory>
#include <string>

#include <torch/torch.h>

#include "experiment/experiment.h"

namespace lbk {

namespace hf {
struct EncoderConfig;
}

// One mini-batch, already on the model's device.
struct Batch {
    torch::Tensor tokens;     // [B, L] int64, 0-padded (sequence models)
    torch::Tensor lengths;    // [B] int64, real lengths (>= 1)
    torch::Tensor bagIds;     // [N] int64, unigram and hashed n-gram ids of the whole batch (bag model)
    torch::Tensor bagOffsets; // [B] int64, where each example's ids start in bagIds
    torch::Tensor bagCounts;  // [N] float, how often each id occurs in its text (tfidf weighting: ids unique)
    torch::Tensor targets;    // [B] int64 class index (multiclass), [B] float (binary), [B, K] float (multilabel)
};

// Dropout (keep with probability 1 - p, scale by 1 / (1 - p)) whose mask comes from a xoshiro256** stream
// seeded by LibTorch's default CPU generator (so torch::manual_seed makes it repeatable), one 32-bit draw per
// element: about 10x faster than ATen's bernoulli_ on this CPU, which took 14% of a Transformer training step.
// Other dtypes and devices use torch::dropout.
torch::Tensor fastDropout(const torch::Tensor &x, double p, bool training);

class FastDropoutImpl : public torch::nn::Module {
public:
    explicit FastDropoutImpl(double p) : m_p(p) {}
    torch::Tensor forward(const torch::Tensor &x) { return fastDropout(x, m_p, is_training()); }
    double p() const { return m_p; }
private:
    double m_p;
};
TORCH_MODULE(FastDropout);

struct InputSpec;
class BagModelImpl;

// An optimizer group (see ClassifierImpl::paramGroup). `logged`: its rate is recorded as "lr/<name>".
struct ParamGroup {
    std::string name;       // "": the default group, at the rate itself, with weight decay
    double lrFactor = 1.0;
    bool decay = true;
    bool logged = false;
};
class FoldedInputGates;

// Every model maps a batch to logits: [B, outputs].
class ClassifierImpl : public torch::nn::Module {
public:
    virtual torch::Tensor forward(const Batch &batch) = 0;
    // What training takes a loss of, each on its own (summed): the logits for one model, each member's for an
    // ensemble, so every member learns as it would alone (except that optimizer.grad_clip clips one global
    // norm over both).
    virtual std::vector<torch::Tensor> trainingLogits(const Batch &batch) { return {forward(batch)}; }
    // The bag model, or an ensemble's bag member (TF-IDF statistics, the row-sparse table); else null.
    virtual BagModelImpl *bag() { return nullptr; }
    // The optimizer group of a parameter (by its name): its rate as a multiple of the learning rate and whether
    // weight decay applies. Parameters of one group name share an optimizer group; the unnamed one comes first.
    virtual ParamGroup paramGroup(const std::string &name) const { return {}; }
};

// The model's bag table (its own, or an ensemble's bag member's), when it is a classifier with one; else null.
const BagModelImpl *bagOf(const torch::nn::Module &model);

class BagModelImpl : public ClassifierImpl {
public:
    // sparse: the embedding table gets row-sparse gradients (only the rows a batch uses), for the lazy
    // optimizer update in the trainer.
    BagModelImpl(const ModelSpec &spec, int vocab, int outputs, bool sparse = false);
    torch::Tensor forward(const Batch &batch) override;
    BagModelImpl *bag() override { return this; }
    torch::Tensor embeddingWeight() const { return m_embedding->weight; }
    const torch::nn::Linear &outputLayer() const { return m_out; }
    double dropout() const { return m_dropout->p(); }
    bool tfidf() const { return m_tfidf; }
    // tfidf weighting: idf per embedding row, from document frequencies over `examples` (log((1+N)/(1+df))+1,
    // as scikit-learn's smooth idf; 0 for rows in fewer than model.min_df texts when that is above 1). A buffer,
    // so checkpoints and exports carry it.
    void setIdf(const std::vector<const std::vector<int> *> &examples, const InputSpec &spec);
    // The seed the table's initial values were drawn from, and those values: rows [firstRow, firstRow + rows) of a
    // table of `dim` columns into out. A checkpoint writes only the rows that differ from them (engine/checkpoint.cpp).
    uint64_t initSeed() const { return m_initSeed; }
    void setInitSeed(uint64_t seed) { m_initSeed = seed; }
    static void initialRows(float *out, int64_t firstRow, int64_t rows, int64_t dim, uint64_t seed);
private:
    torch::Tensor initialTable(int64_t rows, int64_t dim);
    uint64_t m_initSeed = 0;
    torch::nn::EmbeddingBag m_embedding{nullptr};
    torch::Tensor m_idf;
    bool m_tfidf = false;
    int m_minDf = 1;
    FastDropout m_dropout{nullptr};
    torch::nn::Linear m_out{nullptr};
};
TORCH_MODULE(BagModel);

class CnnModelImpl : public ClassifierImpl {
public:
    CnnModelImpl(const ModelSpec &spec, int vocab, int outputs);
    torch::Tensor forward(const Batch &batch) override;
private:
    torch::nn::Embedding m_embedding{nullptr};
    torch::nn::ModuleList m_convs;
    std::vector<int> m_kernels;
    FastDropout m_dropout{nullptr};
    torch::nn::Linear m_out{nullptr};
};
TORCH_MODULE(CnnModel);

// model.type bag_cnn: a bag and a CNN over the same tokens, trained side by side on the same batches with a loss
// each; predicts with w x bag logits + (1 - w) x CNN logits (w: model.bag_weight). For a softmax that is the
// members' probabilities' weighted geometric mean, renormalised. The two make different mistakes (a linear
// model over n-grams, and max-pooled convolutions over learned embeddings), so the average beats both: on
// task 1 of docs/RESULTS.md the bag alone scores 0.7355 and the CNN 0.7067 test accuracy.
class BagCnnModelImpl : public ClassifierImpl {
public:
    BagCnnModelImpl(const ModelSpec &spec, int vocab, int outputs, bool sparse = false);
    torch::Tensor forward(const Batch &batch) override;
    std::vector<torch::Tensor> trainingLogits(const Batch &batch) override;
    BagModelImpl *bag() override { return m_bag.get(); }
    ParamGroup paramGroup(const std::string &name) const override
    {
        return name.rfind("cnn.", 0) == 0 ? ParamGroup{"cnn", m_cnnLrFactor, true, true} : ParamGroup{};
    }
private:
    BagModel m_bag{nullptr};
    CnnModel m_cnn{nullptr};
    double m_bagWeight = 0.7;
    double m_cnnLrFactor = 1.0;
};
TORCH_MODULE(BagCnnModel);

class GruModelImpl : public ClassifierImpl {
public:
    GruModelImpl(const ModelSpec &spec, int vocab, int outputs);
    torch::Tensor forward(const Batch &batch) override;
    // On the CPU in fp32 the layers run fused (engine/fusedgru.h); off, always torch::nn::GRU (tests compare).
    void setFused(bool on) { m_fused = on; }
    // Whether forward(), called now (mode, grad mode, autocast), takes the first layer's input gates from the
    // per-token table instead of computing them: scoring on the fused path with a table that fits.
    bool foldsFirstLayer() const;
private:
    bool m_fused = true;
    std::shared_ptr<FoldedInputGates> m_folded;
    torch::nn::Embedding m_embedding{nullptr};
    torch::nn::GRU m_gru{nullptr};
    Pooling m_pooling;
    FastDropout m_dropout{nullptr};
    torch::nn::Linear m_out{nullptr};
};
TORCH_MODULE(GruModel);

// Pre-norm encoder block: x + Attn(LN(x)), then x + FF(LN(x)).
class EncoderBlockImpl : public torch::nn::Module {
public:
    EncoderBlockImpl(int dim, int heads, int ff, double dropout);
    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &padMask);
private:
    // Self-attention of h [B, L, E] with the MultiheadAttention module's weights, batch first, without the
    // averaged attention weights the module also computes; fast dropout on the attention probabilities.
    torch::Tensor attention(const torch::Tensor &h, const torch::Tensor &padMask);
    torch::nn::LayerNorm m_norm1{nullptr}, m_norm2{nullptr};
    torch::nn::MultiheadAttention m_attn{nullptr};
    torch::nn::Linear m_ff1{nullptr}, m_ff2{nullptr};
    FastDropout m_dropout{nullptr};
    int m_dim = 0, m_heads = 0;
};
TORCH_MODULE(EncoderBlock);

class TransformerModelImpl : public ClassifierImpl {
public:
    TransformerModelImpl(const ModelSpec &spec, int vocab, int outputs, int maxTokens);
    torch::Tensor forward(const Batch &batch) override;
private:
    torch::nn::Embedding m_embedding{nullptr}, m_positions{nullptr};
    torch::nn::ModuleList m_blocks;
    torch::nn::LayerNorm m_norm{nullptr};
    Pooling m_pooling;
    FastDropout m_dropout{nullptr};
    torch::nn::Linear m_out{nullptr};
};
TORCH_MODULE(TransformerModel);

// The embedding rows a model has for tokens: the tokenizer's pieces, and one more for the CLS id that a
// Transformer pooling its CLS token prepends to every text. Training, scoring and export all ask this.
struct TokenRows {
    int vocab = 0;  // embedding rows for tokens
    int clsId = -1; // >= 0: the CLS id (the last row)
    int sepId = -1; // >= 0: appended to every text (an encoder from an MLM run, model.append_sep)
};
TokenRows tokenRowsFor(const ModelSpec &spec, int pieces);

// The rows of an MLM pre-training run's vocabulary (engine/mlm.cpp), kept by the classifiers fine-tuned from it:
// sentencepiece's pieces (0 is padding), then [CLS], [SEP] and [MASK].
struct MlmSpecialIds {
    int pad = 0, cls = 0, sep = 0, mask = 0, rows = 0;
};
inline MlmSpecialIds mlmSpecialIds(int pieces) { return {0, pieces, pieces + 1, pieces + 2, pieces + 3}; }

// Weight decay applies to weight matrices, not to biases and layer norms (transformers' fine-tuning recipe).
bool decaysWeight(const std::string &parameterName);

// How token lists become a model's inputs; shared by training, evaluation and inference so they never differ.
struct InputSpec {
    bool bag = false;     // the bag model: unigram ids plus hashed n-gram ids (EmbeddingBag)
    bool sequence = false; // padded token ids as well as the bag's (bag_cnn); models without a bag always get them
    int vocab = 0;        // embedding rows for tokens; n-gram buckets start here (bag)
    int clsId = -1;       // >= 0: prepend this id (transformer with CLS pooling)
    int sepId = -1;       // >= 0: append this id (an encoder from an MLM pre-training run)
    int ngrams = 1;       // bag: n-gram orders up to this (1: unigrams only)
    int64_t buckets = 0;  // bag: hash buckets for orders >= 2
    bool unique = false;  // bag: each id once per text, with its count (tfidf weighting)
    bool mixHash = true;  // bag: ngramHash's mixing hash; false: the multiplicative one of older runs
    // bag with model.char_ngrams: per token id, the rows of its character n-grams (charNgramRows)
    std::shared_ptr<const std::vector<std::vector<int64_t>>> charRows;
};
// pieces: the tokenizer's pieceTexts(), needed for the bag's character n-grams (else may be empty).
InputSpec inputSpecFor(const ModelSpec &spec, int vocab, int clsId, const std::vector<std::string> &pieces = {});
// The same for a model's token rows (tokenRowsFor): its CLS and SEP ids.
InputSpec inputSpecFor(const ModelSpec &spec, const TokenRows &rows, const std::vector<std::string> &pieces);

// A piece's character n-gram rows: the piece as text, its leading "▁" turned into a space and a space appended
// (so " graph " for the word-start piece "▁graph", "ing " for "ing"); every run of minLen..maxLen characters
// (UTF-8 code points) of that, as bytes through FNV-1a 64 and MurmurHash3's finaliser, to vocab + h % buckets.
std::vector<int64_t> charNgramRows(const std::string &piece, int minLen, int maxLen, int vocab, int64_t buckets);

// Hashed n-gram ids for the bag model, vocab + h % buckets, in uint64 arithmetic over the n tokens:
// mix: h = (h ^ (token + 1)) * 0x9E3779B97F4A7C15 per token, then MurmurHash3's 64-bit finaliser;
// multiplicative (mix false; runs recorded before 2026-11-24): h = h * 1000003 + (token + 1). The latter leaves
// the low digits nearly linear in the tokens, so modulo a few million buckets unrelated bigrams share rows
// (130k distinct rows for 380k distinct title bigrams in 4M buckets). Exported models name the hash, and
// docs/EXPERIMENTS.md spells both out, so another implementation reproduces the ids.
uint64_t ngramHash(const int *tokens, int n, bool mix = true);

// The inputs (not the targets) of one batch; tokens[i] are example i's token ids.
Batch makeInputs(const std::vector<const std::vector<int> *> &tokens, const InputSpec &spec, torch::Device device);

// The order in which to score many examples in batches: by token count (stable), so that a sequence model's
// batch holds texts of similar length and pads little (file order pads a 512-text batch of titles and abstracts
// to ~2.7x its real tokens). Results are put back in input order by the caller, e.g. with scoreInBatches.
std::vector<size_t> lengthOrder(const std::vector<const std::vector<int> *> &tokens);

// Scores every example in batches of `batch` taken in lengthOrder; `score` maps one batch's tokens to
// rows x width values. Returns n x width values in input order.
std::vector<float> scoreInBatches(const std::vector<const std::vector<int> *> &tokens, size_t batch, size_t width,
                                  const std::function<std::vector<float>(const std::vector<const std::vector<int> *> &)> &score);

// The model an experiment asks for. vocab counts the tokenizer's pieces (plus the CLS id when used). An encoder
// takes its sizes from `encoder` (a checkpoint's config) when given, else from the experiment.
std::shared_ptr<ClassifierImpl> makeModel(const ModelSpec &spec, int vocab, int outputs, int maxTokens,
                                          bool sparseEmbeddings = false, const hf::EncoderConfig *encoder = nullptr);

} // namespace lbk
