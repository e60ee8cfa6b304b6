#pragma once
// Curves of one or several runs: pick metrics, x axis (step or wall time), smoothing, log axes. Series are
// loaded once per (run, metric) on the store thread and extended with only the new points while a run is live.
#include <map>
#include <set>
#include <vector>

#include <QMap>
#include <QWidget>

#include "store/store.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QListWidget;
class QSlider;

namespace labbook {

class CurvesPlot;
class StoreService;

class CurvesPage : public QWidget {
    Q_OBJECT
public:
    explicit CurvesPage(StoreService *store, QWidget *parent = nullptr);

    // Several runs (Compare): `compared`, the metric they are selected by, is ticked when nothing was chosen yet.
    void setRuns(const std::vector<lbk::RunSummary> &runs, const QString &compared = QStringLiteral("val/macro_f1"));
    // Reloads keys and appends new points of live runs.
    void refresh(const std::set<qint64> &changedRuns);
    void setSelectedKeys(const QStringList &keys);
    QStringList selectedKeys() const;
    QStringList availableKeys() const;
    CurvesPlot *plot() const { return m_plot; }
    bool isLoading() const { return m_pending > 0; }

    enum XAxis { Steps, WallTime, Epochs }; // the x axis box's entries, in order

private:
    void loadKeys();
    void loadSeries();
    void rebuildPlot();
    int colorIndex(const QString &key);
    double timeOrigin(const lbk::RunSummary &run) const;
    // Where each point of a run goes on the x axis: its step, its seconds since the run started, or its epoch
    // (read off the run's own "epoch" series: runs of other batch sizes or data line up by passes over the data).
    QVector<double> xValues(const lbk::RunSummary &run, const std::vector<lbk::MetricPoint> &points) const;

    StoreService *m_store;
    std::vector<lbk::RunSummary> m_runs;
    std::map<std::pair<qint64, std::string>, std::vector<lbk::MetricPoint>> m_data;
    QListWidget *m_keys = nullptr;
    QComboBox *m_xAxis = nullptr;
    QSlider *m_smoothing = nullptr;
    QLabel *m_smoothingLabel = nullptr;
    QCheckBox *m_logX = nullptr, *m_logY = nullptr;
    CurvesPlot *m_plot = nullptr;
    QStringList m_wanted; // keys to tick once they exist
    bool m_newComparison = false; // other runs compared: their selection metric ticked, not the last pair's keys
    QMap<QString, int> m_colorOf; // the colour of each key drawn so far (colorIndex)
    int m_pending = 0;
    int m_generation = 0;
};

} // namespace labbook
