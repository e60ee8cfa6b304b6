#pragma once
// A trained model with everything needed to turn texts into probabilities, loaded from a run folder (its best,
// else last checkpoint) or from an export folder (`lbk export --format model`). Shared by export, predict and
// eval. LibTorch: include only from engine translation units.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "engine/models.h"
#include "engine/pretrained.h"
#include "engine/tokenizer.h"
#include "experiment/experiment.h"
#include "util/result.h"

namespace lbk {

struct LoadedModel {
    Experiment exp;
    std::unique_ptr<TextEncoder> tokenizer;
    std::optional<PretrainedEncoder> pretrained; // a fine-tuned checkpoint folder's config and tokenizer (hf/)
    std::vector<std::string> labels;
    TaskKind kind = TaskKind::MultiClass;
    TokenRows rows;
    int outputs = 0;
    InputSpec inputs;
    std::shared_ptr<ClassifierImpl> model;
    std::string checkpoint; // best | last | export
    std::string checkpointNote; // said before scoring when the run's best.pt is missing and last.pt is used instead
    int64_t step = 0;
    // The precision the run trained and validated in, as its journal records it ("fp32" for an export, whose
    // contract is the Python client's fp32 arithmetic).
    std::string trainedPrecision = "fp32";
    nlohmann::json runData = nlohmann::json::object(); // a run's run_started data, for the model card
    bool bf16 = false; // bfloat16 autocast, as the trainer's forward pass under training.precision "bf16"

    // n x width() probabilities (binary: n values, the positive class's).
    std::vector<float> probabilities(const std::vector<const std::vector<int> *> &tokens) const;
    // Columns of probabilities(): binary gives the positive class only.
    size_t width() const { return kind == TaskKind::Binary ? 1 : labels.size(); }
    const char *precision() const { return bf16 ? "bf16" : "fp32"; }
    // --precision: "auto" scores as the run trained. bf16 runs only where this machine computes in bfloat16
    // natively; elsewhere emulated bf16 is slower than fp32, so it stays in fp32 and `warn` says so, as the
    // trainer does.
    void choosePrecision(const std::string &asked, const std::function<void(const std::string &)> &warn);
};

// An export folder (isExportFolder, engine.h) or a run folder.
Result<std::unique_ptr<LoadedModel>> loadModel(const std::filesystem::path &folder);

// How a paper becomes the model's input ids (which text, the tokenizer, the token cut), as an export says it: the
// model card's "input", and a Hugging Face export's config.json "labbook_input" (modelexport.cpp).
nlohmann::json inputRules(const LoadedModel &lm);

// Where a pretrained encoder's exported tokenizer cuts a text (tokenizer_config.json's model_max_length): the run's
// tokenizer.max_tokens, at most the position table's length. Both exports write it, so transformers' tokenizer reads
// the text as the run did.
int64_t exportedTokenizerCut(const LoadedModel &lm);

} // namespace lbk
