#include "sweep/sweepspec.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "experiment/schema.h"
#include "util/text.h"
#include "metrics/metrics.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

enum class Direction { Maximize, Minimize };
template <> inline constexpr auto kWords<Direction> = std::to_array({"maximize", "minimize"});

namespace {

const std::set<std::string> kTopKeys = {"name",     "description", "experiment", "parameters", "method",
                                        "seed",     "trials",      "metric",     "direction",  "parallel",
                                        "target",   "early_stopping"};
const std::set<std::string> kStoppingKeys = {"type", "resource", "min_resource", "eta", "max_resource", "grace",
                                             "min_trials"};

// Collects problems, each "path: what is wrong".
struct Problems {
    std::vector<std::string> lines;
    void add(const std::string &path, const std::string &what) { lines.push_back(path + ": " + what); }
    bool empty() const { return lines.empty(); }
    Error error() const
    {
        std::string s;
        for (const auto &l : lines)
            s += (s.empty() ? "" : "\n") + l;
        return badInput(s);
    }
};

std::string list(const std::set<std::string> &keys)
{
    std::string s;
    for (const auto &k : keys)
        s += (s.empty() ? "" : ", ") + k;
    return s;
}

void unknownKeys(const json &j, const std::set<std::string> &allowed, const std::string &prefix, Problems &p)
{
    for (const auto &[k, v] : j.items())
        if (!allowed.count(k)) {
            const std::string near = nearestWord(k, allowed);
            p.add(prefix + k, "unknown key" + (near.empty() ? "" : "; did you mean \"" + near + "\"?") +
                                  "; allowed: " + list(allowed));
        }
}

// A number in the field's range, as the schema checks one value.
bool inRange(const FieldSpec &field, const json &value, const std::string &path, Problems &p)
{
    if (auto issue = validateField(field, value)) {
        p.add(path, issue->message);
        return false;
    }
    return true;
}

bool readPair(const json &v, const std::string &path, double &low, double &high, Problems &p)
{
    if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number()) {
        p.add(path, "must be [low, high], two numbers");
        return false;
    }
    low = v[0].get<double>();
    high = v[1].get<double>();
    if (!(low <= high)) {
        p.add(path, "low is above high");
        return false;
    }
    return true;
}

// Which of values, uniform, ... the parameter gives; false (and a problem) unless exactly one.
bool readKind(const json &v, const std::string &path, ParamSpec &ps, Problems &p)
{
    int kinds = 0;
    for (const ParamKind k : {ParamKind::Values, ParamKind::Uniform, ParamKind::LogUniform, ParamKind::IntUniform,
                              ParamKind::AroundLrFinder})
        if (v.contains(toString(k))) {
            ps.kind = k;
            ++kinds;
        }
    unknownKeys(v, {"values", "uniform", "log_uniform", "int_uniform", "around_lr_finder", "step", "centre"},
                path + ".", p);
    if (kinds != 1)
        p.add(path, "give exactly one of values, uniform, log_uniform, int_uniform, around_lr_finder");
    return kinds == 1;
}

// A list of values; false when it is not one (nothing further is checked then).
bool readValues(const FieldSpec &field, const json &spec, const std::string &kindPath, ParamSpec &ps, Problems &p)
{
    if (!spec.is_array() || spec.empty()) {
        p.add(kindPath, "must be a non-empty list");
        return false;
    }
    for (size_t i = 0; i < spec.size(); ++i)
        if (inRange(field, spec[i], kindPath + "[" + std::to_string(i) + "]", p))
            ps.values.push_back(spec[i]);
    return true;
}

// uniform, log_uniform and int_uniform: [low, high] of the key's type, within the schema's limits; false when
// the range is not of the key's type or not a pair (nothing further is checked then).
bool readRange(const FieldSpec &field, const json &spec, const std::string &kindPath, ParamSpec &ps, Problems &p)
{
    const bool numeric = field.type == FieldType::Int || field.type == FieldType::Float;
    if (!numeric || (ps.kind == ParamKind::IntUniform) != (field.type == FieldType::Int)) {
        const std::string type = fieldTypeName(field.type);
        p.add(kindPath, std::string(type.find_first_of("aeiou") == 0 ? "not for an " : "not for a ") + type +
                            " key; use " +
                            (field.type == FieldType::Int ? "int_uniform or values"
                             : numeric                    ? "uniform or log_uniform"
                                                          : "values"));
        return false;
    }
    if (!readPair(spec, kindPath, ps.low, ps.high, p))
        return false;
    if (ps.kind == ParamKind::IntUniform && (ps.low != std::floor(ps.low) || ps.high != std::floor(ps.high)))
        p.add(kindPath, "low and high must be whole numbers");
    if (ps.kind == ParamKind::LogUniform && !(ps.low > 0))
        p.add(kindPath, "a log-uniform range must start above 0");
    const bool isInt = field.type == FieldType::Int;
    inRange(field, isInt ? json(int64_t(ps.low)) : json(ps.low), kindPath + "[0]", p);
    inRange(field, isInt ? json(int64_t(ps.high)) : json(ps.high), kindPath + "[1]", p);
    return true;
}

