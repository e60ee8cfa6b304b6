#include "predictionspage.h"

#include <algorithm>

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include "experiment/experiment.h"
#include "format.h"
#include "models/confusionmodel.h"
#include "models/predictionsmodel.h"
#include "storeservice.h"

namespace labbook {

PredictionsPage::PredictionsPage(StoreService *store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
{
    m_model = new PredictionsModel(this);
    m_confusion = new ConfusionModel(this);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);

    auto *row1 = new QHBoxLayout;
    row1->addWidget(new QLabel(tr("Split:"), this));
    m_split = new QComboBox(this);
    m_split->addItems({QStringLiteral("val"), QStringLiteral("test")});
    row1->addWidget(m_split);
    row1->addWidget(new QLabel(tr("Step:"), this));
    m_step = new QComboBox(this);
    m_step->setObjectName(QStringLiteral("predictionStep"));
    m_step->setMinimumContentsLength(8);
    row1->addWidget(m_step);
    m_misclassified = new QCheckBox(tr("&Misclassified only"), this);
    m_misclassified->setObjectName(QStringLiteral("misclassifiedOnly"));
    row1->addWidget(m_misclassified);
    row1->addWidget(new QLabel(tr("True:"), this));
    m_trueLabel = new QComboBox(this);
    m_trueLabel->setObjectName(QStringLiteral("trueLabelFilter"));
    row1->addWidget(m_trueLabel);
    row1->addWidget(new QLabel(tr("Predicted:"), this));
    m_predLabel = new QComboBox(this);
    m_predLabel->setObjectName(QStringLiteral("predictedLabelFilter"));
    row1->addWidget(m_predLabel);
    row1->addStretch(1);
    layout->addLayout(row1);

    auto *row2 = new QHBoxLayout;
    row2->addWidget(new QLabel(tr("Confidence:"), this));
    m_minConf = new QDoubleSpinBox(this);
    m_maxConf = new QDoubleSpinBox(this);
    for (auto *s : {m_minConf, m_maxConf}) {
        s->setRange(0, 1);
        s->setSingleStep(0.05);
        s->setDecimals(2);
    }
    m_maxConf->setValue(1);
    row2->addWidget(m_minConf);
    row2->addWidget(new QLabel(QStringLiteral("\u2013"), this));
    row2->addWidget(m_maxConf);
    m_text = new QLineEdit(this);
    m_text->setObjectName(QStringLiteral("predictionSearch"));
    m_text->setPlaceholderText(tr("Search titles or paper ids"));
    m_text->setClearButtonEnabled(true);
    row2->addWidget(m_text, 1);
    auto *reset = new QPushButton(tr("Clear filters"), this);
    auto *copy = new QPushButton(tr("Copy"), this);
    auto *csv = new QPushButton(tr("Export CSV..."), this);
    row2->addWidget(reset);
    row2->addWidget(copy);
    row2->addWidget(csv);
    layout->addLayout(row2);

    auto *split = new QSplitter(this);
    m_split2 = split;
    m_table = new QTableView(split);
    m_table->setObjectName(QStringLiteral("predictionsTable"));
    m_table->setModel(m_model);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(PredictionsModel::Confidence, Qt::DescendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    m_table->verticalHeader()->setVisible(false);
    m_table->horizontalHeader()->setSectionResizeMode(PredictionsModel::Title, QHeaderView::Stretch);
    // Fixed widths: sizing columns to contents would measure all 100k rows.
    m_table->horizontalHeader()->setDefaultSectionSize(74);
    m_table->horizontalHeader()->resizeSection(PredictionsModel::Truth, 100);
    m_table->horizontalHeader()->resizeSection(PredictionsModel::Predicted, 100);
    m_table->horizontalHeader()->resizeSection(PredictionsModel::Correct, 60);
    m_table->horizontalHeader()->resizeSection(PredictionsModel::ExampleId, 96);
    auto *copyAction = new QAction(tr("Copy"), m_table);
    copyAction->setShortcut(QKeySequence::Copy);
    copyAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(copyAction, &QAction::triggered, this, &PredictionsPage::copySelection);
    m_table->addAction(copyAction);

    auto *right = new QWidget(split);
    m_confusionPanel = right;
    auto *rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    auto *confTitle = new QLabel(tr("<b>Confusion matrix</b> (rows: true, columns: predicted; click a cell)"), right);
    confTitle->setWordWrap(true);
    rightLayout->addWidget(confTitle);
    m_confusionView = new QTableView(right);
    m_confusionView->setObjectName(QStringLiteral("confusionTable"));
    m_confusionView->setModel(m_confusion);
    m_confusionView->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_confusionView->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_confusionView->setSelectionMode(QAbstractItemView::SingleSelection);
    rightLayout->addWidget(m_confusionView, 1);
    split->addWidget(m_table);
    split->addWidget(right);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    split->setCollapsible(0, false);
    split->setSizes({900, 300});
    layout->addWidget(split, 1);
    m_count = new QLabel(this);
    m_count->setObjectName(QStringLiteral("predictionCount"));
    layout->addWidget(m_count);

    connect(m_split, &QComboBox::currentIndexChanged, this, [this] { loadSteps(); });
    connect(m_step, &QComboBox::currentIndexChanged, this, [this] {
        if (!m_updatingCombos)
            loadStep();
    });
    connect(m_misclassified, &QCheckBox::toggled, this, &PredictionsPage::applyQuery);
    connect(m_trueLabel, &QComboBox::currentIndexChanged, this, &PredictionsPage::applyQuery);
    connect(m_predLabel, &QComboBox::currentIndexChanged, this, &PredictionsPage::applyQuery);
    connect(m_minConf, &QDoubleSpinBox::valueChanged, this, &PredictionsPage::applyQuery);
    connect(m_maxConf, &QDoubleSpinBox::valueChanged, this, &PredictionsPage::applyQuery);
    connect(m_text, &QLineEdit::textChanged, this, &PredictionsPage::applyQuery);
    connect(reset, &QPushButton::clicked, this, [this] {
        m_updatingCombos = true;
        m_misclassified->setChecked(false);
        m_trueLabel->setCurrentIndex(0);
        m_predLabel->setCurrentIndex(0);
        m_minConf->setValue(0);
        m_maxConf->setValue(1);
        m_text->clear();
        m_updatingCombos = false;
        applyQuery();
    });
    connect(copy, &QPushButton::clicked, this, &PredictionsPage::copySelection);
    connect(csv, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export predictions"),
                                                          QStringLiteral("predictions-run%1.csv").arg(m_run.id),
                                                          tr("CSV (*.csv)"));
        QString error;
        if (!path.isEmpty() && !exportCsv(path, &error))
            QMessageBox::warning(this, tr("Export predictions"), error);
    });
    connect(m_confusionView, &QTableView::clicked, this, [this](const QModelIndex &idx) {
        filterToCell(idx.data(ConfusionModel::TrueLabelRole).toString(),
                     idx.data(ConfusionModel::PredictedLabelRole).toString());
    });
}

