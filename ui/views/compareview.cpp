#include "compareview.h"

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "experiment/experiment.h"
#include "experiment/schema.h"
#include "format.h"
#include "models/comparemetricsmodel.h"
#include "models/comparepredictionsmodel.h"
#include "models/configdiffmodel.h"
#include "storeservice.h"
#include "views/curvespage.h"

namespace labbook {

namespace {
QString chooseRunsText()
{
    return QCoreApplication::translate("labbook::CompareView",
                                       "Select two or more runs in the list (Ctrl+click or Shift+click): they are "
                                       "compared here.");
}
} // namespace

namespace {
QTableView *makeTable(QWidget *parent, QAbstractItemModel *model, const QString &name)
{
    auto *t = new QTableView(parent);
    t->setObjectName(name);
    t->setModel(model);
    t->setAlternatingRowColors(true);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->verticalHeader()->setVisible(false);
    t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 6);
    t->horizontalHeader()->setStretchLastSection(true);
    // Run names cut in the middle keep their "#id" and their end ("#12 sweep…lr=3e-4"); the tooltip has all of it.
    t->horizontalHeader()->setTextElideMode(Qt::ElideMiddle);
    t->setTextElideMode(Qt::ElideMiddle);
    t->setWordWrap(false);
    return t;
}
} // namespace

CompareView::CompareView(StoreService *store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
{
    m_config = new ConfigDiffModel(this);
    m_metrics = new CompareMetricsModel(this);
    m_predictions = new ComparePredictionsModel(this);
    auto *layout = new QVBoxLayout(this);
    m_title = new QLabel(chooseRunsText(), this);
    m_title->setWordWrap(true);
    layout->addWidget(m_title);
    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    layout->addWidget(m_tabs, 1);
    m_tabs->addTab(buildSummaryTab(), tr("Config && metrics"));
    m_curves = new CurvesPage(store, m_tabs);
    m_tabs->addTab(m_curves, tr("Curves"));
    m_tabs->addTab(buildPredictionsTab(), tr("Predictions"));
    connect(m_showIdentical, &QCheckBox::toggled, m_config, &ConfigDiffModel::setShowIdentical);
    connect(m_showIdentical, &QCheckBox::toggled, this, &CompareView::fitSummary);
}

// Config and metrics together: what changed, and what it did.
QWidget *CompareView::buildSummaryTab()
{
    auto *summary = new QSplitter(Qt::Vertical, m_tabs);
    m_summary = summary;
    auto *configBox = new QWidget(summary);
    auto *cl = new QVBoxLayout(configBox);
    cl->setContentsMargins(0, 0, 0, 0);
    auto *cbar = new QHBoxLayout;
    m_configInfo = new QLabel(configBox);
    m_configInfo->setObjectName(QStringLiteral("compareConfigInfo"));
    // Wrapped: why the metrics are not ranked can be a long sentence, and a label that does not wrap asks for its
    // whole width, which widened the window past the screen.
    m_configInfo->setWordWrap(true);
    m_showIdentical = new QCheckBox(tr("Show identical keys"), configBox);
    cbar->addWidget(m_configInfo, 1);
    cbar->addWidget(m_showIdentical);
    cl->addLayout(cbar);
    auto *configTable = makeTable(configBox, m_config, QStringLiteral("configDiffTable"));
    configTable->horizontalHeader()->setDefaultSectionSize(150);
    configTable->horizontalHeader()->resizeSection(0, 220);
    cl->addWidget(configTable);
    auto *metricsBox = new QWidget(summary);
    auto *ml = new QVBoxLayout(metricsBox);
    ml->setContentsMargins(0, 0, 0, 0);
    m_metricsTitle = new QLabel(metricsBox);
    m_metricsTitle->setObjectName(QStringLiteral("compareMetricsTitle"));
    ml->addWidget(m_metricsTitle);
    auto *metricsTable = makeTable(metricsBox, m_metrics, QStringLiteral("compareMetricsTable"));
    metricsTable->horizontalHeader()->setDefaultSectionSize(150);
    metricsTable->horizontalHeader()->resizeSection(0, 220);
    ml->addWidget(metricsTable);
    summary->addWidget(configBox);
    summary->addWidget(metricsBox);
    return summary;
}

// The papers two runs got right or wrong: pick A and B, an outcome, a search.
QWidget *CompareView::buildPredictionsTab()
{
    auto *preds = new QWidget(m_tabs);
    auto *pl = new QVBoxLayout(preds);
    pl->setContentsMargins(0, 0, 0, 0);
    auto *pbar = new QHBoxLayout;
    m_outcome = new QComboBox(preds);
    m_outcome->setObjectName(QStringLiteral("outcomeFilter"));
    m_outcome->addItems({tr("all papers"), tr("right in A, wrong in B"), tr("wrong in A, right in B"),
                         tr("wrong in both"), tr("A and B disagree")});
    m_first = new QComboBox(preds);
    m_second = new QComboBox(preds);
    m_text = new QLineEdit(preds);
    m_text->setPlaceholderText(tr("Search titles"));
    m_text->setClearButtonEnabled(true);
    pbar->addWidget(new QLabel(tr("A:"), preds));
    pbar->addWidget(m_first);
    pbar->addWidget(new QLabel(tr("B:"), preds));
    pbar->addWidget(m_second);
    pbar->addWidget(m_outcome);
    pbar->addWidget(m_text, 1);
    pl->addLayout(pbar);
    auto *predTable = makeTable(preds, m_predictions, QStringLiteral("comparePredictionsTable"));
    predTable->horizontalHeader()->setDefaultSectionSize(140);
    predTable->horizontalHeader()->resizeSection(0, 100);
    predTable->horizontalHeader()->resizeSection(1, 380);
    predTable->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch); // the title takes the spare width
    predTable->horizontalHeader()->setStretchLastSection(false);
    pl->addWidget(predTable, 1);
    m_predInfo = new QLabel(preds);
    m_predInfo->setObjectName(QStringLiteral("comparePredictionsInfo"));
    m_predInfo->setWordWrap(true);
    pl->addWidget(m_predInfo);
    const auto updatePreds = [this] {
        joinPair();
        if (m_pairSource.empty())
            m_predictions->setPair(m_first->currentIndex(), m_second->currentIndex());
        m_predictions->setOutcome(ComparePredictionsModel::Outcome(m_outcome->currentIndex()));
        m_predictions->setText(m_text->text());
        if (!m_predNote.isEmpty())
            m_predInfo->setText(m_predNote);
        else
            m_predInfo->setText((m_pairSource.empty()
                                     ? tr("%L1 of %L2 papers (those every run evaluated at its latest validation step)")
                                     : tr("%L1 of %L2 papers of A and B, which predict the same labels (the runs of "
                                          "other labels are left out of this table)"))
                                    .arg(m_predictions->rowCount())
                                    .arg(m_predictions->joinedCount()));
    };
    connect(m_outcome, &QComboBox::currentIndexChanged, this, updatePreds);
    connect(m_first, &QComboBox::currentIndexChanged, this, updatePreds);
    connect(m_second, &QComboBox::currentIndexChanged, this, updatePreds);
    connect(m_text, &QLineEdit::textChanged, this, updatePreds);
    connect(this, &CompareView::loaded, this, updatePreds);
    return preds;
}

