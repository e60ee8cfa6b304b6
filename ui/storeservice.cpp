#include "storeservice.h"

#include <map>

#include "launch/local.h"
#include "launch/process.h"

namespace labbook {

// Lives on the store thread and owns that thread's connection.
class StoreHost : public QObject {
public:
    std::unique_ptr<lbk::Store> store;
};

namespace {
struct PollResult {
    lbk::SyncResult sync;
    bool reloaded = false;
    std::vector<lbk::RunSummary> runs;
};
} // namespace

StoreService::StoreService(QObject *parent)
    : QObject(parent)
{
    qRegisterMetaType<std::set<qint64>>("std::set<qint64>");
    m_host = new StoreHost;
    m_host->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_host, &QObject::deleteLater);
    m_thread.setObjectName(QStringLiteral("labbook-store"));
    m_thread.start();
    connect(&m_timer, &QTimer::timeout, this, &StoreService::poll);
}

StoreService::~StoreService()
{
    m_timer.stop();
    m_thread.quit();
    m_thread.wait();
}

void StoreService::open(const QString &path)
{
    m_path = path;
    m_open = false;
    QMetaObject::invokeMethod(m_host, [this, host = m_host, path] {
        host->store.reset();
        auto opened = lbk::Store::open(path.toStdString());
        QString error;
        std::vector<lbk::RunSummary> runs;
        if (opened) {
            host->store = std::move(opened.value());
            lbk::syncActiveRuns(*host->store); // runs that died while the GUI was closed become interrupted
            runs = host->store->runs();
        } else {
            error = QString::fromStdString(opened.message());
        }
        deliver([this, path, error, runs = std::move(runs)]() mutable {
            if (path != m_path)
                return; // another open followed this one
            m_open = error.isEmpty();
            if (m_open)
                applyRuns(std::move(runs));
            else
                applyRuns({});
            Q_EMIT storeOpened(path, error);
        });
    });
}

void StoreService::post(std::function<void(lbk::Store &)> job)
{
    QMetaObject::invokeMethod(m_host, [host = m_host, job = std::move(job)] {
        if (host->store)
            job(*host->store);
    });
}

void StoreService::deliver(std::function<void()> fn)
{
    // This object outlives the store thread (the destructor joins it), so queuing onto it is always safe.
    QMetaObject::invokeMethod(this, std::move(fn), Qt::QueuedConnection);
}

void StoreService::execute(std::function<void(lbk::Store &)> job, QObject *context, std::function<void()> done)
{
    QPointer<QObject> ctx(context);
    const bool hasCallback = bool(done);
    post([this, ctx, hasCallback, job = std::move(job), done = std::move(done)](lbk::Store &store) {
        job(store);
        if (hasCallback)
            deliver([ctx, done] {
                if (ctx)
                    done();
            });
    });
}

void StoreService::reloadRuns()
{
    request<std::vector<lbk::RunSummary>>(
        this, [](lbk::Store &s) { return s.runs(); },
        [this](std::vector<lbk::RunSummary> runs) { applyRuns(std::move(runs)); });
}

void StoreService::setPollInterval(int ms)
{
    if (ms <= 0)
        m_timer.stop();
    else
        m_timer.start(ms);
}

void StoreService::adoptChild(qint64 pid)
{
    m_children.push_back(pid);
}

void StoreService::waitForIdle()
{
    QMetaObject::invokeMethod(m_host, [] {}, Qt::BlockingQueuedConnection);
}

void StoreService::poll()
{
    // Reap workers this process started; they keep running when the GUI quits, but while it lives it is their
    // parent and must collect their exit status.
    for (auto it = m_children.begin(); it != m_children.end();) {
        int code = 0;
        it = lbk::reapChild(*it, &code) ? m_children.erase(it) : it + 1;
    }
    if (!m_open || m_polling)
        return;
    m_polling = true;
    const bool forceReload = (++m_ticks % 10) == 0; // runs made by other programs (lbk in a terminal) show up too
    const auto known = static_cast<int64_t>(m_runs.size());
    request<PollResult>(
        this,
        [forceReload, known](lbk::Store &store) {
            PollResult r;
            r.sync = lbk::syncActiveRuns(store);
            if (forceReload || r.sync.events > 0 || r.sync.interrupted > 0 || store.runCount() != known) {
                r.runs = store.runs();
                r.reloaded = true;
            }
            return r;
        },
        [this](PollResult r) {
            m_polling = false;
            for (const auto &w : r.sync.warnings)
                Q_EMIT syncWarning(QString::fromStdString(w));
            if (r.reloaded)
                applyRuns(std::move(r.runs));
        });
}

void StoreService::applyRuns(std::vector<lbk::RunSummary> runs)
{
    std::map<int64_t, const lbk::RunSummary *> before;
    for (const auto &r : m_runs)
        before[r.id] = &r;
    std::set<qint64> changed;
    for (const auto &r : runs) {
        auto it = before.find(r.id);
        if (it == before.end() || it->second->status != r.status || it->second->lastStep != r.lastStep ||
            it->second->endedAt != r.endedAt || lbk::isActive(r.status))
            changed.insert(r.id);
    }
    m_runs = std::move(runs);
    Q_EMIT runsChanged();
    if (!changed.empty())
        Q_EMIT runsUpdated(changed);
}

} // namespace labbook
