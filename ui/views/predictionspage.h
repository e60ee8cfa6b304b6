#pragma once
// The misclassified titles: the per-example predictions of one evaluation (choose the split and step) in a
// table that filters in memory (misclassified only, true or predicted class, confidence range, text) and sorts
// by confidence, with the confusion matrix beside it: a click on a cell filters the table to that pair.
#include <QWidget>

#include "store/store.h"

class QCheckBox;
class QHBoxLayout;
class QPushButton;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSplitter;
class QStyledItemDelegate;
class QTableView;
class QTextBrowser;

namespace labbook {

class ConfusionModel;
class PaperAbstracts;
class PredictionsModel;
class StoreService;

class PredictionsPage : public QWidget {
    Q_OBJECT
public:
    explicit PredictionsPage(StoreService *store, QWidget *parent = nullptr);

    void setRun(const lbk::RunSummary &run);
    void refresh();
    PredictionsModel *model() const { return m_model; }
    ConfusionModel *confusion() const { return m_confusion; }
    QTableView *table() const { return m_table; }
    QTableView *confusionView() const { return m_confusionView; }
    QCheckBox *misclassifiedBox() const { return m_misclassified; }
    bool isLoading() const { return m_loading; }
    bool exportCsv(const QString &path, QString *error = nullptr) const;
    void copySelection() const;
    // Filters the table to papers of trueLabel predicted as predictedLabel (a confusion cell).
    void filterToCell(const QString &trueLabel, const QString &predictedLabel);
    // One click to the model's worst mistakes: misclassified only, most confident first, the first selected.
    void showConfidentMistakes();
    QTextBrowser *detail() const { return m_detail; }
    PaperAbstracts *abstracts() const { return m_abstracts; }

private:
    QHBoxLayout *buildSelectionRow();
    QHBoxLayout *buildFilterRow();
    QHBoxLayout *buildActionRow();
    QTableView *buildTable();
    QSplitter *buildSidePanel();
    void connectControls();
    void clearFilters();
    void setWording(bool maskedTokens);
    void loadSteps();
    void loadStep();
    void applyQuery();
    void showDetail(); // the current row in the detail pane
    void fitLabelColumns();
    void fitSidePanel(); // once per run, when the page is shown

protected:
    void showEvent(QShowEvent *event) override;

private:

    StoreService *m_store;
    lbk::RunSummary m_run;
    PredictionsModel *m_model = nullptr;
    ConfusionModel *m_confusion = nullptr;
    QComboBox *m_split = nullptr, *m_step = nullptr, *m_trueLabel = nullptr, *m_predLabel = nullptr;
    QCheckBox *m_misclassified = nullptr;
    QPushButton *m_mistakes = nullptr, *m_reset = nullptr, *m_copy = nullptr, *m_csv = nullptr;
    QLabel *m_trueCaption = nullptr;
    QDoubleSpinBox *m_minConf = nullptr, *m_maxConf = nullptr;
    QLineEdit *m_text = nullptr;
    QLabel *m_count = nullptr;
    QTableView *m_table = nullptr, *m_confusionView = nullptr;
    QStyledItemDelegate *m_contextDelegate = nullptr;
    QTextBrowser *m_detail = nullptr;
    PaperAbstracts *m_abstracts = nullptr;
    QSplitter *m_split2 = nullptr;
    QSplitter *m_side = nullptr; // the confusion matrix above the selected row's details
    QLabel *m_confusionTitle = nullptr;
    QWidget *m_confusionPanel = nullptr; // hidden where the evaluation has no confusion matrix (MLM, multilabel)
    bool m_loading = false;
    bool m_sidePanelFitted = false;
    int m_generation = 0;
    bool m_updatingCombos = false;
};

} // namespace labbook
