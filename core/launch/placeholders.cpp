#include "launch/placeholders.h"

#include <cctype>

namespace lbk {

namespace {
bool isPlaceholderName(const std::string &s)
{
    if (s.empty())
        return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
            return false;
    return true;
}
} // namespace

std::string substitute(const std::string &text, const std::map<std::string, std::string> &values)
{
    std::string out;
    for (size_t i = 0; i < text.size();) {
        if (text[i] == '{') {
            const size_t close = text.find('}', i);
            if (close != std::string::npos)
                if (auto it = values.find(text.substr(i + 1, close - i - 1)); it != values.end()) {
                    out += it->second;
                    i = close + 1;
                    continue;
                }
        }
        out += text[i++];
    }
    return out;
}

std::vector<std::string> placeholdersIn(const std::string &text)
{
    std::vector<std::string> names;
    for (size_t open = text.find('{'); open != std::string::npos; open = text.find('{', open + 1)) {
        const size_t close = text.find('}', open);
        if (close == std::string::npos)
            break;
        if (std::string name = text.substr(open + 1, close - open - 1); isPlaceholderName(name))
            names.push_back(std::move(name));
    }
    return names;
}

} // namespace lbk