void readAroundLrFinder(const json &v, const std::string &path, ParamSpec &ps, Problems &p)
{
    const std::string kindPath = path + ".around_lr_finder";
    const json &factor = v["around_lr_finder"];
    if (ps.key != "optimizer.lr")
        p.add(kindPath, "only optimizer.lr is swept around the LR finder's suggestion");
    if (!factor.is_number() || !(factor.get<double>() > 1))
        p.add(kindPath, "must be a factor above 1 (10: from a tenth to ten times the suggestion)");
    else
        ps.factor = factor.get<double>();
    if (v.contains("centre")) {
        if (!v["centre"].is_number() || !(v["centre"].get<double>() > 0 && v["centre"].get<double>() <= 10))
            p.add(path + ".centre", "must be a multiple of the suggestion above 0 and at most 10 (0.1: a decade "
                                    "below it; 3: above it, for a GRU or an encoder, docs/SWEEPS.md)");
        else
            ps.centre = v["centre"].get<double>();
    }
}

// The optional "step" of uniform and int_uniform ranges (int_uniform's is 1 unless given), and "centre" only
// where around_lr_finder reads it.
void readModifiers(const json &v, const std::string &path, ParamSpec &ps, Problems &p)
{
    if (v.contains("centre") && ps.kind != ParamKind::AroundLrFinder)
        p.add(path + ".centre", "only around_lr_finder takes a centre");
    if (!v.contains("step")) {
        if (ps.kind == ParamKind::IntUniform)
            ps.step = 1;
        return;
    }
    if (ps.kind != ParamKind::Uniform && ps.kind != ParamKind::IntUniform)
        p.add(path + ".step", "only uniform and int_uniform ranges take a step");
    else if (!v["step"].is_number() || !(v["step"].get<double>() > 0))
        p.add(path + ".step", "must be a number above 0");
    else
        ps.step = v["step"].get<double>();
    if (ps.kind == ParamKind::IntUniform && ps.step != std::floor(ps.step))
        p.add(path + ".step", "must be a whole number for int_uniform");
    else if (ps.high > ps.low && ps.step > ps.high - ps.low)
        p.add(path + ".step", "is wider than the range (" + significant(ps.low) + " to " + significant(ps.high) +
                                  "): only " + significant(ps.low) + " would be drawn");
}

void readParameter(const std::string &key, const json &v, SweepSpec &s, Problems &p)
{
    const std::string path = "parameters." + key;
    const FieldSpec *field = findField(key);
    if (!field) {
        std::vector<std::string> paths;
        for (const auto &f : experimentFields())
            paths.push_back(f.path);
        std::string near = nearestWord(key, paths);
        for (const auto &f : paths) // "lr" for "optimizer.lr": the key without its section
            if (near.empty() && f.ends_with("." + key))
                near = f;
        p.add(path, "not an experiment key" + (near.empty() ? "" : "; did you mean \"" + near + "\"?") +
                        " (see `lbk schema`)");
        return;
    }
    // Trials that predict other labels (or pre-train instead of classify) have metrics that cannot rank them, and
    // the pruner would stop one by another's figures (found by an audit: a grid over labels.positive named a "best"
    // subject).
    // (data.path, data.limit and split.* change which papers are scored, and with top_n or min_count the labels too.)
    if (key.rfind("labels.", 0) == 0 || key.rfind("split.", 0) == 0 || key == "training.objective" ||
        key == "data.path" || key == "data.limit") {
        p.add(path, "changes what the trials predict or the papers they are scored on, so one metric cannot rank "
                    "them nor prune one by another: run one experiment (or one sweep) for each of these instead");
        return;
    }
    if (!v.is_object()) {
        p.add(path, "must be an object such as {\"values\": [...]} or {\"log_uniform\": [low, high]}");
        return;
    }
    ParamSpec ps;
    ps.key = key;
    if (!readKind(v, path, ps, p))
        return;
    const std::string kindPath = path + "." + toString(ps.kind);
    switch (ps.kind) {
    case ParamKind::Values:
        if (!readValues(*field, v[toString(ps.kind)], kindPath, ps, p))
            return;
        break;
    case ParamKind::Uniform:
    case ParamKind::LogUniform:
    case ParamKind::IntUniform:
        if (!readRange(*field, v[toString(ps.kind)], kindPath, ps, p))
            return;
        break;
    case ParamKind::AroundLrFinder:
        readAroundLrFinder(v, path, ps, p);
        break;
    }
    readModifiers(v, path, ps, p);
    s.parameters.push_back(std::move(ps));
}

