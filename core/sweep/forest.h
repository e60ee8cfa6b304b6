#pragma once
// A small random forest of regression trees and the permutation importance of its features: how much worse the
// forest predicts the metric when one key's values are shuffled among the trials. Unlike a correlation it sees
// effects that are not monotonic (a rate too low and too high both hurt) and interactions. Deterministic (seeded),
// on the few dozen to few hundred trials a sweep has; the sweep page and `lbk sweep show` report it beside the rank
// correlation.
#include <cstdint>
#include <vector>

namespace lbk {

struct ForestOptions {
    int trees = 60;
    int maxDepth = 4;
    int minLeaf = 2;
    int repeats = 8; // shuffles per feature
    uint64_t seed = 1;
};

inline constexpr size_t kForestMinTrials = 4; // fewer rows give no importances

// X: one row per trial, one column per feature (any scale); y: the metric. Returns, per feature, its share of the
// total increase in mean squared error when shuffled (0 to 1, summing to 1 unless no feature matters: all 0).
// Empty when there are fewer than 4 rows.
std::vector<double> permutationImportance(const std::vector<std::vector<double>> &X, const std::vector<double> &y,
                                          const ForestOptions &options = {});

} // namespace lbk
