#include "histogramspage.h"

#include <algorithm>
#include <set>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSplitter>
#include <QVBoxLayout>

#include "format.h"
#include "plots/heatmapplot.h"
#include "storeservice.h"

namespace labbook {

QString histogramTitle(const QString &name)
{
    if (name == QLatin1String("p_true"))
        return QObject::tr("P(true class)");
    if (name == QLatin1String("p_predicted"))
        return QObject::tr("P(predicted class)");
    if (name == QLatin1String("p_positive:positive"))
        return QObject::tr("P(positive), truly positive papers");
    if (name == QLatin1String("p_positive:negative"))
        return QObject::tr("P(positive), truly negative papers");
    if (name == QLatin1String("p_label:positive"))
        return QObject::tr("P(label), labels the paper carries");
    if (name == QLatin1String("p_label:negative"))
        return QObject::tr("P(label), labels it does not carry");
    return name;
}

namespace {
// What the bins measure, and what their shares are of: probabilities of papers for the histograms Labbook's
// evaluations record (p_true, p_positive:...), plain values for a script's own (run.histogram("grad_norm")).
bool ofPapers(const std::vector<std::string> &names)
{
    return std::all_of(names.begin(), names.end(), [](const std::string &n) { return n.rfind("p_", 0) == 0; });
}
QString valueLabel(const std::vector<std::string> &names)
{
    return ofPapers(names) ? QObject::tr("probability") : QObject::tr("value");
}
QString shareLabel(const std::vector<std::string> &names)
{
    // A multi-label evaluation's counts are of (paper, label) pairs (found by an audit: called papers).
    const bool pairs = !names.empty() && std::all_of(names.begin(), names.end(), [](const std::string &n) {
        return n.rfind("p_label:", 0) == 0;
    });
    return pairs ? QObject::tr("share of (paper, label) pairs")
                 : ofPapers(names) ? QObject::tr("share of papers") : QObject::tr("share of values");
}
} // namespace

HistogramsPage::HistogramsPage(StoreService *store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Split:"), this));
    m_split = new QComboBox(this);
    m_split->setObjectName(QStringLiteral("histogramSplit"));
    m_split->addItems({QStringLiteral("val"), QStringLiteral("test")}); // until a run's own are read
    bar->addWidget(m_split);
    bar->addSpacing(12);
    bar->addWidget(new QLabel(tr("Evaluation:"), this));
    m_slider = new QSlider(Qt::Horizontal, this);
    m_slider->setObjectName(QStringLiteral("evaluationSlider"));
    m_slider->setEnabled(false);
    bar->addWidget(m_slider, 1);
    m_stepLabel = new QLabel(this);
    m_stepLabel->setMinimumWidth(110);
    bar->addWidget(m_stepLabel);
    auto *exportButton = new QPushButton(tr("Export bars..."), this);
    bar->addWidget(exportButton);
    layout->addLayout(bar);

    auto *split = new QSplitter(Qt::Vertical, this);
    auto *maps = new QWidget(split);
    m_heatmapRow = new QHBoxLayout(maps);
    m_heatmapRow->setContentsMargins(0, 0, 0, 0);
    m_bars = new PlotWidget(split);
    m_bars->setObjectName(QStringLiteral("histogramBars"));
    m_bars->xAxis->setLabel(tr("probability"));
    m_bars->yAxis->setLabel(tr("share of papers"));
    m_bars->legend->setVisible(true);
    m_bars->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignHCenter);
    m_bars->setEmptyMessage(tr("No histograms recorded yet"));
    split->addWidget(maps);
    split->addWidget(m_bars);
    split->setSizes({500, 300});
    layout->addWidget(split, 1);

    connect(m_split, &QComboBox::currentIndexChanged, this, [this] { refresh(); });
    connect(m_slider, &QSlider::valueChanged, this, &HistogramsPage::showEvaluation);
    connect(exportButton, &QPushButton::clicked, m_bars, &PlotWidget::exportInteractively);
}

QStringList HistogramsPage::histogramNames() const
{
    return toStringList(m_names);
}

void HistogramsPage::setRun(const lbk::RunSummary &run)
{
    const bool same = run.id == m_run.id;
    m_run = run;
    if (!same) {
        m_records.clear();
        rebuild();
    }
    refresh();
}

QStringList HistogramsPage::splits() const
{
    QStringList out;
    for (int i = 0; i < m_split->count(); ++i)
        out << m_split->itemText(i);
    return out;
}

void HistogramsPage::refresh()
{
    const qint64 id = m_run.id;
    const std::string split = ss(m_split->currentText());
    const int gen = ++m_generation;
    m_store->request<Loaded>(
        this,
        [id, split](lbk::Store &s) {
            Loaded l{s.histogramSplits(id), split, {}};
            // The split asked for, else the run's first (a script's run may have train histograms alone).
            if (!l.splits.empty() && std::find(l.splits.begin(), l.splits.end(), split) == l.splits.end())
                l.split = l.splits.front();
            l.records = s.histograms(id, l.split);
            return l;
        },
        [this, gen](Loaded l) {
            if (gen != m_generation)
                return;
            showSplits(l.splits, l.split);
            m_records = std::move(l.records);
            rebuild();
        });
}

