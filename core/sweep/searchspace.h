#pragma once
// The trials a sweep runs: each an assignment of its swept keys ({"optimizer.lr": 0.003, ...}) and the experiment
// that makes of the base. Deterministic on every machine: grid order is fixed, and random draws come from the
// stable hash and integer arithmetic alone, never from std:: distributions.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep/sweepspec.h"
#include "util/result.h"

namespace lbk {

// Grid: the product of every key's values, in alphabetical key order with the last key varying fastest, cut to
// spec.trials when it is set. Random: spec.trials draws; trial i's values come from a generator seeded by
// (seed, i), drawn again (seeded by (seed, i, attempt)) while they repeat an earlier trial's and unseen
// combinations remain, so a trial depends on the trials before it only when it would have repeated one.
// Continuous draws keep 4 significant digits (a range narrower than that repeats values). A sweep with an around_lr_finder key must have it resolved first (withLrSuggestion).
std::vector<nlohmann::json> sweepTrials(const SweepSpec &spec);
// How many trials a grid holds (the product of its keys' value counts).
size_t gridSize(const SweepSpec &spec);
// What the user should know before the trials run, each a sentence: a metric Labbook's trainer does not record, a
// grid cut to `trials` or with fewer combinations than `trials` asks for, a random sweep that must repeat
// combinations.
std::vector<std::string> sweepNotices(const SweepSpec &spec);
// Every value a key takes in a grid: its values, or its range stepped from low to high.
std::vector<nlohmann::json> gridValues(const ParamSpec &param);

// The base experiment with the trial's values set; it keeps the base's name (an unnamed base is named as
// experimentFromJson names any, as its LR range test is), so a trial is a run of that experiment (`lbk runs
// --experiment`, compare) whose run name is the trial's (trialName: "<sweep name>-<index>", from 1). An invalid
// combination is an error naming the trial and its values.
Result<nlohmann::json> trialExperiment(const SweepSpec &spec, const nlohmann::json &values, int index);
std::string trialName(const std::string &sweep, int index);
// Every trial the sweep draws is a valid experiment (else the first that is not, and how many more), and every
// swept key does something in some trial. An around_lr_finder range not resolved yet is checked around the base's
// own optimizer.lr. What createSweep refuses, and `lbk validate` says before anything runs.
Status checkTrials(const SweepSpec &spec);

// around_lr_finder resolved: a log-uniform range from middle / factor to middle * factor, where middle is the
// suggestion times the parameter's centre (1 unless given), kept within the schema's limits for optimizer.lr.
SweepSpec withLrSuggestion(SweepSpec spec, double suggestion);
bool needsLrFinder(const SweepSpec &spec);

} // namespace lbk
