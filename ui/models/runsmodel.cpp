#include "runsmodel.h"

#include <cmath>
#include <unordered_set>

#include <QBrush>
#include <QFont>

#include "format.h"

namespace labbook {

void RunsModel::setRuns(std::vector<lbk::RunSummary> runs)
{
    beginResetModel();
    m_runs = std::move(runs);
    m_rowIndex.clear();
    refold();
    endResetModel();
}

void RunsModel::setFoldSweeps(bool on)
{
    m_fold = on;
    refold();
    if (!m_runs.empty()) // names and, for groups, the metric cells change
        Q_EMIT dataChanged(index(0, 0), index(int(m_runs.size()) - 1, ColumnCount - 1));
}

bool RunsModel::foldedAway(int row) const
{
    return m_fold && row >= 0 && row < int(m_runs.size()) && m_foldedAway.count(m_runs[size_t(row)].id) > 0;
}

namespace {
// The value each metric column shows: the best validation value (the final one when no best was recorded).
double columnValue(const lbk::RunSummary &r, int column)
{
    switch (column) {
    case RunsModel::BestF1: return orNan(r.listedValue(r.listedF1Key()));
    case RunsModel::BestAccuracy: return orNan(r.listedValue("val/accuracy"));
    case RunsModel::FinalLoss: return orNan(r.summaryValue("final", "val/loss"));
    default: return std::nan("");
    }
}

constexpr int kStatColumns[] = {RunsModel::BestF1, RunsModel::BestAccuracy, RunsModel::FinalLoss};
} // namespace

void RunsModel::refold()
{
    m_folds.clear();
    m_foldedAway.clear();
    if (!m_fold)
        return;
    std::unordered_map<int64_t, const lbk::RunSummary *> byId;
    for (const auto &r : m_runs)
        byId[r.id] = &r;
    for (auto &fold : foldRuns(m_runs, m_sweeps)) {
        Fold f{std::move(fold), {}};
        for (const int column : kStatColumns) {
            std::vector<double> xs;
            for (const int64_t id : f.fold.members) { // finished runs only, as `lbk runs --group` counts them
                const double v = columnValue(*byId[id], column);
                if (byId[id]->status == lbk::RunStatus::Finished && std::isfinite(v))
                    xs.push_back(v);
            }
            f.stats.push_back(lbk::statsOf({}, xs));
        }
        for (const int64_t id : f.fold.members)
            if (id != f.fold.shown)
                m_foldedAway.insert(id);
        const int64_t shown = f.fold.shown;
        m_folds[shown] = std::move(f);
    }
}

const RunFold *RunsModel::fold(qint64 runId) const
{
    if (!m_fold)
        return nullptr;
    const auto it = m_folds.find(runId);
    return it == m_folds.end() ? nullptr : &it->second.fold;
}

const RunFold *RunsModel::sweepFold(const lbk::RunSummary &r) const
{
    const RunFold *f = fold(r.id);
    return f && !f->group ? f : nullptr;
}

std::vector<qint64> RunsModel::comparedRuns(qint64 runId) const
{
    const RunFold *f = fold(runId);
    if (!f || !f->group)
        return {runId};
    return {f->members.begin(), f->members.end()};
}

const lbk::MetricStats *RunsModel::groupStats(const lbk::RunSummary &r, int column) const
{
    const RunFold *f = fold(r.id);
    if (!f || !f->group)
        return nullptr;
    const auto it = m_folds.find(r.id);
    for (size_t i = 0; i < std::size(kStatColumns); ++i)
        if (kStatColumns[i] == column)
            return it->second.stats[i].n > 0 ? &it->second.stats[i] : nullptr;
    return nullptr;
}

void RunsModel::updateRuns(std::vector<lbk::RunSummary> runs)
{
    std::unordered_set<int64_t> fresh;
    for (const auto &r : runs)
        fresh.insert(r.id);
    for (int row = int(m_runs.size()) - 1; row >= 0; --row) {
        if (fresh.count(m_runs[size_t(row)].id))
            continue;
        beginRemoveRows({}, row, row);
        m_runs.erase(m_runs.begin() + row);
        m_rowIndex.clear();
        endRemoveRows();
    }
    // What is left is normally a subsequence of the fresh list (the store's order is stable): insert the new
    // ones where they belong. Anything else (a changed order) falls back to a reset.
    for (size_t i = 0; i < runs.size(); ++i) {
        if (i < m_runs.size() && m_runs[i].id == runs[i].id) {
            m_runs[i] = runs[i];
            continue;
        }
        bool later = false;
        for (size_t k = i + 1; k < m_runs.size() && !later; ++k)
            later = m_runs[k].id == runs[i].id;
        if (later) {
            setRuns(std::move(runs));
            return;
        }
        beginInsertRows({}, int(i), int(i));
        m_runs.insert(m_runs.begin() + qsizetype(i), runs[i]);
        m_rowIndex.clear();
        endInsertRows();
    }
    refold();
    if (!m_runs.empty())
        Q_EMIT dataChanged(index(0, 0), index(int(m_runs.size()) - 1, ColumnCount - 1));
}

const lbk::RunSummary *RunsModel::runAt(int row) const
{
    return row >= 0 && row < int(m_runs.size()) ? &m_runs[size_t(row)] : nullptr;
}

int RunsModel::rowOf(qint64 runId) const
{
    if (m_rowIndex.empty()) // built again after rows came or went: a search looks up every folded row's runs
        for (size_t i = 0; i < m_runs.size(); ++i)
            m_rowIndex[m_runs[i].id] = int(i);
    const auto it = m_rowIndex.find(runId);
    return it == m_rowIndex.end() ? -1 : it->second;
}

int RunsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_runs.size());
}

int RunsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RunsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto &r = m_runs[size_t(index.row())];
    switch (role) {
    case RunIdRole: return QVariant::fromValue<qint64>(r.id);
    case StatusRole: return int(r.status);
    case UidRole: return qs(r.uid);
    case Qt::DisplayRole:
    case Qt::EditRole:
    case SortRole: return cellData(r, index.column(), role);
    default: return styleData(r, index.column(), role);
    }
}

namespace {
// A sweep's row: its best trial as the sweep names it, or why the row shows another of its runs.
QString sweepName(const RunFold &f, const lbk::RunSummary &shown)
{
    const QString label = qs(f.label), name = qs(shown.name);
    const qint64 n = qint64(f.members.size());
    if (f.showsBest())
        return RunsModel::tr("%1: best of %2, trial %3 (%4)").arg(label).arg(n).arg(f.sweep->best->trial).arg(name);
    if (f.sweep && f.sweep->best)
        return RunsModel::tr("%1: %2 runs, its best trial %3 not listed (%4)")
            .arg(label).arg(n).arg(f.sweep->best->trial).arg(name);
    if (f.sweep)
        return RunsModel::tr("%1: %2 runs, no trial finished (%3)").arg(label).arg(n).arg(name);
    return RunsModel::tr("%1: %2 runs (%3)").arg(label).arg(n).arg(name);
}

// How the sweep chose the row's run: its metric and direction, as lbk sweeps and the Sweeps tab say its best.
QString sweepTip(const RunFold &f)
{
    if (!f.sweep)
        return RunsModel::tr("The store has no record of this sweep: the row shows its newest run.");
    const auto &s = *f.sweep;
    const QString rule = RunsModel::tr("The sweep's best is its finished trial with the %1 %2 (pruned trials' "
                                       "values are from before they were stopped and do not count)")
                             .arg(s.maximize ? RunsModel::tr("highest") : RunsModel::tr("lowest"), qs(s.metric));
    if (!s.best)
        return rule + RunsModel::tr("; none has finished, so the row shows the newest run.");
    return rule + RunsModel::tr(": trial %1, %2. The status is the sweep's.")
                      .arg(s.best->trial)
                      .arg(formatScore(*s.best->value));
}
} // namespace

// A sweep's row says the sweep's status (its best trial has finished by definition); any other row its run's.
QVariant RunsModel::statusData(const lbk::RunSummary &r, int role) const
{
    const RunFold *f = sweepFold(r);
    const std::optional<lbk::SweepStatus> sweep = f && f->sweep ? std::optional(f->sweep->status) : std::nullopt;
    switch (role) {
    case Qt::ForegroundRole: return QBrush(sweep ? statusColor(*sweep) : statusColor(r.status));
    case Qt::FontRole: {
        if (!(sweep ? *sweep == lbk::SweepStatus::Running : lbk::isActive(r.status)))
            return {};
        QFont font;
        font.setBold(true);
        return font;
    }
    case Qt::ToolTipRole:
        if (sweep)
            return tr("The sweep is %1; the run this row shows is %2").arg(statusText(*sweep), statusText(r));
        return r.error.empty() ? QVariant() : QVariant(qs(r.error));
    default: return sweep ? statusText(*sweep) : statusText(r);
    }
}

QVariant RunsModel::styleData(const lbk::RunSummary &r, int column, int role) const
{
    switch (role) {
    case Qt::ForegroundRole:
    case Qt::FontRole:
        return column == Status ? statusData(r, role) : QVariant();
    case Qt::ToolTipRole:
        if (column == Status)
            return statusData(r, role);
        if (const RunFold *f = sweepFold(r); f && column == Name)
            return sweepTip(*f);
        if (const auto *stats = groupStats(r, column))
            return tr("Mean and sample standard deviation over the %1 of the group that have it")
                .arg(counted(stats->n, tr("run"), tr("runs")));
        if (column == Notes || column == Name)
            return qs(r.notes);
        return {};
    case Qt::TextAlignmentRole:
        switch (column) {
        case Id: case BestF1: case BestAccuracy: case FinalLoss: case Duration:
            return int(Qt::AlignRight | Qt::AlignVCenter);
        default: return {};
        }
    default: return {};
    }
}

