#pragma once
// The run store: one SQLite file (WAL), the one local source of truth for runs, their configs, metrics,
// evaluations, histograms, predictions, LR-finder curves, artifacts and logs. The schema is versioned and
// migrated on open; docs/STORE.md documents it for users of the sqlite3 shell.
//
// One Store object is one connection: use it from one thread at a time; each thread opens its own. Run lists
// never touch metric history. Events arrive only through ingestLines() / ingestJournal() (see docs/PROTOCOL.md),
// idempotently by (run, seq).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

struct sqlite3;

namespace lbk {
namespace detail {
class StatementCache;
class Stmt;
}

enum class RunStatus { Queued, Running, Finished, Failed, Cancelled, Interrupted };
const char *toString(RunStatus s);
std::optional<RunStatus> runStatusFromString(std::string_view s);
bool isActive(RunStatus s); // queued or running

// A store file whose pages cannot be read (SQLITE_CORRUPT, NOTADB or an I/O error while reading) makes the
// reads that met it return what came before the damage, so every front-end asks here after its work: the
// first such damage since the last call, as the file and a message naming it and what to do; nullopt when none.
// (The file: a GUI that switched stores says nothing of the one it left.)
struct StoreDamage {
    std::string file;    // as SQLite names it: an absolute path
    std::string message;
};
std::optional<StoreDamage> takeStoreDamage();

// The target name of this machine; every other target is a name from the targets file (launch/targets.h).
inline constexpr char kLocalTarget[] = "local";
// Whether a run on this target trains on another machine. An empty name is this machine, as for NewRun.
inline bool isRemoteTarget(std::string_view target)
{
    return !target.empty() && target != kLocalTarget;
}

// Whether a run uid is one createRun accepts (and a run folder may be named by): letters, digits, '-', '_' and
// '.', at most 64, not starting with '.' or '-'.
bool validUid(std::string_view uid);

// The tag a sweep puts on a run it pruned (RunSummary::pruned()).
inline constexpr char kPrunedTag[] = "pruned";

// Whether a run's summary says Labbook's worker recorded it: its run_started event names the engine, which a
// script's (the Python library's, another trainer's) does not. nullopt before any run_started was stored.
std::optional<bool> recordedByWorker(const nlohmann::json &summary);

struct RunSummary {
    int64_t id = 0;
    std::string uid;         // globally unique (worker, journal and remote side use it)
    std::string name;
    std::string experiment;  // the experiment's name
    std::string kind = "train"; // train | lr_find
    std::string task;        // multiclass | binary | multilabel
    RunStatus status = RunStatus::Queued;
    std::string error;
    std::string host;
    int64_t pid = 0;
    int64_t pidStart = 0;    // process start time (clock ticks since boot), guards against PID reuse
    std::string target = kLocalTarget;
    std::string jobId;       // scheduler job id for remote targets
    std::string runDir;      // folder with journal.jsonl, checkpoints, artifacts
    double createdAt = 0, startedAt = 0, endedAt = 0; // Unix seconds, 0 when not yet
    double pausedSeconds = 0; // time between an end and a resume's start, not part of the duration
    double pausedAt = 0;      // the end a resume that has not started yet follows; 0 when none
    std::vector<std::string> tags;
    std::string notes;
    int64_t lastStep = 0;
    std::string configHash;
    nlohmann::json summary = nlohmann::json::object(); // {"final": {key: value}, "best": {key: value}, ...}

