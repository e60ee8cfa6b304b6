#include "sweep/overview.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sweep/forest.h"
#include "sweep/scheduler.h"
#include "sweep/sweepbest.h"
#include "util/text.h"

namespace lbk {

using nlohmann::json;

double SweepAxis::position(const json &value) const
{
    if (value.is_null())
        return std::nan("");
    if (!categories.empty()) {
        const std::string s = label(value);
        const auto it = std::find(categories.begin(), categories.end(), s);
        const double n = double(categories.size());
        return it == categories.end() ? std::nan("") : n <= 1 ? 0.5 : double(it - categories.begin()) / (n - 1);
    }
    if (!value.is_number())
        return std::nan("");
    double v = value.get<double>();
    if (log)
        v = v > 0 ? std::log10(v) : std::nan("");
    return hi > lo ? (v - lo) / (hi - lo) : 0.5;
}

std::string sweptValueText(const json &value)
{
    if (value.is_string())
        return value.get<std::string>();
    return value.is_number_float() ? significant(value.get<double>()) : value.dump();
}

std::optional<TrialRow> SweepOverview::best() const
{
    for (const auto &t : trials) // best first
        if (mayBeBest(t.trial))
            return t;
    return std::nullopt;
}

namespace {

SweepAxis axisOf(const ParamSpec &p, const std::vector<TrialRow> &trials)
{
    SweepAxis a;
    a.key = p.key;
    a.log = p.kind == ParamKind::LogUniform;
    bool numeric = p.kind != ParamKind::Values;
    if (!numeric)
        numeric = std::all_of(p.values.begin(), p.values.end(), [](const json &v) { return v.is_number(); });
    if (!numeric) {
        for (const auto &v : p.values)
            a.categories.push_back(a.label(v));
        return a;
    }
    std::vector<double> xs;
    if (p.kind == ParamKind::Values)
        for (const auto &v : p.values)
            xs.push_back(v.get<double>());
    else
        xs = {p.low, p.high};
    for (const auto &t : trials)
        if (t.trial.params.contains(p.key) && t.trial.params[p.key].is_number())
            xs.push_back(t.trial.params[p.key].get<double>());
    for (double &x : xs)
        x = a.log ? std::log10(std::max(x, 1e-300)) : x;
    a.lo = *std::min_element(xs.begin(), xs.end());
    a.hi = *std::max_element(xs.begin(), xs.end());
    return a;
}

std::vector<double> ranks(const std::vector<double> &v)
{
    std::vector<size_t> order(v.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]])
            ++j;
        for (size_t k = i; k <= j; ++k)
            r[order[k]] = (double(i) + double(j)) / 2; // ties share their mean rank
        i = j + 1;
    }
    return r;
}

double pearson(const std::vector<double> &x, const std::vector<double> &y)
{
    const double n = double(x.size());
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : std::nan("");
}

} // namespace

std::string TrialRow::stateText() const
{
    const std::string state = toString(trial.state);
    if (isOpen(trial.state) && runStatus && !isActive(*runStatus))
        return state + " (run " + toString(*runStatus) + ")";
    return state;
}

Result<SweepOverview> sweepOverview(const Store &store, int64_t sweepId)
{
    auto sweep = store.sweep(std::to_string(sweepId));
    if (!sweep)
        return sweep.error();
    auto spec = sweepSpecOf(*sweep);
    if (!spec)
        return spec.error();
    SweepOverview o;
    o.sweep = std::move(*sweep);
    o.spec = std::move(*spec);
    for (auto &t : store.trials(sweepId)) {
        TrialRow row;
        if (t.run > 0)
            if (auto run = store.runById(t.run)) {
                row.lastStep = run->lastStep;
                row.runName = run->name;
                row.runStatus = run->status;
            }
        row.trial = std::move(t);
        o.trials.push_back(std::move(row));
    }
    const bool maximize = o.spec.maximize;
    std::stable_sort(o.trials.begin(), o.trials.end(),
                     [&](const TrialRow &a, const TrialRow &b) { return rankedBefore(a.trial, b.trial, maximize); });
    for (const auto &p : o.spec.parameters)
        o.axes.push_back(axisOf(p, o.trials));
    return o;
}

std::string keyImportanceShortfall(const SweepOverview &o)
{
    const auto valued = size_t(std::count_if(o.trials.begin(), o.trials.end(),
                                             [](const TrialRow &r) { return r.trial.value.has_value(); }));
    if (valued >= kForestMinTrials)
        return {};
    return counted(int64_t(valued), "trial") + " with a value: the forest needs " + std::to_string(kForestMinTrials) +
           ", the correlation " + std::to_string(kCorrelationMinTrials);
}

std::vector<KeyImportance> keyImportance(const SweepOverview &o)
{
    std::vector<KeyImportance> out;
    // The forest reads every key at once, as the axes place them (log for log-uniform keys, categories in order).
    std::vector<std::vector<double>> X;
    std::vector<double> Y;
    for (const auto &t : o.trials) {
        if (!t.trial.value)
            continue;
        std::vector<double> row;
        for (const auto &axis : o.axes) {
            const double p = axis.position(t.trial.params.value(axis.key, json()));
            row.push_back(std::isnan(p) ? 0.5 : p);
        }
        X.push_back(std::move(row));
        Y.push_back(*t.trial.value);
    }
    const auto permutation = permutationImportance(X, Y);
    for (const auto &axis : o.axes) {
        std::vector<double> x, y;
        std::vector<std::string> cats;
        for (const auto &t : o.trials) {
            if (!t.trial.value || !t.trial.params.contains(axis.key))
                continue;
            const json &v = t.trial.params[axis.key];
            y.push_back(*t.trial.value);
            if (axis.categories.empty())
                x.push_back(v.is_number() ? v.get<double>() : std::nan(""));
            else
                cats.push_back(axis.label(v));
        }
        KeyImportance k{axis.key, std::nan(""), 0,
                        permutation.empty() ? std::nan("") : permutation[size_t(&axis - o.axes.data())]};
        if (y.size() >= kCorrelationMinTrials && axis.categories.empty()) {
            const double rho = pearson(ranks(x), ranks(y));
            k.score = std::abs(rho);
            // +1: higher values do better (a higher metric when maximizing, a lower one when minimizing).
            k.direction = std::isnan(rho) ? 0 : ((rho > 0) == o.spec.maximize ? 1 : -1);
        } else if (y.size() >= kCorrelationMinTrials) {
            const double mean = std::accumulate(y.begin(), y.end(), 0.0) / double(y.size());
            double total = 0, between = 0;
            for (double v : y)
                total += (v - mean) * (v - mean);
            for (const auto &c : axis.categories) {
                double sum = 0;
                int n = 0;
                for (size_t i = 0; i < y.size(); ++i)
                    if (cats[i] == c) {
                        sum += y[i];
                        ++n;
                    }
                if (n > 0)
                    between += n * (sum / n - mean) * (sum / n - mean);
            }
            k.score = total > 0 ? std::sqrt(between / total) : std::nan("");
        }
        out.push_back(k);
    }
    // The forest's share orders them when there is one (it sees what a correlation misses), else the correlation.
    const auto rank = [](const KeyImportance &k) {
        return !std::isnan(k.permutation) ? k.permutation : (std::isnan(k.score) ? -1 : k.score);
    };
    std::stable_sort(out.begin(), out.end(), [&](const KeyImportance &a, const KeyImportance &b) { return rank(a) > rank(b); });
    return out;
}

} // namespace lbk
