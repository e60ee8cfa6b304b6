#pragma once
// Weights between an encoder model and Hugging Face files: a checkpoint folder's model.safetensors (or
// pytorch_model.bin, either layout of torch.save: hf/torchpickle.h) loaded into an EncoderClassifier, and a model
// written back as model.safetensors. LibTorch: include only from engine translation units.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "engine/encoder.h"
#include "hf/encoderconfig.h"
#include "util/result.h"

namespace lbk {

// What loading found, as transformers reports it when from_pretrained builds a model from a checkpoint.
struct WeightsReport {
    std::vector<std::string> newlyInitialized; // the model's, absent from the file: the new head (and pooler)
    std::vector<std::string> missing;          // absent from the file and not the head: an error unless allowed
    std::vector<std::string> unused;           // in the file, not in the model (an MLM head, say)
    size_t loaded = 0;
    // Lines for the run's log: "Some weights of the checkpoint were not used: ..." and the like.
    std::vector<std::string> messages(const std::string &file) const;
};

// Loads the folder's weights into `model`. A file key may carry the model's prefix ("bert.") or not (a bare
// BertModel); TensorFlow-era names (LayerNorm.gamma/beta) and the position_ids buffer are handled. Errors (bad
// input) name the file and the key: a shape that disagrees with the config, missing weights (unless
// allowMissing), an unreadable file.
// "[768, 3072]": a tensor's shape in messages.
std::string shapeText(at::IntArrayRef shape);

// keepHead false: a head in the file (trained for other labels) is not loaded; the model's stays as initialized.
Result<WeightsReport> loadEncoderWeights(EncoderClassifierImpl &model, const hf::CheckpointFolder &folder,
                                         bool allowMissing, bool keepHead = true);
// The same into an encoder with a masked-language-model head (continued pre-training): a checkpoint without the
// head (a bare BertModel) leaves it newly initialized; BERT's next-sentence head and the decoder (tied to the word
// embeddings) are reported unused.
Result<WeightsReport> loadEncoderWeights(EncoderMaskedLMImpl &model, const hf::CheckpointFolder &folder,
                                         bool allowMissing);

// Named tensors as a safetensors file (float32, on the CPU).
Status saveTensors(const std::vector<std::pair<std::string, torch::Tensor>> &named, const std::filesystem::path &file);

// The model's parameters in transformers' names as model.safetensors (float32). binaryAsTwo: a one-logit head
// (Labbook's binary task) is written as two logits [0, z], whose softmax is [1 - sigmoid(z), sigmoid(z)], so
// AutoModelForSequenceClassification scores it as a two-class classifier with the same probabilities.
Status saveEncoderWeights(EncoderClassifierImpl &model, const std::filesystem::path &file, bool binaryAsTwo);

} // namespace lbk
