#include "sweep/pruner.h"

#include <algorithm>
#include <cmath>

#include "util/text.h"

namespace lbk {

namespace {

// The trial's first point at or past `resource`.
const TrialPoint *reached(const TrialProgress &t, double resource)
{
    for (const auto &p : t.points)
        if (p.resource >= resource)
            return &p;
    return nullptr;
}

bool better(double a, double b, bool maximize) { return maximize ? a > b : a < b; }

std::optional<PruneDecision> asha(const EarlyStoppingSpec &rule, bool maximize, const std::vector<TrialProgress> &trials,
                                  const TrialProgress &me)
{
    if (me.points.empty())
        return std::nullopt;
    for (const double rung : ashaRungs(rule, me.points.back().resource)) {
        const TrialPoint *mine = reached(me, rung);
        int ahead = 0, tied = 0, n = 1; // values at this rung recorded before mine: better than mine, equal to it
        for (const auto &other : trials) {
            if (other.index == me.index)
                continue;
            const TrialPoint *theirs = reached(other, rung);
            if (!theirs || theirs->wall > mine->wall || (theirs->wall == mine->wall && other.index > me.index))
                continue;
            ++n;
            ahead += better(theirs->value, mine->value, maximize);
            tied += theirs->value == mine->value;
        }
        // Equal values share a rank (1, 2, 2, 4): a metric on a plateau (an F1 of 0 before anything is predicted
        // positive, the majority class's macro-F1) cannot tell the trials apart, so none of them is stopped for
        // arriving later.
        const int keep = std::max(1, int(std::floor(double(n) / rule.eta + 1e-9)));
        if (ahead + 1 > keep)
            return PruneDecision{"asha", "rung " + significant(rung) + ": " + significant(mine->value) + " ranks " +
                                             std::to_string(ahead + 1) + " of " + std::to_string(n) + " trials there" +
                                             (tied ? " (tied with " + std::to_string(tied) + ")" : "") + "; the best " +
                                             std::to_string(keep) + " continue (eta " + significant(rule.eta) + ")"};
    }
    return std::nullopt;
}

std::optional<PruneDecision> median(const EarlyStoppingSpec &rule, bool maximize,
                                    const std::vector<TrialProgress> &trials, const TrialProgress &me)
{
    if (me.points.empty() || me.points.back().resource < rule.grace)
        return std::nullopt;
    const double at = me.points.back().resource;
    const auto bestUpTo = [&](const TrialProgress &t) {
        std::optional<double> best;
        for (const auto &p : t.points)
            if (p.resource <= at && (!best || better(p.value, *best, maximize)))
                best = p.value;
        return best;
    };
    std::vector<double> others;
    for (const auto &t : trials)
        if (t.index != me.index && std::any_of(t.points.begin(), t.points.end(),
                                               [&](const TrialPoint &p) { return p.resource == at; }))
            others.push_back(*bestUpTo(t));
    if (int(others.size()) < rule.minTrials)
        return std::nullopt;
    std::sort(others.begin(), others.end());
    const size_t m = others.size();
    const double med = m % 2 ? others[m / 2] : (others[m / 2 - 1] + others[m / 2]) / 2;
    const double mine = *bestUpTo(me);
    if (!better(med, mine, maximize))
        return std::nullopt;
    return PruneDecision{"median", "at " + significant(at) + ": best so far " + significant(mine) + " is " +
                                       (maximize ? "below" : "above") + " the median " + significant(med) + " of " +
                                       std::to_string(m) + " other trials there"};
}

} // namespace

std::vector<double> ashaRungs(const EarlyStoppingSpec &rule, double upTo)
{
    std::vector<double> rungs;
    for (double r = rule.minResource; r <= upTo + 1e-9; r *= rule.eta) {
        if (rule.maxResource > 0 && r >= rule.maxResource - 1e-9)
            break;
        rungs.push_back(r);
    }
    return rungs;
}

std::optional<PruneDecision> decidePrune(const EarlyStoppingSpec &rule, bool maximize,
                                         const std::vector<TrialProgress> &trials, int index)
{
    const auto me = std::find_if(trials.begin(), trials.end(), [&](const TrialProgress &t) { return t.index == index; });
    if (me == trials.end())
        return std::nullopt;
    switch (rule.type) {
    case PrunerType::Asha: return asha(rule, maximize, trials, *me);
    case PrunerType::Median: return median(rule, maximize, trials, *me);
    case PrunerType::None: break;
    }
    return std::nullopt;
}

} // namespace lbk
