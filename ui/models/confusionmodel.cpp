#include "confusionmodel.h"

#include <QBrush>
#include <QColor>

#include "format.h"

namespace labbook {

void ConfusionModel::setSummary(const nlohmann::json &summary)
{
    QStringList labels;
    std::vector<std::vector<qint64>> counts;
    if (summary.is_object() && summary.contains("labels") && summary.contains("confusion") &&
        summary["confusion"].is_array()) {
        for (const auto &l : summary["labels"])
            labels << (l.is_string() ? qs(l.get<std::string>()) : QString());
        for (const auto &row : summary["confusion"]) {
            std::vector<qint64> r;
            for (const auto &c : row)
                r.push_back(c.is_number() ? c.get<qint64>() : 0);
            r.resize(size_t(labels.size()), 0);
            counts.push_back(std::move(r));
        }
        counts.resize(size_t(labels.size()), std::vector<qint64>(size_t(labels.size()), 0));
    }
    setMatrix(labels, std::move(counts));
}

void ConfusionModel::setMatrix(const QStringList &labels, std::vector<std::vector<qint64>> counts)
{
    beginResetModel();
    m_labels = labels;
    m_counts = std::move(counts);
    m_rowTotals.assign(m_counts.size(), 0);
    for (size_t i = 0; i < m_counts.size(); ++i)
        for (auto c : m_counts[i])
            m_rowTotals[i] += c;
    endResetModel();
}

qint64 ConfusionModel::count(int t, int p) const
{
    if (t < 0 || p < 0 || size_t(t) >= m_counts.size() || size_t(p) >= m_counts[size_t(t)].size())
        return 0;
    return m_counts[size_t(t)][size_t(p)];
}

int ConfusionModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_counts.size());
}

int ConfusionModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_labels.size());
}

QVariant ConfusionModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const int t = index.row(), p = index.column();
    const qint64 n = count(t, p);
    const qint64 total = m_rowTotals[size_t(t)];
    const double share = total > 0 ? double(n) / double(total) : 0.0;
    switch (role) {
    case Qt::DisplayRole: return formatCount(n);
    case CountRole: return n;
    case RowShareRole: return share;
    case TrueLabelRole: return m_labels.value(t);
    case PredictedLabelRole: return m_labels.value(p);
    case Qt::TextAlignmentRole: return int(Qt::AlignCenter);
    case Qt::BackgroundRole: {
        if (n == 0)
            return {};
        QColor c = t == p ? QColor(0x2e, 0x9d, 0x4f) : QColor(0xe5, 0x39, 0x35);
        c.setAlphaF(float(0.12 + 0.78 * share));
        return QBrush(c);
    }
    case Qt::ToolTipRole:
        return tr("%1 papers of %2 predicted as %3 (%4% of %2)\nClick to list them")
            .arg(formatCount(n))
            .arg(m_labels.value(t), m_labels.value(p))
            .arg(share * 100.0, 0, 'f', 1);
    default: return {};
    }
}

QVariant ConfusionModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role == Qt::ToolTipRole)
        return orientation == Qt::Vertical ? tr("true: %1").arg(m_labels.value(section))
                                           : tr("predicted: %1 (%2)").arg(m_labels.value(section)).arg(section + 1);
    if (role != Qt::DisplayRole || section < 0 || section >= m_labels.size())
        return {};
    // Columns are numbered so twenty classes fit beside the predictions; rows say which number is which class.
    // Beyond a dozen classes the columns are narrow: every fifth is numbered (and the first), like a ruler.
    if (orientation == Qt::Horizontal)
        return m_labels.size() <= 12 || section == 0 || (section + 1) % 5 == 0 ? QString::number(section + 1) : QString();
    return QStringLiteral("%1  %2").arg(section + 1).arg(m_labels.value(section));
}

} // namespace labbook
