#pragma once
// A config's hash: runs with equal hashes computed the same thing (the store's config_hash, a sweep's base).
#include <nlohmann/json.hpp>

#include <string>

namespace lbk {

// 16 hex digits of the stable hash of the config without its name, description and tags (which change nothing a
// run computes). The same for a config recorded by lbk and one an external trainer's run_started gives.
std::string configHash(const nlohmann::json &resolved);
// The hash of what an LR range test computes from: the config without the keys it never reads (the rate it sweeps
// past, the schedule, the epochs and step cap, evaluation, logging and checkpoint intervals, threads), so a sweep
// that changed only those reuses the test (docs/SWEEPS.md).
std::string rangeTestHash(const nlohmann::json &resolved);

} // namespace lbk
