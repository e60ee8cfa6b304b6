#pragma once
// The confusion matrix of one evaluation: rows are true labels, columns predicted ones. Cells are shaded by
// their share of the row, diagonal green and mistakes red, so the big confusions stand out.
#include <vector>

#include <QAbstractTableModel>
#include <QStringList>

#include <nlohmann/json.hpp>

namespace labbook {

class ConfusionModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Role { TrueLabelRole = Qt::UserRole + 1, PredictedLabelRole, CountRole, RowShareRole };
    using QAbstractTableModel::QAbstractTableModel;

    // From an evaluation summary ({"labels": [...], "confusion": [[...]]}); empty when it has none.
    void setSummary(const nlohmann::json &summary);
    void setMatrix(const QStringList &labels, std::vector<std::vector<qint64>> counts);
    QStringList labels() const { return m_labels; }
    qint64 count(int trueIndex, int predictedIndex) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QStringList m_labels;
    std::vector<std::vector<qint64>> m_counts;
    std::vector<qint64> m_rowTotals;
};

} // namespace labbook
