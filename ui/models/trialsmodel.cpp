#include "models/trialsmodel.h"

#include <QColor>

#include "format.h"

namespace labbook {

void TrialsModel::setOverview(const lbk::SweepOverview &overview)
{
    beginResetModel();
    m_o = overview;
    endResetModel();
}

int TrialsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_o.trials.size());
}

int TrialsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : reasonColumn() + 1;
}

QVariant TrialsModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || size_t(index.row()) >= m_o.trials.size())
        return {};
    const lbk::TrialRow &row = m_o.trials[size_t(index.row())];
    const lbk::TrialRecord &t = row.trial;
    const int c = index.column();
    if (role == RunIdRole)
        return qint64(t.run);
    if (role == TrialRole)
        return t.trial;
    if (role == Qt::ForegroundRole && c == State) {
        if (t.state == lbk::TrialState::Pruned)
            return QColor(0x9a, 0x6b, 0x1f);
        if (t.state == lbk::TrialState::Failed)
            return QColor(0xc0, 0x39, 0x2b);
        return {};
    }
    if (role == Qt::ToolTipRole && c == reasonColumn())
        return QString::fromStdString(t.reason);
    if (role == SortRole) {
        if (c == Trial)
            return t.trial;
        if (c == Value) // the overview's rank (finished trials first: rankedBefore), best first in the metric's order
            return m_o.spec.maximize ? double(m_o.trials.size()) - index.row() : double(index.row());
        if (c == stepColumn())
            return qint64(row.lastStep);
        if (c == runColumn())
            return qint64(t.run);
        if (isKeyColumn(c)) {
            const auto &axis = m_o.axes[size_t(c - FirstKey)];
            return axis.position(t.params.value(axis.key, nlohmann::json()));
        }
        return data(index, Qt::DisplayRole);
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (c) {
    case Trial: return t.trial;
    case State: return QString::fromStdString(row.stateText());
    case Value: return t.value ? formatScore(*t.value) : QStringLiteral("-");
    default: break;
    }
    if (c == stepColumn())
        return t.run > 0 ? formatCount(row.lastStep) : QStringLiteral("-");
    if (c == runColumn())
        return t.run > 0 ? QVariant(qint64(t.run)) : QVariant(QStringLiteral("-"));
    if (isKeyColumn(c)) {
        const auto &axis = m_o.axes[size_t(c - FirstKey)];
        return t.params.contains(axis.key) ? QString::fromStdString(axis.label(t.params[axis.key])) : QStringLiteral("-");
    }
    return t.state == lbk::TrialState::Pruned || t.state == lbk::TrialState::Failed ? QString::fromStdString(t.reason)
                                                                                   : QString();
}

QVariant TrialsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Trial: return tr("Trial");
    case State: return tr("State");
    case Value: return QString::fromStdString(m_o.spec.metric);
    default: break;
    }
    if (section == stepColumn())
        return tr("Step");
    if (section == runColumn())
        return tr("Run");
    if (isKeyColumn(section))
        return QString::fromStdString(m_o.axes[size_t(section - FirstKey)].key);
    return tr("Why");
}

} // namespace labbook
