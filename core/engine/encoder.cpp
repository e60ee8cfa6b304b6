// The BERT family's encoder in LibTorch, parameter for parameter as transformers' modeling_bert.py writes it.
#include "engine/encoder.h"
#include "engine/precision.h"

#include <cmath>
#include <limits>

namespace lbk {

namespace {

// HF's _init_weights: normal(0, initializer_range) for linear and embedding weights, zero biases, unit norms.
void initLikeTransformers(torch::nn::Module &m, double std)
{
    torch::NoGradGuard noGrad;
    for (auto &p : m.named_parameters(true)) {
        const std::string &name = p.key();
        const bool norm = name.find("LayerNorm") != std::string::npos;
        if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0)
            p.value().zero_();
        else if (norm)
            p.value().fill_(1.0);
        else
            p.value().normal_(0.0, std);
    }
}

torch::Tensor activate(const torch::Tensor &x, hf::Activation a)
{
    switch (a) {
    case hf::Activation::GeluTanh: return torch::gelu(x, "tanh");
    case hf::Activation::Relu: return torch::relu(x);
    case hf::Activation::GeluErf: break;
    }
    return torch::gelu(x);
}

torch::nn::LayerNorm layerNorm(const hf::EncoderConfig &c)
{
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hiddenSize}).eps(c.layerNormEps));
}

// A module that only holds others, for transformers' nesting ("attention.self.query").
std::shared_ptr<torch::nn::Module> holder(torch::nn::Module &parent, const std::string &name)
{
    return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

} // namespace

EncoderEmbeddingsImpl::EncoderEmbeddingsImpl(const hf::EncoderConfig &c) : m_positionOffset(c.positionOffset())
{
    m_words = register_module("word_embeddings", torch::nn::Embedding(c.vocabSize, c.hiddenSize));
    m_positions = register_module("position_embeddings", torch::nn::Embedding(c.maxPositions, c.hiddenSize));
    m_types = register_module("token_type_embeddings", torch::nn::Embedding(c.typeVocabSize, c.hiddenSize));
    m_norm = register_module("LayerNorm", layerNorm(c));
    m_dropout = register_module("dropout", FastDropout(c.hiddenDropout));
}

// Every token has type 0 (one text per example), so the type embedding is its first row for all.
torch::Tensor EncoderEmbeddingsImpl::forward(const torch::Tensor &ids)
{
    const int64_t length = ids.size(1);
    auto positions = torch::arange(m_positionOffset, m_positionOffset + length,
                                   torch::TensorOptions(torch::kLong).device(ids.device()));
    auto x = m_words(ids) + m_positions(positions).unsqueeze(0) + m_types->weight[0];
    return m_dropout(m_norm(x));
}

EncoderLayerImpl::EncoderLayerImpl(const hf::EncoderConfig &c) : m_act(c.activation), m_heads(c.heads)
{
    const int h = c.hiddenSize;
    auto attention = holder(*this, "attention");
    auto self = holder(*attention, "self");
    m_query = self->register_module("query", torch::nn::Linear(h, h));
    m_key = self->register_module("key", torch::nn::Linear(h, h));
    m_value = self->register_module("value", torch::nn::Linear(h, h));
    auto attnOut = holder(*attention, "output");
    m_attnDense = attnOut->register_module("dense", torch::nn::Linear(h, h));
    m_attnNorm = attnOut->register_module("LayerNorm", layerNorm(c));
    auto intermediate = holder(*this, "intermediate");
    m_intermediate = intermediate->register_module("dense", torch::nn::Linear(h, c.intermediateSize));
    auto output = holder(*this, "output");
    m_outDense = output->register_module("dense", torch::nn::Linear(c.intermediateSize, h));
    m_outNorm = output->register_module("LayerNorm", layerNorm(c));
    m_dropout = register_module("dropout", FastDropout(c.hiddenDropout));
    m_attnDropout = register_module("attention_dropout", FastDropout(c.attentionDropout));
}

