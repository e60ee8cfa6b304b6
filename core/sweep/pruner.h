#pragma once
// Early stopping of a sweep's trials, as pure functions of the trials' progress, so the scheduler, its tests and
// a resumed sweep reach the same decisions from the same records.
//
// ASHA (asynchronous successive halving, Li et al. 2018): rungs at min_resource * eta^k resource units (below
// max_resource when set). A trial reaching a rung is compared with the trials that reached that rung before it
// (by wall time, then trial index) and itself: with n such values, the best max(1, floor(n / eta)) continue; a
// trial ranked below is stopped. Equal values share a rank (a plateau cannot tell trials apart). The first trial
// at a rung therefore continues; the bar rises as more arrive.
//
// Median rule: at a trial's latest point (at least `grace` units in), its best value so far is compared with the
// median of the other trials' best values up to the same point, among the trials that reported there (at least
// min_trials of them); worse than the median stops it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sweep/sweepspec.h"

namespace lbk {

struct TrialPoint {
    double resource = 0; // evaluations so far (1, 2, ...) or the step, as the sweep counts
    double value = 0;    // the sweep's metric
    double wall = 0;     // when it was recorded
};

struct TrialProgress {
    int index = 0;
    std::vector<TrialPoint> points; // in order of resource
};

struct PruneDecision {
    std::string rule;   // "asha" | "median"
    std::string reason; // the numbers that decided, for the trial's record
};

// Whether trial `index` of `trials` is to be stopped now; nullopt: it continues.
std::optional<PruneDecision> decidePrune(const EarlyStoppingSpec &rule, bool maximize, const std::vector<TrialProgress> &trials,
                                         int index);

// ASHA's rungs up to and including `upTo` resource units.
std::vector<double> ashaRungs(const EarlyStoppingSpec &rule, double upTo);

} // namespace lbk
