#include "engine/enginecommands.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <cstdio>
#include <unistd.h>

#include "engine/engine.h"
#include "experiment/schema.h"
#include "launch/process.h"
#include "metrics/metrics.h"
#include "store/runfiles.h"
#include "store/store.h"
#include "usecases/lineage.h"
#include "util/text.h"

namespace lbk::cli {

namespace fs = std::filesystem;

namespace {

int fail(const Error &e)
{
    std::fprintf(stderr, "lbk: %s\n", toValidUtf8(e.message).c_str()); // a file's damaged names print no control codes
    return e.badInput ? kBadInput : kFailed;
}

void warn(const std::string &message)
{
    std::fprintf(stderr, "lbk: warning: %s\n", message.c_str());
}

// The store and a training run in it (an LR range test has no model).
struct StoreRun {
    std::unique_ptr<Store> store;
    RunDetail run;
};

// The run's labels.json against the labels its validation was scored over (the summary's "val_labels", as the store
// noted them): a file edited or swapped since would name every output wrongly, and an export would checksum it as
// sound (found by an audit). Runs recorded before the store noted their labels are not checked.
Status labelsAsEvaluated(const RunDetail &run)
{
    const auto noted = run.summary.find("val_labels");
    const fs::path file = fs::path(run.runDir) / runfiles::kLabels;
    std::error_code ec;
    if (noted == run.summary.end() || !noted->is_array() || !fs::exists(file, ec))
        return okStatus();
    const auto read = readJsonFile(file);
    if (!read) // unreadable is not "changed": said as it is
        return read.error();
    if (*read == *noted)
        return okStatus();
    return badInput(file.string() + " is not the list of labels the run was evaluated over (" +
                    std::to_string(noted->size()) + ", in the order " + clipped(noted->dump(), 120) +
                    "): it was changed since. Each output is named by its place in that list, so restore the file");
}

Result<StoreRun> trainingRun(const Common &c, const std::string &ref)
{
    auto store = Store::openExisting(Store::pathOr(c.store));
    if (!store)
        return store.error();
    auto run = findRun(**store, ref);
    if (!run)
        return badInput(run.message());
    if (run->lrFind())
        return badInput("run " + std::to_string(run->id) + " is an LR range test; only training runs have a model");
    if (auto labels = labelsAsEvaluated(*run); !labels)
        return labels.error();
    return StoreRun{std::move(*store), std::move(*run)};
}

class ProgressBar {
public:
    explicit ProgressBar(bool enabled) : m_on(enabled && ::isatty(STDERR_FILENO)) {}
    ~ProgressBar() { finish(); }
    // Ends the bar's line, so that what is said next starts a line of its own.
    void finish()
    {
        if (m_on && m_shown)
            std::fprintf(stderr, "\n");
        m_shown = false;
    }
    // The first call is where the count starts (the rows a resumed run found): the rate is of the rows since.
    void update(int64_t done, int64_t total, int64_t rows)
    {
        const auto now = std::chrono::steady_clock::now();
        if (!m_baseRows) {
            m_baseRows = rows;
            m_start = m_last = now;
            return;
        }
        if (!m_on || now - m_last < std::chrono::milliseconds(200))
            return;
        m_last = now;
        m_shown = true;
        const double secs = std::chrono::duration<double>(now - m_start).count();
        const double rate = secs > 0 ? double(rows - *m_baseRows) / secs : 0.0;
        if (total <= 0) { // a table read by records: no share of the file to show
            std::fprintf(stderr, "\r%lld rows  %.0f rows/s ", static_cast<long long>(rows), rate);
            return;
        }
        const double f = std::min(1.0, double(done) / double(total));
        const int width = 30, filled = int(f * width);
        std::fprintf(stderr, "\r[%s%s] %5.1f%%  %lld rows  %.0f rows/s ", std::string(size_t(filled), '#').c_str(),
                     std::string(size_t(width - filled), '.').c_str(), 100 * f, static_cast<long long>(rows), rate);
    }

private:
    bool m_on, m_shown = false;
    std::optional<int64_t> m_baseRows;
    std::chrono::steady_clock::time_point m_start, m_last;
};

// Where a fine-tuned encoder came from, for the export's card: the pre-training run as this store knows it (its
// id and name may be gone; its uid stays), or the Hugging Face folder the config names. Null for other models.
nlohmann::json encoderOrigin(const Store &store, const RunDetail &run)
{
    const nlohmann::json from = valueAt(run.config, "model.init_from");
    if (!from.is_string() || from.get<std::string>().empty())
        return nullptr;
    nlohmann::json origin = {{"init_from", from}};
    if (const auto source = usecase::encoderSource(store, run)) {
        nlohmann::json pre = {{"uid", source->uid},
                              {"step", source->step == -1 ? nlohmann::json("best") : nlohmann::json(source->step)}};
        if (source->run) {
            pre["id"] = source->run->id;
            pre["name"] = source->run->name;
        }
        origin["pretraining_run"] = std::move(pre);
    }
    return origin;
}

int exportModel(const Invocation &inv)
{
    const auto &o = inv.exportRun;
    if (o.out.empty()) {
        std::fprintf(stderr, "lbk: export --format %s needs --out FOLDER\n", o.format.c_str());
        return kBadInput;
    }
    auto sr = trainingRun(inv.common, o.run);
    if (!sr)
        return fail(sr.error());
    // Into a folder of its own: files of an earlier export left beside the new ones (a tokenizer.json beside a
    // new vocab.txt) would be read in their place by transformers' AutoTokenizer or a script's glob.
    if (std::error_code ec; fs::is_directory(o.out, ec) && !fs::is_empty(o.out, ec))
        return fail(badInput(o.out + ": the folder is not empty; export writes a whole folder, so choose a new one "
                             "or remove this one first"));
    auto done = o.format == "hf" ? lbk::exportHuggingFace(sr->run, o.out)
                                 : lbk::exportModel(sr->run, o.out, encoderOrigin(*sr->store, sr->run));
    if (!done)
        return fail(done.error());
    std::printf("exported run %lld (%s, %s checkpoint at step %lld) to %s\n", static_cast<long long>(sr->run.id),
                sr->run.name.c_str(), done->checkpoint.c_str(), static_cast<long long>(done->step), o.out.c_str());
    return kOk;
}

// The model to score with: an export folder, a run's folder, else a run named by id, uid or name.
Result<fs::path> modelFolder(const Invocation &inv)
{
    const std::string &ref = inv.predict.model;
    if (isExportFolder(ref))
        return fs::path(ref);
    if (std::error_code ec; fs::exists(fs::path(ref) / "config.json", ec)) // transformers' layout, not Labbook's
        return badInput(ref + ": a Hugging Face folder (config.json, no model.json), which transformers reads; lbk "
                        "predict scores with a run or its `lbk export RUN --format model --out DIR` folder");
    // A run's folder, as `lbk run` prints it (another store's, or copied back from a cluster).
    if (std::error_code ec; fs::exists(fs::path(ref) / runfiles::kExperiment, ec) &&
                            fs::is_directory(fs::path(ref) / runfiles::kCheckpoints, ec))
        return fs::path(ref);
    auto run = trainingRun(inv.common, ref); // an LR range test is named as such (it said "no best.pt")
    if (!run)
        return badInput(ref + ": neither an export folder (with model.json) nor a training run: " + run.message());
    return fs::path(run->run.runDir);
}

// A position in the input: "line N" of JSON lines, "N papers" of a table (its records read; one that cannot be
// read is not among them, and a record may span lines).
std::string positionText(bool table, long long n)
{
    return table ? std::to_string(n) + " papers" : "line " + std::to_string(n);
}

// Where a stop by a signal left the output, and whether --resume can continue it.
void sayStopped(const std::string &data, const std::string &out, const PredictResult &r)
{
    const auto line = static_cast<long long>(r.stoppedAtLine), rows = static_cast<long long>(r.rows);
    const std::string where = positionText(r.table, line) + " of " + data;
    if (r.resumable)
        std::fprintf(stderr, "lbk: stopped after %s with %lld rows in %s.partial; the same command with --resume "
                     "continues from there\n", where.c_str(), rows, out.c_str());
    else
        std::fprintf(stderr, "lbk: stopped after %s with %lld rows written to %s, which cannot be continued\n",
                     where.c_str(), rows, out == "-" ? "standard output" : out.c_str());
}

// What a second Ctrl-C says before it ends the process at once: written by the signal handler, so made before.
std::string g_stoppedAtOnce;

void onSecondStopSignal(int signal)
{
    const ssize_t written = ::write(STDERR_FILENO, g_stoppedAtOnce.data(), g_stoppedAtOnce.size());
    (void)written;
    ::_exit(128 + signal);
}

void onStopSignal(int)
{
    requestCancel();
    std::signal(SIGINT, onSecondStopSignal);
    std::signal(SIGTERM, onSecondStopSignal);
}

// The message of a second stop: the chunks finished are in OUT.partial, whose progress file --resume reads (a row
// written after it is cut off then).
std::string stoppedAtOnceMessage(const std::string &out)
{
    if (out == "-")
        return "\nlbk: stopped at once (a second signal)\n";
    return "\nlbk: stopped at once (a second signal); the chunks scored before it are in " + out +
           ".partial, and the same command with --resume continues from there\n";
}

int predict(const Invocation &inv)
{
    const auto &p = inv.predict;
    auto folder = modelFolder(inv);
    if (!folder)
        return fail(folder.error());
    const std::string data = p.data == "-" ? "/dev/stdin" : p.data; // as --out - is standard output
    PredictOptions o{*folder, data, p.out, p.format, p.threads, p.batchSize, p.topK, p.precision};
    o.warn = warn;
    o.maxBadShare = p.maxBadShare;
    o.threshold = p.threshold;
    if (const auto shard = parseShard(p.shard))
        std::tie(o.shard, o.shards) = *shard;
    o.resume = p.resume;
    ProgressBar bar(!inv.quiet);
    o.progress = [&](int64_t done, int64_t total, int64_t rows) { bar.update(done, total, rows); };
    // Ctrl-C or SIGTERM (a Slurm time limit) ends the chunk being scored and keeps the rows for --resume; a second
    // one stops at once.
    g_stoppedAtOnce = stoppedAtOnceMessage(p.out);
    std::signal(SIGTERM, onStopSignal);
    std::signal(SIGINT, onStopSignal);
    auto r = lbk::predict(o);
    bar.finish();
    if (!r)
        return fail(r.error());
    if (r->stoppedAtLine >= 0) {
        sayStopped(data, p.out, *r);
        return kCancelled;
    }
    if (!inv.quiet && r->resumedAtLine >= 0)
        std::fprintf(stderr, "lbk: continued after %s of an interrupted run (%lld rows were there)\n",
                     positionText(r->table, r->resumedAtLine).c_str(), static_cast<long long>(r->resumedRows));
    const int64_t scored = r->rows - r->resumedRows; // by this run: the rate is this run's
    if (!inv.quiet)
        std::fprintf(stderr, "lbk: %s predicted in %.1f s (%.0f rows/s, %s, %s)\n", counted(scored, "row").c_str(),
                     r->seconds, r->seconds > 0 ? double(scored) / r->seconds : 0.0,
                     counted(r->threads, "thread").c_str(), r->precision.c_str());
    if (!inv.quiet && o.shards > 1 && r->lines == 0)
        std::fprintf(stderr, "lbk: shard %d/%d: no lines; shards are blocks of whole chunks of %zu lines, and the "
                     "%lld lines fill fewer than %d of them\n", o.shard, o.shards, kPredictChunkLines,
                     static_cast<long long>(r->totalLines), o.shards);
    else if (!inv.quiet && o.shards > 1)
        std::fprintf(stderr, "lbk: shard %d/%d: lines %lld-%lld of %lld\n", o.shard, o.shards,
                     static_cast<long long>(r->firstLine + 1), static_cast<long long>(r->firstLine + r->lines),
                     static_cast<long long>(r->totalLines));
    if (r->skipped > 0)
        std::fprintf(stderr, "lbk: warning: %s skipped; first: %s\n",
                     counted(r->skipped, r->table ? "record" : "line").c_str(), r->firstSkipped.c_str());
    return kOk;
}

int eval(const Invocation &inv)
{
    if (isExportFolder(inv.ref)) { // eval records into a run; an export is a copy of one, scored by lbk predict
        const auto card = readJsonFile(fs::path(inv.ref) / "model.json");
        const nlohmann::json of = card ? card->value("run", nlohmann::json::object()) : nlohmann::json::object();
        const nlohmann::json uid = of.is_object() ? of.value("uid", nlohmann::json()) : nlohmann::json();
        return fail(badInput(inv.ref + ": an export folder" +
                             (uid.is_string() ? " of run " + uid.get<std::string>() : std::string()) +
                             "; lbk eval records its figures into the run, so give the run (id, uid or name) in the "
                             "store that holds it"));
    }
    auto sr = trainingRun(inv.common, inv.ref);
    if (!sr)
        return fail(sr.error());
    if (isActive(sr->run.status))
        return fail(badInput("run " + std::to_string(sr->run.id) + " is still " + toString(sr->run.status) +
                             "; evaluate it once it has ended"));
    const auto &e = inv.eval;
    EvalRunOptions o{inv.common.dataRoot, e.data, e.split, e.threads, e.precision, warn};
    auto r = lbk::evalRun(*sr->store, sr->run, o);
    if (!r)
        return fail(r.error());
    std::printf("run %lld: %s on %lld examples of %s (%lld left out: no label of the run)\n",
                static_cast<long long>(sr->run.id), r->split.c_str(), static_cast<long long>(r->examples),
                r->file.c_str(), static_cast<long long>(r->dropped));
    for (const auto key : scalarMetricKeys())
        if (const auto &v = r->summary.value(std::string(key), nlohmann::json()); v.is_number())
            std::printf("  %-10s %.4f\n", std::string(key).c_str(), v.get<double>());
    std::fflush(stdout); // the cautions after the figures they qualify
    for (const auto &caution : r->cautions)
        std::fprintf(stderr, "lbk: warning: %s\n", caution.c_str());
    return kOk;
}

void onWorkerSignal(int)
{
    requestCancel();
}

int worker(const Invocation &inv)
{
    const auto &w = inv.worker;
    WorkerOptions o;
    o.runDir = w.runDir;
    o.runUid = w.runUid;
    o.dataRoot = inv.common.dataRoot;
    o.cacheDir = w.cacheDir;
    o.journal = w.journal;
    o.lrFind = w.lrFind;
    o.resume = w.resume;
    o.rank = w.rank;
    o.world = w.world;
    o.rendezvous = w.rendezvous;
    // Gloo writes to its sockets without MSG_NOSIGNAL: a peer that dies mid-send must surface as an error the
    // worker reports, not as a SIGPIPE that kills it silently.
    std::signal(SIGPIPE, SIG_IGN);
    if (const char *slow = std::getenv("LABBOOK_TEST_SLOW_START")) // tests: a cancel surely lands before the handler
        std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(slow)));
    std::signal(SIGTERM, onWorkerSignal);
    std::signal(SIGINT, onWorkerSignal);
    releaseStopSignals(); // held since lbk started it (launch/process.h): a cancel that came meanwhile lands now
    return runWorker(o);
}

} // namespace

int LocalEngine::run(const Invocation &inv)
{
    if (inv.command == "worker")
        return worker(inv);
    if (inv.command == "predict")
        return predict(inv);
    if (inv.command == "eval")
        return eval(inv);
    if (inv.command == "export")
        return exportModel(inv);
    return kBadInput;
}

} // namespace lbk::cli
