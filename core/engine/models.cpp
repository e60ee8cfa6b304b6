#include "engine/models.h"
#include "engine/encoder.h"
#include "engine/precision.h"

#include "engine/fusedgru.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>

#include "util/stablehash.h"

namespace lbk {

namespace F = torch::nn::functional;

torch::Tensor fastDropout(const torch::Tensor &x, double p, bool training)
{
    if (!training || p <= 0)
        return x;
    if (p >= 1)
        return x * 0;
    if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat)
        return torch::dropout(x, p, true);
    uint64_t seed;
    {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        seed = at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
    }
    // xoshiro256**, its state from splitmix64 of the seed.
    uint64_t s[4];
    for (auto &w : s) {
        seed += 0x9E3779B97F4A7C15ULL;
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        w = z ^ (z >> 31);
    }
    const auto rotl = [](uint64_t v, int k) { return (v << k) | (v >> (64 - k)); };
    const double keepShare = (1 - p) * 4294967296.0;
    const uint64_t keep = keepShare >= 4294967295.0 ? 4294967295ULL : uint64_t(keepShare);
    const float scale = float(1 / (1 - p));
    auto mask = torch::empty(x.sizes(), x.options().requires_grad(false));
    float *m = mask.data_ptr<float>();
    const int64_t n = mask.numel();
    for (int64_t i = 0; i < n; i += 2) {
        const uint64_t r = rotl(s[1] * 5, 7) * 9;
        const uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        m[i] = (r & 0xFFFFFFFFULL) < keep ? scale : 0.0f;
        if (i + 1 < n)
            m[i + 1] = (r >> 32) < keep ? scale : 0.0f;
    }
    return x * mask;
}

// fastText's initialisation, small uniform input vectors in [-1/dim, 1/dim), from a hash of (seed, element) on
// every core: a 2M x 64 table in about 0.3 s on two, the first touch of its 512 MB included, where the module's
// own normal fill and a uniform one over it took 1.3 s. The seed is drawn from the generator training.seed
// seeded, so a run's table is its seed's.
torch::Tensor BagModelImpl::initialTable(int64_t rows, int64_t dim)
{
    m_initSeed = uint64_t(torch::randint(std::numeric_limits<int64_t>::max(), {1}, torch::kLong).item<int64_t>());
    auto table = torch::empty({rows, dim}, torch::kFloat);
    float *data = table.data_ptr<float>();
    at::parallel_for(0, rows, 4096, [&](int64_t begin, int64_t end) {
        initialRows(data + begin * dim, begin, end - begin, dim, m_initSeed);
    });
    return table;
}

void BagModelImpl::initialRows(float *out, int64_t firstRow, int64_t rows, int64_t dim, uint64_t seed)
{
    fillHashedUniform(out, rows * dim, seed, uint64_t(firstRow * dim), 1.0f / float(dim));
}

const BagModelImpl *bagOf(const torch::nn::Module &model)
{
    const auto *classifier = dynamic_cast<const ClassifierImpl *>(&model);
    return classifier ? const_cast<ClassifierImpl *>(classifier)->bag() : nullptr; // bag() only finds the member
}

BagModelImpl::BagModelImpl(const ModelSpec &spec, int vocab, int outputs, bool sparse)
{
    const int64_t rows = int64_t(vocab) + (spec.ngrams > 1 || spec.charNgrams > 0 ? spec.ngramBuckets : 0);
    m_embedding = register_module(
        "embedding",
        torch::nn::EmbeddingBag(torch::nn::EmbeddingBagOptions(rows, spec.embeddingDim)
                                    .mode(spec.weighting == BagWeighting::TfIdf
                                              ? torch::nn::EmbeddingBagMode(torch::kSum)
                                              : torch::nn::EmbeddingBagMode(torch::kMean))
                                    .sparse(sparse)
                                    ._weight(initialTable(rows, spec.embeddingDim))));
    m_tfidf = spec.weighting == BagWeighting::TfIdf;
    m_minDf = spec.minDf;
    if (m_tfidf)
        m_idf = register_buffer("idf", torch::ones({rows}));
    m_dropout = register_module("dropout", FastDropout(spec.dropout));
    m_out = register_module("out", torch::nn::Linear(spec.embeddingDim, outputs));
}

