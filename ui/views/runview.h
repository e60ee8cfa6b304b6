#pragma once
// Everything about one run, as tabs: overview and config, curves, LR finder, histograms, predictions,
// per-class metrics, log. Follows the run live while it is active.
#include <set>

#include <QWidget>

#include "store/store.h"
#include "usecases/lineage.h"

class QLabel;
class QPlainTextEdit;
class QTabWidget;

namespace labbook {

class ClassesPage;
class CurvesPage;
class HistogramsPage;
class LogPage;
class LrFinderPage;
class PredictionsPage;
class StoreService;

class RunView : public QWidget {
    Q_OBJECT
public:
    enum Tab { Overview, Curves, LrFinder, Histograms, Predictions, Classes, Log };
    explicit RunView(StoreService *store, QWidget *parent = nullptr);

    void showRun(qint64 runId);
    // Shows no run, saying why: after the store changes, a run id of the old one means nothing.
    void clear(const QString &why);
    qint64 runId() const { return m_run.id; }
    const lbk::RunDetail &run() const { return m_run; }
    void runsUpdated(const std::set<qint64> &ids);
    QTabWidget *tabs() const { return m_tabs; }
    QLabel *header() const { return m_header; }
    CurvesPage *curves() const { return m_curves; }
    LrFinderPage *lrFinder() const { return m_lr; }
    HistogramsPage *histograms() const { return m_histograms; }
    PredictionsPage *predictions() const { return m_predictions; }
    ClassesPage *classes() const { return m_classes; }
    LogPage *log() const { return m_log; }

Q_SIGNALS:
    void runLoaded(qint64 runId);
    // A link on the overview names another run (the pre-training run an encoder came from, or a fine-tuned one).
    void openRunRequested(qint64 runId);

protected:
    void showEvent(QShowEvent *event) override;

private:
    void loadRun(bool firstTime);
    void updateHeader();
    void refreshShownPage();
    static QString lineageRows(const std::optional<lbk::usecase::EncoderSource> &source,
                               const std::vector<lbk::RunSummary> &fineTuned);

    StoreService *m_store;
    lbk::RunDetail m_run;
    QString m_lineage; // overview rows linking the runs this one came from or gave rise to
    QLabel *m_header = nullptr;
    QLabel *m_error = nullptr;
    QTabWidget *m_tabs = nullptr;
    QPlainTextEdit *m_config = nullptr;
    QLabel *m_overview = nullptr;
    CurvesPage *m_curves = nullptr;
    LrFinderPage *m_lr = nullptr;
    HistogramsPage *m_histograms = nullptr;
    PredictionsPage *m_predictions = nullptr;
    ClassesPage *m_classes = nullptr;
    LogPage *m_log = nullptr;
    std::set<QWidget *> m_stale; // pages behind a live run's latest records, reloaded when next shown
    qint64 m_linkedRun = 0; // the run a link of the Overview asked for: it opens on its Overview too
    int m_generation = 0;
};

} // namespace labbook
