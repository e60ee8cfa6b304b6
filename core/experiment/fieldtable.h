#pragma once
// The experiment fields, each declared once together with the Experiment member it sets: parsing, the defaults and
// the schema that schema.h offers (experimentFields(): validation, docs, the GUI's form) all come from this table.
// Used by schema.cpp and the tests; other code goes through schema.h.
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment/experiment.h"
#include "experiment/schema.h"

namespace lbk {

struct FieldBinding {
    FieldSpec spec;
    // Set the bound member from a valid value, and give it back as JSON; spec.defaultValue is
    // write(Experiment{}), so the struct's initialisers are the defaults. Both are empty for the few fields
    // without a member, which their readers take from Experiment::config (fieldtable.cpp says who).
    std::function<void(const nlohmann::json &value, Experiment &e)> read;
    std::function<nlohmann::json(const Experiment &e)> write;
    // For a field added after runs were recorded: the value those runs used, which a recorded config that
    // lacks the field gets instead of today's default (withRecordedDefaults). Null for the others.
    nlohmann::json recordedDefault;
};

const std::vector<FieldBinding> &fieldBindings();

// An Experiment from a config with every field present and valid (withDefaults, validateExperimentJson);
// config is kept as given.
Experiment readFields(const nlohmann::json &resolved);
// Every bound member as JSON at its path: the inverse of readFields, for comparing Experiments.
nlohmann::json writeFields(const Experiment &e);

} // namespace lbk
