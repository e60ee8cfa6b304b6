#include "util/jsontext.h"

#include "util/text.h"

namespace lbk {

std::string badJsonText(const nlohmann::json::exception &ex)
{
    constexpr size_t kMaxChars = 160;
    std::string what = ex.what();
    if (const size_t at = what.find("column "); at != std::string::npos)
        what = what.substr(at);
    what = clipped(what, kMaxChars + 3);
    return "bad JSON at " + toValidUtf8(what); // the parser quotes the bytes it stopped at
}

std::string notAnObjectReason(std::string_view line)
{
    try {
        const auto j = nlohmann::json::parse(line);
        return j.is_object() ? std::string() : "a JSON " + std::string(j.type_name()) + ", not an object";
    } catch (const nlohmann::json::exception &ex) {
        return badJsonText(ex);
    }
}

} // namespace lbk
