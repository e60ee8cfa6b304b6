#include "engine/predictprogress.h"

#include <fstream>

#include <nlohmann/json.hpp>

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
    const fs::path tmp = file.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << j.dump() << '\n';
        if (!out.flush())
            return Error{tmp.string() + ": cannot write predict's progress (is the disk full?)"};
    }
    std::error_code ec;
    fs::rename(tmp, file, ec);
    if (ec)
        return Error{tmp.string() + ": cannot be renamed to " + file.string() + ": " + ec.message()};
    return okStatus();
}

Result<PredictProgress> loadPredictProgress(const fs::path &file, const std::string &inputs)
{
    std::ifstream in(file);
    if (!in)
        return badInput("no " + file.filename().string() + " beside it");
    const json j = json::parse(in, nullptr, false);
    if (!j.is_object() || !j.value("line", json()).is_number_integer() || !j.value("bytes", json()).is_number_integer())
        return badInput(file.string() + " is damaged");
    if (j.value("inputs", std::string()) != inputs)
        return badInput("it was written for other inputs (the model's weights, the data file or the options that "
                        "change a row differ)");
    PredictProgress p;
    p.line = j["line"].get<int64_t>();
    p.bytes = j["bytes"].get<int64_t>();
    p.counts.rows = j.value("rows", int64_t(0));
    p.counts.skipped = j.value("skipped", int64_t(0));
    p.counts.firstSkipped = j.value("first_skipped", std::string());
    p.counts.nonFinite = j.value("non_finite", int64_t(0));
    p.counts.firstNonFinite = j.value("first_non_finite", std::string());
    if (p.line < 0 || p.bytes < 0)
        return badInput(file.string() + " is damaged");
    return p;
}

} // namespace lbk
