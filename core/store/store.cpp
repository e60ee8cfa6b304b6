#include "store/store.h"
#include "util/text.h"
#include "metrics/metrics.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <variant>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/migrations.h"
#include "store/sqlite_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace lbk {

namespace {

const char *const kStatusNames[] = {"queued", "running", "finished", "failed", "cancelled", "interrupted"};

// The RunSummary columns, in the order readSummary() reads them.
constexpr std::string_view kSummaryColumns =
    "id, uid, name, experiment, kind, task, status, error, host, pid, pid_start, target, job_id, run_dir, "
    "created_at, started_at, ended_at, tags, notes, last_step, config_hash, summary, paused_seconds, paused_at";
constexpr int kSummaryColumnCount = 24;

using detail::newUid;
using detail::now;

json parseOr(std::string_view text, json fallback)
{
    json j = json::parse(text, nullptr, false);
    return j.is_discarded() ? fallback : j;
}

// The strings of a JSON array column (tags, true labels); anything else in it is skipped.
std::vector<std::string> stringList(std::string_view text)
{
    std::vector<std::string> out;
    const json list = parseOr(text, json::array());
    if (list.is_array())
        for (const auto &t : list)
            if (t.is_string())
                out.push_back(t.get<std::string>());
    return out;
}

void readSummary(const detail::Stmt &s, RunSummary &r)
{
    r.id = s.i64(0);
    r.uid = s.text(1);
    r.name = s.text(2);
    r.experiment = s.text(3);
    r.kind = s.text(4);
    r.task = s.text(5);
    r.status = runStatusFromString(s.textView(6)).value_or(RunStatus::Interrupted);
    r.error = s.text(7);
    r.host = s.text(8);
    r.pid = s.i64(9);
    r.pidStart = s.i64(10);
    r.target = s.text(11);
    r.jobId = s.text(12);
    r.runDir = s.text(13);
    r.createdAt = s.f64(14);
    r.startedAt = s.isNull(15) ? 0 : s.f64(15);
    r.endedAt = s.isNull(16) ? 0 : s.f64(16);
    r.tags = stringList(s.textView(17));
    r.notes = s.text(18);
    r.lastStep = s.i64(19);
    r.configHash = s.text(20);
    r.summary = parseOr(s.textView(21), json::object());
    if (!r.summary.is_object())
        r.summary = json::object();
    r.pausedSeconds = s.f64(22);
    r.pausedAt = s.isNull(23) ? 0 : s.f64(23);
}

// Text for a LIKE pattern escaped with a backslash: the user's % and _ match only themselves.
std::string likeEscaped(std::string_view text)
{
    std::string p;
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\')
            p += '\\';
        p += c;
    }
    return p;
}

// The ingester writes truth as ["a","b"] and top as [["a",0.9],["b",0.1]] (compact nlohmann output). Reading
// 100k rows, a hand scan of exactly that shape is several times faster than building JSON trees; anything else
// (escapes, spaces, a hand-edited row) goes through nlohmann.
bool scanLabel(std::string_view &s, std::string &out)
{
    if (s.empty() || s.front() != '"')
        return false;
    const size_t end = s.find_first_of("\"\\", 1);
    if (end == std::string_view::npos || s[end] != '"')
        return false;
    out.assign(s.substr(1, end - 1));
    s.remove_prefix(end + 1);
    return true;
}

bool fastTruth(std::string_view s, std::vector<std::string> &out)
{
    if (s.size() < 2 || s.front() != '[' || s.back() != ']')
        return false;
    s = s.substr(1, s.size() - 2);
    while (!s.empty()) {
        if (!scanLabel(s, out.emplace_back()))
            return false;
        if (!s.empty()) {
            if (s.front() != ',')
                return false;
            s.remove_prefix(1);
        }
    }
    return true;
}

bool fastTop(std::string_view s, std::vector<std::pair<std::string, double>> &out)
{
    if (s.size() < 2 || s.front() != '[' || s.back() != ']')
        return false;
    s = s.substr(1, s.size() - 2);
    while (!s.empty()) {
        if (s.front() != '[')
            return false;
        s.remove_prefix(1);
        auto &[label, p] = out.emplace_back();
        if (!scanLabel(s, label) || s.empty() || s.front() != ',')
            return false;
        s.remove_prefix(1);
        const size_t close = s.find(']');
        if (close == std::string_view::npos)
            return false;
        const std::string_view num = s.substr(0, close);
        if (num == "null") {
            p = std::nan("");
        } else {
            auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), p);
            if (ec != std::errc() || end != num.data() + num.size())
                return false;
        }
        s.remove_prefix(close + 1);
        if (!s.empty()) {
            if (s.front() != ',')
                return false;
            s.remove_prefix(1);
        }
    }
    return true;
}


