#pragma once
// Runs on every target, for the window: the targets file (read again whenever it changes, so the form's target
// list follows it), and everything that talks to a target, always off the GUI thread and through the same
// use cases as lbk (usecases/runactions.h): launching a run or an LR range test, resuming, cancelling (on any
// target, local included), and catching up remote runs that are running every few seconds (syncRemoteRuns) so their
// curves grow as the remote journal does. Jobs run on this service's pool (async.h), each on a connection of its
// own that StoreService::connector() opens, so seconds of staging never hold up the store lane the views read
// from; results come back as values.
#include <atomic>
#include <functional>

#include <QFileSystemWatcher>
#include <QObject>
#include <QStringList>
#include <QThreadPool>
#include <QTimer>

#include "launch/remote.h"

namespace labbook {

class StoreService;

class RunService : public QObject {
    Q_OBJECT
public:
    explicit RunService(StoreService *store, QObject *parent = nullptr);
    // Waits for jobs in flight: a launch still staging finishes (or fails) rather than being cut in half; a
    // catch-up pass stops between runs.
    ~RunService() override;

    // lbk::defaultTargetsPath(): $LABBOOK_TARGETS, else $XDG_CONFIG_HOME/labbook/targets.json.
    QString targetsPath() const;
    // `local` first. While the file has problems (targetsError() says which) the last good targets stay, so runs
    // on them are still followed; at start, only `local`.
    const lbk::TargetsFile &targets() const { return m_targets; }
    QString targetsError() const { return m_targetsError; }
    void reloadTargets();

    struct Outcome {
        bool ok = false;
        qint64 runId = 0;
        qint64 workerPid = 0; // a local worker started: the window adopts it (reaps it when it ends)
        QString message; // what happened, or what failed and where, in plain words
    };
    using Done = std::function<void(Outcome)>;
    // Creates the run and starts its worker on the target, through lbk::usecase::launch: here at once, or staged
    // on an ssh host or Slurm cluster (seconds, longer while data is copied; notice() tells each step). done runs
    // on the GUI thread unless context is gone.
    void launch(const lbk::Experiment &experiment, const lbk::LaunchRequest &request, const QString &target,
                QObject *context, Done done);
    // A run that ended, on any target: its worker starts again from the last checkpoint. A remote one still
    // running is followed.
    void resume(qint64 runId, QObject *context, Done done);
    // Any run that is queued or running, wherever it runs (lbk::cancelRun).
    void cancel(qint64 runId, QObject *context, Done done);

    // Catch-up cadence of active remote runs, in ms (0 stops it). Slower than the local sync: each catch-up is a
    // round trip or two to the target.
    void setSyncInterval(int ms);
    bool isBusy() const { return m_jobs > 0; }

Q_SIGNALS:
    void targetsChanged();
    void notice(const QString &message);      // progress of a launch, for the status bar
    void syncWarning(const QString &message); // a target that cannot be reached while following a run
    void synced();                            // a catch-up pass ended (tests)

private:
    // job on the pool; its outcome to done on the GUI thread, unless context is gone by then.
    void runForOutcome(QObject *context, Done done, std::function<Outcome()> job);
    // An outcome known at once, delivered the same way (queued: done never runs inside the caller).
    void answer(QObject *context, Done done, Outcome o);
    void syncTick();
    const lbk::Target *targetOfRun(qint64 runId, QString *error) const;
    // Resume and cancel: the run's target, then on the pool the run read from
    // the store and `action` filling the outcome.
    using RunAction = std::function<void(lbk::Store &, const lbk::Target &, const lbk::RunDetail &, Outcome &)>;
    void withRun(qint64 runId, QObject *context, Done done, RunAction action);

    StoreService *m_store;
    std::atomic<bool> m_stopping{false}; // read by jobs, which end before it goes: the destructor waits for them
    QThreadPool m_pool;
    QTimer m_syncTimer;
    QTimer m_reloadTimer;
    QFileSystemWatcher m_watcher;
    lbk::TargetsFile m_targets;
    QString m_targetsError;
    QString m_signature;        // of the file last read
    QStringList m_lastWarnings; // shown once each, not every pass
    bool m_syncing = false;
    int m_quietPasses = 0; // catch-up passes since the run list was last reloaded
    int m_jobs = 0;
};

} // namespace labbook
