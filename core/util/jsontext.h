#pragma once
// What is wrong with a line that should hold a JSON object, in words a message can carry: a papers file's line,
// a journal's event.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace lbk {

// "[json.exception.parse_error.101] parse error at line 1, column 7: syntax error ..." -> "bad JSON at column 7: ..."
std::string badJsonText(const nlohmann::json::exception &ex);

// Why a line is no JSON object, for messages: "bad JSON at column 27: ..." or "a JSON array, not an object"; empty
// when it is an object.
std::string notAnObjectReason(std::string_view line);

} // namespace lbk