// Creates dir and its missing parents, each readable by the user only: runs, configs and notes are private.
Status makePrivateDirs(const fs::path &dir)
{
    std::vector<fs::path> missing;
    std::error_code ec;
    for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
        missing.push_back(p);
        if (p == p.parent_path())
            break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST)
            return Error{"cannot create the folder " + it->string() + " for the store: " + std::strerror(errno)};
    }
    return okStatus();
}

} // namespace

bool validUid(std::string_view uid)
{
    if (uid.empty() || uid.size() > 64 || uid.front() == '.' || uid.front() == '-')
        return false;
    return std::all_of(uid.begin(), uid.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'
               || c == '.';
    });
}

const char *toString(RunStatus s)
{
    return kStatusNames[int(s)];
}

std::optional<RunStatus> runStatusFromString(std::string_view s)
{
    for (int i = 0; i < 6; ++i)
        if (s == kStatusNames[i])
            return RunStatus(i);
    return std::nullopt;
}

bool isActive(RunStatus s)
{
    return s == RunStatus::Queued || s == RunStatus::Running;
}

Store::Store(fs::path path, sqlite3 *db)
    : m_path(std::move(path)), m_db(db), m_stmts(std::make_unique<detail::StatementCache>(db))
{
}

Store::~Store()
{
    m_stmts.reset(); // statements first: sqlite3_close refuses a connection with unfinalized statements
    sqlite3_close(m_db);
}

detail::Stmt Store::stmt(std::string_view sql) const
{
    return m_stmts->get(sql);
}

fs::path Store::defaultPath()
{
    const char *xdg = std::getenv("XDG_DATA_HOME");
    if (xdg && *xdg && fs::path(xdg).is_absolute()) // the XDG spec says to ignore a relative value
        return fs::path(xdg) / "labbook" / "labbook.db";
    const char *home = std::getenv("HOME");
    fs::path h = home && *home ? fs::path(home) : fs::path();
    if (h.empty()) {
        if (const passwd *pw = getpwuid(getuid()); pw && pw->pw_dir)
            h = pw->pw_dir;
        else
            h = fs::current_path();
    }
    return h / ".local" / "share" / "labbook" / "labbook.db";
}

int Store::currentSchemaVersion()
{
    return detail::knownSchemaVersion();
}

namespace {

std::mutex g_damageMutex;
std::optional<StoreDamage> g_damage; // the first damage not yet taken

// What to do with a damaged store file: one text for a store found damaged on opening and while reading.
std::string damageAdvice(const std::string &file)
{
    // .dump, not .recover: Debian 12's sqlite3 (3.40.1) fails .recover with "SQL logic error" (found by an audit).
    return "Restore it from a backup, or copy what can be read with `sqlite3 " + file + " .dump | sqlite3 "
           "recovered.db`; every run's journal.jsonl can be recorded again with `lbk record --journal`";
}

} // namespace

void detail::noteStoreDamage(sqlite3 *db, int rc)
{
    const char *name = db ? sqlite3_db_filename(db, "main") : nullptr;
    const std::string file = name && *name ? name : "the store";
    const std::string what = file + ": the store is damaged (" + sqlite3_errstr(rc) + "), so what was read from it "
                             "may be incomplete. " + damageAdvice(file);
    std::lock_guard lock(g_damageMutex);
    if (!g_damage)
        g_damage = StoreDamage{file, what};
}

std::optional<StoreDamage> takeStoreDamage()
{
    std::lock_guard lock(g_damageMutex);
    return std::exchange(g_damage, std::nullopt);
}

// A store file of 0 bytes beside run folders was emptied (a disk that filled, a `>` meant for another file): SQLite
// would make it a new store with no runs, said nowhere (found by an audit). Refused, with the way back.
static std::optional<std::string> emptiedStore(const fs::path &path)
{
    std::error_code ec;
    if (!fs::is_regular_file(path, ec) || fs::file_size(path, ec) != 0 || ec)
        return std::nullopt;
    size_t runs = 0;
    for (fs::directory_iterator it(runsRootOf(path), ec), end; !ec && it != end; it.increment(ec))
        runs += it->is_directory(ec);
    if (runs == 0)
        return std::nullopt;
    return path.string() + " is empty (0 bytes), but " + runsRootOf(path).string() + " holds " +
           counted(long(runs), "run folder") + ": the store file was emptied, so it is not opened as a new store. "
           "Nothing in the run folders is lost: restore the file from a backup, or record each run again from its "
           "folder with `lbk --store NEW.db record --journal FOLDER/journal.jsonl`";
}

Result<std::unique_ptr<Store>> Store::openExisting(const fs::path &path)
{
    if (std::error_code ec; !fs::exists(path, ec))
        return badInput("no store at " + path.string() + ": nothing has been recorded there (`lbk run` creates it; "
                        "--store names another)");
    return open(path);
}

