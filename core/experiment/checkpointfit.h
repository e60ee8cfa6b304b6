#pragma once
// Whether an experiment fits the pretrained checkpoint its model.init_from names: the one rule the engine applies
// when it opens the folder and the form shows as the user types.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "experiment/schema.h"
#include "hf/encoderconfig.h"
#include "hf/hftokenizer.h"

namespace lbk {

// The experiment's size fields a checkpoint's config.json decides, with its key and value there:
// model.layers (num_hidden_layers), model.embedding_dim (hidden_size), model.heads, model.hidden (intermediate_size).
struct CheckpointSize {
    const char *field, *key;
    int value;
};
std::vector<CheckpointSize> checkpointSizes(const hf::EncoderConfig &c = {});

// Sizes set in the experiment (other than their defaults) that contradict the checkpoint's config.json, and a
// max_tokens its position table cannot hold: one message naming both values, or nothing. where names the config.
std::optional<std::string> checkpointContradictions(const Experiment &e, const hf::EncoderConfig &c,
                                                    const std::string &where);

// A folder's tokenizer with more pieces than config.json's vocab_size gives the embedding table rows: the two do
// not belong together (the engine refuses it; validate and the form say it first).
Status checkTokenizerFits(const hf::HfTokenizer &tokenizer, const hf::EncoderConfig &c,
                          const std::filesystem::path &folder);

// What is wrong with an inspected checkpoint folder for an experiment (nullptr: one that does not parse, so only
// the folder itself is checked): sizes that contradict config.json (named `configWhere`), weights files damaged
// or not fitting it (hf/storedtensors.h), a tokenizer that cannot be read or does not fit: all that apply, joined
// by "; ". Nothing when it fits.
std::optional<std::string> checkpointProblem(const Experiment *e, const hf::CheckpointFolder &folder,
                                             const std::string &configWhere);

// With model.allow_missing_weights, the word embeddings and whole layers the folder's weights do not hold, which the
// run starts at random ("model.allow_missing_weights: the run starts encoder layers 2, 3 at random (not in
// .../model.safetensors)"), as a note for lbk validate and the form; nothing when the flag is off or nothing is
// missing (hf::weightsLeftOut says what it does not look for).
std::optional<std::string> leftAtRandomNote(const Experiment &e, const hf::CheckpointFolder &folder);

// model.init_from against the folder it names (resolved as data paths are): not a checkpoint folder, sizes that
// contradict its config.json, or weights files that are damaged or do not fit it (hf/storedtensors.h), as an issue
// on model.init_from; nothing when it fits. lbk validate and the form ask this.
std::optional<ValidationIssue> checkInitFrom(const Experiment &e, const std::filesystem::path &folder);

} // namespace lbk
