#include "usecases/runactions.h"

#include "launch/remote.h"

namespace lbk::usecase {

namespace fs = std::filesystem;

Result<Target> findTarget(const TargetsFile &targets, const std::string &name)
{
    if (!isRemoteTarget(name))
        return localTarget();
    if (const Target *t = targets.find(name))
        return *t;
    return badInput("no target named \"" + name + "\" in " + targets.path.string() + " (`lbk targets` lists them)");
}

Result<Launched> launch(Store &store, const Target &target, const Experiment &experiment, const LaunchRequest &request,
                        const Progress &progress)
{
    if (target.remote()) {
        auto run = launchRemoteRun(store, target, experiment, request, progress ? progress : [](const std::string &) {});
        if (!run)
            return run.error();
        return Launched{std::move(*run), std::nullopt};
    }
    auto run = createLocalRun(store, experiment, request);
    if (!run)
        return run.error();
    auto worker = startLocalWorker(store, *run, request, false);
    if (!worker) {
        (void)store.setStatus(run->id, RunStatus::Failed, worker.message());
        return worker.error();
    }
    return Launched{std::move(*run), *worker};
}

Result<Resumed> resume(Store &store, const Target &target, const RunDetail &run, const LaunchRequest &request)
{
    if (!target.remote()) {
        auto worker = resumeLocalRun(store, run, request);
        if (!worker)
            return badInput(worker.message());
        return Resumed{true, *worker};
    }
    // A remote run still going (the connection dropped, or lbk was stopped) is only followed again.
    if (isActive(run.status))
        return Resumed{false, std::nullopt};
    if (auto st = resumeRemoteRun(store, target, run, request); !st)
        return badInput(st.message());
    return Resumed{true, std::nullopt};
}

Result<std::string> cancel(Store &store, const Target &target, const RunSummary &run)
{
    if (!isActive(run.status))
        return badInput("run " + std::to_string(run.id) + " is " + toString(run.status) + ", not running");
    return cancelRun(store, target, run);
}

Status remove(Store &store, const RunSummary &run)
{
    if (isActive(run.status))
        return badInput("run " + std::to_string(run.id) + " is still " + toString(run.status) + "; cancel it first");
    if (auto st = store.deleteRun(run.id); !st)
        return st;
    std::error_code ec;
    if (!run.runDir.empty() && fs::path(run.runDir).parent_path() == store.runsRoot())
        fs::remove_all(run.runDir, ec);
    return Unit{};
}

} // namespace lbk::usecase
