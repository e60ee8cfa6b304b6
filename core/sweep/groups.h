#pragma once
// Run groups: runs that differ only in training.seed, read as one result, each metric's mean and standard
// deviation across them. `lbk run FILE --seeds 13,14,15` makes one (a grid sweep over the seed); a sweep with
// training.seed among other keys groups its trials by the other keys' values.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"
#include "sweep/overview.h"

namespace lbk {

inline constexpr char kSeedKey[] = "training.seed";
// How a run says what it belongs to: every trial of a sweep is tagged kSweepTagPrefix + the sweep's name, and a
// trial of a sweep over the seed also groupTag(), so a run list can fold either without reading the sweeps.
inline constexpr char kSweepTagPrefix[] = "sweep:";
inline constexpr char kGroupTagPrefix[] = "group:";

struct MetricStats {
    std::string key;
    int n = 0;          // runs with a value
    double mean = 0;
    double stddev = 0;  // sample standard deviation (n - 1); 0 for one run
    bool whole = false; // every value a whole number above 1: a count (steps, examples), written without decimals
};

// The mean and sample deviation of xs.
MetricStats statsOf(std::string key, const std::vector<double> &xs);
// Each numeric "final" metric of the runs (and the best value of the sweep's metric), in key order.
std::vector<MetricStats> metricStats(const std::vector<RunSummary> &runs);

struct RunGroup {
    nlohmann::json params = nlohmann::json::object(); // the trials' values other than the seed
    std::vector<int> trials;
    std::vector<int64_t> runs;
    std::vector<int64_t> seeds; // runs[i]'s seed (-1: none recorded)
    std::vector<MetricStats> metrics;
};

// A sweep's trials grouped by their values other than training.seed, in the order of their best member.
std::vector<RunGroup> sweepGroups(const Store &store, const SweepOverview &overview);
bool sweepsSeeds(const SweepSpec &spec);
// The tag of a trial's run group: "group:NAME #ID" (the sweep's name and id: two sweeps of one name are two groups)
// when the sweep's only key is the seed, "group:NAME #ID (k=v, ...)" with its other values when it has more; empty
// when the sweep does not sweep the seed.
std::string groupTag(const SweepSpec &spec, int64_t sweepId, const nlohmann::json &params);

// A group's curve of one metric: at each step some run logged, the mean and sample deviation over the runs that
// logged it there (a step logged by one run has deviation 0).
struct GroupCurve {
    std::vector<int64_t> steps;
    std::vector<double> mean, stddev;
    std::vector<int> n;
};
GroupCurve groupCurve(const std::vector<std::vector<MetricPoint>> &series);

// "0.6812 ± 0.0040": a statistic as the tables print it.
std::string formatStats(const MetricStats &s);

} // namespace lbk
