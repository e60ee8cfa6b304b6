#pragma once
// Text from outside (log files, run names, journal lines) made safe to store and to emit as JSON.
#include <string>
#include <string_view>

namespace lbk {

// Bytes that do not form UTF-8 become '?'; control characters other than tab and newline too.
std::string toValidUtf8(std::string_view text);

} // namespace lbk
