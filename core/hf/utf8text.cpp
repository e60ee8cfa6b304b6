#include "hf/utf8text.h"

#include <unicode/utf8.h>

namespace lbk::hf {

void decodeUtf8(std::string_view text, std::vector<char32_t> &cps, std::vector<uint32_t> *offsets, bool keepInvalid)
{
    cps.clear();
    if (offsets)
        offsets->clear();
    const auto *s = reinterpret_cast<const uint8_t *>(text.data());
    const int32_t n = int32_t(text.size());
    int32_t i = 0;
    while (i < n) {
        const int32_t start = i;
        if (s[i] < 0x80) {
            cps.push_back(s[i++]);
        } else {
            UChar32 c;
            U8_NEXT(s, i, n, c);
            if (c < 0 && !keepInvalid)
                continue;
            cps.push_back(c < 0 ? kNotUtf8 : char32_t(c));
        }
        if (offsets)
            offsets->push_back(uint32_t(start));
    }
    if (offsets)
        offsets->push_back(uint32_t(n));
}

void appendUtf8(std::string &out, char32_t cp)
{
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

std::string encodeUtf8(const char32_t *cps, size_t n)
{
    std::string out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i)
        appendUtf8(out, cps[i]);
    return out;
}

bool isUtf8(std::string_view text)
{
    const auto *s = reinterpret_cast<const uint8_t *>(text.data());
    const int32_t n = int32_t(text.size());
    int32_t i = 0;
    while (i < n) {
        UChar32 c;
        U8_NEXT(s, i, n, c);
        if (c < 0)
            return false;
    }
    return true;
}

} // namespace lbk::hf
