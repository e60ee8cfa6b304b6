#include "heatmapplot.h"

#include <algorithm>

namespace labbook {

HeatmapPlot::HeatmapPlot(QWidget *parent)
    : PlotWidget(parent)
{
    plotLayout()->insertRow(0);
    m_title = new QCPTextElement(this, QString(), QFont(font().family(), font().pointSize(), QFont::Bold));
    plotLayout()->addElement(0, 0, m_title);
    m_map = new QCPColorMap(xAxis, yAxis);
    m_scale = new QCPColorScale(this);
    plotLayout()->addElement(1, 1, m_scale);
    m_scale->setType(QCPAxis::atRight);
    m_scale->axis()->setLabel(tr("share of papers"));
    m_map->setColorScale(m_scale);
    m_map->setInterpolate(false);
    // The step labels are chosen for the axis's width once a replot has laid it out, before it draws.
    connect(this, &QCustomPlot::afterLayout, this, &HeatmapPlot::updateStepTicks);
    // A perceptually ordered dark-blue to yellow ramp: readable on light and dark backgrounds alike.
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(0x44, 0x01, 0x54));
    g.setColorStopAt(0.25, QColor(0x3b, 0x52, 0x8b));
    g.setColorStopAt(0.5, QColor(0x21, 0x91, 0x8c));
    g.setColorStopAt(0.75, QColor(0x5e, 0xc9, 0x62));
    g.setColorStopAt(1.0, QColor(0xfd, 0xe7, 0x25));
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    m_map->setGradient(g);
    QCPMarginGroup *group = new QCPMarginGroup(this);
    axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    xAxis->setLabel(tr("evaluation step"));
    yAxis->setLabel(tr("probability"));
    m_marker = new QCPItemRect(this);
    m_marker->setVisible(false);
    setEmptyMessage(tr("No histograms recorded yet"));
    applyPalette();
}

void HeatmapPlot::applyPalette()
{
    PlotWidget::applyPalette();
    if (!m_scale)
        return;
    styleAxisRect(m_scale->axis()->axisRect());
    m_title->setTextColor(textColor());
    m_marker->setPen(QPen(QColor(0xff, 0x45, 0x45), 2));
    m_marker->setBrush(Qt::NoBrush);
}

void HeatmapPlot::setHistograms(const QString &title, const std::vector<qint64> &steps,
                                const std::vector<std::vector<qint64>> &counts, double lo, double hi)
{
    m_title->setText(title);
    m_steps = steps;
    m_tickEvery = 0; // new steps: their labels are made at the next layout
    const int nx = int(steps.size());
    int ny = 0;
    for (const auto &c : counts)
        ny = std::max(ny, int(c.size()));
    if (nx == 0 || ny == 0) {
        m_map->data()->clear();
        setEmptyMessage(tr("No histograms recorded yet"));
        requestReplot();
        return;
    }
    setEmptyMessage(QString());
    m_map->data()->setSize(nx, ny);
    const double binWidth = (hi - lo) / ny;
    m_map->data()->setRange(QCPRange(0, std::max(1, nx - 1)), QCPRange(lo + binWidth / 2, hi - binWidth / 2));
    if (nx == 1)
        m_map->data()->setKeyRange(QCPRange(-0.5, 0.5));
    for (int e = 0; e < nx; ++e) {
        qint64 total = 0;
        for (auto c : counts[size_t(e)])
            total += c;
        for (int b = 0; b < ny; ++b) {
            const qint64 c = b < int(counts[size_t(e)].size()) ? counts[size_t(e)][size_t(b)] : 0;
            m_map->data()->setCell(e, b, total > 0 ? double(c) / double(total) : 0.0);
        }
    }
    m_map->rescaleDataRange(true);
    xAxis->setRange(-0.5, nx - 0.5);
    yAxis->setRange(lo, hi);
    setMarker(nx - 1);
}

// Every k-th evaluation's step as a label, k chosen so the labels fit the axis's width side by side (eight a
// fixed count overlapped in a small window).
void HeatmapPlot::updateStepTicks()
{
    const int nx = int(m_steps.size());
    if (nx == 0)
        return;
    const QFontMetrics metrics(xAxis->tickLabelFont());
    const int label = metrics.horizontalAdvance(QString::number(m_steps.back())) + metrics.horizontalAdvance(QStringLiteral("  "));
    const int width = std::max(1, xAxis->axisRect()->width()); // laid out: called after each layout (afterLayout)
    const int fit = std::max(1, width / std::max(1, label));
    const int every = std::max(1, (nx + fit - 1) / fit);
    if (every == m_tickEvery && nx == m_tickedEvaluations)
        return;
    m_tickEvery = every;
    m_tickedEvaluations = nx;
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int e = 0; e < nx; e += every)
        ticker->addTick(e, QString::number(m_steps[size_t(e)]));
    xAxis->setTicker(ticker);
    replot(QCustomPlot::rpQueuedReplot); // this layout's ticks were made before: draw again with these
}

double HeatmapPlot::maxShare() const
{
    // The 98th percentile of the shares, not their largest: one early evaluation with every paper in one bin
    // (a share of 1) set the top and left every later evaluation nearly black. Cells above it take the top colour.
    std::vector<double> shares;
    for (int e = 0; e < m_map->data()->keySize(); ++e)
        for (int b = 0; b < m_map->data()->valueSize(); ++b)
            shares.push_back(m_map->data()->cell(e, b));
    if (shares.empty())
        return 0;
    const size_t at = std::min(shares.size() - 1, size_t(0.98 * double(shares.size())));
    std::nth_element(shares.begin(), shares.begin() + std::ptrdiff_t(at), shares.end());
    return shares[at];
}

void HeatmapPlot::setShareTop(double top)
{
    m_map->setDataRange(QCPRange(0, top > 0 ? top : 1));
    requestReplot();
}

void HeatmapPlot::setLabels(const QString &value, const QString &share)
{
    yAxis->setLabel(value);
    m_scale->axis()->setLabel(share);
}

void HeatmapPlot::setMarker(int e)
{
    if (e < 0 || e >= int(m_steps.size())) {
        m_marker->setVisible(false);
    } else {
        m_marker->topLeft->setCoords(e - 0.5, yAxis->range().upper);
        m_marker->bottomRight->setCoords(e + 0.5, yAxis->range().lower);
        m_marker->setVisible(true);
    }
    requestReplot();
}

double HeatmapPlot::cellShare(int e, int bin) const
{
    if (e < 0 || e >= int(m_steps.size()) || bin < 0 || bin >= m_map->data()->valueSize())
        return 0;
    return m_map->data()->cell(e, bin);
}

} // namespace labbook
