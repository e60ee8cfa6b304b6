#include "store/migrations.h"

#include <chrono>
#include <string>

#include <sqlite3.h>

#include "store/sqlite_util.h"

namespace lbk::detail {
namespace {

// 'LBK1' in the SQLite header, so `file` and other tools can tell a Labbook store from any SQLite database.
constexpr int kApplicationId = 0x4C424B31;

struct Migration {
    int version;
    const char *description;
    const char *sql;                   // run as one script inside the migration transaction
    Status (*apply)(sqlite3 *) = nullptr; // for steps SQL alone cannot express (run after sql)
};

// Append only: never edit a migration that has shipped; add migration N+1 instead. A step that rebuilds a
// table (CREATE new, INSERT SELECT, DROP, RENAME) must keep the foreign keys valid: foreign_keys is ON for the
// connection and cannot be switched off inside the migration transaction, so rebuild children after parents.
const Migration kMigrations[] = {
    {1, "runs, metrics, evaluations, histograms, predictions, examples, LR finder, artifacts, logs, ingest cursor",
     R"sql(
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so 'run 12' always means one run
    uid         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL DEFAULT '',
    experiment  TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL DEFAULT 'train',
    task        TEXT NOT NULL DEFAULT '',
    config      TEXT NOT NULL DEFAULT '{}',
    config_hash TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'finished', 'failed', 'cancelled', 'interrupted')),
    error       TEXT NOT NULL DEFAULT '',
    host        TEXT NOT NULL DEFAULT '',
    pid         INTEGER NOT NULL DEFAULT 0,
    pid_start   INTEGER NOT NULL DEFAULT 0,
    target      TEXT NOT NULL DEFAULT 'local',
    job_id      TEXT NOT NULL DEFAULT '',
    run_dir     TEXT NOT NULL DEFAULT '',
    created_at  REAL NOT NULL,
    started_at  REAL,
    ended_at    REAL,
    tags        TEXT NOT NULL DEFAULT '[]',
    notes       TEXT NOT NULL DEFAULT '',
    last_step   INTEGER NOT NULL DEFAULT 0,
    summary     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_status     ON runs (status, created_at);
CREATE INDEX runs_by_experiment ON runs (experiment, created_at);
CREATE INDEX runs_by_name       ON runs (name, created_at);
CREATE INDEX runs_by_created    ON runs (created_at);

CREATE TABLE metrics (
    run   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key   TEXT NOT NULL,
    step  INTEGER NOT NULL,
    wall  REAL,
    value REAL,                                      -- NULL where the value was not finite
    PRIMARY KEY (run, key, step)
) WITHOUT ROWID;

CREATE TABLE evaluations (
    run     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step    INTEGER NOT NULL,
    split   TEXT NOT NULL,
    wall    REAL,
    summary TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run, step, split)
);

CREATE TABLE histograms (
    run    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step   INTEGER NOT NULL,
    split  TEXT NOT NULL,
    name   TEXT NOT NULL,
    lo     REAL NOT NULL,
    hi     REAL NOT NULL,
    counts TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (run, step, split, name)
);

CREATE TABLE examples (
    run        INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    example_id TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run, example_id)
) WITHOUT ROWID;

CREATE TABLE predictions (
    run        INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    split      TEXT NOT NULL,
    step       INTEGER NOT NULL,
    example_id TEXT NOT NULL,
    truth      TEXT NOT NULL DEFAULT '[]',           -- JSON array of label names
    top        TEXT NOT NULL DEFAULT '[]',           -- JSON array of [label, probability], most probable first
    top1_label TEXT,
    top1_prob  REAL,
    p_true     REAL,
    correct    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run, split, step, example_id)
) WITHOUT ROWID;
CREATE INDEX predictions_by_confidence ON predictions (run, split, step, top1_prob);

CREATE TABLE lr_points (
    run      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx      INTEGER NOT NULL,
    lr       REAL,
    loss     REAL,
    smoothed REAL,
    PRIMARY KEY (run, idx)
) WITHOUT ROWID;

CREATE TABLE artifacts (
    id     INTEGER PRIMARY KEY,
    run    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    path   TEXT NOT NULL,
    sha256 TEXT NOT NULL DEFAULT '',
    step   INTEGER NOT NULL DEFAULT 0,
    wall   REAL,
    meta   TEXT NOT NULL DEFAULT '{}',
    UNIQUE (run, kind, path)
);

CREATE TABLE logs (
    id      INTEGER PRIMARY KEY,
    run     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     INTEGER,                                  -- NULL for the ingester's own notes
    wall    REAL,
    level   TEXT NOT NULL DEFAULT 'info',
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX logs_by_run ON logs (run, id);

CREATE TABLE ingest_cursor (
    run         INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    byte_offset INTEGER NOT NULL DEFAULT 0,
    seq         INTEGER NOT NULL DEFAULT 0,
    updated_at  REAL
);
)sql"},
    {2, "sweeps and their trials",
     R"sql(
CREATE TABLE sweeps (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    uid        TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL DEFAULT '',
    spec       TEXT NOT NULL DEFAULT '{}',           -- the sweep file's JSON, its base experiment inline
    status     TEXT NOT NULL DEFAULT 'running'
               CHECK (status IN ('running', 'finished', 'failed', 'cancelled', 'interrupted')),
    error      TEXT NOT NULL DEFAULT '',
    host       TEXT NOT NULL DEFAULT '',             -- the scheduler's process, while one follows the sweep
    pid        INTEGER NOT NULL DEFAULT 0,
    pid_start  INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    ended_at   REAL
);
CREATE INDEX sweeps_by_created ON sweeps (created_at);

CREATE TABLE sweep_trials (
    sweep   INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    trial   INTEGER NOT NULL,                        -- from 1, in the order the sweep draws them
    params  TEXT NOT NULL DEFAULT '{}',              -- {"optimizer.lr": 0.003, ...}
    run_uid TEXT NOT NULL DEFAULT '',                -- chosen before the run is created: a trial never runs twice
    run     INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    state   TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'launching', 'running', 'pruning', 'finished', 'pruned', 'failed',
                             'cancelled', 'interrupted')),
    reason  TEXT NOT NULL DEFAULT '',                -- why it was pruned or failed
    value   REAL,                                    -- its best value of the sweep's metric
    PRIMARY KEY (sweep, trial)
);
CREATE INDEX sweep_trials_by_run ON sweep_trials (run);
)sql"},
    {3, "time a run sat stopped before a resume, left out of its duration",
     R"sql(
ALTER TABLE runs ADD COLUMN paused_seconds REAL NOT NULL DEFAULT 0; -- between an end and the resume's start
ALTER TABLE runs ADD COLUMN paused_at      REAL;                     -- the end a queued resume follows
)sql"},
};

