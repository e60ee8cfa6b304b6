#pragma once
// QCustomPlot with what every Labbook plot needs: colours from the window's palette (light or dark, updated
// when the system palette changes), export to PNG, PDF and SVG (context menu or exportTo()), and a throttled
// replot so a stream of live updates costs at most one repaint per frame interval.
#include <QTimer>

#include "plots/qcp.h"

namespace labbook {

class PlotWidget : public QCustomPlot {
    Q_OBJECT
public:
    explicit PlotWidget(QWidget *parent = nullptr);

    // Writes the plot as PNG, PDF or SVG, by the file's suffix; false (and *error) when it cannot.
    bool exportTo(const QString &path, QString *error = nullptr);
    // Asks for an export file name, then exports.
    void exportInteractively();
    // Replots at most once per ~30 ms, with rpQueuedRefresh.
    void requestReplot();
    // Styles an axis rect (and its axes) with the current palette; plots with several rects call it for each.
    void styleAxisRect(QCPAxisRect *rect);
    QColor textColor() const;
    QColor gridColor() const;
    // Shown in the middle when the plot has nothing to show ("No evaluations yet").
    void setEmptyMessage(const QString &message);
    // Shows all the data again (the context menu's Reset zoom).
    virtual void resetView();
    // Before each replot, moves the legend to the corner of the axis rect that covers the fewest data points.
    void setLegendAvoidsData(bool on) { m_legendAvoidsData = on; }

Q_SIGNALS:
    void paletteApplied();

protected:
    void changeEvent(QEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void contextMenuEvent(QContextMenuEvent *event) override;
    virtual void applyPalette();

private:
    bool placeLegend();

    QTimer m_replotTimer;
    bool m_legendAvoidsData = false;
    QCPItemText *m_empty = nullptr;
    QList<QCPAxis *> m_hiddenAxes; // hidden by setEmptyMessage, shown again when it is cleared
};

} // namespace labbook
