#include "cli/targets.h"

#include <chrono>
#include <cstdio>
#include <sstream>

#include "cli/table.h"
#include "launch/remote.h"
#include "launch/remoteshell.h"
#include "launch/shellquote.h"
#include "store/store.h"

namespace lbk::cli {

using nlohmann::json;

namespace {

void printError(const std::string &msg)
{
    std::fprintf(stderr, "lbk: %s\n", msg.c_str());
}

std::string marked(const std::string &out, const std::string &key)
{
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + " ", 0) == 0)
            return line.substr(key.size() + 1);
    return {};
}

std::vector<std::string> allMarked(const std::string &out, const std::string &key)
{
    std::vector<std::string> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + " ", 0) == 0)
            v.push_back(line.substr(key.size() + 1));
    return v;
}

std::string workDirWord(const Target &t)
{
    const std::string &w = t.workDir;
    if (w.rfind("/", 0) == 0 || w.rfind("~", 0) == 0)
        return remoteWord(w);
    return remoteWord("~/" + w);
}

} // namespace

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
            out.push_back({{"name", t.name}, {"type", toString(t.type)}, {"description", t.describe()}});
        std::printf("%s\n", out.dump(2).c_str());
        return kOk;
    }
    Table table({"NAME", "TYPE", "WHERE", "WORK DIR"});
    for (const auto &t : file->targets)
        table.add({t.name, toString(t.type), t.describe(), t.remote() ? t.workDir : "-"});
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
    std::printf("%s: %s\n", t->name.c_str(), t->describe().c_str());
    RemoteShell sh(*t);
    const std::string w = workDirWord(*t);
    std::string script = "w=" + w + "\nmkdir -p \"$w\" 2>/dev/null\necho \"LBK-HOST $(hostname)\"\n";
    for (const auto &l : t->setup)
        script += l + "\n";
    if (t->worker.empty())
        script += "v=$(" + remoteWord(t->lbk) + " --version 2>&1); rc=$?\n"
                  "printf 'LBK-VERSION %s\\n' \"$(printf '%s\\n' \"$v\" | head -n 1)\"; echo \"LBK-LBKRC $rc\"\n";
    script += "echo \"LBK-DISK $(df -Pk \"$w\" 2>/dev/null | awk 'NR==2 {print $4}')\"\n"
              "echo \"LBK-CPUS $( (nproc || getconf _NPROCESSORS_ONLN) 2>/dev/null)\"\n"
              "if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L 2>&1 | sed 's/^/LBK-GPU /'; fi\n"
              "for d in /dev/accel*; do [ -e \"$d\" ] && echo \"LBK-TPU $d\"; done\n";
    if (t->type == TargetType::Slurm)
        script += "if command -v sinfo >/dev/null 2>&1; then sinfo -h -o '%P %a %D %t' 2>&1 | sed 's/^/LBK-SINFO /'; "
                  "else echo 'LBK-SINFO sinfo not found'; fi\n";
    const auto start = std::chrono::steady_clock::now();
    auto out = sh.run(script, {}, 60);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bool ok = true;
    if (!out || out->timedOut || marked(out->out, "LBK-HOST").empty()) {
        std::string why = !out ? out.message() : out->timedOut ? "no answer within 60 s" : out->err;
        while (!why.empty() && why.back() == '\n')
            why.pop_back();
        if (out && t->ssh && out->exitCode == 255 && why.find("Host key verification failed") != std::string::npos)
            why += " (the host's key is not in the known_hosts file: check its fingerprint and add it; Labbook "
                   "never accepts an unknown host key)";
        std::printf("  connect      FAILED: %s\n", why.empty() ? "no output" : why.c_str());
        return kFailed;
    }
    std::printf("  connect      ok, host %s (%.2f s)\n", marked(out->out, "LBK-HOST").c_str(), seconds);
    if (t->worker.empty()) {
        const std::string version = marked(out->out, "LBK-VERSION");
        if (marked(out->out, "LBK-LBKRC") == "0")
            std::printf("  lbk          %s\n", version.c_str());
        else {
            ok = false;
            std::printf("  lbk          NOT WORKING (%s): install lbk there, or set \"lbk\" (its path) or \"setup\" "
                        "(lines that put it on PATH) in the target\n",
                        version.c_str());
        }
    } else {
        std::printf("  trainer      %s (its own program; lbk is not needed there)\n", t->worker.front().c_str());
    }
    const std::string disk = marked(out->out, "LBK-DISK");
    if (!disk.empty()) {
        const double gib = std::atof(disk.c_str()) / (1024.0 * 1024.0);
        std::printf("  work folder  %s: %.1f GiB free\n", t->workDir.c_str(), gib);
    } else {
        ok = false;
        std::printf("  work folder  %s: cannot be created or measured\n", t->workDir.c_str());
    }
    std::string devices = marked(out->out, "LBK-CPUS") + " CPU cores";
    const auto gpus = allMarked(out->out, "LBK-GPU");
    const auto tpus = allMarked(out->out, "LBK-TPU");
    for (const auto &g : gpus)
        devices += "; " + g;
    if (!tpus.empty())
        devices += "; " + std::to_string(tpus.size()) + " TPU device(s)";
    if (gpus.empty() && tpus.empty())
        devices += "; no GPU found (nvidia-smi absent)";
    std::printf("  devices      %s\n", devices.c_str());
    for (const auto &p : allMarked(out->out, "LBK-SINFO"))
        std::printf("  slurm        %s\n", p.c_str());
    if (t->type == TargetType::Slurm && allMarked(out->out, "LBK-SINFO").empty()) {
        ok = false;
        std::printf("  slurm        no partitions reported\n");
    }
    std::printf("%s\n", ok ? "ready" : "not ready");
    return ok ? kOk : kFailed;
}

int pull(const Common &c, const std::string &ref, bool all)
{
    auto storeRes = Store::open(c.store.empty() ? Store::defaultPath() : std::filesystem::path(c.store));
    if (!storeRes) {
        printError(storeRes.message());
        return kFailed;
    }
    auto &store = **storeRes;
    auto run = store.run(ref);
    if (!run) {
        printError(run.message());
        return kBadInput;
    }
    if (run->target == "local") {
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
            any = any || (r.target != "local" && !r.target.empty());
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
