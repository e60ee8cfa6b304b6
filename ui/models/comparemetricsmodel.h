#pragma once
// Final and best metrics of several runs, one column per run, the best value of each row highlighted
// (lower is better for losses, higher for everything else).
#include <vector>

#include <QAbstractTableModel>
#include <QStringList>

#include "store/store.h"

namespace labbook {

class CompareMetricsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Role { IsBestRole = Qt::UserRole + 1, ValueRole };
    using QAbstractTableModel::QAbstractTableModel;

    // ranked: mark each row's best (not for runs measured against different labels, lbk::distinctLabelings).
    void setRuns(const std::vector<lbk::RunSummary> &runs, bool ranked = true);
    // The column (0-based run index) holding the best value of a row, -1 when none.
    int bestColumn(int row) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row {
        QString label;
        std::vector<double> values; // NaN when the run lacks it
        int best = -1;
    };
    QStringList m_names;
    std::vector<Row> m_rows;
};

} // namespace labbook