Result<std::unique_ptr<Store>> Store::open(const fs::path &given)
{
    if (given.empty())
        return Error{"no store file given"};
    std::error_code ec;
    fs::path path = fs::absolute(given, ec);
    if (ec)
        path = given;
    if (fs::is_directory(path, ec))
        return Error{path.string() + " is a folder; give the store's file, e.g. " + (path / "labbook.db").string()};
    if (auto s = makePrivateDirs(path.parent_path()); !s)
        return s.error();
    if (auto emptied = emptiedStore(path))
        return Error{*emptied};
    // Create the file ourselves so it (and the -wal and -shm files SQLite derives from it) is the user's only.
    if (int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600); fd >= 0) {
        ::close(fd);
    } else if (errno != EEXIST) {
        return Error{"cannot create the store " + path.string() + ": " + std::strerror(errno)};
    }

    sqlite3 *db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close(db);
        return Error{"cannot open the store " + path.string() + ": " + msg};
    }
    sqlite3_busy_timeout(db, 5000);
    auto fail = [&](const std::string &what, const std::string &msg) -> Error {
        const int code = sqlite3_errcode(db);
        sqlite3_close(db);
        if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) // a cut file, a damaged header, or another file
            return Error{what + " " + path.string() + ": " + msg + ". " +
                         (code == SQLITE_NOTADB ? "If it is a Labbook store, it is damaged: " : "") +
                         damageAdvice(path.string())};
        // SQLite writes its -wal and -shm files beside the store, also to read it: say so when it cannot.
        const bool writable = ::access(path.c_str(), W_OK) == 0 && ::access(path.parent_path().c_str(), W_OK) == 0;
        return Error{what + " " + path.string() + ": " + msg +
                     (writable ? "" : " (the store or its folder is read-only here; SQLite needs to write the store "
                                      "and its -wal and -shm files beside it, also to read it)")};
    };
    // A 16 MB page cache (allocated as used): a 100k-row predictions event updates its confidence index all
    // over, and with the default 2 MB SQLite spills and rewrites the same pages to the WAL again and again.
    if (auto s = detail::exec(db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384");
        !s)
        return fail("cannot configure the store", s.message());
    if (auto s = detail::migrate(db, path); !s) {
        sqlite3_close(db);
        return s.error();
    }
    // WAL: readers (the GUI, lbk show) never block the one writer (the ingester), nor it them. Set only once the
    // file is known to be a Labbook store, so a refused file is left as it was.
    if (auto s = detail::exec(db, "PRAGMA journal_mode = WAL"); !s)
        return fail("cannot open the store", s.message());
    return std::unique_ptr<Store>(new Store(path, db));
}

int Store::schemaVersion() const
{
    auto v = detail::readSchemaVersion(m_db, m_path);
    return v ? *v : 0;
}

fs::path runsRootOf(const fs::path &storeFile)
{
    return storeFile.parent_path() / (storeFile.stem().string() + ".runs");
}

fs::path Store::runsRoot() const
{
    return runsRootOf(m_path);
}

void Store::findMovedRunDir(RunSummary &r) const
{
    std::error_code ec;
    if (r.runDir.empty() || fs::exists(r.runDir, ec))
        return;
    const fs::path here = runsRoot() / r.uid;
    if (validUid(r.uid) && fs::is_directory(here, ec))
        r.runDir = here.string();
}

