#include "cli/table.h"

#include <algorithm>

namespace lbk::cli {

size_t displayWidth(const std::string &s)
{
    size_t n = 0;
    for (unsigned char c : s)
        n += (c & 0xC0) != 0x80; // count code points, not continuation bytes
    return n;
}

std::string Table::render() const
{
    std::vector<size_t> width(m_header.size(), 0);
    auto measure = [&](const std::vector<std::string> &row) {
        for (size_t i = 0; i < row.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], displayWidth(row[i]));
    };
    measure(m_header);
    for (const auto &r : m_rows)
        measure(r);
    std::string out;
    auto line = [&](const std::vector<std::string> &row) {
        std::string l;
        for (size_t i = 0; i < width.size(); ++i) {
            const std::string cell = i < row.size() ? row[i] : "";
            l += cell;
            if (i + 1 < width.size())
                l += std::string(width[i] - displayWidth(cell) + 2, ' ');
        }
        while (!l.empty() && l.back() == ' ')
            l.pop_back();
        out += l + '\n';
    };
    line(m_header);
    for (const auto &r : m_rows)
        line(r);
    return out;
}

} // namespace lbk::cli
