#include "cli/commands.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "cli/runtext.h"
#include "cli/table.h"
#include "cli/targets.h"
#include "data/dataset.h"
#include "experiment/checkpointfit.h"
#include "experiment/schema.h"
#include "launch/local.h"
#include "launch/remote.h"
#include "launch/remoteshell.h"
#include "metrics/metrics.h"
#include "protocol/eventreader.h"
#include "store/predictionscsv.h"
#include "store/store.h"
#include "sweep/searchspace.h"
#include "util/filebytes.h"
#include "sweep/sweepspec.h"
#include "usecases/lineage.h"
#include "usecases/runactions.h"
#include "util/text.h"

namespace lbk::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Text in the store can come from any trainer; invalid UTF-8 is replaced rather than aborting the output.
std::string dumpJson(const json &j, int indent = 2)
{
    return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

} // namespace

void printError(const std::string &msg)
{
    // A file's damaged names print no control codes; a suggested command names this invocation's store.
    std::fprintf(stderr, "lbk: %s\n", toValidUtf8(withStore(msg)).c_str());
}

std::unique_ptr<Store> openStore(const Common &c, bool sync, bool create)
{
    const fs::path path = Store::pathOr(c.store);
    auto store = create ? Store::open(path) : Store::openExisting(path); // a typo must not leave a new store behind
    if (!store) {
        printError(store.message());
        return nullptr;
    }
    if (sync) {
        // Every read starts by catching up with local workers, so a run killed while nobody watched shows as
        // interrupted, and a run that went on in the background shows its latest figures.
        const auto s = syncActiveRuns(**store);
        for (const auto &w : s.warnings)
            printError("warning: " + w);
        syncRemote(**store, c); // remote runs: one catch-up each over their target's connection
    }
    return std::move(*store);
}

namespace {

std::string fmtMetric(double v, int digits = 4)
{
    if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) >= 10 && std::fabs(v) < 1e15)
        return std::to_string(int64_t(v)); // a count (steps, examples), not 228.0000
    std::ostringstream os;
    os.setf(std::ios::fixed);
    os.precision(digits);
    os << v;
    return os.str();
}

std::string fmtMetric(const json &v, int digits = 4)
{
    if (v.is_number_integer()) // a count as a script reported it (steps 4), not 4.0000
        return v.dump();
    return v.is_number() ? fmtMetric(v.get<double>(), digits) : "-";
}

std::string fmtMetric(std::optional<double> v, int digits = 4)
{
    return v ? fmtMetric(*v, digits) : "-";
}

std::string fmtTime(double unixSeconds)
{
    if (unixSeconds <= 0)
        return "-";
    std::time_t t = std::time_t(unixSeconds);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", std::localtime(&t));
    return buf;
}

std::string fmtStep(std::optional<double> step)
{
    return step ? std::to_string(int64_t(*step)) : "-";
}

json runJson(const RunSummary &r)
{
    return {{"id", r.id},           {"uid", r.uid},         {"name", r.name},           {"experiment", r.experiment},
            {"kind", r.kind},       {"task", r.task},       {"status", toString(r.status)}, {"error", r.error},
            {"host", r.host},       {"pid", r.pid},         {"target", r.target},       {"job_id", r.jobId},
            {"run_dir", r.runDir},  {"created_at", r.createdAt}, {"started_at", r.startedAt}, {"ended_at", r.endedAt},
            {"tags", r.tags},       {"notes", r.notes},     {"last_step", r.lastStep},  {"config_hash", r.configHash},
            {"summary", r.summary}, {"paused_seconds", r.pausedSeconds},
            {"duration", r.duration() ? json(*r.duration()) : json()}}; // the rule lbk runs and the GUI show
}

// Tags as the tags column and `lbk tag` take them (a,b); a list of runs for reading (", ").
std::string joinTags(const std::vector<std::string> &tags, const char *separator = ",")
{
    std::string s;
    for (const auto &t : tags)
        s += (s.empty() ? "" : separator) + t;
    return s;
}

} // namespace

Result<RunDetail> findRun(Store &store, const std::string &ref)
{
    auto r = store.run(ref);
    if (!r || r->name != ref || std::to_string(r->id) == ref)
        return r;
    RunFilter named;
    named.text = ref;
    std::vector<std::string> others; // of its kind: a name means the latest training run before any LR range test
    for (const auto &o : store.runs(named))
        if (o.name == ref && o.id != r->id && o.lrFind() == r->lrFind())
            others.push_back(std::to_string(o.id));
    if (!others.empty())
        std::fprintf(stderr, "lbk: note: %s: the latest %s of that name, run %lld (also %s: give an id for another)\n",
                     ref.c_str(), r->lrFind() ? "LR range test" : "training run", (long long)r->id,
                     joinTags(others, ", ").c_str());
    return r;
}

namespace {

// The store and one run in it, for the commands that act on a run; when either cannot be had, what went wrong
// is printed and exitCode says how lbk ends.
struct OpenedRun {
    std::unique_ptr<Store> store;
    std::optional<RunDetail> run;
    int exitCode = kOk;
};

OpenedRun openRun(const Common &c, const std::string &ref)
{
    OpenedRun o;
    o.store = openStore(c);
    if (!o.store) {
        o.exitCode = kFailed;
        return o;
    }
    auto r = findRun(*o.store, ref);
    if (!r) {
        printError(r.message());
        o.exitCode = kBadInput;
        return o;
    }
    o.run = std::move(*r);
    return o;
}

// ----- following a run as it trains -----

std::atomic<int> g_interrupts{0};
void onInterrupt(int)
{
    g_interrupts.fetch_add(1);
}

void onStopWhilePreparing(int)
{
    stopCommands();
}

// While lbk prepares a target (commands over ssh or a template that can take minutes), Ctrl-C, SIGTERM and a
// closed terminal stop the command under way: the launch fails and marks its run failed, instead of lbk dying
// with the run queued forever and the command left running. A signal the caller ignores (nohup) stays ignored.
class StopCommandsOnSignals {
public:
    StopCommandsOnSignals()
    {
        for (size_t i = 0; i < std::size(kSignals); ++i) {
            m_previous[i] = std::signal(kSignals[i], onStopWhilePreparing);
            if (m_previous[i] == SIG_IGN)
                std::signal(kSignals[i], SIG_IGN);
        }
    }
    ~StopCommandsOnSignals()
    {
        for (size_t i = 0; i < std::size(kSignals); ++i)
            std::signal(kSignals[i], m_previous[i]);
    }
    StopCommandsOnSignals(const StopCommandsOnSignals &) = delete;
    StopCommandsOnSignals &operator=(const StopCommandsOnSignals &) = delete;

private:
    static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
    void (*m_previous[std::size(kSignals)])(int) = {};
};


// run_started's data object as one line: examples and classes, or an MLM run's documents and sequences. A
// script's data= may give some of the keys, or others of other types: only the numbers given are said.
std::string dataLine(const json &d)
{
    const auto has = [&](const char *key) { return d.contains(key) && d[key].is_number_integer(); };
    const auto n = [&](const char *key) { return has(key) ? std::to_string(d[key].get<int64_t>()) : "?"; };
    if (d.value("objective", json()) == "mlm")
        return n("documents") + " documents (train " + n("train_documents") + ", held out " +
               n("validation_documents") + ") in " + n("train") + " + " + n("validation") + " sequences of " +
               n("sequence_length") + " tokens (" + n("train_tokens") + " training tokens" +
               (d.value("corpus_cached", json()) == true ? ", packed before" : "") + ")";
    std::string line = has("examples") ? n("examples") + " examples" : "";
    if (has("classes"))
        line += (line.empty() ? "" : " in ") + n("classes") + " classes";
    if (has("train"))
        line += (line.empty() ? "" : " ") + std::string("(train ") + n("train") + ", validation " + n("validation") +
                ", test " + n("test") + ")";
    return line.empty() ? d.dump() : line;
}

// The validation metric a run keeps its best checkpoint by (evaluation.metric).
std::string keptByMetric(const RunDetail &r)
{
    const json m = valueAt(r.config, "evaluation.metric");
    return m.is_string() ? m.get<std::string>() : "macro_f1";
}

// Which weights a split's line of `lbk show` was scored with, where the kept checkpoint is not the last step's:
// validation figures are the last evaluation's, the test split is scored once with the kept checkpoint.
std::string weightsNote(const RunSummary &r, const std::string &split, std::optional<double> bestAt)
{
    // The last evaluation's step (a script's need not be its last step; a run stored before final_step: the last)
    const double lastAt =
        split == "val" ? r.summaryValue("final_step", "val/accuracy").value_or(double(r.lastStep)) : double(r.lastStep);
    if (!bestAt || int64_t(*bestAt) == int64_t(lastAt))
        return {};
    if (split == "val")
        return "  (the last evaluation, step " + fmtStep(lastAt) + ")";
    const auto kept = r.testWeightsStep();
    return kept ? "  (the kept checkpoint, step " + fmtStep(double(*kept)) + ")" : "";
}

// A binary run: where its latest validation's F1 peaks, and the threshold to score by (its F1 at 0.5 can hide a
// model that ranks its papers well).
void printThresholdAdvice(const RunSummary &r)
{
    if (const auto a = thresholdAdvice(r.summary.value("val_best_f1", json())))
        std::printf("  val F1 peaks at %s from p >= %s: lbk predict ... --threshold %s\n", fmtMetric(a->f1).c_str(),
                    a->threshold.c_str(), a->threshold.c_str());
}

// An evaluation's line: accuracy and macro-F1, and the metric the run keeps its checkpoint by when it is another
// (a binary run's F1, stuck at 0, is what says it has not learned the rare class).
std::string validationLine(const json &v, const std::string &metric)
{
    if (v.contains("val/perplexity"))
        return "val loss " + fmtMetric(v.value("val/loss", json())) + ", masked-token accuracy " +
               fmtMetric(v["val/accuracy"]) + ", perplexity " + fmtMetric(v["val/perplexity"], 1);
    std::string line =
        "val accuracy " + fmtMetric(v["val/accuracy"]) + ", macro-F1 " + fmtMetric(v.value("val/macro_f1", json()));
    if (metric != "accuracy" && metric != "macro_f1" && v.contains("val/" + metric))
        line += ", " + metricLabel(metric) + " " + fmtMetric(v["val/" + metric]);
    return line;
}

struct Progress {
    bool tty = false;
    bool quiet = false;
    int64_t totalSteps = 0;
    int64_t step = 0;
    double loss = std::nan("");
    double examplesPerSecond = 0;
    double valAccuracy = std::nan(""), valKept = std::nan(""); // valKept: val/<evaluation.metric>
    std::string metric = "macro_f1";
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point lastPlain{};
    std::chrono::steady_clock::time_point firstStepAt{}; // when a step was first seen: the time left is measured
    int64_t firstStep = -1;                              // from there, not from the start (data, tokenizer)
    std::string kind = "train";
    bool drewBar = false;

