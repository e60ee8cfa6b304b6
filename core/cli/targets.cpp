#include "cli/targets.h"

#include <cstdio>

#include "cli/table.h"
#include "launch/remote.h"
#include "store/store.h"

namespace lbk::cli {

using nlohmann::json;

Result<TargetsFile> loadTargetsFor(const Common &c)
{
    return loadTargets(c.targets.empty() ? std::filesystem::path() : std::filesystem::path(c.targets));
}

int targetsList(const Common &c)
{
    auto file = loadTargetsFor(c);
    if (!file) {
        printError(file.message());
        return kBadInput;
    }
    if (c.json) {
        json out = json::array();
        for (const auto &t : file->targets)
            out.push_back({{"name", t.name}, {"type", toString(t.type)}, {"description", t.describe()}, {"note", t.description}});
        std::printf("%s\n", out.dump(2).c_str());
        return kOk;
    }
    Table table({"NAME", "TYPE", "WHERE", "WORK DIR"});
    for (const auto &t : file->targets)
        table.add({t.name, toString(t.type), t.listed(), t.remote() ? t.workDir : "-"});
    std::printf("%s", table.render().c_str());
    std::printf("(targets file: %s)\n", file->path.c_str());
    return kOk;
}

int targetsCheck(const Common &c, const std::string &name)
{
    auto file = loadTargetsFor(c);
    if (!file) {
        printError(file.message());
        return kBadInput;
    }
    const Target *t = file->find(name);
    if (!t) {
        printError("no target named \"" + name + "\" in " + file->path.string() + " (`lbk targets` lists them)");
        return kBadInput;
    }
    // The check itself is launch/remote.h's, so the GUI's Check button says the same.
    const auto check = checkTarget(*t);
    if (c.json) {
        json lines = json::array(); // in the report's order; a GPU per line, so names repeat
        for (const auto &[what, said] : check.lines)
            lines.push_back({{"check", what}, {"result", said}});
        std::printf("%s\n", json{{"target", t->name}, {"heading", check.heading}, {"connected", check.connected},
                                  {"ready", check.ready}, {"checks", lines}}
                                .dump(2)
                                .c_str());
    } else {
        std::printf("%s", check.text().c_str());
    }
    return check.ready ? kOk : kFailed;
}

int pull(const Common &c, const std::string &ref, bool all)
{
    auto storeRes = Store::openExisting(Store::pathOr(c.store));
    if (!storeRes) {
        printError(storeRes.message());
        return kFailed;
    }
    auto &store = **storeRes;
    auto run = findRun(store, ref);
    if (!run) {
        printError(run.message());
        return kBadInput;
    }
    if (!run->remote()) {
        printError("run " + std::to_string(run->id) + " ran on this machine; its files are in " + run->runDir);
        return kBadInput;
    }
    auto file = loadTargetsFor(c);
    if (!file) {
        printError(file.message());
        return kBadInput;
    }
    const Target *t = file->find(run->target);
    if (!t) {
        printError("run " + std::to_string(run->id) + " ran on target \"" + run->target + "\", which " +
                   file->path.string() + " does not name");
        return kBadInput;
    }
    auto copied = pullArtifacts(store, *t, *run, all);
    if (!copied) {
        printError(copied.message());
        return kFailed;
    }
    for (const auto &p : *copied)
        std::printf("%s/%s\n", run->runDir.c_str(), p.c_str());
    std::fprintf(stderr, "copied %zu file(s) from %s\n", copied->size(), t->name.c_str());
    return kOk;
}

void syncRemote(Store &store, const Common &c)
{
    // Only when some run is remote and active: plain local use never reads the targets file.
    bool any = false;
    for (auto status : {RunStatus::Running, RunStatus::Queued}) {
        RunFilter f;
        f.status = status;
        for (const auto &r : store.runs(f))
            any = any || r.remote();
    }
    if (!any)
        return;
    auto file = loadTargetsFor(c);
    if (!file) {
        printError("warning: " + file.message());
        return;
    }
    for (const auto &w : syncRemoteRuns(store, *file).warnings)
        printError("warning: " + w);
}

} // namespace lbk::cli
