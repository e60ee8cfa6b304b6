#pragma once
// A hash that is the same on every machine, compiler and standard library: the data split's order, a config's
// hash and a tokenizer's cache key all depend on it, so their results can be compared across machines.
#include <cstdint>
#include <string_view>

namespace lbk {

// 64-bit FNV-1a, then a splitmix64 finaliser: stable across machines and compilers.
uint64_t stableHash(std::string_view s, uint64_t seed = 0);

} // namespace lbk
