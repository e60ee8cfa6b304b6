#pragma once
// A sweep's trials in parallel coordinates: one vertical axis per swept key plus the metric, one line per trial
// through its values, coloured by its metric (the best darkest, drawn on top; pruned trials dashed). Dragging along
// an axis brushes a range of it; the trials inside every brush stay bold and trialsSelected() names them (a click
// on an axis clears its brush).
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "plots/plotwidget.h"
#include "sweep/overview.h"

namespace labbook {

class ParallelPlot : public PlotWidget {
    Q_OBJECT
public:
    explicit ParallelPlot(QWidget *parent = nullptr);

    void setOverview(const lbk::SweepOverview &overview);
    // Brushes a range [lo, hi] (0 to 1, the axis's own scale) of axis i; clearBrushes() removes them all.
    void setBrush(int axis, double lo, double hi);
    void clearBrushes();
    // The trials inside every brush (all of them when there is none).
    std::set<int> selectedTrials() const;
    int axisCount() const { return int(m_axes.size()) + 1; }
    int lineCount() const { return int(m_lines.size()); }

Q_SIGNALS:
    void trialsSelected(const std::set<int> &trials);

protected:
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void applyPalette() override;

private:
    struct Line {
        int trial = 0;
        std::vector<double> y; // per axis, NaN where missing
        double value = 0;      // the metric, NaN when none
        bool pruned = false;
        bool open = false;     // still waiting or running: its metric is not its last
        QCPCurve *curve = nullptr;
    };
    void rebuild();
    bool buildLines();
    void addAxis(int i, bool anyValue);
    void addCaption(bool anyValue);
    QString axisTitle(int i) const;
    QFont titleFont() const;
    std::vector<std::pair<double, QString>> axisLabels(int i, bool anyValue) const;
    void restyle();
    double metricPosition(double value) const;
    int axisAt(double x) const;

    lbk::SweepOverview m_o;
    std::vector<lbk::SweepAxis> m_axes;
    double m_metricLo = 0, m_metricHi = 1;
    std::vector<Line> m_lines;
    std::map<int, std::pair<double, double>> m_brushes; // axis -> range
    std::map<int, QCPItemRect *> m_brushItems;
    std::vector<QCPAbstractItem *> m_items; // the axes, their titles and ticks
    int m_dragAxis = -1;
    double m_dragFrom = 0;
};

} // namespace labbook
