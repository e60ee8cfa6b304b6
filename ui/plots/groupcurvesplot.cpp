#include "plots/groupcurvesplot.h"

#include <algorithm>

#include "format.h"

namespace labbook {

namespace {
constexpr size_t kMaxPoints = 800;
}

GroupCurvesPlot::GroupCurvesPlot(QWidget *parent) : PlotWidget(parent)
{
    xAxis->setLabel(tr("step"));
    legend->setVisible(true);
    setLegendAvoidsData(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    setEmptyMessage(tr("No run of the group has logged this metric yet"));
}

void GroupCurvesPlot::setCurves(const std::vector<std::pair<QString, lbk::GroupCurve>> &curves, const QString &metric)
{
    clearGraphs();
    m_groups = 0;
    yAxis->setLabel(metric);
    double lo = INFINITY, hi = -INFINITY, last = 0;
    for (const auto &[label, c] : curves) {
        if (c.steps.empty())
            continue;
        const QColor color = seriesColor(m_groups++);
        QVector<double> x, mean, upper, lower;
        // At most kMaxPoints per line: consecutive steps share a bucket, the line its mean, the band its envelope, so
        // a 10k-step group draws as fast as a short one and no excursion of the band is lost.
        const size_t n = c.steps.size(), buckets = std::min(n, kMaxPoints);
        for (size_t b = 0; b < buckets; ++b) {
            const size_t from = b * n / buckets, to = (b + 1) * n / buckets;
            double m = 0, up = -INFINITY, down = INFINITY;
            for (size_t i = from; i < to; ++i) {
                m += c.mean[i] / double(to - from);
                up = std::max(up, c.mean[i] + c.stddev[i]);
                down = std::min(down, c.mean[i] - c.stddev[i]);
            }
            x.push_back(double(c.steps[to - 1]));
            mean.push_back(m);
            upper.push_back(up);
            lower.push_back(down);
            lo = std::min(lo, down);
            hi = std::max(hi, up);
            last = std::max(last, x.back());
        }
        QCPGraph *low = addGraph();
        low->setData(x, lower, true);
        low->setPen(Qt::NoPen);
        low->removeFromLegend();
        QCPGraph *high = addGraph();
        high->setData(x, upper, true);
        high->setPen(Qt::NoPen);
        QColor fill = color;
        fill.setAlpha(50);
        high->setBrush(fill);
        high->setChannelFillGraph(low);
        high->removeFromLegend();
        QCPGraph *line = addGraph();
        line->setData(x, mean, true);
        line->setPen(QPen(color, 2));
        const int runs = *std::max_element(c.n.begin(), c.n.end());
        line->setName(tr("%1 (%2)").arg(label, counted(runs, tr("run"), tr("runs"))));
    }
    if (m_groups > 0) {
        const double pad = hi > lo ? (hi - lo) * 0.06 : 0.05;
        yAxis->setRange(lo - pad, hi + pad);
        xAxis->setRange(0, last * 1.015);
    }
    setEmptyMessage(m_groups == 0 ? tr("No run of the group has logged this metric yet") : QString());
    applyPalette();
    requestReplot();
}

} // namespace labbook
