#pragma once
// Which trial is a sweep's best: one rule for lbk sweeps, lbk sweep show, the Sweeps tab and the run list's row per
// sweep (they disagreed: the run list took the trial with the highest macro F1, a pruned one among them).
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace lbk {

// Whether trial a is listed before b: the trials that may be best first (found by an audit: a pruned trial that
// scored above the best, stopped late, headed lbk sweep show and the Sweeps tab under a "best" naming another), then
// the others with a value (pruned, still running), each by the sweep's metric in its direction; no value last.
bool rankedBefore(const TrialRecord &a, const TrialRecord &b, bool maximize);
// Whether a trial can be the best: finished, with a value. A pruned trial's value is its best before it was
// stopped, not comparable with a finished trial's.
bool mayBeBest(const TrialRecord &t);
// The best of these trials: the first by rankedBefore that mayBeBest (the earlier trial of a tie); nullptr when none.
const TrialRecord *bestTrial(const std::vector<TrialRecord> &trials, bool maximize);

// A sweep as a run list folds its trials into one row: its status, the metric that decides, and its best trial.
struct SweepBest {
    int64_t id = 0;
    std::string name;
    SweepStatus status = SweepStatus::Running;
    std::string metric;
    bool maximize = true;
    int trials = 0;
    std::optional<TrialRecord> best;
};
// Every sweep of the store, newest first; a sweep whose recorded spec no longer reads is left out.
std::vector<SweepBest> sweepBests(const Store &store);

} // namespace lbk
