#pragma once
// Text search and filters (status, experiment, task, kind) over RunsModel, sorting by RunsModel::SortRole.
#include <optional>

#include <QSortFilterProxyModel>

#include "store/store.h"

namespace labbook {

class RunsFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit RunsFilterProxy(QObject *parent = nullptr);

    // A substring of name, experiment, tags, notes, host or id; a folded row (setFoldSweeps) matches when its
    // sweep's or group's name or any of its runs does.
    void setText(const QString &text);
    // A status as the list words it ("pruned" apart from "cancelled", as the Status column shows it); empty: any.
    void setStatus(const QString &statusWord);
    void setExperiment(const QString &experiment); // empty: any
    void setTask(const QString &task);             // empty: any
    void setKind(const QString &kind);             // "train", "lr_find", empty: any
    void setFoldSweeps(bool on);                   // one row per sweep (RunsModel::setFoldSweeps)

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    bool matchesText(const lbk::RunSummary &r) const; // the search text in its name, experiment, tags, notes...
    QString m_text, m_experiment, m_task, m_kind;
    QString m_status;
};

} // namespace labbook