QVariant RunsModel::cellData(const lbk::RunSummary &r, int column, int role) const
{
    const bool sort = role == SortRole;
    switch (column) {
    case Status: return statusData(r, role);
    case Id: return sort ? QVariant::fromValue<qint64>(r.id) : QVariant(QString::number(r.id));
    case Name: return nameData(r, role);
    case Experiment: return qs(r.experiment);
    case Kind: return r.lrFind() ? QStringLiteral("LR finder") : QStringLiteral("train");
    case Task: return qs(r.task);
    case BestF1:
    case BestAccuracy:
    case FinalLoss: return metricData(r, column, role);
    case Started: return sort ? QVariant(r.startedAt > 0 ? r.startedAt : r.createdAt)
                              : QVariant(formatTimestamp(r.startedAt > 0 ? r.startedAt : r.createdAt));
    // A run that never started sorts below one that took no time.
    case Duration: return sort ? QVariant(r.duration().value_or(-1.0)) : QVariant(formatDuration(r.duration()));
    case Host: return qs(r.host);
    case Tags: return toStringList(r.tags).join(QStringLiteral(", "));
    case Notes: return role == Qt::DisplayRole ? qs(r.notes).section(QLatin1Char('\n'), 0, 0) : qs(r.notes);
    default: return {};
    }
}

// A folded row says what it stands for; an LR range test is told apart from the experiment's training runs.
QVariant RunsModel::nameData(const lbk::RunSummary &r, int role) const
{
    if (const RunFold *f = fold(r.id); f && role == Qt::DisplayRole)
        return f->group ? tr("%1: mean of %2").arg(qs(f->label)).arg(f->members.size()) : sweepName(*f, r);
    if (role == Qt::DisplayRole && r.lrFind())
        return tr("%1 (LR test)").arg(qs(r.name));
    return qs(r.name);
}

// A metric column: the run's value, or a folded group's mean and spread as `lbk runs --group` writes them.
QVariant RunsModel::metricData(const lbk::RunSummary &r, int column, int role) const
{
    const auto *stats = groupStats(r, column);
    const double v = stats ? stats->mean : columnValue(r, column);
    if (role == SortRole)
        return std::isfinite(v) ? v : -1e300; // runs without the metric sort last in descending order
    if (stats && stats->n > 1 && role == Qt::DisplayRole)
        return qs(lbk::formatStats(*stats));
    return std::isfinite(v) ? formatScore(v) : QString();
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case BestF1:
            return tr("Best validation F1: the positive class's for binary tasks, micro F1 for multi-label ones, "
                      "macro F1 otherwise (final when no best was recorded)");
        case BestAccuracy: return tr("Best validation accuracy");
        case FinalLoss: return tr("Validation loss at the end of the run");
        default: return {};
        }
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Status: return tr("Status");
    case Id: return tr("Id");
    case Name: return tr("Name");
    case Experiment: return tr("Experiment");
    case Kind: return tr("Kind");
    case Task: return tr("Task");
    case BestF1: return tr("Best F1");
    case BestAccuracy: return tr("Best acc.");
    case FinalLoss: return tr("Final val loss");
    case Started: return tr("Started");
    case Duration: return tr("Duration");
    case Host: return tr("Host");
    case Tags: return tr("Tags");
    case Notes: return tr("Notes");
    default: return {};
    }
}

Qt::ItemFlags RunsModel::flags(const QModelIndex &index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    auto f = Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren;
    if (index.column() == Name || index.column() == Tags || index.column() == Notes)
        f |= Qt::ItemIsEditable;
    return f;
}

bool RunsModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (role != Qt::EditRole || !checkIndex(index, CheckIndexOption::IndexIsValid))
        return false;
    auto &r = m_runs[size_t(index.row())];
    const QString text = value.toString();
    switch (index.column()) {
    case Name: r.name = ss(text.trimmed()); break;
    case Notes: r.notes = ss(text); break;
    case Tags: {
        std::vector<std::string> tags;
        for (const auto &t : text.split(QLatin1Char(','), Qt::SkipEmptyParts))
            if (!t.trimmed().isEmpty())
                tags.push_back(ss(t.trimmed()));
        r.tags = tags;
        break;
    }
    default: return false;
    }
    Q_EMIT dataChanged(index, index);
    Q_EMIT runEdited(r.id, index.column(), text);
    return true;
}

} // namespace labbook
