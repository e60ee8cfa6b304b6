#pragma once
// model.init_from: the Hugging Face checkpoint folder a run fine-tunes, checked against the experiment, and the
// run's own copy of what it needs to score text later (config.json and the tokenizer files in RUN/hf), so predict,
// eval and export never depend on the original folder. No LibTorch here (the weights: engine/hfweights.h).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "experiment/experiment.h"
#include "hf/encoderconfig.h"
#include "hf/hftokenizer.h"
#include "store/runfiles.h"
#include "util/result.h"

namespace lbk {

struct PretrainedEncoder {
    std::optional<hf::CheckpointFolder> folder; // the init_from folder (absent when read back from a run)
    hf::EncoderConfig config;
    std::shared_ptr<const hf::HfTokenizer> tokenizer;
};

// The folder a run keeps its copy in, beside its checkpoints.
inline std::filesystem::path runHfDir(const std::filesystem::path &runDir) { return runDir / runfiles::kHfFolder; }

// Opens model.init_from (a path resolved as data paths are), checks the experiment against it and writes the
// run's copy into runHfDir(runDir). Errors (bad input) name the folder, file and key.
Result<PretrainedEncoder> openPretrained(const Experiment &e, const std::string &dataRoot,
                                         const std::filesystem::path &runDir);
// The run's copy (resuming, further ranks, predict, eval, export).
Result<PretrainedEncoder> readRunPretrained(const std::filesystem::path &hfDir);
// What a training run starts from: its own copy when it continues (resume, a further rank) and has one, else
// the folder (openPretrained).
Result<PretrainedEncoder> prepareRunPretrained(const Experiment &e, const std::string &dataRoot,
                                               const std::filesystem::path &runDir, bool continuing);
// For the run's log: "bert: 12 layers, hidden 768, WordPiece vocabulary of 31090 from FOLDER" (or "(the run's copy)").
std::string describeEncoder(const PretrainedEncoder &p, const std::string &initFrom);

} // namespace lbk
