#pragma once
// The BERT family as Hugging Face's transformers implements it (modeling_bert.py, modeling_roberta.py): learned
// absolute positions (RoBERTa's starting at pad_token_id + 1), token-type embeddings, post-layer-norm blocks with
// the config's layer_norm_eps and activation, the attention mask from the padding. Modules and parameters carry
// transformers' names ("bert.encoder.layer.3.attention.self.query.weight"), so a checkpoint maps one to one.
// LibTorch: include only from engine translation units.
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "engine/models.h"
#include "hf/encoderconfig.h"

namespace lbk {

// BertEmbeddings / RobertaEmbeddings.
class EncoderEmbeddingsImpl : public torch::nn::Module {
public:
    explicit EncoderEmbeddingsImpl(const hf::EncoderConfig &c);
    torch::Tensor forward(const torch::Tensor &ids); // [B, L] -> [B, L, H]
    const torch::Tensor &wordWeight() const { return m_words->weight; }

private:
    torch::nn::Embedding m_words{nullptr}, m_positions{nullptr}, m_types{nullptr};
    torch::nn::LayerNorm m_norm{nullptr};
    FastDropout m_dropout{nullptr};
    int m_positionOffset = 0;
};
TORCH_MODULE(EncoderEmbeddings);

// One block: attention.self.{query,key,value}, attention.output.{dense,LayerNorm}, intermediate.dense,
// output.{dense,LayerNorm}.
class EncoderLayerImpl : public torch::nn::Module {
public:
    explicit EncoderLayerImpl(const hf::EncoderConfig &c);
    // x [B, L, H]; mask [B, 1, 1, L]: 0 for tokens, a large negative number for padding.
    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &mask);
    // Scoring only: the same block as ATen's fused encoder layer; padded [B, L] is true for padding.
    bool fusable(const torch::Tensor &x) const;
    torch::Tensor forwardFused(const torch::Tensor &x, const torch::Tensor &padded);

private:
    torch::Tensor selfAttention(const torch::Tensor &x, const torch::Tensor &mask);
    torch::nn::Linear m_query{nullptr}, m_key{nullptr}, m_value{nullptr}, m_attnDense{nullptr};
    torch::nn::LayerNorm m_attnNorm{nullptr}, m_outNorm{nullptr};
    torch::nn::Linear m_intermediate{nullptr}, m_outDense{nullptr};
    FastDropout m_dropout{nullptr}, m_attnDropout{nullptr};
    hf::Activation m_act;
    int m_heads = 0;
};
TORCH_MODULE(EncoderLayer);

// BertModel / RobertaModel: embeddings, encoder.layer.N, and BERT's pooler when asked for.
class EncoderModelImpl : public torch::nn::Module {
public:
    EncoderModelImpl(const hf::EncoderConfig &c, bool pooler);
    // Hidden states of the last layer [B, L, H] for ids [B, L] whose first lengths[b] tokens are real.
    torch::Tensor forward(const torch::Tensor &ids, const torch::Tensor &lengths);
    // BERT's pooler: tanh(dense(first token)).
    torch::Tensor pool(const torch::Tensor &hidden);
    bool hasPooler() const { return !m_pooler.is_empty(); }
    int layerCount() const { return int(m_layers->size()); }
    const torch::Tensor &wordWeight() const { return m_embeddings->wordWeight(); }

private:
    EncoderEmbeddings m_embeddings{nullptr};
    torch::nn::ModuleList m_layers;
    torch::nn::Linear m_pooler{nullptr};
};
TORCH_MODULE(EncoderModel);

// A classifier on an encoder, the head named as transformers' *ForSequenceClassification names it:
// pooler: BERT's pooler then `classifier` (BertForSequenceClassification); RoBERTa's `classifier.dense`, tanh,
//         `classifier.out_proj` over the first token (RobertaForSequenceClassification);
// cls:    the first token's state, then `classifier`;
// mean:   the mean of the real tokens' states, then `classifier`.
class EncoderClassifierImpl : public ClassifierImpl {
public:
    EncoderClassifierImpl(const hf::EncoderConfig &c, const ModelSpec &spec, int outputs);
    torch::Tensor forward(const Batch &batch) override;
    ParamGroup paramGroup(const std::string &name) const override;
    // "bert." or "roberta.": where the encoder's own parameters are (the rest is the head).
    const std::string &backbonePrefix() const { return m_prefix; }
    const hf::EncoderConfig &config() const { return m_config; }
    EncoderModel &encoder() { return m_encoder; }
    // Names of the head's parameters (what a checkpoint without a head lacks).
    bool isHead(const std::string &name) const;
    // The layer whose outputs are the logits, a row per label: `classifier`, or RoBERTa's `classifier.out_proj`.
    torch::nn::Linear &logitsLayer() { return m_outProj ? m_outProj : m_classifier; }
    bool isLogits(const std::string &name) const;
    // Puts the logits layer's rows in a new order: row i becomes the old row rows[i] (a head's labels reordered).
    void reorderLogits(const std::vector<int64_t> &rows);

private:
    hf::EncoderConfig m_config;
    Pooling m_pooling;
    std::string m_prefix;
    EncoderModel m_encoder{nullptr};
    torch::nn::Linear m_classifier{nullptr}, m_headDense{nullptr}, m_outProj{nullptr};
    FastDropout m_dropout{nullptr};
    double m_headLrFactor = 1, m_layerLrDecay = 1;
};
TORCH_MODULE(EncoderClassifier);

// An encoder with transformers' masked-language-model head, named as BertForMaskedLM (`bert.`,
// `cls.predictions.transform.{dense,LayerNorm}`, `cls.predictions.bias`) or RobertaForMaskedLM (`roberta.`,
// `lm_head.{dense,layer_norm,bias}`): dense, the config's activation, layer norm, then the decoder plus a bias. The
// decoder is the word embeddings (tied, as transformers ties them by default) or, when the config's
// tieWordEmbeddings is false, a matrix of its own (`cls.predictions.decoder.weight`, `lm_head.decoder.weight`).
class EncoderMaskedLMImpl : public torch::nn::Module {
public:
    explicit EncoderMaskedLMImpl(const hf::EncoderConfig &c);
    // Logits over the vocabulary at the positions whose label is >= 0 ([N, V]), and those labels ([N]).
    std::pair<torch::Tensor, torch::Tensor> maskedLogits(const torch::Tensor &ids, const torch::Tensor &lengths,
                                                         const torch::Tensor &labels);
    const hf::EncoderConfig &config() const { return m_config; }
    const std::string &backbonePrefix() const { return m_prefix; }

private:
    hf::EncoderConfig m_config;
    std::string m_prefix;
    EncoderModel m_encoder{nullptr};
    torch::nn::Linear m_dense{nullptr};
    torch::nn::LayerNorm m_norm{nullptr};
    torch::Tensor m_bias;
    torch::Tensor m_decoder; // untied only
};
TORCH_MODULE(EncoderMaskedLM);

// The encoder's config for model.type "encoder" trained from scratch: sizes from the experiment, BERT's layout.
hf::EncoderConfig scratchEncoderConfig(const ModelSpec &spec, int vocab, int maxTokens);

} // namespace lbk