void PredictionsPage::setRun(const lbk::RunSummary &run)
{
    const bool same = run.id == m_run.id;
    m_run = run;
    const bool tokens = run.task == lbk::toString(lbk::TrainingObjective::Mlm);
    m_model->setMaskedTokens(tokens);
    m_table->horizontalHeader()->resizeSection(PredictionsModel::ExampleId, tokens ? 120 : 96);
    if (!same) {
        m_model->clear();
        m_confusion->setSummary({});
        m_step->clear();
    }
    loadSteps();
}

void PredictionsPage::refresh()
{
    loadSteps();
}

void PredictionsPage::loadSteps()
{
    const qint64 id = m_run.id;
    const std::string split = ss(m_split->currentText());
    const int gen = ++m_generation;
    m_loading = true;
    m_store->request<std::vector<int64_t>>(
        this, [id, split](lbk::Store &s) { return s.predictionSteps(id, split); },
        [this, gen](std::vector<int64_t> steps) {
            if (gen != m_generation)
                return;
            const QString current = m_step->currentText();
            const bool wasLatest = m_step->currentIndex() <= 0;
            QStringList items;
            for (auto it = steps.rbegin(); it != steps.rend(); ++it)
                items << QString::number(*it);
            QStringList before;
            for (int i = 0; i < m_step->count(); ++i)
                before << m_step->itemText(i);
            if (items == before && m_model->totalCount() > 0) {
                m_loading = false;
                return; // nothing new
            }
            m_updatingCombos = true;
            m_step->clear();
            m_step->addItems(items); // newest first
            if (!wasLatest && items.contains(current))
                m_step->setCurrentText(current);
            m_updatingCombos = false;
            loadStep();
        });
}

