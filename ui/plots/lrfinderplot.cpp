#include "lrfinderplot.h"

#include <cmath>

#include "train/lrfinder.h"

namespace labbook {

LrFinderPlot::LrFinderPlot(QWidget *parent)
    : PlotWidget(parent)
{
    xAxis->setScaleType(QCPAxis::stLogarithmic);
    xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog));
    xAxis->setNumberFormat(QStringLiteral("eb"));
    xAxis->setNumberPrecision(0);
    xAxis->setLabel(tr("learning rate"));
    yAxis->setLabel(tr("training loss"));
    m_rawGraph = addGraph();
    m_rawGraph->setName(tr("loss"));
    m_smoothGraph = addGraph();
    m_smoothGraph->setName(tr("smoothed (centred, no lag)"));
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    m_suggestLine = new QCPItemStraightLine(this);
    m_pickLine = new QCPItemStraightLine(this);
    m_suggestLabel = new QCPItemText(this);
    m_pickLabel = new QCPItemText(this);
    for (auto *l : {m_suggestLabel, m_pickLabel}) {
        l->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
        l->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        l->setPadding(QMargins(4, 2, 4, 2));
        l->setVisible(false);
    }
    m_suggestLine->setVisible(false);
    m_pickLine->setVisible(false);
    setEmptyMessage(tr("No LR range test points"));
    applyPalette();
}

void LrFinderPlot::applyPalette()
{
    PlotWidget::applyPalette();
    if (!m_rawGraph)
        return;
    QColor raw = textColor();
    raw.setAlpha(90);
    m_rawGraph->setPen(QPen(raw, 1));
    m_smoothGraph->setPen(QPen(QColor(0x1f, 0x77, 0xb4), 2.2));
    m_suggestLine->setPen(QPen(QColor(0xe5, 0x39, 0x35), 1.5, Qt::DashLine));
    m_suggestLabel->setColor(QColor(0xe5, 0x39, 0x35));
    m_pickLine->setPen(QPen(QColor(0x2e, 0x9d, 0x4f), 1.5, Qt::DashDotLine));
    m_pickLabel->setColor(QColor(0x2e, 0x9d, 0x4f));
}

void LrFinderPlot::setPoints(const std::vector<lbk::LrPoint> &points)
{
    m_lr.clear();
    m_loss.clear();
    for (const auto &p : points) {
        if (!(p.lr > 0))
            continue;
        m_lr << p.lr;
        m_loss << p.loss;
    }
    // The curve the suggestion is read from (not the running EMA the worker records to decide when to stop).
    const auto curve = lbk::lrFinderCurve(std::vector<double>(m_loss.begin(), m_loss.end()));
    m_smoothed = QVector<double>(curve.begin(), curve.end());
    QVector<double> fx, fy, sx, sy;
    for (qsizetype i = 0; i < m_lr.size(); ++i) {
        if (std::isfinite(m_loss[i])) {
            fx << m_lr[i];
            fy << m_loss[i];
        }
        if (std::isfinite(m_smoothed[i])) {
            sx << m_lr[i];
            sy << m_smoothed[i];
        }
    }
    m_rawGraph->setData(fx, fy, true);
    m_smoothGraph->setData(sx, sy, true);
    setEmptyMessage(m_lr.isEmpty() ? tr("No LR range test points yet") : QString());
    if (!sx.isEmpty()) {
        xAxis->setRange(m_lr.first() / 1.3, m_lr.last() * 1.3);
        // Powers of ten where the test spans decades; within about one, rounded rates between them, with a digit
        // (found by an audit: a test from 1e-5 to 1e-4 showed "10^-4" at 1e-4 and again at 1.2e-4).
        const bool decades = m_lr.last() / m_lr.first() >= 30;
        if (decades) {
            xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog));
        } else { // 1, 1.5, 2, 3, 5 and 7 times a power of ten: evenly spread on the log axis
            auto ticks = QSharedPointer<QCPAxisTickerText>::create();
            const double lo = xAxis->range().lower, hi = xAxis->range().upper;
            for (double p = std::pow(10.0, std::floor(std::log10(lo))); p <= hi; p *= 10)
                for (const double m : {1.0, 1.5, 2.0, 3.0, 5.0, 7.0})
                    if (m * p >= lo && m * p <= hi)
                        ticks->addTick(m * p, QString::number(m * p, 'g', 2));
            xAxis->setTicker(ticks);
        }
        // The loss explodes at the end; scale y to the smoothed curve so the useful part stays readable.
        double lo = sy.first(), hi = sy.first();
        for (double v : sy) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
        hi = std::min(hi, sy.first() * 1.5 + 0.05); // fastai-style: above half again the start is divergence
        for (double v : fy) // the raw loss dips below the smoothed curve: keep it in view up to the divergence
            if (v <= hi)
                lo = std::min(lo, v);
        const double pad = (hi - lo) * 0.08 + 1e-6;
        yAxis->setRange(lo - pad, hi + pad);
    }
    requestReplot();
}

void LrFinderPlot::placeMarker(QCPItemStraightLine *line, QCPItemText *label, double lr, const QString &text)
{
    line->point1->setCoords(lr, 0);
    line->point2->setCoords(lr, 1);
    line->setVisible(true);
    label->position->setCoords(lr * 1.08, label == m_suggestLabel ? 0.04 : 0.14);
    label->setText(text);
    label->setVisible(true);
}

void LrFinderPlot::setSuggestion(std::optional<double> lr)
{
    m_suggestion = lr;
    if (lr) {
        placeMarker(m_suggestLine, m_suggestLabel, *lr, tr("suggested %1").arg(QString::number(*lr, 'g', 3)));
    } else {
        m_suggestLine->setVisible(false);
        m_suggestLabel->setVisible(false);
    }
    requestReplot();
}

void LrFinderPlot::pickRate(double lr)
{
    if (m_lr.isEmpty() || !(lr > 0))
        return;
    qsizetype best = 0;
    for (qsizetype i = 1; i < m_lr.size(); ++i)
        if (std::fabs(std::log10(m_lr[i]) - std::log10(lr)) < std::fabs(std::log10(m_lr[best]) - std::log10(lr)))
            best = i;
    m_picked = m_lr[best];
    placeMarker(m_pickLine, m_pickLabel, *m_picked, tr("picked %1").arg(QString::number(*m_picked, 'g', 3)));
    requestReplot();
    Q_EMIT ratePicked(*m_picked);
}

void LrFinderPlot::mousePressEvent(QMouseEvent *event)
{
    PlotWidget::mousePressEvent(event);
    if (event->button() == Qt::LeftButton && axisRect()->rect().contains(event->pos()))
        pickRate(xAxis->pixelToCoord(event->pos().x()));
}

} // namespace labbook
