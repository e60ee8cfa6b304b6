#include "predictionspage.h"

#include <algorithm>

#include <QAction>
#include <QApplication>
#include <QBuffer>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "experiment/experiment.h"
#include "launch/local.h"
#include "columnchooser.h"
#include "compactcombo.h"
#include "filedialogs.h"
#include "format.h"
#include "util/filebytes.h"
#include "maskedcontextdelegate.h"
#include "models/confusionmodel.h"
#include "models/predictionsmodel.h"
#include "paperabstracts.h"
#include "storeservice.h"

namespace labbook {

namespace {
// A confusion cell's count where it fits its column, nothing rather than an elided "..." where it does not.
class CountIfFitsDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void initStyleOption(QStyleOptionViewItem *option, const QModelIndex &index) const override
    {
        QStyledItemDelegate::initStyleOption(option, index);
        if (option->fontMetrics.horizontalAdvance(option->text) > option->rect.width() - 4)
            option->text.clear();
    }
};
} // namespace

PredictionsPage::PredictionsPage(StoreService *store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
{
    m_model = new PredictionsModel(this);
    m_confusion = new ConfusionModel(this);
    m_abstracts = new PaperAbstracts(this);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(buildSelectionRow());
    layout->addLayout(buildFilterRow());
    layout->addLayout(buildActionRow());
    auto *split = new QSplitter(this);
    m_split2 = split;
    split->addWidget(buildTable());
    split->addWidget(buildSidePanel());
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    split->setCollapsible(0, false);
    split->setSizes({900, 300});
    layout->addWidget(split, 1);
    m_count = new QLabel(this);
    m_count->setObjectName(QStringLiteral("predictionCount"));
    layout->addWidget(m_count);
    connectControls();
    setWording(false);
}

// Split, step and the one-click mistakes.
QHBoxLayout *PredictionsPage::buildSelectionRow()
{
    auto *row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Split:"), this));
    m_split = new QComboBox(this);
    m_split->addItems({QStringLiteral("val"), QStringLiteral("test")});
    row->addWidget(m_split);
    row->addWidget(new QLabel(tr("Step:"), this));
    m_step = new QComboBox(this);
    m_step->setObjectName(QStringLiteral("predictionStep"));
    m_step->setMinimumContentsLength(8);
    row->addWidget(m_step);
    m_mistakes = new QPushButton(this);
    m_mistakes->setObjectName(QStringLiteral("confidentMistakes"));
    row->addWidget(m_mistakes);
    row->addStretch(1);
    return row;
}

// The class filters and the confidence range. (Three short rows rather than two long ones: a page as wide as all
// the controls side by side made the window wider than a laptop's screen.)
QHBoxLayout *PredictionsPage::buildFilterRow()
{
    auto *row = new QHBoxLayout;
    m_trueCaption = new QLabel(this);
    row->addWidget(m_trueCaption);
    m_trueLabel = new QComboBox(this);
    m_trueLabel->setObjectName(QStringLiteral("trueLabelFilter"));
    row->addWidget(m_trueLabel);
    row->addWidget(new QLabel(tr("Predicted:"), this));
    m_predLabel = new QComboBox(this);
    m_predLabel->setObjectName(QStringLiteral("predictedLabelFilter"));
    row->addWidget(m_predLabel);
    for (auto *combo : {m_split, m_trueLabel, m_predLabel})
        makeCompact(combo, 8);
    row->addWidget(new QLabel(tr("Confidence:"), this));
    m_minConf = new QDoubleSpinBox(this);
    m_maxConf = new QDoubleSpinBox(this);
    for (auto *s : {m_minConf, m_maxConf}) {
        s->setRange(0, 1);
        s->setSingleStep(0.05);
        s->setDecimals(2);
    }
    m_maxConf->setValue(1);
    row->addWidget(m_minConf);
    row->addWidget(new QLabel(QStringLiteral("\u2013"), this));
    row->addWidget(m_maxConf);
    row->addStretch(1);
    return row;
}

// Mistakes only, the text search, and what is done with the rows.
QHBoxLayout *PredictionsPage::buildActionRow()
{
    auto *row = new QHBoxLayout;
    m_misclassified = new QCheckBox(this);
    m_misclassified->setObjectName(QStringLiteral("misclassifiedOnly"));
    row->addWidget(m_misclassified);
    m_text = new QLineEdit(this);
    m_text->setObjectName(QStringLiteral("predictionSearch"));
    m_text->setClearButtonEnabled(true);
    row->addWidget(m_text, 1);
    m_reset = new QPushButton(tr("Clear filters"), this);
    m_copy = new QPushButton(tr("Copy"), this);
    m_csv = new QPushButton(tr("Export CSV..."), this);
    row->addWidget(m_reset);
    row->addWidget(m_copy);
    row->addWidget(m_csv);
    return row;
}

QTableView *PredictionsPage::buildTable()
{
    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("predictionsTable"));
    m_table->setModel(m_model);
    m_contextDelegate = new MaskedContextDelegate(m_table);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(PredictionsModel::Confidence, Qt::DescendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    m_table->verticalHeader()->setVisible(false);
    // The title is what a user reads: it takes the free width. Fixed widths for the rest (sizing columns to
    // contents would measure all 100k rows), just wide enough for their headers and values.
    QHeaderView *header = m_table->horizontalHeader();
    header->setSectionResizeMode(PredictionsModel::Title, QHeaderView::Stretch);
    header->setMinimumSectionSize(36);
    // A column's header (and its sort arrow) must fit; its values are narrower.
    const auto fit = [this, header](int column) {
        return header->fontMetrics().horizontalAdvance(m_model->headerData(column, Qt::Horizontal).toString()) + 24;
    };
    // Truth and Predicted: as wide as the data's labels need (fitLabelColumns()), capped.
    for (int column : {PredictionsModel::Confidence, PredictionsModel::PTrue, PredictionsModel::Correct})
        header->resizeSection(column, fit(column));
    // Right or wrong shows in the Predicted column's colour, the paper id in the details: both columns start hidden.
    header->setSectionHidden(PredictionsModel::Correct, true);
    header->setSectionHidden(PredictionsModel::ExampleId, true);
    addColumnChooser(header, {PredictionsModel::Title});
    auto *copyAction = new QAction(tr("Copy"), m_table);
    copyAction->setShortcut(QKeySequence::Copy);
    copyAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(copyAction, &QAction::triggered, this, &PredictionsPage::copySelection);
    m_table->addAction(copyAction);
    return m_table;
}

// Beside the table: the confusion matrix over the selected paper's details.
QSplitter *PredictionsPage::buildSidePanel()
{
    auto *side = new QSplitter(Qt::Vertical, this);
    m_side = side;
    auto *right = new QWidget(side);
    m_confusionPanel = right;
    auto *rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    m_confusionTitle = new QLabel(tr("<b>Confusion matrix</b> (rows: true, columns: predicted; click a cell)"), right);
    m_confusionTitle->setWordWrap(true);
    rightLayout->addWidget(m_confusionTitle);
    m_confusionView = new QTableView(right);
    m_confusionView->setObjectName(QStringLiteral("confusionTable"));
    m_confusionView->setModel(m_confusion);
    // Numbered columns that share the panel's width, so the whole matrix is in view; a count is written where
    // it fits (the colour and the tooltip always tell).
    m_confusionView->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_confusionView->horizontalHeader()->setMinimumSectionSize(6); // twenty classes fit a narrow panel as colours
    m_confusionView->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_confusionView->verticalHeader()->setDefaultSectionSize(m_confusionView->fontMetrics().height() + 4);
    m_confusionView->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_confusionView->setItemDelegate(new CountIfFitsDelegate(m_confusionView));
    m_confusionView->setSelectionMode(QAbstractItemView::SingleSelection);
    rightLayout->addWidget(m_confusionView, 1);
    m_detail = new QTextBrowser(side);
    m_detail->setObjectName(QStringLiteral("predictionDetail"));
    m_detail->setOpenLinks(false);
    side->addWidget(right);
    side->addWidget(m_detail);
    side->setStretchFactor(0, 3);
    side->setStretchFactor(1, 2);
    return side;
}

void PredictionsPage::connectControls()
{
    connect(m_split, &QComboBox::currentIndexChanged, this, [this] { loadSteps(); });
    connect(m_step, &QComboBox::currentIndexChanged, this, [this] {
        if (!m_updatingCombos)
            loadStep();
    });
    connect(m_misclassified, &QCheckBox::toggled, this, &PredictionsPage::applyQuery);
    connect(m_mistakes, &QPushButton::clicked, this, &PredictionsPage::showConfidentMistakes);
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this] { showDetail(); });
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] { showDetail(); });
    connect(m_abstracts, &PaperAbstracts::loaded, this, [this] { showDetail(); });
    connect(m_trueLabel, &QComboBox::currentIndexChanged, this, &PredictionsPage::applyQuery);
    connect(m_predLabel, &QComboBox::currentIndexChanged, this, &PredictionsPage::applyQuery);
    connect(m_minConf, &QDoubleSpinBox::valueChanged, this, &PredictionsPage::applyQuery);
    connect(m_maxConf, &QDoubleSpinBox::valueChanged, this, &PredictionsPage::applyQuery);
    connect(m_text, &QLineEdit::textChanged, this, &PredictionsPage::applyQuery);
    connect(m_reset, &QPushButton::clicked, this, &PredictionsPage::clearFilters);
    connect(m_copy, &QPushButton::clicked, this, &PredictionsPage::copySelection);
    connect(m_csv, &QPushButton::clicked, this, [this] {
        const QString path = filedialogs::saveFile(this, tr("Export predictions"),
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

void PredictionsPage::clearFilters()
{
    m_updatingCombos = true;
    m_misclassified->setChecked(false);
    m_trueLabel->setCurrentIndex(0);
    m_predLabel->setCurrentIndex(0);
    m_minConf->setValue(0);
    m_maxConf->setValue(1);
    m_text->clear();
    m_updatingCombos = false;
    applyQuery();
}

// A classifier's rows are papers and their classes; a pre-training run's are masked tokens and their fills.
void PredictionsPage::setWording(bool maskedTokens)
{
    const bool multiLabel = m_run.task == lbk::toString(lbk::TaskKind::MultiLabel);
    m_mistakes->setText(maskedTokens ? tr("Wrong fills, most confident first")
                        : multiLabel ? tr("Misclassified, most missed first")
                                     : tr("Misclassified, most confident first"));
    m_mistakes->setToolTip(maskedTokens
                               ? tr("The model's worst guesses: only masked tokens it filled wrongly, the most "
                                    "confident on top")
                               : multiLabel
                                   ? tr("The model's worst misses: only papers whose predicted labels are not exactly "
                                        "their true ones, the lowest probability given to a true label on top")
                                   : tr("The model's worst mistakes: only misclassified papers, the most confident "
                                        "on top"));
    m_misclassified->setText(maskedTokens ? tr("&Wrong only") : tr("&Misclassified only"));
    m_trueCaption->setText(maskedTokens ? tr("Original:") : tr("True:"));
    m_text->setPlaceholderText(maskedTokens ? tr("Search contexts or sequence:position")
                                            : tr("Search titles or paper ids"));
}

void PredictionsPage::setRun(const lbk::RunSummary &run)
{
    const bool same = run.id == m_run.id;
    m_run = run;
    const bool tokens = lbk::isPretraining(run);
    m_model->setMaskedTokens(tokens);
    setWording(tokens);
    // A fill's context marks its masked token; the delegate highlights it (a paper's title has no such mark).
    m_table->setItemDelegateForColumn(PredictionsModel::Title, tokens ? m_contextDelegate : nullptr);
    m_detail->setPlaceholderText(tokens ? tr("Select a row to see the masked token in its context, the original and "
                                             "the model's top-5 guesses.")
                                        : tr("Select a row to read the paper's full title, abstract, true labels and "
                                             "the model's top predictions."));
    m_table->horizontalHeader()->resizeSection(PredictionsModel::ExampleId, tokens ? 120 : 90);
    if (!same) {
        m_sidePanelFitted = false; // a new run's matrix may need other room; later refreshes keep the user's
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
        nlohmann::json config;
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
            if (auto run = s.runById(id))
                l.config = std::move(run->config);
            return l;
        },
        [this, gen](Loaded l) {
            if (gen != m_generation)
                return;
            if (!m_model->maskedTokens()) {
                std::vector<std::string> ids;
                ids.reserve(l.rows.size());
                for (const auto &r : l.rows)
                    ids.push_back(r.exampleId);
                m_abstracts->load(l.config, std::move(ids));
            }
            m_model->setRows(std::move(l.rows), m_run.task == lbk::toString(lbk::TaskKind::MultiLabel));
            m_confusion->setSummary(l.summary);
            m_confusionPanel->setVisible(m_confusion->rowCount() > 0);
            fitLabelColumns();
            fitSidePanel();
            m_updatingCombos = true;
            const QString t = m_trueLabel->currentText(), p = m_predLabel->currentText();
            QStringList labels = m_confusion->labels();
            if (labels.isEmpty()) { // a multi-label run's, in the order rows named them first: sorted to be found
                labels = m_model->labels();
                labels.sort(Qt::CaseInsensitive);
            }
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
    const bool narrowed = !(q == m_model->query());
    m_model->setQuery(q);
    if (narrowed) // another filter's rows from their first (found by an audit: the list stayed at the bottom)
        m_table->scrollToTop();
    const bool tokens = lbk::isPretraining(m_run);
    m_count->setText((tokens ? tr("%L1 of %L2 masked tokens shown (step %3, %4)") : tr("%L1 of %L2 papers shown (step %3, %4)"))
                         .arg(m_model->rowCount())
                         .arg(m_model->totalCount())
                         .arg(m_step->currentText(), m_split->currentText()));
}

void PredictionsPage::fitSidePanel()
{
    // The matrix and details get the room the counts need, up to 30% of the page (45% of a narrow one: at 1024 px
    // the matrix was left 140 px, its cells a few pixels each); the titles the rest.
    const int total = m_split2->width();
    if (m_sidePanelFitted || !isVisible() || total < 300) // a hidden page's width means nothing yet
        return;
    const int cell = m_confusionView->fontMetrics().horizontalAdvance(QStringLiteral("8,888")) + 8;
    const int need = m_confusionView->verticalHeader()->sizeHint().width() + 2 * m_confusionView->frameWidth() +
                     cell * int(m_confusion->columnCount()) + 4;
    const int most = total < 900 ? total * 45 / 100 : total * 3 / 10;
    const int side = std::clamp(need, std::min(260, most), most);
    m_split2->setSizes({total - side, side});
    // Above the details, the matrix gets the height its rows need (up to 60%), the abstract the rest.
    const int height = m_side->height(), rows = int(m_confusion->rowCount());
    if (rows > 0 && height > 200) {
        const int matrix = m_confusionTitle->heightForWidth(side) + m_confusionView->horizontalHeader()->sizeHint().height() +
                           rows * m_confusionView->verticalHeader()->defaultSectionSize() +
                           2 * m_confusionView->frameWidth() + 8;
        const int top = std::clamp(matrix, 120, height * 6 / 10);
        m_side->setSizes({top, height - top});
    }
    m_sidePanelFitted = true;
}

void PredictionsPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    fitSidePanel();
}

void PredictionsPage::fitLabelColumns()
{
    QHeaderView *header = m_table->horizontalHeader();
    int widest = header->fontMetrics().horizontalAdvance(m_model->headerData(PredictionsModel::Predicted, Qt::Horizontal).toString());
    for (const QString &label : m_model->labels())
        widest = std::max(widest, m_table->fontMetrics().horizontalAdvance(label));
    // A multi-label row names sets ("cs.CV, cs.LG"): as wide as the sets of its first rows, to a limit (found by an
    // audit: cut to "cs.CV, c..." while the title took the rest).
    const bool sets = m_run.task == lbk::toString(lbk::TaskKind::MultiLabel);
    for (int r = 0; sets && r < std::min(m_model->rowCount(), 2000); ++r)
        for (const int c : {int(PredictionsModel::Truth), int(PredictionsModel::Predicted)})
            widest = std::max(widest, m_table->fontMetrics().horizontalAdvance(m_model->index(r, c).data().toString()));
    const int limit = m_table->fontMetrics().horizontalAdvance(QLatin1Char('x')) * (sets ? 30 : 16);
    const int width = std::min(widest + 16, limit);
    header->resizeSection(PredictionsModel::Truth, width);
    header->resizeSection(PredictionsModel::Predicted, width);
}

void PredictionsPage::showConfidentMistakes()
{
    m_updatingCombos = true;
    m_trueLabel->setCurrentIndex(0);
    m_predLabel->setCurrentIndex(0);
    m_minConf->setValue(0);
    m_maxConf->setValue(1);
    m_misclassified->setChecked(true);
    m_updatingCombos = false;
    // A multi-label row is wrong by a label it missed or one it added: the most missed first (its least probable true
    // label's probability, P(true)); the top label's confidence says little there (found by an audit: the first rows
    // were right about their top label).
    if (m_run.task == lbk::toString(lbk::TaskKind::MultiLabel))
        m_table->sortByColumn(PredictionsModel::PTrue, Qt::AscendingOrder);
    else
        m_table->sortByColumn(PredictionsModel::Confidence, Qt::DescendingOrder);
    applyQuery();
    if (m_model->rowCount() > 0)
        m_table->selectRow(0);
}

void PredictionsPage::showDetail()
{
    const QModelIndex current = m_table->selectionModel()->currentIndex();
    const lbk::PredictionRow *row = current.isValid() ? m_model->rowAt(current.row()) : nullptr;
    if (!row) {
        m_detail->clear();
        return;
    }
    const bool tokens = m_model->maskedTokens();
    QString html = tokens ? QStringLiteral("<p style='font-size:large'>%1</p>").arg(maskedContextHtml(qs(row->title), palette()))
                          : QStringLiteral("<p style='font-size:large'><b>%1</b></p>").arg(qs(row->title).toHtmlEscaped());
    html += QStringLiteral("<p>%1 <b>%2</b> &nbsp; %3 <b>%4</b> &nbsp; <span style='color:%5'>%6</span></p>")
                .arg(tokens ? tr("Position") : tr("Paper"), qs(row->exampleId).toHtmlEscaped(),
                     tokens ? tr("Original:") : tr("True:"), toStringList(row->truth).join(QStringLiteral(", ")).toHtmlEscaped(),
                     statusColor(row->correct ? lbk::RunStatus::Finished : lbk::RunStatus::Failed).name(),
                     row->correct ? tr("right") : tr("wrong"));
    QStringList top;
    for (const auto &[label, p] : row->top) {
        const bool isTrue = std::find(row->truth.begin(), row->truth.end(), label) != row->truth.end();
        // A token in quotes: s, . and sentencepiece's word mark read as the line's own punctuation otherwise.
        const QString shown = tokens ? QStringLiteral("\u2018%1\u2019").arg(qs(label).toHtmlEscaped())
                                     : qs(label).toHtmlEscaped();
        top << QStringLiteral("%1%2 %3%4").arg(isTrue ? QStringLiteral("<b>") : QString(), shown,
                                               QString::number(p, 'f', 3), isTrue ? QStringLiteral("</b>") : QString());
    }
    html += QStringLiteral("<p>%1 %2</p>").arg(tokens ? tr("Top guesses:") : tr("Top predictions:"), top.join(QStringLiteral(" &middot; ")));
    if (!tokens) {
        const QString abstract = m_abstracts->abstractOf(row->exampleId);
        if (!abstract.isEmpty())
            html += QStringLiteral("<p>%1</p>").arg(abstract.toHtmlEscaped());
        else
            html += QStringLiteral("<p style='color:gray'>%1</p>")
                        .arg(m_abstracts->status().isEmpty() ? tr("The data has no abstract for this paper.")
                                                             : m_abstracts->status().toHtmlEscaped());
    }
    m_detail->setHtml(html);
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
    // Written whole, over an earlier export only once every row is on disk (as lbk export writes; found by a review).
    QBuffer rows;
    rows.open(QIODevice::WriteOnly);
    m_model->writeCsv(&rows, ss(m_split->currentText()), m_step->currentText().toLongLong());
    const std::string_view bytes(rows.data().constData(), size_t(rows.size()));
    const auto written = lbk::writeFileReplacing(ss(path), bytes);
    if (!written && error)
        *error = qs(written.message());
    return written.ok();
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
