#pragma once
// A hash that is the same on every machine, compiler and standard library: the data split's order, a config's
// hash and a tokenizer's cache key all depend on it, so their results can be compared across machines.
#include <cstdint>
#include <string>
#include <string_view>

namespace lbk {

// 64-bit FNV-1a, then a splitmix64 finaliser: stable across machines and compilers.
uint64_t stableHash(std::string_view s, uint64_t seed = 0);

// A stream of 64-bit values from one seed (splitmix64, the finaliser above), the same on every machine: seeded
// draws that must not depend on the standard library's distributions (a sweep's trials, a forest's samples).
class StableDraws {
public:
    explicit StableDraws(uint64_t seed) : m_state(seed) {}
    uint64_t next();
    double unit() { return double(next() >> 11) * 0x1p-53; } // [0, 1)
    uint64_t below(uint64_t n) { return uint64_t(unit() * double(n)); }

private:
    uint64_t m_state;
};

// A hash as 16 lower-case hex digits: cache entries' names.
std::string hexKey(uint64_t h);

// Fills out[0, n) with values in [-scale, scale) that depend on (seed, firstIndex + i) alone: a table initialised
// element by element, on any number of threads in any order, each part reproducible on its own.
void fillHashedUniform(float *out, int64_t n, uint64_t seed, uint64_t firstIndex, float scale);

} // namespace lbk
