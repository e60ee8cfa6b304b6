#include "sweep/sweepbest.h"

#include "sweep/scheduler.h"

namespace lbk {

bool rankedBefore(const TrialRecord &a, const TrialRecord &b, bool maximize)
{
    if (mayBeBest(a) != mayBeBest(b))
        return mayBeBest(a);
    if (a.value.has_value() != b.value.has_value())
        return a.value.has_value();
    if (!a.value)
        return false;
    return maximize ? *a.value > *b.value : *a.value < *b.value;
}

bool mayBeBest(const TrialRecord &t)
{
    return t.value && t.state == TrialState::Finished;
}

const TrialRecord *bestTrial(const std::vector<TrialRecord> &trials, bool maximize)
{
    const TrialRecord *best = nullptr;
    for (const auto &t : trials)
        if (mayBeBest(t) && (!best || rankedBefore(t, *best, maximize)))
            best = &t;
    return best;
}

std::vector<SweepBest> sweepBests(const Store &store)
{
    std::vector<SweepBest> out;
    for (const auto &s : store.sweeps()) {
        const auto spec = sweepSpecOf(s);
        if (!spec)
            continue;
        const auto trials = store.trials(s.id);
        const TrialRecord *best = bestTrial(trials, spec->maximize);
        out.push_back({s.id, s.name, s.status, spec->metric, spec->maximize, int(trials.size()),
                       best ? std::optional(*best) : std::nullopt});
    }
    return out;
}

} // namespace lbk