void CompareView::joinPair()
{
    const int a = m_first->currentIndex(), b = m_second->currentIndex();
    if (m_pairSource.empty() || a < 0 || b < 0 || size_t(std::max(a, b)) >= m_runs.size() ||
        m_joinedPair == std::pair{a, b})
        return;
    m_joinedPair = {a, b};
    const QString differ = qs(lbk::labelingDifference({m_runs[size_t(a)], m_runs[size_t(b)]}));
    if (!differ.isEmpty()) {
        m_predictions->setRuns({}, {});
        m_predNote = tr("A and B predict different labels (%1): the same paper has another truth in each, so their "
                        "predictions are not compared paper by paper. Pick two runs of one labelling.")
                         .arg(differ);
        return;
    }
    m_predictions->setRuns({m_pairNames[a], m_pairNames[b]}, {m_pairSource[size_t(a)], m_pairSource[size_t(b)]},
                           m_runs[size_t(a)].task == lbk::toString(lbk::TaskKind::MultiLabel));
    m_predictions->setPair(0, 1);
    m_predNote.clear();
}

void CompareView::setOutcome(int index)
{
    m_outcome->setCurrentIndex(index);
}

std::vector<qint64> CompareView::runIds() const
{
    std::vector<qint64> ids;
    for (const auto &r : m_runs)
        ids.push_back(r.id);
    return ids;
}

void CompareView::setRuns(const std::vector<qint64> &ids, const QStringList &folded)
{
    const int gen = ++m_generation;
    m_folded = folded;
    m_title->setText(tr("Loading %1...").arg(counted(qint64(ids.size()), tr("run"), tr("runs"))));
    m_store->request<Loaded>(
        this,
        [ids](lbk::Store &s) {
            Loaded l;
            for (auto id : ids) {
                auto r = s.runById(id);
                if (!r)
                    continue;
                lbk::PredictionFilter f; // the latest validation step
                l.predictions.push_back(s.predictions(id, f));
                l.runs.push_back(std::move(r.value()));
            }
            return l;
        },
        [this, gen](Loaded l) {
            if (gen == m_generation)
                showRuns(std::move(l));
        });
}

