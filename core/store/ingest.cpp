// The journal ingester: JSON-lines events (docs/PROTOCOL.md) into the store, idempotently by (run, seq).
#include <algorithm>
#include <chrono>
#include <deque>
#include <set>
#include <unordered_map>

#include <sqlite3.h>

#include "metrics/metrics.h"
#include "protocol/eventreader.h"
#include "protocol/fastmetrics.h"
#include "protocol/journal.h"
#include "protocol/journalreader.h"
#include "store/sqlite_util.h"
#include "store/store.h"
#include "util/confighash.h"
#include "util/jsontext.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace lbk {

namespace {

using event::blank;
using event::getArr;
using event::getInt;
using event::getNum;
using event::getObj;
using event::getStr;
using event::quote;

// One row of a predictions event, as the predictions table stores it.
struct PredictionRow {
    std::string id, truth, top, top1; // truth and top as JSON text
    std::optional<double> top1Prob, pTrue;
    bool correct = false;
    const std::string *title = nullptr; // into the event, which outlives the row
};

// The row's id: a string, or a number written as its JSON; empty when it has none.
std::string predictionId(const json &row)
{
    auto it = row.find("id");
    if (it != row.end() && it->is_string())
        return it->get<std::string>();
    if (it != row.end() && it->is_number())
        return it->dump();
    return {};
}

// The true labels: one string or an array of them (other elements left out).
json predictionTruth(const json &row)
{
    json truth = json::array();
    if (auto it = row.find("truth"); it != row.end()) {
        if (it->is_string())
            truth.push_back(*it);
        else if (it->is_array())
            for (const auto &l : *it)
                if (l.is_string())
                    truth.push_back(l);
    }
    return truth;
}

// The top predictions as [[label, p], ...], most probable first: from that array, or from {"label": p, ...} as a
// hand-written trainer may send it. A probability that is not a number becomes null.
json predictionTop(const json &row)
{
    json top = json::array();
    if (const json *t = getArr(row, "top")) {
        for (const auto &p : *t)
            if (p.is_array() && p.size() >= 2 && p[0].is_string())
                top.push_back(json::array({p[0], getNum(p[1]) ? p[1] : json(nullptr)}));
    } else if (const json *t = getObj(row, "top")) {
        for (auto it = t->begin(); it != t->end(); ++it)
            top.push_back(json::array({it.key(), getNum(*it) ? *it : json(nullptr)}));
        std::stable_sort(top.begin(), top.end(), [](const json &x, const json &y) {
            return getNum(x[1]).value_or(-1) > getNum(y[1]).value_or(-1);
        });
    }
    return top;
}

// A row of a predictions event, or nothing for one that is not an object or has no id.
std::optional<PredictionRow> predictionRow(const json &row)
{
    if (!row.is_object())
        return std::nullopt;
    PredictionRow r;
    r.id = predictionId(row);
    if (r.id.empty())
        return std::nullopt;
    const json truth = predictionTruth(row), top = predictionTop(row);
    if (auto it = row.find("correct"); it != row.end() && it->is_boolean())
        r.correct = it->get<bool>();
    else // not given: exact match of the single truth with the top-1 label
        r.correct = truth.size() == 1 && !top.empty() && top[0][0] == truth[0];
    if (!top.empty()) {
        r.top1 = top[0][0].get<std::string>();
        r.top1Prob = getNum(top[0][1]);
    }
    r.pTrue = getNum(row, "p_true");
    r.truth = truth.dump();
    r.top = top.dump();
    if (auto it = row.find("title"); it != row.end() && it->is_string())
        r.title = &it->get_ref<const std::string &>();
    return r;
}

// What a batch changes on the run's row, read once inside the transaction and written back once at its end.
struct RunState {
    std::string uid;
    std::string status;
    std::string error;
    std::optional<double> startedAt, endedAt;
    double pausedSeconds = 0;
    std::optional<double> pausedAt;
    std::string host;
    int64_t pid = 0, pidStart = 0;
    std::string kind;
    int64_t lastStep = 0;
    json summary;
    bool configEmpty = true;
    std::optional<std::string> newConfig;
    std::optional<std::string> newConfigHash;
    bool changed = false;
};

class Ingester {
public:
    Ingester(detail::StatementCache &stmts, const fs::path &storePath, int64_t run)
        : m_stmts(stmts), m_storePath(storePath), m_run(run)
    {
    }

    Result<IngestStats> ingest(const std::vector<std::string_view> &lines, int64_t newOffset)
    {
        detail::Transaction tx(m_stmts.db());
        if (auto s = tx.begin(); !s)
            return Error{"cannot lock " + m_storePath.string() + " to store events of run " + std::to_string(m_run)
                         + ": " + s.message()};
        if (auto s = loadRun(); !s)
            return s.error();
        const auto cursor = readCursor();
        if (!cursor)
            return cursor.error();
        m_maxSeq = cursor->seq;

        // Byte offsets of the lines, counted back from newOffset, so a warning can point into the journal. When
        // the caller's offsets do not add up (lines from elsewhere) warnings name the last good seq instead.
        int64_t total = 0;
        for (auto l : lines)
            total += int64_t(l.size()) + 1;
        LinePlace place{newOffset - total, newOffset - total >= 0, true};
        for (std::string_view line : lines) {
            // A malformed line that lies before the cursor was reported when it was first read.
            place.fresh = !place.offsetsKnown || place.at >= cursor->offset;
            if (!blank(line))
                if (auto s = ingestLine(line, place); !s)
                    return s.error();
            place.at += int64_t(line.size()) + 1;
        }

        if (auto s = flushPoints(); !s)
            return s.error();
        if (m_state.changed)
            if (auto s = saveRun(); !s)
                return s.error();
        if (auto s = saveCursor(newOffset); !s)
            return s.error();
        if (auto s = tx.commit(); !s)
            return Error{"cannot store events of run " + std::to_string(m_run) + " in " + m_storePath.string() + ": "
                         + s.message()};
        return m_stats;
    }

private:
    // Where a line lies in the journal, for messages and for telling a first read from a re-read.
    struct LinePlace {
        int64_t at = 0;
        bool offsetsKnown = false;
        bool fresh = true; // past the cursor: read for the first time
    };