    // "3m10s left" from the steps' pace since the first one seen, or "" until there are two to measure it by (the
    // start's data loading made the first estimate of a 17 s run "12m28s left").
    std::string timeLeft(std::chrono::steady_clock::time_point now)
    {
        if (step > 0 && firstStep < 0) {
            firstStep = step;
            firstStepAt = now;
        }
        if (totalSteps <= 0 || firstStep < 0 || step <= firstStep)
            return "";
        const double perStep = std::chrono::duration<double>(now - firstStepAt).count() / double(step - firstStep);
        return fmtDuration(perStep * double(std::max<int64_t>(0, totalSteps - step))) + " left";
    }

    // The last evaluation on the bar: the metric the run keeps its checkpoint by, else accuracy.
    std::string valText() const
    {
        if (std::isfinite(valKept))
            return "val " + metricLabel(metric) + " " + fmtMetric(valKept, 3) + "  ";
        return std::isfinite(valAccuracy) ? "val acc " + fmtMetric(valAccuracy, 3) + "  " : "";
    }

    // run_started in a line. A script's library may leave out any of its fields or give them other types (found by
    // a review: `"threads": null` ended lbk's follow with an exception): each is read only when it is what it should
    // be.
    static std::string startedLine(const json &e, const json &d)
    {
        const auto vocab = event::getInt(d, "vocab"), processes = event::getInt(e, "processes");
        const auto threads = event::getInt(e, "threads"), resumedFrom = event::getInt(e, "resumed_from_step");
        return "data: " + dataLine(d) + (vocab ? "; vocabulary " + std::to_string(*vocab) : std::string()) +
               (d.value("tokenizer_cached", json()) == true ? " (cached)" : "") + "; " + event::getStr(e, "device") +
               ", " +
               (processes.value_or(1) > 1
                    ? std::to_string(*processes) + " processes (" + event::getStr(e, "backend", "gloo") + ") x "
                    : std::string()) +
               (threads ? counted(*threads, "thread") : std::string("threads not said")) +
               (resumedFrom ? ", resumed from step " + std::to_string(*resumedFrom) : std::string());
    }

    void onEvent(const json &e)
    {
        const std::string type = event::getStr(e, "type");
        if (type == "run_started") {
            totalSteps = event::getInt(e, "total_steps").value_or(0);
            kind = event::getStr(e, "kind", "train");
            if (const json m = valueAt(e.value("config", json()), "evaluation.metric"); m.is_string())
                metric = m.get<std::string>();
            if (const json *d = event::getObj(e, "data"); d && !quiet)
                say(startedLine(e, *d));
        } else if (type == "metrics") {
            step = event::getInt(e, "step").value_or(step);
            const auto it = e.find("values");
            if (it == e.end() || !it->is_object())
                return;
            const auto &v = *it;
            if (v.contains("train/loss") && v["train/loss"].is_number())
                loss = v["train/loss"];
            if (v.contains("train/examples_per_s") && v["train/examples_per_s"].is_number())
                examplesPerSecond = v["train/examples_per_s"];
            if (v.contains("val/accuracy") && v["val/accuracy"].is_number())
                valAccuracy = v["val/accuracy"];
            if (const auto kept = v.find("val/" + metric); kept != v.end() && kept->is_number())
                valKept = *kept;
            if (v.contains("val/accuracy") && !tty && !quiet)
                say("step " + stepText() + ": " + validationLine(v, metric));
            draw();
        } else if (type == "lr_point" && kind == "lr_find") { // a script's own range test is not its training
            step = event::getInt(e, "index").value_or(0) + 1;
            if (e.contains("smoothed") && e["smoothed"].is_number())
                loss = e["smoothed"];
            draw();
        } else if (type == "log") {
            const std::string level = event::getStr(e, "level", "info");
            if (!quiet || level != "info")
                say((level == "info" ? "" : level + ": ") + event::getStr(e, "message"));
        }
    }

    // "120/400", or "120" when the run did not say how many steps it takes (a script of its own).
    std::string stepText() const
    {
        return std::to_string(step) + (totalSteps > 0 ? "/" + std::to_string(totalSteps) : "");
    }

    // "loss 0.8430  " and "156 ex/s  ", or nothing until the run has logged one (an evaluation may come first).
    std::string lossText() const
    {
        char text[48];
        std::snprintf(text, sizeof text, "loss %.4f  ", loss);
        return std::isnan(loss) ? std::string() : text;
    }
    std::string speedText() const
    {
        char text[48];
        std::snprintf(text, sizeof text, "%.0f ex/s  ", examplesPerSecond);
        return examplesPerSecond > 0 ? text : std::string();
    }

    void say(const std::string &line)
    {
        if (drewBar) {
            std::fprintf(stderr, "\r\033[K");
            drewBar = false;
        }
        std::fprintf(stderr, "%s\n", withStore(line).c_str());
        draw();
    }

    void draw()
    {
        if (quiet)
            return;
        const auto now = std::chrono::steady_clock::now();
        const double elapsed = std::chrono::duration<double>(now - start).count();
        char line[256];
        if (tty) {
            const int width = 24;
            const double frac = totalSteps > 0 ? std::min(1.0, double(step) / double(totalSteps)) : 0.0;
            std::string bar(size_t(frac * width), '#');
            bar.resize(size_t(width), '.');
            std::snprintf(line, sizeof line, "[%s] %3d%% step %s  %s%s%s", bar.c_str(), int(frac * 100),
                          stepText().c_str(), lossText().c_str(), valText().c_str(),
                          (speedText() + timeLeft(now)).c_str());
            std::fprintf(stderr, "\r\033[K%s", line);
            drewBar = true;
        } else if (now - lastPlain > std::chrono::seconds(10) && step > 0) {
            lastPlain = now;
            std::snprintf(line, sizeof line, "step %s  %s%s%s elapsed", stepText().c_str(), lossText().c_str(),
                          speedText().c_str(), fmtDuration(elapsed).c_str());
            std::fprintf(stderr, "%s\n", line);
        }
        std::fflush(stderr);
    }

