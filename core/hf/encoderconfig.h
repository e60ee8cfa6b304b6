#pragma once
// A Hugging Face encoder checkpoint folder (as transformers' save_pretrained writes it): its config.json for the
// BERT family (model_type "bert" or "roberta"), which weights file it has, and which tokenizer files. No LibTorch.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace lbk::hf {

enum class EncoderFamily { Bert, Roberta };
std::string_view familyName(EncoderFamily f); // "bert", "roberta"
// The activations transformers names in hidden_act that Labbook implements.
enum class Activation { GeluErf, GeluTanh, Relu };

struct EncoderConfig {
    EncoderFamily family = EncoderFamily::Bert;
    int vocabSize = 30522;
    int hiddenSize = 768;
    int layers = 12;                 // num_hidden_layers
    int heads = 12;                  // num_attention_heads
    int intermediateSize = 3072;
    int maxPositions = 512;          // max_position_embeddings
    int typeVocabSize = 2;
    int padTokenId = 0;
    double layerNormEps = 1e-12;
    Activation activation = Activation::GeluErf; // "gelu" -> GeluErf; "gelu_new", "gelu_pytorch_tanh" -> GeluTanh
    std::string hiddenAct = "gelu";  // as written
    double hiddenDropout = 0.1, attentionDropout = 0.1;
    // A masked-language model's decoder is the word embeddings (BERT's and RoBERTa's layout), or a matrix of its own.
    bool tieWordEmbeddings = true;
    std::vector<std::string> id2label; // a classifier's labels, when the config has them
    nlohmann::json raw;              // the whole file, kept so an export can write unknown keys back

    // RoBERTa's positions start at padTokenId + 1; BERT's at 0.
    int positionOffset() const { return family == EncoderFamily::Roberta ? padTokenId + 1 : 0; }
    // Tokens a sequence may hold given the position table.
    int maxTokens() const { return maxPositions - positionOffset(); }
};

// Reads DIR/config.json. Errors (bad input) name the file and the key: no config.json, not JSON, model_type
// missing or not bert/roberta (the message lists what is supported), a size that is missing, not a positive
// integer, or hidden_size not divisible by num_attention_heads, an unknown hidden_act.
Result<EncoderConfig> readEncoderConfig(const std::filesystem::path &folder);
Result<EncoderConfig> encoderConfigFromJson(const nlohmann::json &j, const std::string &where);

// config.json for an export: the raw keys kept, sizes from `c`, plus architectures ("BertForSequenceClassification"
// or "RobertaForSequenceClassification"), id2label/label2id and problem_type when labels are given.
nlohmann::json encoderConfigJson(const EncoderConfig &c, const std::vector<std::string> &labels,
                                 const std::string &problemType /* "single_label_classification" | "multi_label_classification" | "" */);

enum class WeightsFormat { Safetensors, PytorchBin };
enum class TokenizerFiles { WordPiece /* vocab.txt */, ByteBpe /* vocab.json + merges.txt */, TokenizerJson, None };

// What a folder holds, for the GUI's picker and the worker's messages.
struct CheckpointFolder {
    std::filesystem::path folder;
    EncoderConfig config;
    std::optional<WeightsFormat> weights; // model.safetensors preferred over pytorch_model.bin
    std::filesystem::path weightsPath;    // the file, or a sharded checkpoint's index (*.index.json)
    std::vector<std::filesystem::path> weightShards; // the shards the index names, in its order; else empty
    // The files that hold the weights: the shards, or weightsPath alone.
    std::vector<std::filesystem::path> weightFiles() const;
    TokenizerFiles tokenizer = TokenizerFiles::None;
    std::string tokenizerJsonModel; // tokenizer.json's model.type ("WordPiece", "BPE") when that file alone is there
    std::string describe() const; // "bert, 12 layers, hidden size 768, 12 heads, vocabulary 31,090 (WordPiece), model.safetensors"
};
// A checkpoint folder: its config, its weights and its tokenizer's files, each refused by name when missing.
Result<CheckpointFolder> inspectCheckpointFolder(const std::filesystem::path &folder);
// "FOLDER: no tokenizer: expected ...; the folder holds ...": the one message for a folder without tokenizer files.
std::string noTokenizerMessage(const std::filesystem::path &folder);

} // namespace lbk::hf
