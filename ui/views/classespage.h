#pragma once
// Per-class precision, recall, F1 and support of one evaluation, the headline metrics, and for binary tasks
// the ROC and precision-recall curves.
#include <QWidget>

#include "store/store.h"

class QComboBox;
class QLabel;
class QTableView;

namespace labbook {

class PerClassModel;
class PlotWidget;
class StoreService;

class ClassesPage : public QWidget {
    Q_OBJECT
public:
    explicit ClassesPage(StoreService *store, QWidget *parent = nullptr);

    void setRun(const lbk::RunSummary &run);
    void refresh();
    PerClassModel *model() const { return m_model; }
    PlotWidget *rocPlot() const { return m_roc; }
    PlotWidget *prPlot() const { return m_pr; }
    QString headline() const;
    QString cautions() const; // empty when the evaluation carries none

private:
    void showEvaluation();
    void showCautions(const nlohmann::json &cautions);

    StoreService *m_store;
    lbk::RunSummary m_run;
    std::vector<lbk::EvaluationRecord> m_evaluations;
    PerClassModel *m_model = nullptr;
    QComboBox *m_evaluation = nullptr;
    QLabel *m_headline = nullptr;
    QLabel *m_cautions = nullptr; // why the figures may mislead (no paper predicted positive, a training file)
    QTableView *m_table = nullptr;
    QWidget *m_curves = nullptr;
    PlotWidget *m_roc = nullptr, *m_pr = nullptr;
    int m_generation = 0;
};

} // namespace labbook
