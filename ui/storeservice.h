#pragma once
// All store access of the GUI goes through here: one worker thread owns the one lbk::Store connection the GUI
// uses, jobs run there in order, and their results (plain values) come back on the GUI thread. A timer syncs
// the journals of live local runs into the store every second and reports which runs changed, so views refresh
// live without ever blocking the window on SQLite.
#include <functional>
#include <memory>
#include <set>
#include <vector>

#include <QObject>
#include <QPointer>
#include <QString>
#include <QThread>
#include <QTimer>

#include "store/store.h"

namespace labbook {

class StoreHost;

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

    // Runs job(store) on the store thread, then done(result) on the GUI thread, unless context is gone by
    // then. Jobs run in the order they were posted. When no store is open the job is skipped.
    template <typename R>
    void request(QObject *context, std::function<R(lbk::Store &)> job, std::function<void(R)> done)
    {
        QPointer<QObject> ctx(context);
        post([this, ctx, job = std::move(job), done = std::move(done)](lbk::Store &store) {
            auto result = std::make_shared<R>(job(store));
            deliver([ctx, result, done] {
                if (ctx)
                    done(std::move(*result));
            });
        });
    }
    // A job with no result to deliver (edits of notes, tags, deletes...), then an optional callback.
    void execute(std::function<void(lbk::Store &)> job, QObject *context = nullptr, std::function<void()> done = {});

    // The run list, reloaded after every change the service sees; runsChanged() announces it.
    const std::vector<lbk::RunSummary> &runs() const { return m_runs; }
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

private:
    void post(std::function<void(lbk::Store &)> job);
    void deliver(std::function<void()> fn);
    void poll();
    void applyRuns(std::vector<lbk::RunSummary> runs);

    QThread m_thread;
    StoreHost *m_host = nullptr;
    QTimer m_timer;
    QString m_path;
    bool m_open = false;
    bool m_polling = false; // a poll is in flight; skip ticks meanwhile
    int m_ticks = 0;
    std::vector<lbk::RunSummary> m_runs;
    std::vector<qint64> m_children;
};

} // namespace labbook
