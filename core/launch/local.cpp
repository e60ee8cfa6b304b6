#include "launch/local.h"

#include <fstream>
#include <sys/stat.h>

#include "experiment/schema.h"
#include "store/runfiles.h"
#include "util/text.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path journalPath(const RunSummary &run)
{
    return fs::path(run.runDir) / runfiles::kJournal;
}

std::string workerLogTail(const RunSummary &run, size_t maxLines)
{
    std::ifstream in(fs::path(run.runDir) / "worker.log");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) {
            lines.push_back(l);
            if (lines.size() > maxLines)
                lines.erase(lines.begin());
        }
    std::string out;
    for (const auto &l : lines)
        out += (out.empty() ? "" : "\n") + l;
    return toValidUtf8(out); // loader and library messages may hold any bytes
}

Result<RunDetail> createLocalRun(Store &store, const Experiment &experiment, const LaunchRequest &request)
{
    NewRun nr;
    nr.uid = request.uid;
    nr.name = request.name.empty() ? experiment.name : request.name;
    nr.experiment = experiment.name;
    nr.kind = request.lrFind ? "lr_find" : "train";
    nr.task = experiment.training.objective == TrainingObjective::Mlm ? toString(TrainingObjective::Mlm)
                                                                     : toString(experiment.labels.kind);
    nr.config = request.scriptTarget && experiment.given.is_object() ? experiment.given : experiment.config;
    nr.configHash = configHash(nr.config);
    nr.target = kLocalTarget;
    nr.tags = experiment.config.value("tags", std::vector<std::string>{});
    for (const auto &t : request.tags)
        if (std::find(nr.tags.begin(), nr.tags.end(), t) == nr.tags.end())
            nr.tags.push_back(t);
    auto run = createRunWithFolder(store, nr);
    if (!run)
        return run;
    const fs::path dir = run->runDir;
    std::ofstream out(dir / runfiles::kExperiment);
    out << experiment.config.dump(2) << '\n';
    if (!out) {
        const std::string why = (dir / runfiles::kExperiment).string() + ": cannot write the run's experiment";
        (void)store.setStatus(run->id, RunStatus::Failed, why);
        return Error{why};
    }
    return run;
}

Result<RunDetail> createRunWithFolder(Store &store, const NewRun &newRun)
{
    auto run = store.createRun(newRun);
    if (!run)
        return run.error();
    const fs::path dir = store.runsRoot() / run->uid;
    // A run that cannot be set up is recorded as failed with the reason, never left queued with no worker.
    auto failed = [&](const std::string &why) -> Result<RunDetail> {
        (void)store.setStatus(run->id, RunStatus::Failed, why);
        return Error{why};
    };
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return failed(dir.string() + ": cannot create the run folder: " + ec.message());
    ::chmod(store.runsRoot().c_str(), 0700);
    ::chmod(dir.c_str(), 0700);
    if (auto st = store.setRunDir(run->id, dir.string()); !st)
        return failed(st.message());
    run->runDir = dir.string();
    return run;
}

Result<ProcessInfo> startLocalWorker(Store &store, const RunSummary &run, const LaunchRequest &request, bool resume)
{
    std::vector<std::string> args = {"worker", "--run-dir", run.runDir, "--run", run.uid};
    if (!request.dataRoot.empty())
        args.insert(args.end(), {"--data-root", request.dataRoot});
    if (!request.cacheDir.empty())
        args.insert(args.end(), {"--cache-dir", request.cacheDir.string()});
    if (request.lrFind || run.lrFind())
        args.push_back("--lr-find");
    if (resume)
        args.push_back("--resume");
    auto proc = spawnDetached(lbkExecutable(), args, fs::path(run.runDir) / "worker.log", StopSignals::Held);
    if (!proc)
        return proc.error();
    if (auto st = store.setProcess(run.id, localHostName(), proc->pid, proc->startTime); !st)
        return st.error();
    return proc;
}