torch::Tensor EncoderLayerImpl::selfAttention(const torch::Tensor &x, const torch::Tensor &mask)
{
    const int64_t b = x.size(0), l = x.size(1), h = x.size(2), d = h / m_heads;
    auto heads = [&](const torch::Tensor &t) { return t.view({b, l, m_heads, d}).transpose(1, 2); };
    const auto q = heads(m_query(x)), k = heads(m_key(x)), v = heads(m_value(x));
    auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(double(d)) + mask;
    auto probs = m_attnDropout(torch::softmax(scores, -1));
    return torch::matmul(probs.to(v.scalar_type()), v).transpose(1, 2).reshape({b, l, h});
}

bool EncoderLayerImpl::fusable(const torch::Tensor &x) const
{
    return !is_training() && !torch::GradMode::is_enabled() && x.scalar_type() == torch::kFloat &&
           m_act == hf::Activation::GeluErf && !autocastActive();
}

torch::Tensor EncoderLayerImpl::forwardFused(const torch::Tensor &x, const torch::Tensor &padded)
{
    // Post-norm (norm_first false): norm1(x + attention(x)), then norm2(. + ffn(.)), as BERT's block.
    const auto qkvWeight = torch::cat({m_query->weight, m_key->weight, m_value->weight});
    const auto qkvBias = torch::cat({m_query->bias, m_key->bias, m_value->bias});
    return at::_transformer_encoder_layer_fwd(
        x, x.size(2), m_heads, qkvWeight, qkvBias, m_attnDense->weight, m_attnDense->bias, /*use_gelu=*/true,
        /*norm_first=*/false, m_attnNorm->options.eps(), m_attnNorm->weight, m_attnNorm->bias, m_outNorm->weight,
        m_outNorm->bias, m_intermediate->weight, m_intermediate->bias, m_outDense->weight, m_outDense->bias, padded,
        /*mask_type=*/1);
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor &x, const torch::Tensor &mask)
{
    auto attended = m_attnNorm(m_dropout(m_attnDense(selfAttention(x, mask))) + x);
    auto inner = activate(m_intermediate(attended), m_act);
    return m_outNorm(m_dropout(m_outDense(inner)) + attended);
}

EncoderModelImpl::EncoderModelImpl(const hf::EncoderConfig &c, bool pooler)
{
    m_embeddings = register_module("embeddings", EncoderEmbeddings(c));
    auto encoder = holder(*this, "encoder");
    m_layers = encoder->register_module("layer", torch::nn::ModuleList());
    for (int i = 0; i < c.layers; ++i)
        m_layers->push_back(EncoderLayer(c));
    if (pooler) {
        auto p = holder(*this, "pooler");
        m_pooler = p->register_module("dense", torch::nn::Linear(c.hiddenSize, c.hiddenSize));
    }
}

torch::Tensor EncoderModelImpl::forward(const torch::Tensor &ids, const torch::Tensor &lengths)
{
    const int64_t l = ids.size(1);
    auto real = torch::arange(l, lengths.options()).unsqueeze(0) < lengths.unsqueeze(1); // [B, L]
    // transformers' extended attention mask: 0 where a token may be attended to, the dtype's lowest elsewhere.
    auto mask = (1.0 - real.to(torch::kFloat)).mul(std::numeric_limits<float>::lowest()).view({ids.size(0), 1, 1, l});
    auto x = m_embeddings(ids);
    // Scoring (eval mode, no autograd, fp32, exact GELU): each block through ATen's fused encoder layer, the
    // kernel behind PyTorch's fast path, with the padding as a key mask. Tokens' hidden states agree with the
    // module path within 1e-5 (tst_encoder); padded positions are not defined there and nothing reads them.
    const auto padded = real.logical_not();
    for (const auto &layer : *m_layers) {
        auto *block = layer->as<EncoderLayer>();
        x = block->fusable(x) ? block->forwardFused(x, padded) : block->forward(x, mask);
    }
    return x;
}

