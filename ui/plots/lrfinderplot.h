#pragma once
// The LR range test: raw and smoothed loss (lbk::lrFinderCurve, the curve the suggestion reads) against the
// learning rate on a log axis, the suggestion marked, and a click on the curve picking another rate (nearest point
// of the smoothed curve).
#include <optional>
#include <vector>

#include "plots/plotwidget.h"
#include "store/store.h"

namespace labbook {

class LrFinderPlot : public PlotWidget {
    Q_OBJECT
public:
    explicit LrFinderPlot(QWidget *parent = nullptr);

    void setPoints(const std::vector<lbk::LrPoint> &points);
    void setSuggestion(std::optional<double> lr);
    std::optional<double> suggestion() const { return m_suggestion; }
    std::optional<double> pickedRate() const { return m_picked; }
    // Marks the point nearest to lr (in log space) as picked and emits ratePicked.
    void pickRate(double lr);
    const QVector<double> &rates() const { return m_lr; }
    const QVector<double> &losses() const { return m_loss; }

Q_SIGNALS:
    void ratePicked(double lr);

protected:
    void mousePressEvent(QMouseEvent *event) override;
    void applyPalette() override;

private:
    void placeMarker(QCPItemStraightLine *line, QCPItemText *label, double lr, const QString &text);
    QVector<double> m_lr, m_loss, m_smoothed;
    std::optional<double> m_suggestion, m_picked;
    QCPGraph *m_rawGraph = nullptr, *m_smoothGraph = nullptr;
    QCPItemStraightLine *m_suggestLine = nullptr, *m_pickLine = nullptr;
    QCPItemText *m_suggestLabel = nullptr, *m_pickLabel = nullptr;
};

} // namespace labbook
