#pragma once
// A sweep: a base experiment, a search space over its keys, how trials are drawn (grid or seeded random), how
// many, which metric decides, how bad trials are stopped early (ASHA or the median rule), how many run at once and
// where. Read from a sweep file (docs/SWEEPS.md) and validated like an experiment: every problem names its JSON
// path, and a swept key's range must lie within the experiment schema's limits for that key.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment/experiment.h" // kWords, toString, fromWord
#include "util/result.h"

namespace lbk {

inline constexpr int kMaxTrials = 100000; // a sweep's trials, random or grid

enum class ParamKind { Values, Uniform, LogUniform, IntUniform, AroundLrFinder };
template <>
inline constexpr auto kWords<ParamKind> =
    std::to_array({"values", "uniform", "log_uniform", "int_uniform", "around_lr_finder"});

// One swept experiment key ("optimizer.lr") and where its values come from.
struct ParamSpec {
    std::string key;
    ParamKind kind = ParamKind::Values;
    std::vector<nlohmann::json> values; // Values
    double low = 0, high = 0;           // Uniform, LogUniform, IntUniform (inclusive)
    double step = 0;                    // Uniform, IntUniform: values on low + k * step; 0: continuous
    double factor = 0;                  // AroundLrFinder: within middle / factor .. middle * factor, where
    double centre = 1;                  //   middle = suggestion * centre, in (0, 1] (0.1: a decade below it)
};

enum class SweepMethod { Grid, Random };
template <> inline constexpr auto kWords<SweepMethod> = std::to_array({"grid", "random"});
enum class PrunerType { None, Asha, Median };
template <> inline constexpr auto kWords<PrunerType> = std::to_array({"none", "asha", "median"});
// What a trial's progress is counted in: its evaluations (1, 2, 3, ...) or its training steps.
enum class ResourceUnit { Evaluations, Steps };
template <> inline constexpr auto kWords<ResourceUnit> = std::to_array({"evaluations", "steps"});

struct EarlyStoppingSpec {
    PrunerType type = PrunerType::None;
    ResourceUnit resource = ResourceUnit::Evaluations;
    // ASHA: rungs at minResource * eta^k, below maxResource (0: no limit); of the trials that reached a rung, the
    // best 1/eta continue.
    double minResource = 1;
    double eta = 3;
    double maxResource = 0;
    // Median: no trial is stopped before `grace` (resource units), nor while fewer than minTrials other trials
    // reported at that point.
    double grace = 1;
    int minTrials = 3;
};

struct SweepSpec {
    std::string name;
    nlohmann::json base;              // the base experiment as written (defaults not filled in)
    std::string baseFile;             // where it came from; empty when inline
    std::vector<ParamSpec> parameters; // sorted by key
    SweepMethod method = SweepMethod::Random;
    uint64_t seed = 1;
    int trials = 0;                   // random: required; grid: at most this many (0: the whole grid)
    std::string metric;               // "val/macro_f1"; default: "val/" + the base's evaluation.metric
    bool maximize = true;             // default: higherIsBetter(metric)
    int parallel = 1;
    std::string target = "local";
    EarlyStoppingSpec earlyStopping;
    nlohmann::json source;            // the sweep file's JSON, as stored with the sweep
};

// Parses and checks a sweep; `dir` resolves a relative "experiment" path. Errors list every problem, one a line.
Result<SweepSpec> sweepFromJson(const nlohmann::json &j, const std::filesystem::path &dir);
Result<SweepSpec> loadSweepFile(const std::filesystem::path &file);

} // namespace lbk
