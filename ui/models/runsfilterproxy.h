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

    void setText(const QString &text);           // substring of name, experiment, tags, notes, host or id
    void setStatus(std::optional<lbk::RunStatus> status);
    void setExperiment(const QString &experiment); // empty: any
    void setTask(const QString &task);             // empty: any
    void setKind(const QString &kind);             // "train", "lr_find", empty: any
    void setFoldSweeps(bool on);                   // one row per sweep (RunsModel::setFoldSweeps)

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_text, m_experiment, m_task, m_kind;
    std::optional<lbk::RunStatus> m_status;
};

} // namespace labbook