torch::Tensor BagModelImpl::forward(const Batch &batch)
{
    torch::Tensor pooled;
    if (m_tfidf) {
        // Weights (1 + log tf) x idf, L2-normalised per text: the text's TF-IDF vector times the table.
        auto w = (batch.bagCounts.log() + 1) * m_idf.index_select(0, batch.bagIds);
        const int64_t n = batch.bagOffsets.size(0);
        auto ends = torch::cat({batch.bagOffsets.narrow(0, 1, n - 1),
                                torch::full({1}, batch.bagIds.size(0), batch.bagOffsets.options())});
        auto text = torch::repeat_interleave(torch::arange(n, batch.bagOffsets.options()), ends - batch.bagOffsets);
        auto norm = torch::zeros({n}, w.options()).index_add_(0, text, w * w).sqrt_().clamp_min_(1e-12);
        w = w / norm.index_select(0, text);
        pooled = m_embedding->forward(batch.bagIds, batch.bagOffsets, w);
    } else {
        pooled = m_embedding->forward(batch.bagIds, batch.bagOffsets);
    }
    return m_out->forward(m_dropout->forward(pooled));
}

void BagModelImpl::setIdf(const std::vector<const std::vector<int> *> &examples, const InputSpec &spec)
{
    std::vector<int32_t> df(size_t(m_idf.size(0)), 0);
    const size_t chunk = 4096;
    for (size_t b = 0; b < examples.size(); b += chunk) {
        std::vector<const std::vector<int> *> part(examples.begin() + std::ptrdiff_t(b),
                                                   examples.begin() + std::ptrdiff_t(std::min(examples.size(), b + chunk)));
        InputSpec unique = spec;
        unique.unique = true;
        unique.sequence = false;
        const Batch in = makeInputs(part, unique, torch::kCPU);
        const int64_t *ids = in.bagIds.data_ptr<int64_t>();
        for (int64_t i = 0; i < in.bagIds.size(0); ++i)
            ++df[size_t(ids[i])];
    }
    auto idf = torch::empty({int64_t(df.size())}, torch::kFloat);
    float *v = idf.data_ptr<float>();
    const double n = double(examples.size());
    for (size_t r = 0; r < df.size(); ++r)
        v[r] = m_minDf > 1 && df[r] < m_minDf ? 0.0f : float(std::log((1 + n) / (1 + double(df[r]))) + 1);
    torch::NoGradGuard noGrad;
    m_idf.copy_(idf);
}

CnnModelImpl::CnnModelImpl(const ModelSpec &spec, int vocab, int outputs) : m_kernels(spec.kernelSizes)
{
    m_embedding = register_module(
        "embedding", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab, spec.embeddingDim).padding_idx(0)));
    m_convs = register_module("convs", torch::nn::ModuleList());
    for (int k : m_kernels)
        m_convs->push_back(torch::nn::Conv1d(torch::nn::Conv1dOptions(spec.embeddingDim, spec.channels, k)));
    m_dropout = register_module("dropout", FastDropout(spec.dropout));
    m_out = register_module("out", torch::nn::Linear(spec.channels * int64_t(m_kernels.size()), outputs));
}

torch::Tensor CnnModelImpl::forward(const Batch &batch)
{
    auto x = m_embedding->forward(batch.tokens).transpose(1, 2); // [B, E, L]
    const int64_t widest = *std::max_element(m_kernels.begin(), m_kernels.end());
    if (x.size(2) < widest)
        x = F::pad(x, F::PadFuncOptions({0, widest - x.size(2)}));
    // Max over the windows inside the text only: the padding's windows (relu of the bias) would make a text's
    // score depend on the longest text in its batch. A text shorter than a kernel keeps its one padded window.
    const auto lengths = batch.lengths.to(x.device()).unsqueeze(1); // [B, 1]
    std::vector<torch::Tensor> pooled;
    for (size_t i = 0; i < m_convs->size(); ++i) {
        auto conv = m_convs[i]->as<torch::nn::Conv1d>();
        auto h = torch::relu(conv->forward(x)); // [B, C, windows]
        auto windows = (lengths - (m_kernels[i] - 1)).clamp_min(1);
        auto outside = torch::arange(h.size(2), lengths.options()).unsqueeze(0) >= windows; // [B, windows]
        pooled.push_back(h.masked_fill(outside.unsqueeze(1), 0).amax(2));
    }
    return m_out->forward(m_dropout->forward(torch::cat(pooled, 1)));
}

