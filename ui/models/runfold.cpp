#include "runfold.h"

#include <algorithm>
#include <map>

#include "sweep/groups.h"

namespace labbook {

namespace {
// The fold's tag of a run: its group's when it has one, else its sweep's; nullptr when neither.
const std::string *foldTag(const lbk::RunSummary &r)
{
    const std::string *sweep = nullptr;
    for (const auto &tag : r.tags) {
        if (tag.rfind(lbk::kGroupTagPrefix, 0) == 0)
            return &tag;
        if (!sweep && tag.rfind(lbk::kSweepTagPrefix, 0) == 0)
            sweep = &tag;
    }
    return sweep;
}

// A group's row is the run with the best listed F1: the means are the group's, the row opens one of its runs.
int64_t groupShown(const std::vector<const lbk::RunSummary *> &runs)
{
    const auto f1 = [](const lbk::RunSummary *r) { return r->listedValue(r->listedF1Key()).value_or(-0.5); };
    return (*std::max_element(runs.begin(), runs.end(), [&](auto *a, auto *b) { return f1(a) < f1(b); }))->id;
}

int64_t sweepShown(const RunFold &f, const std::vector<const lbk::RunSummary *> &runs)
{
    if (f.sweep && f.sweep->best && std::count(f.members.begin(), f.members.end(), f.sweep->best->run))
        return f.sweep->best->run;
    return (*std::max_element(runs.begin(), runs.end(), [](auto *a, auto *b) { return a->id < b->id; }))->id;
}

RunFold foldOf(const std::string &tag, const std::vector<const lbk::RunSummary *> &runs,
               const std::vector<lbk::SweepBest> &sweeps)
{
    RunFold f;
    f.group = tag.rfind(lbk::kGroupTagPrefix, 0) == 0;
    f.label = tag.substr(tag.find(':') + 1);
    for (const auto *r : runs)
        f.members.push_back(r->id);
    if (f.group) {
        f.shown = groupShown(runs);
        return f;
    }
    const auto sweep = std::find_if(sweeps.begin(), sweeps.end(), [&](const auto &s) { return s.name == f.label; });
    if (sweep != sweeps.end())
        f.sweep = *sweep;
    f.shown = sweepShown(f, runs);
    return f;
}
} // namespace

std::vector<RunFold> foldRuns(const std::vector<lbk::RunSummary> &runs, const std::vector<lbk::SweepBest> &sweeps)
{
    std::map<std::string, std::vector<const lbk::RunSummary *>> members;
    for (const auto &r : runs)
        if (const std::string *tag = foldTag(r))
            members[*tag].push_back(&r);
    std::vector<RunFold> folds;
    for (const auto &[tag, m] : members)
        folds.push_back(foldOf(tag, m, sweeps));
    return folds;
}

} // namespace labbook