    Result<IngestCursor> readCursor()
    {
        auto s = m_stmts.get("SELECT byte_offset, seq FROM ingest_cursor WHERE run = ?");
        s.bindInt(1, m_run);
        if (s.step())
            return IngestCursor{s.i64(0), s.i64(1)};
        if (!s.ok())
            return sqlError("read the ingest cursor", s);
        return IngestCursor{};
    }

    Status saveCursor(int64_t newOffset)
    {
        auto s = m_stmts.get(
            "INSERT INTO ingest_cursor (run, byte_offset, seq, updated_at) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT (run) DO UPDATE SET byte_offset = max(byte_offset, excluded.byte_offset), "
            "seq = max(seq, excluded.seq), updated_at = excluded.updated_at");
        s.bindInt(1, m_run).bindInt(2, std::max<int64_t>(newOffset, 0)).bindInt(3, m_maxSeq).bindDouble(4, wallTime());
        return s.run() ? okStatus() : Status(sqlError("move the ingest cursor", s));
    }

    // One journal line: a metrics line by the fast scanner (the ingest's hot path), anything else parsed.
    Status ingestLine(std::string_view line, const LinePlace &place)
    {
        const auto where = [&] { // built only for a message
            return place.offsetsKnown ? "journal line at byte " + std::to_string(place.at)
                                      : "journal line after seq " + std::to_string(m_maxSeq);
        };
        if (scanFastMetrics(line, m_fast))
            return ingestFastMetrics(place.offsetsKnown && place.fresh, where);
        json j = event::parseLine(line);
        if (j.is_discarded() || !j.is_object())
            return malformed(place.fresh, where() + " is not a JSON object (" + notAnObjectReason(line) + "): " +
                                              quote(line));
        const auto seq = getInt(j, "seq");
        auto typeIt = j.find("type");
        if (!seq || *seq < 1 || typeIt == j.end() || !typeIt->is_string())
            return malformed(place.fresh,
                             where() + " has no positive integer \"seq\" or no string \"type\": " + quote(line));
        const std::string &type = typeIt->get_ref<const std::string &>();
        const auto skip = repeated(*seq, place.offsetsKnown && place.fresh, where);
        if (!skip)
            return skip.error();
        if (*skip) {
            if (isFinalEvent(type))
                m_stats.finalEvent = true; // seen, though stored before: a tailing launcher can stop
            return okStatus();
        }
        return ingestEvent(*seq, type, j);
    }

    template <class Where>
    Status ingestFastMetrics(bool firstRead, const Where &where)
    {
        const auto skip = repeated(m_fast.seq, firstRead, where);
        if (!skip)
            return skip.error();
        if (*skip)
            return okStatus();
        ++m_stats.events;
        if (!m_fast.step || !m_fast.hasValues)
            return missing(m_fast.seq, "metrics", "an integer \"step\" and an object \"values\"");
        for (const auto &[key, value] : m_fast.values)
            addPoint(key, *m_fast.step, m_fast.t, value);
        touchStep(m_fast.step);
        m_lastEventAt = m_fast.t ? m_fast.t : m_lastEventAt;
        return okStatus();
    }

    Status ingestEvent(int64_t seq, const std::string &type, const json &j)
    {
        ++m_stats.events;
        Status applied = okStatus();
        try {
            applied = apply(seq, type, j);
        } catch (const json::exception &e) {
            // A field of an unexpected type: the event is skipped, the batch goes on.
            --m_stats.events;
            return malformed(true, "event seq " + std::to_string(seq) + " (" + type + ") skipped: " + e.what());
        }
        if (const auto t = getNum(j, "t"))
            m_lastEventAt = t;
        return applied;
    }

    Error sqlError(const std::string &what, const detail::Stmt &s) const
    {
        return Error{"cannot " + what + " for run " + std::to_string(m_run) + " in " + m_storePath.string() + ": "
                     + (s.prepared() ? s.error() : sqlite3_errmsg(m_stmts.db()))};
    }

    Status loadRun()
    {
        auto s = m_stmts.get("SELECT uid, status, error, started_at, ended_at, host, pid, pid_start, kind, last_step, "
                             "summary, config IN ('', '{}', 'null'), paused_seconds, paused_at FROM runs WHERE id = ?");
        s.bindInt(1, m_run);
        if (!s.step()) {
            if (!s.ok())
                return sqlError("read the run", s);
            return Error{"no run with id " + std::to_string(m_run) + " in " + m_storePath.string()
                         + " to store events for; create the run first"};
        }
        m_state.uid = s.text(0);
        m_state.status = s.text(1);
        m_state.error = s.text(2);
        if (!s.isNull(3))
            m_state.startedAt = s.f64(3);
        if (!s.isNull(4))
            m_state.endedAt = s.f64(4);
        m_state.host = s.text(5);
        m_state.pid = s.i64(6);
        m_state.pidStart = s.i64(7);
        m_state.kind = s.text(8);
        m_state.lastStep = s.i64(9);
        m_state.summary = json::parse(s.textView(10), nullptr, false);
        if (!m_state.summary.is_object())
            m_state.summary = json::object();
        m_state.configEmpty = s.i64(11) != 0;
        m_state.pausedSeconds = s.f64(12);
        if (!s.isNull(13))
            m_state.pausedAt = s.f64(13);
        return okStatus();
    }