    bool remote() const { return isRemoteTarget(target); }
    bool lrFind() const { return kind == "lr_find"; } // an LR range test, not a training run
    // Stopped early by its sweep's rule: cancelled and tagged kPrunedTag (the scheduler tags it so).
    bool pruned() const;
    // The status as run lists say it: "pruned" for a pruned run, else the status's word (lbk runs and the GUI).
    std::string statusWord() const { return pruned() ? "pruned" : toString(status); }
    // Seconds from start to end, or to now while the run is still active, less the time it sat stopped before a
    // resume; nullopt when it never started.
    std::optional<double> duration() const;
    // A number of the summary, e.g. summaryValue("best", "val/accuracy"); section is "final", "best" or
    // "best_step". nullopt when absent, null or not a number.
    std::optional<double> summaryValue(const char *section, const std::string &key) const;
    // What run lists show for a validation metric: its best value (the kept checkpoint is chosen by the best of
    // evaluation.metric), the final one when no best was recorded. One rule for lbk runs and the GUI's list.
    std::optional<double> listedValue(const std::string &key) const;
    // The F1 run lists show: the positive class's for a binary task (what its evaluation.metric "f1" keeps the
    // checkpoint by; its macro-F1 averages in the negative class), micro-F1 for a multi-label one (found by an audit:
    // 0.19 listed for a run at 0.69 micro-F1, whose rare labels pulled macro-F1 down), macro-F1 otherwise or where a
    // script's run records neither.
    std::string listedF1Key() const
    {
        if (task == "binary" && listedValue("val/f1"))
            return "val/f1";
        return task == "multilabel" && listedValue("val/micro_f1") ? "val/micro_f1" : "val/macro_f1";
    }
    // Whether Labbook's worker trained it (recordedByWorker), rather than a script; nullopt before it started.
    std::optional<bool> byWorker() const { return recordedByWorker(summary); }
    // The step of the weights its test split was scored with where that is not its last step: the kept checkpoint's
    // (the trainer scores the test split with it). One rule for lbk show and the GUI's Per-class page (found by an
    // audit: the page said "test, step 1214" of a test scored with step 800's weights).
    std::optional<int64_t> testWeightsStep() const;
};

// Whether a metric's best over a run is listed beside its final value: not the test split's (choosing by it is
// peeking at the test set, and it is scored once, at the end). One rule for lbk show, the Overview and Compare.
inline bool listsBest(std::string_view key) { return !key.starts_with("test/"); }

struct RunDetail : RunSummary {
    nlohmann::json config = nlohmann::json::object();
};

// How the labels that runs set side by side predict differ, in words (store/labelings.cpp): empty when they predict
// the same labels; else the tasks where they differ ("multiclass, binary") and, for a task whose runs define their
// labels differently, each key of the labels section that differs with its values in the order of the runs
// ("labels.min_count 50 vs 100"). Not empty means their metrics and predictions are measured against different
// labels, so Compare neither ranks the runs nor joins their predictions.
std::string labelingDifference(const std::vector<RunDetail> &runs);

struct NewRun {
    std::string uid; // empty: one is generated
    std::string name;
    std::string experiment;
    std::string kind = "train";
    std::string task;
    nlohmann::json config = nlohmann::json::object();
    std::string configHash;
    std::string target = kLocalTarget;
    std::string runDir;
    std::vector<std::string> tags;
};

struct RunFilter {
    std::optional<RunStatus> status;
    std::optional<bool> pruned; // with status cancelled: only the runs a sweep pruned (true), or only the others
    std::string experiment; // exact name; empty: any
    std::string tag;        // empty: any
    std::string text;       // substring of name, experiment, notes or tags; empty: any
    std::string kind;       // empty: any
    // Runs whose config holds a string starting with configPrefix at configPath (dotted, e.g. "model.init_from");
    // empty: any
    std::string configPath, configPrefix;
    int limit = 0;          // 0: no limit
};

struct MetricPoint {
    int64_t step = 0;
    double wall = 0;
    double value = 0; // NaN where the event held a non-finite value
};

struct EvaluationRecord {
    int64_t step = 0;
    std::string split;
    nlohmann::json summary;
};

struct HistogramRecord {
    int64_t step = 0;
    std::string split;
    std::string name;
    double lo = 0, hi = 1;
    std::vector<int64_t> counts;
};

struct PredictionRow {
    std::string exampleId;
    std::string title;
    std::vector<std::string> truth;
    std::vector<std::pair<std::string, double>> top;
    bool correct = false;
    double pTrue = 0; // NaN where not defined (multi-label)
};

struct PredictionFilter {
    int64_t step = -1;           // -1: the latest evaluation step of that split
    std::string split = "val";   // val | test
    bool misclassifiedOnly = false;
    std::string trueLabel;       // empty: any
    std::string predictedLabel;  // top-1 (multiLabel: any label at 0.5 or above); empty: any
    bool multiLabel = false;     // a multi-label run's rows predict every label at 0.5 or above
    double minConfidence = 0, maxConfidence = 1; // top-1 probability range
    std::string text;            // substring of the title, case-insensitive
    int64_t limit = 0;           // 0: all
};

struct LrPoint {
    int64_t index = 0;
    double lr = 0, loss = 0, smoothed = 0;
};

struct ArtifactRecord {
    std::string kind;
    std::string path;
    std::string sha256;
    int64_t step = 0;
};

struct LogLine {
    int64_t seq = 0;
    double wall = 0;
    std::string level;
    std::string message;
};

struct IngestCursor {
    int64_t offset = 0; // journal bytes consumed
    int64_t seq = 0;    // highest event seq stored
};

struct IngestStats {
    int64_t events = 0;     // newly stored
    int64_t duplicates = 0; // seq already stored, skipped
    int64_t malformed = 0;  // lines that were not valid events, skipped with a warning log line
    std::vector<std::string> skipped; // the first kMaxSkippedSaid of those warnings, for whoever brought the file
    static constexpr size_t kMaxSkippedSaid = 5;
    bool finalEvent = false; // finished, failed or cancelled seen (stored now, or earlier and read again)
};

// A sweep (core/sweep) as the store keeps it: its spec and the scheduler's state, so a sweep outlives the
// process that follows it.
enum class SweepStatus { Running, Finished, Failed, Cancelled, Interrupted };
const char *toString(SweepStatus s);
std::optional<SweepStatus> sweepStatusFromString(std::string_view s);

// A trial: pending until launched; launching from the moment its run's uid is chosen until the run exists;
// running; pruning while an early-stopping rule's cancel takes effect; then how it ended.
enum class TrialState { Pending, Launching, Running, Pruning, Finished, Pruned, Failed, Cancelled, Interrupted };
const char *toString(TrialState s);
std::optional<TrialState> trialStateFromString(std::string_view s);
bool isOpen(TrialState s); // not yet ended: pending, launching, running, pruning

struct SweepRecord {
    int64_t id = 0;
    std::string uid, name;
    nlohmann::json spec = nlohmann::json::object();
    SweepStatus status = SweepStatus::Running;
    std::string error;
    std::string host;
    int64_t pid = 0, pidStart = 0; // the scheduler following it; 0 when none
    double createdAt = 0, endedAt = 0;
};

struct TrialRecord {
    int64_t sweep = 0;
    int trial = 0;
    nlohmann::json params = nlohmann::json::object();
    std::string runUid;
    int64_t run = 0; // 0: no run yet
    TrialState state = TrialState::Pending;
    std::string reason;
    std::optional<double> value;
};

// Where a store's runs keep their files: <store dir>/<store stem>.runs (Store::runsRoot of an open store).
std::filesystem::path runsRootOf(const std::filesystem::path &storeFile);

class Store {
public:
    // Opens (creating and migrating as needed) the store at path. Sets WAL and a busy timeout.
    static Result<std::unique_ptr<Store>> open(const std::filesystem::path &path);
    // The same for a store that must exist already (commands that read): a path where there is none is refused,
    // bad input, rather than created for a typo.
    static Result<std::unique_ptr<Store>> openExisting(const std::filesystem::path &path);
    // --store as given, else the default store.
    static std::filesystem::path pathOr(const std::string &given)
    {
        return given.empty() ? defaultPath() : std::filesystem::path(given);
    }
    // The default store: $XDG_DATA_HOME/labbook/labbook.db, else ~/.local/share/labbook/labbook.db.
    static std::filesystem::path defaultPath();
    static int currentSchemaVersion();
    ~Store();
    Store(const Store &) = delete;
    Store &operator=(const Store &) = delete;

