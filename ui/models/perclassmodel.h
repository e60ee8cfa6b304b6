#pragma once
// Precision, recall, F1 and support per class from an evaluation summary's per_class array.
#include <vector>

#include <QAbstractTableModel>

#include <nlohmann/json.hpp>

namespace labbook {

class PerClassModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Label, Precision, Recall, F1, Support, ColumnCount };
    enum Role { SortRole = Qt::UserRole + 1 };
    using QAbstractTableModel::QAbstractTableModel;

    void setSummary(const nlohmann::json &summary);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row {
        QString label;
        double precision = 0, recall = 0, f1 = 0;
        qint64 support = 0;
    };
    std::vector<Row> m_rows;
};

} // namespace labbook
