#include "runsfilterproxy.h"

#include "format.h"
#include "models/runsmodel.h"

namespace labbook {

RunsFilterProxy::RunsFilterProxy(QObject *parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(RunsModel::SortRole);
    setDynamicSortFilter(true);
}

void RunsFilterProxy::setText(const QString &text)
{
    m_text = text.trimmed();
    invalidateFilter();
}

void RunsFilterProxy::setStatus(const QString &statusWord)
{
    m_status = statusWord;
    invalidateFilter();
}

void RunsFilterProxy::setExperiment(const QString &experiment)
{
    m_experiment = experiment;
    invalidateFilter();
}

void RunsFilterProxy::setTask(const QString &task)
{
    m_task = task;
    invalidateFilter();
}

void RunsFilterProxy::setKind(const QString &kind)
{
    m_kind = kind;
    invalidateFilter();
}

void RunsFilterProxy::setFoldSweeps(bool on)
{
    if (auto *model = qobject_cast<RunsModel *>(sourceModel()))
        model->setFoldSweeps(on);
    invalidateFilter();
}

bool RunsFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    if (sourceParent.isValid())
        return false;
    const auto *model = qobject_cast<const RunsModel *>(sourceModel());
    const lbk::RunSummary *r = model ? model->runAt(sourceRow) : nullptr;
    if (!r)
        return true;
    if (model->foldedAway(sourceRow))
        return false;
    if (!m_status.isEmpty() && qs(r->statusWord()) != m_status)
        return false;
    if (!m_experiment.isEmpty() && qs(r->experiment) != m_experiment)
        return false;
    if (!m_task.isEmpty() && qs(r->task) != m_task)
        return false;
    if (!m_kind.isEmpty() && qs(r->kind) != m_kind)
        return false;
    if (m_text.isEmpty() || matchesText(*r))
        return true;
    // A folded row stands for its sweep's trials or its group's seeds: a search for any of them finds it.
    if (const RunFold *f = model->fold(r->id)) {
        if (qs(f->label).contains(m_text, Qt::CaseInsensitive))
            return true;
        for (const int64_t member : f->members)
            if (const lbk::RunSummary *m = model->runAt(model->rowOf(member)); m && matchesText(*m))
                return true;
    }
    return false;
}

bool RunsFilterProxy::matchesText(const lbk::RunSummary &r) const
{
    const auto has = [this](const std::string &s) { return qs(s).contains(m_text, Qt::CaseInsensitive); };
    if (has(r.name) || has(r.experiment) || has(r.notes) || has(r.host) || has(r.uid) ||
        QString::number(r.id) == m_text)
        return true;
    for (const auto &t : r.tags)
        if (has(t))
            return true;
    return false;
}

} // namespace labbook