torch::Tensor EncoderModelImpl::pool(const torch::Tensor &hidden)
{
    return torch::tanh(m_pooler(hidden.select(1, 0)));
}

EncoderClassifierImpl::EncoderClassifierImpl(const hf::EncoderConfig &c, const ModelSpec &spec, int outputs)
    : m_config(c), m_pooling(spec.pooling), m_headLrFactor(spec.headLrFactor), m_layerLrDecay(spec.layerLrDecay)
{
    const bool roberta = c.family == hf::EncoderFamily::Roberta;
    m_prefix = roberta ? "roberta." : "bert.";
    const bool bertPooler = m_pooling == Pooling::Pooler && !roberta;
    m_encoder = register_module(roberta ? "roberta" : "bert", EncoderModel(c, bertPooler));
    if (m_pooling == Pooling::Pooler && roberta) {
        auto head = holder(*this, "classifier");
        m_headDense = head->register_module("dense", torch::nn::Linear(c.hiddenSize, c.hiddenSize));
        m_outProj = head->register_module("out_proj", torch::nn::Linear(c.hiddenSize, outputs));
    } else {
        m_classifier = register_module("classifier", torch::nn::Linear(c.hiddenSize, outputs));
    }
    m_dropout = register_module("dropout", FastDropout(spec.dropout));
    initLikeTransformers(*this, c.raw.is_object() ? c.raw.value("initializer_range", 0.02) : 0.02);
    if (spec.freezeEmbeddings)
        for (auto &p : m_encoder->named_parameters())
            if (p.key().rfind("embeddings.", 0) == 0)
                p.value().set_requires_grad(false);
}

torch::Tensor EncoderClassifierImpl::forward(const Batch &batch)
{
    auto hidden = m_encoder->forward(batch.tokens, batch.lengths);
    if (m_pooling == Pooling::Mean) {
        const int64_t l = hidden.size(1);
        auto padded = (torch::arange(l, batch.lengths.options()).unsqueeze(0) >= batch.lengths.unsqueeze(1))
                          .unsqueeze(2);
        // Padded positions hold whatever the layers left there: filled, not multiplied (0 * NaN is NaN).
        auto mean = hidden.masked_fill(padded, 0).sum(1) / batch.lengths.unsqueeze(1).to(hidden.scalar_type());
        return m_classifier(m_dropout(mean));
    }
    if (m_outProj)
        return m_outProj(m_dropout(torch::tanh(m_headDense(m_dropout(hidden.select(1, 0))))));
    auto pooled = m_encoder->hasPooler() ? m_encoder->pool(hidden) : hidden.select(1, 0);
    return m_classifier(m_dropout(pooled));
}

bool EncoderClassifierImpl::isHead(const std::string &name) const
{
    return name.rfind(m_prefix, 0) != 0;
}

bool EncoderClassifierImpl::isLogits(const std::string &name) const
{
    const std::string layer = m_outProj ? "classifier.out_proj." : "classifier.";
    return name == layer + "weight" || name == layer + "bias";
}

void EncoderClassifierImpl::reorderLogits(const std::vector<int64_t> &rows)
{
    torch::NoGradGuard noGrad;
    auto &layer = logitsLayer();
    const auto index = torch::tensor(rows, torch::kLong).to(layer->weight.device());
    layer->weight.copy_(layer->weight.index_select(0, index));
    layer->bias.copy_(layer->bias.index_select(0, index));
}

