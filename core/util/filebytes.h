#pragma once
// A whole file's bytes, with a message that names the file when they cannot be read.
#include <filesystem>
#include <string>

#include "util/result.h"

namespace lbk {

// A read error (a disk error; a /proc file of a process that has just ended) is an Error here. Read through an
// istreambuf_iterator, libstdc++'s file buffer throws it instead, and nothing catches it: the program ends.
Result<std::string> readFileBytes(const std::filesystem::path &file);

} // namespace lbk