    Status saveRun()
    {
        auto s = m_stmts.get("UPDATE runs SET status = ?2, error = ?3, started_at = ?4, ended_at = ?5, host = ?6, "
                             "pid = ?7, pid_start = ?8, kind = ?9, last_step = ?10, summary = ?11, "
                             "config = coalesce(?12, config), paused_seconds = ?13, paused_at = ?14, "
                             "config_hash = coalesce(?15, config_hash) WHERE id = ?1");
        s.bindInt(1, m_run)
            .bindText(2, m_state.status)
            .bindText(3, m_state.error)
            .bindOptDouble(4, m_state.startedAt)
            .bindOptDouble(5, m_state.endedAt)
            .bindText(6, m_state.host)
            .bindInt(7, m_state.pid)
            .bindInt(8, m_state.pidStart)
            .bindText(9, m_state.kind)
            .bindInt(10, m_state.lastStep)
            .bindText(11, m_state.summary.dump());
        if (m_state.newConfig)
            s.bindText(12, *m_state.newConfig);
        else
            s.bindNull(12);
        s.bindDouble(13, m_state.pausedSeconds).bindOptDouble(14, m_state.pausedAt);
        if (m_state.newConfigHash)
            s.bindText(15, *m_state.newConfigHash);
        else
            s.bindNull(15);
        if (!s.run())
            return sqlError("update the run", s);
        return okStatus();
    }

    // Whether the event with this seq is a repeat to skip. Seqs rise through a journal, so one at or below the
    // highest stored is a line read again (a reconnect re-reading bytes), skipped. In bytes past the cursor
    // (firstRead) it is the journal's own order that is off (a writer that restarted its count, an edited file):
    // such an event is stored all the same, with one warning for the run, rather than dropping it and every one
    // after it. A failed warning is an error (nothing is stored then).
    template <class Where>
    Result<bool> repeated(int64_t seq, bool firstRead, const Where &where)
    {
        if (seq > m_maxSeq) {
            m_maxSeq = seq;
            return false;
        }
        if (!firstRead) {
            ++m_stats.duplicates;
            return true;
        }
        if (saidBefore(kOutOfOrder))
            return false;
        if (auto s = log(seq, wallTime(), "warning",
                         where() + " has seq " + std::to_string(seq) + ", not above the " + std::to_string(m_maxSeq) +
                             " already stored: " + kOutOfOrder + " (a writer that restarted its count, or an edited "
                             "file); stored all the same");
            !s)
            return s.error();
        return false;
    }
    static constexpr const char *kOutOfOrder = "the journal's events are out of order";

    // Whether a warning holding `marker` was said for this run, by this batch or an earlier one (its log lines);
    // a warning said once per run asks here first, and counts as said from then on.
    bool saidBefore(const std::string &marker)
    {
        if (!m_said.insert(marker).second)
            return true;
        auto said = m_stmts.get("SELECT 1 FROM logs WHERE run = ? AND level = 'warning' AND instr(message, ?) > 0 LIMIT 1");
        said.bindInt(1, m_run).bindText(2, marker);
        return said.step();
    }

    void countSkipped(const std::string &message)
    {
        ++m_stats.malformed;
        if (m_stats.skipped.size() < IngestStats::kMaxSkippedSaid)
            m_stats.skipped.push_back(message);
    }

    Status malformed(bool record, const std::string &message)
    {
        countSkipped(message);
        return record ? log(std::nullopt, wallTime(), "warning", message) : okStatus();
    }

    Status log(std::optional<int64_t> seq, std::optional<double> wall, std::string_view level,
               std::string_view message)
    {
        auto s = m_stmts.get("INSERT INTO logs (run, seq, wall, level, message) VALUES (?, ?, ?, ?, ?)");
        s.bindInt(1, m_run);
        if (seq)
            s.bindInt(2, *seq);
        else
            s.bindNull(2);
        s.bindOptDouble(3, wall).bindText(4, level).bindText(5, message);
        return s.run() ? okStatus() : Status(sqlError("store a log line", s));
    }

    void touchStep(std::optional<int64_t> step)
    {
        if (step && *step > m_state.lastStep) {
            m_state.lastStep = *step;
            m_state.changed = true;
        }
    }

    Status missing(int64_t seq, const std::string &type, const char *fields)
    {
        --m_stats.events;
        const std::string message = type + " event seq " + std::to_string(seq) + " skipped: it needs " + fields;
        countSkipped(message);
        return log(seq, wallTime(), "warning", message);
    }