BagCnnModelImpl::BagCnnModelImpl(const ModelSpec &spec, int vocab, int outputs, bool sparse)
    : m_bagWeight(spec.bagWeight), m_cnnLrFactor(spec.cnnLrFactor)
{
    m_bag = register_module("bag", BagModel(spec, vocab, outputs, sparse));
    ModelSpec cnn = spec;
    if (spec.cnnEmbeddingDim > 0)
        cnn.embeddingDim = spec.cnnEmbeddingDim;
    m_cnn = register_module("cnn", CnnModel(cnn, vocab, outputs));
}

std::vector<torch::Tensor> BagCnnModelImpl::trainingLogits(const Batch &batch)
{
    return {m_bag->forward(batch), m_cnn->forward(batch)};
}

torch::Tensor BagCnnModelImpl::forward(const Batch &batch)
{
    return m_bag->forward(batch) * m_bagWeight + m_cnn->forward(batch) * (1 - m_bagWeight);
}

GruModelImpl::GruModelImpl(const ModelSpec &spec, int vocab, int outputs)
    : m_folded(std::make_shared<FoldedInputGates>()), m_pooling(spec.pooling)
{
    m_embedding = register_module(
        "embedding", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab, spec.embeddingDim).padding_idx(0)));
    m_gru = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(spec.embeddingDim, spec.hidden)
                                                      .num_layers(spec.layers)
                                                      .bidirectional(true)
                                                      .batch_first(true)
                                                      .dropout(spec.layers > 1 ? spec.dropout : 0.0)));
    m_dropout = register_module("dropout", FastDropout(spec.dropout));
    const int64_t states = 2 * int64_t(spec.hidden) * (m_pooling == Pooling::MeanMax ? 2 : 1);
    m_out = register_module("out", torch::nn::Linear(states, outputs));
}

bool GruModelImpl::foldsFirstLayer() const
{
    return m_fused && fusedGruApplies(m_embedding->weight) && !is_training() && !torch::GradMode::is_enabled() &&
           FoldedInputGates::fits(m_embedding->weight.size(0), m_gru->options.hidden_size());
}

torch::Tensor GruModelImpl::forward(const Batch &batch)
{
    const bool wantMean = m_pooling != Pooling::Max, wantMax = m_pooling != Pooling::Mean;
    torch::Tensor mean, max; // over each text's own tokens: [B, 2H]
    if (m_fused && fusedGruApplies(m_embedding->weight)) {
        // The same layers on the module's weights, fused (engine/fusedgru.h).
        const int64_t B = batch.tokens.size(0), L = batch.tokens.size(1);
        const auto packed = packRows(batch.lengths, L);
        const auto params = m_gru->named_parameters(/*recurse=*/false);
        const bool fold = foldsFirstLayer();
        if (is_training())
            m_folded->release();
        torch::Tensor x;
        if (!fold)
            x = m_dropout->forward(m_embedding->forward(batch.tokens))
                    .reshape({B * L, -1})
                    .index_select(0, packed.index);
        for (int64_t layer = 0; layer < m_gru->options.num_layers(); ++layer) {
            if (layer > 0)
                x = fastDropout(x, m_gru->options.dropout(), is_training());
            std::vector<torch::Tensor> weights;
            for (const std::string suffix : {"", "_reverse"})
                for (const std::string name : {"weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l"})
                    weights.push_back(params[name + std::to_string(layer) + suffix]);
            if (layer == 0 && fold)
                x = m_folded->firstLayer(batch.tokens.reshape({-1}).index_select(0, packed.index), m_embedding->weight,
                                         packed.batchSizes, weights);
            else
                x = fusedBiGruLayer(x, packed.batchSizes, weights);
        }
        // Pooled straight from the packed rows: no padded [B, L, 2H] copy and mask (a third of the scoring time).
        const auto text = packed.index.div(L, "floor");
        if (wantMean)
            mean = torch::zeros({B, x.size(1)}, x.options()).index_add(0, text, x) /
                   batch.lengths.to(x.options()).clamp(1, double(L)).unsqueeze(1);
        if (wantMax)
            max = torch::full({B, x.size(1)}, -1e4, x.options())
                      .scatter_reduce(0, text.unsqueeze(1).expand_as(x), x, "amax", /*include_self=*/true);
    } else {
        auto emb = m_dropout->forward(m_embedding->forward(batch.tokens));
        // Packing keeps padding out of the recurrence; lengths must live on the CPU.
        auto packed = torch::nn::utils::rnn::pack_padded_sequence(emb, batch.lengths.cpu(), /*batch_first=*/true,
                                                                  /*enforce_sorted=*/false);
        const auto out = [&] {
            const CudaAutocastPause fp32(emb.is_cuda()); // not fp16 under "bf16" (precision.h)
            return std::get<0>(m_gru->forward_with_packed_input(packed));
        }();
        auto states = std::get<0>(torch::nn::utils::rnn::pad_packed_sequence(out, /*batch_first=*/true, 0.0,
                                                                               batch.tokens.size(1)));
        auto mask = (torch::arange(states.size(1), states.options().dtype(torch::kLong)).unsqueeze(0) <
                     batch.lengths.to(states.device()).unsqueeze(1))
                        .unsqueeze(2); // [B, L, 1]
        mean = (states * mask).sum(1) / mask.sum(1).clamp_min(1);
        max = states.masked_fill(mask.logical_not(), -1e4).amax(1);
    }
    torch::Tensor pooled = !wantMean ? max : wantMax ? torch::cat({mean, max}, 1) : mean;
    return m_out->forward(m_dropout->forward(pooled));
}

