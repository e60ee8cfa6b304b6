#pragma once
// Private to core/store: a thin RAII layer over the SQLite C API. Statements are prepared once per connection
// and kept in a StatementCache; a Stmt borrows one for a single use and resets it on scope exit, so no
// half-read SELECT keeps a read transaction (and the WAL) pinned.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sqlite3.h>

#include "util/result.h"

namespace lbk::detail {

// Records damage met by a statement of db (see takeStoreDamage in store.h); rc is sqlite3_step's result.
void noteStoreDamage(sqlite3 *db, int rc);

inline bool isDamage(int rc)
{
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB || (rc & 0xff) == SQLITE_IOERR;
}

class Stmt {
public:
    Stmt(sqlite3 *db, sqlite3_stmt *s) : m_db(db), m_s(s) {}
    ~Stmt()
    {
        if (m_s) {
            sqlite3_reset(m_s);
            sqlite3_clear_bindings(m_s);
        }
    }
    Stmt(const Stmt &) = delete;
    Stmt &operator=(const Stmt &) = delete;

    bool prepared() const { return m_s != nullptr; }
    // Ready for the next use inside a loop (bindings are kept; rebind what changes).
    void reset()
    {
        if (m_s)
            sqlite3_reset(m_s);
        m_rc = SQLITE_OK;
    }

    Stmt &bindInt(int i, int64_t v) { return check(sqlite3_bind_int64(m_s, i, v)); }
    Stmt &bindDouble(int i, double v)
    {
        // SQLite would store NaN as NULL anyway; infinities would survive as REAL, which the protocol says not to.
        return std::isfinite(v) ? check(sqlite3_bind_double(m_s, i, v)) : bindNull(i);
    }
    Stmt &bindOptDouble(int i, std::optional<double> v) { return v ? bindDouble(i, *v) : bindNull(i); }
    Stmt &bindText(int i, std::string_view v)
    {
        return check(sqlite3_bind_text64(m_s, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    }
    // For text that outlives the statement's use (the caller's buffers): no copy.
    Stmt &bindStaticText(int i, std::string_view v)
    {
        return check(sqlite3_bind_text64(m_s, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8));
    }
    Stmt &bindNull(int i) { return check(sqlite3_bind_null(m_s, i)); }

    // True while there is a row; false when done or on error (then ok() is false).
    bool step()
    {
        if (!m_s || (m_rc != SQLITE_OK && m_rc != SQLITE_ROW && m_rc != SQLITE_DONE))
            return false;
        m_rc = sqlite3_step(m_s);
        if (isDamage(m_rc))
            noteStoreDamage(m_db, m_rc);
        return m_rc == SQLITE_ROW;
    }
    // Runs a statement that returns no rows; true on success.
    bool run()
    {
        while (step()) {
        }
        return ok();
    }
    bool ok() const { return m_s && (m_rc == SQLITE_OK || m_rc == SQLITE_ROW || m_rc == SQLITE_DONE); }
    std::string error() const { return m_db ? sqlite3_errmsg(m_db) : std::string("no database"); }

    bool isNull(int c) const { return sqlite3_column_type(m_s, c) == SQLITE_NULL; }
    int64_t i64(int c) const { return sqlite3_column_int64(m_s, c); }
    double f64(int c) const { return sqlite3_column_double(m_s, c); }
    double f64OrNaN(int c) const { return isNull(c) ? std::nan("") : f64(c); }
    std::string_view textView(int c) const
    {
        auto p = reinterpret_cast<const char *>(sqlite3_column_text(m_s, c));
        return p ? std::string_view(p, size_t(sqlite3_column_bytes(m_s, c))) : std::string_view();
    }
    std::string text(int c) const { return std::string(textView(c)); }

private:
    Stmt &check(int rc)
    {
        if (rc != SQLITE_OK && m_rc == SQLITE_OK)
            m_rc = rc;
        return *this;
    }
    sqlite3 *m_db = nullptr;
    sqlite3_stmt *m_s = nullptr;
    int m_rc = SQLITE_OK;
};

class StatementCache {
public:
    explicit StatementCache(sqlite3 *db) : m_db(db) {}
    ~StatementCache()
    {
        for (auto &[sql, s] : m_stmts)
            sqlite3_finalize(s);
    }
    StatementCache(const StatementCache &) = delete;
    StatementCache &operator=(const StatementCache &) = delete;

    // A prepared statement for sql (prepared on first use); a Stmt whose prepared() is false on error.
    Stmt get(std::string_view sql)
    {
        auto it = m_stmts.find(std::string(sql));
        if (it == m_stmts.end()) {
            sqlite3_stmt *s = nullptr;
            if (sqlite3_prepare_v3(m_db, sql.data(), int(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr)
                != SQLITE_OK) {
                sqlite3_finalize(s);
                return Stmt(m_db, nullptr);
            }
            it = m_stmts.emplace(std::string(sql), s).first;
        }
        return Stmt(m_db, it->second);
    }
    sqlite3 *db() const { return m_db; }

private:
    sqlite3 *m_db;
    std::unordered_map<std::string, sqlite3_stmt *> m_stmts;
};

inline Status exec(sqlite3 *db, const char *sql)
{
    char *err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errmsg(db);
        sqlite3_free(err);
        return Error{msg};
    }
    return okStatus();
}

// Unix seconds now, as every time in the store.
inline double now()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// 48 random bits as 12 hex digits: a run's or a sweep's uid.
inline std::string newUid()
{
    std::random_device rd;
    const uint64_t bits = (uint64_t(rd()) << 32 | rd()) & 0xFFFFFFFFFFFFull;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(bits));
    return buf;
}

// BEGIN IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so a transaction never has to
// upgrade a read lock, which SQLite refuses with "database is locked" without waiting.
class Transaction {
public:
    explicit Transaction(sqlite3 *db) : m_db(db) {}
    ~Transaction()
    {
        if (m_active)
            sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction &) = delete;
    Transaction &operator=(const Transaction &) = delete;

    Status begin()
    {
        auto s = exec(m_db, "BEGIN IMMEDIATE");
        m_active = s.ok();
        return s;
    }
    Status commit()
    {
        auto s = exec(m_db, "COMMIT");
        if (s.ok())
            m_active = false;
        return s;
    }

private:
    sqlite3 *m_db;
    bool m_active = false;
};

} // namespace lbk::detail
