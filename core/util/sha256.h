#pragma once
// A file's SHA-256, as `sha256sum` prints it: a remote launch compares it with the target's copy of the data and
// skips copying what is already there.
#include <filesystem>
#include <string>

namespace lbk {

std::string sha256File(const std::filesystem::path &file); // hex; empty when unreadable

} // namespace lbk