    const std::filesystem::path &path() const { return m_path; }
    int schemaVersion() const;
    std::filesystem::path runsRoot() const; // runsRootOf(path())

    Result<RunDetail> createRun(const NewRun &run);
    // A run by numeric id, full uid, unique uid prefix, or name (the newest run of that name).
    Result<RunDetail> run(std::string_view ref) const;
    Result<RunDetail> runById(int64_t id) const;
    std::vector<RunSummary> runs(const RunFilter &filter = {}) const;
    int64_t runCount() const;
    std::vector<std::string> experiments() const; // distinct experiment names of all runs, sorted

    Status setStatus(int64_t run, RunStatus status, const std::string &error = {});
    Status setProcess(int64_t run, const std::string &host, int64_t pid, int64_t pidStart);
    // Sets the run interrupted only if it is still queued or running under that very process; false when a
    // resume or a final event got there first.
    Result<bool> markInterrupted(int64_t run, int64_t pid, int64_t pidStart, const std::string &error);
    // Sets a still active run interrupted whatever its process (a journal imported without its end event).
    Result<bool> markInterrupted(int64_t run, const std::string &error);
    // Queues an interrupted, failed or cancelled run for resuming; false when it is not in such a state any
    // more (another resume claimed it first).
    Result<bool> claimForResume(int64_t run);
    Status setJob(int64_t run, const std::string &target, const std::string &jobId);
    Status setRunDir(int64_t run, const std::string &dir);
    Status setTags(int64_t run, const std::vector<std::string> &tags);
    Status setNotes(int64_t run, const std::string &notes);
    Status setName(int64_t run, const std::string &name);
    Status deleteRun(int64_t run); // the run and everything recorded for it

