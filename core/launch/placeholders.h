#pragma once
// {name} placeholders in a target's templates (docs/LAUNCH.md): a `command` target's command line ({cmd} and its
// `vars`) and a target's own `worker` ({journal}, {run_dir}, ...). One substitution and one check for both.
#include <map>
#include <string>
#include <vector>

namespace lbk {

// `text` with each {name} that `values` holds replaced, in one pass (a value that itself holds "{x}" stays as it
// is); other braces are kept as written.
std::string substitute(const std::string &text, const std::map<std::string, std::string> &values);

// The names of the {name} placeholders in `text` that look like one (letters, digits and _), in order; braces
// around anything else ('{"a": 1}' in an argument) are not placeholders.
std::vector<std::string> placeholdersIn(const std::string &text);

// The placeholders a target's own worker template may use; workerCommand() fills exactly these.
inline const std::vector<std::string> kWorkerPlaceholders = {"journal", "run_dir", "experiment", "run",
                                                             "name",    "data_root", "lbk"};

} // namespace lbk