Result<ProcessInfo> resumeLocalRun(Store &store, const RunDetail &run, const LaunchRequest &request)
{
    if (run.status == RunStatus::Running || run.status == RunStatus::Queued)
        return Error{"run " + std::to_string(run.id) + " is " + toString(run.status) + "; only an interrupted, failed "
                     "or cancelled run can be resumed"};
    if (const auto ended = whyNotResumable(run))
        return Error{*ended};
    if (std::error_code ec; run.runDir.empty() || !fs::exists(run.runDir, ec)) // an unreadable parent: gone too
        return Error{"run " + std::to_string(run.id) + ": its folder " + run.runDir +
                     " is gone, so there is nothing to resume from"};
    if (!trainedByLabbook(run))
        return Error{"run " + std::to_string(run.id) + " was recorded by a script Labbook did not start (its folder " +
                     run.runDir + " holds no experiment.json); start that script again to train more"};
    // Claimed atomically: of two resumes at once (a click in the GUI and `lbk resume`), one starts a worker.
    auto claimed = store.claimForResume(run.id);
    if (!claimed)
        return claimed.error();
    if (!*claimed)
        return Error{"run " + std::to_string(run.id) + " is being resumed already"};
    auto proc = startLocalWorker(store, run, request, /*resume=*/true);
    if (!proc)
        (void)store.setStatus(run.id, RunStatus::Failed, proc.message());
    return proc;
}

bool trainedByLabbook(const RunSummary &run)
{
    if (const auto worker = run.byWorker())
        return *worker;
    std::error_code ec; // not started yet: what launched it
    return !run.runDir.empty() && fs::exists(fs::path(run.runDir) / runfiles::kExperiment, ec);
}

std::string whatAStopDoes(const RunSummary &run)
{
    if (run.lrFind())
        return "the LR range test ends as cancelled";
    if (run.status == RunStatus::Queued && run.lastStep == 0) // found by an audit: a pending job "saves a checkpoint"
        return "it has not begun training, so it ends as cancelled with nothing to save";
    if (!trainedByLabbook(run))
        return "the script gets SIGTERM and ends as cancelled (the labbook library records it)";
    return "it saves a checkpoint and ends as cancelled";
}

bool isPretraining(const RunSummary &run)
{
    return run.task == toString(TrainingObjective::Mlm);
}

std::optional<std::string> whyNotResumable(const RunSummary &run)
{
    const std::string id = std::to_string(run.id);
    if (run.lrFind())
        return "run " + id + " is an LR range test; start a new one with `lbk lr-find`";
    if (run.status != RunStatus::Finished)
        return std::nullopt;
    return "run " + id + " has finished; start a new run with `lbk run` instead" +
           (isPretraining(run) ? " (to pre-train further from it, an mlm experiment with model.init_from \"run:" + id +
                                     "\": docs/PRETRAINING.md)"
                               : std::string());
}

std::string howToGoOn(const RunSummary &run)
{
    const std::string id = std::to_string(run.id);
    if (run.lrFind())
        return "`lbk lr-find` runs the test again";
    if (!trainedByLabbook(run) && !run.remote())
        return "start the script again to train more";
    return "`lbk resume " + id + "` " + whatAResumeDoes(run);
}

std::string whatAResumeDoes(const RunSummary &run)
{
    if (!trainedByLabbook(run))
        return "starts the target's script again with LABBOOK_RESUME=1: it goes on from a checkpoint of its own if it "
               "loads one; the steps it records again replace the earlier values";
    // (found by an audit: "no checkpoint" beside a best.pt and kept weights, which a resume does not continue from)
    return resumesFromCheckpoint(run) ? "continues from the last checkpoint"
                                      : "starts it again from step 0: it saved no resumable checkpoint yet "
                                        "(checkpoints/last.pt, written every training.checkpoint_minutes and when "
                                        "the run is stopped; best.pt holds weights only)";
}

