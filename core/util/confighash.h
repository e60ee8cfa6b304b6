#pragma once
// A config's hash: runs with equal hashes computed the same thing (the store's config_hash, a sweep's base).
#include <nlohmann/json.hpp>

#include <string>

namespace lbk {

// 16 hex digits of the stable hash of the config without its name, description and tags (which change nothing a
// run computes). The same for a config recorded by lbk and one an external trainer's run_started gives.
std::string configHash(const nlohmann::json &resolved);

} // namespace lbk