    void done()
    {
        if (drewBar)
            std::fprintf(stderr, "\r\033[K");
        drewBar = false;
    }
};

// A followed run's exit code: 0 finished, 3 cancelled, else 1; an LR range test that suggests no rate is 1 too
// (what it was run for, a script reads from the code).
int exitCodeOf(const RunDetail &r)
{
    switch (r.status) {
    case RunStatus::Finished: {
        const json s = r.summary.value("lr_suggestion", json());
        return !r.lrFind() || (s.is_object() && s.value("lr", json()).is_number()) ? kOk : kFailed;
    }
    case RunStatus::Cancelled: return kCancelled;
    default: return kFailed;
    }
}

// Bytes of the files under a folder (0 for one that cannot be read).
uintmax_t folderBytes(const fs::path &folder)
{
    uintmax_t bytes = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
        if (std::error_code e; it->is_regular_file(e)) // a file renamed meanwhile (a checkpoint saved) counts 0
            if (const uintmax_t n = it->file_size(e); !e)
                bytes += n;
    return bytes;
}

// "515 MB", "12 kB", "3.4 GB" (decimal units, as df -H and file managers count).
std::string fmtSize(uintmax_t bytes)
{
    char text[32];
    if (bytes >= 10'000'000'000ULL)
        std::snprintf(text, sizeof text, "%.0f GB", double(bytes) / 1e9);
    else if (bytes >= 1'000'000'000ULL)
        std::snprintf(text, sizeof text, "%.1f GB", double(bytes) / 1e9);
    else if (bytes >= 1'000'000ULL)
        std::snprintf(text, sizeof text, "%.0f MB", double(bytes) / 1e6);
    else
        std::snprintf(text, sizeof text, "%.0f kB", double(bytes) / 1e3);
    return text;
}

void printRunSummary(const RunDetail &r)
{
    std::printf("%s\n", runHeadline(r).c_str());
    if (!r.error.empty())
        std::printf("  reason: %s\n", withStore(r.error).c_str());
    if (r.lrFind()) {
        const json s = r.summary.value("lr_suggestion", json());
        if (s.is_object() && s.value("lr", json()).is_number())
            std::printf("  suggested learning rate: %.3g (steepest descent of the smoothed loss)\n",
                        s["lr"].get<double>());
        else if (r.status == RunStatus::Finished)
            std::printf("  no suggestion: %s\n", s.is_object() ? event::getStr(s, "reason", "?").c_str() : "?");
    } else {
        // A script that ran the range test itself before training (the Python library's run.lr_finder()).
        if (const json s = r.summary.value("lr_suggestion", json()); s.is_object() && s.value("lr", json()).is_number())
            std::printf("  suggested learning rate (its LR range test): %.3g\n", s["lr"].get<double>());
        const std::string metric = keptByMetric(r);
        const auto best = r.summaryValue("best", "val/" + metric);
        const auto bestAt = r.summaryValue("best_step", "val/" + metric);
        for (const char *split : {"val", "test"}) {
            const std::string s = split;
            const auto acc = r.summaryValue("final", s + "/accuracy");
            if (!acc)
                continue;
            if (const auto ppl = r.summaryValue("final", s + "/perplexity")) { // an MLM run
                std::printf("  %-5s masked-token accuracy %s  loss %s  perplexity %s\n", split, fmtMetric(acc).c_str(),
                            fmtMetric(r.summaryValue("final", s + "/loss")).c_str(), fmtMetric(ppl, 1).c_str());
                continue;
            }
            std::printf("  %-5s accuracy %s  macro-F1 %s", split, fmtMetric(acc).c_str(),
                        fmtMetric(r.summaryValue("final", s + "/macro_f1")).c_str());
            for (const std::string_view key : scalarMetricKeys()) {
                const std::string extra(key);
                if (extra == "accuracy" || extra == "macro_f1" || extra == "loss")
                    continue; // the first two lead the line; the loss says little to a reader
                if (const auto v = r.summaryValue("final", s + "/" + extra))
                    std::printf("  %s %s", metricLabel(extra).c_str(), fmtMetric(v).c_str());
            }
            std::printf("%s\n", weightsNote(r, s, bestAt).c_str());
        }
        // Labbook's worker keeps the best step's checkpoint; a script's run (lbk record) keeps what it chose to.
        const std::string kept = trainedByLabbook(r) ? " (the kept checkpoint)" : "";
        if (best)
            std::printf("  best val %s %s%s\n", metric.c_str(), fmtMetric(best).c_str(),
                        bestAt ? (" at step " + fmtStep(bestAt) + kept).c_str() : "");
        printThresholdAdvice(r);
    }
    // Deleted by hand after the run ended: what its recorded reason offers (a resume, an export) needs it.
    std::error_code ec;
    if (!r.runDir.empty() && !fs::exists(r.runDir, ec)) {
        std::printf("  run folder: %s (gone: its checkpoints and journal went with it, so it cannot be resumed or "
                    "exported; what the store holds stays)\n", r.runDir.c_str());
        return;
    }
    // A run stopped early says how to go on, unless its reason already does (an interrupted run's does).
    if ((r.status == RunStatus::Cancelled || r.status == RunStatus::Interrupted) &&
        r.error.find("lbk resume") == std::string::npos && r.error.find("lbk lr-find") == std::string::npos)
        std::printf("  to go on: %s\n", withStore(howToGoOn(r)).c_str());
    // Its size too (found by an audit: a run cancelled after 7 s held 515 MB, its optimizer's state, unannounced).
    std::printf("  run folder: %s (%s)\n", r.runDir.c_str(), fmtSize(folderBytes(r.runDir)).c_str());
}

// Follows a started worker until it ends, ingesting its journal; returns the exit code for lbk.
int follow(Store &store, RunDetail run, const ProcessInfo &proc, bool quiet)
{
    Progress progress;
    progress.tty = ::isatty(STDERR_FILENO);
    progress.quiet = quiet;
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    int handledInterrupts = 0;
    int exitCode = -1;
    auto onEvent = [&](const json &e) { progress.onEvent(e); };
    int64_t shown = -1;
    while (true) {
        auto st = syncRun(store, run, onEvent, &shown);
        if (!st)
            printError("warning: " + st.message());
        if (exitCode >= 0)
            break;
        const int interrupts = g_interrupts.load();
        if (interrupts > handledInterrupts) {
            handledInterrupts = interrupts;
            // First Ctrl-C: the worker saves a checkpoint and ends as cancelled; the second one kills it.
            ::kill(pid_t(proc.pid), interrupts == 1 ? SIGTERM : SIGKILL);
            const auto now = store.runById(run.id); // run is as launched: queued
            progress.say(interrupts == 1
                             ? "cancelling (" + whatAStopDoes(now ? *now : run) + "; Ctrl-C again to kill it)"
                             : std::string("killing the worker"));
        }
        if (reapChild(proc.pid, &exitCode))
            continue; // one more ingest for the last lines
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
    }
    progress.done();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    auto fresh = store.runById(run.id);
    if (!fresh) {
        printError(fresh.message());
        return kFailed;
    }
    if (isActive(fresh->status) && syncRun(store, *fresh)) {
        // The worker ended without a final event (crashed or killed), and the journal was read to its end.
        const std::string why = endedUnreportedReason("the worker (exit code " + std::to_string(exitCode) + ")",
                                                      fresh->lastStep, howToGoOn(*fresh), workerLogTail(*fresh));
        (void)store.markInterrupted(run.id, fresh->pid, fresh->pidStart, why);
        fresh = store.runById(run.id);
    }
    printRunSummary(*fresh);
    return exitCodeOf(*fresh);
}

// follow() for a run on a target: the journal streams into the local mirror and the store (launch/remote.h).
int followRemote(Store &store, const RunDetail &run, const Target &target, bool quiet, bool interruptCancels = true)
{
    Progress progress;
    progress.tty = ::isatty(STDERR_FILENO);
    progress.quiet = quiet;
    g_interrupts.store(0);
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    FollowOptions fo;
    fo.onEvent = [&](const json &e) { progress.onEvent(e); };
    fo.onNotice = [&](const std::string &m) { progress.say(m); };
    fo.interrupts = &g_interrupts;
    fo.interruptCancels = interruptCancels;
    auto end = followRemoteRun(store, target, run, fo);
    progress.done();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (!end) {
        printError(end.message());
        return kFailed;
    }
    if (*end != FollowEnd::Ended) {
        const std::string id = std::to_string(run.id);
        std::fprintf(stderr, "%s\n",
                     withStore("stopped following run " + id + "; it goes on on " + target.name + ". `lbk resume " +
                               id + "` follows it again" +
                               (*end == FollowEnd::LostConnection ? " once the target can be reached" : "") +
                               ", `lbk cancel " + id + "` stops it").c_str());
        return interruptCancels || *end == FollowEnd::LostConnection ? kFailed : kOk;
    }
    auto fresh = store.runById(run.id);
    if (!fresh) {
        printError(fresh.message());
        return kFailed;
    }
    printRunSummary(*fresh);
    return exitCodeOf(*fresh);
}

// The target a name means (kLocalTarget: this machine), or nothing after printing why.
std::optional<Target> findTarget(const Common &c, const std::string &name)
{
    if (!isRemoteTarget(name))
        return localTarget();
    auto file = loadTargetsFor(c);
    if (!file) {
        printError(file.message());
        return std::nullopt;
    }
    auto target = usecase::findTarget(*file, name);
    if (!target) {
        printError(target.message());
        return std::nullopt;
    }
    return std::move(*target);
}

int exitCodeOf(const Error &e)
{
    return e.badInput ? kBadInput : kFailed;
}

std::vector<std::string> splitTags(const std::vector<std::string> &tags)
{
    std::vector<std::string> out;
    for (const auto &t : tags) {
        std::stringstream ss(t);
        for (std::string part; std::getline(ss, part, ',');)
            if (!part.empty())
                out.push_back(part);
    }
    return out;
}

} // namespace

namespace {

// Why the experiment's data is not on this machine ("" when it is): a note for lbk validate, not an error (a
// target with its own data_root may have it).
std::string missingDataNote(const Experiment &e, const std::string &dataRoot)
{
    const std::string why = dataNotHere(e.data.paths, dataRoot);
    return why.empty() ? why : why + " here (a target with its own data_root may have it)";
}

// model.init_from "run:REF" against the store's runs, as a launch would resolve it: a wrong run is an issue; what
// it replaces, or a store that is not there to ask, a note.
void checkInitRun(const Common &c, const Experiment &e, std::vector<ValidationIssue> &issues,
                  std::vector<std::string> &notes)
{
    const fs::path path = Store::pathOr(c.store);
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        notes.push_back("model.init_from: no store at " + path.string() + " to find run " + e.model.initRun().ref +
                        " in: a launch with this store would refuse the file until that run is there (--store names "
                        "the store that holds it)");
        return;
    }
    auto store = Store::openExisting(path);
    if (!store) {
        issues.push_back({"model.init_from", "model.init_from: " + store.message()});
        return;
    }
    (void)syncActiveRuns(**store); // a detached run that ended meanwhile is seen as ended, as a launch would see it
    std::vector<std::string> replaced;
    if (auto resolved = usecase::resolveInitRun(**store, e, replaced); !resolved)
        issues.push_back({"model.init_from", resolved.message()});
    for (const auto &note : replaced)
        notes.push_back(note);
}

// The model.init_from folder against the experiment (a launch's check), where a relative one was read, and what
// allow_missing_weights starts at random.
void checkInitFolder(const Common &c, const Experiment &e, std::vector<ValidationIssue> &issues,
                     std::vector<std::string> &notes)
{
    if (auto bad = usecase::pretrainedFolderProblem(e, c.dataRoot)) { // as a launch refuses it
        issues.push_back({"model.init_from", *bad});
        return;
    }
    const fs::path folder = resolveDataPath(e.model.initFrom, c.dataRoot);
    if (startsAtDataRoot(e.model.initFrom))
        notes.push_back("model.init_from: read from " + folder.string() +
                        " (a relative path starts at the data root; --data-root changes it)");
    if (auto f = hf::inspectCheckpointFolder(folder))
        if (auto random = leftAtRandomNote(e, *f))
            notes.push_back(*random);
}

// An experiment (the file's JSON, named) beyond its schema: the encoder it starts from, data not found here, fields
// set that do nothing. A sweep that gives model.init_from its values has them checked as each trial starts.
void checkExperiment(const Common &c, const json &j, bool initFromSwept, std::vector<ValidationIssue> &issues,
                     std::vector<std::string> &notes)
{
    auto e = experimentFromJson(j);
    if (!e)
        return; // its schema's issues are said already
    if (initFromSwept)
        notes.push_back("model.init_from is swept: each trial's folder or run is checked as it starts");
    else if (e->model.pretrained())
        checkInitFolder(c, *e, issues, notes);
    else if (e->model.initFromRun())
        checkInitRun(c, *e, issues, notes);
    if (auto missing = missingDataNote(*e, c.dataRoot); !missing.empty())
        notes.push_back(missing);
    for (auto &unused : unusedFieldNotes(j))
        notes.push_back(std::move(unused));
}

// A sweep file: the sweep's own checks (its keys, ranges and early stopping), then its base experiment's.
void checkSweepFile(const Common &c, const json &j, const std::string &file, std::vector<ValidationIssue> &issues,
                    std::vector<std::string> &notes)
{
    auto sweep = sweepFromJson(j, fs::path(file).parent_path());
    if (!sweep) { // every problem, one a line
        std::istringstream lines(sweep.message());
        for (std::string line; std::getline(lines, line);)
            issues.push_back({"", line});
        return;
    }
    if (auto trials = checkTrials(*sweep); !trials) {
        issues.push_back({"", trials.message()});
        return;
    }
    for (auto &notice : sweepNotices(*sweep))
        notes.push_back(std::move(notice));
    json base = sweep->base;
    if (!base.contains("name"))
        base["name"] = sweep->name;
    const bool initFromSwept = std::any_of(sweep->parameters.begin(), sweep->parameters.end(),
                                           [](const ParamSpec &p) { return p.key == "model.init_from"; });
    checkExperiment(c, base, initFromSwept, issues, notes);
}

// What validate found in one file, as --json reports it.
json validationJson(const std::string &file, const std::vector<ValidationIssue> &issues,
                    const std::vector<std::string> &notes)
{
    json out = {{"file", file}, {"valid", issues.empty()}, {"errors", json::array()}};
    for (const auto &i : issues)
        out["errors"].push_back({{"path", i.path}, {"message", i.message}});
    if (!notes.empty())
        out["notes"] = notes;
    return out;
}

// What validate found in one file, said: "FILE: valid" and its notes (each naming the file when there are several
// files), or every error and their count.
void printValidation(const std::string &file, const std::vector<ValidationIssue> &issues,
                     const std::vector<std::string> &notes, bool severalFiles)
{
    if (issues.empty()) {
        std::printf("%s: valid\n", file.c_str());
        std::fflush(stdout); // its notes follow it on a terminal
        for (const auto &note : notes)
            std::fprintf(stderr, "%snote: %s\n", severalFiles ? (file + ": ").c_str() : "", note.c_str());
        return;
    }
    for (const auto &i : issues) // a file that cannot be read is named by its message already
        std::fprintf(stderr, "%s\n",
                     toValidUtf8(i.message.starts_with(file) ? i.message : file + ": " + i.message).c_str());
    std::fprintf(stderr, "%s: %s\n", file.c_str(), counted(issues.size(), "error").c_str());
}

// One experiment or sweep file's errors, and its notes: data not found here (a target with its own data_root
// has it), where a relative init_from was read.
std::vector<ValidationIssue> checkFile(const Common &c, const std::string &file, std::vector<std::string> &notes)
{
    auto j = readJsonFile(file);
    if (!j)
        return {{"", j.message()}};
    std::vector<ValidationIssue> issues;
    if (isSweepJson(*j)) {
        checkSweepFile(c, *j, file, issues, notes);
        return issues;
    }
    if (j->is_object() && !j->contains("name"))
        (*j)["name"] = fs::path(file).stem().string();
    issues = validateExperimentJson(*j);
    if (issues.empty())
        checkExperiment(c, *j, false, issues, notes);
    return issues;
}

} // namespace

int validate(const Common &c, const std::vector<std::string> &files)
{
    json reports = json::array();
    size_t invalid = 0;
    for (const auto &file : files) {
        std::vector<std::string> notes;
        const auto issues = checkFile(c, file, notes);
        invalid += issues.empty() ? 0 : 1;
        if (c.json)
            reports.push_back(validationJson(file, issues, notes));
        else
            printValidation(file, issues, notes, files.size() > 1);
    }
    if (c.json)
        std::printf("%s\n", dumpJson(files.size() == 1 ? reports[0] : reports).c_str());
    else if (files.size() > 1 && invalid > 0)
        std::fprintf(stderr, "%zu of %zu files have errors\n", invalid, files.size());
    return invalid == 0 ? kOk : kBadInput;
}

int schema(const Common &c, bool markdown)
{
    if (markdown || !c.json) {
        std::printf("%s", schemaMarkdown().c_str());
        return kOk;
    }
    json out = json::array();
    for (const auto &f : experimentFields())
        out.push_back({{"path", f.path},       {"group", f.group}, {"type", fieldTypeName(f.type)},
                       {"default", f.defaultValue}, {"choices", f.choices}, {"help", f.help},
                       {"min", f.min ? json(*f.min) : json()}, {"max", f.max ? json(*f.max) : json()}});
    std::printf("%s\n", dumpJson(out).c_str());
    return kOk;
}

// What `lbk run --detach` prints: the run's id, or with --json where it runs.
void printDetached(const Common &c, const RunDetail &run, const usecase::Launched &launched)
{
    if (!c.json) {
        std::printf("%lld\n", (long long)run.id);
        return;
    }
    json j = {{"id", run.id}, {"uid", run.uid}};
    if (launched.worker)
        j["pid"] = launched.worker->pid;
    else
        j.update({{"target", run.target}, {"job_id", run.jobId}});
    std::printf("%s\n", dumpJson(j, -1).c_str());
}

int run(const Common &c, const RunOptions &o)
{
    auto exp = loadExperimentFile(o.file);
    if (!exp) {
        std::fprintf(stderr, "%s\n", exp.message().c_str());
        return kBadInput;
    }
    auto store = openStore(c, true, true);
    if (!store)
        return kFailed;
    const auto target = findTarget(c, o.target);
    if (!target)
        return kBadInput;
    LaunchRequest req;
    req.dataRoot = c.dataRoot;
    req.lrFind = o.lrFind;
    req.name = o.name;
    req.tags = splitTags(o.tags);
    req.experimentFile = o.file;
    auto launched = [&] {
        StopCommandsOnSignals stops;
        return usecase::launch(*store, *target, *exp, req, [&](const std::string &m) {
            if (!o.quiet || m.rfind("note: ", 0) == 0) // --quiet hides progress, never what was changed
                std::fprintf(stderr, "%s\n", m.c_str());
        });
    }();
    if (!launched) {
        printError(launched.message());
        return exitCodeOf(launched.error()); // 2 for what the user can fix (a bad model.init_from run)
    }
    const RunDetail &run = launched->run;
    std::string where = launched->worker ? "started, worker pid " + std::to_string(launched->worker->pid)
                                         : "started on " + target->name;
    if (target->type == TargetType::Slurm) { // queued until Slurm starts it (found by an audit: "started")
        const auto fresh = store->runById(run.id);
        const bool known = fresh && !fresh->jobId.empty();
        where = "submitted to " + target->name + (known ? " as Slurm job " + fresh->jobId : std::string());
    }
    if (!o.quiet)
        std::fprintf(stderr, "%s run %lld (%s) of %s %s; store %s\n", o.lrFind ? "LR range test" : "Training",
                     (long long)run.id, run.uid.c_str(), o.file.c_str(), where.c_str(), store->path().c_str());
    if (o.detach) {
        printDetached(c, run, *launched);
        return kOk;
    }
    return launched->worker ? follow(*store, run, *launched->worker, o.quiet)
                            : followRemote(*store, run, *target, o.quiet);
}

int resume(const Common &c, const std::string &ref, bool detach, bool quiet)
{
    auto [store, run, failure] = openRun(c, ref);
    if (!run)
        return failure;
    const auto target = findTarget(c, run->target);
    if (!target)
        return kBadInput;
    LaunchRequest req;
    req.dataRoot = c.dataRoot;
    auto resumed = [&] {
        StopCommandsOnSignals stops;
        return usecase::resume(*store, *target, *run, req);
    }();
    if (!resumed) {
        printError(resumed.message());
        return exitCodeOf(resumed.error());
    }
    if (const auto trial = store->trialOfRun(run->id); trial && trial->state == TrialState::Pruned)
        std::fprintf(stderr, "note: run %lld is trial %d of sweep %lld, which pruned it (%s); the sweep keeps it as "
                     "pruned at its value then, and this run's own record shows what going on gives\n",
                     (long long)run->id, trial->trial, (long long)trial->sweep, trial->reason.c_str());
    if (!quiet) {
        const std::string on = target->remote() ? " on " + target->name : "";
        const std::string from = ": it " + whatAResumeDoes(*run);
        if (!resumed->started) // found by an audit: a Ctrl-C to stop watching cancelled the run
            std::fprintf(stderr, "Following run %lld (%s)%s again (Ctrl-C stops following; the run goes on, %s)\n",
                         (long long)run->id, run->uid.c_str(), on.c_str(),
                         withStore("`lbk cancel " + std::to_string(run->id) + "` stops it").c_str());
        else if (resumed->worker)
            std::fprintf(stderr, "Resuming run %lld (%s), worker pid %lld%s\n", (long long)run->id,
                         run->uid.c_str(), (long long)resumed->worker->pid, from.c_str());
        else
            std::fprintf(stderr, "Resuming run %lld (%s)%s%s\n", (long long)run->id, run->uid.c_str(), on.c_str(),
                         from.c_str());
    }
    if (detach)
        return kOk;
    return resumed->worker ? follow(*store, *run, *resumed->worker, quiet)
                           : followRemote(*store, *run, *target, quiet, resumed->started);
}

int runs(const Common &c, const RunsOptions &o)
{
    auto store = openStore(c);
    if (!store)
        return kFailed;
    RunFilter f;
    if (!o.status.empty()) { // the words the STATUS column says: a run a sweep pruned is "pruned", not "cancelled"
        f.status = o.status == "pruned" ? RunStatus::Cancelled : runStatusFromString(o.status);
        if (!f.status) {
            printError("--status " + o.status + ": unknown status; use queued, running, finished, failed, cancelled, "
                       "pruned or interrupted");
            return kBadInput;
        }
        if (*f.status == RunStatus::Cancelled)
            f.pruned = o.status == "pruned";
    }
    f.experiment = o.experiment;
    f.tag = o.tag;
    f.text = o.search;
    f.kind = o.kind;
    f.limit = o.limit;
    const auto list = store->runs(f);
    if (c.json) {
        json out = json::array();
        for (const auto &r : list)
            out.push_back(runJson(r));
        std::printf("%s\n", dumpJson(out).c_str());
        return kOk;
    }
    // The validation columns are the GUI's: best values (the kept checkpoint's choice), else final.
    Table t({"ID", "STATUS", "NAME", "KIND", "TASK", "STEP", "BEST ACC", "BEST F1", "TEST ACC", "STARTED", "TIME",
             "HOST", "TAGS"});
    for (const auto &r : list)
        t.add({std::to_string(r.id), r.statusWord(), r.name, r.kind, r.task, std::to_string(r.lastStep),
               fmtMetric(r.listedValue("val/accuracy"), 3), fmtMetric(r.listedValue(r.listedF1Key()), 3),
               fmtMetric(r.summaryValue("final", "test/accuracy"), 3), fmtTime(r.startedAt > 0 ? r.startedAt : r.createdAt),
               fmtDuration(r.duration()), r.host, joinTags(r.tags)});
    std::printf("%s", t.render().c_str());
    if (list.empty())
        std::printf("(no runs in %s)\n", store->path().c_str());
    return kOk;
}

namespace {

// The runs this one is linked to by model.init_from "run:UID", either way.
void printLineage(const Store &store, const RunDetail &r)
{
    if (const auto source = usecase::encoderSource(store, r)) {
        const std::string at = source->step >= 0 ? ", its weights of step " + std::to_string(source->step) : "";
        std::printf("  encoder from: %s\n",
                    source->run ? ("run " + std::to_string(source->run->id) + " " + source->run->name + " (" +
                                   source->uid + ")" + at).c_str()
                                : ("run " + source->uid + at + " (no longer in this store)").c_str());
    }
    std::vector<std::string> tunes, continuations; // classifiers from it; pre-training runs that went on from it
    for (const auto &f : usecase::fineTunedFrom(store, r)) // one that failed or stopped says so
        (isPretraining(f) ? continuations : tunes).push_back(std::to_string(f.id) + " " + f.name + usecase::endNote(f));
    if (!tunes.empty())
        std::printf("  fine-tuned by runs: %s\n", joinTags(tunes, ", ").c_str());
    if (!continuations.empty())
        std::printf("  pre-training continued by runs: %s\n", joinTags(continuations, ", ").c_str());
}

// What a summary holds besides the metrics tables and the run's own facts: a trainer's flags ("stopped_early":
// false) and whatever a script passed to finish() that is no number ({"best_model": "resnet"}).
void printOtherSummary(const RunDetail &r)
{
    // test_checkpoint: the test line says "(the kept checkpoint)" (an MLM run, which has no test, listed it).
    static const std::set<std::string> shownElsewhere = {"final", "final_step", "best", "best_step", "run", "data",
                                                          "lr_suggestion", "kept_checkpoint", "val_best_f1",
                                                          "test_checkpoint", "val_labels"};
    Table t({"KEY", "VALUE"});
    bool any = false;
    for (const auto &[k, v] : r.summary.items()) {
        if (shownElsewhere.count(k))
            continue;
        t.add({k, v.is_string() ? v.get<std::string>() : v.dump()});
        any = true;
    }
    if (any)
        std::printf("\nOther summary values\n%s", t.render().c_str());
}

// Files the run reported: checkpoints and tokenizer for Labbook's runs, run.artifact() paths for a script's.
void printArtifacts(const std::vector<ArtifactRecord> &artifacts)
{
    if (artifacts.empty())
        return;
    Table t({"KIND", "STEP", "PATH"});
    for (const auto &a : artifacts)
        t.add({a.kind, std::to_string(a.step), a.path});
    std::printf("\nArtifacts (relative paths are in the run folder)\n%s", t.render().c_str());
}

// A binary run's test papers: how many are positive and what an all-negative guess scores, and the evaluation's
// cautions (no paper predicted positive): accuracy alone hides a model that learned nothing of a rare class.
void printTestBase(const json &summary)
{
    if (!summary.is_object())
        return;
    const json counts = summary.value("positives", json()), examples = summary.value("examples", json());
    const json positives = counts.is_object() ? counts.value("true", json()) : json();
    if (positives.is_number_integer() && examples.is_number_integer() && examples.get<int64_t>() > 0) {
        const double share = double(positives.get<int64_t>()) / double(examples.get<int64_t>());
        std::printf("  test papers: %lld of %lld positive (%.1f%%); predicting none scores accuracy %s\n",
                    (long long)positives.get<int64_t>(), (long long)examples.get<int64_t>(), 100 * share,
                    fmtMetric(1 - share).c_str());
    }
    if (const json cautions = summary.value("cautions", json()); cautions.is_array())
        for (const auto &c : cautions)
            if (c.is_string())
                std::printf("  caution (test): %s\n", c.get<std::string>().c_str());
}

std::vector<std::string> warningsOf(const Store &store, int64_t run)
{
    std::vector<std::string> out;
    for (const auto &l : store.logs(run))
        if (l.level == "warning" || l.level == "error")
            out.push_back(toValidUtf8(l.message));
    return out;
}

// What the store warned of while it read the run's journal (lines skipped, a config it could not take) and what
// the run itself warned of: the first few, with where the rest are.
void printWarnings(const std::vector<std::string> &warnings, int64_t run)
{
    constexpr size_t kShown = 8;
    if (warnings.empty())
        return;
    std::printf("\n%s\n", counted(int64_t(warnings.size()), "warning").c_str());
    for (size_t i = 0; i < std::min(kShown, warnings.size()); ++i)
        std::printf("  %s\n", warnings[i].c_str());
    if (warnings.size() > kShown)
        std::printf("  ... and %zu more (lbk show %lld --json lists them all)\n", warnings.size() - kShown,
                    (long long)run);
}

} // namespace

int show(const Common &c, const std::string &ref)
{
    auto [store, r, failure] = openRun(c, ref);
    if (!r)
        return failure;
    if (c.json) {
        json out = runJson(*r);
        out["config"] = r->config;
        out["metric_keys"] = store->metricKeys(r->id);
        json arts = json::array();
        for (const auto &a : store->artifacts(r->id))
            arts.push_back({{"kind", a.kind}, {"path", a.path}, {"step", a.step}});
        out["artifacts"] = arts;
        if (const auto source = usecase::encoderSource(*store, *r))
            out["encoder_from"] = source->uid;
        json fineTuned = json::array();
        for (const auto &f : usecase::fineTunedFrom(*store, *r))
            fineTuned.push_back(f.uid);
        out["fine_tuned_by"] = fineTuned;
        out["warnings"] = warningsOf(*store, r->id);
        std::printf("%s\n", dumpJson(out).c_str());
        return kOk;
    }
    printRunSummary(*r);
    std::printf("  experiment: %s   kind: %s   host: %s   pid: %lld   target: %s\n", r->experiment.c_str(),
                r->kind.c_str(), r->host.c_str(), (long long)r->pid, r->target.c_str());
    std::printf("  created %s, started %s, last step %lld, config hash %s\n", fmtTime(r->createdAt).c_str(),
                fmtTime(r->startedAt).c_str(), (long long)r->lastStep, r->configHash.c_str());
    if (const json d = r->summary.value("data", json()); d.is_object()) // Labbook's figures, or a script's data=
        std::printf("  data: %s\n", dataLine(d).c_str());
    if (!r->tags.empty())
        std::printf("  tags: %s\n", joinTags(r->tags).c_str());
    if (!r->notes.empty())
        std::printf("  notes: %s\n", r->notes.c_str());
    printLineage(*store, *r);
    const auto evals = store->evaluations(r->id, "test");
    if (!evals.empty())
        printTestBase(evals.back().summary);
    // Every metric with a final value, and those a script gave only a best of (finish({"best/val/f1": ...})).
    std::set<std::string> keys;
    for (const char *part : {"final", "best"})
        if (const json p = r->summary.value(part, json()); p.is_object())
            for (const auto &[k, v] : p.items())
                if (std::string(part) == "final" || listsBest(k))
                    keys.insert(k);
    if (!keys.empty()) {
        std::printf("\nFinal metrics\n");
        Table t({"METRIC", "FINAL", "BEST", "BEST AT"});
        const json final = r->summary.value("final", json::object());
        for (const auto &k : keys)
            t.add({k, final.is_object() && final.contains(k) ? fmtMetric(final[k]) : "-",
                   listsBest(k) ? fmtMetric(r->summaryValue("best", k)) : "-",
                   listsBest(k) ? fmtStep(r->summaryValue("best_step", k)) : "-"});
        std::printf("%s", t.render().c_str());
    }
    if (!evals.empty() && evals.back().summary.is_object() && evals.back().summary.contains("per_class") &&
        evals.back().summary["per_class"].is_array()) {
        // Scored on the weights the test line above names: the kept checkpoint's step, not the event's.
        const std::string kept = weightsNote(*r, "test", r->summaryValue("best_step", "val/" + keptByMetric(*r)));
        std::printf("\nPer-class test metrics %s\n",
                    kept.empty() ? ("(step " + std::to_string(evals.back().step) + ")").c_str() : kept.c_str() + 2);
        Table t({"LABEL", "PRECISION", "RECALL", "F1", "SUPPORT"});
        for (const auto &pc : evals.back().summary["per_class"]) {
            if (!pc.is_object())
                continue; // an external trainer's summary may hold anything
            const json label = pc.value("label", json()), support = pc.value("support", json());
            t.add({label.is_string() ? label.get<std::string>() : label.dump(), fmtMetric(pc.value("precision", json()), 3),
                   fmtMetric(pc.value("recall", json()), 3), fmtMetric(pc.value("f1", json()), 3),
                   support.is_number() ? std::to_string(support.get<int64_t>()) : "-"});
        }
        std::printf("%s", t.render().c_str());
    }
    printOtherSummary(*r);
    printArtifacts(store->artifacts(r->id));
    printWarnings(warningsOf(*store, r->id), r->id);
    std::printf("\nConfig\n%s\n", dumpJson(r->config).c_str());
    return kOk;
}

namespace {

// The final metrics any of the runs recorded, sorted.
std::vector<std::string> finalMetricKeys(const std::vector<RunDetail> &runs)
{
    std::vector<std::string> keys;
    for (const auto &r : runs)
        if (r.summary.contains("final"))
            for (const auto &[k, v] : r.summary["final"].items())
                if (v.is_number() && std::find(keys.begin(), keys.end(), k) == keys.end())
                    keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    return keys;
}

json comparisonJson(const std::vector<RunDetail> &runs, const std::vector<std::string> &diff,
                    const std::vector<std::string> &metricKeys)
{
    json out = {{"runs", json::array()}, {"config_diff", json::object()}, {"metrics", json::object()}};
    for (const auto &r : runs)
        out["runs"].push_back({{"id", r.id}, {"name", r.name}, {"status", toString(r.status)}});
    for (const auto &k : diff) {
        json row = json::array();
        for (const auto &r : runs)
            row.push_back(valueAt(r.config, k));
        out["config_diff"][k] = row;
    }
    for (const auto &k : metricKeys) {
        json row = json::array();
        for (const auto &r : runs) {
            const auto v = r.summaryValue("final", k);
            row.push_back(v ? json(*v) : json());
        }
        out["metrics"][k] = row;
    }
    return out;
}

// The differing config keys, then the final metrics with the best of each row marked.
void printComparison(const std::vector<RunDetail> &runs, const std::vector<std::string> &diff,
                     const std::vector<std::string> &metricKeys)
{
    std::vector<std::string> header = {"CONFIG KEY"};
    for (const auto &r : runs) // a pruned trial's figures are from before its sweep stopped it
        header.push_back("#" + std::to_string(r.id) + " " + r.name + (r.pruned() ? " (pruned)" : ""));
    Table cfg(header);
    for (const auto &k : diff) {
        std::vector<std::string> row = {k};
        for (const auto &r : runs) {
            json v = valueAt(r.config, k);
            // A key one run's config lacks (a script's own keys beside an experiment's) is not its JSON null.
            row.push_back(!hasValueAt(r.config, k) ? "(absent)" : v.is_string() ? v.get<std::string>() : v.dump());
        }
        cfg.add(row);
    }
    std::printf("Config keys that differ (%zu; the rest are equal)\n%s", diff.size(), cfg.render().c_str());
    header[0] = "METRIC";
    Table met(header);
    const std::string difference = labelingDifference(runs);
    for (const auto &k : metricKeys) {
        std::vector<std::string> row = {k};
        std::vector<double> values;
        for (const auto &r : runs)
            values.push_back(r.summaryValue("final", k).value_or(std::nan("")));
        const int best = !difference.empty() ? -1 : bestRun(k, values); // as the GUI's Compare highlights it
        for (size_t i = 0; i < runs.size(); ++i)
            row.push_back(fmtMetric(runs[i].summaryValue("final", k)) + (int(i) == best ? " *" : ""));
        met.add(row);
    }
    const std::string ranking =
        difference.empty() ? "* best" : "not ranked: the runs predict different labels, " + difference;
    std::printf("\nMetrics (final; %s)\n%s", ranking.c_str(), met.render().c_str());
}

} // namespace

int compare(const Common &c, const std::vector<std::string> &refs)
{
    auto store = openStore(c);
    if (!store)
        return kFailed;
    std::vector<RunDetail> runs;
    for (const auto &ref : refs) {
        auto r = findRun(*store, ref);
        if (!r) {
            printError(r.message());
            return kBadInput;
        }
        runs.push_back(std::move(*r));
    }
    std::vector<json> configs;
    for (const auto &r : runs)
        configs.push_back(r.config);
    const auto diff = configDiff(configs);
    const auto metricKeys = finalMetricKeys(runs);
    if (c.json)
        std::printf("%s\n", dumpJson(comparisonJson(runs, diff, metricKeys)).c_str());
    else
        printComparison(runs, diff, metricKeys);
    return kOk;
}

namespace {

// A --true or --predicted label the run does not predict (a typo listed no rows, as if none were wrong), said with
// the labels its evaluation names; "" when both are among them, or when the run's evaluations name none.
std::string unknownLabelFilter(const Store &store, const RunSummary &run, const PredictionsOptions &o)
{
    std::vector<std::string> labels;
    for (const auto &e : store.evaluations(run.id, o.split))
        if (const json l = e.summary.value("labels", json()); l.is_array() && labels.empty())
            for (const auto &x : l)
                if (x.is_string())
                    labels.push_back(x.get<std::string>());
    if (labels.empty())
        return {};
    for (const auto &[option, label] : {std::pair<std::string, std::string>{"--true", o.trueLabel},
                                        {"--predicted", o.predictedLabel}}) {
        if (label.empty() || std::find(labels.begin(), labels.end(), label) != labels.end())
            continue;
        const std::string near = nearestWord(label, labels);
        std::string list;
        for (size_t i = 0; i < labels.size() && i < 12; ++i)
            list += (list.empty() ? "" : ", ") + labels[i];
        return option + " " + label + ": not one of run " + std::to_string(run.id) + "'s labels" +
               (near.empty() ? "" : " (did you mean " + near + "?)") + "; they are " + list +
               (labels.size() > 12 ? ", ..." : "");
    }
    return {};
}

} // namespace

int predictions(const Common &c, const PredictionsOptions &o)
{
    auto [store, r, failure] = openRun(c, o.run);
    if (!r)
        return failure;
    if (o.split != "val" && o.split != "test") {
        printError("--split " + o.split + ": use val or test");
        return kBadInput;
    }
    PredictionFilter f;
    f.split = o.split;
    f.step = o.step;
    f.misclassifiedOnly = o.misclassified;
    f.trueLabel = o.trueLabel;
    f.predictedLabel = o.predictedLabel;
    f.multiLabel = r->task == toString(TaskKind::MultiLabel);
    f.text = o.text;
    f.limit = o.limit;
    const auto steps = store->predictionSteps(r->id, o.split);
    if (steps.empty()) {
        const bool over = !isActive(r->status);
        printError("run " + std::to_string(r->id) + (over ? " recorded no " : " has no ") + o.split + " predictions" +
                   (over ? "" : " yet") +
                   (o.split == "test" && !over ? " (the test split is scored when training finishes)" : ""));
        return kFailed;
    }
    if (o.step >= 0 && std::find(steps.begin(), steps.end(), o.step) == steps.end()) {
        std::string have;
        for (int64_t s : steps)
            have += (have.empty() ? "" : ", ") + std::to_string(s);
        printError("--step " + std::to_string(o.step) + ": run " + std::to_string(r->id) + " has no " + o.split +
                   " predictions at that step; it has them at step " + have);
        return kBadInput;
    }
    if (auto unknown = unknownLabelFilter(*store, *r, o); !unknown.empty()) {
        printError(unknown);
        return kBadInput;
    }
    const auto rows = store->predictions(r->id, f);
    if (c.json) {
        json out = json::array();
        for (const auto &p : rows) {
            json top = json::array();
            for (const auto &[l, pr] : p.top)
                top.push_back({l, pr});
            out.push_back({{"id", p.exampleId}, {"title", p.title}, {"truth", p.truth}, {"top", top},
                           {"correct", p.correct}, {"p_true", std::isfinite(p.pTrue) ? json(p.pTrue) : json()}});
        }
        std::printf("%s\n", dumpJson(out).c_str());
        return kOk;
    }
    const int64_t step = o.step >= 0 ? o.step : steps.back();
    // The test split is scored once, at the end, with the kept checkpoint: its step, not the last, made them.
    const std::string weights =
        o.split == "test" && step == r->lastStep
            ? weightsNote(*r, "test", r->summaryValue("best_step", "val/" + keptByMetric(*r)))
            : std::string();
    std::printf("%s predictions of run %lld at step %lld%s%s (%zu shown)\n", o.split.c_str(), (long long)r->id,
                (long long)step, weights.c_str(), o.misclassified ? ", misclassified only" : "", rows.size());
    // A pre-training run's rows are masked tokens: the piece, and the text around it as the model saw it.
    const bool fills = isPretraining(*r);
    Table t({"", "ID", fills ? "PIECE" : "TRUE", "PREDICTED", "P", fills ? "IN CONTEXT" : "TITLE"});
    const bool multiLabel = r->task == toString(TaskKind::MultiLabel);
    for (const auto &p : rows) {
        std::string truth;
        for (const auto &l : p.truth)
            truth += (truth.empty() ? "" : " ") + l;
        // Every label a multi-label run predicts (its probability past one half), as the GUI shows them.
        const std::string predicted = predictedLabels(p, multiLabel);
        // Cut to the table's width; a masked piece (between U+27E6 and U+27E7) kept inside it (found by an audit:
        // it was cut off in a sixth of the rows).
        const size_t open = p.title.find("\u27e6");
        const size_t close = p.title.find("\u27e7", open == std::string::npos ? 0 : open);
        const std::string text =
            fills ? keepInCell(p.title, open, close == std::string::npos ? p.title.size() : close + 3) : p.title;
        t.add({p.correct ? "ok" : "XX", p.exampleId, truth, predicted.empty() ? "-" : predicted,
               p.top.empty() ? "-" : fmtMetric(p.top[0].second, 3), text});
    }
    std::printf("%s", t.render().c_str());
    return kOk;
}

namespace {

// A split's latest per-example predictions as JSON rows; empty when the run recorded none for it.
json predictionsJson(const Store &store, int64_t run, const std::string &split)
{
    json rows = json::array();
    PredictionFilter f;
    f.split = split;
    if (store.predictionSteps(run, split).empty())
        return rows;
    for (const auto &p : store.predictions(run, f)) {
        json top = json::array();
        for (const auto &[l, pr] : p.top)
            top.push_back({l, pr});
        rows.push_back({{"id", p.exampleId}, {"title", p.title}, {"truth", p.truth}, {"top", top},
                        {"correct", p.correct}, {"p_true", std::isfinite(p.pTrue) ? json(p.pTrue) : json()}});
    }
    return rows;
}

// The run's metric series ([step, wall, value]), evaluations and LR-finder points, as the JSON export holds them.
void addRecordJson(const Store &store, int64_t run, json &doc)
{
    json metrics = json::object();
    for (const auto &k : store.metricKeys(run)) {
        json series = json::array();
        for (const auto &p : store.metric(run, k))
            series.push_back({p.step, p.wall, std::isfinite(p.value) ? json(p.value) : json()});
        metrics[k] = series;
    }
    doc["metrics"] = metrics;
    json evals = json::array();
    for (const auto &e : store.evaluations(run))
        evals.push_back({{"step", e.step}, {"split", e.split}, {"summary", e.summary}});
    doc["evaluations"] = evals;
    json lr = json::array();
    for (const auto &p : store.lrPoints(run))
        lr.push_back({{"index", p.index}, {"lr", p.lr}, {"loss", p.loss}, {"smoothed", p.smoothed}});
    if (!lr.empty())
        doc["lr_finder"] = lr;
}

// --out FILE of an export: replaced whole once written (writeFileReplacing), so a full disk leaves an earlier export
// as it was; a device or pipe (/dev/stdout) is written through.
Status writeOutputFile(const std::string &path, std::string_view text)
{
    std::error_code ec;
    const fs::path parent = fs::absolute(path, ec).parent_path();
    if (!fs::is_directory(parent, ec))
        return Error{path + ": cannot write the export: the folder " + parent.string() + " does not exist"};
    return writeFileReplacing(path, text);
}

void writePredictionsCsv(const Store &store, int64_t run, bool multiLabel, std::ostream &out)
{
    out << kPredictionsCsvHeader;
    for (const std::string split : {"val", "test"}) {
        const auto steps = store.predictionSteps(run, split);
        if (steps.empty())
            continue;
        PredictionFilter f;
        f.split = split;
        f.multiLabel = multiLabel;
        for (const auto &p : store.predictions(run, f))
            out << predictionsCsvRow(split, steps.back(), p, multiLabel);
    }
}

void writeMetricsCsv(const Store &store, int64_t run, std::ostream &out)
{
    out << "key,step,wall,value\n";
    for (const auto &k : store.metricKeys(run))
        for (const auto &p : store.metric(run, k))
            out << csvField(k) << ',' << p.step << ',' << exactNumber(p.wall) << ',' << exactNumber(p.value) << '\n';
}

} // namespace

int exportRun(const Common &c, const ExportOptions &o)
{
    if (o.format != "json" && o.format != "csv") {
        printError("--format " + o.format + ": use csv, json, model or hf (the last two: a folder, --out DIR)");
        return kBadInput;
    }
    const bool all = o.what == "all";
    if (o.format == "csv" && !all && o.what != "metrics" && o.what != "predictions") {
        printError("--what " + o.what + ": CSV exports metrics or predictions");
        return kBadInput;
    }
    auto [store, r, failure] = openRun(c, o.run);
    if (!r)
        return failure;
    std::ostringstream out;
    if (o.format == "json") {
        json doc = runJson(*r);
        doc["config"] = r->config;
        if (all || o.what == "metrics")
            addRecordJson(*store, r->id, doc);
        if (all || o.what == "predictions")
            doc["predictions"] = {{"val", predictionsJson(*store, r->id, "val")},
                                  {"test", predictionsJson(*store, r->id, "test")}};
        out << dumpJson(doc) << '\n';
    } else if (o.what == "predictions") {
        writePredictionsCsv(*store, r->id, r->task == toString(TaskKind::MultiLabel), out);
    } else {
        writeMetricsCsv(*store, r->id, out);
        if (all) // found by an audit: the predictions were left out without a word
            std::fprintf(stderr, "note: a CSV file holds one table: these are the metrics; --what predictions writes "
                         "the predictions\n");
    }
    if (o.out.empty()) {
        std::fwrite(out.view().data(), 1, out.view().size(), stdout); // checked as the command ends (runCommand)
        return kOk;
    }
    if (const auto written = writeOutputFile(o.out, out.view()); !written) {
        printError(written.message());
        return kFailed;
    }
    std::fprintf(stderr, "wrote %s\n", o.out.c_str());
    return kOk;
}

int cancel(const Common &c, const std::string &ref)
{
    auto [store, r, failure] = openRun(c, ref);
    if (!r)
        return failure;
    const auto target = findTarget(c, r->target);
    if (!target)
        return kBadInput;
    auto done = usecase::cancel(*store, *target, *r);
    if (!done) {
        printError(done.message());
        return exitCodeOf(done.error());
    }
    std::printf("%s\n", done->c_str());
    return kOk;
}

int remove(const Common &c, const std::string &ref, bool yes)
{
    auto [store, r, failure] = openRun(c, ref);
    if (!r)
        return failure;
    if (!yes && !isActive(r->status)) {
        printError("this deletes run " + std::to_string(r->id) + " (" + r->name + ") and its folder " + r->runDir +
                   "; add --yes to confirm");
        return kBadInput;
    }
    if (auto st = usecase::remove(*store, *r); !st) {
        printError(st.message());
        return exitCodeOf(st.error());
    }
    std::printf("deleted run %lld\n", (long long)r->id);
    return kOk;
}

std::vector<std::string> editedTags(std::vector<std::string> tags, const std::vector<std::string> &add,
                                    const std::vector<std::string> &drop)
{
    for (const auto &t : add)
        if (!trim(t).empty() && std::find(tags.begin(), tags.end(), trim(t)) == tags.end())
            tags.push_back(std::string(trim(t)));
    std::erase_if(tags, [&](const std::string &t) {
        return std::any_of(drop.begin(), drop.end(), [&](const std::string &d) { return trim(d) == t; });
    });
    return tags;
}

int edit(const Common &c, const EditOptions &o)
{
    if (!o.name && !o.notes && o.tags.empty() && o.untags.empty()) {
        printError("edit: say what to change: --name, --notes, --tag or --untag");
        return kBadInput;
    }
    if (o.name && trim(*o.name).empty()) {
        printError("edit: --name cannot be blank");
        return kBadInput;
    }
    if (o.name && trim(*o.name).find_first_not_of("0123456789") == std::string_view::npos) {
        printError("edit: --name " + *o.name + " is a number, which lbk reads as a run's id; give a name with a "
                   "letter");
        return kBadInput;
    }
    auto [store, r, failure] = openRun(c, o.ref);
    if (!r)
        return failure;
    const auto tags = editedTags(r->tags, o.tags, o.untags);
    const std::function<Status()> writes[] = { // one at a time: the first that fails stops the rest
        [&] { return o.name ? store->setName(r->id, std::string(trim(*o.name))) : okStatus(); },
        [&] { return o.notes ? store->setNotes(r->id, *o.notes) : okStatus(); },
        [&] { return tags != r->tags ? store->setTags(r->id, tags) : okStatus(); }};
    for (const auto &write : writes)
        if (const Status st = write(); !st) {
            printError("run " + std::to_string(r->id) + ": " + st.message());
            return exitCodeOf(st.error());
        }
    const auto now = store->runById(r->id);
    if (!now)
        return kFailed;
    std::printf("run %lld: %s   tags: %s\n", (long long)now->id, now->name.c_str(),
                now->tags.empty() ? "(none)" : joinTags(now->tags).c_str());
    if (!now->notes.empty())
        std::printf("  notes: %s\n", now->notes.c_str());
    return kOk;
}

} // namespace lbk::cli
