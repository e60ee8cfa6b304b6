#pragma once
// One prediction histogram over training as a heat map: x the evaluation (labelled by its step), y the
// probability bin, colour the share of examples in that bin at that evaluation. A marker shows the step the
// histogram slider has chosen.
#include <vector>

#include "plots/plotwidget.h"

namespace labbook {

class HeatmapPlot : public PlotWidget {
    Q_OBJECT
public:
    explicit HeatmapPlot(QWidget *parent = nullptr);

    // counts[e] are the bin counts of evaluation e (at steps[e]); each column is normalised to shares.
    void setHistograms(const QString &title, const std::vector<qint64> &steps,
                       const std::vector<std::vector<qint64>> &counts, double lo, double hi);
    void setMarker(int evaluation);
    // What the bins measure and what their shares are of: "probability", "share of papers" for Labbook's own.
    void setLabels(const QString &value, const QString &share);
    // Where the colour scale tops: the 98th percentile of the shares drawn (a cell above it takes the top colour);
    // plots shown side by side share one (setShareTop).
    double maxShare() const;
    void setShareTop(double top);
    int evaluationCount() const { return int(m_steps.size()); }
    // The share drawn in cell (evaluation, bin), for tests.
    double cellShare(int evaluation, int bin) const;

protected:
    void applyPalette() override;

private:
    void updateStepTicks();

    std::vector<qint64> m_steps;
    int m_tickEvery = 0, m_tickedEvaluations = 0; // the step labels drawn: every k-th of n evaluations
    QCPColorMap *m_map = nullptr;
    QCPColorScale *m_scale = nullptr;
    QCPItemRect *m_marker = nullptr;
    QCPTextElement *m_title = nullptr;
};

} // namespace labbook
