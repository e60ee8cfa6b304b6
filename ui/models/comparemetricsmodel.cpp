#include "comparemetricsmodel.h"

#include <cmath>
#include <limits>
#include <set>

#include <QBrush>
#include <QColor>
#include <QFont>

#include "format.h"
#include "metrics/metrics.h"

namespace labbook {

void CompareMetricsModel::setRuns(const std::vector<lbk::RunSummary> &runs, bool ranked)
{
    beginResetModel();
    m_names.clear();
    m_rows.clear();
    for (const auto &r : runs)
        m_names << QStringLiteral("#%1 %2").arg(r.id).arg(qs(r.name)) + // its figures are from before its stop
                       (r.pruned() ? tr(" (pruned)") : QString());
    for (const std::string section : {"best", "final"}) {
        std::set<std::string> keys;
        for (const auto &r : runs)
            if (r.summary.contains(section) && r.summary[section].is_object())
                for (const auto &[k, v] : r.summary[section].items())
                    if (v.is_number() && k != "epoch" && k != "lr" && (section == "final" || lbk::listsBest(k)))
                        keys.insert(k);
        for (const auto &k : keys) {
            Row row;
            row.label = qs(k) + QStringLiteral(" (") + qs(section) + QLatin1Char(')');
            for (const auto &r : runs)
                row.values.push_back(orNan(r.summaryValue(section.c_str(), k)));
            row.best = ranked ? lbk::bestRun(k, row.values) : -1;
            m_rows.push_back(std::move(row));
        }
    }
    Row duration;
    duration.label = tr("duration (s)");
    for (const auto &r : runs)
        duration.values.push_back(orNan(r.duration())); // "-" for a run that never started
    m_rows.push_back(std::move(duration));
    endResetModel();
}

int CompareMetricsModel::bestColumn(int row) const
{
    return row >= 0 && row < int(m_rows.size()) ? m_rows[size_t(row)].best : -1;
}

int CompareMetricsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int CompareMetricsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : 1 + int(m_names.size());
}

QVariant CompareMetricsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows[size_t(index.row())];
    const int run = index.column() - 1;
    const bool best = run >= 0 && run == row.best;
    switch (role) {
    case Qt::DisplayRole:
        if (run < 0)
            return row.label;
        return formatMetric(row.values[size_t(run)]);
    case ValueRole: return run < 0 ? QVariant() : QVariant(row.values[size_t(run)]);
    case IsBestRole: return best;
    case Qt::TextAlignmentRole: return run < 0 ? QVariant() : QVariant(int(Qt::AlignRight | Qt::AlignVCenter));
    case Qt::FontRole:
        if (best) {
            QFont f;
            f.setBold(true);
            return f;
        }
        return {};
    case Qt::BackgroundRole:
        if (best) {
            QColor c(0x2e, 0x9d, 0x4f);
            c.setAlphaF(0.3f);
            return QBrush(c);
        }
        return {};
    default: return {};
    }
}

QVariant CompareMetricsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || (role != Qt::DisplayRole && role != Qt::ToolTipRole))
        return {};
    return section == 0 ? tr("Metric") : m_names.value(section - 1);
}

} // namespace labbook
