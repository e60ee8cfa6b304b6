#pragma once
// Runs a sweep: its trials go through the launch use cases as any run does (this machine, an ssh host, a Slurm
// cluster), `parallel` at a time; their metrics are followed in the store, and the early-stopping rule
// (sweep/pruner.h) cancels the bad ones, which end as pruned with the rule's numbers. Every decision is in the
// store before it takes effect, so a scheduler that is killed loses nothing: resuming follows the trials still
// running, resumes those whose run was interrupted, and launches only those never launched (a trial's run uid is
// chosen before its run is created, so no trial runs twice).
#include <atomic>
#include <functional>
#include <set>
#include <string>

#include "launch/targets.h"
#include "store/store.h"
#include "sweep/pruner.h"
#include "sweep/sweepspec.h"
#include "util/result.h"

namespace lbk {

// A sweep with "optimizer.lr": {"around_lr_finder": F} made concrete: the LR range test of the base experiment,
// a finished one with the same config reused, else launched on the sweep's target and waited for; its suggestion
// s turns the key into log_uniform [s / F, s * F]. Other sweeps come back as they are.
// One of this config still running (a sweep stopped while it ran) is waited for, not run twice; `interrupts` set
// stops the waiting (an error saying so), the test going on.
Result<SweepSpec> resolveLrFinder(Store &store, const TargetsFile &targets, const SweepSpec &spec,
                                  const std::string &dataRoot, const std::function<void(const std::string &)> &say,
                                  const std::atomic<int> *interrupts = nullptr);

// Records a new sweep: its spec (the base experiment inline) and every trial it draws, each trial's experiment
// checked first, so a bad combination is an error before anything runs.
Result<SweepRecord> createSweep(Store &store, const SweepSpec &spec);
// The spec a sweep was recorded with.
Result<SweepSpec> sweepSpecOf(const SweepRecord &sweep);

struct SweepOptions {
    std::string dataRoot;
    double pollSeconds = 0.25;
    const std::atomic<int> *interrupts = nullptr; // set: stop following (the trials keep running)
    std::function<void()> afterStep;              // called after every round (a live view redraws)
};

class SweepScheduler {
public:
    using Say = std::function<void(const std::string &)>;
    SweepScheduler(Store &store, const TargetsFile &targets, const SweepRecord &sweep, SweepOptions options, Say say);

    // Follows the sweep until every trial has ended (finished, or cancelled when the sweep was), or until
    // options.interrupts is set (then it is left for `lbk sweep resume`, its trials running). Claims the sweep
    // first: another live scheduler of it is an error.
    Result<SweepStatus> run();
    // One round: the trials' runs synced, ended trials recorded, bad ones stopped, free slots filled. Whether any
    // trial is still open.
    Result<bool> step();

private:
    Status launchTrial(TrialRecord &trial);
    Status recoverLaunch(TrialRecord &trial, bool cancelled);
    // Cancels the run once per scheduler (a cancel asked again each poll would signal a saving worker again).
    void cancelOnce(const RunSummary &run);
    void recordEnd(TrialRecord &trial, const RunSummary &run);
    void stopIfNoTrialCanRecord(const TrialRecord &trial, const RunSummary &run);
    // Resumes the trial's interrupted run from its last checkpoint, once per scheduler.
    void resumeInterrupted(TrialRecord &trial);
    void prune(std::vector<TrialRecord> &trials);
    std::string everyTrialFailed() const;

    Store &m_store;
    const TargetsFile &m_targets;
    SweepRecord m_sweep;
    SweepSpec m_spec;
    SweepOptions m_o;
    Say m_say;
    std::vector<int64_t> m_children; // local workers this process started, to reap
    std::set<int64_t> m_cancelled;   // runs this scheduler asked to stop
    std::set<int> m_resumed;         // trials this scheduler resumed after an interruption
    std::string m_failure;           // why the sweep stops early (its metric is one no trial records)
};

// Stops a sweep: it is marked cancelled, its pending trials never start, the runs of its running ones are
// cancelled. Says what was done.
Result<std::string> cancelSweep(Store &store, const TargetsFile &targets, const SweepRecord &sweep);
// `lbk sweep resume` of a cancelled sweep: its cancelled trials open again (never started: pending; a run that
// was cancelled: resumed from its checkpoint), pruned and ended ones stay. Returns how many trials are open now;
// when some are, the sweep is marked interrupted, so a scheduler can follow it.
int reopenCancelledSweep(Store &store, const SweepRecord &sweep);

// The trial's progress as the rule counts it: one point per value of the sweep's metric.
std::vector<TrialPoint> trialPoints(const Store &store, const SweepSpec &spec, int64_t run);

} // namespace lbk
