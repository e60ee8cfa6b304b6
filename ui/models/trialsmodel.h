#pragma once
// A sweep's trials as a table: trial, state, the metric, one column per swept key (right after the metric, so a
// narrow window still shows what each trial tried), the step reached, the run, and why a trial was pruned or
// failed. Rows come best first (sweepOverview's order); a filter (from the parallel coordinates' brushes) hides
// rows without changing them.
#include <functional>
#include <vector>

#include <QAbstractTableModel>

#include "sweep/overview.h"

namespace labbook {

class TrialsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Trial, State, Value, FirstKey }; // then the keys, stepColumn(), runColumn(), reasonColumn()
    enum Role { SortRole = Qt::UserRole + 1, RunIdRole, TrialRole };
    using QAbstractTableModel::QAbstractTableModel;

    void setOverview(const lbk::SweepOverview &overview);
    const lbk::SweepOverview &overview() const { return m_o; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    int stepColumn() const { return FirstKey + int(m_o.axes.size()); }
    int runColumn() const { return stepColumn() + 1; }
    int reasonColumn() const { return stepColumn() + 2; }

private:
    bool isKeyColumn(int c) const { return c >= FirstKey && c < stepColumn(); }
    lbk::SweepOverview m_o;
};

} // namespace labbook