template <class T> T number(const json &j, const char *key, T fallback, const std::string &path, double lo, double hi,
                            Problems &p)
{
    if (!j.contains(key))
        return fallback;
    const json &v = j[key];
    const bool whole = std::is_integral_v<T>;
    if (!(whole ? v.is_number_integer() : v.is_number()) || v.get<double>() < lo || v.get<double>() > hi) {
        const auto bound = [&](double b) { return whole ? std::to_string(int64_t(b)) : json(b).dump(); };
        p.add(path + key, std::string("must be ") + (whole ? "a whole number" : "a number") + " from " + bound(lo) +
                              " to " + bound(hi));
        return fallback;
    }
    return v.get<T>();
}

// A closed set's word (kWords), or fallback when the key is absent; an unknown word is a problem naming the choices.
template <ClosedSet E> E word(const json &j, const char *key, E fallback, const std::string &path, Problems &p)
{
    if (!j.contains(key))
        return fallback;
    const auto value = j[key].is_string() ? fromWord<E>(j[key].get<std::string>()) : std::nullopt;
    if (!value) {
        std::set<std::string> choices(kWords<E>.begin(), kWords<E>.end());
        p.add(path + key, "must be one of " + list(choices));
        return fallback;
    }
    return *value;
}

void readEarlyStopping(const json &j, SweepSpec &s, Problems &p)
{
    const std::string path = "early_stopping.";
    if (!j.is_object()) {
        p.add("early_stopping", "must be an object such as {\"type\": \"asha\"}");
        return;
    }
    unknownKeys(j, kStoppingKeys, path, p);
    EarlyStoppingSpec &e = s.earlyStopping;
    e.type = word(j, "type", PrunerType::None, path, p);
    e.resource = word(j, "resource", ResourceUnit::Evaluations, path, p);
    e.minResource = number<double>(j, "min_resource", 1, path, 1e-9, 1e12, p);
    e.eta = number<double>(j, "eta", 3, path, 1.01, 100, p);
    e.maxResource = number<double>(j, "max_resource", 0, path, 0, 1e12, p);
    e.grace = number<double>(j, "grace", 1, path, 0, 1e12, p);
    e.minTrials = number<int>(j, "min_trials", 3, path, 1, 1000, p);
}

json readBase(const json &j, const fs::path &dir, SweepSpec &s, Problems &p)
{
    if (!j.contains("experiment")) {
        p.add("experiment", "missing: the base experiment, a path (relative to the sweep file) or an object");
        return nullptr;
    }
    json base = j["experiment"];
    if (base.is_string()) {
        const fs::path file = fs::path(base.get<std::string>()).is_absolute() ? fs::path(base.get<std::string>())
                                                                              : dir / base.get<std::string>();
        auto read = readJsonFile(file);
        if (!read) {
            p.add("experiment", read.message());
            return nullptr;
        }
        s.baseFile = file.lexically_normal().string();
        base = std::move(*read);
        if (base.is_object() && !base.contains("name"))
            base["name"] = file.stem().string();
    }
    if (!base.is_object()) {
        p.add("experiment", "must be a path or an experiment object");
        return nullptr;
    }
    for (const auto &issue : validateExperimentJson(base))
        p.add("experiment", issue.message);
    return base;
}

} // namespace

