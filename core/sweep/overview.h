#pragma once
// A sweep as a person reads it: its trials with their runs' progress, each swept key as an axis (numbers, on a
// log scale for log-uniform keys, or categories), and how much each key matters to the metric. What lbk sweep show
// and the GUI's sweep page present; computed here so both say the same.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"
#include "sweep/sweepspec.h"
#include "util/result.h"

namespace lbk {

struct TrialRow {
    TrialRecord trial;
    int64_t lastStep = 0;
    std::string runName;
    std::optional<RunStatus> runStatus; // its run's, which runs ahead of the trial's state while no scheduler
                                        // follows the sweep (killed, or stopped with Ctrl-C)
    // The trial's state, and its run's where that has ended while the trial is still open: "running (run finished)".
    std::string stateText() const;
};

// A swept key's value as tables and axes write it: a string as it is, a fraction to 4 significant digits.
std::string sweptValueText(const nlohmann::json &value);

// One swept key as an axis: a value's position in [0, 1], from its range (log10 for log-uniform keys) or its
// category's index.
struct SweepAxis {
    std::string key;
    bool log = false;
    std::vector<std::string> categories; // non-numeric values, in order of first appearance; empty: numeric
    double lo = 0, hi = 1;               // numeric: the values' extent (log10 when log)
    double position(const nlohmann::json &value) const; // NaN when the value is missing
    std::string label(const nlohmann::json &value) const { return sweptValueText(value); }
};

struct SweepOverview {
    SweepRecord sweep;
    SweepSpec spec;
    std::vector<TrialRow> trials; // best first, as lbk sweep show lists them
    std::vector<SweepAxis> axes;  // one per swept key, in key order
    std::optional<TrialRow> best() const; // the best finished trial (sweep/sweepbest.h: mayBeBest)
};

Result<SweepOverview> sweepOverview(const Store &store, int64_t sweepId);

// How strongly a key goes with the metric, over the trials with a value: for a numeric key the absolute Spearman
// rank correlation (log-uniform keys are ranked as they are: ranks do not change under log), for a categorical one
// the correlation ratio (the share of the metric's variance between the categories, square-rooted). 0 to 1;
// NaN with fewer than 3 trials or a key that never varies.
// Beside it, the key's share of a small random forest's permutation importance (sweep/forest.h), NaN with fewer
// than 4 trials with a value.
struct KeyImportance {
    std::string key;
    double score = 0;
    double direction = 0; // numeric keys: +1 when higher values do better (the metric's direction considered)
    double permutation = 0;
};
// Ordered by the forest's share (by the correlation when there are too few trials for a forest).
std::vector<KeyImportance> keyImportance(const SweepOverview &overview);
inline constexpr size_t kCorrelationMinTrials = 3; // trials with a value a key's correlation needs
// Why keyImportance has nothing to say yet ("2 trials with a value: the forest needs 4, the correlation 3"), or "".
std::string keyImportanceShortfall(const SweepOverview &overview);

} // namespace lbk