    Status apply(int64_t seq, const std::string &type, const json &e)
    {
        const std::optional<double> t = getNum(e, "t");
        if (type == "metrics")
            return onMetrics(seq, e, t);
        if (type == "evaluation")
            return onEvaluation(seq, e, t);
        if (type == "predictions")
            return onPredictions(seq, e);
        if (type == "histogram")
            return onHistogram(seq, e);
        if (type == "lr_point")
            return onLrPoint(seq, e);
        if (type == "log")
            return log(seq, t, getStr(e, "level", "info"), getStr(e, "message"));
        if (type == "run_started")
            return onStarted(seq, e, t);
        if (type == "lr_suggestion") {
            json s = json::object();
            auto lr = getNum(e, "lr");
            s["lr"] = lr ? json(*lr) : json(nullptr);
            auto index = getInt(e, "index");
            s["index"] = index ? json(*index) : json(nullptr);
            s["method"] = getStr(e, "method");
            if (auto reason = getStr(e, "reason"); !reason.empty())
                s["reason"] = reason; // why no rate could be suggested
            m_state.summary["lr_suggestion"] = std::move(s);
            m_state.changed = true;
            return okStatus();
        }
        if (type == "checkpoint" || type == "artifact")
            return onArtifact(seq, type, e, t);
        if (isFinalEvent(type)) {
            m_state.status = type;
            m_state.error = type == "failed" ? getStr(e, "reason", "the run failed without giving a reason") : "";
            m_state.endedAt = t ? *t : wallTime();
            touchStep(getInt(e, "step"));
            if (type == "finished") {
                if (const json *summary = getObj(e, "summary"))
                    mergeFinalSummary(*summary);
            }
            m_state.changed = true;
            m_stats.finalEvent = true;
            if (type == "cancelled") // beside the resume's line: where a stopped run stood
                if (const auto step = getInt(e, "step"))
                    return log(seq, t, "info", "cancelled at step " + std::to_string(*step));
            return okStatus();
        }
        // Unknown types (a newer worker, an external trainer's own events) are kept, never an error.
        json rest = e;
        rest.erase("seq");
        rest.erase("t");
        rest.erase("type");
        return log(seq, t, "info", type + " " + rest.dump());
    }

    Status onStarted(int64_t seq, const json &e, std::optional<double> t)
    {
        const bool restarted = m_startedInBatch && m_state.status == "running"; // no end since the last start
        m_startedInBatch = true;
        m_state.status = "running";
        // From when the worker began (its data read and tokenized count as the run's time), when it says so.
        const double event = t ? *t : wallTime();
        const auto began = getNum(e, "process_started");
        const double at = began && *began > 0 && *began <= event ? *began : event;
        // A resumed run keeps its first start; the time it sat stopped (since the end a resume follows, or since
        // its own end when it starts again unasked, as an external script does) is left out of its duration.
        // A journal read whole (lbk record --journal) holds no end between a worker that died and its resume: the
        // last event before this start stands for it.
        const auto stopped = m_state.pausedAt  ? m_state.pausedAt
                             : m_state.endedAt ? m_state.endedAt
                             : restarted       ? m_lastEventAt
                                               : std::nullopt;
        if (m_state.startedAt && stopped)
            m_state.pausedSeconds += std::max(0.0, at - *stopped);
        if (!m_state.startedAt)
            m_state.startedAt = at;
        m_state.pausedAt.reset();
        m_state.endedAt.reset();
        m_state.error.clear();
        if (auto it = e.find("host"); it != e.end() && it->is_string())
            m_state.host = it->get<std::string>();
        // The writer's start time tells its process from a later one given the same pid (found by a review: with
        // none, a run whose resumed worker died unreported stayed "running" once its pid was reused).
        if (auto pid = getInt(e, "pid"); pid && *pid != m_state.pid) {
            m_state.pid = *pid;
            m_state.pidStart = 0; // the one recorded belonged to another process
        }
        if (auto start = getInt(e, "pid_start"); start && getInt(e, "pid") == m_state.pid)
            m_state.pidStart = *start;
        if (auto it = e.find("kind"); it != e.end() && it->is_string() && !it->get_ref<const std::string &>().empty())
            m_state.kind = it->get<std::string>();
        if (const json *config = getObj(e, "config"); config && m_state.configEmpty && !config->empty()) {
            m_state.newConfig = config->dump();
            m_state.newConfigHash = configHash(*config); // runs with equal hashes must have computed the same
            m_state.configEmpty = false;
        } else if (config && !config->empty() && !e.contains("engine")) {
            if (auto s = keepScriptConfig(*config); !s)
                return s;
        }
        json &info = m_state.summary["run"];
        if (!info.is_object())
            info = json::object();
        for (const char *key : {"device", "threads", "version", "resumed_from_step", "engine"})
            if (auto it = e.find(key); it != e.end())
                info[key] = *it;
        if (const json *data = getObj(e, "data"))
            m_state.summary["data"] = *data;
        m_state.changed = true;
        if (const auto from = getInt(e, "resumed_from_step"); from) // the Log says where a resumed run went on
            if (auto s = log(seq, t, "info", "resumed from the checkpoint of step " + std::to_string(*from)); !s)
                return s;
        const std::string uid = getStr(e, "run");
        if (!uid.empty() && uid != m_state.uid)
            return log(seq, t, "warning",
                       "this journal's run_started names run " + uid + " but it is being stored as run "
                           + m_state.uid + "; check that the run folder belongs to this run");
        return okStatus();
    }

    // Into config, key by key at every depth: what it lacks is added, a value it holds otherwise goes into differs
    // (at the same path). Found by a test: a script given the whole experiment (every default filled in) put the
    // file's partial "model" object, which differs as a whole, under "script".
    static void mergeScriptConfig(json &config, const json &script, json &differs, bool top)
    {
        for (const auto &[key, value] : script.items()) {
            const auto held = config.find(key);
            if (held == config.end()) {
                config[key] = value;
            } else if (top && (key == "script" || key == "script_config")) {
                continue; // where the differences go
            } else if (held->is_object() && value.is_object()) {
                json below = json::object();
                mergeScriptConfig(*held, value, below, false);
                if (!below.empty())
                    differs[key] = std::move(below);
            } else if (*held != value) {
                differs[key] = value;
            }
        }
    }