// transformers' fine-tuning recipe: no decay on biases and layer norms; with model.layer_lr_decay, the rate falls
// by that factor per layer from the top (the pooler) down to the embeddings; the head at model.head_lr_factor.
ParamGroup EncoderClassifierImpl::paramGroup(const std::string &name) const
{
    const bool decay = decaysWeight(name);
    const std::string noDecay = decay ? "" : "/no_decay";
    if (isHead(name))
        return {"head" + noDecay, m_headLrFactor, decay, decay};
    if (m_layerLrDecay >= 1.0)
        return {decay ? "" : "no_decay", 1.0, decay, false};
    const std::string rest = name.substr(m_prefix.size());
    const int layers = m_encoder->layerCount();
    int depth = layers + 1; // the pooler
    std::string group = "pooler";
    if (rest.rfind("embeddings.", 0) == 0) {
        depth = 0;
        group = "embeddings";
    } else if (rest.rfind("encoder.layer.", 0) == 0) {
        depth = std::stoi(rest.substr(14)) + 1;
        group = "layer" + std::to_string(depth - 1);
    }
    return {group + noDecay, std::pow(m_layerLrDecay, layers + 1 - depth), decay, decay && depth == 0};
}

EncoderMaskedLMImpl::EncoderMaskedLMImpl(const hf::EncoderConfig &c) : m_config(c)
{
    const bool roberta = c.family == hf::EncoderFamily::Roberta;
    m_prefix = roberta ? "roberta." : "bert.";
    m_encoder = register_module(roberta ? "roberta" : "bert", EncoderModel(c, false));
    std::shared_ptr<torch::nn::Module> head;
    if (roberta) {
        head = holder(*this, "lm_head");
        m_dense = head->register_module("dense", torch::nn::Linear(c.hiddenSize, c.hiddenSize));
        m_norm = head->register_module("layer_norm", layerNorm(c));
    } else {
        head = holder(*holder(*this, "cls"), "predictions");
        auto transform = holder(*head, "transform");
        m_dense = transform->register_module("dense", torch::nn::Linear(c.hiddenSize, c.hiddenSize));
        m_norm = transform->register_module("LayerNorm", layerNorm(c));
    }
    m_bias = head->register_parameter("bias", torch::zeros({c.vocabSize}));
    if (!c.tieWordEmbeddings)
        m_decoder = holder(*head, "decoder")->register_parameter("weight", torch::empty({c.vocabSize, c.hiddenSize}));
    initLikeTransformers(*this, c.raw.is_object() ? c.raw.value("initializer_range", 0.02) : 0.02);
    torch::NoGradGuard noGrad;
    m_norm->weight.fill_(1.0); // "layer_norm" is not transformers' "LayerNorm": initialise it by hand
}

std::pair<torch::Tensor, torch::Tensor> EncoderMaskedLMImpl::maskedLogits(const torch::Tensor &ids,
                                                                          const torch::Tensor &lengths,
                                                                          const torch::Tensor &labels)
{
    const auto hidden = m_encoder->forward(ids, lengths);
    const auto chosen = labels >= 0;
    const auto states = hidden.index({chosen});                          // [N, H]
    const auto h = m_norm(activate(m_dense(states), m_config.activation)); // transformers' prediction transform
    const auto logits = torch::linear(h, m_decoder.defined() ? m_decoder : m_encoder->wordWeight(), m_bias);
    return {logits, labels.index({chosen})};
}

hf::EncoderConfig scratchEncoderConfig(const ModelSpec &spec, int vocab, int maxTokens)
{
    hf::EncoderConfig c;
    c.family = hf::EncoderFamily::Bert;
    c.vocabSize = vocab;
    c.hiddenSize = spec.embeddingDim;
    c.layers = spec.layers;
    c.heads = spec.heads;
    c.intermediateSize = spec.hidden;
    c.maxPositions = maxTokens + 2; // the CLS id is prepended to at most maxTokens pieces
    c.typeVocabSize = 2;
    c.padTokenId = 0;
    c.layerNormEps = 1e-12;
    c.activation = hf::Activation::GeluErf;
    c.hiddenAct = "gelu";
    c.hiddenDropout = c.attentionDropout = spec.dropout;
    return c;
}

} // namespace lbk
