#pragma once
// A sweep's metric against each swept key, one small plot per key side by side (log axes for log-uniform keys,
// one tick per category otherwise): finished trials as filled dots, pruned ones hollow, the best ringed.
#include <optional>

#include "plots/plotwidget.h"
#include "sweep/overview.h"

namespace labbook {

class SweepScatter : public PlotWidget {
    Q_OBJECT
public:
    explicit SweepScatter(QWidget *parent = nullptr);
    void setOverview(const lbk::SweepOverview &overview);
    int panelCount() const { return m_panels; }

protected:
    void applyPalette() override;

private:
    void removePanels();
    // One panel: the x axis of a swept key (categories, log or linear), then its trials as dots.
    void addPanel(const lbk::SweepOverview &o, const lbk::SweepAxis &axis);
    static void setKeyAxis(QCPAxis *x, const lbk::SweepAxis &axis);
    // The trial's value of the key on the panel's x axis; nothing for a trial without a number or category there.
    static std::optional<double> keyPosition(const lbk::SweepAxis &axis, const nlohmann::json &value);
    int m_panels = 0;
};

} // namespace labbook
