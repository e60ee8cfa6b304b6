#pragma once
// UTF-8 to code points and back, for the tokenizers: Python's reference tokenizers work on code points.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lbk::hf {

// A code point that stands for bytes that are not UTF-8 (an ill-formed sequence, its maximal subpart).
constexpr char32_t kNotUtf8 = 0xFFFFFFFF;

// The text's code points, and where each starts in the text (offsets.back() == text.size() after the last one).
// Ill-formed bytes become kNotUtf8 (keepInvalid) or are dropped, as Python's decode(errors="ignore") does.
void decodeUtf8(std::string_view text, std::vector<char32_t> &cps, std::vector<uint32_t> *offsets, bool keepInvalid);
void appendUtf8(std::string &out, char32_t cp);
std::string encodeUtf8(const char32_t *cps, size_t n);
// Whether the text is well-formed UTF-8.
bool isUtf8(std::string_view text);

} // namespace lbk::hf