    // A target's script, started under the experiment `lbk run` was given (the run's config), trained by a config
    // of its own (its run_started's): merged in, so compare diffs what the script ran with. Keys the experiment
    // lacks are added; those whose value differs from the experiment's are kept under "script" (the experiment's
    // stay, as the target was given them).
    Status keepScriptConfig(const json &script)
    {
        json config;
        if (m_state.newConfig) {
            config = json::parse(*m_state.newConfig, nullptr, false);
        } else {
            auto q = m_stmts.get("SELECT config FROM runs WHERE id = ?1");
            q.bindInt(1, m_run);
            if (!q.step())
                return sqlError("read the run's config", q);
            config = json::parse(q.textView(0), nullptr, false);
        }
        if (!config.is_object())
            return okStatus();
        const json before = config;
        json differs = json::object(); // the experiment's keys the script set otherwise
        mergeScriptConfig(config, script, differs, true);
        // Under "script", unless the experiment or the script holds a "script" of its own (or it is there already,
        // from this script's first start).
        const bool ours = !script.contains("script") && (!before.contains("script") || before["script"] == differs);
        if (!differs.empty())
            config[ours ? "script" : "script_config"] = differs;
        if (config == before)
            return okStatus(); // the experiment itself, or merged already (a resumed script starts again)
        m_state.newConfig = config.dump();
        m_state.newConfigHash = configHash(config);
        return okStatus();
    }

    Status onMetrics(int64_t seq, const json &e, std::optional<double> t)
    {
        const auto step = getInt(e, "step");
        const json *values = getObj(e, "values");
        if (!step || !values)
            return missing(seq, "metrics", "an integer \"step\" and an object \"values\"");
        for (auto it = values->begin(); it != values->end(); ++it) {
            if (!it->is_number() && !it->is_null())
                if (auto s = warnNotANumber(seq, t, it.key(), *it); !s)
                    return s;
            addPoint(it.key(), *step, t, getNum(it.value()));
        }
        touchStep(step);
        return okStatus();
    }

    // A metric value that is text, a flag or an object is stored as a gap, as NaN is; said once per run and key
    // (it vanished without a word: a script writing "0.93" as a string lost the whole curve).
    Status warnNotANumber(int64_t seq, std::optional<double> t, const std::string &key, const json &value)
    {
        const std::string marker = "'" + key + "' " + kNotANumber;
        if (saidBefore(marker))
            return okStatus();
        std::string shown = value.dump();
        if (shown.size() > 40)
            shown = shown.substr(0, 37) + "...";
        return log(seq, t, "warning",
                   "metrics at seq " + std::to_string(seq) + ": " + marker + " (it is " + shown +
                       "); stored as gaps. Write numbers (the labbook library converts tensors and numpy values)");
    }
    static constexpr const char *kNotANumber = "is not a number";

    // Metric points are gathered over the whole batch and written sorted by (key, step), many rows per
    // statement: consecutive inserts then land next to each other in the primary key's b-tree, which is about
    // twice as fast as writing them in arrival order one statement each.
    struct Point {
        uint32_t key;
        int64_t step;
        std::optional<double> wall, value;
    };

    void addPoint(std::string_view key, int64_t step, std::optional<double> wall, std::optional<double> value)
    {
        auto it = m_keyIndex.find(key);
        if (it == m_keyIndex.end()) {
            m_keys.emplace_back(key);
            it = m_keyIndex.emplace(std::string_view(m_keys.back()), uint32_t(m_keys.size() - 1)).first;
        }
        m_points.push_back({it->second, step, wall, value});
        if (value && (key.starts_with("val/") || key.starts_with("test/")))
            noteSplitFigure(std::string(key), step, value);
    }

    Status flushPoints()
    {
        if (m_points.empty())
            return okStatus();
        // Group by key keeping arrival order (a counting sort: points mostly arrive in step order already), then
        // sort a key's run of points by step only where it is not in order.
        std::vector<uint32_t> start(m_keys.size() + 1, 0);
        for (const Point &p : m_points)
            ++start[p.key + 1];
        for (size_t k = 1; k < start.size(); ++k)
            start[k] += start[k - 1];
        m_sorted.resize(m_points.size());
        {
            std::vector<uint32_t> next(start.begin(), start.end() - 1);
            for (const Point &p : m_points)
                m_sorted[next[p.key]++] = p;
        }
        for (size_t k = 0; k + 1 < start.size(); ++k) {
            auto first = m_sorted.begin() + start[k], last = m_sorted.begin() + start[k + 1];
            auto byStep = [](const Point &a, const Point &b) { return a.step < b.step; };
            if (!std::is_sorted(first, last, byStep))
                std::stable_sort(first, last, byStep); // stable: a later value for the same step still wins
        }
        m_points.swap(m_sorted);
        constexpr int kRows = 64;
        static const std::string multi = [] {
            std::string sql = "INSERT OR REPLACE INTO metrics (run, key, step, wall, value) VALUES ";
            for (int r = 0; r < kRows; ++r)
                sql += (r ? ", (?1, ?" : "(?1, ?") + std::to_string(2 + 4 * r) + ", ?" + std::to_string(3 + 4 * r)
                       + ", ?" + std::to_string(4 + 4 * r) + ", ?" + std::to_string(5 + 4 * r) + ")";
            return sql;
        }();
        auto bindRow = [&](detail::Stmt &s, int base, const Point &p) {
            s.bindStaticText(base, m_keys[p.key]).bindInt(base + 1, p.step).bindOptDouble(base + 2, p.wall)
                .bindOptDouble(base + 3, p.value);
        };
        size_t i = 0;
        if (m_points.size() >= size_t(kRows)) {
            auto s = m_stmts.get(multi);
            s.bindInt(1, m_run);
            for (; i + kRows <= m_points.size(); i += kRows) {
                s.reset();
                for (int r = 0; r < kRows; ++r)
                    bindRow(s, 2 + 4 * r, m_points[i + size_t(r)]);
                if (!s.run())
                    return sqlError("store metrics", s);
            }
        }
        auto s = m_stmts.get("INSERT OR REPLACE INTO metrics (run, key, step, wall, value) VALUES (?1, ?2, ?3, ?4, ?5)");
        s.bindInt(1, m_run);
        for (; i < m_points.size(); ++i) {
            s.reset();
            bindRow(s, 2, m_points[i]);
            if (!s.run())
                return sqlError("store metrics", s);
        }
        m_points.clear();
        return okStatus();
    }

