#pragma once
// Reading a journal line back into an event (docs/PROTOCOL.md), by the rules every reader of the protocol keeps:
// a line is one JSON object, and a field counts only when it has the expected type. The fast path for the hot
// metrics event is fastmetrics.h; the journal's bytes come from journalreader.h.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace lbk::event {

// Spaces, tabs and '\r' only: no event, and nothing wrong either.
bool blank(std::string_view line);

// The line as JSON; is_discarded() when it is not JSON. Python's json.dumps writes NaN, Infinity and -Infinity,
// which are not JSON: rather than lose a whole metrics event to one diverged value, such a line is read again
// with those tokens (outside strings) as null.
nlohmann::json parseLine(std::string_view line);

// The start of a bad line for a warning, as valid UTF-8 (a log line is shown and exported as JSON later):
// bytes that do not form UTF-8 become '?'.
std::string quote(std::string_view line);

// An integer field; a float with an integral value (below 9e15) counts too.
std::optional<int64_t> getInt(const nlohmann::json &j, const char *key);
// A finite number; nullopt for null, NaN, infinities, strings or absence.
std::optional<double> getNum(const nlohmann::json &v);
std::optional<double> getNum(const nlohmann::json &j, const char *key);
// A string field; other values as their JSON text; fallback when absent or null.
std::string getStr(const nlohmann::json &j, const char *key, std::string fallback = {});
// An object or array field; nullptr when absent or of another type.
const nlohmann::json *getObj(const nlohmann::json &j, const char *key);
const nlohmann::json *getArr(const nlohmann::json &j, const char *key);

} // namespace lbk::event
