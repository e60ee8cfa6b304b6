#pragma once
// A sweep at a glance: choose a sweep; its trials in parallel coordinates (brush an axis to filter the table) or
// as the metric against each key, the
// trials table best first (double-click opens a trial's run), how much each swept key goes with the metric, and
// "Open best as experiment", which puts the best trial's experiment in the form. Live while the sweep runs.
#include <set>

#include <QWidget>

#include <nlohmann/json.hpp>

#include "sweep/overview.h"

class QComboBox;
class QLabel;
class QPushButton;
class QSortFilterProxyModel;
class QTabWidget;
class QTableView;

namespace labbook {

class GroupCurvesPlot;
class ParallelPlot;
class SweepScatter;
class StoreService;
class TrialsModel;

class SweepPage : public QWidget {
    Q_OBJECT
public:
    explicit SweepPage(StoreService *store, QWidget *parent = nullptr);

    // Reloads the list of sweeps and the one shown (the newest when none was).
    void reload();
    void showSweep(qint64 id);
    qint64 sweepId() const { return m_sweepId; }
    TrialsModel *trials() const { return m_model; }
    QSortFilterProxyModel *visibleTrials() const { return m_proxy; }
    ParallelPlot *plot() const { return m_plot; }
    SweepScatter *scatter() const { return m_scatter; }
    QTabWidget *views() const { return m_views; }
    GroupCurvesPlot *groupCurves() const { return m_groupCurves; }
    QComboBox *curveMetric() const { return m_curveMetric; }
    QComboBox *chooser() const { return m_chooser; }
    QLabel *importance() const { return m_importance; }

Q_SIGNALS:
    void loaded();
    void openRunRequested(qint64 runId);
    void openExperimentRequested(const nlohmann::json &experiment);

private:
    QTabWidget *buildViews();
    QWidget *buildTrialsPane();
    void present(const lbk::SweepOverview &overview, const std::vector<lbk::KeyImportance> &importance);
    void openBest();
    // The groups' curves of the metric the curve combo names (the store lane reads every run's series).
    void loadGroupCurves();

    StoreService *m_store;
    qint64 m_sweepId = 0;
    bool m_live = false; // the shown sweep is running: reload as its runs change
    QComboBox *m_chooser = nullptr;
    QLabel *m_status = nullptr, *m_importance = nullptr;
    QPushButton *m_openBest = nullptr;
    ParallelPlot *m_plot = nullptr;
    SweepScatter *m_scatter = nullptr;
    GroupCurvesPlot *m_groupCurves = nullptr;
    QComboBox *m_curveMetric = nullptr;
    QWidget *m_groupTab = nullptr;
    QTabWidget *m_views = nullptr;
    TrialsModel *m_model = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    QTableView *m_table = nullptr;
    int m_generation = 0;
};

} // namespace labbook
