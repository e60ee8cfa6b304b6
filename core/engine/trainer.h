#pragma once
// The training loops, shared by every objective: the step loop (engine/trainer.cpp: batches, the schedule,
// data-parallel averaging, evaluations, checkpoints, early stopping, resume) and the LR range test
// (engine/lrfind.cpp). Each returns a WorkerExit code and has reported everything to the run's journal.
#include <cstdint>
#include <vector>

namespace lbk {

struct RunContext;
class Objective;

int trainRun(RunContext &context, Objective &objective);
int lrRangeTest(RunContext &context, Objective &objective);

// A permutation that is the same on every machine and standard library: Fisher-Yates driven by mt19937_64,
// whose output the C++ standard fixes (std::shuffle's algorithm is not fixed).
std::vector<size_t> permutation(size_t n, uint64_t seed);

// `examples` in the order permutation(examples.size(), seed) gives.
std::vector<size_t> permuted(const std::vector<size_t> &examples, uint64_t seed);

} // namespace lbk