    Status onEvaluation(int64_t seq, const json &e, std::optional<double> t)
    {
        const auto step = getInt(e, "step");
        const std::string split = getStr(e, "split");
        if (!step || split.empty())
            return missing(seq, "evaluation", "an integer \"step\" and a \"split\"");
        const json *summaryPtr = getObj(e, "summary");
        const json summary = summaryPtr ? *summaryPtr : json::object();
        {
            auto s = m_stmts.get(
                "INSERT OR REPLACE INTO evaluations (run, step, split, wall, summary) VALUES (?, ?, ?, ?, ?)");
            s.bindInt(1, m_run).bindInt(2, *step).bindText(3, split).bindOptDouble(4, t).bindText(5, summary.dump());
            if (!s.run())
                return sqlError("store an evaluation", s);
        }
        // The evaluation's scalars also become metric series ("val/accuracy" per step), so every curve is read
        // the same way; an explicit metrics event for the same key and step wins.
        auto mirror = m_stmts.get("INSERT OR IGNORE INTO metrics (run, key, step, wall, value) VALUES (?, ?, ?, ?, ?)");
        mirror.bindInt(1, m_run).bindInt(3, *step).bindOptDouble(4, t);
        for (const std::string_view scalar : scalarMetricKeys()) {
            const std::string key(scalar);
            auto it = summary.find(key);
            if (it == summary.end())
                continue;
            const std::string name = split + "/" + key;
            const auto v = getNum(*it);
            noteSplitFigure(name, *step, v);
            mirror.reset();
            mirror.bindText(2, name).bindOptDouble(5, v);
            if (!mirror.run())
                return sqlError("store metric " + name, mirror);
        }
        // A binary run's latest validation says where its F1 peaks: lbk show names the threshold to predict by.
        if (const json *best = getObj(summary, "best_f1"); best && split == "val")
            m_state.summary["val_best_f1"] = *best;
        noteLabels(summary, split);
        touchStep(step);
        m_state.changed = true;
        return okStatus();
    }

    // The labels the validation split is scored over, in the summary's "val_labels": runs whose labels sections are the
    // same can still predict different labels (the same top_n or min_count over other data), which Compare must know
    // before it ranks them (labelingDifference).
    void noteLabels(const json &summary, const std::string &split)
    {
        const json *perClass = getArr(summary, "per_class");
        if (split != "val" || !perClass)
            return;
        json labels = json::array();
        for (const auto &c : *perClass)
            if (c.is_object() && c.value("label", json()).is_string())
                labels.push_back(c["label"]);
        if (!labels.empty())
            m_state.summary["val_labels"] = std::move(labels);
    }

    // A split's figure at a step, from an evaluation or from a script's metric named "val/..." or "test/..." (as a
    // script that logs its evaluations with run.log() writes them): the summary keeps the last one as final and
    // the best one with its step, so `lbk runs`, show and compare list them either way.
    void noteSplitFigure(const std::string &name, int64_t step, std::optional<double> v)
    {
        json &final = m_state.summary["final"];
        json &finalStep = m_state.summary["final_step"];
        json &best = m_state.summary["best"];
        json &bestStep = m_state.summary["best_step"];
        for (json *o : {&final, &finalStep, &best, &bestStep})
            if (!o->is_object())
                *o = json::object();
        final[name] = v ? json(*v) : json(nullptr);
        finalStep[name] = step;
        m_state.changed = true;
        if (!v)
            return;
        const bool higher = higherIsBetter(name);
        auto b = best.find(name);
        if (b == best.end() || !b->is_number() || (higher ? *v > b->get<double>() : *v < b->get<double>())) {
            best[name] = *v;
            bestStep[name] = step;
        }
    }

    void mergeFinalSummary(const json &summary)
    {
        // Accepts {"final": {...}, "best": {...}} as well as a flat {"test/accuracy": 0.8, "best/val/f1": 0.7,
        // "steps": 900, "stopped_early": false}: numbers go to final ("best/..." ones to best), anything else
        // to the top level of the summary, except over an object the run's own events made there (its "run"
        // facts, "best", "lr_suggestion"): a script's finish({"best": "epoch 3"}) does not erase them.
        for (auto it = summary.begin(); it != summary.end(); ++it) {
            const std::string &k = it.key();
            if ((k == "final" || k == "best" || k == "best_step") && it->is_object()) {
                json &into = m_state.summary[k];
                if (!into.is_object())
                    into = json::object();
                into.update(*it);
            } else if ((it->is_number() || it->is_null()) && k.size() > 5 && k.compare(0, 5, "best/") == 0) {
                // The trainer's own flat "best/val/accuracy" (it knows which checkpoint it kept).
                json &into = m_state.summary["best"];
                if (!into.is_object())
                    into = json::object();
                into[k.substr(5)] = *it;
            } else if (it->is_number() || it->is_null()) {
                json &into = m_state.summary["final"];
                if (!into.is_object())
                    into = json::object();
                into[k] = *it;
            } else if (!m_state.summary.contains(k) || !m_state.summary[k].is_object()) {
                m_state.summary[k] = *it;
            } // else a value that would replace a part of the run's own record ("run", "best", "lr_suggestion")
        }
    }

