#include "runsbrowser.h"

#include <algorithm>
#include <set>

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QTableView>
#include <QVBoxLayout>

#include "columnchooser.h"
#include "compactcombo.h"
#include "format.h"
#include "launch/local.h"
#include "models/runsfilterproxy.h"
#include "models/runsmodel.h"
#include "storeservice.h"
#include "usecases/runactions.h"

namespace labbook {

RunsBrowser::RunsBrowser(StoreService *store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
{
    m_model = new RunsModel(this);
    m_proxy = new RunsFilterProxy(this);
    m_proxy->setSourceModel(m_model);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    m_search = new QLineEdit(this);
    m_search->setObjectName(QStringLiteral("runSearch"));
    m_search->setPlaceholderText(tr("Search runs: name, experiment, tags, notes, host (Ctrl+F)"));
    m_search->setClearButtonEnabled(true);
    auto *searchRow = new QHBoxLayout; // the fold beside the search: the filters' row alone set the dock's width
    searchRow->addWidget(m_search, 1);
    layout->addLayout(searchRow);
    layout->addLayout(buildFilters(searchRow));
    layout->addWidget(buildTable(), 1);
    m_count = new QLabel(this);
    m_count->setObjectName(QStringLiteral("runCount"));
    layout->addWidget(m_count);
    connectFilters();
    connect(m_view, &QTableView::activated, this, [this](const QModelIndex &idx) {
        Q_EMIT runActivated(idx.data(RunsModel::RunIdRole).toLongLong());
    });
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        const auto ids = selectedRunIds();
        Q_EMIT selectionChanged(ids);
        // A filter that hid the others is not a click on this one, and neither is a reload that kept it selected
        // (a sweep's new trials arriving took the window from the Sweeps tab back to the run).
        const qint64 single = ids.size() == 1 ? ids.front() : 0;
        if (single && single != m_selectedAlone && !m_filtering)
            Q_EMIT runActivated(single);
        m_selectedAlone = single;
    });
    connect(m_view, &QTableView::customContextMenuRequested, this, &RunsBrowser::showContextMenu);
    connect(m_model, &RunsModel::runEdited, this, &RunsBrowser::saveEdit);
    connect(m_store, &StoreService::runsChanged, this, &RunsBrowser::storeRunsChanged);
    connect(m_proxy, &QAbstractItemModel::rowsInserted, this, [this] { storeRunsChanged(); });
    storeRunsChanged();
}

// Status, experiment and task filters, and the fold of sweeps and run groups into one row each.
QHBoxLayout *RunsBrowser::buildFilters(QHBoxLayout *searchRow)
{
    auto *filters = new QHBoxLayout;
    m_status = new QComboBox(this);
    m_status->setObjectName(QStringLiteral("statusFilter"));
    m_status->addItem(tr("any status"), QString());
    for (auto s : {lbk::RunStatus::Queued, lbk::RunStatus::Running, lbk::RunStatus::Finished, lbk::RunStatus::Failed,
                   lbk::RunStatus::Cancelled, lbk::RunStatus::Interrupted})
        m_status->addItem(statusText(s), qs(lbk::toString(s)));
    m_status->insertItem(m_status->findData(QStringLiteral("interrupted")), tr("pruned"), QStringLiteral("pruned"));
    m_experiment = new QComboBox(this);
    m_experiment->setObjectName(QStringLiteral("experimentFilter"));
    m_experiment->addItem(tr("any experiment"));
    m_task = new QComboBox(this);
    m_task->addItem(tr("any task"));
    m_task->addItems({QStringLiteral("multiclass"), QStringLiteral("binary"), QStringLiteral("multilabel")});
    makeCompact(m_experiment, 10);
    filters->addWidget(m_status);
    filters->addWidget(m_experiment, 1);
    filters->addWidget(m_task);
    m_fold = new QCheckBox(tr("One row per sweep"), this);
    m_fold->setObjectName(QStringLiteral("foldSweeps"));
    m_fold->setToolTip(tr("Each sweep's trials as one row, its best trial by the sweep's own metric (as the Sweeps "
                          "tab names it) with the sweep's status; each run group (the same config over seeds) as one "
                          "row of means and deviations, compared as all its runs"));
    searchRow->addWidget(m_fold);
    return filters;
}

