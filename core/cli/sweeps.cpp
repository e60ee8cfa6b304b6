#include "cli/sweeps.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <optional>
#include <unistd.h>

#include "cli/runtext.h"
#include "cli/table.h"
#include "util/text.h"
#include "cli/targets.h"
#include "data/dataset.h"
#include "usecases/runactions.h"
#include "experiment/schema.h"
#include "launch/process.h"
#include "store/store.h"
#include "sweep/groups.h"
#include "sweep/overview.h"
#include "sweep/scheduler.h"
#include "sweep/searchspace.h"
#include "sweep/sweepspec.h"

namespace lbk::cli {

using nlohmann::json;

namespace {

std::atomic<int> g_sweepInterrupts{0};
void onSweepInterrupt(int) { g_sweepInterrupts.fetch_add(1); }

// Ctrl-C and SIGTERM counted in g_sweepInterrupts while it lives (the sweep stops following, its runs go on); the
// default handling again after.
struct SweepInterruptsCounted {
    SweepInterruptsCounted()
    {
        std::signal(SIGINT, onSweepInterrupt);
        std::signal(SIGTERM, onSweepInterrupt);
    }
    ~SweepInterruptsCounted()
    {
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
    }
};

std::string fmt(std::optional<double> v)
{
    if (!v)
        return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", *v);
    return buf;
}

// A running sweep whose scheduler is gone is not being followed: say so.
std::string statusText(const SweepRecord &s)
{
    if (s.status == SweepStatus::Running && !(s.pid > 0 && processAlive(s.pid, s.pidStart)))
        return "running (not followed: lbk sweep resume " + std::to_string(s.id) + ")";
    return toString(s.status);
}

// Why a trial ended early, as the last column of its row: the reason's first line, whole up to 160 characters (a
// pruning's reason with a tie in it ran past the 90 it was cut at).
std::string whyCell(const std::string &reason)
{
    const std::string line = reason.substr(0, reason.find('\n'));
    return line.size() <= 160 ? line : line.substr(0, 157) + "...";
}

// The trials as sweepOverview ranks them (best first), and the best finished one.
void printTrials(const SweepOverview &o)
{
    std::vector<std::string> header = {"trial", "state", "best " + o.spec.metric, "step", "run"};
    for (const auto &p : o.spec.parameters)
        header.push_back(p.key);
    header.push_back("why");
    Table table(header);
    for (const auto &row : o.trials) {
        const TrialRecord &t = row.trial;
        std::vector<std::string> cells = {std::to_string(t.trial), row.stateText(), fmt(t.value),
                                          t.run > 0 ? std::to_string(row.lastStep) : "-",
                                          t.run > 0 ? std::to_string(t.run) : "-"};
        for (const auto &p : o.spec.parameters)
            cells.push_back(t.params.contains(p.key) ? sweptValueText(t.params[p.key]) : "-");
        cells.push_back(t.state == TrialState::Pruned || t.state == TrialState::Failed ? whyCell(t.reason) : "");
        table.add(std::move(cells));
    }
    std::printf("%s", table.render().c_str());
    if (const auto b = o.best())
        std::printf("best: trial %d, %s %s (%s): %s\n", b->trial.trial, o.spec.metric.c_str(),
                    fmt(b->trial.value).c_str(),
                    b->trial.run > 0 ? ("run " + std::to_string(b->trial.run)).c_str() : "its run was deleted",
                    b->trial.params.dump().c_str());
}

// Says why when a command cannot have its store, its sweep or the sweep's overview: the exit code, else kOk.
struct OpenedSweep {
    std::unique_ptr<Store> store;
    std::optional<SweepRecord> sweep;
    int failure = kOk;
};
OpenedSweep openSweep(const Common &c, const std::string &ref)
{
    OpenedSweep o;
    o.store = openStore(c);
    if (!o.store) {
        o.failure = kFailed;
        return o;
    }
    auto sweep = o.store->sweep(ref);
    if (!sweep) {
        printError(sweep.message());
        o.failure = kBadInput;
        return o;
    }
    o.sweep = std::move(*sweep);
    return o;
}

std::optional<SweepOverview> overviewOrSay(const Store &store, int64_t sweep)
{
    auto o = sweepOverview(store, sweep);
    if (!o) {
        printError(o.message());
        return std::nullopt;
    }
    return std::move(*o);
}

std::optional<TargetsFile> targetsOrSay(const Common &c)
{
    auto targets = loadTargetsFor(c);
    if (!targets) {
        printError(targets.message());
        return std::nullopt;
    }
    return std::move(*targets);
}

// A group's values other than the seed, as a column or row label ("all" when the seed is the only key).
std::string groupLabel(const RunGroup &g)
{
    if (g.params.empty())
        return "all";
    std::string s;
    for (const auto &[k, v] : g.params.items())
        s += (s.empty() ? "" : ", ") + k + "=" + sweptValueText(v);
    return s;
}

// A group as --json gives it: the values besides the seed, its runs and seeds, each metric's n, mean and deviation.
json groupJson(const RunGroup &g)
{
    json metrics = json::object();
    for (const auto &m : g.metrics)
        metrics[m.key] = {{"n", m.n}, {"mean", m.mean}, {"std", m.stddev}};
    return {{"params", g.params}, {"runs", g.runs}, {"seeds", g.seeds}, {"metrics", metrics}};
}

// Each group's metrics as mean and deviation, one column per group.
// One group's statistic of a metric as a cell: mean and deviation, "-" when none of its runs has the metric.
std::string groupCell(const RunGroup &g, const std::string &key)
{
    const auto it =
        std::find_if(g.metrics.begin(), g.metrics.end(), [&](const MetricStats &m) { return m.key == key; });
    return it == g.metrics.end() ? "-" : formatStats(*it);
}

// Groups side by side, a column each (a metric per row), while they fit beside each other: three at most. More
// groups (a grid of several keys across seeds, a sweep whose every trial is its own group) get a row each, with a
// column per metric, so that the table grows downwards instead of running off the terminal.
void printGroupStats(const std::vector<std::pair<std::string, RunGroup>> &groups)
{
    std::vector<std::string> keys;
    for (const auto &[label, g] : groups)
        for (const auto &m : g.metrics)
            if (std::find(keys.begin(), keys.end(), m.key) == keys.end())
                keys.push_back(m.key);
    std::sort(keys.begin(), keys.end());
    const auto runs = [](const RunGroup &g) { return g.metrics.empty() ? 0 : g.metrics.front().n; };
    if (groups.size() > 3) {
        std::vector<std::string> header = {"GROUP", "RUNS"};
        header.insert(header.end(), keys.begin(), keys.end());
        Table table(header);
        for (const auto &[label, g] : groups) {
            std::vector<std::string> row = {label, std::to_string(runs(g))};
            for (const auto &k : keys)
                row.push_back(groupCell(g, k));
            table.add(std::move(row));
        }
        std::printf("%s", table.render().c_str());
        return;
    }
    std::vector<std::string> header = {"METRIC"};
    for (const auto &[label, g] : groups)
        header.push_back(label + " (" + counted(runs(g), "run") + ")");
    Table table(header);
    for (const auto &k : keys) {
        std::vector<std::string> row = {k};
        for (const auto &[label, g] : groups)
            row.push_back(groupCell(g, k));
        table.add(std::move(row));
    }
    std::printf("%s", table.render().c_str());
}

// Each of the sweep's groups labelled for a column: the sweep's name, and the group's other values when it has several.
void labelGroups(const std::string &sweep, const std::vector<RunGroup> &groups,
                 std::vector<std::pair<std::string, RunGroup>> &out)
{
    for (const auto &g : groups)
        out.emplace_back(sweep + (groups.size() > 1 ? " " + groupLabel(g) : ""), g);
}

void printGroups(const Store &store, const SweepOverview &o)
{
    if (!sweepsSeeds(o.spec))
        return;
    std::vector<std::pair<std::string, RunGroup>> labelled;
    labelGroups(o.sweep.name, sweepGroups(store, o), labelled);
    std::printf("\nAcross seeds (final metrics of the finished runs: mean \u00b1 sample standard deviation)\n");
    printGroupStats(labelled);
}

// On a terminal, the trials as a table redrawn in place after every round of the scheduler, best first (at most
// kLiveRows of them), with the events printed above it; elsewhere (a log, a pipe) only the events.
class LiveTrials {
public:
    LiveTrials(Store &store, int64_t sweep) : m_store(store), m_sweep(sweep) {}
    void say(const std::string &line)
    {
        erase();
        std::fprintf(stderr, "%s\n", line.c_str());
    }
    void redraw()
    {
        auto o = sweepOverview(m_store, m_sweep);
        if (!o)
            return;
        erase();
        Table table({"trial", "state", "best " + o->spec.metric, "step"});
        const auto ended = std::count_if(o->trials.begin(), o->trials.end(),
                                         [](const TrialRow &r) { return !isOpen(r.trial.state); });
        for (size_t i = 0; i < o->trials.size() && i < kLiveRows; ++i) {
            const TrialRecord &t = o->trials[i].trial;
            table.add({std::to_string(t.trial), o->trials[i].stateText(), fmt(t.value),
                       t.run > 0 ? std::to_string(o->trials[i].lastStep) : "-"});
        }
        const size_t n = o->trials.size();
        const std::string text = table.render() + std::to_string(ended) + " of " + std::to_string(n) + " trials ended" +
                                 (n > kLiveRows ? " (the best " + std::to_string(kLiveRows) + " shown)" : "") +
                                 "; Ctrl-C stops following, the trials go on\n";
        std::fputs(text.c_str(), stderr);
        m_lines = int(std::count(text.begin(), text.end(), '\n'));
    }
    void erase()
    {
        if (m_lines > 0)
            std::fprintf(stderr, "\x1b[%dA\x1b[J", m_lines); // up over the table, then clear to the end
        m_lines = 0;
    }

private:
    static constexpr size_t kLiveRows = 15;
    Store &m_store;
    int64_t m_sweep;
    int m_lines = 0;
};

int follow(const Common &c, Store &store, const SweepRecord &sweep, bool quiet)
{
    auto targets = targetsOrSay(c);
    if (!targets)
        return kBadInput;
    SweepOptions o;
    o.dataRoot = c.dataRoot;
    o.interrupts = &g_sweepInterrupts;
    auto caught = std::make_optional<SweepInterruptsCounted>();
    const bool live = !quiet && ::isatty(STDERR_FILENO);
    LiveTrials table(store, sweep.id);
    if (live)
        o.afterStep = [&] { table.redraw(); };
    SweepScheduler scheduler(store, *targets, sweep, o, [&](const std::string &m) {
        if (live)
            table.say(m);
        else if (!quiet)
            std::fprintf(stderr, "%s\n", m.c_str());
    });
    auto end = scheduler.run();
    if (live)
        table.erase(); // the final table below replaces it
    caught.reset();
    if (!end) {
        printError(end.message());
        return end.error().badInput ? kBadInput : kFailed;
    }
    if (*end != SweepStatus::Interrupted)
        if (auto o = overviewOrSay(store, sweep.id)) {
            printTrials(*o);
            printGroups(store, *o);
        }
    switch (*end) {
    case SweepStatus::Finished: return kOk;
    case SweepStatus::Interrupted: {
        const std::string id = std::to_string(sweep.id);
        std::fprintf(stderr, "%s\n",
                     withStore("Stopped following sweep " + id + "; its running trials go on. `lbk sweep resume " + id +
                               "` follows it again, `lbk sweep cancel " + id + "` stops them.")
                         .c_str());
        return kCancelled;
    }
    default: return kCancelled;
    }
}

// `lbk sweep resume ID --quiet` in its own session, its output in a log beside the store's runs.
int detach(const Common &c, Store &store, const SweepRecord &sweep)
{
    std::vector<std::string> args = {"--store", store.path().string()};
    if (!c.targets.empty())
        args.insert(args.end(), {"--targets", c.targets});
    if (!c.dataRoot.empty())
        args.insert(args.end(), {"--data-root", c.dataRoot});
    args.insert(args.end(), {"sweep", "resume", std::to_string(sweep.id), "--quiet"});
    std::error_code ec;
    std::filesystem::create_directories(store.runsRoot(), ec);
    auto proc = spawnDetached(lbkExecutable(), args, store.runsRoot() / ("sweep-" + sweep.uid + ".log"));
    if (!proc) {
        printError(proc.message());
        return kFailed;
    }
    std::printf("%lld\n", (long long)sweep.id);
    return kOk;
}

} // namespace

// A local sweep whose experiment reads a file that is not there, or fine-tunes a folder a run could not start from,
// would launch every trial to fail the same way. (A swept data.path or model.init_from is each trial's own; a
// remote target reads its own disk.)
Status checkBaseHere(const SweepSpec &spec, const std::string &dataRoot)
{
    const auto swept = [&](const char *key) {
        return std::any_of(spec.parameters.begin(), spec.parameters.end(),
                           [&](const ParamSpec &p) { return p.key == key; });
    };
    auto e = experimentFromJson(spec.base);
    if (isRemoteTarget(spec.target) || !e)
        return okStatus(); // an experiment the schema refuses was named when the sweep was read
    if (!swept("data.path"))
        if (const std::string why = dataNotHere(e->data.paths, dataRoot); !why.empty())
            return badInput(why + " (the sweep's experiment); nothing was launched");
    if (!swept("model.init_from"))
        if (auto bad = usecase::pretrainedFolderProblem(*e, dataRoot))
            return badInput(*bad + " (the sweep's experiment); nothing was launched");
    return okStatus();
}

// Creates the sweep (its LR range test first when it asks for one) and follows it, or leaves it to a scheduler of
// its own.
int startSweep(const Common &c, Result<SweepSpec> spec, const std::string &file, bool detached, bool quiet,
               bool seeds = false)
{
    auto targets = targetsOrSay(c);
    if (!targets)
        return kBadInput;
    if (auto target = usecase::findTarget(*targets, spec->target); !target) { // before the store or any trial
        printError(target.message());
        return kBadInput;
    }
    if (auto here = checkBaseHere(*spec, c.dataRoot); !here) {
        printError(here.message());
        return kBadInput;
    }
    for (const auto &notice : sweepNotices(*spec))
        printError("note: " + notice);
    auto store = openStore(c, true, true);
    if (!store)
        return kFailed;
    auto resolved = [&] {
        const SweepInterruptsCounted caught; // Ctrl-C while its range test runs stops waiting, not the test
        return resolveLrFinder(
            *store, *targets, *spec, c.dataRoot,
            [&](const std::string &m) {
                if (!quiet)
                    std::fprintf(stderr, "%s\n", m.c_str());
            },
            &g_sweepInterrupts);
    }();
    if (!resolved) {
        printError(resolved.message());
        return g_sweepInterrupts > 0 ? kCancelled : resolved.error().badInput ? kBadInput : kFailed;
    }
    spec = std::move(*resolved);
    for (const auto &earlier : store->sweeps())
        if (earlier.name == spec->name) { // newest first: the latest of that name
            printError("note: the store has a sweep named \"" + spec->name + "\" already (sweep " +
                       std::to_string(earlier.id) + "); the name, and its trials' run names, will mean this one; " +
                       (seeds ? "give --name" : "give the file another \"name\"") + " to keep them apart");
            break;
        }
    auto sweep = createSweep(*store, *spec);
    if (!sweep) {
        printError(sweep.message());
        return sweep.error().badInput ? kBadInput : kFailed;
    }
    if (!quiet)
        std::fprintf(stderr, "Sweep %lld (%s) of %s: %s, %d at a time on %s; store %s\n", (long long)sweep->id,
                     sweep->uid.c_str(), file.c_str(), counted(store->trials(sweep->id).size(), "trial").c_str(),
                     spec->parallel, spec->target.c_str(), store->path().c_str());
    return detached ? detach(c, *store, *sweep) : follow(c, *store, *sweep, quiet);
}

int sweepRun(const Common &c, const std::string &file, bool detached, bool quiet)
{
    auto spec = loadSweepFile(file);
    if (!spec) {
        std::fprintf(stderr, "%s\n", spec.message().c_str());
        return kBadInput;
    }
    return startSweep(c, std::move(spec), file, detached, quiet);
}

int runSeeds(const Common &c, const RunOptions &o)
{
    for (size_t i = 1; i < o.seeds.size(); ++i)
        if (std::find(o.seeds.begin(), o.seeds.begin() + i, o.seeds[i]) != o.seeds.begin() + i) {
            std::fprintf(stderr, "lbk: --seeds: seed %lld is given twice; a run group runs each seed once (its "
                                 "deviation would count one result twice)\n", static_cast<long long>(o.seeds[i]));
            return kBadInput;
        }
    auto base = readJsonFile(o.file);
    if (!base) {
        std::fprintf(stderr, "%s\n", base.message().c_str());
        return kBadInput;
    }
    const std::string experiment = base->is_object() && base->contains("name") && (*base)["name"].is_string()
                                       ? (*base)["name"].get<std::string>()
                                       : std::filesystem::path(o.file).stem().string();
    json j = {{"name", o.name.empty() ? experiment + "-seeds" : o.name},
              {"experiment", std::filesystem::absolute(o.file).string()},
              {"method", "grid"},
              {"parallel", o.parallel},
              {"parameters", {{kSeedKey, {{"values", o.seeds}}}}}};
    if (!o.target.empty())
        j["target"] = o.target;
    auto spec = sweepFromJson(j, ".");
    if (!spec) {
        std::fprintf(stderr, "%s: %s\n", o.file.c_str(), spec.message().c_str());
        return kBadInput;
    }
    return startSweep(c, std::move(spec), o.file, o.detach, o.quiet, true);
}

int groupRuns(const Common &c, const std::string &ref)
{
    auto [store, sweep, failure] = openSweep(c, ref);
    if (failure != kOk)
        return failure;
    auto o = overviewOrSay(*store, sweep->id);
    if (!o)
        return kFailed;
    const auto groups = sweepGroups(*store, *o);
    if (c.json) {
        json out = json::array();
        for (const auto &g : groups)
            out.push_back(groupJson(g));
        std::printf("%s\n", out.dump(2).c_str());
        return kOk;
    }
    Table runs({"run", "name", "status", "seed", o->spec.metric});
    for (const auto &g : groups)
        for (size_t i = 0; i < g.runs.size(); ++i)
            if (auto r = store->runById(g.runs[i]))
                runs.add({std::to_string(r->id), r->name, r->statusWord(),
                          g.seeds[i] >= 0 ? std::to_string(g.seeds[i]) : "-", fmt(r->summaryValue("final", o->spec.metric))});
    std::printf("%s\n", runs.render().c_str());
    if (!sweepsSeeds(o->spec)) { // every trial its own group: a column each would say nothing the ranking does not
        std::printf("%s\n", withStore("sweep " + std::to_string(sweep->id) + " does not draw training.seed, so each "
                                     "trial is a group of one; `lbk sweep show " + std::to_string(sweep->id) +
                                     "` ranks them").c_str());
        return kOk;
    }
    std::vector<std::pair<std::string, RunGroup>> labelled;
    labelGroups(sweep->name, groups, labelled);
    printGroupStats(labelled);
    return kOk;
}

int compareGroups(const Common &c, const std::vector<std::string> &refs)
{
    auto store = openStore(c);
    if (!store)
        return kFailed;
    std::vector<std::pair<std::string, RunGroup>> labelled;
    for (const auto &ref : refs) {
        auto sweep = store->sweep(ref);
        if (!sweep) {
            printError(sweep.message());
            return kBadInput;
        }
        auto o = overviewOrSay(*store, sweep->id);
        if (!o)
            return kFailed;
        if (!sweepsSeeds(o->spec) && !c.json)
            std::printf("%s\n", withStore("sweep " + std::to_string(sweep->id) + " (" + sweep->name +
                                         ") does not draw training.seed, so each of its trials is a group of one run; "
                                         "`lbk sweep show " + std::to_string(sweep->id) + "` ranks them").c_str());
        labelGroups(sweep->name, sweepGroups(*store, *o), labelled);
    }
    if (c.json) {
        json out = json::array();
        for (const auto &[label, g] : labelled) {
            json row = groupJson(g);
            row["label"] = label;
            out.push_back(std::move(row));
        }
        std::printf("%s\n", out.dump(2).c_str());
        return kOk;
    }
    std::printf("Final metrics of the finished runs: mean \u00b1 sample standard deviation\n");
    printGroupStats(labelled);
    return kOk;
}

int sweepResume(const Common &c, const std::string &ref, bool detached, bool quiet)
{
    auto [store, sweep, failure] = openSweep(c, ref);
    if (failure != kOk)
        return failure;
    const auto trials = store->trials(sweep->id);
    const bool open = std::any_of(trials.begin(), trials.end(), [](const TrialRecord &t) {
        return isOpen(t.state) || t.state == TrialState::Interrupted;
    });
    if (sweep->status == SweepStatus::Cancelled && reopenCancelledSweep(*store, *sweep) > 0)
        sweep = store->sweep(std::to_string(sweep->id)).value();
    else if (sweep->status == SweepStatus::Finished || (!open && sweep->status != SweepStatus::Interrupted)) {
        // A failed sweep with nothing left to run would end "finished" and lose why it failed.
        printError("sweep " + std::to_string(sweep->id) + " has " + toString(sweep->status) +
                   (sweep->error.empty() ? "" : " (" + sweep->error + ")") + " and has no trial left to run; `lbk " +
                   "sweep show " + std::to_string(sweep->id) + "` shows its trials");
        return kBadInput;
    }
    return detached ? detach(c, *store, *sweep) : follow(c, *store, *sweep, quiet);
}

int sweepsList(const Common &c)
{
    auto store = openStore(c);
    if (!store)
        return kFailed;
    Table table({"id", "name", "status", "trials", "finished", "pruned", "metric", "best"});
    json out = json::array();
    for (const auto &s : store->sweeps()) {
        const auto o = sweepOverview(*store, s.id);
        const auto count = [&](TrialState st) {
            return o ? std::count_if(o->trials.begin(), o->trials.end(), [&](const TrialRow &t) { return t.trial.state == st; })
                     : 0;
        };
        const std::string metric = o ? o->spec.metric : "?";
        const auto b = o ? o->best() : std::nullopt;
        const size_t trials = o ? o->trials.size() : 0;
        table.add({std::to_string(s.id), s.name, statusText(s), std::to_string(trials),
                   std::to_string(count(TrialState::Finished)), std::to_string(count(TrialState::Pruned)), metric,
                   b ? fmt(b->trial.value) + " (trial " + std::to_string(b->trial.trial) + ")" : "-"});
        out.push_back({{"id", s.id}, {"uid", s.uid}, {"name", s.name}, {"status", toString(s.status)},
                       {"trials", trials}, {"finished", count(TrialState::Finished)},
                       {"pruned", count(TrialState::Pruned)}, {"metric", metric},
                       {"best", b ? json(*b->trial.value) : json()}, {"best_trial", b ? json(b->trial.trial) : json()},
                       {"best_run", b ? json(b->trial.run) : json()}});
    }
    if (c.json)
        std::printf("%s\n", out.dump(2).c_str());
    else
        std::printf("%s", table.render().c_str());
    return kOk;
}

int sweepShow(const Common &c, const std::string &ref)
{
    auto [store, sweep, failure] = openSweep(c, ref);
    if (failure != kOk)
        return failure;
    auto o = overviewOrSay(*store, sweep->id);
    if (!o)
        return kFailed;
    const SweepSpec &spec = o->spec;
    if (c.json) {
        json trials = json::array();
        for (const auto &row : o->trials) {
            const TrialRecord &t = row.trial;
            trials.push_back({{"trial", t.trial}, {"state", toString(t.state)}, {"value", t.value ? json(*t.value) : json()},
                              {"run", t.run}, {"params", t.params}, {"reason", t.reason}});
        }
        std::printf("%s\n", json{{"id", sweep->id}, {"uid", sweep->uid}, {"name", sweep->name},
                                 {"status", toString(sweep->status)}, {"error", sweep->error}, {"metric", spec.metric},
                                 {"maximize", spec.maximize}, {"trials", trials}}
                                .dump(2)
                                .c_str());
        return kOk;
    }
    std::printf("sweep %lld (%s) %s: %s; %s, %s %s, early stopping %s\n", (long long)sweep->id, sweep->uid.c_str(),
                sweep->name.c_str(), statusText(*sweep).c_str(), toString(spec.method),
                spec.maximize ? "maximizing" : "minimizing", spec.metric.c_str(), toString(spec.earlyStopping.type));
    if (!sweep->error.empty() && sweep->status != SweepStatus::Finished)
        std::printf("%s: %s\n", toString(sweep->status), sweep->error.c_str());
    printTrials(*o);
    Table keys({"KEY", "FOREST SHARE", "RANK CORRELATION"});
    for (const auto &k : keyImportance(*o))
        keys.add({k.key, std::isnan(k.permutation) ? "-" : fmt(k.permutation),
                  std::isnan(k.score) ? "-" : fmt(k.score) + (k.direction > 0 ? " (+)" : k.direction < 0 ? " (-)" : "")});
    const std::string shortfall = keyImportanceShortfall(*o);
    std::printf("\nHow much each key matters (a random forest's permutation importance; Spearman or correlation ratio)"
                "%s\n%s",
                shortfall.empty() ? "" : (" - " + shortfall).c_str(), keys.render().c_str());
    printGroups(*store, *o);
    return kOk;
}

int sweepCancel(const Common &c, const std::string &ref)
{
    auto [store, sweep, failure] = openSweep(c, ref);
    if (failure != kOk)
        return failure;
    auto targets = targetsOrSay(c);
    if (!targets)
        return kBadInput;
    auto said = cancelSweep(*store, *targets, *sweep);
    if (!said) {
        printError(said.message());
        return said.error().badInput ? kBadInput : kFailed;
    }
    std::fprintf(stderr, "%s\n", said->c_str());
    // Nobody follows it: wait here for the cancelled runs to end and record each trial's end, so none stays open.
    if (!(sweep->pid > 0 && processAlive(sweep->pid, sweep->pidStart))) {
        auto now = store->sweep(std::to_string(sweep->id));
        if (now) {
            SweepOptions options;
            options.dataRoot = c.dataRoot;
            SweepScheduler scheduler(*store, *targets, *now, options, {});
            if (auto end = scheduler.run(); !end)
                printError(end.message());
        }
    }
    return kOk;
}

} // namespace lbk::cli
