#pragma once
// The run list as a table: a thin adapter over lbk::RunSummary values (never metric history, so 1,000 runs
// load instantly). Live updates merge by run id, so selection and scroll position survive a refresh.
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <QAbstractTableModel>

#include "store/store.h"
#include "models/runfold.h"
#include "sweep/groups.h"

namespace labbook {

class RunsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Status, Id, Name, Experiment, Kind, Task, BestF1, BestAccuracy, FinalLoss, Started, Duration, Host, Tags,
                  Notes, ColumnCount };
    enum Role { RunIdRole = Qt::UserRole + 1, StatusRole, SortRole, UidRole };

    using QAbstractTableModel::QAbstractTableModel;

    // Replaces everything (reset).
    void setRuns(std::vector<lbk::RunSummary> runs);
    // Merges a fresh list: rows of vanished runs are removed, new runs inserted, changed rows updated.
    void updateRuns(std::vector<lbk::RunSummary> runs);
    const std::vector<lbk::RunSummary> &runs() const { return m_runs; }
    // The store's sweeps, for their rows when folded; set before the runs (setRuns, updateRuns) that fold by them.
    void setSweeps(std::vector<lbk::SweepBest> sweeps) { m_sweeps = std::move(sweeps); }
    // One row per sweep and per run group (models/runfold.h), the others foldedAway() for the filter proxy to hide.
    // A sweep's runs (tagged "sweep:NAME") fold into its best trial by the sweep's own metric, named "NAME: best of
    // N, trial T (run name)", with the sweep's status; a run group's (tagged "group:LABEL", the same config over
    // seeds) into one row "LABEL: mean of N" whose metric columns are the mean and sample deviation across its
    // finished runs.
    void setFoldSweeps(bool on);
    bool foldSweeps() const { return m_fold; }
    bool foldedAway(int row) const;
    const lbk::RunSummary *runAt(int row) const;
    // The runs a row stands for in a comparison: a run group's every run (each seed), else the row's own run (a
    // sweep's row: its best trial). fold() says which fold a row shows, nullptr for a run of its own.
    std::vector<qint64> comparedRuns(qint64 runId) const;
    const RunFold *fold(qint64 runId) const;
    int rowOf(qint64 runId) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    bool setData(const QModelIndex &index, const QVariant &value, int role = Qt::EditRole) override;

Q_SIGNALS:
    // The user edited name, tags (comma separated) or notes in place; the owner writes it to the store.
    void runEdited(qint64 runId, int column, const QString &value);

private:
    void refold();
    const RunFold *sweepFold(const lbk::RunSummary &r) const; // the sweep whose row r is, else nullptr
    // A folded group row's statistics for a metric column; nullptr for any other row or column.
    const lbk::MetricStats *groupStats(const lbk::RunSummary &r, int column) const;
    // data() by role: the look of a cell (colour, font, tooltip, alignment), and its text or sort key.
    QVariant styleData(const lbk::RunSummary &r, int column, int role) const;
    QVariant cellData(const lbk::RunSummary &r, int column, int role) const;
    QVariant nameData(const lbk::RunSummary &r, int role) const;
    QVariant statusData(const lbk::RunSummary &r, int role) const;
    QVariant metricData(const lbk::RunSummary &r, int column, int role) const;
    std::vector<lbk::RunSummary> m_runs;
    std::vector<lbk::SweepBest> m_sweeps;
    bool m_fold = false;
    struct Fold {
        RunFold fold;
        std::vector<lbk::MetricStats> stats; // group only: BestF1, BestAccuracy, FinalLoss
    };
    std::unordered_map<int64_t, Fold> m_folds; // the run whose row stands for the fold -> its fold
    std::unordered_set<int64_t> m_foldedAway;
    mutable std::unordered_map<qint64, int> m_rowIndex; // run id -> row, rowOf's; cleared when rows come or go
};

} // namespace labbook
