#include "storeservice.h"

#include <map>

#include <QFileInfo>

#include "launch/local.h"
#include "launch/process.h"

namespace labbook {

namespace {
// The run list and the sweeps' bests, read together so that a sweep's row names a trial the list holds.
StoreService::Listing listing(const lbk::Store &store)
{
    return {store.runs(), lbk::sweepBests(store)};
}

struct PollResult {
    lbk::SyncResult sync;
    bool reloaded = false;
    StoreService::Listing listing;
};
} // namespace

StoreService::StoreService(QObject *parent)
    : QObject(parent)
{
    qRegisterMetaType<std::set<qint64>>("std::set<qint64>");
    m_lane.setObjectName(QStringLiteral("labbook-store"));
    m_lane.setMaxThreadCount(1);
    m_lane.setExpiryTimeout(-1); // the thread, and so the connection's thread, stays for the service's life
    connect(&m_timer, &QTimer::timeout, this, &StoreService::poll);
}

StoreService::~StoreService()
{
    m_timer.stop();
    m_lane.clear(); // jobs not started yet are dropped, as the store thread's queued events were when it quit
    m_lane.start([this] { m_connection.reset(); }); // closed on the thread that used it, after the job in flight
    m_lane.waitForDone();
}

void StoreService::open(const QString &path)
{
    m_path = path;
    m_open = false;
    m_damageSaid = false;
    struct Opened {
        QString error;
        Listing listing;
    };
    async::run(
        &m_lane, this,
        [this, connect = connector()] {
            Opened o;
            m_connection.reset();
            auto opened = connect();
            if (opened) {
                m_connection = std::move(opened.value());
                lbk::syncActiveRuns(*m_connection); // runs that died while the GUI was closed become interrupted
                o.listing = listing(*m_connection);
            } else {
                o.error = QString::fromStdString(opened.message());
            }
            return o;
        },
        [this, path](Opened o) {
            if (path != m_path)
                return; // another open followed this one
            m_open = o.error.isEmpty();
            applyRuns(m_open ? std::move(o.listing) : Listing());
            Q_EMIT storeOpened(path, o.error);
        });
}

StoreService::Connector StoreService::connector() const
{
    return [path = m_path.toStdString()] { return lbk::Store::open(path); };
}

void StoreService::execute(std::function<void(lbk::Store &)> job, QObject *context, std::function<void()> done)
{
    QObject *const deliverTo = done ? context : nullptr;
    async::run(
        &m_lane, deliverTo,
        [this, job = std::move(job)] {
            if (!m_connection)
                return false;
            job(*m_connection);
            return true;
        },
        [done = std::move(done)](bool ran) {
            if (ran)
                done();
        });
}

void StoreService::reloadRuns()
{
    request<Listing>(this, [](lbk::Store &s) { return listing(s); }, [this](Listing l) { applyRuns(std::move(l)); });
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
    async::waitForQueued(&m_lane);
}

void StoreService::poll()
{
    // Reap workers this process started; they keep running when the GUI quits, but while it lives it is their
    // parent and must collect their exit status.
    for (auto it = m_children.begin(); it != m_children.end();) {
        int code = 0;
        it = lbk::reapChild(*it, &code) ? m_children.erase(it) : it + 1;
    }
    // Damage any read met since the last tick (on the lane or on a view's own connection).
    // Damage of a store left since (a read of the old one still in flight) is not this store's.
    const auto damage = lbk::takeStoreDamage();
    if (damage && !m_damageSaid &&
        QFileInfo(QString::fromStdString(damage->file)).canonicalFilePath() == QFileInfo(m_path).canonicalFilePath()) {
        m_damageSaid = true;
        Q_EMIT storeDamaged(QString::fromStdString(damage->message));
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
                r.listing = listing(store);
                r.reloaded = true;
            }
            return r;
        },
        [this](PollResult r) {
            m_polling = false;
            for (const auto &w : r.sync.warnings)
                Q_EMIT syncWarning(QString::fromStdString(w));
            if (r.reloaded)
                applyRuns(std::move(r.listing));
        });
}

void StoreService::applyRuns(Listing fresh)
{
    std::vector<lbk::RunSummary> &runs = fresh.runs;
    std::map<int64_t, const lbk::RunSummary *> before;
    for (const auto &r : m_runs)
        before[r.id] = &r;
    std::set<qint64> changed;
    for (const auto &r : runs) {
        auto it = before.find(r.id);
        // A rename or new tags (here or in another program) change the run page's header too; an `lbk eval` of a
        // finished run changes its summary alone (found by an audit: its evaluation showed only after another run).
        if (it == before.end() || it->second->status != r.status || it->second->lastStep != r.lastStep ||
            it->second->endedAt != r.endedAt || it->second->name != r.name || it->second->tags != r.tags ||
            it->second->notes != r.notes || lbk::isActive(r.status) || it->second->summary != r.summary)
            changed.insert(r.id);
    }
    m_runs = std::move(runs);
    m_sweeps = std::move(fresh.sweeps);
    Q_EMIT runsChanged();
    if (!changed.empty())
        Q_EMIT runsUpdated(changed);
}

} // namespace labbook
