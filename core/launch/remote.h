#pragma once
// Runs on other machines: ssh hosts, Slurm clusters and command templates (targets.h). A remote run has a local
// run folder like any other; its journal.jsonl there is a byte-exact mirror of the remote journal's first bytes,
// so the one ingester (syncRun / ingestJournal) fills the store, and the mirror's size is the remote offset to
// continue from after a dropped connection or a restart of lbk or the GUI. docs/LAUNCH.md tells the whole story.
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "launch/local.h"
#include "launch/targets.h"
#include "store/store.h"
#include "util/result.h"

namespace lbk {

// What lbk keeps beside a remote run's local folder (remote.json): where it runs. No secrets, no key paths.
struct RemoteRunInfo {
    std::string target;
    std::string runDir;   // absolute run folder on the target
    std::string jobId;    // Slurm job id; for ssh and command targets the worker's PID
    std::string state;    // the last scheduler state seen (Slurm), e.g. PENDING
    std::string reason;   // the scheduler's reason for it
};
Result<RemoteRunInfo> readRemoteInfo(const RunSummary &run);
Status writeRemoteInfo(const RunSummary &run, const RemoteRunInfo &info);

// Creates the run in the store (its target recorded), stages its experiment and data on the target (data whose
// SHA-256 matches what is already there is not copied again), and starts the worker (sbatch on Slurm).
// onNotice (optional) hears each step in plain words.
Result<RunDetail> launchRemoteRun(Store &store, const Target &target, const Experiment &experiment,
                                  const LaunchRequest &request,
                                  const std::function<void(const std::string &)> &onNotice = {});
// Starts the worker again with --resume (an interrupted, failed or cancelled remote run).
Status resumeRemoteRun(Store &store, const Target &target, const RunDetail &run, const LaunchRequest &request);
// SIGTERM to the remote worker (it saves a checkpoint and ends as cancelled), or scancel.
Status cancelRemoteRun(const Target &target, const RunSummary &run);
// Cancel on any target, as `lbk cancel` does: a local worker gets SIGTERM (a local run no live worker runs is
// marked cancelled at once), a remote one cancelRemoteRun. target is the run's target (a Target named "local"
// for local runs). Returns what was done, in plain words.
Result<std::string> cancelRun(Store &store, const Target &target, const RunSummary &run);

struct RemoteState {
    bool alive = false;   // the worker process, or the Slurm job, still exists
    bool known = true;    // false: the scheduler has forgotten the job (the last state seen is kept)
    std::string state;    // Slurm: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ...; else RUNNING or ENDED
    std::string reason;   // the scheduler's reason (and exit code)
};
Result<RemoteState> queryRemoteState(const Target &target, const RemoteRunInfo &info);

// One catch-up: asks the target how the run is, copies the journal's new bytes into the mirror and ingests them;
// when the remote process is gone, settles the run's status from the journal and the scheduler. Skips fetching
// while another lbk process follows the run (it holds the run folder's lock).
Result<IngestStats> catchUpRemoteRun(Store &store, const Target &target, const RunSummary &run);
// catchUpRemoteRun for every queued or running remote run; targets missing from the file are reported. Each
// catch-up is a round trip or two to the target, so a pass can take seconds: call it off any UI thread. stop
// (optional) is checked between runs.
SyncResult syncRemoteRuns(Store &store, const TargetsFile &targets, const std::atomic<bool> *stop = nullptr);

// `lbk targets check NAME`: connects, and reports the remote host, the lbk version there (or the trainer), free
// disk in the work folder, devices and Slurm partitions, one plain-words line each. Takes up to a minute.
struct TargetCheck {
    std::string heading;  // "gpu-box: ssh ada@gpu1:22"
    std::vector<std::pair<std::string, std::string>> lines; // {"connect", "ok, host gpu1 (0.21 s)"}, {"lbk", ...}
    bool connected = false;
    bool ready = false;   // connected, and everything a run needs is there
    std::string text() const; // the whole report, as lbk prints it
};
TargetCheck checkTarget(const Target &target);

struct FollowOptions {
    std::function<void(const nlohmann::json &)> onEvent;  // each newly stored event
    std::function<void(const std::string &)> onNotice;    // reconnects, scheduler states, in plain words
    const std::atomic<int> *interrupts = nullptr;         // 1: cancel the run; 2: stop following
    bool interruptCancels = true; // false: the first interrupt stops following (lbk resume of a run still running)
    double maxOutageSeconds = 900;                        // give up reconnecting after this long
};
enum class FollowEnd { Ended, Detached, LostConnection };
// Streams the remote journal into the mirror and the store as it is written, until the run ends. A dropped
// connection is retried from the last byte mirrored; nothing is lost or stored twice.
Result<FollowEnd> followRemoteRun(Store &store, const Target &target, const RunSummary &run,
                                  const FollowOptions &options);

// Copies files the run reported (checkpoint and artifact events; everything with all) from the target into
// the local run folder. Returns the paths copied, relative to the run folder.
Result<std::vector<std::string>> pullArtifacts(Store &store, const Target &target, const RunSummary &run, bool all);

} // namespace lbk
