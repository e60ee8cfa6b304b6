#include "protocol/eventreader.h"

#include <algorithm>
#include <cmath>

#include "util/text.h"

using nlohmann::json;

namespace lbk::event {

namespace {

constexpr size_t kQuoteChars = 160; // how much of a bad line a warning quotes

// The line with NaN, Infinity and -Infinity (Python's json.dumps), nan, inf, -nan and -inf (C's printf) outside
// strings as null; nullopt when it has none of them. Outside strings JSON has no other words that hold them.
std::optional<std::string> nonFiniteAsNull(std::string_view line)
{
    std::string out;
    out.reserve(line.size());
    bool inString = false, changed = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (inString) {
            out += c;
            if (c == '\\' && i + 1 < line.size())
                out += line[++i];
            else if (c == '"')
                inString = false;
            continue;
        }
        if (c == '"') {
            inString = true;
            out += c;
            continue;
        }
        bool replaced = false;
        for (std::string_view token : {"-Infinity", "Infinity", "NaN", "-nan", "-inf", "nan", "inf"}) {
            if (line.substr(i, token.size()) == token) {
                out += "null";
                i += token.size() - 1;
                changed = replaced = true;
                break;
            }
        }
        if (!replaced)
            out += c;
    }
    return changed ? std::optional<std::string>(std::move(out)) : std::nullopt;
}

} // namespace

json parseLine(std::string_view line)
{
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) {
        if (auto fixed = nonFiniteAsNull(line))
            j = json::parse(*fixed, nullptr, false);
    }
    return j;
}

std::optional<int64_t> getInt(const json &j, const char *key)
{
    auto it = j.find(key);
    if (it == j.end())
        return std::nullopt;
    if (it->is_number_integer() || it->is_number_unsigned())
        return it->get<int64_t>();
    if (it->is_number_float()) {
        const double d = it->get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15)
            return int64_t(d);
    }
    return std::nullopt;
}

std::optional<double> getNum(const json &v)
{
    if (!v.is_number())
        return std::nullopt;
    const double d = v.get<double>();
    return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
}

std::optional<double> getNum(const json &j, const char *key)
{
    auto it = j.find(key);
    return it == j.end() ? std::nullopt : getNum(*it);
}

std::string getStr(const json &j, const char *key, std::string fallback)
{
    auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return fallback;
    return it->is_string() ? it->get<std::string>() : it->dump();
}

const json *getObj(const json &j, const char *key)
{
    auto it = j.find(key);
    return it != j.end() && it->is_object() ? &*it : nullptr;
}

const json *getArr(const json &j, const char *key)
{
    auto it = j.find(key);
    return it != j.end() && it->is_array() ? &*it : nullptr;
}

bool blank(std::string_view line)
{
    return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

std::string quote(std::string_view line)
{
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
        line.remove_suffix(1);
    const bool cut = line.size() > kQuoteChars;
    if (cut)
        line = line.substr(0, kQuoteChars);
    std::string out = toValidUtf8(line);
    for (char &c : out)
        if (c == '\n')
            c = '?';
    return cut ? out + "..." : out;
}

} // namespace lbk::event
