#pragma once
// Quoting for POSIX shells. Every command Labbook runs on another machine (ssh, sbatch, a command template
// such as `gcloud ... ssh --command`) passes through a shell there, so every value in it (run name, path,
// config value, environment value) goes through shellQuote: in single quotes, a ' written as '\''. Nothing
// a user types can then be read as code.
#include <string>
#include <string_view>
#include <vector>

namespace lbk {

// One word for sh: 'it'\''s' for it's. The empty string becomes ''.
std::string shellQuote(std::string_view word);
// As shellQuote, but a word of safe characters only (letters, digits, _ . / : @ % + = , -) stays as it is: for
// commands shown to a person (`lbk --store /tmp/a.db resume 3`).
std::string shellQuoteForReading(std::string_view word);
// Each argument quoted, joined by spaces: a command line sh reads back into exactly these arguments.
std::string shellJoin(const std::vector<std::string> &argv);
// A name usable as a shell variable name ([A-Za-z_][A-Za-z0-9_]*), for environment keys.
bool isShellName(std::string_view name);

} // namespace lbk
