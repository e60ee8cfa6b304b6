#include "runservice.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QPointer>

#include "async.h"
#include "format.h"
#include "launch/local.h"
#include "storeservice.h"
#include "usecases/runactions.h"

namespace labbook {

Q_LOGGING_CATEGORY(lcRuns, "labbook.runs", QtWarningMsg)

namespace {

lbk::TargetsFile localOnly()
{
    lbk::TargetsFile file;
    file.path = lbk::defaultTargetsPath();
    file.targets.push_back(lbk::localTarget());
    return file;
}

// The file's identity for the watcher: the folder it lives in also holds labbook.conf, which changes often.
QString fileSignature(const QString &path)
{
    const QFileInfo fi(path);
    if (!fi.exists())
        return QStringLiteral("-");
    return QString::number(fi.lastModified().toMSecsSinceEpoch()) + QLatin1Char('/') + QString::number(fi.size()) +
           QLatin1Char('/') + QString::number(fi.fileTime(QFileDevice::FileMetadataChangeTime).toMSecsSinceEpoch());
}

} // namespace

RunService::RunService(StoreService *store, QObject *parent)
    : QObject(parent), m_store(store)
{
    // Launches stage in parallel; the catch-up pass takes one thread at a time.
    m_pool.setMaxThreadCount(4);
    m_pool.setObjectName(QStringLiteral("labbook-runs"));
    m_reloadTimer.setSingleShot(true);
    m_reloadTimer.setInterval(150);
    connect(&m_reloadTimer, &QTimer::timeout, this, [this] {
        if (fileSignature(targetsPath()) != m_signature)
            reloadTargets();
    });
    connect(&m_watcher, &QFileSystemWatcher::fileChanged, this, [this] { m_reloadTimer.start(); });
    connect(&m_watcher, &QFileSystemWatcher::directoryChanged, this, [this] { m_reloadTimer.start(); });
    connect(&m_syncTimer, &QTimer::timeout, this, &RunService::syncTick);
    m_targets = localOnly();
    reloadTargets();
    setSyncInterval(2000);
}

RunService::~RunService()
{
    m_syncTimer.stop();
    m_stopping = true;
    m_pool.waitForDone(); // results that come meanwhile are dropped with this object's watchers
}

QString RunService::targetsPath() const
{
    return qs(lbk::defaultTargetsPath().string());
}

void RunService::reloadTargets()
{
    const QString path = targetsPath();
    m_signature = fileSignature(path);
    auto file = lbk::loadTargets();
    if (file) {
        m_targets = std::move(*file);
        m_targetsError.clear();
    } else {
        // A typo while the file is edited by hand keeps the last good targets, so runs on them stay followed.
        m_targetsError = qs(file.message());
        if (m_targets.path != lbk::defaultTargetsPath())
            m_targets = localOnly();
    }
    if (!m_watcher.files().isEmpty())
        m_watcher.removePaths(m_watcher.files());
    const QFileInfo fi(path);
    if (fi.exists())
        m_watcher.addPath(path); // again after every save: an atomic rename replaces the file the watch was on
    if (QDir(fi.absolutePath()).exists() && !m_watcher.directories().contains(fi.absolutePath()))
        m_watcher.addPath(fi.absolutePath()); // notices the file appearing
    Q_EMIT targetsChanged();
}

void RunService::runForOutcome(QObject *context, Done done, std::function<Outcome()> job)
{
    ++m_jobs;
    // Delivered to this service, which counts its jobs even when the asker is gone.
    async::run(&m_pool, this, std::move(job),
               [this, ctx = QPointer<QObject>(context), done = std::move(done)](Outcome o) {
                   --m_jobs;
                   if (ctx)
                       done(std::move(o));
               });
}

void RunService::answer(QObject *context, Done done, Outcome o)
{
    async::post(context, [done = std::move(done), o = std::move(o)] { done(o); });
}

const lbk::Target *RunService::targetOfRun(qint64 runId, QString *error) const
{
    static const lbk::Target local = lbk::localTarget();
    for (const auto &r : m_store->runs()) {
        if (r.id != runId)
            continue;
        if (!r.remote())
            return &local;
        if (const auto *t = m_targets.find(r.target))
            return t;
        *error = tr("Run #%1 runs on target \"%2\", which %3 does not name; add it again in Settings > Targets.")
                     .arg(runId)
                     .arg(qs(r.target), targetsPath());
        if (!m_targetsError.isEmpty())
            *error += QLatin1Char('\n') + m_targetsError;
        return nullptr;
    }
    *error = tr("Run #%1 is not in the store.").arg(runId);
    return nullptr;
}

void RunService::launch(const lbk::Experiment &experiment, const lbk::LaunchRequest &request,
                        const QString &targetName, QObject *context, Done done)
{
    auto target = lbk::usecase::findTarget(m_targets, ss(targetName));
    if (!target || !m_store->isOpen()) {
        Outcome o;
        o.message = !m_store->isOpen() ? tr("No store is open.") : qs(target.message());
        answer(context, std::move(done), o);
        return;
    }
    runForOutcome(context, std::move(done), [this, connect = m_store->connector(), target = *target, experiment,
                                             request] {
        Outcome o;
        auto store = connect();
        if (!store) {
            o.message = qs(store.message());
            return o;
        }
        const QString name = qs(target.name);
        auto launched = lbk::usecase::launch(**store, target, experiment, request, [this, name](const std::string &m) {
            // Safe from the job: this service outlives its jobs (its destructor waits for them).
            async::post(this, [this, name, m] { Q_EMIT notice(tr("Launch on %1: %2").arg(name, qs(m))); });
        });
        if (!launched) {
            o.message = qs(launched.message());
            return o;
        }
        o.ok = true;
        o.runId = launched->run.id;
        o.workerPid = launched->worker ? launched->worker->pid : 0;
        const QString what = request.lrFind ? tr("LR range test #%1").arg(o.runId) : tr("Run #%1").arg(o.runId);
        if (launched->worker)
            o.message = tr("%1 started (worker process %2)").arg(what).arg(o.workerPid);
        else
            o.message = tr("%1 started on %2 (%3)")
                            .arg(what, name, target.type == lbk::TargetType::Slurm
                                                 ? tr("Slurm job %1").arg(qs(launched->run.jobId))
                                                 : tr("worker pid %1 there").arg(qs(launched->run.jobId)));
        return o;
    });
}

void RunService::withRun(qint64 runId, QObject *context, Done done, RunAction action)
{
    QString error;
    const lbk::Target *t = targetOfRun(runId, &error);
    if (!t) {
        Outcome o;
        o.message = error;
        answer(context, std::move(done), o);
        return;
    }
    runForOutcome(context, std::move(done), [connect = m_store->connector(), target = *t, runId,
                                             action = std::move(action)] {
        Outcome o;
        o.runId = runId;
        auto store = connect();
        auto run = store ? (*store)->runById(runId) : lbk::Result<lbk::RunDetail>(store.error());
        if (!run) {
            o.message = qs(run.message());
            return o;
        }
        action(**store, target, *run, o);
        return o;
    });
}

void RunService::resume(qint64 runId, QObject *context, Done done)
{
    withRun(runId, context, std::move(done),
                  [runId](lbk::Store &store, const lbk::Target &target, const lbk::RunDetail &run, Outcome &o) {
                      auto resumed = lbk::usecase::resume(store, target, run);
                      if (!resumed) {
                          o.message = qs(resumed.message());
                          return;
                      }
                      o.ok = true;
                      o.workerPid = resumed->worker ? resumed->worker->pid : 0;
                      if (!resumed->started) // the catch-up passes follow it; nothing to start
                          o.message = tr("Run #%1 is still running on %2; it is followed live.").arg(runId).arg(qs(target.name));
                      else if (target.remote())
                          o.message = tr("Resuming run #%1 on %2: it %3")
                                          .arg(runId)
                                          .arg(qs(target.name), qs(lbk::whatAResumeDoes(run)));
                      else
                          o.message = tr("Run #%1 resumed").arg(runId);
                  });
}

void RunService::cancel(qint64 runId, QObject *context, Done done)
{
    withRun(runId, context, std::move(done),
                  [](lbk::Store &store, const lbk::Target &target, const lbk::RunDetail &run, Outcome &o) {
                      if (auto done = lbk::usecase::cancel(store, target, run); !done) {
                          o.message = qs(done.message());
                      } else {
                          o.ok = true;
                          o.message = qs(*done);
                      }
                  });
}

void RunService::setSyncInterval(int ms)
{
    if (ms <= 0)
        m_syncTimer.stop();
    else
        m_syncTimer.start(ms);
}

void RunService::syncTick()
{
    // A targets file the watcher cannot see: created in a folder that did not exist when the window opened (the
    // watch is on the folder), or edited while the folder was replaced. One stat every tick.
    if (!m_reloadTimer.isActive() && fileSignature(targetsPath()) != m_signature)
        reloadTargets();
    if (m_syncing || !m_store->isOpen())
        return;
    bool any = false;
    for (const auto &r : m_store->runs())
        any = any || (lbk::isActive(r.status) && r.remote());
    if (!any)
        return;
    m_syncing = true;
    ++m_jobs;
    auto pass = [this, connect = m_store->connector(), targets = m_targets] {
        QElapsedTimer took;
        took.start();
        lbk::SyncResult result;
        if (auto store = connect(); !store)
            result.warnings.push_back(store.message());
        else
            result = lbk::syncRemoteRuns(**store, targets, &m_stopping);
        qCDebug(lcRuns, "catch-up pass: %lld events, %d interrupted, %zu warnings, %lld ms",
                static_cast<long long>(result.events), result.interrupted, result.warnings.size(),
                static_cast<long long>(took.elapsed()));
        return result;
    };
    async::run(&m_pool, this, std::move(pass), [this](lbk::SyncResult result) {
        --m_jobs;
        m_syncing = false;
        QStringList warnings;
        for (const auto &w : result.warnings)
            warnings << qs(w);
        for (const auto &w : warnings)
            if (!m_lastWarnings.contains(w))
                Q_EMIT syncWarning(w);
        m_lastWarnings = warnings;
        // New events move statuses, steps and curves; a Slurm state (PENDING and its reason, or how a job
        // ended) can change a run without one, so every few passes the list is read anyway.
        if (result.events > 0 || result.interrupted > 0 || ++m_quietPasses >= 5) {
            m_quietPasses = 0;
            m_store->reloadRuns();
        }
        Q_EMIT synced();
    });
}

} // namespace labbook
