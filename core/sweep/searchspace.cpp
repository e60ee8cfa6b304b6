#include "sweep/searchspace.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <string>

#include "experiment/schema.h"
#include "metrics/metrics.h"
#include "util/stablehash.h"
#include "util/text.h"

namespace lbk {

using nlohmann::json;

namespace {

double roundSignificant(double x, int digits)
{
    if (x == 0 || !std::isfinite(x))
        return x;
    const double scale = std::pow(10.0, digits - 1 - int(std::floor(std::log10(std::abs(x)))));
    return std::round(x * scale) / scale;
}

// Steps from low to high, the last at most high (a step that overshoots by rounding error is kept at high).
size_t stepCount(const ParamSpec &p) { return size_t(std::floor((p.high - p.low) / p.step + 1e-9)) + 1; }

json stepped(const ParamSpec &p, size_t k)
{
    double v = std::min(p.high, p.low + double(k) * p.step);
    const double grain = p.step * 1e-9; // rounding error relative to the step: -0.3 + 3 x 0.1 is 0, not 5.6e-17
    v = std::round(v / grain) * grain;
    return p.kind == ParamKind::IntUniform ? json(int64_t(std::llround(v))) : json(roundSignificant(v, 12));
}

json draw(const ParamSpec &p, StableDraws &d)
{
    switch (p.kind) {
    case ParamKind::Values: return p.values[size_t(d.below(p.values.size()))];
    case ParamKind::Uniform:
        if (p.step > 0)
            return stepped(p, size_t(d.below(stepCount(p))));
        return roundSignificant(p.low + d.unit() * (p.high - p.low), 4);
    case ParamKind::LogUniform:
        return roundSignificant(std::exp(std::log(p.low) + d.unit() * (std::log(p.high) - std::log(p.low))), 4);
    case ParamKind::IntUniform: return stepped(p, size_t(d.below(stepCount(p))));
    case ParamKind::AroundLrFinder: break; // resolved before drawing (withLrSuggestion)
    }
    return nullptr;
}

// A random sweep draws a trial again at most this often while it repeats an earlier one.
constexpr int kRedraws = 64;

json drawTrial(const SweepSpec &spec, const std::string &key)
{
    StableDraws d(stableHash(key, spec.seed));
    json values = json::object();
    for (const auto &p : spec.parameters)
        values[p.key] = draw(p, d);
    return values;
}

namespace {
size_t distinctCount(const std::vector<json> &values) // [32, 32, 64] holds two values
{
    std::set<std::string> distinct;
    for (const auto &v : values)
        distinct.insert(v.dump());
    return distinct.size();
}
} // namespace

// Distinct combinations the parameters can take; infinity when one of them is continuous.
double combinations(const SweepSpec &spec)
{
    double n = 1;
    for (const auto &p : spec.parameters) {
        const bool discrete = p.kind == ParamKind::Values || p.kind == ParamKind::IntUniform ||
                              (p.kind == ParamKind::Uniform && p.step > 0);
        if (!discrete)
            return std::numeric_limits<double>::infinity();
        n *= p.kind == ParamKind::Values ? double(distinctCount(p.values)) : double(stepCount(p));
    }
    return n;
}

} // namespace

std::vector<json> gridValues(const ParamSpec &p)
{
    if (p.kind == ParamKind::Values)
        return p.values;
    std::vector<json> out;
    if (p.step > 0)
        for (size_t k = 0, n = stepCount(p); k < n; ++k)
            out.push_back(stepped(p, k));
    return out;
}

size_t gridSize(const SweepSpec &spec)
{
    size_t n = 1;
    for (const auto &p : spec.parameters)
        n *= std::max<size_t>(1, gridValues(p).size());
    return n;
}

namespace {

// Combination i of the grid, the last key varying fastest.
json gridPoint(const SweepSpec &spec, const std::vector<std::vector<json>> &axes, size_t i)
{
    json values = json::object();
    for (size_t a = axes.size(); a-- > 0;) {
        values[spec.parameters[a].key] = axes[a][i % axes[a].size()];
        i /= axes[a].size();
    }
    return values;
}

std::vector<std::vector<json>> gridAxes(const SweepSpec &spec)
{
    std::vector<std::vector<json>> axes;
    for (const auto &p : spec.parameters)
        axes.push_back(gridValues(p));
    return axes;
}

// The first combination in grid order that no trial has drawn: for a random sweep whose redraws ran out while
// unseen ones remain (a space nearly used up). Only called for discrete parameters.
json firstUnseen(const SweepSpec &spec, const std::set<std::string> &seen)
{
    const auto axes = gridAxes(spec);
    for (size_t i = 0, n = gridSize(spec); i < n; ++i)
        if (json values = gridPoint(spec, axes, i); !seen.contains(values.dump()))
            return values;
    return nullptr;
}

} // namespace

std::vector<json> sweepTrials(const SweepSpec &spec)
{
    std::vector<json> trials;
    if (spec.method == SweepMethod::Grid) {
        const auto axes = gridAxes(spec);
        size_t n = gridSize(spec);
        if (spec.trials > 0)
            n = std::min(n, size_t(spec.trials));
        for (size_t i = 0; i < n; ++i)
            trials.push_back(gridPoint(spec, axes, i));
        return trials;
    }
    const double space = combinations(spec);
    std::set<std::string> seen;
    for (int i = 0; i < spec.trials; ++i) {
        json values;
        for (int attempt = 0; attempt < kRedraws; ++attempt) {
            values = drawTrial(spec, "trial " + std::to_string(i) + (attempt ? " draw " + std::to_string(attempt) : ""));
            if (!seen.contains(values.dump()) || double(seen.size()) >= space)
                break; // new, or every combination has been drawn already
        }
        // Redraws ran out: a discrete space nearly used up takes the first combination left; a continuous range
        // narrower than the 4 significant digits draws are rounded to repeats a value (sweepNotices says so).
        if (seen.contains(values.dump()) && std::isfinite(space) && double(seen.size()) < space)
            values = firstUnseen(spec, seen);
        seen.insert(values.dump());
        trials.push_back(std::move(values));
    }
    return trials;
}

// A metric Labbook's trainer does not record (found by an audit: "val/acuracy" was valid, and the sweep failed after
// its first whole trial). A note, not an error: a script target's trials record metrics of their own.
static std::optional<std::string> unknownMetricNotice(const std::string &metric)
{
    std::vector<std::string> recorded;
    for (const char *split : {"val/", "train/"})
        for (const auto key : scalarMetricKeys())
            recorded.push_back(split + std::string(key));
    if (std::find(recorded.begin(), recorded.end(), metric) != recorded.end())
        return std::nullopt;
    const std::string near = nearestWord(metric, recorded);
    return "metric \"" + metric + "\" is not one Labbook's trainer records" +
           (near.empty() ? " (val/accuracy, val/macro_f1, val/loss, ...)" : "; did you mean \"" + near + "\"?") +
           " A trial that does not record it fails the sweep; a script target's own metric is fine";
}

std::vector<std::string> sweepNotices(const SweepSpec &spec)
{
    std::vector<std::string> notices;
    if (auto metric = unknownMetricNotice(spec.metric))
        notices.push_back(std::move(*metric));
    if (spec.method == SweepMethod::Grid && spec.trials > 0) {
        const auto size = int64_t(gridSize(spec));
        if (spec.trials > size)
            notices.push_back(counted(spec.trials, "trial") + " asked for, but the grid holds only " +
                              counted(size, "combination") + ": the sweep runs " + counted(size, "trial"));
        else if (spec.trials < size)
            notices.push_back("the sweep runs the first " + std::to_string(spec.trials) + " of the grid's " +
                              counted(size, "combination") +
                              " (in alphabetical order of the keys, the last key varying fastest)");
    }
    const double space = combinations(spec);
    if (spec.method == SweepMethod::Random && double(spec.trials) > space)
        notices.push_back(counted(spec.trials, "trial") + " asked for, but the parameters hold only " +
                          counted(int64_t(space), "distinct combination") +
                          ": some will run twice (a grid runs each once)");
    // (An around_lr_finder range is not known yet: its draws are all alike until the suggestion resolves it.)
    if (spec.method == SweepMethod::Random && !std::isfinite(space) && !needsLrFinder(spec)) {
        std::set<std::string> distinct;
        for (const auto &t : sweepTrials(spec))
            distinct.insert(t.dump());
        if (const auto repeats = int64_t(spec.trials) - int64_t(distinct.size()); repeats > 0)
            notices.push_back(counted(repeats, "trial") + " of " + std::to_string(spec.trials) +
                              " repeat another's values (a range narrower than the 4 significant digits draws are "
                              "rounded to): they run twice");
    }
    return notices;
}

std::string trialName(const std::string &sweep, int index) { return sweep + "-" + std::to_string(index); }

Result<json> trialExperiment(const SweepSpec &spec, const json &values, int index)
{
    json e = spec.base;
    for (const auto &[key, v] : values.items())
        setValueAt(e, key, v);
    const auto issues = validateExperimentJson(e);
    if (issues.empty())
        return e;
    std::string msg = "trial " + std::to_string(index) + " (" + values.dump() + ") is not a valid experiment:";
    for (const auto &i : issues)
        msg += "\n  " + i.message;
    return badInput(msg);
}

namespace {
// The rate an unresolved around_lr_finder range is checked around: the base's own (its suggestion is not known yet).
double standInRate(const SweepSpec &spec)
{
    const json lr = valueAt(withDefaults(spec.base), "optimizer.lr");
    return lr.is_number() && lr.get<double>() > 0 ? lr.get<double>() : 1e-3;
}

// The first swept key that does nothing in any trial (model.hidden of a bag model): its values would run the same
// experiment again.
Status everyKeyUsed(const SweepSpec &spec, const std::vector<json> &resolvedTrials)
{
    for (const auto &p : spec.parameters) {
        const FieldSpec *f = findField(p.key);
        if (!f || std::any_of(resolvedTrials.begin(), resolvedTrials.end(),
                              [&](const json &e) { return fieldApplies(*f, e); }))
            continue;
        return badInput("parameters." + p.key + ": no trial uses it (" + whyNotApplied(*f, resolvedTrials.front()) +
                        "), so its values run the same experiment again; drop it, or sweep what it depends on too");
    }
    return okStatus();
}
} // namespace

Status checkTrials(const SweepSpec &given)
{
    const SweepSpec spec = needsLrFinder(given) ? withLrSuggestion(given, standInRate(given)) : given;
    const auto trials = sweepTrials(spec);
    if (trials.empty())
        return badInput("the sweep draws no trial");
    std::optional<Error> firstInvalid;
    int invalid = 0;
    std::vector<json> resolved;
    for (size_t i = 0; i < trials.size(); ++i) {
        auto e = trialExperiment(spec, trials[i], int(i + 1));
        if (e)
            resolved.push_back(withDefaults(*e));
        else if (++invalid == 1)
            firstInvalid = e.error();
    }
    if (firstInvalid) {
        Error e = *firstInvalid;
        if (invalid > 1)
            e.message += "\n  (and " + counted(invalid - 1, "more trial") + " of " + std::to_string(trials.size()) +
                         " not valid either)";
        return e;
    }
    return everyKeyUsed(spec, resolved);
}

bool needsLrFinder(const SweepSpec &spec)
{
    return std::any_of(spec.parameters.begin(), spec.parameters.end(),
                       [](const ParamSpec &p) { return p.kind == ParamKind::AroundLrFinder; });
}

SweepSpec withLrSuggestion(SweepSpec spec, double suggestion)
{
    const FieldSpec *lr = findField("optimizer.lr");
    for (auto &p : spec.parameters)
        if (p.kind == ParamKind::AroundLrFinder) {
            p.kind = ParamKind::LogUniform;
            const double middle = suggestion * p.centre;
            p.low = roundSignificant(middle / p.factor, 4);
            p.high = roundSignificant(middle * p.factor, 4);
            if (lr && lr->min)
                p.low = std::max(p.low, *lr->min * (lr->minExclusive ? 1.000001 : 1.0));
            if (lr && lr->max)
                p.high = std::min(p.high, *lr->max);
            p.low = std::min(p.low, p.high); // a suggestion at the schema's limit: the range shrinks, never inverts
        }
    return spec;
}

} // namespace lbk
