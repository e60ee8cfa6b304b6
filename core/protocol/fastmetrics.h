#pragma once
// The hot event, metrics, read without building a JSON tree: {"seq": 1, "t": 2.5, "type": "metrics", "step": 3,
// "values": {"train/loss": 0.7, "lr": null}} in any field order. Anything it does not fully understand (escapes,
// arrays, other nesting, NaN tokens, bad syntax, another type) returns false and goes to the general parser,
// which also reports what is wrong; so the fast path never accepts a line the general one would refuse. It is
// hand-written because nlohmann's SAX parser, tried in its place, is several times slower on these lines
// (docs/BENCHMARKS.md).
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace lbk {

struct FastMetrics {
    int64_t seq = 0;
    bool hasSeq = false;
    std::optional<double> t;
    std::optional<int64_t> step;
    bool hasValues = false;
    bool isMetrics = false;
    std::vector<std::pair<std::string_view, std::optional<double>>> values; // keys point into the line
};

// True when line is a metrics event the fast path fully understands, read into out (whose values keep their
// capacity from line to line); false sends the line to the general parser.
bool scanFastMetrics(std::string_view line, FastMetrics &out);

} // namespace lbk