EncoderBlockImpl::EncoderBlockImpl(int dim, int heads, int ff, double dropout) : m_dim(dim), m_heads(heads)
{
    m_norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    m_norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    m_attn = register_module("attn",
                             torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(dim, heads).dropout(dropout)));
    m_ff1 = register_module("ff1", torch::nn::Linear(dim, ff));
    m_ff2 = register_module("ff2", torch::nn::Linear(ff, dim));
    m_dropout = register_module("dropout", FastDropout(dropout));
}

torch::Tensor EncoderBlockImpl::forward(const torch::Tensor &x, const torch::Tensor &padMask)
{
    // Scoring (no autograd, eval mode, fp32): the same block through ATen's fused encoder layer (norm_first,
    // exact GELU), which packs the attention into fewer kernels: 1.3x on a 2-layer, 128-wide block, within 1e-6
    // of the module path below (tst_inference compares them).
    if (!is_training() && !torch::GradMode::is_enabled() && x.scalar_type() == torch::kFloat &&
        !autocastActive()) {
        return at::_transformer_encoder_layer_fwd(
            x, m_dim, m_heads, m_attn->in_proj_weight, m_attn->in_proj_bias, m_attn->out_proj->weight,
            m_attn->out_proj->bias, /*use_gelu=*/true, /*norm_first=*/true, m_norm1->options.eps(), m_norm1->weight,
            m_norm1->bias, m_norm2->weight, m_norm2->bias, m_ff1->weight, m_ff1->bias, m_ff2->weight, m_ff2->bias,
            padMask, /*mask_type=*/1);
    }
    auto y = x + m_dropout->forward(attention(m_norm1->forward(x), padMask));
    return y + m_dropout->forward(m_ff2->forward(torch::gelu(m_ff1->forward(m_norm2->forward(y)))));
}

