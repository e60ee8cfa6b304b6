#include "experiment/schema.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include "experiment/fieldtable.h"
#include "util/filebytes.h"
#include "util/text.h"

namespace lbk {

using nlohmann::json;

namespace {

std::string describeValue(const json &v)
{
    return clipped(v.dump(), 60);
}

std::string formatNumber(double v)
{
    std::ostringstream os;
    os << std::setprecision(15) << v;
    return os.str();
}

std::string allowedText(const FieldSpec &f)
{
    switch (f.type) {
    case FieldType::Bool: return "true or false";
    case FieldType::String: return "a string";
    case FieldType::StringList: return "a list of strings";
    case FieldType::Paths: return "a path, or a list of paths";
    case FieldType::Enum: {
        std::string s = "one of ";
        for (size_t i = 0; i < f.choices.size(); ++i)
            s += (i ? ", \"" : "\"") + f.choices[i] + "\"";
        return s;
    }
    default: break;
    }
    std::string what = f.type == FieldType::Float ? "a number" : f.type == FieldType::Int ? "a whole number"
                                                                                             : "a list of whole numbers";
    if (f.min && f.max)
        return what + " " + (f.minExclusive ? "> " : ">= ") + formatNumber(*f.min) + " and " +
               (f.maxExclusive ? "< " : "<= ") + formatNumber(*f.max);
    if (f.min)
        return what + " " + (f.minExclusive ? "> " : ">= ") + formatNumber(*f.min);
    return what;
}

bool numberInRange(const FieldSpec &f, double v)
{
    if (!std::isfinite(v))
        return false;
    if (f.min && (f.minExclusive ? v <= *f.min : v < *f.min))
        return false;
    if (f.max && (f.maxExclusive ? v >= *f.max : v > *f.max))
        return false;
    return true;
}

std::optional<std::string> checkScalar(const FieldSpec &f, FieldType type, const json &v)
{
    const std::string got = describeValue(v);
    switch (type) {
    case FieldType::Bool:
        if (!v.is_boolean())
            return got + " is not " + allowedText(f);
        return std::nullopt;
    case FieldType::String:
        if (!v.is_string())
            return got + " is not a string";
        if (f.required && v.get<std::string>().empty())
            return "is required and must not be empty";
        return std::nullopt;
    case FieldType::Enum:
        if (!v.is_string() || std::find(f.choices.begin(), f.choices.end(), v.get<std::string>()) == f.choices.end())
            return got + " is not allowed; allowed: " + allowedText(f);
        return std::nullopt;
    case FieldType::Int:
    case FieldType::IntList:
        if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()))
            return got + " is not a whole number; allowed: " + allowedText(f);
        if (!numberInRange(f, v.get<double>()))
            return got + " is out of range; allowed: " + allowedText(f);
        return std::nullopt;
    case FieldType::Float:
        if (!v.is_number())
            return got + " is not a number; allowed: " + allowedText(f);
        if (!numberInRange(f, v.get<double>()))
            return got + " is out of range; allowed: " + allowedText(f);
        return std::nullopt;
    case FieldType::StringList:
    case FieldType::Paths: break;
    }
    return std::nullopt;
}

// The keys a JSON object at `prefix` may hold, from the field table.
std::set<std::string> childKeys(const std::string &prefix)
{
    std::set<std::string> keys;
    for (const auto &f : experimentFields()) {
        if (!prefix.empty() && f.path.rfind(prefix + ".", 0) != 0)
            continue;
        std::string rest = prefix.empty() ? f.path : f.path.substr(prefix.size() + 1);
        keys.insert(rest.substr(0, rest.find('.')));
    }
    return keys;
}