constexpr int kKnown = int(sizeof(kMigrations) / sizeof(kMigrations[0]));

int64_t scalar(sqlite3 *db, const char *sql, bool *ok = nullptr)
{
    sqlite3_stmt *s = nullptr;
    int64_t v = 0;
    bool good = sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK;
    if (good) {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            v = sqlite3_column_int64(s, 0);
        good = rc == SQLITE_ROW || rc == SQLITE_DONE;
    }
    sqlite3_finalize(s);
    if (ok)
        *ok = good;
    return v;
}

} // namespace

int knownSchemaVersion()
{
    return kKnown;
}

Result<int> readSchemaVersion(sqlite3 *db, const std::filesystem::path &path)
{
    bool ok = false;
    const int64_t hasTable = scalar(
        db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'", &ok);
    if (!ok)
        return Error{"cannot read " + path.string() + ": " + sqlite3_errmsg(db)};
    if (!hasTable) {
        const int64_t objects = scalar(db, "SELECT count(*) FROM sqlite_schema");
        const int64_t appId = scalar(db, "PRAGMA application_id");
        if (objects > 0 || (appId != 0 && appId != kApplicationId))
            return Error{path.string()
                         + " is an SQLite database but not a Labbook store; give a new file name for the store"};
        return 0;
    }
    const int64_t v = scalar(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", &ok);
    if (!ok)
        return Error{"cannot read the schema version of " + path.string() + ": " + sqlite3_errmsg(db)};
    return int(v);
}

Status migrate(sqlite3 *db, const std::filesystem::path &path)
{
    // Cheap check without the write lock: the common case is a store that is already current.
    auto before = readSchemaVersion(db, path);
    if (!before)
        return before.error();
    if (*before > kKnown)
        return Error{path.string() + " has schema version " + std::to_string(*before)
                     + ", newer than this Labbook knows (" + std::to_string(kKnown)
                     + "): it was written by a newer Labbook; upgrade Labbook to open it"};
    if (*before == kKnown)
        return okStatus();

    // Another process may be migrating the same file right now: take the write lock, then look again.
    Transaction tx(db);
    if (auto s = tx.begin(); !s)
        return Error{"cannot lock " + path.string() + " to upgrade its schema: " + s.message()};
    auto current = readSchemaVersion(db, path);
    if (!current)
        return current.error();
    if (*current > kKnown)
        return Error{path.string() + " has schema version " + std::to_string(*current)
                     + ", newer than this Labbook knows (" + std::to_string(kKnown) + "); upgrade Labbook to open it"};
    if (auto s = exec(db, R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
    version         INTEGER PRIMARY KEY,
    description     TEXT NOT NULL,
    applied_at      REAL NOT NULL,
    labbook_version TEXT NOT NULL
))sql");
        !s)
        return Error{"cannot create the schema table in " + path.string() + ": " + s.message()};
    if (*current == 0) {
        if (auto s = exec(db, ("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str()); !s)
            return Error{"cannot mark " + path.string() + " as a Labbook store: " + s.message()};
    }
    for (const Migration &m : kMigrations) {
        if (m.version <= *current)
            continue;
        if (auto s = exec(db, m.sql); !s)
            return Error{"cannot upgrade " + path.string() + " to schema version " + std::to_string(m.version) + ": "
                         + s.message()};
        if (m.apply) {
            if (auto s = m.apply(db); !s)
                return Error{"cannot upgrade " + path.string() + " to schema version " + std::to_string(m.version)
                             + ": " + s.message()};
        }
        sqlite3_stmt *ins = nullptr;
        sqlite3_prepare_v2(db,
                           "INSERT INTO schema_migrations (version, description, applied_at, labbook_version) "
                           "VALUES (?, ?, ?, ?)",
                           -1, &ins, nullptr);
        sqlite3_bind_int(ins, 1, m.version);
        sqlite3_bind_text(ins, 2, m.description, -1, SQLITE_STATIC);
        sqlite3_bind_double(ins, 3, now());
        sqlite3_bind_text(ins, 4, LABBOOK_VERSION, -1, SQLITE_STATIC);
        const int rc = sqlite3_step(ins);
        sqlite3_finalize(ins);
        if (rc != SQLITE_DONE)
            return Error{"cannot record schema version " + std::to_string(m.version) + " in " + path.string() + ": "
                         + sqlite3_errmsg(db)};
    }
    if (auto s = tx.commit(); !s)
        return Error{"cannot commit the schema upgrade of " + path.string() + ": " + s.message()};
    return okStatus();
}

} // namespace lbk::detail
