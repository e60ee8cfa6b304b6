#include "curvespage.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
#include <QVBoxLayout>

#include "format.h"
#include "plots/curvesplot.h"
#include "plots/series.h"
#include "storeservice.h"

namespace labbook {

namespace {
// The curves a run's page opens with, and the first two colours: the training and validation loss.
const QStringList &lossCurves()
{
    static const QStringList keys = {QStringLiteral("train/loss"), QStringLiteral("val/loss")};
    return keys;
}
} // namespace

CurvesPage::CurvesPage(StoreService *store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
{
    auto *split = new QSplitter(this);
    auto *side = new QWidget(split);
    auto *sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    sideLayout->addWidget(new QLabel(tr("Metrics"), side));
    m_keys = new QListWidget(side);
    m_keys->setObjectName(QStringLiteral("metricKeys"));
    sideLayout->addWidget(m_keys, 1);
    auto *form = new QFormLayout;
    m_xAxis = new QComboBox(side);
    m_xAxis->setObjectName(QStringLiteral("xAxis"));
    m_xAxis->addItem(tr("step"));
    m_xAxis->addItem(tr("wall time (s)"));
    m_xAxis->addItem(tr("epoch"));
    form->addRow(tr("x axis"), m_xAxis);
    m_smoothing = new QSlider(Qt::Horizontal, side);
    m_smoothing->setObjectName(QStringLiteral("smoothing"));
    m_smoothing->setRange(0, 99);
    m_smoothing->setToolTip(tr("Debiased exponential moving average over the whole series, then drawn. The raw "
                               "curve stays faint behind it. Series of fewer than %1 points (evaluations) are drawn as "
                               "recorded: smoothing a handful of points only makes them lag.").arg(kMinPointsToSmooth));
    m_smoothingLabel = new QLabel(QStringLiteral("0.00"), side);
    auto *sm = new QHBoxLayout;
    sm->addWidget(m_smoothing, 1);
    sm->addWidget(m_smoothingLabel);
    form->addRow(tr("smoothing"), sm);
    m_logX = new QCheckBox(tr("log x"), side);
    m_logY = new QCheckBox(tr("log y"), side);
    auto *logs = new QHBoxLayout;
    logs->addWidget(m_logX);
    logs->addWidget(m_logY);
    form->addRow(logs);
    sideLayout->addLayout(form);
    auto *exportButton = new QPushButton(tr("Export plot..."), side);
    sideLayout->addWidget(exportButton);
    m_plot = new CurvesPlot(split);
    m_plot->setObjectName(QStringLiteral("curvesPlot"));
    split->addWidget(side);
    split->addWidget(m_plot);
    split->setStretchFactor(1, 1);
    split->setSizes({200, 800});
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);

    connect(m_keys, &QListWidget::itemChanged, this, [this] { loadSeries(); });
    connect(m_xAxis, &QComboBox::currentIndexChanged, this, [this] {
        loadSeries(); // the epoch axis needs each run's epoch series
    });
    connect(m_smoothing, &QSlider::valueChanged, this, [this](int v) {
        m_smoothingLabel->setText(QString::number(v / 100.0, 'f', 2));
        m_plot->setSmoothing(v / 100.0);
    });
    connect(m_logX, &QCheckBox::toggled, m_plot, &CurvesPlot::setLogX);
    connect(m_logY, &QCheckBox::toggled, m_plot, &CurvesPlot::setLogY);
    connect(exportButton, &QPushButton::clicked, m_plot, &CurvesPlot::exportInteractively);
    m_wanted = lossCurves();
}

void CurvesPage::setRuns(const std::vector<lbk::RunSummary> &runs, const QString &compared)
{
    const auto ids = [](const std::vector<lbk::RunSummary> &rs) {
        std::set<qint64> out;
        for (const auto &r : rs)
            out.insert(r.id);
        return out;
    };
    // Other runs compared open on the metric they are selected by (found by an audit: with Curves in view, the next
    // pair kept the last pair's ticks, or fell back to the losses); the same runs again keep what the user ticked.
    if (runs.size() > 1 && ids(runs) != ids(m_runs)) {
        m_wanted = {compared};
        m_newComparison = true;
    }
    m_runs = runs;
    m_data.clear();
    ++m_generation;
    m_plot->setSeries({}); // other runs: their whole curves, not the last run's zoom
    loadKeys();
}

QStringList CurvesPage::selectedKeys() const
{
    QStringList keys;
    for (int i = 0; i < m_keys->count(); ++i)
        if (m_keys->item(i)->checkState() == Qt::Checked)
            keys << m_keys->item(i)->text();
    return keys;
}

QStringList CurvesPage::availableKeys() const
{
    QStringList keys;
    for (int i = 0; i < m_keys->count(); ++i)
        keys << m_keys->item(i)->text();
    return keys;
}

void CurvesPage::setSelectedKeys(const QStringList &keys)
{
    m_wanted = keys;
    QSignalBlocker block(m_keys);
    for (int i = 0; i < m_keys->count(); ++i)
        m_keys->item(i)->setCheckState(keys.contains(m_keys->item(i)->text()) ? Qt::Checked : Qt::Unchecked);
    loadSeries();
}

void CurvesPage::loadKeys()
{
    std::vector<qint64> ids;
    for (const auto &r : m_runs)
        ids.push_back(r.id);
    const int gen = m_generation;
    ++m_pending;
    m_store->request<std::vector<std::string>>(
        this,
        [ids](lbk::Store &s) {
            std::set<std::string> keys;
            for (auto id : ids)
                for (auto &k : s.metricKeys(id))
                    keys.insert(k);
            return std::vector<std::string>(keys.begin(), keys.end());
        },
        [this, gen](std::vector<std::string> keys) {
            --m_pending;
            if (gen != m_generation)
                return;
            // What was ticked, while this run has any of it (another run's ticks, val/perplexity of a pre-training
            // run, would tick nothing here); else the keys asked for, else the two loss curves.
            const QStringList fresh = toStringList(keys);
            const auto anyHere = [&fresh](const QStringList &l) {
                return std::any_of(l.begin(), l.end(), [&fresh](const QString &k) { return fresh.contains(k); });
            };
            const bool newComparison = std::exchange(m_newComparison, false);
            QStringList selected = newComparison ? m_wanted : selectedKeys();
            if (!anyHere(selected))
                selected = m_wanted;
            if (!anyHere(selected))
                selected = lossCurves();
            QSignalBlocker block(m_keys);
            const QStringList before = availableKeys();
            if (before != fresh || newComparison) {
                m_keys->clear();
                for (const auto &k : keys) {
                    auto *item = new QListWidgetItem(qs(k), m_keys);
                    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsSelectable);
                    // A key asked for is ticked when it first appears (val/loss after the first evaluation).
                    const bool tick = selected.contains(qs(k)) || (!before.contains(qs(k)) && m_wanted.contains(qs(k)));
                    item->setCheckState(tick ? Qt::Checked : Qt::Unchecked);
                }
            }
            loadSeries();
        });
}

