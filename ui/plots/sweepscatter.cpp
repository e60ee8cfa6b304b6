#include "plots/sweepscatter.h"

#include <algorithm>
#include <cmath>

#include "format.h"

namespace labbook {

SweepScatter::SweepScatter(QWidget *parent) : PlotWidget(parent) {}

void SweepScatter::setOverview(const lbk::SweepOverview &o)
{
    removePanels();
    for (const auto &axis : o.axes)
        addPanel(o, axis);
    setEmptyMessage(o.axes.empty() ? tr("No swept key") : QString());
    applyPalette();
    requestReplot();
}

// The first panel is the plot's own axis rect (the empty message and xAxis/yAxis hang on it); the others go.
void SweepScatter::removePanels()
{
    clearPlottables();
    for (int i = plotLayout()->elementCount() - 1; i > 0; --i)
        if (plotLayout()->elementAt(i))
            plotLayout()->removeAt(i);
    plotLayout()->simplify();
    m_panels = 0;
}

void SweepScatter::setKeyAxis(QCPAxis *x, const lbk::SweepAxis &axis)
{
    x->setScaleType(QCPAxis::stLinear);
    x->setTicker(QSharedPointer<QCPAxisTicker>::create());
    x->setLabel(QString::fromStdString(axis.key));
    if (!axis.categories.empty()) {
        auto ticker = QSharedPointer<QCPAxisTickerText>::create();
        for (size_t i = 0; i < axis.categories.size(); ++i)
            ticker->addTick(double(i), QString::fromStdString(axis.categories[i]));
        x->setTicker(ticker);
        x->setRange(-0.5, double(axis.categories.size()) - 0.5);
    } else if (axis.log) {
        x->setScaleType(QCPAxis::stLogarithmic);
        x->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
        x->setRange(std::pow(10.0, axis.lo) / 1.3, std::pow(10.0, axis.hi) * 1.3);
    } else {
        const double pad = axis.hi > axis.lo ? (axis.hi - axis.lo) * 0.08 : 0.5;
        x->setRange(axis.lo - pad, axis.hi + pad);
        x->ticker()->setTickCount(3); // a panel is narrow: five values ran into each other
    }
}

std::optional<double> SweepScatter::keyPosition(const lbk::SweepAxis &axis, const nlohmann::json &v)
{
    if (!axis.categories.empty()) {
        const auto it = std::find(axis.categories.begin(), axis.categories.end(), axis.label(v));
        return double(it - axis.categories.begin());
    }
    if (v.is_number())
        return v.get<double>();
    return std::nullopt;
}

void SweepScatter::addPanel(const lbk::SweepOverview &o, const lbk::SweepAxis &axis)
{
    QCPAxisRect *rect = m_panels == 0 ? axisRect(0) : new QCPAxisRect(this);
    if (m_panels > 0)
        plotLayout()->addElement(0, m_panels, rect);
    ++m_panels;
    QCPAxis *x = rect->axis(QCPAxis::atBottom), *y = rect->axis(QCPAxis::atLeft);
    setKeyAxis(x, axis);
    y->setLabel(m_panels == 1 ? QString::fromStdString(o.spec.metric) : QString());
    auto dots = [&](const QColor &c, QCPScatterStyle::ScatterShape shape, bool filled, double size) {
        QCPGraph *g = QCustomPlot::addGraph(x, y);
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(shape, QPen(c, 1.5), filled ? QBrush(c) : QBrush(Qt::NoBrush), size));
        return g;
    };
    QCPGraph *done = dots(seriesColor(0), QCPScatterStyle::ssDisc, true, 7);
    QCPGraph *cut = dots(QColor(0xc0, 0x8a, 0x2e), QCPScatterStyle::ssCircle, false, 7); // pruned
    QCPGraph *top = dots(textColor(), QCPScatterStyle::ssCircle, false, 13);
    const auto best = o.best();
    double lo = INFINITY, hi = -INFINITY;
    for (const auto &row : o.trials) {
        if (!row.trial.value || !row.trial.params.contains(axis.key))
            continue;
        const auto xv = keyPosition(axis, row.trial.params[axis.key]);
        if (!xv)
            continue;
        const double yv = *row.trial.value;
        (row.trial.state == lbk::TrialState::Pruned ? cut : done)->addData(*xv, yv);
        if (best && best->trial.trial == row.trial.trial)
            top->addData(*xv, yv);
        lo = std::min(lo, yv);
        hi = std::max(hi, yv);
    }
    if (lo <= hi) {
        const double pad = hi > lo ? (hi - lo) * 0.08 : 0.05;
        y->setRange(lo - pad, hi + pad);
    }
}

void SweepScatter::applyPalette()
{
    PlotWidget::applyPalette();
}

} // namespace labbook