    std::vector<std::string> metricKeys(int64_t run) const;
    std::vector<MetricPoint> metric(int64_t run, const std::string &key) const;
    // The points with step > afterStep, for appending to a live plot without reloading the series.
    std::vector<MetricPoint> metricAfter(int64_t run, const std::string &key, int64_t afterStep) const;
    std::vector<EvaluationRecord> evaluations(int64_t run, const std::string &split = {}) const;
    std::vector<HistogramRecord> histograms(int64_t run, const std::string &split = {}) const;
    // The splits the run has histograms of: val and test first, then any other a script recorded ("train").
    std::vector<std::string> histogramSplits(int64_t run) const;
    std::vector<int64_t> predictionSteps(int64_t run, const std::string &split) const;
    std::vector<PredictionRow> predictions(int64_t run, const PredictionFilter &filter) const;
    int64_t predictionCount(int64_t run) const;
    std::vector<LrPoint> lrPoints(int64_t run) const;
    bool hasLrPoints(int64_t run) const; // without reading them
    std::vector<ArtifactRecord> artifacts(int64_t run) const;
    std::vector<LogLine> logs(int64_t run) const;

    // Sweeps (store/sweeps.cpp). createSweep writes the sweep and all its trials, pending, in one transaction.
    Result<SweepRecord> createSweep(const std::string &name, const nlohmann::json &spec,
                                    const std::vector<nlohmann::json> &trialParams);
    // By id, uid, unique uid prefix or name (the newest of that name).
    Result<SweepRecord> sweep(std::string_view ref) const;
    std::vector<SweepRecord> sweeps() const; // newest first
    std::vector<TrialRecord> trials(int64_t sweep) const;
    Status setSweepStatus(int64_t sweep, SweepStatus status, const std::string &error = {});
    // Records the process following the sweep (pid 0: none) only if no other live one holds it: false when one
    // does (alive is asked about the recorded one).
    Result<bool> claimSweep(int64_t sweep, const std::string &host, int64_t pid, int64_t pidStart,
                            const std::function<bool(int64_t pid, int64_t pidStart)> &alive);
    // A pending trial becomes launching with the uid its run will have; false when it is not pending any more.
    Result<bool> claimTrial(int64_t sweep, int trial, const std::string &runUid);
    // Writes the trial's run, state, reason and value.
    Status updateTrial(const TrialRecord &trial);
    // The sweep and trial a run was launched for, if any.
    std::optional<TrialRecord> trialOfRun(int64_t run) const;

    IngestCursor cursor(int64_t run) const;
    // Applies complete journal lines in one transaction, skipping seq already stored, and moves the cursor to
    // newOffset in the same transaction. Events update the run row too (status, error, times, last step,
    // summary of final and best metrics). Lines come without their '\n'; newOffset is the journal offset just
    // past the last one, so a warning about a bad line can name its byte offset (counted back from newOffset).
    Result<IngestStats> ingestLines(int64_t run, const std::vector<std::string_view> &lines, int64_t newOffset);

    sqlite3 *handle() const { return m_db; } // for tests and benchmarks

private:
    Store(std::filesystem::path path, sqlite3 *db);
    detail::Stmt stmt(std::string_view sql) const; // prepared once per connection, reset after each use
    Status update(int64_t run, const char *sql, const std::string &text);
    // A store moved with its runs folder beside it: a recorded run folder that is gone is found by uid there.
    void findMovedRunDir(RunSummary &r) const;
    std::filesystem::path m_path;
    sqlite3 *m_db = nullptr;
    std::unique_ptr<detail::StatementCache> m_stmts;
};

// Reads the journal from the run's stored offset and ingests every complete line; an incomplete last line
// waits for the next call. Safe to call any number of times, from any number of processes.
Result<IngestStats> ingestJournal(Store &store, int64_t run, const std::filesystem::path &journal);

} // namespace lbk
