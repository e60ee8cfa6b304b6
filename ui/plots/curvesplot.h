#pragma once
// Metric curves: several series (metrics or runs) overlaid, each smoothed on its full length (debiased EMA)
// and then downsampled to the plot's width with min/max buckets; log axes; a hover read-out of every series
// at the mouse's x; live appends that only recompute what is needed.
#include <vector>

#include "plots/plotwidget.h"
#include "plots/series.h"

namespace labbook {

struct CurveSeries {
    QString name;
    QColor color;
    QVector<double> x, y; // x ascending
    Qt::PenStyle style = Qt::SolidLine; // several metrics of several runs: a run's colour, a metric's style
};

class CurvesPlot : public PlotWidget {
    Q_OBJECT
public:
    explicit CurvesPlot(QWidget *parent = nullptr);

    void setSeries(std::vector<CurveSeries> series);
    void appendPoints(int series, const QVector<double> &x, const QVector<double> &y);
    const std::vector<CurveSeries> &series() const { return m_series; }
    void setSmoothing(double weight); // 0 .. 0.999
    double smoothing() const { return m_smoothing; }
    void setLogX(bool on);
    void setLogY(bool on);
    void setXLabel(const QString &label);
    void setYLabel(const QString &label);
    // Points actually handed to QCustomPlot for series i (after downsampling), for tests and benchmarks.
    int drawnPointCount(int series) const;
    // The read-out text at plot x (what hovering shows).
    QString readoutAt(double x) const;
    // Recomputes the drawn data now (normally deferred to the next replot).
    void rebuildNow();
    // Forgets the user's zoom and shows every point of every series (double-click, Reset zoom, other runs).
    void resetView() override;
    bool userZoomed() const { return m_userZoomed; }

protected:
    void mouseMoveEvent(QMouseEvent *event) override;
    void leaveEvent(QEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void applyPalette() override;

private:
    void rebuild(bool rescale);
    std::vector<CurveSeries> m_series;
    std::vector<QCPGraph *> m_raw, m_smooth;
    double m_smoothing = 0;
    bool m_logX = false, m_logY = false;
    bool m_userZoomed = false;
    QCPRange m_pressRange, m_pressYRange; // the view when a mouse button went down: a drag changes it
    int m_builtWidth = 0;
    QCPItemStraightLine *m_cursor = nullptr;
    QCPItemText *m_readout = nullptr;
};

} // namespace labbook
