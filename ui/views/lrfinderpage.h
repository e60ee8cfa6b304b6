#pragma once
// The LR range test of a run: the curve, the suggestion, a click to pick another rate, and "use this rate",
// which writes the picked (or suggested) rate into the experiment form.
#include <QWidget>

#include "store/store.h"

class QLabel;
class QPushButton;

namespace labbook {

class LrFinderPlot;
class StoreService;

class LrFinderPage : public QWidget {
    Q_OBJECT
public:
    explicit LrFinderPage(StoreService *store, QWidget *parent = nullptr);

    void setRun(const lbk::RunSummary &run);
    void refresh();
    LrFinderPlot *plot() const { return m_plot; }
    int pointCount() const { return m_points; }
    // The rate "use this rate" would write: the picked one, else the suggestion.
    std::optional<double> chosenRate() const;

Q_SIGNALS:
    void useRate(double lr, const nlohmann::json &config);
    void sweepAroundRate(double lr, const nlohmann::json &config);

private:
    void updateLabels();
    StoreService *m_store;
    lbk::RunSummary m_run;
    nlohmann::json m_config;
    LrFinderPlot *m_plot = nullptr;
    QLabel *m_info = nullptr;
    QPushButton *m_use = nullptr, *m_sweep = nullptr;
    int m_points = 0;
    int m_generation = 0;
};

} // namespace labbook
