#pragma once
// What a checkpoint folder's weights files hold, read without their values (safetensors headers, the pickle of a
// pytorch_model.bin), and whether that fits its config.json: so lbk validate and the form find a truncated file,
// a training checkpoint or weights of other sizes at once, not a run after a cluster's queue. No LibTorch; the
// engine's loading (engine/hfweights.h) checks every tensor again, and its values.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hf/encoderconfig.h"
#include "util/result.h"

namespace lbk::hf {

struct StoredTensor {
    std::filesystem::path file; // the file (the shard) that holds it
    std::string name;           // as the file names it
    std::string dtype;          // "F32", "BF16", ... (safetensors) or torch's storage type ("FloatStorage")
    bool floating = true;
    std::vector<int64_t> shape;
};

// "[768, 3072]": a tensor's shape in messages.
std::string shapeText(const std::vector<int64_t> &shape);

// Every tensor of the folder's weights files, in file order. Errors name the file: a file cut short or damaged,
// a pickle that is not a state dict (a training checkpoint, a whole module: with what to save instead).
Result<std::vector<StoredTensor>> readStoredTensors(const CheckpointFolder &folder);

// The tensors against the folder's config.json: the embeddings' and each layer's attention and feed-forward
// shapes, integer weights, and (unless allowMissing) the word embeddings and every layer present. Errors name the
// file and the tensor.
Status checkStoredTensors(const CheckpointFolder &folder, const std::vector<StoredTensor> &tensors,
                          bool allowMissing);

// The word embeddings and whole encoder layers config.json describes that the weights files do not hold, which
// model.allow_missing_weights starts at random: "the word embeddings and encoder layer 2", "encoder layers 2, 3";
// empty when they hold them all. (A single tensor missing inside a layer, a norm, the position embeddings: the run's
// log lists every weight it starts at random.)
Result<std::string> weightsLeftOut(const CheckpointFolder &folder);

// Both: what lbk validate and the form ask of an init_from folder.
Status checkWeightsFiles(const CheckpointFolder &folder, bool allowMissing);

} // namespace lbk::hf
