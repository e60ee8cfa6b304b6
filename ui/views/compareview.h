#pragma once
// Two or more runs side by side: the config keys that differ (identical ones folded away), their curves
// overlaid one colour per run, a metrics table with the best value per row highlighted, and their latest
// validation predictions joined by paper id (which titles one run gets right and the other wrong).
#include <vector>

#include <QStringList>
#include <QWidget>

#include "store/store.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QTableView;
class QSplitter;
class QTabWidget;

namespace labbook {

class CompareMetricsModel;
class ComparePredictionsModel;
class ConfigDiffModel;
class CurvesPage;
class StoreService;

class CompareView : public QWidget {
    Q_OBJECT
public:
    explicit CompareView(StoreService *store, QWidget *parent = nullptr);

    // `folded` says which runs folded rows of the run list stood for ("top20-seeds: its 3 runs, one per seed"),
    // for the header: the list showed one row where several runs are compared, or one trial of a sweep.
    void setRuns(const std::vector<qint64> &ids, const QStringList &folded = {});
    std::vector<qint64> runIds() const;
    QStringList folded() const { return m_folded; }
    QLabel *title() const { return m_title; }
    ConfigDiffModel *configModel() const { return m_config; }
    CompareMetricsModel *metricsModel() const { return m_metrics; }
    ComparePredictionsModel *predictionsModel() const { return m_predictions; }
    CurvesPage *curves() const { return m_curves; }
    QTabWidget *tabs() const { return m_tabs; }
    void setOutcome(int index);

Q_SIGNALS:
    void loaded();

private:
    // The runs and their latest validation predictions, read off the GUI thread.
    struct Loaded {
        std::vector<lbk::RunDetail> runs;
        std::vector<std::vector<lbk::PredictionRow>> predictions;
    };
    void showRuns(Loaded read);
    void showTitles(const QStringList &names);
    void showConfigInfo(const QString &labelsDiffer);
    void showPredictions(const QStringList &names, std::vector<std::vector<lbk::PredictionRow>> predictions,
                         const QString &labelsDiffer);
    void joinPair(); // runs of several labellings: A and B joined alone, when they share one
    QWidget *buildSummaryTab();
    QWidget *buildPredictionsTab();
    void fitSummary();

    StoreService *m_store;
    std::vector<lbk::RunDetail> m_runs;
    ConfigDiffModel *m_config = nullptr;
    CompareMetricsModel *m_metrics = nullptr;
    ComparePredictionsModel *m_predictions = nullptr;
    CurvesPage *m_curves = nullptr;
    QTabWidget *m_tabs = nullptr;
    QSplitter *m_summary = nullptr; // the config diff above the metrics
    QLabel *m_title = nullptr, *m_configInfo = nullptr, *m_predInfo = nullptr;
    QLabel *m_metricsTitle = nullptr; // says whether each row's best is highlighted
    QStringList m_folded;
    QString m_predNote; // why the Predictions tab joins only A and B, or nothing; empty when it joins every run
    // Runs of several labellings: every run's predictions and names, kept for joinPair(), and the pair joined.
    std::vector<std::vector<lbk::PredictionRow>> m_pairSource;
    QStringList m_pairNames;
    std::pair<int, int> m_joinedPair{-1, -1};
    QCheckBox *m_showIdentical = nullptr;
    QComboBox *m_first = nullptr, *m_second = nullptr, *m_outcome = nullptr;
    QLineEdit *m_text = nullptr;
    int m_generation = 0;
};

} // namespace labbook