void CompareView::showRuns(Loaded read)
{
    m_runs = std::move(read.runs);
    QStringList names;
    std::vector<nlohmann::json> configs;
    std::vector<lbk::RunSummary> summaries;
    for (const auto &r : m_runs) {
        names << QStringLiteral("#%1 %2").arg(r.id).arg(qs(r.name));
        configs.push_back(r.config);
        summaries.push_back(r);
    }
    showTitles(names);
    m_config->setConfigs(names, configs);
    const QString labelsDiffer = qs(lbk::labelingDifference(m_runs));
    showConfigInfo(labelsDiffer);
    m_metrics->setRuns(summaries, labelsDiffer.isEmpty());
    m_metricsTitle->setText(labelsDiffer.isEmpty() ? tr("<b>Metrics</b> (best value per row highlighted)")
                                                   : tr("<b>Metrics</b> (not ranked: the runs predict different labels)"));
    fitSummary();
    // The curve the runs are selected by (found by an audit: binary runs selected by F1 opened on macro-F1).
    const auto metric = m_runs.empty() ? nlohmann::json() : lbk::valueAt(m_runs.front().config, "evaluation.metric");
    m_curves->setRuns(summaries, QStringLiteral("val/") +
                                     (metric.is_string() ? qs(metric.get<std::string>()) : QStringLiteral("macro_f1")));
    showPredictions(names, std::move(read.predictions), labelsDiffer);
    // One equal column per run beside the key column, which is as wide as its keys up to a third of the table
    // (found by an audit: "eval:arxiv-sampl.../accuracy (best)" was cut at 220 pixels).
    for (const char *table : {"configDiffTable", "compareMetricsTable"})
        if (auto *t = findChild<QTableView *>(QLatin1String(table))) {
            t->resizeColumnToContents(0);
            const int third = std::max(220, t->viewport()->width() / 3);
            t->horizontalHeader()->resizeSection(0, std::clamp(t->horizontalHeader()->sectionSize(0) + 8, 220, third));
            for (int c = 1; c < t->horizontalHeader()->count(); ++c)
                t->horizontalHeader()->setSectionResizeMode(c, QHeaderView::Stretch);
        }
    Q_EMIT loaded();
}

void CompareView::showTitles(const QStringList &names)
{
    if (m_runs.empty())
        m_title->setText(chooseRunsText());
    else
        m_title->setText(tr("<b>Comparing %1:</b> ").arg(counted(qint64(m_runs.size()), tr("run"), tr("runs"))) +
                         names.join(QStringLiteral(", ")).toHtmlEscaped() +
                         (m_folded.isEmpty() ? QString()
                                             : tr("<br>From folded rows of the run list: %1.")
                                                   .arg(m_folded.join(QStringLiteral("; ")).toHtmlEscaped())));
}

// How many config keys differ, and why the metrics are not ranked when the runs predict different labels.
void CompareView::showConfigInfo(const QString &labelsDiffer)
{
    const int differing = m_config->differingCount();
    m_configInfo->setText(
        tr("<b>%1 %2</b>; %3 folded away")
            .arg(counted(differing, tr("config key"), tr("config keys")), differing == 1 ? tr("differs") : tr("differ"),
                 counted(m_config->identicalCount(), tr("identical key"), tr("identical keys"))) +
        (labelsDiffer.isEmpty() ? QString()
                                : tr(". The metrics are not ranked: the runs predict different labels (%1)")
                                      .arg(labelsDiffer.toHtmlEscaped())));
}

// Papers are joined by id with the first run's truth. Runs of other labellings hold other truths: then A and B are
// joined alone, when they share a labelling (joinPair), and the Predictions tab says so.
void CompareView::showPredictions(const QStringList &names, std::vector<std::vector<lbk::PredictionRow>> predictions,
                                  const QString &labelsDiffer)
{
    m_predNote.clear();
    m_pairSource.clear();
    m_pairNames.clear();
    m_joinedPair = {-1, -1};
    if (labelsDiffer.isEmpty()) {
        m_predictions->setRuns(names, predictions,
                               !m_runs.empty() && m_runs.front().task == lbk::toString(lbk::TaskKind::MultiLabel));
    } else {
        m_pairSource = std::move(predictions);
        m_pairNames = names;
    }
    for (auto *c : {m_first, m_second}) {
        QSignalBlocker block(c);
        c->clear();
        c->addItems(names);
    }
    m_second->setCurrentIndex(names.size() > 1 ? 1 : 0);
}

// The config diff gets the height its rows need (up to half), the metrics the rest: a five-key diff left 250 px
// empty above a metrics table that had to scroll.
void CompareView::fitSummary()
{
    auto *config = findChild<QTableView *>(QStringLiteral("configDiffTable"));
    const int total = m_summary->height();
    if (!config || total < 200)
        return;
    const int rows = config->model()->rowCount();
    // The line above the diff wraps: as many lines as it takes at its width.
    const int info = m_configInfo->width() > 0 ? m_configInfo->heightForWidth(m_configInfo->width())
                                               : m_configInfo->sizeHint().height();
    const int need = info + config->horizontalHeader()->sizeHint().height() +
                     (rows + 1) * config->verticalHeader()->defaultSectionSize() + 2 * config->frameWidth() + 12;
    const int top = std::clamp(need, 120, total / 2);
    m_summary->setSizes({top, total - top});
}

} // namespace labbook
