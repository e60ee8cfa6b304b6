#pragma once
// Run groups' curves of one metric: each group's mean over its runs as a line, with a shaded band of one sample
// standard deviation either side, one colour per group, n runs in the legend.
#include <QString>

#include <utility>
#include <vector>

#include "plots/plotwidget.h"
#include "sweep/groups.h"

namespace labbook {

class GroupCurvesPlot : public PlotWidget {
    Q_OBJECT
public:
    explicit GroupCurvesPlot(QWidget *parent = nullptr);
    // label -> curve, in the order to draw; metric names the y axis.
    void setCurves(const std::vector<std::pair<QString, lbk::GroupCurve>> &curves, const QString &metric);
    int groupCount() const { return m_groups; }

private:
    int m_groups = 0;
};

} // namespace labbook
