#include "plotwidget.h"

#include <algorithm>
#include <cmath>

#include <QApplication>
#include <QContextMenuEvent>
#include <QLineF>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QSvgGenerator>

#include "filedialogs.h"

namespace labbook {

PlotWidget::PlotWidget(QWidget *parent)
    : QCustomPlot(parent)
{
    setMinimumSize(200, 150);
    setAntialiasedElements(QCP::aeNone);
    setAntialiasedElement(QCP::aePlottables, true);
    setNoAntialiasingOnDrag(true);
    setPlottingHint(QCP::phCacheLabels, true);
    m_replotTimer.setSingleShot(true);
    m_replotTimer.setInterval(30);
    connect(&m_replotTimer, &QTimer::timeout, this, [this] {
        placeLegend();
        replot(QCustomPlot::rpQueuedRefresh); // lays the axis rect out: on first show, or at a new size, it moved
        if (placeLegend())                    // under the lines the legend was placed against
            replot(QCustomPlot::rpQueuedRefresh);
    });
    m_empty = new QCPItemText(this);
    m_empty->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_empty->position->setCoords(0.5, 0.5);
    m_empty->setPositionAlignment(Qt::AlignCenter);
    m_empty->setClipToAxisRect(false);
    m_empty->setVisible(false);
    applyPalette();
}

QColor PlotWidget::textColor() const
{
    return palette().color(QPalette::Text);
}

QColor PlotWidget::gridColor() const
{
    QColor c = palette().color(QPalette::Text);
    c.setAlpha(40);
    return c;
}

void PlotWidget::setEmptyMessage(const QString &message)
{
    m_empty->setText(message);
    m_empty->setVisible(!message.isEmpty());
    // Axes with nothing on them mean nothing: hidden with their grids while the message stands.
    if (!message.isEmpty() && m_hiddenAxes.isEmpty()) {
        for (QCPAxis *a : {xAxis, yAxis})
            if (a && a->visible()) {
                a->setVisible(false);
                a->grid()->setVisible(false);
                m_hiddenAxes << a;
            }
    } else if (message.isEmpty()) {
        for (QCPAxis *a : m_hiddenAxes) {
            a->setVisible(true);
            a->grid()->setVisible(true);
        }
        m_hiddenAxes.clear();
    }
    requestReplot();
}

void PlotWidget::styleAxisRect(QCPAxisRect *rect)
{
    const QColor text = textColor();
    QColor axis = text;
    axis.setAlpha(160);
    for (QCPAxis *a : rect->axes()) {
        a->setBasePen(QPen(axis));
        a->setTickPen(QPen(axis));
        a->setSubTickPen(QPen(axis));
        a->setTickLabelColor(text);
        a->setLabelColor(text);
        a->grid()->setPen(QPen(gridColor(), 1, Qt::DotLine));
        a->grid()->setSubGridPen(Qt::NoPen);
        a->grid()->setZeroLinePen(Qt::NoPen);
    }
    rect->setBackground(Qt::NoBrush);
}

void PlotWidget::applyPalette()
{
    setBackground(palette().brush(QPalette::Base));
    for (QCPAxisRect *r : axisRects())
        styleAxisRect(r);
    if (legend) {
        QColor bg = palette().color(QPalette::Base);
        bg.setAlpha(210);
        legend->setBrush(bg);
        legend->setTextColor(textColor());
        legend->setBorderPen(QPen(gridColor()));
    }
    m_empty->setColor(palette().color(QPalette::PlaceholderText));
    Q_EMIT paletteApplied();
    requestReplot();
}

void PlotWidget::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange)
        applyPalette();
    QCustomPlot::changeEvent(event);
}

namespace {

// Whether the line from a to b crosses r or ends inside it.
bool segmentMeetsRect(const QPointF &a, const QPointF &b, const QRectF &r)
{
    if (r.contains(a) || r.contains(b))
        return true;
    const QLineF segment(a, b);
    const QLineF edges[] = {{r.topLeft(), r.topRight()}, {r.topRight(), r.bottomRight()},
                            {r.bottomRight(), r.bottomLeft()}, {r.bottomLeft(), r.topLeft()}};
    return std::any_of(std::begin(edges), std::end(edges), [&](const QLineF &edge) {
        return segment.intersects(edge, nullptr) == QLineF::BoundedIntersection;
    });
}

} // namespace

