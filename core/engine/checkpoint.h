#pragma once
// A run's checkpoints: the model's parameters and buffers, the optimizer's state and the step loop's counters in
// one LibTorch archive, written so that a kill or a full disk never leaves a damaged file in place of a good one.
// LibTorch: include only from engine translation units.
#include <cstdint>
#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "store/runfiles.h"

namespace lbk {

class TrainerOptimizer;

// The step loop's state beside the weights: where it is and how early stopping stands.
struct CheckpointCounters {
    int64_t step = 0;
    double best = 0;  // the best validation value so far (+-inf before the first)
    int badEvals = 0; // evaluations since it last improved
    double bestLoss = INFINITY; // the validation loss at the best evaluation, which breaks a tie in its value
};

// The resumable checkpoint of a run folder: weights, optimizer state and counters, while the run is unfinished.
inline std::filesystem::path resumableCheckpoint(const std::filesystem::path &runDir)
{
    return runfiles::checkpoint(runDir, "last");
}

// Whether a run continues from its own state: a resume that finds its resumable checkpoint. One resumed before its
// first checkpoint starts as a new run does, pre-trained weights included.
inline bool continuesFromCheckpoint(bool resume, const std::filesystem::path &runDir)
{
    return resume && std::filesystem::exists(resumableCheckpoint(runDir));
}

// A checksum of the model's weights as they are in memory (parameters and buffers, names and bytes, in the
// model's order). LibTorch does not check the CRCs of an archive's records, so bytes changed inside a tensor's
// record would load as different weights without a word; the checksum written with them (checkpoints, and the
// model card of an export) catches that.
uint64_t weightsChecksum(const torch::nn::Module &model);
// The same as text for a JSON file ("fnv1a64:" and 16 hex digits; JSON numbers lose 64-bit integers).
std::string weightsChecksumText(const torch::nn::Module &model);

// opt null: the weights and counters only (the best checkpoint, which is only ever scored, never resumed).
// Throws std::runtime_error naming the file when the disk lacks the space for it.
void saveCheckpoint(const std::filesystem::path &file, const torch::nn::Module &model, const TrainerOptimizer *opt,
                    const CheckpointCounters &counters);

// False when there is no such file. With opt, also the optimizer's state; with counters, the counters. A file that cannot be
// loaded into this model and optimizer throws std::runtime_error naming it and what to do.
bool loadCheckpoint(const std::filesystem::path &file, torch::nn::Module &model, torch::Device device,
                    TrainerOptimizer *opt, CheckpointCounters *counters);

} // namespace lbk