void checkKeys(const json &obj, const std::string &prefix, std::vector<ValidationIssue> &issues)
{
    const auto allowed = childKeys(prefix);
    for (const auto &[key, value] : obj.items()) {
        const std::string path = prefix.empty() ? key : prefix + "." + key;
        if (!allowed.count(key)) {
            const std::string best = nearestWord(key, allowed);
            std::string msg = path + ": unknown key" + (best.empty() ? "." : "; did you mean \"" + best + "\"?");
            std::string list;
            for (const auto &a : allowed)
                list += (list.empty() ? "" : ", ") + a;
            msg += " Allowed " + (prefix.empty() ? std::string("at the top level") : "in " + prefix) + ": " + list;
            issues.push_back({path, msg});
            continue;
        }
        if (findField(path))
            continue; // a leaf; its value is checked from the field table
        if (!value.is_object()) {
            issues.push_back({path, path + ": " + describeValue(value) + " is not an object; " + path +
                                        " groups the keys " + [&] {
                                            std::string l;
                                            for (const auto &k : childKeys(path))
                                                l += (l.empty() ? "" : ", ") + k;
                                            return l;
                                        }()});
            continue;
        }
        checkKeys(value, path, issues);
    }
}

const json *lookup(const json &j, std::string_view dotted)
{
    const json *cur = &j;
    size_t start = 0;
    while (start <= dotted.size()) {
        size_t dot = dotted.find('.', start);
        std::string key(dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        if (!cur->is_object())
            return nullptr;
        auto it = cur->find(key);
        if (it == cur->end())
            return nullptr;
        cur = &*it;
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    return cur;
}

// The checks across fields read the typed Experiment, so a misspelt member does not compile.
void checkSplit(const Experiment &e, std::vector<ValidationIssue> &issues)
{
    const double shares = e.split.train + e.split.validation + e.split.test;
    if (std::fabs(shares - 1.0) > 1e-6)
        issues.push_back({"split", "split: train + validation + test is " + formatNumber(shares) +
                                       "; the three shares must add up to 1"});
    // Early stopping watches the validation metric: with no validation papers it would never stop (it was taken
    // without a word).
    if (e.evaluation.earlyStopping > 0 && e.split.validation <= 0)
        issues.push_back({"evaluation.early_stopping",
                          "evaluation.early_stopping: stops on the validation metric, but split.validation is 0; "
                          "give the validation split a share or set early_stopping to 0"});
}

void checkTask(const Experiment &e, std::vector<ValidationIssue> &issues)
{
    const TaskKind kind = e.labels.kind;
    if (kind == TaskKind::Binary && e.labels.positive.empty())
        issues.push_back({"labels.positive", "labels.positive: a binary task needs at least one positive category, "
                                             "e.g. [\"cs.CV\"]"});
    if (kind == TaskKind::MultiLabel && e.labels.prefix.empty())
        issues.push_back({"labels.prefix", "labels.prefix: a multilabel task needs a category prefix, e.g. \"cs.\""});
    const EvalMetric metric = e.evaluation.metric;
    if ((metric == EvalMetric::RocAuc || metric == EvalMetric::PrAuc || metric == EvalMetric::F1) &&
        kind != TaskKind::Binary)
        issues.push_back({"evaluation.metric", "evaluation.metric: \"" + std::string(toString(metric)) +
                                                   "\" is defined for binary tasks only; use accuracy, macro_f1 or "
                                                   "loss"});
    if (metric == EvalMetric::MicroF1 && kind != TaskKind::MultiLabel)
        issues.push_back({"evaluation.metric",
                          "evaluation.metric: \"micro_f1\" is defined for multilabel tasks only; use macro_f1"});
    if (metric == EvalMetric::Accuracy && kind == TaskKind::MultiLabel)
        issues.push_back({"evaluation.metric", "evaluation.metric: exact-match accuracy is a poor guide for "
                                               "multilabel tasks; use micro_f1 or macro_f1"});
}

// model.init_from: pre-trained weights only an encoder reads (a bag or CNN would ignore them without a word), and a
// run reference that names a run and, after @, a step.
void checkInitFrom(const ModelSpec &m, std::vector<ValidationIssue> &issues)
{
    if (m.initFrom.empty())
        return;
    if (m.type != ModelType::Encoder) {
        issues.push_back({"model.init_from", "model.init_from: pre-trained weights start an encoder; set model.type "
                                             "to \"encoder\" (it is \"" + std::string(toString(m.type)) +
                                             "\"), or remove model.init_from"});
        return;
    }
    if (const auto run = parseInitRun(m.initFrom); run && run->ref.empty())
        issues.push_back({"model.init_from", "model.init_from: \"" + m.initFrom + "\" names no run; write run:ID, "
                                             "run:NAME or run:NAME@STEP"});
    else if (run && run->step == -2)
        issues.push_back({"model.init_from", "model.init_from: \"" + m.initFrom + "\": after @ comes a step, a "
                                             "whole number (run:NAME@1300)"});
}

void checkModel(const ModelSpec &m, std::vector<ValidationIssue> &issues)
{
    checkInitFrom(m, issues);
    if (m.type == ModelType::Transformer) {
        if (m.embeddingDim % m.heads != 0)
            issues.push_back({"model.heads", "model.heads: " + std::to_string(m.heads) +
                                                 " does not divide model.embedding_dim " +
                                                 std::to_string(m.embeddingDim)});
        if (m.pooling != Pooling::Cls && m.pooling != Pooling::Mean)
            issues.push_back(
                {"model.pooling", "model.pooling: \"" + std::string(toString(m.pooling)) +
                                      "\" is not available for the transformer; allowed: \"cls\", \"mean\""});
    }
    if (m.type == ModelType::Encoder) {
        if (m.initFrom.empty() && m.embeddingDim % m.heads != 0)
            issues.push_back({"model.heads", "model.heads: " + std::to_string(m.heads) +
                                                 " does not divide model.embedding_dim " +
                                                 std::to_string(m.embeddingDim)});
        if (m.pooling != Pooling::Pooler && m.pooling != Pooling::Cls && m.pooling != Pooling::Mean)
            issues.push_back({"model.pooling", "model.pooling: \"" + std::string(toString(m.pooling)) +
                                                   "\" is not available for the encoder; allowed: \"pooler\", "
                                                   "\"cls\", \"mean\""});
    }
    if (m.type == ModelType::Gru && (m.pooling == Pooling::Cls || m.pooling == Pooling::Pooler))
        issues.push_back({"model.pooling", "model.pooling: \"" + std::string(toString(m.pooling)) +
                                               "\" is for the transformer and the encoder; for the GRU use mean, "
                                               "max or meanmax"});
    if (m.hasBag() && m.charNgrams > 0) {
        if (m.ngramBuckets == 0)
            issues.push_back({"model.char_ngrams", "model.char_ngrams: character n-grams are hashed into the n-gram "
                                                   "buckets; set model.ngram_buckets above 0"});
        if (m.charNgramsMin > m.charNgrams)
            issues.push_back({"model.char_ngrams_min", "model.char_ngrams_min: must be at most model.char_ngrams (" +
                                                           std::to_string(m.charNgrams) + ")"});
    }
}

// Masked-language-model pre-training: an encoder, no labels, scored by the masked tokens' loss or accuracy.
void checkMlm(const Experiment &e, std::vector<ValidationIssue> &issues)
{
    if (e.model.type != ModelType::Encoder)
        issues.push_back({"model.type", "model.type: training.objective \"mlm\" pre-trains an encoder; set model.type "
                                        "to \"encoder\" (it is \"" + std::string(toString(e.model.type)) + "\")"});
    const EvalMetric metric = e.evaluation.metric;
    if (metric != EvalMetric::Loss && metric != EvalMetric::Accuracy)
        issues.push_back({"evaluation.metric", "evaluation.metric: an mlm run is scored by the masked tokens' "
                                               "\"loss\" or \"accuracy\", not \"" + std::string(toString(metric)) +
                                               "\""});
}

void checkAcrossFields(const Experiment &e, std::vector<ValidationIssue> &issues)
{
    checkSplit(e, issues);
    if (e.training.objective != TrainingObjective::Mlm || e.mlm.taskSplit)
        checkTask(e, issues);
    if (e.training.objective == TrainingObjective::Mlm)
        checkMlm(e, issues);
    checkModel(e.model, issues);
    const TrainingSpec &t = e.training;
    if (t.processes > t.batchSize)
        issues.push_back(
            {"training.processes", "training.processes: " + std::to_string(t.processes) +
                                       " processes cannot share a batch of " + std::to_string(t.batchSize) +
                                       " examples; raise training.batch_size or lower training.processes"});
    else if (int64_t(t.processes) * t.accumulate > t.batchSize)
        issues.push_back({"training.accumulate", "training.accumulate: " + std::to_string(t.processes) + " x " +
                                                     std::to_string(t.accumulate) + " parts cannot share a batch of " +
                                                     std::to_string(t.batchSize) + " examples"});
    if (t.backend == CollectiveBackend::Nccl && t.device == TrainingDevice::Cpu)
        issues.push_back({"training.backend", "training.backend: \"nccl\" needs CUDA devices; with training.device "
                                              "\"cpu\" use \"gloo\" or \"auto\""});
    if (e.lrFinder.minLr >= e.lrFinder.maxLr)
        issues.push_back({"lr_finder.max_lr", "lr_finder.max_lr: must be greater than lr_finder.min_lr"});
}

// A field's condition against a config: "path=value" holds when the path has that value; a bare "path" when it is
// set (a string that is not empty).
bool conditionHolds(const std::string &cond, const json &resolved)
{
    const auto eq = cond.find('=');
    const json v = valueAt(resolved, cond.substr(0, eq));
    if (eq == std::string::npos)
        return v.is_string() && !v.get<std::string>().empty();
    if (v.is_number()) // "model.char_ngrams=0"
        return v.dump() == cond.substr(eq + 1);
    return v.is_string() && v.get<std::string>() == cond.substr(eq + 1);
}

// "not when model.init_from is set", "not when training.objective=mlm": one of a field's "unless" conditions.
std::string notWhenText(const std::string &cond)
{
    return "not when " + cond + (cond.find('=') == std::string::npos ? " is set" : "");
}

} // namespace

// Why a field that does not apply here does not: the first "unless" that holds ("not when X"), else the conditions
// none of which holds ("only when A or B").
std::string whyNotApplied(const FieldSpec &f, const json &resolved)
{
    for (const auto &cond : f.unless)
        if (conditionHolds(cond, resolved))
            return notWhenText(cond);
    std::string text = "only";
    for (size_t i = 0; i < f.appliesTo.size(); ++i)
        text += (i ? " or " : " when ") + f.appliesTo[i];
    return text;
}

bool fieldApplies(const FieldSpec &f, const json &resolved)
{
    const auto holds = [&](const std::string &cond) { return conditionHolds(cond, resolved); };
    if (std::any_of(f.unless.begin(), f.unless.end(), holds))
        return false;
    return f.appliesTo.empty() || std::any_of(f.appliesTo.begin(), f.appliesTo.end(), holds);
}

std::string fieldConditionText(const FieldSpec &f)
{
    std::string text;
    for (size_t i = 0; i < f.appliesTo.size(); ++i)
        text += (i ? " or " : "when ") + f.appliesTo[i];
    for (const auto &cond : f.unless)
        text += (text.empty() ? "" : ", ") + notWhenText(cond);
    return text;
}

std::vector<std::string> unusedFieldNotes(const json &j)
{
    std::vector<std::string> notes;
    if (!j.is_object())
        return notes;
    const json resolved = withDefaults(j);
    const json from = valueAt(resolved, "model.init_from");
    // A pre-training run's tokenizer settings replace the file's (lbk validate notes those that differ), so a file
    // may keep its own for the same experiment without init_from (finetune-top20-title.json's sweep runs both).
    const bool fromRun = from.is_string() && parseInitRun(from.get<std::string>());
    for (const auto &f : experimentFields()) {
        // A value equal to the default is not taken as set: a run's experiment.json (and a form that duplicated
        // it) writes every field.
        const json *given = lookup(j, f.path);
        if (given && *given != f.defaultValue && !fieldApplies(f, resolved) &&
            !(fromRun && f.path.starts_with("tokenizer.")))
            notes.push_back(f.path + " is set but not used (" + whyNotApplied(f, resolved) + ")");
    }
    return notes;
}

json valueAt(const json &j, std::string_view dottedPath)
{
    const json *v = lookup(j, dottedPath);
    return v ? *v : json();
}

bool hasValueAt(const json &j, std::string_view dottedPath)
{
    return lookup(j, dottedPath) != nullptr;
}

void setValueAt(json &j, std::string_view dottedPath, json value)
{
    json *cur = &j;
    size_t start = 0;
    while (true) {
        size_t dot = dottedPath.find('.', start);
        std::string key(dottedPath.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        if (!cur->is_object())
            *cur = json::object();
        if (dot == std::string_view::npos) {
            (*cur)[key] = std::move(value);
            return;
        }
        cur = &(*cur)[key];
        start = dot + 1;
    }
}

void eraseValueAt(json &j, std::string_view dottedPath)
{
    const auto dot = dottedPath.rfind('.');
    const json *parent = dot == std::string_view::npos ? &j : lookup(j, dottedPath.substr(0, dot));
    if (parent && parent->is_object()) // j itself is not const: lookup's answer may be changed
        const_cast<json *>(parent)->erase(std::string(dottedPath.substr(dot == std::string_view::npos ? 0 : dot + 1)));
}

std::optional<ValidationIssue> validateField(const FieldSpec &f, const json &v)
{
    if (f.type == FieldType::Paths) { // one path, or a non-empty list of them
        const bool one = v.is_string() && !v.get<std::string>().empty();
        if (!one && !(v.is_array() && !v.empty()))
            return ValidationIssue{f.path, f.path + ": " + describeValue(v) + " is not " + allowedText(f)};
        for (size_t i = 0; v.is_array() && i < v.size(); ++i)
            if (!v[i].is_string() || v[i].get<std::string>().empty()) {
                const std::string p = f.path + "[" + std::to_string(i) + "]";
                return ValidationIssue{p, p + ": " + describeValue(v[i]) + " is not a non-empty string"};
            }
        return std::nullopt;
    }
    if (f.type == FieldType::StringList || f.type == FieldType::IntList) {
        if (!v.is_array())
            return ValidationIssue{f.path, f.path + ": " + describeValue(v) + " is not a list; allowed: " + allowedText(f)};
        for (size_t i = 0; i < v.size(); ++i) {
            const std::string p = f.path + "[" + std::to_string(i) + "]";
            if (f.type == FieldType::StringList) {
                if (!v[i].is_string() || v[i].get<std::string>().empty())
                    return ValidationIssue{p, p + ": " + describeValue(v[i]) + " is not a non-empty string"};
            } else if (auto err = checkScalar(f, FieldType::Int, v[i])) {
                return ValidationIssue{p, p + ": " + *err};
            }
        }
        if (f.type == FieldType::IntList && v.empty())
            return ValidationIssue{f.path, f.path + ": must not be empty; allowed: " + allowedText(f)};
        return std::nullopt;
    }
    if (auto err = checkScalar(f, f.type, v))
        return ValidationIssue{f.path, f.path + ": " + *err};
    return std::nullopt;
}

std::vector<ValidationIssue> validateExperimentJson(const json &j)
{
    std::vector<ValidationIssue> issues;
    if (!j.is_object()) {
        issues.push_back({"", "the experiment must be a JSON object, not " + describeValue(j)});
        return issues;
    }
    if (isSweepJson(j)) { // one line that says what the file is, not an unknown key for each of its keys
        issues.push_back({"", "this is a sweep (it has \"experiment\" and \"parameters\"), not an experiment: run it "
                              "with `lbk sweep FILE` (docs/SWEEPS.md)"});
        return issues;
    }
    checkKeys(j, "", issues);
    for (const auto &f : experimentFields()) {
        const json *v = lookup(j, f.path);
        if (!v) {
            if (f.required)
                issues.push_back({f.path, f.path + ": is required (" + f.help + ")"});
            continue;
        }
        if (auto issue = validateField(f, *v))
            issues.push_back(*issue);
    }
    if (!issues.empty())
        return issues; // checks across fields need well-typed values

    checkAcrossFields(readFields(withDefaults(j)), issues);
    return issues;
}

json withDefaults(const json &j)
{
    json r = j.is_object() ? j : json::object();
    for (const auto &f : experimentFields())
        if (!lookup(r, f.path))
            setValueAt(r, f.path, f.defaultValue);
    return r;
}

json withRecordedDefaults(const json &j)
{
    json r = j;
    for (const auto &b : fieldBindings()) {
        const std::string &path = b.spec.path;
        const auto dot = path.rfind('.');
        // Only where the field's section was recorded: a config without it is not a recorded one.
        const json *section = dot == std::string::npos ? &r : lookup(r, std::string_view(path).substr(0, dot));
        if (!b.recordedDefault.is_null() && section && section->is_object() && !lookup(r, path))
            setValueAt(r, path, b.recordedDefault);
    }
    return r;
}

Result<Experiment> experimentFromRecorded(const json &j)
{
    return experimentFromJson(withRecordedDefaults(j));
}

Result<Experiment> experimentFromJson(const json &j)
{
    const auto issues = validateExperimentJson(j);
    if (!issues.empty()) {
        std::string msg;
        for (const auto &i : issues)
            msg += (msg.empty() ? "" : "\n") + i.message;
        return Error{msg};
    }
    Experiment e = readFields(withDefaults(j));
    e.given = j;
    // A file may leave the name empty (loadExperimentFile fills in the file's stem); a run still needs one.
    if (e.name.empty())
        e.name = "experiment";
    e.config["name"] = e.name;
    return e;
}

namespace {
// What a hand-written JSON file must not do that the parser allows: nest without end (printing such a value
// recurses once per level) or give a key twice in one object (the second silently replaces the first).
struct JsonFileCheck {
    static constexpr int kMaxDepth = 100;
    std::vector<std::set<std::string>> keys; // one set per open object (arrays push an empty one, never filled)
    std::string problem;

    bool operator()(int depth, json::parse_event_t event, json &parsed)
    {
        using E = json::parse_event_t;
        if (event == E::object_start || event == E::array_start) {
            if (depth >= kMaxDepth) {
                problem = "nested more than " + std::to_string(kMaxDepth) + " levels deep; not a file Labbook reads";
                throw std::range_error(problem);
            }
            keys.emplace_back();
        } else if (event == E::object_end || event == E::array_end) {
            if (!keys.empty())
                keys.pop_back();
        } else if (event == E::key && !keys.empty() && !keys.back().insert(parsed.get<std::string>()).second) {
            problem = "the key \"" + parsed.get<std::string>() + "\" is given twice in one object; the second would "
                      "silently replace the first";
            throw std::range_error(problem);
        }
        return true;
    }
};
} // namespace

Result<json> readJsonFile(const std::filesystem::path &file)
{
    if (std::filesystem::is_directory(file))
        return Error{file.string() + ": a folder, not a JSON file"};
    if (!std::filesystem::exists(file))
        return Error{file.string() + ": cannot open the file (no such file)"};
    auto read = readFileBytes(file);
    if (!read)
        return Error{read.message()};
    std::string text = std::move(*read);
    // What the parser would call "unexpected end of input" or an invalid literal: say what the file is instead.
    if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF"))
        return Error{file.string() + ": the file is UTF-16; save it as UTF-8"};
    if (const size_t nul = text.find('\0'); nul != std::string::npos)
        return Error{file.string() + ": a NUL byte at offset " + std::to_string(nul) + "; not a JSON text file"};
    JsonFileCheck check;
    try {
        return json::parse(text, std::ref(check));
    } catch (const std::range_error &) {
        return Error{file.string() + ": " + check.problem};
    } catch (const json::out_of_range &e) { // a number beyond double's range, such as 1e400
        std::string what = e.what();
        what = what.substr(what.find(']') == std::string::npos ? 0 : what.find(']') + 2);
        return Error{file.string() + ": invalid JSON: " + what};
    } catch (const json::parse_error &e) {
        // Turn the byte offset into line:column, which is what an editor jumps to.
        size_t offset = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
        size_t line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
        size_t lineStart = text.rfind('\n', offset == 0 ? 0 : offset - 1);
        size_t col = offset - (lineStart == std::string::npos ? 0 : lineStart + 1) + 1;
        if (offset > 0 && text[offset - 1] == '\n')
            col = 1;
        std::string what = e.what();
        auto pos = what.find("syntax error");
        if (pos != std::string::npos)
            what = what.substr(pos);
        return Error{file.string() + ":" + std::to_string(line) + ":" + std::to_string(col) + ": invalid JSON: " + what};
    }
}

Result<Experiment> loadExperimentFile(const std::filesystem::path &file)
{
    auto j = readJsonFile(file);
    if (!j)
        return j.error();
    if (j->is_object() && (!j->contains("name") || ((*j)["name"].is_string() && (*j)["name"].get<std::string>().empty())))
        (*j)["name"] = file.stem().string();
    auto e = experimentFromJson(*j);
    if (!e) {
        std::string msg;
        std::istringstream lines(e.message());
        for (std::string l; std::getline(lines, l);)
            msg += (msg.empty() ? "" : "\n") + file.string() + ": " + l;
        return Error{msg};
    }
    return e;
}

namespace {
void flatten(const json &j, const std::string &prefix, std::map<std::string, json> &out)
{
    if (j.is_object() && !j.empty()) {
        for (const auto &[k, v] : j.items())
            flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    } else {
        out[prefix] = j;
    }
}
} // namespace

std::vector<std::string> configDiff(const std::vector<json> &configs)
{
    std::vector<std::map<std::string, json>> flat(configs.size());
    std::set<std::string> keys;
    for (size_t i = 0; i < configs.size(); ++i) {
        flatten(configs[i], "", flat[i]);
        for (const auto &[k, v] : flat[i])
            keys.insert(k);
    }
    std::vector<std::string> diff;
    for (const auto &k : keys) {
        for (size_t i = 1; i < flat.size(); ++i) {
            auto a = flat[0].find(k), b = flat[i].find(k);
            json va = a == flat[0].end() ? json() : a->second, vb = b == flat[i].end() ? json() : b->second;
            if (va != vb) {
                diff.push_back(k);
                break;
            }
        }
    }
    return diff;
}

std::string fieldTypeName(FieldType t)
{
    switch (t) {
    case FieldType::Int: return "integer";
    case FieldType::Float: return "number";
    case FieldType::Bool: return "boolean";
    case FieldType::String: return "string";
    case FieldType::Enum: return "choice";
    case FieldType::StringList: return "list of strings";
    case FieldType::IntList: return "list of integers";
    case FieldType::Paths: return "path or list of paths";
    }
    return "";
}

std::string schemaMarkdown()
{
    std::ostringstream md;
    md << "# Experiment files\n\n"
          "An experiment is a JSON object; every field below has a default, so a file names only what it changes. "
          "`lbk validate FILE...` checks files (`lbk validate experiments/*.json`); the GUI's form is built from the "
          "same table. Unknown keys, wrong types and out-of-range values are errors naming the JSON path, the value "
          "and what is allowed.\n\n"
          "The field tables below are generated by `lbk schema --markdown` (a test keeps them in step with the code).\n";
    std::string group;
    for (const auto &f : experimentFields()) {
        if (f.group != group) {
            group = f.group;
            md << "\n## " << group << "\n\n| field | type | default | allowed | what it does |\n| --- | --- | --- | --- | --- |\n";
        }
        std::string allowed = allowedText(f);
        std::string help = f.help;
        if (const std::string when = fieldConditionText(f); !when.empty())
            help += " (" + when + ")";
        if (f.required)
            help += " Required.";
        md << "| `" << f.path << "` | " << fieldTypeName(f.type) << " | `" << f.defaultValue.dump() << "` | "
           << allowed << " | " << help << " |\n";
    }
    return md.str();
}

bool isSweepJson(const json &j)
{
    return j.is_object() && (j.contains("experiment") || j.contains("parameters"));
}

} // namespace lbk