void CurvesPage::loadSeries()
{
    QStringList keys = selectedKeys();
    if (m_xAxis->currentIndex() == Epochs && !keys.contains(QStringLiteral("epoch")))
        keys << QStringLiteral("epoch");
    struct Job {
        qint64 run;
        std::string key;
        int64_t after; // -1: the whole series
    };
    std::vector<Job> jobs;
    for (const auto &r : m_runs)
        for (const auto &k : keys) {
            auto it = m_data.find({r.id, ss(k)});
            if (it == m_data.end())
                jobs.push_back({r.id, ss(k), -1});
            else if (lbk::isActive(r.status) || r.lastStep > (it->second.empty() ? -1 : it->second.back().step))
                jobs.push_back({r.id, ss(k), it->second.empty() ? -1 : it->second.back().step});
        }
    if (jobs.empty()) {
        rebuildPlot();
        return;
    }
    using Loaded = std::vector<std::pair<Job, std::vector<lbk::MetricPoint>>>;
    const int gen = m_generation;
    ++m_pending;
    m_store->request<Loaded>(
        this,
        [jobs](lbk::Store &s) {
            Loaded out;
            for (const auto &j : jobs)
                out.emplace_back(j, j.after < 0 ? s.metric(j.run, j.key) : s.metricAfter(j.run, j.key, j.after));
            return out;
        },
        [this, gen](Loaded loaded) {
            --m_pending;
            if (gen != m_generation)
                return;
            for (auto &[job, points] : loaded) {
                auto &series = m_data[{job.run, job.key}];
                if (job.after < 0)
                    series = std::move(points);
                else
                    series.insert(series.end(), points.begin(), points.end());
            }
            rebuildPlot();
        });
}

// A step's epoch from a run's epoch series (logged at its log steps): interpolated between them, and past the last
// at the run's steps per epoch (the series grows in proportion to the step); NaN when the run logs no epochs (a
// script's run that does not say them), so its points are left out of the epoch axis rather than put at 0.
namespace {
double epochAtStep(const std::vector<lbk::MetricPoint> &epochs, int64_t step)
{
    if (epochs.empty())
        return std::nan("");
    const auto after = std::lower_bound(epochs.begin(), epochs.end(), step,
                                        [](const lbk::MetricPoint &p, int64_t s) { return p.step < s; });
    const lbk::MetricPoint &last = after == epochs.end() ? epochs.back() : *after;
    if (after != epochs.end() && after->step == step)
        return after->value;
    if (after == epochs.begin() || after == epochs.end())
        return last.step > 0 ? last.value * double(step) / double(last.step) : std::nan("");
    const lbk::MetricPoint &before = *(after - 1);
    return before.value + (last.value - before.value) * double(step - before.step) / double(last.step - before.step);
}
} // namespace

