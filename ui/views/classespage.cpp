#include "classespage.h"

#include <cmath>

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include "compactcombo.h"
#include "format.h"
#include "metrics/metrics.h"
#include "models/perclassmodel.h"
#include "plots/plotwidget.h"
#include "protocol/eventreader.h"
#include "storeservice.h"

namespace labbook {

namespace {
// The positive class's share of a binary evaluation's examples (its per-class supports); NaN when not recorded.
double positiveShare(const nlohmann::json &s)
{
    const auto perClass = s.find("per_class");
    if (perClass == s.end() || !perClass->is_array() || perClass->size() != 2)
        return std::nan("");
    double positives = 0, all = 0;
    for (size_t c = 0; c < 2; ++c) {
        const auto &row = (*perClass)[c];
        const double support = row.is_object() && row.contains("support") && row["support"].is_number()
                                   ? row["support"].get<double>()
                                   : std::nan("");
        all += support;
        positives += c == 1 ? support : 0;
    }
    return all > 0 ? positives / all : std::nan("");
}
} // namespace

ClassesPage::ClassesPage(StoreService *store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
{
    m_model = new PerClassModel(this);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Evaluation:"), this));
    m_evaluation = new QComboBox(this);
    m_evaluation->setObjectName(QStringLiteral("classesEvaluation"));
    makeCompact(m_evaluation, 14);
    bar->addWidget(m_evaluation);
    m_headline = new QLabel(this);
    m_headline->setObjectName(QStringLiteral("headline"));
    m_headline->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_headline->setWordWrap(true);
    // The figures under the chooser, as wide as the page (found by an audit: beside it, a narrow page wrapped them
    // under the chooser's edge and hid the threshold advice).
    m_headline->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    bar->addStretch(1);
    layout->addLayout(bar);
    layout->addWidget(m_headline);
    m_cautions = new QLabel(this);
    m_cautions->setObjectName(QStringLiteral("cautions"));
    m_cautions->setWordWrap(true);
    // As wide as the page, wrapped: a long sentence's own width must not set the window's minimum (laptops).
    m_cautions->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_cautions->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_cautions->setVisible(false);
    layout->addWidget(m_cautions);

    auto *split = new QSplitter(this);
    m_table = new QTableView(split);
    m_table->setObjectName(QStringLiteral("perClassTable"));
    auto *proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(m_model);
    proxy->setSortRole(PerClassModel::SortRole);
    m_table->setModel(proxy);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(PerClassModel::Support, Qt::DescendingOrder);
    m_table->verticalHeader()->setVisible(false);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    // Class names whole ("n..." in a narrow page, found by an audit); the figures' columns take what is left.
    m_table->horizontalHeader()->setSectionResizeMode(PerClassModel::Label, QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_curves = new QWidget(split);
    auto *curvesLayout = new QVBoxLayout(m_curves);
    curvesLayout->setContentsMargins(0, 0, 0, 0);
    m_roc = new PlotWidget(m_curves);
    m_roc->setObjectName(QStringLiteral("rocPlot"));
    m_pr = new PlotWidget(m_curves);
    m_pr->setObjectName(QStringLiteral("prPlot"));
    m_roc->xAxis->setLabel(tr("false positive rate"));
    m_roc->yAxis->setLabel(tr("true positive rate"));
    m_pr->xAxis->setLabel(tr("recall"));
    m_pr->yAxis->setLabel(tr("precision"));
    for (auto *p : {m_roc, m_pr}) {
        p->xAxis->setRange(0, 1);
        p->yAxis->setRange(0, 1.02);
        p->legend->setVisible(true);
        p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    }
    m_pr->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    curvesLayout->addWidget(m_roc);
    curvesLayout->addWidget(m_pr);
    split->addWidget(m_table);
    split->addWidget(m_curves);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    layout->addWidget(split, 1);
    connect(m_evaluation, &QComboBox::currentIndexChanged, this, &ClassesPage::showEvaluation);
}

void ClassesPage::setRun(const lbk::RunSummary &run)
{
    if (run.id != m_run.id) {
        m_evaluations.clear();
        m_evaluation->clear();
    }
    m_run = run;
    refresh();
}

void ClassesPage::refresh()
{
    const qint64 id = m_run.id;
    const int gen = ++m_generation;
    m_store->request<std::vector<lbk::EvaluationRecord>>(
        this, [id](lbk::Store &s) { return s.evaluations(id); },
        [this, gen](std::vector<lbk::EvaluationRecord> evals) {
            if (gen != m_generation)
                return;
            const bool wasLatest = m_evaluation->currentIndex() <= 0;
            const QString current = m_evaluation->currentText();
            m_evaluations.clear();
            // Newest first; at the same step validation before test.
            for (auto it = evals.rbegin(); it != evals.rend(); ++it)
                m_evaluations.push_back(*it);
            std::stable_sort(m_evaluations.begin(), m_evaluations.end(), [](const auto &a, const auto &b) {
                return a.step != b.step ? a.step > b.step : a.split > b.split;
            });
            QSignalBlocker block(m_evaluation);
            m_evaluation->clear();
            const auto keptStep = m_run.testWeightsStep(); // the test split is scored with the kept checkpoint
            for (const auto &e : m_evaluations)
                m_evaluation->addItem(e.split == "test" && keptStep
                                          ? tr("test, weights of step %1 (the kept checkpoint)").arg(*keptStep)
                                          : QStringLiteral("%1, step %2").arg(qs(e.split)).arg(e.step));
            if (!wasLatest && m_evaluation->findText(current) >= 0)
                m_evaluation->setCurrentText(current);
            showEvaluation();
        });
}

QString ClassesPage::headline() const
{
    return m_headline->text();
}

QString ClassesPage::cautions() const
{
    return m_cautions->isHidden() ? QString() : m_cautions->text();
}

void ClassesPage::showCautions(const nlohmann::json &cautions)
{
    QStringList lines;
    if (cautions.is_array())
        for (const auto &c : cautions)
            if (c.is_string())
                lines << tr("<b>Caution:</b> %1").arg(qs(c.get<std::string>()).toHtmlEscaped());
    m_cautions->setText(lines.join(QStringLiteral("<br>")));
    m_cautions->setVisible(!lines.isEmpty());
}

void ClassesPage::showEvaluation()
{
    const int i = m_evaluation->currentIndex();
    if (i < 0 || i >= int(m_evaluations.size())) {
        m_model->setSummary({});
        m_headline->setText(tr("No evaluations yet."));
        showCautions({});
        m_curves->setVisible(false);
        return;
    }
    const auto &s = m_evaluations[size_t(i)].summary;
    QStringList parts;
    std::vector<std::string> keys(lbk::scalarMetricKeys().begin(), lbk::scalarMetricKeys().end());
    keys.push_back("examples");
    for (const std::string &key : keys) {
        if (s.contains(key) && s[key].is_number())
            parts << QStringLiteral("%1 <b>%2</b>").arg(qs(key), formatMetric(s[key].get<double>()));
    }
    // A binary run's F1 at 0.5 can hide a model that ranks well: where its F1 peaks on the validation split (the
    // test split's would be a peek), and the threshold to predict by, rounded down so that no paper of the peak is
    // left out.
    if (const auto a = lbk::thresholdAdvice(s.value("best_f1", nlohmann::json()));
        a && m_evaluations[size_t(i)].split == "val")
        parts << tr("best F1 <b>%1</b> from p &ge; %2 (<tt>lbk predict --threshold %2</tt>)")
                     .arg(formatMetric(a->f1), qs(a->threshold));
    m_headline->setText(parts.join(QStringLiteral(" &nbsp; ")));
    showCautions(s.value("cautions", nlohmann::json()));
    m_model->setSummary(s);
    const bool binary = s.contains("roc") && s["roc"].is_array();
    m_curves->setVisible(binary);
    if (!binary)
        return;
    // Each curve over what guessing gives: ROC's diagonal; for precision-recall, the positives' share of the split
    // (precision at any recall when the scores tell nothing).
    const auto draw = [](PlotWidget *plot, const nlohmann::json &points, const QString &name, double chanceFrom,
                         double chanceTo, const QString &chanceName) {
        plot->clearGraphs();
        QVector<double> x, y;
        for (const auto &p : points)
            if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number()) {
                x << p[0].get<double>();
                y << p[1].get<double>();
            }
        auto *g = plot->addGraph();
        g->setName(name);
        g->setPen(QPen(seriesColor(0), 2));
        g->setData(x, y, true); // ordered by threshold: keep the given order
        if (std::isfinite(chanceFrom)) {
            auto *d = plot->addGraph();
            d->setName(chanceName);
            d->setPen(QPen(plot->textColor(), 1, Qt::DashLine));
            d->setData(QVector<double>{0, 1}, QVector<double>{chanceFrom, chanceTo});
        }
        plot->replot(QCustomPlot::rpQueuedRefresh);
    };
    const auto figure = [&](const char *key) {
        return formatMetric(lbk::event::getNum(s, key).value_or(std::nan("")));
    };
    draw(m_roc, s["roc"], tr("ROC (ROC-AUC %1)").arg(figure("roc_auc")), 0, 1, tr("chance"));
    const double prevalence = positiveShare(s);
    draw(m_pr, s.value("pr", nlohmann::json::array()),
         tr("precision-recall (PR-AUC %1)").arg(figure("pr_auc")), prevalence, prevalence,
         tr("chance (positives %1)").arg(formatMetric(prevalence)));
}

} // namespace labbook
