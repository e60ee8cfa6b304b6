#include "sweep/groups.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "experiment/schema.h"

namespace lbk {

using nlohmann::json;

MetricStats statsOf(std::string key, const std::vector<double> &xs)
{
    MetricStats s;
    s.key = std::move(key);
    s.n = int(xs.size());
    for (double x : xs)
        s.mean += x / double(s.n);
    double ss = 0;
    for (double x : xs)
        ss += (x - s.mean) * (x - s.mean);
    s.stddev = s.n > 1 ? std::sqrt(ss / double(s.n - 1)) : 0;
    s.whole = s.n > 0 && std::all_of(xs.begin(), xs.end(), [](double x) { return x == std::trunc(x) && x > 1; });
    return s;
}

std::vector<MetricStats> metricStats(const std::vector<RunSummary> &runs)
{
    std::map<std::string, std::vector<double>> values;
    for (const auto &r : runs)
        if (r.summary.contains("final") && r.summary["final"].is_object())
            for (const auto &[k, v] : r.summary["final"].items())
                if (v.is_number() && std::isfinite(v.get<double>()))
                    values[k].push_back(v.get<double>());
    std::vector<MetricStats> out;
    for (const auto &[key, xs] : values)
        out.push_back(statsOf(key, xs));
    return out;
}

bool sweepsSeeds(const SweepSpec &spec)
{
    return std::any_of(spec.parameters.begin(), spec.parameters.end(),
                       [](const ParamSpec &p) { return p.key == kSeedKey; });
}

std::vector<RunGroup> sweepGroups(const Store &store, const SweepOverview &o)
{
    std::vector<RunGroup> groups; // trials come best first, so groups come in the order of their best member
    std::vector<std::vector<RunSummary>> members;
    for (const auto &row : o.trials) {
        const TrialRecord &t = row.trial;
        json params = t.params;
        params.erase(kSeedKey);
        auto it = std::find_if(groups.begin(), groups.end(), [&](const RunGroup &g) { return g.params == params; });
        if (it == groups.end()) {
            groups.push_back(RunGroup{params, {}, {}, {}, {}});
            members.emplace_back();
            it = groups.end() - 1;
        }
        it->trials.push_back(t.trial);
        if (t.run <= 0)
            continue;
        auto run = store.runById(t.run);
        // The trial's seed when the sweep draws it, else the one its run trained with (the base's).
        const json seed = t.params.contains(kSeedKey) ? t.params[kSeedKey]
                          : run                       ? valueAt(run->config, kSeedKey)
                                                      : json();
        it->runs.push_back(t.run);
        it->seeds.push_back(seed.is_number_integer() ? seed.get<int64_t>() : -1); // in step with runs
        if (run && run->status == RunStatus::Finished)
            members[size_t(it - groups.begin())].push_back(*run);
    }
    for (size_t i = 0; i < groups.size(); ++i)
        groups[i].metrics = metricStats(members[i]);
    return groups;
}

GroupCurve groupCurve(const std::vector<std::vector<MetricPoint>> &series)
{
    std::map<int64_t, std::vector<double>> byStep;
    for (const auto &points : series)
        for (const auto &p : points)
            if (std::isfinite(p.value))
                byStep[p.step].push_back(p.value);
    GroupCurve c;
    for (const auto &[step, xs] : byStep) {
        const MetricStats s = statsOf({}, xs);
        c.steps.push_back(step);
        c.mean.push_back(s.mean);
        c.stddev.push_back(s.stddev);
        c.n.push_back(s.n);
    }
    return c;
}

std::string groupTag(const SweepSpec &spec, int64_t sweepId, const json &params)
{
    if (!sweepsSeeds(spec))
        return {};
    std::string label = kGroupTagPrefix + spec.name + " #" + std::to_string(sweepId);
    std::string others;
    for (const auto &[key, value] : params.items()) {
        if (key == kSeedKey)
            continue;
        char number[32];
        if (value.is_number_float())
            std::snprintf(number, sizeof number, "%.6g", value.get<double>());
        others += (others.empty() ? "" : ", ") + key + "=" +
                  (value.is_number_float() ? std::string(number) : value.is_string() ? value.get<std::string>()
                                                                                       : value.dump());
    }
    return others.empty() ? label : label + " (" + others + ")";
}

std::string formatStats(const MetricStats &s)
{
    char buf[64];
    if (s.whole && s.stddev == 0) // "228", not "228.0000"
        std::snprintf(buf, sizeof buf, "%.0f", s.mean);
    else if (s.whole)
        std::snprintf(buf, sizeof buf, "%.1f \u00b1 %.1f", s.mean, s.stddev);
    else if (s.n > 1)
        std::snprintf(buf, sizeof buf, "%.4f \u00b1 %.4f", s.mean, s.stddev);
    else
        std::snprintf(buf, sizeof buf, "%.4f", s.mean);
    return buf;
}

} // namespace lbk
