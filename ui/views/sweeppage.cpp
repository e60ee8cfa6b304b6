#include "views/sweeppage.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>

#include "compactcombo.h"
#include "format.h"
#include "models/trialsmodel.h"
#include "plots/groupcurvesplot.h"
#include "plots/parallelplot.h"
#include "plots/sweepscatter.h"
#include "storeservice.h"
#include "sweep/groups.h"
#include "sweep/searchspace.h"

namespace labbook {

namespace {

// The table shows the trials the parallel coordinates' brushes let through.
class BrushedTrials : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setTrials(const std::set<int> &trials)
    {
        m_trials = trials;
        invalidateFilter();
    }

protected:
    bool filterAcceptsRow(int row, const QModelIndex &parent) const override
    {
        const int trial = sourceModel()->index(row, 0, parent).data(TrialsModel::TrialRole).toInt();
        return m_trials.count(trial) > 0;
    }

private:
    std::set<int> m_trials;
};

struct Loaded {
    std::vector<lbk::SweepRecord> sweeps;
    std::optional<lbk::SweepOverview> overview;
    std::vector<lbk::KeyImportance> importance;
    QString error;
};

QString importanceHtml(const std::vector<lbk::KeyImportance> &keys, const std::string &shortfall)
{
    const auto bar = [](double v) {
        return std::isnan(v) ? QStringLiteral("-")
                             : QString(int(std::lround(v * 6)), QChar(0x2588)) + QStringLiteral("&nbsp;%1").arg(v, 0, 'f', 2);
    };
    QString html = QStringLiteral("<b>%1</b>").arg(SweepPage::tr("How much each key matters"));
    if (!shortfall.empty()) // too few trials yet: the bars would all be dashes
        html += QStringLiteral("<br><small>%1</small>").arg(QString::fromStdString(shortfall).toHtmlEscaped());
    html += QStringLiteral("<table cellspacing=3><tr><th></th><th align=left>%1</th><th align=left>%2</th></tr>")
                .arg(SweepPage::tr("forest"), SweepPage::tr("correlation"));
    for (const auto &k : keys) {
        const QString sign = k.direction > 0 ? QStringLiteral("&nbsp;+") : k.direction < 0 ? QStringLiteral("&nbsp;\u2212") : QString();
        html += QStringLiteral("<tr><td nowrap>%1&nbsp;</td><td nowrap>%2&nbsp;</td><td nowrap>%3%4</td></tr>")
                    .arg(QString::fromStdString(k.key).toHtmlEscaped(), bar(k.permutation), bar(k.score), sign);
    }
    return html + QStringLiteral("</table><p><small>%1</small></p>")
                      .arg(SweepPage::tr("Forest: each key's share of how much worse a small random forest predicts "
                                         "the metric when the key's values are shuffled (it sees effects that are not "
                                         "monotonic).<br>Correlation: Spearman's rank correlation for numbers (+: "
                                         "higher values do better), the correlation ratio for categories."));
}

} // namespace

SweepPage::SweepPage(StoreService *store, QWidget *parent) : QWidget(parent), m_store(store)
{
    m_chooser = new QComboBox(this);
    m_chooser->setObjectName(QStringLiteral("sweepChooser"));
    makeCompact(m_chooser, 24);
    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_openBest = new QPushButton(tr("Open best as experiment"), this);
    m_openBest->setObjectName(QStringLiteral("openBest"));
    m_openBest->setEnabled(false);
    auto *top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Sweep:"), this));
    top->addWidget(m_chooser);
    top->addWidget(m_status, 1);
    top->addWidget(m_openBest);

    auto *split = new QSplitter(Qt::Vertical, this);
    split->addWidget(buildViews());
    split->addWidget(buildTrialsPane());
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(split, 1);

    connect(m_chooser, &QComboBox::activated, this, [this](int i) { showSweep(m_chooser->itemData(i).toLongLong()); });
    connect(m_plot, &ParallelPlot::trialsSelected, this,
            [this](const std::set<int> &trials) { static_cast<BrushedTrials *>(m_proxy)->setTrials(trials); });
    connect(m_table, &QTableView::doubleClicked, this, [this](const QModelIndex &index) {
        const qint64 run = index.data(TrialsModel::RunIdRole).toLongLong();
        if (run > 0)
            Q_EMIT openRunRequested(run);
    });
    connect(m_openBest, &QPushButton::clicked, this, &SweepPage::openBest);
    connect(m_store, &StoreService::runsUpdated, this, [this] {
        if (m_live && isVisible())
            reload();
    });
}

