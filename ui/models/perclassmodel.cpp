#include "perclassmodel.h"

#include <QBrush>
#include <QColor>

#include <cmath>

#include "format.h"
#include "protocol/eventreader.h"

namespace labbook {

void PerClassModel::setSummary(const nlohmann::json &summary)
{
    beginResetModel();
    m_rows.clear();
    if (summary.is_object() && summary.contains("per_class") && summary["per_class"].is_array()) {
        for (const auto &c : summary["per_class"]) {
            if (!c.is_object())
                continue;
            Row r;
            // A script's evaluation may give a figure as null (NaN in JSON): read as nothing, never thrown.
            r.label = qs(lbk::event::getStr(c, "label"));
            r.precision = lbk::event::getNum(c, "precision").value_or(std::nan(""));
            r.recall = lbk::event::getNum(c, "recall").value_or(std::nan(""));
            r.f1 = lbk::event::getNum(c, "f1").value_or(std::nan(""));
            r.support = lbk::event::getInt(c, "support").value_or(0);
            m_rows.push_back(r);
        }
    }
    endResetModel();
}

int PerClassModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int PerClassModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant PerClassModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &r = m_rows[size_t(index.row())];
    const double value = index.column() == Precision ? r.precision
                         : index.column() == Recall  ? r.recall
                         : index.column() == F1      ? r.f1
                                                     : double(r.support);
    switch (role) {
    case Qt::DisplayRole:
        if (index.column() == Label)
            return r.label;
        if (index.column() == Support)
            return formatCount(r.support);
        return std::isfinite(value) ? QString::number(value, 'f', 3) : QStringLiteral("-");
    case SortRole:
        if (index.column() == Label)
            return r.label;
        return value;
    case Qt::TextAlignmentRole:
        return index.column() == Label ? QVariant() : QVariant(int(Qt::AlignRight | Qt::AlignVCenter));
    case Qt::BackgroundRole:
        // A bar-like tint that makes weak classes visible at a glance.
        if (index.column() == F1 && std::isfinite(r.f1)) {
            QColor c = QColor::fromHsvF(float(0.33 * r.f1), 0.7f, 0.85f);
            c.setAlphaF(0.45f);
            return QBrush(c);
        }
        return {};
    default: return {};
    }
}

QVariant PerClassModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Label: return tr("Class");
    case Precision: return tr("Precision");
    case Recall: return tr("Recall");
    case F1: return tr("F1");
    case Support: return tr("Support");
    default: return {};
    }
}

} // namespace labbook
