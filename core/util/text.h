#pragma once
// Text from outside (log files, run names, journal lines) made safe to store and to emit as JSON.
#include <string>
#include <string_view>

namespace lbk {

// Bytes that do not form UTF-8 become '?'; control characters other than tab and newline too.
std::string toValidUtf8(std::string_view text);

// A CSV field: as it is, or in double quotes (quotes doubled) when it holds a comma, a quote or a line break.
std::string csvField(const std::string &s);

// Shortest text that reads back as the same double (std::to_string would print 3e-7 as 0.000000); empty for NaN
// and infinities (an empty CSV cell).
std::string exactNumber(double v);

// Text for a message, at most maxBytes: longer text is cut at a character's start (never inside a UTF-8 sequence,
// which JSON could not hold) and ends in "...".
std::string clipped(std::string_view text, size_t maxBytes);

// A number for a message, to `digits` significant digits ("%.4g": 0.05462, 1e-05, 3).
std::string significant(double v, int digits = 4);

// "1 trial", "3 trials": a count and its noun (regular plurals only).
inline std::string counted(long long n, std::string_view noun)
{
    return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// Levenshtein distance: insertions, deletions and substitutions of one byte each ("did you mean" suggestions).
size_t editDistance(std::string_view a, std::string_view b);

// The candidate nearest a mistyped word within maxDistance edits (the first of equals), for "did you mean";
// empty when none is that near.
template <typename Strings>
std::string nearestWord(std::string_view word, const Strings &candidates, size_t maxDistance = 2)
{
    std::string best;
    size_t bestDistance = maxDistance + 1;
    for (const auto &c : candidates)
        if (const size_t d = editDistance(word, c); d < bestDistance) {
            bestDistance = d;
            best = c;
        }
    return best;
}

// Whether a text holds nothing but spaces, tabs and the like (no line breaks: those end a line): a blank line, or a
// paper's blank title.
inline bool isBlank(std::string_view s)
{
    for (char c : s)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\f' && c != '\v')
            return false;
    return true;
}

// The text without the spaces, tabs and line breaks around it (a tag or run name typed on a command line).
inline std::string_view trim(std::string_view s)
{
    constexpr const char *space = " \t\r\n\f\v";
    const size_t first = s.find_first_not_of(space);
    return first == std::string_view::npos ? std::string_view() : s.substr(first, s.find_last_not_of(space) - first + 1);
}

// Calls fn(word) for each run of characters between spaces, tabs and line breaks.
template <typename Fn>
void forEachWord(std::string_view text, Fn &&fn)
{
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && space(text[i]))
            ++i;
        size_t j = i;
        while (j < text.size() && !space(text[j]))
            ++j;
        if (j > i)
            fn(text.substr(i, j - i));
        i = j;
    }
}

} // namespace lbk
