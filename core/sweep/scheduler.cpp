#include "sweep/scheduler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "experiment/schema.h"
#include "launch/local.h"
#include "launch/process.h"
#include "launch/remote.h"
#include "sweep/groups.h"
#include "sweep/searchspace.h"
#include "usecases/runactions.h"
#include "util/confighash.h"
#include "util/text.h"

namespace lbk {

using nlohmann::json;

namespace {

// The sweep's JSON as stored: the base experiment inline, so the sweep never depends on the file again, and an
// around_lr_finder range as the log-uniform range it became.
json storedSpec(const SweepSpec &spec)
{
    json j = spec.source;
    j["experiment"] = spec.base;
    j["name"] = spec.name;
    if (!spec.baseFile.empty())
        j["experiment_file"] = spec.baseFile;
    for (const auto &p : spec.parameters)
        if (p.kind == ParamKind::LogUniform && j["parameters"][p.key].contains("around_lr_finder"))
            j["parameters"][p.key] = {{"log_uniform", {p.low, p.high}}};
    return j;
}

std::optional<double> suggestionOf(const RunSummary &run)
{
    const json s = run.summary.value("lr_suggestion", json());
    if (s.is_object() && s.contains("lr") && s["lr"].is_number() && s["lr"].get<double>() > 0)
        return s["lr"].get<double>();
    return std::nullopt;
}

// Why a finished range test suggested no rate ("" when it did, or did not say).
std::string noSuggestionReason(const RunSummary &run)
{
    const json s = run.summary.value("lr_suggestion", json());
    return s.is_object() && s.value("reason", json()).is_string() ? s["reason"].get<std::string>() : "";
}

Error suggestedNothing(const RunSummary &run)
{
    const std::string reason = noSuggestionReason(run);
    return Error{"the LR range test (run " + std::to_string(run.id) + ") suggested no rate" +
                 (reason.empty() ? "" : ": " + reason) +
                 "; give optimizer.lr a log_uniform range instead, change the range test's bounds (lr_finder), or "
                 "`lbk delete " + std::to_string(run.id) + "` to run it again (on data that changed)"};
}

// The sweep with its around_lr_finder range made concrete, said so the user sees which rates it will draw.
SweepSpec resolvedAround(const SweepSpec &spec, double suggestion, const std::function<void(const std::string &)> &say)
{
    SweepSpec resolved = withLrSuggestion(spec, suggestion);
    for (const auto &p : resolved.parameters)
        if (p.key == "optimizer.lr" && p.kind == ParamKind::LogUniform)
            say("optimizer.lr is drawn log-uniform from " + significant(p.low) + " to " + significant(p.high));
    return resolved;
}

// Waits for a run to end, syncing it (and reaping its worker, when this process launched it) meanwhile; stops
// waiting when `interrupts` is set (the run goes on).
RunDetail waitForRun(Store &store, const TargetsFile &targets, const RunDetail &run, int64_t worker,
                     const std::atomic<int> *interrupts)
{
    RunDetail now = run;
    while (isActive(now.status) && !(interrupts && interrupts->load() > 0)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        int code = 0;
        if (worker > 0 && reapChild(worker, &code))
            worker = 0;
        (void)syncActiveRuns(store);
        if (now.remote())
            (void)syncRemoteRuns(store, targets);
        if (auto fresh = store.runById(run.id))
            now = std::move(*fresh);
    }
    return now;
}

} // namespace

Result<SweepSpec> sweepSpecOf(const SweepRecord &sweep)
{
    json j = sweep.spec;
    const std::string file = j.value("experiment_file", std::string());
    j.erase("experiment_file");
    auto spec = sweepFromJson(j, ".");
    if (!spec)
        return Error{"sweep " + std::to_string(sweep.id) + ": its recorded spec no longer reads: " + spec.message()};
    spec->baseFile = file;
    return spec;
}

// The range tests of this config, newest first: one that differs only in keys a test never reads counts.
std::vector<RunDetail> rangeTests(Store &store, const std::string &hash)
{
    RunFilter filter;
    filter.kind = "lr_find";
    std::vector<RunDetail> tests;
    for (const auto &run : store.runs(filter))
        if (auto detail = store.runById(run.id); detail && rangeTestHash(detail->config) == hash)
            tests.push_back(std::move(*detail));
    return tests;
}

// The range test's end: its suggestion makes the sweep's range; stopped waiting for, it goes on (said how to come
// back to it).
Result<SweepSpec> afterRangeTest(const SweepSpec &spec, const RunDetail &done,
                                 const std::function<void(const std::string &)> &say)
{
    const std::string id = std::to_string(done.id);
    if (isActive(done.status))
        return Error{"stopped waiting for the LR range test (run " + id + "), which goes on; no sweep was made. "
                     "The same `lbk sweep` again waits for it and then starts the sweep; `lbk cancel " + id +
                     "` stops it"};
    const auto lr = suggestionOf(done);
    if (done.status != RunStatus::Finished)
        return Error{"the LR range test (run " + id + ") ended " + toString(done.status) +
                     (done.error.empty() ? "" : ": " + done.error) + "; give optimizer.lr a log_uniform range instead"};
    if (!lr)
        return suggestedNothing(done);
    say("the LR range test suggests " + significant(*lr));
    return resolvedAround(spec, *lr, say);
}

Result<SweepSpec> resolveLrFinder(Store &store, const TargetsFile &targets, const SweepSpec &spec,
                                  const std::string &dataRoot, const std::function<void(const std::string &)> &say,
                                  const std::atomic<int> *interrupts)
{
    if (!needsLrFinder(spec))
        return spec;
    auto base = experimentFromJson(spec.base);
    if (!base)
        return base.error();
    const auto tests = rangeTests(store, rangeTestHash(base->config));
    std::optional<RunSummary> fruitless; // a finished test of this config that suggested nothing is not rerun
    for (const auto &run : tests) {
        if (run.status != RunStatus::Finished)
            continue;
        if (const auto lr = suggestionOf(run)) {
            say("around the LR range test of run " + std::to_string(run.id) + ": its suggestion " +
                significant(*lr, 3));
            return resolvedAround(spec, *lr, say);
        }
        fruitless = run;
    }
    if (fruitless)
        return suggestedNothing(*fruitless);
    // One still running (a sweep stopped while it ran) is waited for, never run twice.
    const auto running = std::find_if(tests.begin(), tests.end(), [](const RunDetail &r) { return isActive(r.status); });
    if (running != tests.end()) {
        say("the LR range test of the base experiment is running already (run " + std::to_string(running->id) +
            "): waiting for it");
        return afterRangeTest(spec, waitForRun(store, targets, *running, 0, interrupts), say);
    }
    auto target = usecase::findTarget(targets, spec.target);
    if (!target)
        return target.error();
    LaunchRequest req;
    req.dataRoot = dataRoot;
    req.lrFind = true;
    req.experimentFile = spec.baseFile;
    auto launched = usecase::launch(store, *target, *base, req);
    if (!launched)
        return launched.error();
    say("the LR range test of the base experiment runs first: run " + std::to_string(launched->run.id));
    const int64_t worker = launched->worker ? launched->worker->pid : 0;
    return afterRangeTest(spec, waitForRun(store, targets, launched->run, worker, interrupts), say);
}

Result<SweepRecord> createSweep(Store &store, const SweepSpec &spec)
{
    if (needsLrFinder(spec))
        return badInput("parameters.optimizer.lr: around_lr_finder needs the LR range test's suggestion first "
                        "(resolveLrFinder)");
    if (auto checked = checkTrials(spec); !checked)
        return checked.error();
    return store.createSweep(spec.name, storedSpec(spec), sweepTrials(spec));
}

std::vector<TrialPoint> trialPoints(const Store &store, const SweepSpec &spec, int64_t run)
{
    std::vector<TrialPoint> points;
    int evaluations = 0;
    for (const auto &p : store.metric(run, spec.metric)) {
        ++evaluations;
        if (!std::isfinite(p.value))
            continue; // a diverged evaluation ranks nowhere; the run's own failure ends the trial
        const double resource =
            spec.earlyStopping.resource == ResourceUnit::Steps ? double(p.step) : double(evaluations);
        points.push_back({resource, p.value, p.wall});
    }
    return points;
}

SweepScheduler::SweepScheduler(Store &store, const TargetsFile &targets, const SweepRecord &sweep, SweepOptions options,
                               Say say)
    : m_store(store), m_targets(targets), m_sweep(sweep), m_o(std::move(options)), m_say(std::move(say))
{
    if (!m_say)
        m_say = [](const std::string &) {};
}

Result<SweepStatus> SweepScheduler::run()
{
    auto spec = sweepSpecOf(m_sweep);
    if (!spec)
        return spec.error();
    m_spec = std::move(*spec);
    const int64_t pid = ::getpid();
    auto claimed = m_store.claimSweep(m_sweep.id, localHostName(), pid, processStartTime(pid), processAlive);
    if (!claimed)
        return claimed.error();
    if (!*claimed) {
        const std::string id = std::to_string(m_sweep.id);
        return badInput("sweep " + id + " is followed by another process (pid " +
                        std::to_string(m_store.sweep(id)->pid) + "), which launches its trials: `lbk sweep show " + id +
                        "` shows how far it is, `lbk sweep cancel " + id + "` stops it");
    }
    if (m_sweep.status == SweepStatus::Interrupted || m_sweep.status == SweepStatus::Failed)
        (void)m_store.setSweepStatus(m_sweep.id, SweepStatus::Running);
    while (true) {
        auto open = step();
        if (!open) {
            (void)m_store.setSweepStatus(m_sweep.id, SweepStatus::Failed, open.message());
            (void)m_store.claimSweep(m_sweep.id, "", 0, 0, processAlive);
            return open.error();
        }
        if (m_o.afterStep)
            m_o.afterStep();
        if (!*open)
            break;
        if (m_o.interrupts && m_o.interrupts->load() > 0) {
            auto now = m_store.sweep(std::to_string(m_sweep.id));
            if (now && now->status == SweepStatus::Running) // a cancel that came meanwhile stays a cancel
                (void)m_store.setSweepStatus(m_sweep.id, SweepStatus::Interrupted,
                                             "its scheduler was stopped; `lbk sweep resume " +
                                                 std::to_string(m_sweep.id) + "` follows it again");
            (void)m_store.claimSweep(m_sweep.id, "", 0, 0, processAlive);
            return SweepStatus::Interrupted;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(int(m_o.pollSeconds * 1000)));
    }
    if (m_failure.empty())
        m_failure = everyTrialFailed();
    auto now = m_store.sweep(std::to_string(m_sweep.id));
    const SweepStatus end = !m_failure.empty()                                     ? SweepStatus::Failed
                            : now && now->status == SweepStatus::Cancelled ? SweepStatus::Cancelled
                                                                           : SweepStatus::Finished;
    (void)m_store.setSweepStatus(m_sweep.id, end, m_failure);
    (void)m_store.claimSweep(m_sweep.id, "", 0, 0, processAlive);
    if (!m_failure.empty())
        return badInput(m_failure);
    return end;
}

// "" unless every trial failed (none finished, none was cancelled): then the sweep failed too, and says why.
std::string SweepScheduler::everyTrialFailed() const
{
    const auto trials = m_store.trials(m_sweep.id);
    if (trials.empty() ||
        !std::all_of(trials.begin(), trials.end(), [](const TrialRecord &t) { return t.state == TrialState::Failed; }))
        return {};
    const TrialRecord &first = trials.front();
    std::string why = first.reason;
    if (why.empty() && first.run > 0)
        if (auto run = m_store.runById(first.run))
            why = "run " + std::to_string(first.run) + (run->error.empty() ? "" : ": " + run->error);
    return "every one of the " + std::to_string(trials.size()) + " trials failed; trial " + std::to_string(first.trial) +
           ": " + (why.empty() ? "no reason recorded" : why);
}

Result<bool> SweepScheduler::step()
{
    for (auto it = m_children.begin(); it != m_children.end();) {
        int code = 0;
        it = reapChild(*it, &code) ? m_children.erase(it) : it + 1;
    }
    (void)syncActiveRuns(m_store);
    if (isRemoteTarget(m_spec.target))
        (void)syncRemoteRuns(m_store, m_targets);
    auto now = m_store.sweep(std::to_string(m_sweep.id));
    if (!now)
        return now.error();
    bool cancelled = now->status == SweepStatus::Cancelled;
    auto trials = m_store.trials(m_sweep.id);
    for (auto &t : trials) {
        if (t.state == TrialState::Launching) // the last scheduler stopped between choosing the uid and launching
            if (auto recovered = recoverLaunch(t, cancelled); !recovered)
                return recovered.error();
        if ((t.state == TrialState::Running || t.state == TrialState::Pruning) && t.run <= 0) {
            t.state = TrialState::Failed; // its run was deleted (the store's foreign key cleared it)
            t.reason = "its run was deleted";
            (void)m_store.updateTrial(t);
            continue;
        }
        if ((t.state == TrialState::Running || t.state == TrialState::Pruning) && t.run > 0) {
            auto run = m_store.runById(t.run);
            if (run && !isActive(run->status))
                recordEnd(t, *run);
            else if (run && (cancelled || t.state == TrialState::Pruning))
                cancelOnce(*run); // a cancel that did not land (or came before this scheduler) is asked again
        }
        if (t.state == TrialState::Interrupted && !cancelled)
            resumeInterrupted(t);
        if (cancelled && t.state == TrialState::Pending) {
            t.state = TrialState::Cancelled;
            t.reason = "the sweep was cancelled before it started";
            (void)m_store.updateTrial(t);
        }
    }
    cancelled = cancelled || !m_failure.empty(); // stopped in this round: launch nothing more
    if (!cancelled)
        prune(trials);
    int running = int(std::count_if(trials.begin(), trials.end(), [](const TrialRecord &t) {
        return t.state == TrialState::Running || t.state == TrialState::Pruning || t.state == TrialState::Launching;
    }));
    for (auto &t : trials) {
        if (cancelled || running >= m_spec.parallel)
            break;
        if (t.state != TrialState::Pending)
            continue;
        auto claimed = m_store.claimTrial(m_sweep.id, t.trial, m_sweep.uid + "-t" + std::to_string(t.trial));
        if (!claimed)
            return claimed.error();
        if (!*claimed)
            continue;
        t.runUid = m_sweep.uid + "-t" + std::to_string(t.trial);
        t.state = TrialState::Launching;
        if (auto launched = launchTrial(t); !launched)
            return launched.error();
        running += t.state == TrialState::Running;
    }
    return std::any_of(trials.begin(), trials.end(), [](const TrialRecord &t) { return isOpen(t.state); });
}

// A trial left launching by a scheduler that stopped: its run, if it was created, is followed (or, never started
// by a worker or a job, failed); without one it is launched now, or cancelled with the sweep.
Status SweepScheduler::recoverLaunch(TrialRecord &t, bool cancelled)
{
    auto run = m_store.run(t.runUid);
    if (run && run->uid == t.runUid) {
        t.run = run->id;
        t.state = TrialState::Running;
        if (run->status == RunStatus::Queued && run->pid == 0 && run->jobId.empty())
            (void)m_store.setStatus(run->id, RunStatus::Failed,
                                    "its launch was interrupted (the sweep's scheduler stopped before it started)");
        return m_store.updateTrial(t);
    }
    if (cancelled) {
        t.state = TrialState::Cancelled;
        t.reason = "the sweep was cancelled before it started";
        return m_store.updateTrial(t);
    }
    return launchTrial(t);
}

void SweepScheduler::cancelOnce(const RunSummary &run)
{
    if (!m_cancelled.insert(run.id).second)
        return;
    if (auto target = usecase::findTarget(m_targets, run.target))
        (void)usecase::cancel(m_store, *target, run);
}

// The trial's experiment launched on the sweep's target under the uid chosen for it. A launch that fails (bad
// input, an unreachable host) fails the trial, not the sweep.
Status SweepScheduler::launchTrial(TrialRecord &t)
{
    auto fail = [&](const std::string &why) {
        t.state = TrialState::Failed;
        t.reason = why;
        m_say("trial " + std::to_string(t.trial) + " failed to start: " + why);
        return m_store.updateTrial(t);
    };
    auto config = trialExperiment(m_spec, t.params, t.trial);
    if (!config)
        return fail(config.message());
    if (!isRemoteTarget(m_spec.target) && m_spec.parallel > 1 && valueAt(m_spec.base, "training.threads").is_null() &&
        !t.params.contains("training.threads")) {
        // Trials running side by side share the cores instead of each taking them all.
        const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
        setValueAt(*config, "training.threads", std::max(1, cores / m_spec.parallel));
    }
    auto exp = experimentFromJson(*config);
    if (!exp)
        return fail(exp.message());
    auto target = usecase::findTarget(m_targets, m_spec.target);
    if (!target)
        return fail(target.message());
    LaunchRequest req;
    req.dataRoot = m_o.dataRoot;
    req.name = trialName(m_sweep.name, t.trial);
    req.tags = {kSweepTagPrefix + m_sweep.name};
    if (const std::string group = groupTag(m_spec, m_sweep.id, t.params); !group.empty())
        req.tags.push_back(group);
    req.uid = t.runUid;
    req.experimentFile = m_spec.baseFile;
    auto launched = usecase::launch(m_store, *target, *exp, req);
    if (!launched) {
        if (auto run = m_store.run(t.runUid); run && run->uid == t.runUid) // created, then failed to start
            t.run = run->id;
        return fail(launched.message());
    }
    if (launched->worker)
        m_children.push_back(launched->worker->pid);
    t.run = launched->run.id;
    t.state = TrialState::Running;
    m_say("trial " + std::to_string(t.trial) + " started as run " + std::to_string(t.run) + ": " + t.params.dump());
    return m_store.updateTrial(t);
}

// A trial whose run was interrupted (its worker killed, its machine restarted, its Slurm job out of time) goes on
// from its last checkpoint, once per scheduler, so a run that dies at every start cannot keep the sweep busy.
void SweepScheduler::resumeInterrupted(TrialRecord &t)
{
    if (t.run <= 0)
        return;
    auto run = m_store.runById(t.run);
    if (run && isActive(run->status)) { // resumed by hand (`lbk resume`, the GUI): followed again
        t.state = TrialState::Running;
        t.reason.clear();
        (void)m_store.updateTrial(t);
        return;
    }
    // Interrupted, or cancelled with the sweep and reopened by `lbk sweep resume` (reopenCancelledSweep).
    const bool resumable = run && (run->status == RunStatus::Interrupted || run->status == RunStatus::Cancelled);
    if (!resumable || !m_resumed.insert(t.trial).second)
        return;
    auto target = usecase::findTarget(m_targets, run->target);
    LaunchRequest req;
    req.dataRoot = m_o.dataRoot; // as the trial was launched
    auto resumed = target ? usecase::resume(m_store, *target, *run, req) : Result<usecase::Resumed>(target.error());
    if (!resumed) {
        m_say("trial " + std::to_string(t.trial) + " stays interrupted: " + resumed.message());
        return;
    }
    if (resumed->worker)
        m_children.push_back(resumed->worker->pid);
    t.state = TrialState::Running;
    t.reason.clear();
    (void)m_store.updateTrial(t);
    m_say("trial " + std::to_string(t.trial) + " was " + toString(run->status) + "; resuming run " +
          std::to_string(t.run) + " " + whatAResumeDoes(*run));
}

// A finished trial whose run never recorded the sweep's metric key at all, while no trial has a value of it,
// means every trial will lack it (a typo such as "val/acuracy"): nothing could be ranked or pruned, so the sweep
// stops at once, cancelling the rest, and says what the run records. A key recorded only as NaN (a diverged
// trial), or a sweep where other trials have values, is left to rank what it can.
void SweepScheduler::stopIfNoTrialCanRecord(const TrialRecord &t, const RunSummary &run)
{
    const auto keys = m_store.metricKeys(run.id);
    if (std::find(keys.begin(), keys.end(), m_spec.metric) != keys.end())
        return;
    const auto all = m_store.trials(m_sweep.id);
    if (std::any_of(all.begin(), all.end(), [](const TrialRecord &o) { return o.value.has_value(); }))
        return;
    std::string recorded;
    for (const auto &key : keys)
        recorded += (recorded.empty() ? "" : ", ") + key;
    m_failure = "metric " + m_spec.metric + ": trial " + std::to_string(t.trial) + " finished without recording it, so "
                "no trial can be ranked; its run records " + (recorded.empty() ? std::string("no metric") : recorded) +
                ". Fix \"metric\" in the sweep file and start it again";
    // The next step cancels the rest; run() then marks the sweep failed and returns the message (said once).
    (void)m_store.setSweepStatus(m_sweep.id, SweepStatus::Cancelled, m_failure);
}

void SweepScheduler::recordEnd(TrialRecord &t, const RunSummary &run)
{
    const auto points = trialPoints(m_store, m_spec, run.id);
    for (const auto &p : points)
        if (!t.value || (m_spec.maximize ? p.value > *t.value : p.value < *t.value))
            t.value = p.value;
    // A trial being pruned whose worker died instead of saving is pruned all the same; it is not resumed.
    const bool wasPruning = t.state == TrialState::Pruning;
    const bool pruned = wasPruning && (run.status == RunStatus::Cancelled || run.status == RunStatus::Interrupted);
    switch (pruned ? RunStatus::Cancelled : run.status) {
    case RunStatus::Finished: t.state = TrialState::Finished; break;
    case RunStatus::Cancelled: t.state = pruned ? TrialState::Pruned : TrialState::Cancelled; break;
    case RunStatus::Failed: t.state = TrialState::Failed; break;
    default: t.state = TrialState::Interrupted; break;
    }
    if (!pruned)
        t.reason = run.error; // a pruning whose cancel came too late: the run's own ending, not the rule's
    (void)m_store.updateTrial(t);
    if (pruned) {
        (void)m_store.setStatus(run.id, RunStatus::Cancelled, "pruned by the sweep (" + t.reason + ")");
        auto tags = run.tags;
        if (std::find(tags.begin(), tags.end(), kPrunedTag) == tags.end())
            tags.push_back(kPrunedTag);
        (void)m_store.setTags(run.id, tags);
    }
    if (t.state == TrialState::Finished && !t.value && m_failure.empty())
        stopIfNoTrialCanRecord(t, run);
    const std::string value = t.value ? significant(*t.value) : std::string("no value");
    m_say("trial " + std::to_string(t.trial) + " " + toString(t.state) + " (" + m_spec.metric + " " + value + ")" +
          (pruned       ? ": " + t.reason
           : wasPruning ? std::string(", before the stop reached it: it counts as ") + toString(t.state)
                        : ""));
}

void SweepScheduler::prune(std::vector<TrialRecord> &trials)
{
    if (m_spec.earlyStopping.type == PrunerType::None)
        return;
    std::vector<TrialProgress> progress;
    for (const auto &t : trials)
        if (t.run > 0)
            progress.push_back({t.trial, trialPoints(m_store, m_spec, t.run)});
    for (auto &t : trials) {
        if (t.state != TrialState::Running)
            continue;
        const auto decision = decidePrune(m_spec.earlyStopping, m_spec.maximize, progress, t.trial);
        if (!decision)
            continue;
        auto run = m_store.runById(t.run);
        if (!run || !isActive(run->status))
            continue; // it has ended meanwhile: it ends as its run did, not pruned
        t.state = TrialState::Pruning; // recorded before the cancel, so a resumed scheduler knows why it ended
        t.reason = decision->rule + ": " + decision->reason;
        (void)m_store.updateTrial(t);
        cancelOnce(*run);
        m_say("trial " + std::to_string(t.trial) + " is stopped early: " + t.reason);
    }
}

Result<std::string> cancelSweep(Store &store, const TargetsFile &targets, const SweepRecord &sweep)
{
    if (sweep.status == SweepStatus::Finished || sweep.status == SweepStatus::Failed)
        return badInput("sweep " + std::to_string(sweep.id) + " has " + toString(sweep.status) +
                        "; there is nothing to cancel" + (sweep.error.empty() ? "" : " (" + sweep.error + ")"));
    if (auto st = store.setSweepStatus(sweep.id, SweepStatus::Cancelled, "cancelled"); !st)
        return st.error();
    int cancelled = 0, notStarted = 0;
    for (auto &t : store.trials(sweep.id)) {
        if (t.state == TrialState::Pending || (t.state == TrialState::Launching && t.run <= 0 && !store.run(t.runUid))) {
            t.state = TrialState::Cancelled;
            t.reason = "the sweep was cancelled before it started";
            (void)store.updateTrial(t);
            ++notStarted;
            continue;
        }
        if (t.run <= 0 || !isOpen(t.state))
            continue;
        auto run = store.runById(t.run);
        if (!run || !isActive(run->status))
            continue;
        auto target = usecase::findTarget(targets, run->target);
        if (target && usecase::cancel(store, *target, *run))
            ++cancelled;
    }
    return "sweep " + std::to_string(sweep.id) + " cancelled: " + counted(cancelled, "running trial") +
           " asked to stop, " + counted(notStarted, "trial") + " will not start";
}

int reopenCancelledSweep(Store &store, const SweepRecord &sweep)
{
    int reopened = 0;
    for (auto &t : store.trials(sweep.id)) {
        reopened += isOpen(t.state) || t.state == TrialState::Interrupted; // left open by the cancel: they go on too
        if (t.state != TrialState::Cancelled)
            continue;
        auto run = t.run > 0 ? store.runById(t.run) : Result<RunDetail>(Error{"no run"});
        if (t.run > 0 && !(run && (run->status == RunStatus::Cancelled || run->status == RunStatus::Interrupted)))
            continue; // its run finished or failed after all, or was deleted: the trial stays as it ended
        t.state = t.run > 0 ? TrialState::Interrupted : TrialState::Pending;
        t.reason.clear();
        (void)store.updateTrial(t);
        ++reopened;
    }
    if (reopened > 0)
        (void)store.setSweepStatus(sweep.id, SweepStatus::Interrupted, "resumed after a cancel");
    return reopened;
}

} // namespace lbk
