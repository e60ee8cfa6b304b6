#pragma once
// The experiment schema: one table of fields (path, type, default, range, help) that drives validation,
// defaults, the docs (`lbk schema`) and the GUI's form, so all of them say the same thing.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment/experiment.h"
#include "util/confighash.h" // configHash, which every caller of the schema used from here
#include "util/result.h"

namespace lbk {

enum class FieldType { Int, Float, Bool, String, Enum, StringList, IntList, Paths }; // Paths: a path or a list of them

struct FieldSpec {
    std::string path;  // dotted JSON path, e.g. "optimizer.lr"
    std::string group; // the form's section: data, labels, split, tokenizer, model, optimizer, ...
    FieldType type = FieldType::String;
    nlohmann::json defaultValue;
    std::optional<double> min, max;
    bool minExclusive = false, maxExclusive = false;
    std::vector<std::string> choices; // Enum
    std::string help;
    bool required = false;
    bool logScale = false; // a rate: the form steps it by factors of ten
    // Where a sweep of it usually searches, when "around its current value" would not do (a beta2 of 0.999 halved
    // and doubled is 0.5 to 1); the sweep dialog starts there.
    std::optional<std::pair<double, double>> sweepRange;
    // False for how or where a run computes (threads, device, logging, checkpoints, a step cap), not what it learns:
    // the sweep dialog does not offer it (a sweep file may still vary it).
    bool hyperparameter = true;
    std::vector<std::string> appliesTo; // e.g. {"model.type=cnn"}: empty means always
    // Conditions any of which makes the field moot whatever appliesTo says: a path set (not empty),
    // {"model.init_from"} for the tokenizer's training options since a pretrained encoder brings its own tokenizer; or
    // "path=value", {"training.objective=mlm"} for what only a classifier's training reads.
    std::vector<std::string> unless;
};

const std::vector<FieldSpec> &experimentFields();
const FieldSpec *findField(std::string_view path);
std::vector<std::string> experimentGroups();

struct ValidationIssue {
    std::string path;    // JSON path, e.g. "model.kernel_sizes[1]"
    std::string message; // the whole message, path first: "optimizer.lr: -1 is out of range; allowed: ..."
};

// Every problem in an experiment JSON: unknown keys (with a did-you-mean), wrong types, out-of-range values,
// and the checks across fields (split shares summing to 1, a binary task without positives, ...).
std::vector<ValidationIssue> validateExperimentJson(const nlohmann::json &j);
// Whether a field matters for this config (its appliesTo and unless conditions), e.g. model.channels only for a
// CNN, tokenizer.vocab_size not for a pretrained encoder.
bool fieldApplies(const FieldSpec &field, const nlohmann::json &config);
// Why a field does not apply to this resolved config: "only when model.type=gru", "not when model.init_from is set".
std::string whyNotApplied(const FieldSpec &field, const nlohmann::json &resolved);
// Those conditions in words, as the docs, the form's tooltips and the notes below say them:
// "when model.type=cnn or model.type=bag_cnn", "not when model.init_from is set"; empty for a field that always applies.
std::string fieldConditionText(const FieldSpec &field);
// A note for each field a file sets that does nothing with the rest of it (model.channels of a bag,
// tokenizer.vocab_size with model.init_from): "tokenizer.vocab_size is set but not used (not when model.init_from is
// set)". j is the file as written; its defaults are filled in to judge, and a value equal to its default is not
// taken as set (a run's recorded config writes every field).
std::vector<std::string> unusedFieldNotes(const nlohmann::json &j);
// The value of one field checked alone (for the form, as the user types).
std::optional<ValidationIssue> validateField(const FieldSpec &field, const nlohmann::json &value);

// A copy with every missing field set to its default.
nlohmann::json withDefaults(const nlohmann::json &j);
// Parses an experiment: validation issues are joined into the error, one per line.
Result<Experiment> experimentFromJson(const nlohmann::json &j);
// Parses the resolved config a run recorded (its experiment.json, a model card's config). Every field is
// written there, so a field missing means the run predates it; such fields get the value that run used, not
// today's default (model.ngram_hash: "multiplicative" before 2026-11-24).
Result<Experiment> experimentFromRecorded(const nlohmann::json &j);
// That recorded config with those fields filled in as the run had them, for a form that relaunches it.
nlohmann::json withRecordedDefaults(const nlohmann::json &j);
// Reads and parses a file; a JSON syntax error names file, line and column. The name defaults to the stem.
Result<Experiment> loadExperimentFile(const std::filesystem::path &file);
Result<nlohmann::json> readJsonFile(const std::filesystem::path &file);

// The keys whose values differ between resolved configs (dotted paths, sorted).
std::vector<std::string> configDiff(const std::vector<nlohmann::json> &configs);
nlohmann::json valueAt(const nlohmann::json &j, std::string_view dottedPath); // null when absent
bool hasValueAt(const nlohmann::json &j, std::string_view dottedPath); // a null that is there counts
// A sweep file (docs/SWEEPS.md) names its experiment under "experiment" and what it varies under "parameters";
// either key makes it one (the other may be missing or misspelled: the sweep's checks say so, not an experiment's
// nine). Given where an experiment is expected, it is said to be a sweep (and the other way round in the sweep
// reader).
bool isSweepJson(const nlohmann::json &j);
void setValueAt(nlohmann::json &j, std::string_view dottedPath, nlohmann::json value);
void eraseValueAt(nlohmann::json &j, std::string_view dottedPath); // nothing when it is not there

// The schema as Markdown (docs/EXPERIMENTS.md is generated from it).
std::string schemaMarkdown();
std::string fieldTypeName(FieldType t);

} // namespace lbk