// The parallel coordinates, the metric against each key, and the curves across seeds, as tabs.
QTabWidget *SweepPage::buildViews()
{
    m_plot = new ParallelPlot(this);
    m_plot->setObjectName(QStringLiteral("parallelPlot"));
    m_plot->setMinimumHeight(260);
    m_scatter = new SweepScatter(this);
    m_scatter->setObjectName(QStringLiteral("sweepScatter"));
    m_views = new QTabWidget(this);
    m_views->setObjectName(QStringLiteral("sweepViews"));
    m_views->setDocumentMode(true);
    m_views->addTab(m_plot, tr("Parallel coordinates"));
    auto *scatterTab = new QWidget(this);
    auto *scatterLayout = new QVBoxLayout(scatterTab);
    scatterLayout->setContentsMargins(0, 0, 0, 0);
    scatterLayout->addWidget(m_scatter, 1);
    scatterLayout->addWidget(new QLabel(tr("filled: finished \u00b7 hollow: pruned (its best before it was stopped) "
                                           "\u00b7 ringed: the best trial"),
                                        scatterTab));
    m_views->addTab(scatterTab, tr("Metric against each key"));
    m_groupTab = new QWidget(this);
    m_curveMetric = new QComboBox(m_groupTab);
    m_curveMetric->setObjectName(QStringLiteral("groupMetric"));
    m_groupCurves = new GroupCurvesPlot(m_groupTab);
    m_groupCurves->setObjectName(QStringLiteral("groupCurves"));
    auto *groupBar = new QHBoxLayout;
    groupBar->addWidget(new QLabel(tr("Mean and one standard deviation across seeds of"), m_groupTab));
    groupBar->addWidget(m_curveMetric);
    groupBar->addStretch(1);
    auto *groupLayout = new QVBoxLayout(m_groupTab);
    groupLayout->setContentsMargins(0, 4, 0, 0);
    groupLayout->addLayout(groupBar);
    groupLayout->addWidget(m_groupCurves, 1);
    m_views->addTab(m_groupTab, tr("Curves across seeds"));
    // Beside the plots, not beside the trials' table: there it took half the width the table's columns need.
    m_importance = new QLabel(this);
    m_importance->setObjectName(QStringLiteral("keyImportance"));
    m_importance->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_importance->setWordWrap(true);
    m_importance->setMargin(8);
    m_views->addTab(m_importance, tr("Which keys matter"));
    connect(m_curveMetric, &QComboBox::activated, this, &SweepPage::loadGroupCurves);
    return m_views;
}

