#pragma once
// What a person does to runs, as one use case each, whichever front-end asks: lbk's commands, the GUI and the
// sweep scheduler all launch, resume, cancel and delete runs through these, so a rule ("a run that cannot start
// is recorded as failed", "deleting a run removes its folder") is written once. Each works on any target: this
// machine, an ssh host or a Slurm cluster. Errors name what and where; Error::badInput marks a request that
// cannot be met as asked (a finished run resumed, a running one deleted).
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "launch/local.h"
#include "launch/targets.h"
#include "store/store.h"
#include "util/result.h"

namespace lbk::usecase {

// The target a run or a launch names: kLocalTarget (or nothing) is this machine, any other name is looked up
// in the targets file.
Result<Target> findTarget(const TargetsFile &targets, const std::string &name);

// model.init_from "run:REF[@STEP]": the experiment as it will run, naming the MLM pre-training run by uid and
// taking its encoder's sizes and tokenizer settings (what it replaces, in `notes`). Errors (bad input) name the
// run: not in the store, not a pre-training run, no checkpoint, a step it did not keep, still training. launch
// asks this; lbk validate too, so a wrong run is found before a job waits in a queue.
Result<Experiment> resolveInitRun(const Store &store, const Experiment &experiment, std::vector<std::string> &notes);

// A model.init_from folder on this machine that a run could not start from (lbk validate's check), with what is
// wrong: said before a run or a sweep exists, so a typo or a download cut short records no failed run. Nothing for
// an experiment without a folder. A remote target's folder is only there: not asked for one.
std::optional<std::string> pretrainedFolderProblem(const Experiment &e, const std::string &dataRoot);

struct Launched {
    RunDetail run;
    std::optional<ProcessInfo> worker; // a local run's worker process
};
// Steps of a remote launch as they happen ("copying the data", "submitting the job"), for a status line.
using Progress = std::function<void(const std::string &)>;

// Creates the run and starts it on the target: a worker process here, or staged and started on an ssh host or
// a Slurm cluster. An LR range test is a launch with request.lrFind. A run that was created but could not be
// started is recorded as failed with the reason, never left queued.
Result<Launched> launch(Store &store, const Target &target, const Experiment &experiment,
                        const LaunchRequest &request, const Progress &progress = {});

struct Resumed {
    bool started = false;              // false: a remote run still going, which is only followed again
    std::optional<ProcessInfo> worker; // a local run's new worker process
};
// A run that ended without finishing (interrupted, failed, cancelled) starts its worker again from the last
// checkpoint, where it ran.
Result<Resumed> resume(Store &store, const Target &target, const RunDetail &run, const LaunchRequest &request = {});

// Stops a queued or running run wherever it runs: it saves a checkpoint and ends as cancelled. Says what was done.
Result<std::string> cancel(Store &store, const Target &target, const RunSummary &run);

// Deletes a run that has ended: its records in the store and its folder (when the folder is the store's own).
Status remove(Store &store, const RunSummary &run);

} // namespace lbk::usecase
