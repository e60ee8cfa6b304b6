#include "engine/predictprogress.h"

#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/filebytes.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path progressFileOf(const fs::path &partial)
{
    return fs::path(partial.string() + ".progress");
}

Status savePredictProgress(const fs::path &file, const std::string &inputs, const PredictProgress &p)
{
    const json j = {{"inputs", inputs},
                    {"line", p.line},
                    {"bytes", p.bytes},
                    {"rows", p.counts.rows},
                    {"skipped", p.counts.skipped},
                    {"first_skipped", p.counts.firstSkipped},
                    {"non_finite", p.counts.nonFinite},
                    {"first_non_finite", p.counts.firstNonFinite}};
    return writeFileReplacing(file, j.dump() + "\n");
}

namespace {

// What differs between the inputs a partial output was written for and today's, in the options' words.
std::string differences(const std::string &then, const std::string &now)
{
    static const std::vector<std::pair<const char *, const char *>> names = {
        {"weights", "the model's weights"}, {"checkpoint", "the run's checkpoint"}, {"data", "the data file"},
        {"data_size", "the data file's size"}, {"data_modified", "the data file's modification time"},
        {"shard", "--shard"}, {"format", "--format"}, {"top_k", "--top-k"}, {"precision", "--precision"},
        {"batch_size", "--batch-size"}, {"threshold", "--threshold"}};
    const json a = json::parse(then, nullptr, false), b = json::parse(now, nullptr, false);
    std::string out;
    for (const auto &[key, name] : names) {
        const json x = a.is_object() ? a.value(key, json()) : json(), y = b.is_object() ? b.value(key, json()) : json();
        if (x == y)
            continue;
        out += std::string(out.empty() ? "" : ", ") + name;
        const bool sayValues = std::string(key) != "weights" && std::string(key) != "data_modified";
        if (x.is_primitive() && y.is_primitive() && sayValues)
            out += " (" + (x.is_string() ? x.get<std::string>() : x.dump()) + " then, " +
                   (y.is_string() ? y.get<std::string>() : y.dump()) + " now)";
    }
    return out.empty() ? "the inputs" : out;
}

} // namespace

Result<PredictProgress> loadPredictProgress(const fs::path &file, const std::string &inputs)
{
    std::ifstream in(file);
    if (!in)
        return badInput("it is missing");
    const json j = json::parse(in, nullptr, false);
    if (!j.is_object() || !j.value("line", json()).is_number_integer() || !j.value("bytes", json()).is_number_integer())
        return badInput("it is damaged");
    if (const std::string then = j.value("inputs", std::string()); then != inputs)
        return badInput("it was written for other inputs: " + differences(then, inputs) + " changed");
    PredictProgress p;
    p.line = j["line"].get<int64_t>();
    p.bytes = j["bytes"].get<int64_t>();
    p.counts.rows = j.value("rows", int64_t(0));
    p.counts.skipped = j.value("skipped", int64_t(0));
    p.counts.firstSkipped = j.value("first_skipped", std::string());
    p.counts.nonFinite = j.value("non_finite", int64_t(0));
    p.counts.firstNonFinite = j.value("first_non_finite", std::string());
    if (p.line < 0 || p.bytes < 0 || p.counts.rows < 0)
        return badInput("it is damaged");
    return p;
}

} // namespace lbk