torch::Tensor EncoderBlockImpl::attention(const torch::Tensor &h, const torch::Tensor &padMask)
{
    const int64_t b = h.size(0), len = h.size(1), heads = m_heads, d = m_dim / m_heads;
    const auto qkv = torch::linear(h, m_attn->in_proj_weight, m_attn->in_proj_bias).chunk(3, -1);
    const auto split = [&](const torch::Tensor &t) { return t.reshape({b, len, heads, d}).transpose(1, 2); };
    const auto q = split(qkv[0]) * (1.0 / std::sqrt(double(d)));
    // Scores are masked and normalised in fp32. Under bf16 autocast the projections and both matmuls run in
    // bfloat16, but LibTorch 1.13 has no bf16 CPU kernel for masked_fill, and a softmax over bf16 scores would
    // lose the small differences between them. In fp32 the conversion is a no-op.
    const auto scores = torch::matmul(q, split(qkv[1]).transpose(-2, -1))
                            .to(torch::kFloat)
                            .masked_fill(padMask.view({b, 1, 1, len}), -std::numeric_limits<float>::infinity());
    const auto probs = fastDropout(torch::softmax(scores, -1), m_attn->options.dropout(), is_training());
    const auto out = torch::matmul(probs, split(qkv[2])).transpose(1, 2).reshape({b, len, m_dim});
    return torch::linear(out, m_attn->out_proj->weight, m_attn->out_proj->bias);
}

TransformerModelImpl::TransformerModelImpl(const ModelSpec &spec, int vocab, int outputs, int maxTokens)
    : m_pooling(spec.pooling)
{
    m_embedding = register_module(
        "embedding", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab, spec.embeddingDim).padding_idx(0)));
    m_positions = register_module("positions", torch::nn::Embedding(maxTokens + 1, spec.embeddingDim));
    torch::nn::init::normal_(m_positions->weight, 0.0, 0.02);
    m_blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < spec.layers; ++i)
        m_blocks->push_back(EncoderBlock(spec.embeddingDim, spec.heads, spec.hidden, spec.dropout));
    m_norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({spec.embeddingDim})));
    m_dropout = register_module("dropout", FastDropout(spec.dropout));
    m_out = register_module("out", torch::nn::Linear(spec.embeddingDim, outputs));
}

torch::Tensor TransformerModelImpl::forward(const Batch &batch)
{
    const int64_t len = batch.tokens.size(1);
    auto pos = torch::arange(len, batch.tokens.options());
    auto x = m_dropout->forward(m_embedding->forward(batch.tokens) + m_positions->forward(pos).unsqueeze(0));
    auto padMask = batch.tokens.eq(0); // [B, L], true where padding
    for (size_t i = 0; i < m_blocks->size(); ++i)
        x = m_blocks[i]->as<EncoderBlock>()->forward(x, padMask);
    x = m_norm->forward(x);
    torch::Tensor pooled;
    if (m_pooling == Pooling::Cls) {
        pooled = x.select(1, 0);
    } else {
        auto keep = padMask.logical_not().unsqueeze(2).to(x.dtype());
        pooled = (x * keep).sum(1) / keep.sum(1).clamp_min(1);
    }
    return m_out->forward(m_dropout->forward(pooled));
}

namespace {
uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB93FE53F2E5BULL;
    h ^= h >> 33;
    return h;
}
} // namespace

std::vector<int64_t> charNgramRows(const std::string &piece, int minLen, int maxLen, int vocab, int64_t buckets)
{
    static const std::string kWordStart = "\xE2\x96\x81"; // U+2581, sentencepiece's word-start mark
    std::vector<int64_t> rows;
    if (piece.empty() || buckets <= 0)
        return rows;
    std::string text = piece.rfind(kWordStart, 0) == 0 ? " " + piece.substr(kWordStart.size()) : piece;
    text += ' ';
    std::vector<size_t> starts; // byte offset of each code point, then the end
    for (size_t i = 0; i < text.size(); ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80)
            starts.push_back(i);
    starts.push_back(text.size());
    const int chars = int(starts.size()) - 1;
    for (int n = minLen; n <= maxLen; ++n)
        for (int i = 0; i + n <= chars; ++i) {
            uint64_t h = 0xCBF29CE484222325ULL;
            for (size_t b = starts[size_t(i)]; b < starts[size_t(i + n)]; ++b) {
                h ^= static_cast<unsigned char>(text[b]);
                h *= 0x100000001B3ULL;
            }
            rows.push_back(int64_t(vocab) + int64_t(fmix64(h) % uint64_t(buckets)));
        }
    return rows;
}