// The corner whose legend box covers the fewest pieces of the visible graphs' lines (segments, not only points: a
// curve of a few evaluations is mostly line between them). Whether the legend moved.
bool PlotWidget::placeLegend()
{
    if (!m_legendAvoidsData || !legend || !legend->visible() || graphCount() == 0)
        return false;
    const QRect area = axisRect()->rect();
    const QSize size = legend->minimumOuterSizeHint() + QSize(12, 12); // the inset's margin around it
    // Top right first: where a legend is looked for; the others in reading order.
    const Qt::Alignment corners[] = {Qt::AlignTop | Qt::AlignRight, Qt::AlignBottom | Qt::AlignRight,
                                     Qt::AlignTop | Qt::AlignLeft, Qt::AlignBottom | Qt::AlignLeft};
    QRectF boxes[4];
    for (int c = 0; c < 4; ++c)
        boxes[c] = QRectF(corners[c] & Qt::AlignLeft ? area.left() : area.right() - size.width(),
                          corners[c] & Qt::AlignTop ? area.top() : area.bottom() - size.height(), size.width(),
                          size.height());
    int counts[4] = {0, 0, 0, 0};
    for (int g = 0; g < graphCount(); ++g) {
        const QCPGraph *graph = this->graph(g);
        if (!graph->visible() || graph->dataCount() == 0)
            continue;
        // Every replot runs this on the GUI thread: a long raw series is sampled, at most ~2,000 points a graph,
        // always with its last point.
        const int n = graph->dataCount(), stride = std::max(1, n / 2000);
        const auto pixel = [&](int i) {
            const auto it = graph->data()->at(i);
            return QPointF(graph->keyAxis()->coordToPixel(it->key), graph->valueAxis()->coordToPixel(it->value));
        };
        QPointF previous = pixel(0);
        for (int i = 0; i < n; i = (i + stride < n || i == n - 1) ? i + stride : n - 1) {
            const QPointF p = pixel(i);
            if (std::isfinite(p.y()) && std::isfinite(previous.y())) // a NaN break in a curve draws no line
                for (int c = 0; c < 4; ++c)
                    counts[c] += segmentMeetsRect(previous, p, boxes[c]) ? 1 : 0;
            previous = p;
        }
    }
    const int best = int(std::min_element(counts, counts + 4) - counts);
    if (axisRect()->insetLayout()->insetAlignment(0) == corners[best])
        return false;
    axisRect()->insetLayout()->setInsetAlignment(0, corners[best]);
    return true;
}

void PlotWidget::resizeEvent(QResizeEvent *event)
{
    QCustomPlot::resizeEvent(event); // replots at once, the legend where it was
    if (m_legendAvoidsData)
        requestReplot(); // where it covers the fewest lines at this size
}

void PlotWidget::requestReplot()
{
    if (!m_replotTimer.isActive())
        m_replotTimer.start();
}

bool PlotWidget::exportTo(const QString &path, QString *error)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    const int w = qMax(width(), 640), h = qMax(height(), 400);
    bool ok = false;
    if (suffix == QLatin1String("png")) {
        ok = savePng(path, w, h, 2.0);
    } else if (suffix == QLatin1String("pdf")) {
        ok = savePdf(path, w, h, QCP::epNoCosmetic);
    } else if (suffix == QLatin1String("svg")) {
        QSvgGenerator generator;
        generator.setFileName(path);
        generator.setSize(QSize(w, h));
        generator.setViewBox(QRect(0, 0, w, h));
        generator.setTitle(QStringLiteral("Labbook plot"));
        QCPPainter painter;
        if (painter.begin(&generator)) {
            toPainter(&painter, w, h);
            painter.end();
            ok = QFileInfo(path).size() > 0;
        }
    } else {
        if (error)
            *error = tr("%1: unknown image type; use .png, .pdf or .svg").arg(path);
        return false;
    }
    if (!ok && error)
        *error = tr("%1: could not be written (check the folder exists and is writable)").arg(path);
    return ok;
}

void PlotWidget::exportInteractively()
{
    QString selected;
    const QString path = filedialogs::saveFile(this, tr("Export plot"), QStringLiteral("plot.png"),
                                                   tr("PNG image (*.png);;PDF document (*.pdf);;SVG image (*.svg)"),
                                                   &selected);
    if (path.isEmpty())
        return;
    QString file = path;
    if (QFileInfo(file).suffix().isEmpty())
        file += selected.contains(QLatin1String("pdf")) ? QStringLiteral(".pdf")
                : selected.contains(QLatin1String("svg")) ? QStringLiteral(".svg")
                                                           : QStringLiteral(".png");
    QString error;
    if (!exportTo(file, &error))
        QMessageBox::warning(this, tr("Export plot"), error);
}

void PlotWidget::resetView()
{
    rescaleAxes();
    requestReplot();
}

void PlotWidget::contextMenuEvent(QContextMenuEvent *event)
{
    QMenu menu(this);
    menu.addAction(tr("Export as PNG, PDF or SVG..."), this, &PlotWidget::exportInteractively);
    menu.addAction(tr("Reset zoom"), this, &PlotWidget::resetView);
    menu.exec(event->globalPos());
}

} // namespace labbook
