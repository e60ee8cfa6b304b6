#pragma once
// What Slurm says about a job, read from `scontrol show job -o` (no accounting database needed), and what its
// state means for a run. docs/LAUNCH.md tells how remote runs follow it.
#include <optional>
#include <string>

#include "store/store.h"

namespace lbk {

// Slurm: a job state onto a run status (nullopt for states that are not final: PENDING, RUNNING, ...).
std::optional<RunStatus> runStatusForSlurmState(const std::string &state);
// Fields of `scontrol show job -o` output: JobState, Reason, ExitCode, TimeLimit.
struct SlurmJob {
    std::string state, reason, exitCode, timeLimit;
};
std::optional<SlurmJob> parseScontrolJob(const std::string &text);

} // namespace lbk
