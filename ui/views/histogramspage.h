#pragma once
// Prediction histograms over training: one heat map per histogram name (evaluation step x probability bin,
// e.g. P(true class) and P(predicted class), or P(positive) for truly positive and truly negative papers), and
// a slider that shows one evaluation's histograms as bars. A script's own histograms (run.histogram(): gradient
// norms over [0, 3] on the train split) show the same way, over their own range and split.
#include <map>
#include <vector>

#include <QWidget>

#include "store/store.h"

class QComboBox;
class QLabel;
class QSlider;
class QHBoxLayout;

namespace labbook {

class HeatmapPlot;
class PlotWidget;
class StoreService;

class HistogramsPage : public QWidget {
    Q_OBJECT
public:
    explicit HistogramsPage(StoreService *store, QWidget *parent = nullptr);

    void setRun(const lbk::RunSummary &run);
    void refresh();
    int evaluationCount() const { return int(m_steps.size()); }
    QStringList histogramNames() const;
    const std::vector<HeatmapPlot *> &heatmaps() const { return m_heatmaps; }
    PlotWidget *barsPlot() const { return m_bars; }
    void setEvaluation(int index);
    QStringList splits() const; // what the Split list offers

private:
    struct Loaded {
        std::vector<std::string> splits;
        std::string split; // the one whose records these are
        std::vector<lbk::HistogramRecord> records;
    };
    void showSplits(const std::vector<std::string> &splits, const std::string &shown);
    void rebuild();
    void showEvaluation(int index);

    StoreService *m_store;
    lbk::RunSummary m_run;
    std::vector<lbk::HistogramRecord> m_records;
    std::vector<qint64> m_steps;
    std::vector<std::string> m_names;
    QComboBox *m_split = nullptr;
    QSlider *m_slider = nullptr;
    QLabel *m_stepLabel = nullptr;
    QHBoxLayout *m_heatmapRow = nullptr;
    std::vector<HeatmapPlot *> m_heatmaps;
    PlotWidget *m_bars = nullptr;
    int m_generation = 0;
};

// A readable title for a histogram name of docs/PROTOCOL.md.
QString histogramTitle(const QString &name);

} // namespace labbook