Result<RunDetail> Store::createRun(const NewRun &run)
{
    if (!run.uid.empty() && !validUid(run.uid))
        return Error{"run uid '" + run.uid + "' is not valid: use letters, digits, '-', '_' or '.' (at most 64)"};
    const std::string config = run.config.is_null() ? "{}" : run.config.dump();
    json tags = json::array();
    for (const auto &t : run.tags)
        tags.push_back(t);
    const std::string tagsText = tags.dump();
    const double created = now();
    for (int attempt = 0; attempt < 8; ++attempt) {
        const std::string uid = run.uid.empty() ? newUid() : run.uid;
        auto s = stmt("INSERT INTO runs (uid, name, experiment, kind, task, config, config_hash, target, run_dir, "
                      "tags, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s.bindText(1, uid)
            .bindText(2, toValidUtf8(run.name))
            .bindText(3, run.experiment)
            .bindText(4, run.kind.empty() ? "train" : run.kind)
            .bindText(5, run.task)
            .bindText(6, config)
            .bindText(7, run.configHash)
            .bindText(8, run.target.empty() ? kLocalTarget : run.target)
            .bindText(9, run.runDir)
            .bindText(10, tagsText)
            .bindDouble(11, created);
        if (s.run())
            return runById(sqlite3_last_insert_rowid(m_db));
        const int code = sqlite3_extended_errcode(m_db);
        if (code == SQLITE_CONSTRAINT_UNIQUE) {
            if (!run.uid.empty())
                return Error{"a run with uid '" + run.uid + "' already exists in " + m_path.string()};
            continue; // 48 random bits collided: draw again
        }
        return Error{"cannot create a run in " + m_path.string() + ": " + s.error()};
    }
    return Error{"cannot create a run in " + m_path.string() + ": no free uid found"};
}

Result<RunDetail> Store::runById(int64_t id) const
{
    auto s = stmt(std::string("SELECT ") + std::string(kSummaryColumns) + ", config FROM runs WHERE id = ?");
    s.bindInt(1, id);
    if (!s.step()) {
        if (!s.ok())
            return Error{"cannot read run " + std::to_string(id) + " from " + m_path.string() + ": " + s.error()};
        return Error{"no run with id " + std::to_string(id) + " in " + m_path.string() + "; `lbk runs` lists them"};
    }
    RunDetail r;
    readSummary(s, r);
    r.config = parseOr(s.textView(kSummaryColumnCount), json::object());
    findMovedRunDir(r);
    return r;
}

Result<RunDetail> Store::run(std::string_view ref) const
{
    const std::string notFound =
        "no run '" + std::string(ref) + "' in " + m_path.string() + "; `lbk runs` lists them";
    if (ref.empty())
        return Error{"no run given; `lbk runs` lists the runs in " + m_path.string()};
    if (ref.size() <= 18 && std::all_of(ref.begin(), ref.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (auto r = runById(std::strtoll(std::string(ref).c_str(), nullptr, 10)))
            return r;
    }
    {
        auto s = stmt("SELECT id FROM runs WHERE uid = ?");
        s.bindText(1, ref);
        if (s.step())
            return runById(s.i64(0));
    }
    std::vector<std::pair<int64_t, std::string>> byPrefix; // id, "uid (name)"
    if (ref.size() >= 4) {
        // uid >= prefix AND uid < prefix + U+10FFFF walks the uid index instead of scanning the table.
        auto s = stmt("SELECT id, uid, name FROM runs WHERE uid >= ?1 AND uid < ?1 || char(1114111) "
                      "ORDER BY created_at DESC LIMIT 11");
        s.bindText(1, ref);
        while (s.step())
            byPrefix.emplace_back(s.i64(0), s.text(1) + (s.textView(2).empty() ? "" : " (" + s.text(2) + ")"));
    }
    if (byPrefix.size() == 1)
        return runById(byPrefix.front().first);
    {
        // A name is the latest run of that name; an LR range test of the same experiment (named alike) only when no
        // training run has the name, so `lbk resume NAME` and model.init_from "run:NAME" do not land on the test.
        auto s = stmt("SELECT id FROM runs WHERE name = ? ORDER BY kind = 'lr_find', created_at DESC, id DESC LIMIT 1");
        s.bindText(1, ref);
        if (s.step())
            return runById(s.i64(0));
    }
    if (byPrefix.size() > 1) {
        std::string msg = "run '" + std::string(ref) + "' is ambiguous in " + m_path.string() + ": it starts ";
        for (size_t i = 0; i < byPrefix.size() && i < 10; ++i)
            msg += (i ? ", " : "") + byPrefix[i].second;
        if (byPrefix.size() > 10)
            msg += ", ...";
        msg += "; give more characters of the uid, or the run's id";
        return Error{msg};
    }
    if (auto sweep = this->sweep(ref)) // `lbk cancel s4` for a sweep: the sweep commands take it
        return Error{notFound + "; '" + std::string(ref) + "' is sweep " + std::to_string(sweep->id) +
                     " (`lbk sweep show|cancel|resume " + std::string(ref) + "`)"};
    return Error{notFound};
}

std::vector<RunSummary> Store::runs(const RunFilter &filter) const
{
    // Only the runs table: a list of thousands of runs stays instant however long their metric series are.
    std::string sql = "SELECT " + std::string(kSummaryColumns) + " FROM runs WHERE 1";
    int n = 0;
    int pStatus = 0, pExperiment = 0, pKind = 0, pTag = 0, pText = 0, pConfigPath = 0, pConfigPrefix = 0, pLimit = 0;
    if (filter.status) {
        pStatus = ++n;
        sql += " AND status = ?" + std::to_string(pStatus);
    }
    if (!filter.experiment.empty()) {
        pExperiment = ++n;
        sql += " AND experiment = ?" + std::to_string(pExperiment);
    }
    if (!filter.kind.empty()) {
        pKind = ++n;
        sql += " AND kind = ?" + std::to_string(pKind);
    }
    if (filter.pruned) // kPrunedTag on a cancelled run (RunSummary::pruned)
        sql += std::string(" AND ") + (*filter.pruned ? "" : "NOT ") +
               "EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE json_each.value = '" + kPrunedTag + "')";
    if (!filter.tag.empty()) {
        pTag = ++n;
        sql += " AND EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE json_each.value = ?" + std::to_string(pTag) + ")";
    }
    if (!filter.text.empty()) {
        pText = ++n;
        const std::string p = "?" + std::to_string(pText);
        sql += " AND (name LIKE " + p + " ESCAPE '\\' OR experiment LIKE " + p + " ESCAPE '\\' OR notes LIKE " + p
               + " ESCAPE '\\' OR tags LIKE " + p + " ESCAPE '\\')";
    }
    if (!filter.configPath.empty()) {
        pConfigPath = ++n;
        pConfigPrefix = ++n;
        sql += " AND json_extract(config, '$.' || ?" + std::to_string(pConfigPath) + ") LIKE ?" +
               std::to_string(pConfigPrefix) + " ESCAPE '\\'";
    }
    sql += " ORDER BY created_at DESC, id DESC";
    if (filter.limit > 0) {
        pLimit = ++n;
        sql += " LIMIT ?" + std::to_string(pLimit);
    }
    auto s = stmt(sql);
    if (pStatus)
        s.bindText(pStatus, toString(*filter.status));
    if (pExperiment)
        s.bindText(pExperiment, filter.experiment);
    if (pKind)
        s.bindText(pKind, filter.kind);
    if (pTag)
        s.bindText(pTag, filter.tag);
    if (pText)
        s.bindText(pText, "%" + likeEscaped(filter.text) + "%");
    if (pConfigPath) {
        s.bindText(pConfigPath, filter.configPath);
        s.bindText(pConfigPrefix, likeEscaped(filter.configPrefix) + "%");
    }
    if (pLimit)
        s.bindInt(pLimit, filter.limit);
    std::vector<RunSummary> out;
    while (s.step()) {
        out.emplace_back();
        readSummary(s, out.back());
        findMovedRunDir(out.back());
    }
    return out;
}

int64_t Store::runCount() const
{
    auto s = stmt("SELECT count(*) FROM runs");
    return s.step() ? s.i64(0) : 0;
}

std::vector<std::string> Store::experiments() const
{
    std::vector<std::string> out;
    auto s = stmt("SELECT DISTINCT experiment FROM runs WHERE experiment <> '' ORDER BY experiment");
    while (s.step())
        out.push_back(s.text(0));
    return out;
}

Status Store::setStatus(int64_t run, RunStatus status, const std::string &error)
{
    // Active statuses clear the end time (a resumed or re-queued run: the end is kept as paused_at until the new
    // worker starts, as claimForResume does); final ones keep the first end time.
    auto s = stmt("UPDATE runs SET status = ?2, error = ?3, "
                  "started_at = CASE WHEN ?2 = 'running' THEN coalesce(started_at, ?4) ELSE started_at END, "
                  "paused_at = CASE WHEN ?2 IN ('queued', 'running') THEN coalesce(paused_at, ended_at) "
                  "ELSE paused_at END, "
                  "ended_at = CASE WHEN ?2 IN ('queued', 'running') THEN NULL ELSE coalesce(ended_at, ?4) END "
                  "WHERE id = ?1");
    s.bindInt(1, run).bindText(2, toString(status)).bindText(3, toValidUtf8(error)).bindDouble(4, now());
    if (!s.run())
        return Error{"cannot set the status of run " + std::to_string(run) + ": " + s.error()};
    if (sqlite3_changes(m_db) == 0)
        return Error{"no run with id " + std::to_string(run) + " in " + m_path.string()};
    return okStatus();
}

namespace {
// A run that stopped without saying so ended when it last logged (its dying went unseen until now, perhaps
// overnight), else now. ?1: the run, ?5: now.
constexpr char kSetInterrupted[] = "UPDATE runs SET status = 'interrupted', error = ?4, "
                                   "ended_at = coalesce(ended_at, (SELECT max(wall) FROM metrics WHERE run = ?1), ?5) "
                                   "WHERE id = ?1 AND status IN ('queued', 'running')";
} // namespace

Result<bool> Store::markInterrupted(int64_t run, const std::string &error)
{
    auto s = stmt(kSetInterrupted);
    s.bindInt(1, run).bindText(4, toValidUtf8(error)).bindDouble(5, now());
    if (!s.run())
        return Error{"cannot mark run " + std::to_string(run) + " interrupted: " + s.error()};
    return sqlite3_changes(m_db) > 0;
}

Result<bool> Store::markInterrupted(int64_t run, int64_t pid, int64_t pidStart, const std::string &error)
{
    // Only while the run is still active and still belongs to the process that was found dead: a resume or
    // another ingester that stored the final event in between wins.
    auto s = stmt(std::string(kSetInterrupted) + " AND pid = ?2 AND pid_start = ?3");
    s.bindInt(1, run).bindInt(2, pid).bindInt(3, pidStart).bindText(4, toValidUtf8(error)).bindDouble(5, now());
    if (!s.run())
        return Error{"cannot mark run " + std::to_string(run) + " interrupted: " + s.error()};
    return sqlite3_changes(m_db) > 0;
}

Result<bool> Store::claimForResume(int64_t run)
{
    // The dead worker's pid goes with it: a sync in another process before the new worker's is recorded must not
    // find the old one gone and mark the resumed run interrupted again (syncActiveRuns skips a run without a pid).
    // Its end is kept as paused_at: the time until the resumed worker starts is left out of its duration.
    auto s = stmt("UPDATE runs SET status = 'queued', error = '', paused_at = coalesce(paused_at, ended_at), "
                  "ended_at = NULL, pid = 0, pid_start = 0 "
                  "WHERE id = ?1 AND status IN ('interrupted', 'failed', 'cancelled')");
    s.bindInt(1, run);
    if (!s.run())
        return Error{"cannot queue run " + std::to_string(run) + " for resuming: " + s.error()};
    return sqlite3_changes(m_db) > 0;
}

Status Store::setProcess(int64_t run, const std::string &host, int64_t pid, int64_t pidStart)
{
    auto s = stmt("UPDATE runs SET host = ?2, pid = ?3, pid_start = ?4 WHERE id = ?1");
    s.bindInt(1, run).bindText(2, host).bindInt(3, pid).bindInt(4, pidStart);
    if (!s.run())
        return Error{"cannot record the process of run " + std::to_string(run) + ": " + s.error()};
    if (sqlite3_changes(m_db) == 0)
        return Error{"no run with id " + std::to_string(run) + " in " + m_path.string()};
    return okStatus();
}

Status Store::setJob(int64_t run, const std::string &target, const std::string &jobId)
{
    auto s = stmt("UPDATE runs SET target = ?2, job_id = ?3 WHERE id = ?1");
    s.bindInt(1, run).bindText(2, target).bindText(3, jobId);
    if (!s.run())
        return Error{"cannot record the job of run " + std::to_string(run) + ": " + s.error()};
    if (sqlite3_changes(m_db) == 0)
        return Error{"no run with id " + std::to_string(run) + " in " + m_path.string()};
    return okStatus();
}

Status Store::update(int64_t run, const char *sql, const std::string &text)
{
    auto s = stmt(sql);
    s.bindInt(1, run).bindText(2, text);
    if (!s.run())
        return Error{"cannot update run " + std::to_string(run) + " in " + m_path.string() + ": " + s.error()};
    if (sqlite3_changes(m_db) == 0)
        return Error{"no run with id " + std::to_string(run) + " in " + m_path.string()};
    return okStatus();
}

Status Store::setRunDir(int64_t run, const std::string &dir)
{
    return update(run, "UPDATE runs SET run_dir = ?2 WHERE id = ?1", dir);
}

Status Store::setTags(int64_t run, const std::vector<std::string> &tags)
{
    json j = json::array();
    for (const auto &t : tags)
        if (std::find(j.begin(), j.end(), t) == j.end())
            j.push_back(toValidUtf8(t));
    return update(run, "UPDATE runs SET tags = ?2 WHERE id = ?1", j.dump());
}

Status Store::setNotes(int64_t run, const std::string &notes)
{
    return update(run, "UPDATE runs SET notes = ?2 WHERE id = ?1", toValidUtf8(notes));
}

Status Store::setName(int64_t run, const std::string &name)
{
    return update(run, "UPDATE runs SET name = ?2 WHERE id = ?1", toValidUtf8(name));
}

Status Store::deleteRun(int64_t run)
{
    // ON DELETE CASCADE removes its metrics, predictions, ... in the same statement, so in one transaction.
    auto s = stmt("DELETE FROM runs WHERE id = ?");
    s.bindInt(1, run);
    if (!s.run())
        return Error{"cannot delete run " + std::to_string(run) + " from " + m_path.string() + ": " + s.error()};
    if (sqlite3_changes(m_db) == 0)
        return Error{"no run with id " + std::to_string(run) + " in " + m_path.string()};
    return okStatus();
}

std::vector<std::string> Store::metricKeys(int64_t run) const
{
    // A skip-scan over the primary key: one seek per key, not a walk over every point of every series.
    std::vector<std::string> keys;
    {
        auto s = stmt("SELECT min(key) FROM metrics WHERE run = ?");
        s.bindInt(1, run);
        if (!s.step() || s.isNull(0))
            return keys;
        keys.push_back(s.text(0));
    }
    auto s = stmt("SELECT min(key) FROM metrics WHERE run = ?1 AND key > ?2");
    for (;;) {
        s.reset();
        s.bindInt(1, run).bindText(2, keys.back());
        if (!s.step() || s.isNull(0))
            break;
        keys.push_back(s.text(0));
    }
    return keys;
}

std::vector<MetricPoint> Store::metric(int64_t run, const std::string &key) const
{
    return metricAfter(run, key, INT64_MIN);
}

std::vector<MetricPoint> Store::metricAfter(int64_t run, const std::string &key, int64_t afterStep) const
{
    std::vector<MetricPoint> out;
    auto s = stmt("SELECT step, wall, value FROM metrics WHERE run = ? AND key = ? AND step > ? ORDER BY step");
    s.bindInt(1, run).bindText(2, key).bindInt(3, afterStep);
    while (s.step())
        out.push_back({s.i64(0), s.isNull(1) ? 0.0 : s.f64(1), s.f64OrNaN(2)});
    return out;
}

std::vector<EvaluationRecord> Store::evaluations(int64_t run, const std::string &split) const
{
    std::vector<EvaluationRecord> out;
    auto s = stmt("SELECT step, split, summary FROM evaluations WHERE run = ?1 AND (?2 = '' OR split = ?2) "
                  "ORDER BY step, split");
    s.bindInt(1, run).bindText(2, split);
    while (s.step())
        out.push_back({s.i64(0), s.text(1), parseOr(s.textView(2), json::object())});
    return out;
}

std::vector<std::string> Store::histogramSplits(int64_t run) const
{
    std::vector<std::string> out;
    auto s = stmt("SELECT DISTINCT split FROM histograms WHERE run = ?1 "
                  "ORDER BY split = 'val' DESC, split = 'test' DESC, split");
    s.bindInt(1, run);
    while (s.step())
        out.push_back(s.text(0));
    return out;
}

std::vector<HistogramRecord> Store::histograms(int64_t run, const std::string &split) const
{
    std::vector<HistogramRecord> out;
    auto s = stmt("SELECT step, split, name, lo, hi, counts FROM histograms WHERE run = ?1 AND (?2 = '' OR split = ?2) "
                  "ORDER BY step, split, name");
    s.bindInt(1, run).bindText(2, split);
    while (s.step()) {
        HistogramRecord h;
        h.step = s.i64(0);
        h.split = s.text(1);
        h.name = s.text(2);
        h.lo = s.f64(3);
        h.hi = s.f64(4);
        json counts = parseOr(s.textView(5), json::array());
        if (counts.is_array())
            for (const auto &c : counts)
                h.counts.push_back(c.is_number() ? c.get<int64_t>() : 0);
        out.push_back(std::move(h));
    }
    return out;
}

std::vector<int64_t> Store::predictionSteps(int64_t run, const std::string &split) const
{
    std::vector<std::string> splits;
    if (split.empty()) {
        auto s = stmt("SELECT min(split) FROM predictions WHERE run = ?1 AND split > ?2");
        std::string last;
        for (;;) {
            s.reset();
            s.bindInt(1, run).bindText(2, last);
            if (!s.step() || s.isNull(0))
                break;
            last = s.text(0);
            splits.push_back(last);
        }
    } else {
        splits.push_back(split);
    }
    std::set<int64_t> steps;
    auto s = stmt("SELECT min(step) FROM predictions WHERE run = ?1 AND split = ?2 AND step > ?3");
    for (const auto &sp : splits) {
        int64_t last = INT64_MIN;
        for (;;) {
            s.reset();
            s.bindInt(1, run).bindText(2, sp).bindInt(3, last);
            if (!s.step() || s.isNull(0))
                break;
            last = s.i64(0);
            steps.insert(last);
        }
    }
    return {steps.begin(), steps.end()};
}

namespace {

// A predictions query for one run, split and step (?1, ?2, ?3), and the filter's parameters numbered after them.
struct PredictionQuery {
    std::string sql;
    std::vector<std::variant<std::string, double, int64_t>> params; // ?4, ?5, ...

    std::string param(std::variant<std::string, double, int64_t> v)
    {
        params.push_back(std::move(v));
        return "?" + std::to_string(params.size() + 3);
    }

    explicit PredictionQuery(const PredictionFilter &filter)
    {
        sql = "SELECT p.example_id, coalesce(e.title, ''), p.truth, p.top, p.correct, p.p_true ";
        if (filter.text.empty())
            sql += "FROM predictions p LEFT JOIN examples e ON e.run = p.run AND e.example_id = p.example_id ";
        else // Titles are scanned once in their own table, then the matches looked up by primary key (CROSS JOIN
             // fixes that order; walking 100k predictions and testing each title is ten times slower).
            sql += "FROM (SELECT example_id, title FROM examples WHERE run = ?1 AND title LIKE " +
                   param("%" + likeEscaped(filter.text) + "%") +
                   " ESCAPE '\\') e CROSS JOIN predictions p ON p.run = ?1 AND p.example_id = e.example_id ";
        sql += "WHERE p.run = ?1 AND p.split = ?2 AND p.step = ?3";
        if (filter.misclassifiedOnly)
            sql += " AND p.correct = 0";
        if (!filter.trueLabel.empty()) // instr() on the JSON text is the cheap filter; json_each makes it exact.
            sql += " AND instr(p.truth, " + param(json(filter.trueLabel).dump()) +
                   ") > 0 AND EXISTS (SELECT 1 FROM json_each(p.truth) WHERE json_each.value = " +
                   param(filter.trueLabel) + ")";
        if (!filter.predictedLabel.empty() && filter.multiLabel)
            sql += " AND EXISTS (SELECT 1 FROM json_each(p.top) WHERE json_extract(json_each.value, '$[0]') = " +
                   param(filter.predictedLabel) + " AND json_extract(json_each.value, '$[1]') >= " +
                   param(double(kPredictedFrom)) + ")";
        else if (!filter.predictedLabel.empty())
            sql += " AND p.top1_label = " + param(filter.predictedLabel);
        if (filter.minConfidence > 0)
            sql += " AND p.top1_prob >= " + param(filter.minConfidence);
        if (filter.maxConfidence < 1)
            sql += " AND p.top1_prob <= " + param(filter.maxConfidence);
        sql += " ORDER BY p.top1_prob DESC, p.example_id";
        if (filter.limit > 0)
            sql += " LIMIT " + param(int64_t(filter.limit));
    }

    void bind(detail::Stmt &s) const
    {
        for (size_t i = 0; i < params.size(); ++i) {
            const int at = int(i) + 4;
            if (const auto *text = std::get_if<std::string>(&params[i]))
                s.bindText(at, *text);
            else if (const auto *number = std::get_if<double>(&params[i]))
                s.bindDouble(at, *number);
            else
                s.bindInt(at, std::get<int64_t>(params[i]));
        }
    }
};

// A row of the query above; the true labels and top-k are read by the fast scanners, by the JSON parser when
// they are written some other way.
PredictionRow predictionRow(detail::Stmt &s)
{
    PredictionRow r;
    r.exampleId = s.text(0);
    r.title = s.text(1);
    if (!fastTruth(s.textView(2), r.truth))
        r.truth = stringList(s.textView(2));
    if (!fastTop(s.textView(3), r.top)) {
        r.top.clear();
        json top = parseOr(s.textView(3), json::array());
        if (top.is_array())
            for (const auto &t : top)
                if (t.is_array() && t.size() >= 2 && t[0].is_string())
                    r.top.emplace_back(t[0].get<std::string>(), t[1].is_number() ? t[1].get<double>() : std::nan(""));
    }
    r.correct = s.i64(4) != 0;
    r.pTrue = s.f64OrNaN(5);
    return r;
}

} // namespace

std::vector<PredictionRow> Store::predictions(int64_t run, const PredictionFilter &filter) const
{
    std::vector<PredictionRow> out;
    int64_t step = filter.step;
    if (step < 0) {
        auto s = stmt("SELECT max(step) FROM predictions WHERE run = ? AND split = ?");
        s.bindInt(1, run).bindText(2, filter.split);
        if (!s.step() || s.isNull(0))
            return out;
        step = s.i64(0);
    }
    const PredictionQuery query(filter);
    auto s = stmt(query.sql);
    s.bindInt(1, run).bindText(2, filter.split).bindInt(3, step);
    query.bind(s);
    while (s.step())
        out.push_back(predictionRow(s));
    return out;
}

int64_t Store::predictionCount(int64_t run) const
{
    auto s = stmt("SELECT count(*) FROM predictions WHERE run = ?");
    s.bindInt(1, run);
    return s.step() ? s.i64(0) : 0;
}

bool Store::hasLrPoints(int64_t run) const
{
    auto s = stmt("SELECT 1 FROM lr_points WHERE run = ? LIMIT 1");
    s.bindInt(1, run);
    return s.step();
}

std::vector<LrPoint> Store::lrPoints(int64_t run) const
{
    std::vector<LrPoint> out;
    auto s = stmt("SELECT idx, lr, loss, smoothed FROM lr_points WHERE run = ? ORDER BY idx");
    s.bindInt(1, run);
    while (s.step())
        out.push_back({s.i64(0), s.f64OrNaN(1), s.f64OrNaN(2), s.f64OrNaN(3)});
    return out;
}

std::vector<ArtifactRecord> Store::artifacts(int64_t run) const
{
    std::vector<ArtifactRecord> out;
    auto s = stmt("SELECT kind, path, sha256, step FROM artifacts WHERE run = ? ORDER BY id");
    s.bindInt(1, run);
    while (s.step())
        out.push_back({s.text(0), s.text(1), s.text(2), s.i64(3)});
    return out;
}

std::vector<LogLine> Store::logs(int64_t run) const
{
    std::vector<LogLine> out;
    auto s = stmt("SELECT coalesce(seq, 0), coalesce(wall, 0), level, message FROM logs WHERE run = ? ORDER BY id");
    s.bindInt(1, run);
    while (s.step())
        out.push_back({s.i64(0), s.f64(1), s.text(2), s.text(3)});
    return out;
}

IngestCursor Store::cursor(int64_t run) const
{
    auto s = stmt("SELECT byte_offset, seq FROM ingest_cursor WHERE run = ?");
    s.bindInt(1, run);
    if (s.step())
        return {s.i64(0), s.i64(1)};
    return {};
}

} // namespace lbk
