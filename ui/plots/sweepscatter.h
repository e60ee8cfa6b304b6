#pragma once
// A sweep's metric against each swept key, one small plot per key side by side (log axes for log-uniform keys,
// one tick per category otherwise): finished trials as filled dots, pruned ones hollow, the best ringed.
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
    int m_panels = 0;
};

} // namespace labbook