// val and test always (an evaluation may yet record them), then any other split the run has.
void HistogramsPage::showSplits(const std::vector<std::string> &splits, const std::string &shown)
{
    QStringList items{QStringLiteral("val"), QStringLiteral("test")};
    for (const auto &s : splits)
        if (!items.contains(qs(s)))
            items << qs(s);
    QSignalBlocker block(m_split);
    if (items != this->splits()) {
        m_split->clear();
        m_split->addItems(items);
    }
    m_split->setCurrentText(qs(shown));
}

void HistogramsPage::setEvaluation(int index)
{
    m_slider->setValue(index);
    showEvaluation(index);
}

void HistogramsPage::rebuild()
{
    std::set<qint64> steps;
    std::vector<std::string> names;
    for (const auto &r : m_records) {
        steps.insert(r.step);
        if (std::find(names.begin(), names.end(), r.name) == names.end())
            names.push_back(r.name);
    }
    // p_true before p_predicted, positive before negative: the order the names are described in.
    std::sort(names.begin(), names.end(), [](const std::string &a, const std::string &b) {
        const bool ap = a.find(":positive") != std::string::npos || a == "p_true";
        const bool bp = b.find(":positive") != std::string::npos || b == "p_true";
        return ap != bp ? ap : a < b;
    });
    const bool atEnd = m_slider->value() >= int(m_steps.size()) - 1;
    m_steps.assign(steps.begin(), steps.end());
    if (names != m_names) {
        for (auto *h : m_heatmaps)
            h->deleteLater();
        m_heatmaps.clear();
        m_names = names;
        for (const auto &n : m_names) {
            auto *h = new HeatmapPlot(m_heatmapRow->parentWidget());
            h->setObjectName(QStringLiteral("heatmap:") + qs(n));
            m_heatmapRow->addWidget(h);
            m_heatmaps.push_back(h);
        }
    }
    for (size_t i = 0; i < m_names.size(); ++i) {
        std::vector<std::vector<qint64>> counts(m_steps.size());
        double lo = 0, hi = 1;
        for (const auto &r : m_records) {
            if (r.name != m_names[i])
                continue;
            const auto e = size_t(std::lower_bound(m_steps.begin(), m_steps.end(), r.step) - m_steps.begin());
            counts[e].assign(r.counts.begin(), r.counts.end());
            lo = r.lo;
            hi = r.hi;
        }
        m_heatmaps[i]->setHistograms(histogramTitle(qs(m_names[i])), m_steps, counts, lo, hi);
        m_heatmaps[i]->setLabels(valueLabel({m_names[i]}), shareLabel({m_names[i]}));
    }
    // One colour scale for the maps side by side, so the same colour means the same share in each.
    double top = 0;
    for (auto *h : m_heatmaps)
        top = std::max(top, h->maxShare());
    for (auto *h : m_heatmaps)
        h->setShareTop(top);
    QSignalBlocker block(m_slider);
    m_slider->setRange(0, std::max(0, int(m_steps.size()) - 1));
    m_slider->setEnabled(m_steps.size() > 1);
    if (atEnd || m_slider->value() >= int(m_steps.size()))
        m_slider->setValue(int(m_steps.size()) - 1);
    showEvaluation(m_slider->value());
}

void HistogramsPage::showEvaluation(int index)
{
    m_bars->clearPlottables();
    if (index < 0 || index >= int(m_steps.size())) {
        m_stepLabel->clear();
        m_bars->setEmptyMessage(tr("No histograms recorded yet"));
        m_bars->replot();
        return;
    }
    m_bars->setEmptyMessage(QString());
    const qint64 step = m_steps[size_t(index)];
    m_stepLabel->setText(tr("step %L1 (%2 of %3)").arg(step).arg(index + 1).arg(m_steps.size()));
    for (auto *h : m_heatmaps)
        h->setMarker(index);
    double maxShare = 0, lo = 0, hi = 1;
    bool first = true;
    int k = 0;
    for (const auto &name : m_names) {
        for (const auto &r : m_records) {
            if (r.step != step || r.name != name || r.counts.empty())
                continue;
            lo = first ? r.lo : std::min(lo, r.lo); // a script's histogram has its own range
            hi = first ? r.hi : std::max(hi, r.hi);
            first = false;
            qint64 total = 0;
            for (auto c : r.counts)
                total += c;
            const double width = (r.hi - r.lo) / double(r.counts.size());
            QVector<double> x, y;
            for (size_t b = 0; b < r.counts.size(); ++b) {
                x << r.lo + width * (double(b) + 0.5);
                y << (total ? double(r.counts[b]) / double(total) : 0.0);
                maxShare = std::max(maxShare, y.back());
            }
            auto *bars = new QCPBars(m_bars->xAxis, m_bars->yAxis);
            bars->setName(histogramTitle(qs(name)));
            const double n = double(m_names.size()), each = 0.9 * width / n; // side by side within each bin
            bars->setWidth(each);
            QColor c = seriesColor(k);
            bars->setPen(QPen(c.darker(120)));
            c.setAlpha(170);
            bars->setBrush(c);
            for (auto &xv : x) // so that every distribution stays visible (a script may record several)
                xv += (double(k) - (n - 1) / 2) * each;
            bars->setData(x, y, true);
        }
        ++k;
    }
    m_bars->xAxis->setRange(lo, hi);
    m_bars->xAxis->setLabel(valueLabel(m_names));
    m_bars->yAxis->setLabel(shareLabel(m_names));
    m_bars->yAxis->setRange(0, std::max(0.05, maxShare * 1.1));
    m_bars->replot(QCustomPlot::rpQueuedRefresh);
}

} // namespace labbook