QTableView *RunsBrowser::buildTable()
{
    m_view = new QTableView(this);
    m_view->setObjectName(QStringLiteral("runsTable"));
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(RunsModel::Id, Qt::DescendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setEditTriggers(QAbstractItemView::EditKeyPressed | QAbstractItemView::SelectedClicked);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->setVisible(false);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    setDefaultColumns();
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    m_delete = new QAction(tr("Delete..."), m_view);
    m_delete->setShortcut(QKeySequence::Delete);
    m_delete->setShortcutContext(Qt::WidgetShortcut);
    connect(m_delete, &QAction::triggered, this, &RunsBrowser::deleteSelected);
    m_view->addAction(m_delete);
    return m_view;
}

void RunsBrowser::refilter(const std::function<void()> &apply)
{
    m_filtering = true;
    apply();
    m_filtering = false;
}

void RunsBrowser::connectFilters()
{
    connect(m_search, &QLineEdit::textChanged, this, [this](const QString &text) {
        refilter([&] { m_proxy->setText(text); });
    });
    connect(m_status, &QComboBox::currentIndexChanged, this, [this] {
        refilter([&] { m_proxy->setStatus(m_status->currentData().toString()); });
    });
    connect(m_experiment, &QComboBox::currentIndexChanged, this, [this] {
        refilter([&] {
            m_proxy->setExperiment(m_experiment->currentIndex() > 0 ? m_experiment->currentText() : QString());
        });
    });
    connect(m_task, &QComboBox::currentIndexChanged, this, [this] {
        refilter([&] { m_proxy->setTask(m_task->currentIndex() > 0 ? m_task->currentText() : QString()); });
    });
    connect(m_fold, &QCheckBox::toggled, this, [this](bool on) {
        refilter([&] { m_proxy->setFoldSweeps(on); });
        if (on) // the folded names and "mean ± deviation" cells are longer than a run's: show them whole
            for (const int column : {RunsModel::Name, RunsModel::BestF1, RunsModel::BestAccuracy, RunsModel::FinalLoss})
                m_view->resizeColumnToContents(column);
    });
}

void RunsBrowser::showContextMenu(const QPoint &pos)
{
    const auto ids = selectedRunIds();
    if (ids.empty())
        return;
    QMenu menu(this);
    menu.addAction(tr("Open"), this, [this, ids] { Q_EMIT runActivated(ids.front()); });
    auto *cmp = menu.addAction(tr("Compare selected"), this, [this] { Q_EMIT compareRequested(); });
    cmp->setEnabled(comparison().runs.size() >= 2);
    menu.addAction(tr("Duplicate config into the form"), this, [this, ids] { Q_EMIT duplicateRequested(ids.front()); });
    bool active = false;
    std::optional<std::string> notResumable;
    for (const auto &r : m_store->runs())
        if (r.id == ids.front()) {
            active = lbk::isActive(r.status);
            notResumable = lbk::whyNotResumable(r);
        }
    // A finished run or an LR test is not offered (found by an audit: the menu offered it, then a dialog refused).
    auto *resume = menu.addAction(tr("Resume"), this, [this, ids] { Q_EMIT resumeRequested(ids.front()); });
    resume->setEnabled(!notResumable);
    if (notResumable)
        resume->setToolTip(QString::fromStdString(*notResumable));
    menu.setToolTipsVisible(true);
    auto *cancel = menu.addAction(tr("Cancel run"), this, [this, ids] { Q_EMIT cancelRequested(ids.front()); });
    cancel->setEnabled(active);
    menu.addSeparator();
    menu.addAction(tr("Edit notes..."), this, &RunsBrowser::editNotesOfCurrent);
    menu.addAction(m_delete);
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}

// A name, notes or tags edited in the table, written to the store (tags: comma-separated, blanks dropped).
void RunsBrowser::saveEdit(qint64 id, int column, const QString &value)
{
    const std::string v = ss(value);
    m_store->request<QString>(
        this,
        [id, column, v](lbk::Store &s) {
            lbk::Status saved = lbk::okStatus();
            if (column == RunsModel::Name)
                saved = s.setName(id, v);
            else if (column == RunsModel::Notes)
                saved = s.setNotes(id, v);
            else if (column == RunsModel::Tags) {
                std::vector<std::string> tags;
                for (const auto &t : QString::fromStdString(v).split(QLatin1Char(','), Qt::SkipEmptyParts))
                    if (!t.trimmed().isEmpty())
                        tags.push_back(t.trimmed().toStdString());
                saved = s.setTags(id, tags);
            }
            return saved ? QString() : QString::fromStdString(saved.message());
        },
        [this, id](QString error) {
            m_store->reloadRuns(); // the list shows what the store holds; a saved name reaches the run's header
            if (!error.isEmpty())
                Q_EMIT editFailed(tr("The edit of run #%1 was not saved: %2").arg(id).arg(error));
        });
}

void RunsBrowser::setDefaultColumns()
{
    // What a glance needs first (status, name, the key metric, time), the rest to the right; users drag columns,
    // resize and hide them (right-click the header), and the window remembers it (saveHeaderState()).
    QHeaderView *h = m_view->horizontalHeader();
    h->setStretchLastSection(true);
    h->setSectionsMovable(true);
    h->setDefaultSectionSize(80);
    const std::pair<int, int> columns[] = {
        {RunsModel::Status, 66},   {RunsModel::Name, 120},    {RunsModel::BestF1, 62},   {RunsModel::Duration, 84},
        {RunsModel::Started, 124}, {RunsModel::Id, 40},       {RunsModel::Experiment, 110}, {RunsModel::Task, 80},
        {RunsModel::Kind, 60},     {RunsModel::BestAccuracy, 66}, {RunsModel::FinalLoss, 62}, {RunsModel::Host, 90},
        {RunsModel::Tags, 90},     {RunsModel::Notes, 120}};
    int visual = 0;
    for (const auto &[column, width] : columns) {
        h->moveSection(h->visualIndex(column), visual++);
        h->resizeSection(column, width);
    }
    addColumnChooser(h, {RunsModel::Status, RunsModel::Name});
}

void RunsBrowser::storeRunsChanged()
{
    if (sender() == m_store) {
        m_model->setSweeps(m_store->sweeps());
        if (m_model->rowCount() == 0)
            m_model->setRuns(m_store->runs());
        else
            m_model->updateRuns(m_store->runs());
        updateFilterChoices();
    }
    const int total = m_model->rowCount(), shown = m_proxy->rowCount();
    int live = 0;
    for (const auto &r : m_model->runs())
        live += lbk::isActive(r.status) ? 1 : 0;
    m_count->setText(counted(total, tr("run"), tr("runs")) + (shown != total ? tr(", %L1 shown").arg(shown) : QString()) +
                     (live ? tr(", %1 live").arg(live) : QString()));
}

void RunsBrowser::updateFilterChoices()
{
    std::set<QString> experiments;
    for (const auto &r : m_model->runs())
        experiments.insert(qs(r.experiment));
    QStringList now;
    for (int i = 1; i < m_experiment->count(); ++i)
        now << m_experiment->itemText(i);
    QStringList fresh(experiments.begin(), experiments.end());
    if (now == fresh)
        return;
    const QString current = m_experiment->currentText();
    QSignalBlocker block(m_experiment);
    m_experiment->clear();
    m_experiment->addItem(tr("any experiment"));
    m_experiment->addItems(fresh);
    m_experiment->setCurrentText(current);
}

std::vector<qint64> RunsBrowser::selectedRunIds() const
{
    std::vector<qint64> ids;
    for (const auto &idx : m_view->selectionModel()->selectedRows())
        ids.push_back(idx.data(RunsModel::RunIdRole).toLongLong());
    return ids;
}

namespace {
// How Compare takes a folded row, for its header.
QString foldedText(const RunFold &f)
{
    const QString runs = counted(qint64(f.members.size()), RunsBrowser::tr("run"), RunsBrowser::tr("runs"));
    if (f.group)
        return RunsBrowser::tr("%1: its %2, one per seed").arg(qs(f.label), runs);
    if (f.showsBest())
        return RunsBrowser::tr("%1: its best trial, trial %2 (#%3; untick \"One row per sweep\" to compare others)")
            .arg(qs(f.label))
            .arg(f.sweep->best->trial)
            .arg(f.shown);
    return RunsBrowser::tr("%1: the run its row shows (#%2)").arg(qs(f.label)).arg(f.shown);
}
} // namespace

RunsBrowser::Comparison RunsBrowser::comparison() const
{
    Comparison c;
    for (const qint64 id : selectedRunIds()) {
        for (const qint64 run : m_model->comparedRuns(id))
            if (std::find(c.runs.begin(), c.runs.end(), run) == c.runs.end())
                c.runs.push_back(run);
        if (const RunFold *f = m_model->fold(id))
            c.folded << foldedText(*f);
    }
    return c;
}

void RunsBrowser::selectRun(qint64 id)
{
    const int row = m_model->rowOf(id);
    if (row < 0)
        return;
    const QModelIndex idx = m_proxy->mapFromSource(m_model->index(row, 0));
    if (!idx.isValid())
        return;
    m_view->selectionModel()->select(idx, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_view->setCurrentIndex(idx);
    m_view->scrollTo(idx);
}

void RunsBrowser::deleteSelected()
{
    const auto ids = selectedRunIds();
    if (ids.empty())
        return;
    QStringList names;
    for (auto id : ids)
        if (const auto *r = m_model->runAt(m_model->rowOf(id)))
            names << QStringLiteral("#%1 %2").arg(id).arg(qs(r->name));
    for (auto id : ids)
        if (const auto *r = m_model->runAt(m_model->rowOf(id)); r && lbk::isActive(r->status)) {
            QMessageBox::information(this, tr("Delete runs"),
                                     tr("Run #%1 is still %2; wait for it to end (or stop its worker) before "
                                        "deleting it.").arg(id).arg(statusText(r->status)));
            return;
        }
    const auto answer = QMessageBox::question(
        this, tr("Delete runs"),
        tr("Delete %1 and everything recorded for them (metrics, predictions, logs)?\n\n")
            .arg(counted(qint64(ids.size()), tr("run"), tr("runs"))) + names.mid(0, 15).join(QLatin1Char('\n')) + (names.size() > 15 ? QStringLiteral("\n...") : QString()),
        QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
    if (answer != QMessageBox::Yes)
        return;
    // lbk::usecase::remove, as `lbk delete`: the records and the run's folder (its checkpoints can be gigabytes).
    m_store->execute(
        [ids](lbk::Store &s) {
            for (auto id : ids)
                if (auto run = s.runById(id))
                    (void)lbk::usecase::remove(s, *run);
        },
        this, [this] { m_store->reloadRuns(); });
}

void RunsBrowser::editNotesOfCurrent()
{
    const auto ids = selectedRunIds();
    if (ids.empty())
        return;
    const int row = m_model->rowOf(ids.front());
    const auto *r = m_model->runAt(row);
    if (!r)
        return;
    bool ok = false;
    const QString notes = QInputDialog::getMultiLineText(this, tr("Notes of run #%1").arg(r->id), tr("Notes:"),
                                                         qs(r->notes), &ok);
    if (ok)
        m_model->setData(m_model->index(row, RunsModel::Notes), notes);
}

QByteArray RunsBrowser::saveHeaderState() const
{
    return m_view->horizontalHeader()->saveState();
}

void RunsBrowser::restoreHeaderState(const QByteArray &state)
{
    if (!state.isEmpty())
        m_view->horizontalHeader()->restoreState(state);
}

} // namespace labbook