TokenRows tokenRowsFor(const ModelSpec &spec, int pieces)
{
    if (spec.type == ModelType::Transformer && spec.pooling == Pooling::Cls)
        return {pieces + 1, pieces};
    // An encoder pre-trained by an MLM run: its tokenizer's pieces, then [CLS], [SEP], [MASK] (engine/mlm.cpp).
    if (spec.initFromRun()) {
        const MlmSpecialIds ids = mlmSpecialIds(pieces);
        return {ids.rows, ids.cls, spec.appendSep ? ids.sep : -1};
    }
    // An encoder from scratch always starts a text with its CLS id; a pretrained one's tokenizer adds its own.
    if (spec.type == ModelType::Encoder && !spec.pretrained())
        return {pieces + 1, pieces};
    return {pieces, -1};
}

bool decaysWeight(const std::string &name)
{
    const auto endsWith = [&](std::string_view tail) {
        return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
    };
    return name.find("LayerNorm") == std::string::npos && name.find("layer_norm") == std::string::npos &&
           !endsWith("bias");
}

InputSpec inputSpecFor(const ModelSpec &spec, const TokenRows &rows, const std::vector<std::string> &pieces)
{
    InputSpec in = inputSpecFor(spec, rows.vocab, rows.clsId, pieces);
    in.sepId = rows.sepId;
    return in;
}

InputSpec inputSpecFor(const ModelSpec &spec, int vocab, int clsId, const std::vector<std::string> &pieces)
{
    InputSpec in;
    in.bag = spec.hasBag();
    in.sequence = spec.hasSequence();
    in.vocab = vocab;
    in.clsId = clsId;
    in.ngrams = spec.ngramBuckets > 0 ? spec.ngrams : 1;
    in.buckets = spec.ngramBuckets;
    in.unique = in.bag && spec.weighting == BagWeighting::TfIdf;
    in.mixHash = spec.ngramHash != NgramHash::Multiplicative;
    if (in.bag && spec.charNgrams > 0 && spec.ngramBuckets > 0) {
        auto rows = std::make_shared<std::vector<std::vector<int64_t>>>(size_t(vocab));
        for (size_t id = 0; id < pieces.size() && id < size_t(vocab); ++id)
            (*rows)[id] = charNgramRows(pieces[id], spec.charNgramsMin, spec.charNgrams, vocab, spec.ngramBuckets);
        in.charRows = std::move(rows);
    }
    return in;
}

uint64_t ngramHash(const int *tokens, int n, bool mix)
{
    uint64_t h = 0;
    if (!mix) {
        for (int i = 0; i < n; ++i)
            h = h * 1000003ULL + uint64_t(tokens[i]) + 1ULL;
        return h;
    }
    for (int i = 0; i < n; ++i)
        h = (h ^ (uint64_t(tokens[i]) + 1ULL)) * 0x9E3779B97F4A7C15ULL;
    return fmix64(h);
}

