#pragma once
// Runs on this machine: creating a run's folder, starting its worker process, following its journal into the
// store, and noticing runs whose worker died without a final event (they become `interrupted`).
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "launch/process.h"
#include "store/store.h"
#include "util/result.h"

namespace lbk {

struct LaunchRequest {
    std::string dataRoot;              // passed to the worker as --data-root when set
    std::filesystem::path cacheDir;    // tokenizer cache; empty: the worker's default
    bool lrFind = false;
    std::string name;                  // empty: the experiment's name
    std::vector<std::string> tags;     // added to the experiment's tags
    std::string experimentFile;        // where the experiment came from, kept in the run's notes of origin
    std::string uid;                   // the run's uid, chosen beforehand (a sweep's trial); empty: a new one
    bool scriptTarget = false;         // a target's own script trains it (`worker`): see createLocalRun
};

// Creates the run (queued) in the store, its folder (mode 0700) under the store's runs root, and the folder's
// experiment.json holding the resolved config. The run's recorded config is that resolved config, or, for a
// request.scriptTarget, what the file gave (experiment.given): Labbook's defaults (a bag model, its learning
// rate) say nothing of what a script trains, and compare listed them as differences (found by an audit); the
// script's own config is merged in when it starts (store/ingest.cpp).
Result<RunDetail> createLocalRun(Store &store, const Experiment &experiment, const LaunchRequest &request);
// The part of it every run created here shares: the store's row (queued) and its folder (mode 0700), whose path
// is recorded as the run's folder. A folder that cannot be made leaves the run failed, with the reason.
Result<RunDetail> createRunWithFolder(Store &store, const NewRun &run);

// Starts `lbk worker` for the run in its own session and records host, PID and start time.
Result<ProcessInfo> startLocalWorker(Store &store, const RunSummary &run, const LaunchRequest &request, bool resume);

// For `lbk resume`: a run that is interrupted, failed or cancelled goes back to queued and its worker starts
// again from the last checkpoint.
Result<ProcessInfo> resumeLocalRun(Store &store, const RunDetail &run, const LaunchRequest &request);

// Ingests new journal lines of every queued or running local run, and marks a run `interrupted` when its
// worker is gone and its journal has no final event. Cheap when nothing changed: call it whenever the store
// is opened for reading.
struct SyncResult {
    int64_t events = 0;
    int interrupted = 0;
    std::vector<std::string> warnings;
};
SyncResult syncActiveRuns(Store &store);
// One run; onEvent (optional) sees every newly stored event. shown (optional, with onEvent): the journal offset
// onEvent has seen up to, -1 at first (then the store's cursor before this ingest); it is kept by the caller because
// another process (`lbk runs`, the GUI) may ingest the same journal in between, and what it stored is news to
// onEvent too (a piped `lbk run` skipped an evaluation that `lbk runs` had stored meanwhile).
Result<IngestStats> syncRun(Store &store, const RunSummary &run,
                            const std::function<void(const nlohmann::json &)> &onEvent = {}, int64_t *shown = nullptr);

std::filesystem::path journalPath(const RunSummary &run);

// Whether Labbook's worker trains the run, and so keeps checkpoints `lbk resume` continues from: its run_started
// says so (RunSummary::byWorker); before it started, its folder holding experiment.json (a run `lbk record` created
// for a script started by hand has none; a target whose `worker` is a script of its own is told by its run_started).
bool trainedByLabbook(const RunSummary &run);

// What comes of a stop the run is asked for, as the messages say it: "it saves a checkpoint and ends as
// cancelled" for a training run of Labbook's worker, less for an LR range test or a script of its own.
std::string whatAStopDoes(const RunSummary &run);
// Whether `lbk resume` of the run goes on from a checkpoint (its last.pt; a remote run's is on its target, taken to
// be there), rather than from step 0.
bool resumesFromCheckpoint(const RunSummary &run);
// How to go on with a run that ended early, as the messages say it: `lbk resume N` from its last checkpoint (or
// from step 0 when it saved none yet), the LR range test again, or the script started again.
std::string howToGoOn(const RunSummary &run);
// What `lbk resume` of the run does, as the messages say it after "`lbk resume N` ": "continues from the last
// checkpoint", "starts it again from step 0 (...)", or, for a target's script, starts that again.
std::string whatAResumeDoes(const RunSummary &run);

// Whether the run pre-trains an encoder (training.objective "mlm"; its task says so).
bool isPretraining(const RunSummary &run);
// Why a run cannot be resumed whatever its folder holds, and what to do instead: an LR range test (run another),
// a finished run (start a new one; from a finished pre-training run, with model.init_from); nothing otherwise.
std::optional<std::string> whyNotResumable(const RunSummary &run);

// The last lines of the run's worker.log, for error messages.
std::string workerLogTail(const RunSummary &run, size_t maxLines = 5);

// Why a run is interrupted whose worker ended without a final event, in one wording wherever that is found (a
// local follow, a sync of local runs, a remote follow): who ended ("the worker process 123 on host"), what is kept,
// how to go on (howToGoOn, or a remote run's resumeWords), and worker.log's last lines when there are any.
std::string endedUnreportedReason(const std::string &whoEnded, int64_t lastStep, const std::string &howToGoOn,
                                  const std::string &logTail);

} // namespace lbk