Result<SweepSpec> sweepFromJson(const json &j, const fs::path &dir)
{
    if (!j.is_object())
        return badInput("a sweep must be a JSON object (docs/SWEEPS.md)");
    if (!isSweepJson(j) && (j.contains("model") || j.contains("data") || j.contains("training")))
        return badInput("this is an experiment, not a sweep: `lbk run FILE` runs it; a sweep names an experiment "
                        "under \"experiment\" and what it varies under \"parameters\" (docs/SWEEPS.md)");
    Problems p;
    SweepSpec s;
    s.source = j;
    unknownKeys(j, kTopKeys, "", p);
    s.base = readBase(j, dir, s, p);
    const bool baseNamed = s.base.is_object() && s.base.contains("name") && s.base["name"].is_string();
    s.name = baseNamed ? s.base["name"].get<std::string>() + "-sweep" : "sweep";
    if (j.contains("name") && (!j["name"].is_string() || j["name"].get<std::string>().empty()))
        p.add("name", "must be a non-empty string");
    else if (j.contains("name"))
        s.name = j["name"].get<std::string>();
    if (!j.contains("parameters") || !j["parameters"].is_object() || j["parameters"].empty())
        p.add("parameters", "must name at least one experiment key, e.g. {\"optimizer.lr\": {\"log_uniform\": [1e-4, 1e-1]}}");
    else
        for (const auto &[key, v] : j["parameters"].items())
            readParameter(key, v, s, p);
    s.method = word(j, "method", SweepMethod::Random, "", p);
    s.seed = number<uint64_t>(j, "seed", 1, "", 0, 4e18, p);
    s.trials = number<int>(j, "trials", 0, "", 1, kMaxTrials, p);
    if (s.method == SweepMethod::Random && s.trials == 0 && !j.contains("trials"))
        p.add("trials", "missing: how many trials a random sweep draws");
    if (s.method == SweepMethod::Grid)
        for (const auto &ps : s.parameters)
            if (ps.kind == ParamKind::LogUniform || ps.kind == ParamKind::AroundLrFinder ||
                (ps.kind == ParamKind::Uniform && ps.step == 0))
                p.add("parameters." + ps.key, "a grid needs values or a range with a step; this range is continuous");
    if (s.method == SweepMethod::Grid) // a random sweep may weigh a value by giving it twice; a grid runs it twice
        for (const auto &ps : s.parameters)
            for (size_t i = 1; i < ps.values.size(); ++i)
                if (std::find(ps.values.begin(), ps.values.begin() + i, ps.values[i]) != ps.values.begin() + i)
                    p.add("parameters." + ps.key + ".values[" + std::to_string(i) + "]",
                          ps.values[i].dump() + " is given twice: a grid would run the same trial twice");
    if (s.method == SweepMethod::Grid) { // counted, not built: a range of a billion steps is refused, not drawn
        double size = 1;
        for (const auto &ps : s.parameters)
            size *= ps.kind == ParamKind::Values ? double(ps.values.size())
                     : ps.step > 0               ? std::floor((ps.high - ps.low) / ps.step + 1e-9) + 1
                                                 : 1;
        if (size > kMaxTrials)
            p.add("parameters", "the grid holds " + std::to_string(int64_t(std::min(size, 9e18))) + " combinations; at most " +
                                    std::to_string(kMaxTrials) + " (take fewer values or larger steps)");
    }
    s.parallel = number<int>(j, "parallel", 1, "", 1, 256, p);
    if (j.contains("target") && (!j["target"].is_string() || j["target"].get<std::string>().empty()))
        p.add("target", "must be a target's name (`lbk targets`), or \"local\"");
    else
        s.target = j.value("target", std::string("local"));
    if (j.contains("metric") && (!j["metric"].is_string() || j["metric"].get<std::string>().empty()))
        p.add("metric", "must be a metric key such as \"val/macro_f1\"");
    else if (j.contains("metric"))
        s.metric = j["metric"].get<std::string>();
    else if (s.base.is_object() && valueAt(withDefaults(s.base), "evaluation.metric").is_string())
        s.metric = "val/" + valueAt(withDefaults(s.base), "evaluation.metric").get<std::string>();
    else
        s.metric = "val/macro_f1"; // the base's own problem is reported above
    s.maximize = word(j, "direction", higherIsBetter(s.metric) ? Direction::Maximize : Direction::Minimize, "", p) ==
                 Direction::Maximize;
    if (j.contains("early_stopping"))
        readEarlyStopping(j["early_stopping"], s, p);
    if (!p.empty())
        return p.error();
    return s;
}

Result<SweepSpec> loadSweepFile(const fs::path &file)
{
    auto j = readJsonFile(file);
    if (!j)
        return j.error();
    auto s = sweepFromJson(*j, file.parent_path());
    if (!s) {
        std::string msg;
        for (size_t at = 0, next; at <= s.message().size(); at = next + 1) {
            next = s.message().find('\n', at);
            if (next == std::string::npos)
                next = s.message().size();
            msg += (msg.empty() ? "" : "\n") + file.string() + ": " + s.message().substr(at, next - at);
        }
        return badInput(msg);
    }
    if (!j->contains("name"))
        s->name = file.stem().string();
    return s;
}

} // namespace lbk
