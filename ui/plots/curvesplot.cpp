#include "curvesplot.h"

#include <algorithm>
#include <cmath>


namespace labbook {

CurvesPlot::CurvesPlot(QWidget *parent)
    : PlotWidget(parent)
{
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    legend->setVisible(true);
    setLegendAvoidsData(true);
    legend->setFont(font());
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    xAxis->setLabel(tr("step"));
    m_cursor = new QCPItemStraightLine(this);
    m_cursor->setVisible(false);
    m_readout = new QCPItemText(this);
    m_readout->setVisible(false);
    m_readout->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_readout->position->setCoords(0.01, 0.01);
    m_readout->setPositionAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_readout->setTextAlignment(Qt::AlignLeft);
    m_readout->setPadding(QMargins(6, 4, 6, 4));
    applyPalette();
}

void CurvesPlot::applyPalette()
{
    PlotWidget::applyPalette();
    if (!m_readout)
        return;
    QColor bg = palette().color(QPalette::ToolTipBase);
    bg.setAlpha(230);
    m_readout->setBrush(bg);
    m_readout->setColor(palette().color(QPalette::ToolTipText));
    m_readout->setPen(QPen(gridColor()));
    m_cursor->setPen(QPen(textColor(), 1, Qt::DashLine));
}

void CurvesPlot::setSeries(std::vector<CurveSeries> series)
{
    // The same series again (a live refresh) keep the user's zoom; different ones start from the full view.
    bool same = series.size() == m_series.size();
    for (size_t i = 0; same && i < series.size(); ++i)
        same = series[i].name == m_series[i].name;
    m_series = std::move(series);
    if (!same)
        m_userZoomed = false;
    rebuild(!m_userZoomed);
}

void CurvesPlot::resetView()
{
    m_userZoomed = false;
    rebuild(true);
}

void CurvesPlot::appendPoints(int i, const QVector<double> &x, const QVector<double> &y)
{
    if (i < 0 || size_t(i) >= m_series.size() || x.isEmpty())
        return;
    m_series[size_t(i)].x += x;
    m_series[size_t(i)].y += y;
    rebuild(!m_userZoomed);
}

void CurvesPlot::setSmoothing(double weight)
{
    m_smoothing = std::clamp(weight, 0.0, 0.999);
    rebuild(false);
}

void CurvesPlot::setLogX(bool on)
{
    m_logX = on;
    xAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    xAxis->setTicker(on ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog) : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    rebuild(true);
}

void CurvesPlot::setLogY(bool on)
{
    m_logY = on;
    yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    yAxis->setTicker(on ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog) : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    rebuild(true);
}

void CurvesPlot::setXLabel(const QString &label)
{
    xAxis->setLabel(label);
    requestReplot();
}

void CurvesPlot::setYLabel(const QString &label)
{
    yAxis->setLabel(label);
    requestReplot();
}

int CurvesPlot::drawnPointCount(int i) const
{
    if (i < 0 || size_t(i) >= m_smooth.size())
        return 0;
    return m_smooth[size_t(i)]->dataCount();
}

void CurvesPlot::rebuildNow()
{
    rebuild(!m_userZoomed);
}

void CurvesPlot::rebuild(bool rescale)
{
    clearGraphs();
    m_raw.clear();
    m_smooth.clear();
    m_builtWidth = qMax(width(), 400);
    const int buckets = qMax(100, m_builtWidth / 2);
    for (const auto &s : m_series) {
        QVector<double> x = s.x, y = s.y;
        if (m_logX || m_logY) { // non-positive values have no place on a log axis
            QVector<double> fx, fy;
            for (qsizetype i = 0; i < x.size() && i < y.size(); ++i)
                if ((!m_logX || x[i] > 0) && (!m_logY || y[i] > 0)) {
                    fx << x[i];
                    fy << y[i];
                }
            x = fx;
            y = fy;
        }
        const double weight = smoothingFor(s.y.size(), m_smoothing); // by the points recorded, as the readout
        const QVector<double> smooth = smoothEma(y, weight);
        if (weight > 0) {
            const XY raw = downsampleMinMax(x, y, buckets);
            QCPGraph *g = addGraph();
            QColor faint = s.color;
            faint.setAlpha(70);
            g->setPen(QPen(faint, 1));
            g->setData(raw.x, raw.y, true);
            g->removeFromLegend();
            g->setAdaptiveSampling(true);
            m_raw.push_back(g);
        }
        const XY drawn = downsampleMinMax(x, smooth, buckets);
        QCPGraph *g = addGraph();
        g->setName(s.name);
        g->setPen(QPen(s.color, 1.8, s.style));
        g->setData(drawn.x, drawn.y, true);
        g->setAdaptiveSampling(true);
        if (drawn.x.size() == 1)
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
        m_smooth.push_back(g);
    }
    legend->setVisible(!m_series.empty());
    setEmptyMessage(m_series.empty() ? tr("Choose one or more metrics") : QString());
    if (rescale && !m_series.empty()) {
        rescaleAxes(true);
        // A little air around the curves: a last (or a first, or a lone) evaluation's point is not cut in half by the
        // plot's edge (found by an audit: a short run's one point sat half under the axis).
        const QCPRange rx = xAxis->range();
        if (!m_logX && rx.size() > 0)
            xAxis->setRange(rx.lower - rx.size() * 0.015, rx.upper + rx.size() * 0.015);
        else if (!m_logX)
            xAxis->setRange(rx.lower - 1, rx.upper + 1);
        const QCPRange r = yAxis->range();
        if (!m_logY && r.size() > 0)
            yAxis->setRange(r.lower - r.size() * 0.04, r.upper + r.size() * 0.04);
        else if (!m_logY)
            yAxis->setRange(r.lower - 0.5, r.upper + 0.5);
    }
    requestReplot();
}

QString CurvesPlot::readoutAt(double x) const
{
    QStringList lines;
    for (size_t i = 0; i < m_series.size(); ++i) {
        const auto &s = m_series[i];
        if (s.x.isEmpty())
            continue;
        const auto it = std::lower_bound(s.x.begin(), s.x.end(), x);
        qsizetype k = it - s.x.begin();
        if (k >= s.x.size())
            k = s.x.size() - 1;
        if (k > 0 && std::fabs(s.x[k - 1] - x) < std::fabs(s.x[k] - x))
            --k;
        QString line = QStringLiteral("%1: %2").arg(s.name, QString::number(s.y[k], 'g', 5));
        if (const double weight = smoothingFor(s.y.size(), m_smoothing); weight > 0) {
            const QVector<double> sm = smoothEma(s.y.mid(0, k + 1), weight);
            line += QStringLiteral(" (smoothed %1)").arg(QString::number(sm.last(), 'g', 5));
        }
        line += QStringLiteral("  @ %1").arg(QString::number(s.x[k], 'g', 7));
        lines << line;
    }
    return lines.join(QLatin1Char('\n'));
}

void CurvesPlot::mouseMoveEvent(QMouseEvent *event)
{
    PlotWidget::mouseMoveEvent(event);
    if (m_series.empty() || !axisRect()->rect().contains(event->pos())) {
        m_cursor->setVisible(false);
        m_readout->setVisible(false);
        requestReplot();
        return;
    }
    const double x = xAxis->pixelToCoord(event->pos().x());
    m_cursor->point1->setCoords(x, 0);
    m_cursor->point2->setCoords(x, 1);
    m_cursor->setVisible(true);
    m_readout->setText(readoutAt(x));
    m_readout->setVisible(true);
    requestReplot();
}

void CurvesPlot::leaveEvent(QEvent *event)
{
    PlotWidget::leaveEvent(event);
    m_cursor->setVisible(false);
    m_readout->setVisible(false);
    requestReplot();
}

void CurvesPlot::mouseDoubleClickEvent(QMouseEvent *event)
{
    PlotWidget::mouseDoubleClickEvent(event);
    resetView();
}

// Only the user's own zoom and drag keep a view across live updates; a range set by the plot itself (a
// rescale while the mouse happens to hover) never does.
void CurvesPlot::wheelEvent(QWheelEvent *event)
{
    PlotWidget::wheelEvent(event);
    if (!m_series.empty())
        m_userZoomed = true;
}

void CurvesPlot::mousePressEvent(QMouseEvent *event)
{
    PlotWidget::mousePressEvent(event);
    m_pressRange = xAxis->range();
    m_pressYRange = yAxis->range();
}

void CurvesPlot::mouseReleaseEvent(QMouseEvent *event)
{
    PlotWidget::mouseReleaseEvent(event);
    if (!m_series.empty() && (xAxis->range() != m_pressRange || yAxis->range() != m_pressYRange))
        m_userZoomed = true; // dragged
}

void CurvesPlot::resizeEvent(QResizeEvent *event)
{
    PlotWidget::resizeEvent(event);
    // Downsampling depends on the width: rebuild when it grew a lot, so detail appears on bigger windows.
    if (width() > m_builtWidth * 3 / 2 && !m_series.empty())
        rebuild(false);
}

} // namespace labbook
