#pragma once
// All store access of the GUI goes through here, and this is the only code in ui/ that opens an lbk::Store.
// - The store lane: one thread (a pool of one, async.h) owns the connection the views read from; jobs run there
//   in the order they were posted and their results (plain values) come back on the GUI thread. A timer syncs the
//   journals of live local runs into the store every second and reports which runs changed, so views refresh live
//   without ever blocking the window on SQLite.
// - Connections aside (connector()): launching, resuming and cancelling on a target, and catching up remote runs,
//   hold the store for seconds of network I/O (the core's use cases take an lbk::Store & and talk to the target
//   while they hold it). On the lane they would stall every view behind them, so such a job opens a connection of
//   its own, on its own thread, through the connector: the same path and the same open (WAL, busy timeout,
//   migrations) as the lane's, closed when the job ends. One connection per thread, as store.h asks; WAL lets
//   readers on the lane go on while a job aside writes. Splitting the use cases into a network phase and a store
//   phase would let them share the lane, but the core's rules ("a run that cannot start is recorded as failed")
//   would then be spread across the GUI and lbk.
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include <QObject>
#include <QString>
#include <QThreadPool>
#include <QTimer>

#include "async.h"
#include "store/store.h"
#include "sweep/sweepbest.h"

namespace labbook {

class StoreService : public QObject {
    Q_OBJECT
public:
    explicit StoreService(QObject *parent = nullptr);
    ~StoreService() override;

    // Opens (or switches to) a store; storeOpened() reports the outcome. Jobs posted before it finishes run
    // against the new store.
    void open(const QString &path);
    QString path() const { return m_path; }
    bool isOpen() const { return m_open; }

    // Runs job(store) on the store lane, then done(result) on the GUI thread, unless context is gone by
    // then. Jobs run in the order they were posted. When no store is open the job is skipped, and so is done.
    template <typename R>
    void request(QObject *context, std::function<R(lbk::Store &)> job, std::function<void(R)> done)
    {
        async::run(
            &m_lane, context,
            [this, job = std::move(job)]() -> std::optional<R> {
                if (!m_connection)
                    return std::nullopt;
                return job(*m_connection);
            },
            [done = std::move(done)](std::optional<R> result) {
                if (result)
                    done(std::move(*result));
            });
    }
    // A job with no result to deliver (edits of notes, tags, deletes...), then an optional callback.
    void execute(std::function<void(lbk::Store &)> job, QObject *context = nullptr, std::function<void()> done = {});

    // Opens a connection of its own to this store (the path last given to open()), for one job that holds it
    // for long; call it on the job's thread. The connection closes when the job drops it.
    using Connector = std::function<lbk::Result<std::unique_ptr<lbk::Store>>()>;
    Connector connector() const;

    // The run list, reloaded after every change the service sees; runsChanged() announces it. The sweeps' bests
    // (sweep/sweepbest.h) come with it, for the list's row per sweep.
    struct Listing {
        std::vector<lbk::RunSummary> runs;
        std::vector<lbk::SweepBest> sweeps;
    };
    const std::vector<lbk::RunSummary> &runs() const { return m_runs; }
    const std::vector<lbk::SweepBest> &sweeps() const { return m_sweeps; }
    void reloadRuns();

    // Live following: sync every interval ms (0 stops it).
    void setPollInterval(int ms);
    // Remembers a worker this process started, so it is reaped when it exits (no zombies).
    void adoptChild(qint64 pid);
    // Blocks until every job posted so far has run (tests and shutdown only).
    void waitForIdle();

Q_SIGNALS:
    void storeOpened(const QString &path, const QString &error);
    void runsChanged();
    // Runs whose status or last step changed since the previous poll (their views reload what they show).
    void runsUpdated(const std::set<qint64> &runIds);
    void syncWarning(const QString &message);
    // The store's file is damaged (lbk::takeStoreDamage): said once per store opened.
    void storeDamaged(const QString &message);

private:
    void poll();
    void applyRuns(Listing fresh);

    QThreadPool m_lane;                         // one thread: the jobs' order is the order they were posted
    std::unique_ptr<lbk::Store> m_connection; // used on the lane only
    QTimer m_timer;
    QString m_path;
    bool m_open = false;
    bool m_polling = false; // a poll is in flight; skip ticks meanwhile
    bool m_damageSaid = false;
    int m_ticks = 0;
    std::vector<lbk::RunSummary> m_runs;
    std::vector<lbk::SweepBest> m_sweeps;
    std::vector<qint64> m_children;
};

} // namespace labbook