    Status onHistogram(int64_t seq, const json &e)
    {
        const auto step = getInt(e, "step");
        const std::string split = getStr(e, "split");
        const std::string name = getStr(e, "name");
        const auto lo = getNum(e, "lo"), hi = getNum(e, "hi");
        const json *counts = getArr(e, "counts");
        if (!step || split.empty() || name.empty() || !lo || !hi || !counts)
            return missing(seq, "histogram", "\"step\", \"split\", \"name\", \"lo\", \"hi\" and \"counts\"");
        // A plot shows a few hundred bins; millions are a writer's mistake that would swell the store.
        constexpr size_t kMaxBins = 10000;
        if (counts->size() > kMaxBins || !(*lo < *hi))
            return missing(seq, "histogram", ("at most " + std::to_string(kMaxBins) + " \"counts\" (it gives " +
                                              std::to_string(counts->size()) + ") and \"lo\" below \"hi\"").c_str());
        json clean = json::array();
        for (const auto &c : *counts) {
            if (!c.is_number() || !(c.get<double>() >= 0))
                return missing(seq, "histogram", "\"counts\" of numbers, none negative");
            clean.push_back(c.get<int64_t>());
        }
        auto s = m_stmts.get("INSERT OR REPLACE INTO histograms (run, step, split, name, lo, hi, counts) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)");
        s.bindInt(1, m_run).bindInt(2, *step).bindText(3, split).bindText(4, name).bindDouble(5, *lo).bindDouble(6, *hi)
            .bindText(7, clean.dump());
        return s.run() ? okStatus() : Status(sqlError("store a histogram", s));
    }

    Status onPredictions(int64_t seq, const json &e)
    {
        const auto step = getInt(e, "step");
        const std::string split = getStr(e, "split");
        const json *rows = getArr(e, "rows");
        if (!step || split.empty() || !rows)
            return missing(seq, "predictions", "\"step\", \"split\" and an array \"rows\"");
        std::vector<PredictionRow> prepared;
        prepared.reserve(rows->size());
        int64_t bad = 0;
        for (const json &row : *rows) {
            if (auto r = predictionRow(row))
                prepared.push_back(std::move(*r));
            else
                ++bad;
        }
        // In primary-key order, so consecutive inserts touch neighbouring pages.
        std::sort(prepared.begin(), prepared.end(), [](const auto &a, const auto &b) { return a.id < b.id; });
        if (auto s = storePredictions(split, *step, prepared); !s)
            return s;
        if (auto s = storeTitles(prepared); !s)
            return s;
        if (bad)
            return log(seq, std::nullopt, "warning",
                       "predictions event seq " + std::to_string(seq) + ": " + std::to_string(bad)
                           + " rows without an \"id\" skipped");
        return okStatus();
    }

