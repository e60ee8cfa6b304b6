// The store's sweeps and their trials (migration 2). Part of Store; see store.h.
#include <algorithm>

#include "store/sqlite_util.h"
#include "store/store.h"
#include "util/text.h"

using nlohmann::json;

namespace lbk {

namespace {

const char *const kSweepStatusNames[] = {"running", "finished", "failed", "cancelled", "interrupted"};
const char *const kTrialStateNames[] = {"pending",  "launching", "running",   "pruning",    "finished",
                                        "pruned",   "failed",    "cancelled", "interrupted"};

constexpr const char *kSweepColumns =
    "id, uid, name, spec, status, error, host, pid, pid_start, created_at, ended_at";

SweepRecord readSweep(const detail::Stmt &s)
{
    SweepRecord r;
    r.id = s.i64(0);
    r.uid = s.text(1);
    r.name = s.text(2);
    r.spec = json::parse(s.textView(3), nullptr, false);
    if (r.spec.is_discarded())
        r.spec = json::object();
    r.status = sweepStatusFromString(s.textView(4)).value_or(SweepStatus::Interrupted);
    r.error = s.text(5);
    r.host = s.text(6);
    r.pid = s.i64(7);
    r.pidStart = s.i64(8);
    r.createdAt = s.f64(9);
    r.endedAt = s.isNull(10) ? 0 : s.f64(10);
    return r;
}

} // namespace

const char *toString(SweepStatus s) { return kSweepStatusNames[int(s)]; }

std::optional<SweepStatus> sweepStatusFromString(std::string_view s)
{
    for (int i = 0; i < 5; ++i)
        if (s == kSweepStatusNames[i])
            return SweepStatus(i);
    return std::nullopt;
}

const char *toString(TrialState s) { return kTrialStateNames[int(s)]; }

std::optional<TrialState> trialStateFromString(std::string_view s)
{
    for (int i = 0; i < 9; ++i)
        if (s == kTrialStateNames[i])
            return TrialState(i);
    return std::nullopt;
}

bool isOpen(TrialState s)
{
    return s == TrialState::Pending || s == TrialState::Launching || s == TrialState::Running || s == TrialState::Pruning;
}

Result<SweepRecord> Store::createSweep(const std::string &name, const json &spec, const std::vector<json> &trialParams)
{
    detail::Transaction tx(m_db);
    if (auto b = tx.begin(); !b)
        return Error{"cannot create a sweep in " + m_path.string() + ": " + b.message()};
    int64_t id = 0;
    for (int attempt = 0; attempt < 8 && id == 0; ++attempt) {
        auto s = stmt("INSERT INTO sweeps (uid, name, spec, created_at) VALUES (?, ?, ?, ?)");
        s.bindText(1, detail::newUid()).bindText(2, toValidUtf8(name)).bindText(3, spec.dump()).bindDouble(4, detail::now());
        if (s.run())
            id = sqlite3_last_insert_rowid(m_db);
        else if (sqlite3_extended_errcode(m_db) != SQLITE_CONSTRAINT_UNIQUE)
            return Error{"cannot create a sweep in " + m_path.string() + ": " + s.error()};
    }
    for (size_t i = 0; i < trialParams.size(); ++i) {
        auto s = stmt("INSERT INTO sweep_trials (sweep, trial, params) VALUES (?, ?, ?)");
        s.bindInt(1, id).bindInt(2, int64_t(i + 1)).bindText(3, trialParams[i].dump());
        if (!s.run())
            return Error{"cannot record the sweep's trials in " + m_path.string() + ": " + s.error()};
    }
    if (auto c = tx.commit(); !c)
        return Error{"cannot create a sweep in " + m_path.string() + ": " + c.message()};
    return sweep(std::to_string(id));
}

Result<SweepRecord> Store::sweep(std::string_view ref) const
{
    if (ref.empty())
        return badInput("no sweep given; `lbk sweeps` lists the sweeps in " + m_path.string());
    const bool number = ref.size() <= 18 && std::all_of(ref.begin(), ref.end(), [](char c) { return c >= '0' && c <= '9'; });
    const char *queries[] = {"SELECT %s FROM sweeps WHERE id = ?1 AND ?2",
                             "SELECT %s FROM sweeps WHERE uid = ?1",
                             "SELECT %s FROM sweeps WHERE length(?1) >= 4 AND uid >= ?1 AND uid < ?1 || char(1114111) "
                             "AND (SELECT count(*) FROM sweeps WHERE uid >= ?1 AND uid < ?1 || char(1114111)) = 1",
                             "SELECT %s FROM sweeps WHERE name = ?1 ORDER BY created_at DESC, id DESC LIMIT 1"};
    for (const char *q : queries) {
        std::string sql = q;
        sql.replace(sql.find("%s"), 2, kSweepColumns);
        auto s = stmt(sql);
        s.bindText(1, ref);
        if (sql.find("?2") != std::string::npos)
            s.bindInt(2, number ? 1 : 0);
        if (s.step())
            return readSweep(s);
    }
    return badInput("no sweep '" + std::string(ref) + "' in " + m_path.string() + "; `lbk sweeps` lists them");
}

std::vector<SweepRecord> Store::sweeps() const
{
    auto s = stmt(std::string("SELECT ") + kSweepColumns + " FROM sweeps ORDER BY created_at DESC, id DESC");
    std::vector<SweepRecord> out;
    while (s.step())
        out.push_back(readSweep(s));
    return out;
}

std::vector<TrialRecord> Store::trials(int64_t sweep) const
{
    auto s = stmt("SELECT sweep, trial, params, run_uid, run, state, reason, value FROM sweep_trials WHERE sweep = ? "
                  "ORDER BY trial");
    s.bindInt(1, sweep);
    std::vector<TrialRecord> out;
    while (s.step()) {
        TrialRecord t;
        t.sweep = s.i64(0);
        t.trial = int(s.i64(1));
        t.params = json::parse(s.textView(2), nullptr, false);
        t.runUid = s.text(3);
        t.run = s.isNull(4) ? 0 : s.i64(4);
        t.state = trialStateFromString(s.textView(5)).value_or(TrialState::Interrupted);
        t.reason = s.text(6);
        if (!s.isNull(7))
            t.value = s.f64(7);
        out.push_back(std::move(t));
    }
    return out;
}

Status Store::setSweepStatus(int64_t sweep, SweepStatus status, const std::string &error)
{
    auto s = stmt("UPDATE sweeps SET status = ?2, error = ?3, "
                  "ended_at = CASE WHEN ?2 = 'running' THEN NULL ELSE coalesce(ended_at, ?4) END WHERE id = ?1");
    s.bindInt(1, sweep).bindText(2, toString(status)).bindText(3, toValidUtf8(error)).bindDouble(4, detail::now());
    if (!s.run())
        return Error{"cannot set the status of sweep " + std::to_string(sweep) + ": " + s.error()};
    return Unit{};
}

Result<bool> Store::claimSweep(int64_t sweep, const std::string &host, int64_t pid, int64_t pidStart,
                               const std::function<bool(int64_t, int64_t)> &alive)
{
    detail::Transaction tx(m_db);
    if (auto b = tx.begin(); !b)
        return b.error();
    auto rec = this->sweep(std::to_string(sweep));
    if (!rec)
        return rec.error();
    if (pid != 0 && rec->pid != 0 && !(rec->pid == pid && rec->pidStart == pidStart) && alive(rec->pid, rec->pidStart))
        return false;
    auto s = stmt("UPDATE sweeps SET host = ?2, pid = ?3, pid_start = ?4 WHERE id = ?1");
    s.bindInt(1, sweep).bindText(2, host).bindInt(3, pid).bindInt(4, pidStart);
    if (!s.run())
        return Error{"cannot record the process of sweep " + std::to_string(sweep) + ": " + s.error()};
    if (auto c = tx.commit(); !c)
        return c.error();
    return true;
}

Result<bool> Store::claimTrial(int64_t sweep, int trial, const std::string &runUid)
{
    auto s = stmt("UPDATE sweep_trials SET state = 'launching', run_uid = ?3 WHERE sweep = ?1 AND trial = ?2 "
                  "AND state = 'pending'");
    s.bindInt(1, sweep).bindInt(2, trial).bindText(3, runUid);
    if (!s.run())
        return Error{"cannot claim trial " + std::to_string(trial) + " of sweep " + std::to_string(sweep) + ": " + s.error()};
    return sqlite3_changes(m_db) == 1;
}

Status Store::updateTrial(const TrialRecord &t)
{
    auto s = stmt("UPDATE sweep_trials SET run_uid = ?3, run = ?4, state = ?5, reason = ?6, value = ?7 "
                  "WHERE sweep = ?1 AND trial = ?2");
    s.bindInt(1, t.sweep).bindInt(2, t.trial).bindText(3, t.runUid).bindText(5, toString(t.state))
        .bindText(6, toValidUtf8(t.reason)).bindOptDouble(7, t.value);
    if (t.run > 0)
        s.bindInt(4, t.run);
    else
        s.bindNull(4);
    if (!s.run())
        return Error{"cannot record trial " + std::to_string(t.trial) + " of sweep " + std::to_string(t.sweep) + ": " +
                     s.error()};
    return Unit{};
}

std::optional<TrialRecord> Store::trialOfRun(int64_t run) const
{
    auto s = stmt("SELECT sweep, trial FROM sweep_trials WHERE run = ?");
    s.bindInt(1, run);
    if (!s.step())
        return std::nullopt;
    const int64_t sweep = s.i64(0);
    const int trial = int(s.i64(1));
    s.reset();
    for (auto &t : trials(sweep))
        if (t.trial == trial)
            return t;
    return std::nullopt;
}

} // namespace lbk