bool resumesFromCheckpoint(const RunSummary &run)
{
    std::error_code ec;
    // A remote run's checkpoints are on its target; one that never took a step has none (found by an audit: a
    // Slurm job cancelled while pending "continues from the last checkpoint").
    if (run.remote())
        return run.lastStep > 0;
    return fs::exists(runfiles::checkpoint(run.runDir, "last"), ec);
}

std::string endedUnreportedReason(const std::string &whoEnded, int64_t lastStep, const std::string &howToGoOn,
                                  const std::string &logTail)
{
    return whoEnded + " ended without reporting how the run ended (it exited early, was killed, or the machine went "
                      "down); everything up to step " + std::to_string(lastStep) + " is kept; " + howToGoOn + "." +
           (logTail.empty() ? "" : "\nLast lines of worker.log:\n" + logTail);
}

Result<IngestStats> syncRun(Store &store, const RunSummary &run, const std::function<void(const json &)> &onEvent,
                            int64_t *shown)
{
    if (run.runDir.empty())
        return IngestStats{};
    const int64_t before = !onEvent ? 0 : shown && *shown >= 0 ? *shown : store.cursor(run.id).offset;
    auto stats = ingestJournal(store, run.id, journalPath(run));
    if (!stats || !onEvent)
        return stats;
    // Hand the newly stored lines to the caller (a progress display): the bytes from what it has seen to the cursor.
    const int64_t after = store.cursor(run.id).offset;
    if (shown)
        *shown = after;
    if (after > before) {
        std::ifstream in(journalPath(run), std::ios::binary);
        in.seekg(before);
        std::string chunk(size_t(after - before), '\0');
        in.read(chunk.data(), std::streamsize(chunk.size()));
        size_t start = 0;
        for (size_t nl = chunk.find('\n'); nl != std::string::npos; start = nl + 1, nl = chunk.find('\n', start)) {
            auto event = json::parse(chunk.begin() + std::ptrdiff_t(start), chunk.begin() + std::ptrdiff_t(nl), nullptr, false);
            if (event.is_object())
                onEvent(event);
        }
    }
    return stats;
}

SyncResult syncActiveRuns(Store &store)
{
    SyncResult result;
    const std::string host = localHostName();
    for (auto status : {RunStatus::Running, RunStatus::Queued}) {
        RunFilter filter;
        filter.status = status;
        for (const auto &run : store.runs(filter)) {
            if (run.remote())
                continue; // remote runs are followed by their launcher
            auto stats = syncRun(store, run);
            if (!stats) {
                result.warnings.push_back("run " + std::to_string(run.id) + ": " + stats.message());
                continue;
            }
            result.events += stats->events;
            if (stats->finalEvent || run.pid == 0 || (!run.host.empty() && run.host != host))
                continue;
            if (processAlive(run.pid, run.pidStart))
                continue;
            {
                auto current = store.runById(run.id);
                if (!current || current->pid != run.pid || current->pidStart != run.pidStart)
                    continue; // resumed under a new worker since the list was read
            }
            // The process is gone: read once more, since it may have written its last lines just now.
            auto again = syncRun(store, run);
            if (!again) {
                result.warnings.push_back("run " + std::to_string(run.id) + ": " + again.message());
                continue; // unsure, so leave it for the next sync
            }
            if (again->finalEvent)
                continue;
            auto fresh = store.runById(run.id);
            if (!fresh || !isActive(fresh->status))
                continue;
            const std::string who = "the worker process " + std::to_string(run.pid) + " on " + host;
            const std::string why = endedUnreportedReason(who, fresh->lastStep, howToGoOn(*fresh), workerLogTail(run));
            // Conditional on the same process: a resume that started a new worker since our snapshot wins.
            auto marked = store.markInterrupted(run.id, fresh->pid, fresh->pidStart, why);
            if (marked && *marked)
                result.interrupted++;
        }
    }
    return result;
}

} // namespace lbk