Batch makeInputs(const std::vector<const std::vector<int> *> &tokens, const InputSpec &spec, torch::Device device)
{
    const auto n = int64_t(tokens.size());
    Batch b;
    auto lengths = torch::empty({n}, torch::kLong);
    int64_t *len = lengths.data_ptr<int64_t>();
    if (spec.bag) {
        size_t total = 0;
        const auto *charRows = spec.charRows.get();
        for (const auto *t : tokens) {
            total += std::max<size_t>(1, t->size()) * size_t(spec.ngrams);
            if (charRows)
                for (int tok : *t)
                    total += size_t(tok) < charRows->size() ? (*charRows)[size_t(tok)].size() : 0;
        }
        auto ids = torch::empty({int64_t(total)}, torch::kLong);
        auto offsets = torch::empty({n}, torch::kLong);
        int64_t *id = ids.data_ptr<int64_t>(), *off = offsets.data_ptr<int64_t>();
        std::vector<float> counts(spec.unique ? total : 0);
        int64_t k = 0;
        for (int64_t i = 0; i < n; ++i) {
            const auto &t = *tokens[size_t(i)];
            off[i] = k;
            if (t.empty())
                id[k++] = 1; // unknown: an empty bag would average to nothing
            for (int tok : t)
                id[k++] = tok;
            for (int order = 2; order <= spec.ngrams; ++order)
                for (size_t j = 0; j + size_t(order) <= t.size(); ++j)
                    id[k++] = spec.vocab + int64_t(ngramHash(t.data() + j, order, spec.mixHash) % uint64_t(spec.buckets));
            if (charRows)
                for (int tok : t)
                    if (size_t(tok) < charRows->size())
                        for (int64_t r : (*charRows)[size_t(tok)])
                            id[k++] = r;
            len[i] = std::max<int64_t>(1, int64_t(t.size()));
            if (spec.unique) {
                // Each id once, sorted, with how often it occurs in the text.
                std::sort(id + off[i], id + k);
                int64_t w = off[i];
                for (int64_t r = off[i]; r < k; ++r) {
                    if (w > off[i] && id[w - 1] == id[r]) {
                        counts[size_t(w - 1)] += 1;
                        continue;
                    }
                    id[w] = id[r];
                    counts[size_t(w)] = 1;
                    ++w;
                }
                k = w;
            }
        }
        b.bagIds = ids.narrow(0, 0, k).to(device);
        b.bagOffsets = offsets.to(device);
        if (spec.unique)
            b.bagCounts = torch::from_blob(counts.data(), {k}, torch::kFloat).clone().to(device);
    }
    if (spec.sequence || !spec.bag) {
        const int lead = spec.clsId >= 0 ? 1 : 0, trail = spec.sepId >= 0 ? 1 : 0;
        int64_t maxLen = 1;
        for (const auto *t : tokens)
            maxLen = std::max<int64_t>(maxLen, int64_t(t->size()) + lead + trail);
        auto out = torch::zeros({n, maxLen}, torch::kLong);
        int64_t *acc = out.data_ptr<int64_t>();
        for (int64_t i = 0; i < n; ++i) {
            const auto &t = *tokens[size_t(i)];
            int64_t *row = acc + i * maxLen;
            if (lead)
                row[0] = spec.clsId;
            for (size_t j = 0; j < t.size(); ++j)
                row[int64_t(j) + lead] = t[j];
            if (trail)
                row[int64_t(t.size()) + lead] = spec.sepId;
            if (t.empty() && !lead && !trail)
                row[0] = 1; // unknown, so every sequence has at least one real token
            len[i] = std::max<int64_t>(1, int64_t(t.size()) + lead + trail);
        }
        b.tokens = out.to(device);
    }
    b.lengths = lengths.to(device);
    return b;
}

std::vector<size_t> lengthOrder(const std::vector<const std::vector<int> *> &tokens)
{
    std::vector<size_t> order(tokens.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return tokens[a]->size() < tokens[b]->size(); });
    return order;
}

std::vector<float> scoreInBatches(const std::vector<const std::vector<int> *> &tokens, size_t batch, size_t width,
                                  const std::function<std::vector<float>(const std::vector<const std::vector<int> *> &)> &score)
{
    const auto order = lengthOrder(tokens);
    std::vector<float> out(tokens.size() * width);
    std::vector<const std::vector<int> *> part;
    for (size_t b = 0; b < order.size(); b += batch) {
        const size_t e = std::min(order.size(), b + std::max<size_t>(1, batch));
        part.clear();
        for (size_t i = b; i < e; ++i)
            part.push_back(tokens[order[i]]);
        const auto values = score(part);
        for (size_t i = b; i < e; ++i)
            std::copy_n(values.begin() + std::ptrdiff_t((i - b) * width), width,
                        out.begin() + std::ptrdiff_t(order[i] * width));
    }
    return out;
}

std::shared_ptr<ClassifierImpl> makeModel(const ModelSpec &spec, int vocab, int outputs, int maxTokens,
                                          bool sparseEmbeddings, const hf::EncoderConfig *encoder)
{
    switch (spec.type) {
    case ModelType::Encoder:
        return EncoderClassifier(encoder ? *encoder : scratchEncoderConfig(spec, vocab, maxTokens), spec, outputs).ptr();
    case ModelType::Cnn: return CnnModel(spec, vocab, outputs).ptr();
    case ModelType::BagCnn: return BagCnnModel(spec, vocab, outputs, sparseEmbeddings).ptr();
    case ModelType::Gru: return GruModel(spec, vocab, outputs).ptr();
    case ModelType::Transformer: return TransformerModel(spec, vocab, outputs, maxTokens).ptr();
    case ModelType::Bag: break;
    }
    return BagModel(spec, vocab, outputs, sparseEmbeddings).ptr();
}

} // namespace lbk
