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

// The folded row's tag of a run: its group's when it has one, else its sweep's; nullptr when neither.
const std::string *foldTag(const lbk::RunSummary &r)
{
    const std::string *sweep = nullptr;
    for (const auto &tag : r.tags) {
        if (tag.rfind(lbk::kGroupTagPrefix, 0) == 0)
            return &tag;
        if (!sweep && tag.rfind(lbk::kSweepTagPrefix, 0) == 0)
            sweep = &tag;
    }
    return sweep;
}
} // namespace

void RunsModel::refold()
{
    m_folds.clear();
    m_foldedAway.clear();
    if (!m_fold)
        return;
    struct Members {
        int64_t best = 0;
        double bestValue = -1;
        std::vector<const lbk::RunSummary *> runs;
    };
    std::unordered_map<std::string, Members> folds;
    for (const auto &r : m_runs) {
        const std::string *tag = foldTag(r);
        if (!tag)
            continue;
        Members &m = folds[*tag];
        const double v = r.listedValue(r.listedF1Key()).value_or(-0.5);
        if (m.runs.empty() || v > m.bestValue) {
            m.best = r.id;
            m.bestValue = v;
        }
        m.runs.push_back(&r);
    }
    for (const auto &[tag, m] : folds) {
        Fold f;
        f.group = tag.rfind(lbk::kGroupTagPrefix, 0) == 0;
        f.label = tag.substr(tag.find(':') + 1);
        f.runs = int(m.runs.size());
        for (const int column : kStatColumns) {
            std::vector<double> xs;
            for (const auto *r : m.runs) // finished runs only, as `lbk runs --group` counts them
                if (const double v = columnValue(*r, column); r->status == lbk::RunStatus::Finished && std::isfinite(v))
                    xs.push_back(v);
            f.stats.push_back(lbk::statsOf({}, xs));
        }
        for (const auto *r : m.runs)
            if (r->id != m.best)
                m_foldedAway.insert(r->id);
        m_folds[m.best] = std::move(f);
    }
}

const lbk::MetricStats *RunsModel::groupStats(const lbk::RunSummary &r, int column) const
{
    if (!m_fold)
        return nullptr;
    const auto it = m_folds.find(r.id);
    if (it == m_folds.end() || !it->second.group)
        return nullptr;
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
    for (size_t i = 0; i < m_runs.size(); ++i)
        if (m_runs[i].id == runId)
            return int(i);
    return -1;
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

QVariant RunsModel::styleData(const lbk::RunSummary &r, int column, int role) const
{
    switch (role) {
    case Qt::ForegroundRole:
        if (column == Status)
            return QBrush(statusColor(r.status));
        return {};
    case Qt::FontRole:
        if (column == Status && lbk::isActive(r.status)) {
            QFont f;
            f.setBold(true);
            return f;
        }
        return {};
    case Qt::ToolTipRole:
        if (column == Status && !r.error.empty())
            return qs(r.error);
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
    case Status: return statusText(r);
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
    if (m_fold && role == Qt::DisplayRole)
        if (const auto it = m_folds.find(r.id); it != m_folds.end())
            return it->second.group
                       ? tr("%1: mean of %2").arg(qs(it->second.label)).arg(it->second.runs)
                       : tr("%1: best of %2 (%3)").arg(qs(it->second.label)).arg(it->second.runs).arg(qs(r.name));
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
            return tr("Best validation F1: the positive class's for binary tasks, macro F1 otherwise (final when no "
                      "best was recorded)");
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