void PredictionsPage::loadStep()
{
    const qint64 id = m_run.id;
    const std::string split = ss(m_split->currentText());
    bool ok = false;
    const qint64 step = m_step->currentText().toLongLong(&ok);
    if (!ok) {
        m_model->clear();
        m_confusion->setSummary({});
        m_count->setText(tr("No predictions recorded for this split yet."));
        m_loading = false;
        return;
    }
    struct Loaded {
        std::vector<lbk::PredictionRow> rows;
        nlohmann::json summary;
    };
    const int gen = ++m_generation;
    m_loading = true;
    m_count->setText(tr("Loading predictions of step %1...").arg(step));
    m_store->request<Loaded>(
        this,
        [id, split, step](lbk::Store &s) {
            Loaded l;
            lbk::PredictionFilter f;
            f.step = step;
            f.split = split;
            l.rows = s.predictions(id, f);
            for (auto &e : s.evaluations(id, split))
                if (e.step == step)
                    l.summary = std::move(e.summary);
            return l;
        },
        [this, gen](Loaded l) {
            if (gen != m_generation)
                return;
            m_model->setRows(std::move(l.rows));
            m_confusion->setSummary(l.summary);
            m_confusionPanel->setVisible(m_confusion->rowCount() > 0);
            // Give the matrix the room it needs (up to half the page); the table takes the rest.
            m_confusionView->resizeColumnsToContents();
            int need = m_confusionView->verticalHeader()->width() + 2 * m_confusionView->frameWidth() + 4;
            for (int c = 0; c < m_confusion->columnCount(); ++c)
                need += m_confusionView->columnWidth(c);
            const int total = m_split2->width();
            if (total >= 600) // before the page is first shown its width means nothing
                m_split2->setSizes({total - std::clamp(need, 200, total / 2), std::clamp(need, 200, total / 2)});
            m_updatingCombos = true;
            const QString t = m_trueLabel->currentText(), p = m_predLabel->currentText();
            QStringList labels = m_confusion->labels().isEmpty() ? m_model->labels() : m_confusion->labels();
            for (auto *c : {m_trueLabel, m_predLabel}) {
                c->clear();
                c->addItem(tr("any"));
                c->addItems(labels);
            }
            m_trueLabel->setCurrentText(t);
            m_predLabel->setCurrentText(p);
            m_updatingCombos = false;
            m_loading = false;
            applyQuery();
        });
}

void PredictionsPage::applyQuery()
{
    if (m_updatingCombos)
        return;
    PredictionQuery q;
    q.misclassifiedOnly = m_misclassified->isChecked();
    q.trueLabel = m_trueLabel->currentIndex() > 0 ? m_trueLabel->currentText() : QString();
    q.predictedLabel = m_predLabel->currentIndex() > 0 ? m_predLabel->currentText() : QString();
    q.minConfidence = m_minConf->value();
    q.maxConfidence = m_maxConf->value();
    q.text = m_text->text();
    m_model->setQuery(q);
    const bool tokens = m_run.task == lbk::toString(lbk::TrainingObjective::Mlm);
    m_count->setText((tokens ? tr("%L1 of %L2 masked tokens shown (step %3, %4)") : tr("%L1 of %L2 papers shown (step %3, %4)"))
                         .arg(m_model->rowCount())
                         .arg(m_model->totalCount())
                         .arg(m_step->currentText(), m_split->currentText()));
}

void PredictionsPage::filterToCell(const QString &trueLabel, const QString &predictedLabel)
{
    m_updatingCombos = true;
    m_trueLabel->setCurrentText(trueLabel);
    m_predLabel->setCurrentText(predictedLabel);
    if (trueLabel != predictedLabel)
        m_misclassified->setChecked(false); // the cell itself says what is wrong
    m_updatingCombos = false;
    applyQuery();
}

bool PredictionsPage::exportCsv(const QString &path, QString *error) const
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        if (error)
            *error = tr("%1: %2").arg(path, f.errorString());
        return false;
    }
    return m_model->writeCsv(&f);
}

void PredictionsPage::copySelection() const
{
    QList<int> rows;
    for (const auto &idx : m_table->selectionModel()->selectedRows())
        rows << idx.row();
    std::sort(rows.begin(), rows.end());
    if (rows.isEmpty())
        for (int i = 0; i < qMin(m_model->rowCount(), 1000); ++i)
            rows << i;
    QApplication::clipboard()->setText(m_model->toTsv(rows));
}

} // namespace labbook
