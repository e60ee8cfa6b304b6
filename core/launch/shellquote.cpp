#include "launch/shellquote.h"

#include <algorithm>
#include <cctype>

namespace lbk {

std::string shellQuote(std::string_view word)
{
    std::string out;
    out.reserve(word.size() + 2);
    out += '\'';
    for (char c : word) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    out += '\'';
    return out;
}

std::string shellQuoteForReading(std::string_view word)
{
    const auto safe = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::string_view("_./:@%+=,-").find(c) != std::string_view::npos;
    };
    if (!word.empty() && std::all_of(word.begin(), word.end(), safe))
        return std::string(word);
    return shellQuote(word);
}

std::string shellJoin(const std::vector<std::string> &argv)
{
    std::string out;
    for (const auto &a : argv) {
        if (!out.empty())
            out += ' ';
        out += shellQuote(a);
    }
    return out;
}

bool isShellName(std::string_view name)
{
    if (name.empty())
        return false;
    for (size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

} // namespace lbk