// The trials table (brushing the parallel coordinates filters it).
QWidget *SweepPage::buildTrialsPane()
{
    m_model = new TrialsModel(this);
    m_proxy = new BrushedTrials(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(TrialsModel::SortRole);
    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("trialsTable"));
    m_table->setModel(m_proxy);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(TrialsModel::Value, Qt::DescendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    return m_table;
}

void SweepPage::reload() { showSweep(m_sweepId); }

void SweepPage::showSweep(qint64 id)
{
    const int generation = ++m_generation;
    m_store->request<Loaded>(
        this,
        [id](lbk::Store &s) {
            Loaded l;
            l.sweeps = s.sweeps();
            const qint64 shown = id > 0 ? id : (l.sweeps.empty() ? 0 : l.sweeps.front().id);
            if (shown > 0) {
                auto o = lbk::sweepOverview(s, shown);
                if (o) {
                    l.importance = lbk::keyImportance(*o);
                    l.overview = std::move(*o);
                } else {
                    l.error = QString::fromStdString(o.message());
                }
            }
            return l;
        },
        [this, generation](Loaded l) {
            if (generation != m_generation)
                return;
            m_chooser->clear();
            for (const auto &s : l.sweeps)
                m_chooser->addItem(QStringLiteral("%1 (#%2, %3)")
                                       .arg(QString::fromStdString(s.name))
                                       .arg(s.id)
                                       .arg(QString::fromUtf8(lbk::toString(s.status))),
                                   qint64(s.id));
            if (!l.overview) {
                m_sweepId = 0;
                m_live = false;
                m_status->setText(l.sweeps.empty() ? tr("No sweep yet: `lbk sweep experiments/debug-sweep.json` runs one")
                                                   : l.error);
                m_openBest->setEnabled(false);
                // Nothing of another sweep (or another store's) stays on the page.
                const lbk::SweepOverview none;
                m_model->setOverview(none);
                m_plot->setOverview(none);
                m_scatter->setOverview(none);
                m_groupCurves->setCurves({}, QString());
                m_importance->clear();
                Q_EMIT loaded();
                return;
            }
            present(*l.overview, l.importance);
        });
}

void SweepPage::present(const lbk::SweepOverview &o, const std::vector<lbk::KeyImportance> &importance)
{
    m_sweepId = o.sweep.id;
    m_live = o.sweep.status == lbk::SweepStatus::Running;
    m_chooser->setCurrentIndex(m_chooser->findData(qint64(o.sweep.id)));
    int ended = 0, pruned = 0;
    for (const auto &t : o.trials) {
        ended += !lbk::isOpen(t.trial.state);
        pruned += t.trial.state == lbk::TrialState::Pruned;
    }
    const auto best = o.best();
    m_status->setText(tr("%1 of %2 trials ended, %3 pruned; %4 %5%6")
                          .arg(ended)
                          .arg(o.trials.size())
                          .arg(pruned)
                          .arg(o.spec.maximize ? tr("maximizing") : tr("minimizing"))
                          .arg(QString::fromStdString(o.spec.metric))
                          .arg(best ? tr("; best: trial %1, %2").arg(best->trial.trial).arg(formatMetric(*best->trial.value))
                                    : QString()));
    m_openBest->setEnabled(best.has_value());
    const bool first = m_model->rowCount() == 0;
    m_model->setOverview(o);
    if (first) // best first, until the user sorts otherwise
        m_table->sortByColumn(TrialsModel::Value, o.spec.maximize ? Qt::DescendingOrder : Qt::AscendingOrder);
    m_plot->setOverview(o);
    m_scatter->setOverview(o);
    const bool seeds = lbk::sweepsSeeds(o.spec);
    m_views->setTabEnabled(m_views->indexOf(m_groupTab), seeds);
    m_views->setTabToolTip(m_views->indexOf(m_groupTab),
                           seeds ? QString() : tr("For sweeps over training.seed (lbk run FILE --seeds ...)"));
    if (seeds) {
        const QString metric = QString::fromStdString(o.spec.metric);
        const QString chosen = m_curveMetric->currentText();
        m_curveMetric->clear();
        for (const QString &k : {metric, QStringLiteral("val/accuracy"), QStringLiteral("val/loss"), QStringLiteral("train/loss")})
            if (m_curveMetric->findText(k) < 0)
                m_curveMetric->addItem(k);
        m_curveMetric->setCurrentIndex(std::max(0, m_curveMetric->findText(chosen)));
        loadGroupCurves();
    }
    static_cast<BrushedTrials *>(m_proxy)->setTrials(m_plot->selectedTrials());
    m_importance->setText(importanceHtml(importance, lbk::keyImportanceShortfall(o)));
    m_table->resizeColumnsToContents();
    // Sizing to contents fixes the last column's width too, which leaves a blank strip right of "Why" until the
    // window is resized: stretch it again.
    m_table->horizontalHeader()->setStretchLastSection(false);
    m_table->horizontalHeader()->setStretchLastSection(true);
    Q_EMIT loaded();
}

void SweepPage::loadGroupCurves()
{
    const lbk::SweepOverview overview = m_model->overview();
    const std::string key = m_curveMetric->currentText().toStdString();
    using Curves = std::vector<std::pair<QString, lbk::GroupCurve>>;
    m_store->request<Curves>(
        this,
        [overview, key](lbk::Store &s) {
            Curves out;
            for (const auto &g : lbk::sweepGroups(s, overview)) {
                std::vector<std::vector<lbk::MetricPoint>> series;
                for (const int64_t run : g.runs)
                    series.push_back(s.metric(run, key));
                QString label;
                for (const auto &[k, v] : g.params.items())
                    label += (label.isEmpty() ? QString() : QStringLiteral(", ")) + QString::fromStdString(k) +
                             QLatin1Char('=') + QString::fromStdString(v.is_string() ? v.get<std::string>() : v.dump());
                out.emplace_back(label.isEmpty() ? QString::fromStdString(overview.sweep.name) : label,
                                 lbk::groupCurve(series));
            }
            return out;
        },
        [this](Curves curves) { m_groupCurves->setCurves(curves, m_curveMetric->currentText()); });
}

void SweepPage::openBest()
{
    const auto &o = m_model->overview();
    const auto best = o.best();
    if (!best)
        return;
    auto experiment = lbk::trialExperiment(o.spec, best->trial.params, best->trial.trial);
    if (experiment)
        (*experiment)["name"] = lbk::trialName(o.sweep.name, best->trial.trial); // a new experiment, not the base
    if (experiment)
        Q_EMIT openExperimentRequested(*experiment);
}

} // namespace labbook