// Where a run's wall-time axis starts: when its worker started (one clock for all its curves, so an evaluation
// sits at the time it was made, not at 0 of its own series), or its earliest point loaded when that is earlier or
// the start is unknown.
double CurvesPage::timeOrigin(const lbk::RunSummary &run) const
{
    double t0 = run.startedAt > 0 ? run.startedAt : std::numeric_limits<double>::infinity();
    for (const auto &[key, points] : m_data)
        if (key.first == run.id && !points.empty())
            t0 = std::min(t0, points.front().wall);
    return std::isfinite(t0) ? t0 : 0.0;
}

QVector<double> CurvesPage::xValues(const lbk::RunSummary &run, const std::vector<lbk::MetricPoint> &points) const
{
    QVector<double> x;
    x.reserve(qsizetype(points.size()));
    const int axis = m_xAxis->currentIndex();
    const double t0 = axis == WallTime ? timeOrigin(run) : 0.0;
    const auto epochs = m_data.find({run.id, "epoch"});
    for (const auto &p : points) {
        if (axis == WallTime)
            x << p.wall - t0;
        else if (axis == Epochs)
            x << (epochs == m_data.end() ? std::nan("") : epochAtStep(epochs->second, p.step));
        else
            x << double(p.step);
    }
    return x;
}

// A metric keeps its colour whatever else is ticked and whatever keys arrive later (test/* at the end of a run
// came before train/* in the sorted list and shifted every colour): the two default curves have the first two
// colours, any other key the next free one when it is first drawn, for the page's life (other runs alike).
int CurvesPage::colorIndex(const QString &key)
{
    if (lossCurves().contains(key))
        return int(lossCurves().indexOf(key));
    auto it = m_colorOf.find(key);
    if (it == m_colorOf.end())
        it = m_colorOf.insert(key, int(lossCurves().size() + m_colorOf.size()));
    return it.value();
}

void CurvesPage::rebuildPlot()
{
    const QStringList keys = selectedKeys();
    const int axis = m_xAxis->currentIndex();
    const bool multiRun = m_runs.size() > 1;
    std::vector<CurveSeries> series;
    int k = 0;
    for (const auto &key : keys) {
        int r = 0;
        for (const auto &run : m_runs) {
            auto it = m_data.find({run.id, ss(key)});
            if (it == m_data.end() || it->second.empty()) {
                ++r;
                continue;
            }
            CurveSeries s;
            s.name = multiRun ? QStringLiteral("#%1 %2 %3").arg(run.id).arg(qs(run.name), key) : key;
            // Several runs: a run's colour, and its second and later metrics dashed, dotted... and darker.
            QColor c = seriesColor(multiRun ? r : colorIndex(key));
            if (multiRun && k > 0) {
                static const Qt::PenStyle styles[] = {Qt::DashLine, Qt::DotLine, Qt::DashDotLine, Qt::DashDotDotLine};
                c = c.darker(100 + 20 * k);
                s.style = styles[(k - 1) % 4];
            }
            s.color = c;
            const QVector<double> x = xValues(run, it->second);
            for (size_t i = 0; i < it->second.size(); ++i)
                if (!std::isnan(x[qsizetype(i)])) { // a run without epochs has no place on the epoch axis
                    s.x << x[qsizetype(i)];
                    s.y << it->second[i].value;
                }
            if (s.x.isEmpty()) {
                ++r;
                continue;
            }
            if (axis == WallTime) { // a resumed run's stop is a break in its line, not a straight stretch across it
                auto broken = breakAtStops(s.x, s.y);
                s.x = std::move(broken.x);
                s.y = std::move(broken.y);
            }
            series.push_back(std::move(s));
            ++r;
        }
        ++k;
    }
    m_plot->setXLabel(axis == WallTime ? tr("wall time since the run started (s)")
                      : axis == Epochs ? tr("epoch")
                                       : tr("step"));
    m_plot->setYLabel(keys.size() == 1 ? keys.front() : QString());
    m_plot->setSeries(std::move(series));
}

void CurvesPage::refresh(const std::set<qint64> &changedRuns)
{
    bool any = false;
    for (auto &r : m_runs)
        if (changedRuns.count(r.id)) {
            any = true;
            for (const auto &fresh : m_store->runs())
                if (fresh.id == r.id)
                    r = fresh;
        }
    if (any)
        loadKeys();
}

} // namespace labbook