    Status storePredictions(const std::string &split, int64_t step, const std::vector<PredictionRow> &rows)
    {
        auto ins = m_stmts.get("INSERT OR REPLACE INTO predictions (run, split, step, example_id, truth, top, "
                               "top1_label, top1_prob, p_true, correct) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        ins.bindInt(1, m_run).bindText(2, split).bindInt(3, step);
        for (const PredictionRow &r : rows) {
            ins.reset();
            ins.bindStaticText(4, r.id).bindStaticText(5, r.truth).bindStaticText(6, r.top);
            if (r.top1.empty())
                ins.bindNull(7);
            else
                ins.bindStaticText(7, r.top1);
            ins.bindOptDouble(8, r.top1Prob).bindOptDouble(9, r.pTrue).bindInt(10, r.correct ? 1 : 0);
            if (!ins.run())
                return sqlError("store a prediction", ins);
        }
        return okStatus();
    }

    Status storeTitles(const std::vector<PredictionRow> &rows)
    {
        auto title = m_stmts.get("INSERT OR IGNORE INTO examples (run, example_id, title) VALUES (?, ?, ?)");
        title.bindInt(1, m_run);
        for (const PredictionRow &r : rows) {
            if (!r.title)
                continue;
            title.reset();
            title.bindStaticText(2, r.id).bindStaticText(3, *r.title);
            if (!title.run())
                return sqlError("store an example title", title);
        }
        return okStatus();
    }

    Status onLrPoint(int64_t seq, const json &e)
    {
        const auto index = getInt(e, "index");
        if (!index)
            return missing(seq, "lr_point", "an integer \"index\"");
        if (*index == 0) { // a new range test starts: its curve replaces the last one, points beyond its end included
            auto d = m_stmts.get("DELETE FROM lr_points WHERE run = ?");
            d.bindInt(1, m_run);
            if (!d.run())
                return sqlError("replace an LR-finder curve", d);
        }
        auto s = m_stmts.get("INSERT OR REPLACE INTO lr_points (run, idx, lr, loss, smoothed) VALUES (?, ?, ?, ?, ?)");
        s.bindInt(1, m_run).bindInt(2, *index).bindOptDouble(3, getNum(e, "lr")).bindOptDouble(4, getNum(e, "loss"))
            .bindOptDouble(5, getNum(e, "smoothed"));
        return s.run() ? okStatus() : Status(sqlError("store an LR-finder point", s));
    }

    // The trainer's best checkpoint names its metric's value: its step is the metric's best step (a tie it broke
    // by a lower loss is a later step than the first evaluation with that value, which noteSplitFigure keeps), and
    // the summary's "kept_checkpoint" holds its step and every validation figure there.
    void noteKeptBest(int64_t step, const json &metric)
    {
        // Labbook's own trainer (its run_started names the engine): a script's "best" checkpoint may name the
        // step it saved at with the best value so far (Lightning's callback does), which is no best step.
        if (!metric.is_object() || !recordedByWorker(m_state.summary).value_or(false))
            return;
        for (const auto &[name, value] : metric.items()) {
            if (!value.is_number())
                continue;
            for (const char *part : {"best", "best_step"})
                if (!m_state.summary[part].is_object())
                    m_state.summary[part] = json::object();
            m_state.summary["best"][name] = value;
            m_state.summary["best_step"][name] = step;
            m_state.changed = true;
        }
        // The validation figures of the kept weights, from the evaluation just before (a per-metric best is each
        // metric's own step): what an export of the run describes.
        json val = json::object();
        if (const json final = m_state.summary.value("final", json()); final.is_object())
            for (const auto &[name, value] : final.items())
                if (name.rfind("val/", 0) == 0)
                    val[name] = value;
        m_state.summary["kept_checkpoint"] = {{"step", step}, {"val", std::move(val)}};
    }

    Status onArtifact(int64_t seq, const std::string &type, const json &e, std::optional<double> t)
    {
        const std::string path = getStr(e, "path");
        if (path.empty())
            return missing(seq, type, "a \"path\"");
        std::string kind = type == "checkpoint" ? "checkpoint-" + getStr(e, "kind", "last") : getStr(e, "kind", "file");
        if (auto removed = e.find("removed"); removed != e.end() && removed->is_boolean() && removed->get<bool>()) {
            auto d = m_stmts.get("DELETE FROM artifacts WHERE run = ?1 AND kind = ?2 AND path = ?3");
            d.bindInt(1, m_run).bindText(2, kind).bindText(3, path);
            return d.run() ? okStatus() : Status(sqlError("remove an artifact", d));
        }
        json meta = json::object();
        if (auto it = e.find("metric"); it != e.end())
            meta["metric"] = *it;
        const auto step = getInt(e, "step");
        if (kind == "checkpoint-best" && step)
            noteKeptBest(*step, meta.value("metric", json()));
        // One row per (kind, path): a checkpoint file rewritten every epoch is one artifact at its latest step.
        auto s = m_stmts.get("INSERT INTO artifacts (run, kind, path, sha256, step, wall, meta) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (run, kind, path) DO UPDATE SET "
                             "sha256 = excluded.sha256, step = excluded.step, wall = excluded.wall, "
                             "meta = excluded.meta");
        s.bindInt(1, m_run).bindText(2, kind).bindText(3, path).bindText(4, getStr(e, "sha256"))
            .bindInt(5, step.value_or(m_state.lastStep)).bindOptDouble(6, t).bindText(7, meta.dump());
        return s.run() ? okStatus() : Status(sqlError("store an artifact", s));
    }

    detail::StatementCache &m_stmts;
    const fs::path &m_storePath;
    int64_t m_run;
    RunState m_state;
    IngestStats m_stats;
    int64_t m_maxSeq = 0;
    std::set<std::string> m_said; // markers of the once-per-run warnings this batch has asked about (saidBefore)
    FastMetrics m_fast;
    std::optional<double> m_lastEventAt; // the time of the last event of this batch, for a restart without an end
    bool m_startedInBatch = false;        // a run_started was applied in this batch
    std::deque<std::string> m_keys; // stable addresses for m_keyIndex's views
    std::unordered_map<std::string_view, uint32_t> m_keyIndex;
    std::vector<Point> m_points, m_sorted;
};

} // namespace

Result<IngestStats> Store::ingestLines(int64_t run, const std::vector<std::string_view> &lines, int64_t newOffset)
{
    try {
        Ingester ingester(*m_stmts, m_path, run);
        return ingester.ingest(lines, newOffset);
    } catch (const std::exception &e) { // out of memory, mostly; the transaction was rolled back
        return Error{"cannot store events of run " + std::to_string(run) + " in " + m_path.string() + ": "
                     + e.what()};
    }
}

Result<IngestStats> ingestJournal(Store &store, int64_t run, const fs::path &journal)
{
    IngestStats total;
    const IngestCursor start = store.cursor(run);
    auto reader = JournalReader::open(journal);
    if (!reader)
        return reader.error();
    if (!reader->exists()) {
        if (start.offset == 0)
            return total; // the worker has not written anything yet
        return Error{"the journal " + journal.string() + " of run " + std::to_string(run) + " is gone, though "
                     + std::to_string(start.offset) + " bytes of it were stored; the run folder was moved or "
                     "deleted (what was stored stays in " + store.path().string() + ")"};
    }
    if (reader->size() < start.offset)
        return Error{"the journal " + journal.string() + " is " + std::to_string(reader->size()) + " bytes, shorter "
                     "than the " + std::to_string(start.offset) + " bytes already stored for run " + std::to_string(run)
                     + ": it was truncated or replaced; nothing was read. Its stored events stay in "
                     + store.path().string()};
    auto read = reader->readLines(start.offset, [&](const std::vector<std::string_view> &lines, int64_t newOffset) {
        auto stats = store.ingestLines(run, lines, newOffset);
        if (!stats)
            return Status(stats.error());
        total.events += stats->events;
        total.duplicates += stats->duplicates;
        total.malformed += stats->malformed;
        for (auto &said : stats->skipped)
            if (total.skipped.size() < IngestStats::kMaxSkippedSaid)
                total.skipped.push_back(std::move(said));
        total.finalEvent = total.finalEvent || stats->finalEvent;
        return okStatus();
    });
    if (!read)
        return read.error();
    return total;
}

} // namespace lbk
