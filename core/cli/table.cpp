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

std::string cellText(const std::string &s)
{
    std::string out;
    size_t chars = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if ((c & 0xC0) != 0x80 && ++chars > Table::kMaxCellWidth) {
            for (int cut = 0; cut < 3 && !out.empty();) { // three characters, whole, make room for "..."
                const auto b = static_cast<unsigned char>(out.back());
                out.pop_back();
                cut += (b & 0xC0) != 0x80;
            }
            return out + "...";
        }
        // U+202A-U+202E and U+2066-U+2069 (E2 80 AA-AE, E2 81 A6-A9) turn the rest of the line around.
        if (c == 0xE2 && i + 2 < s.size()) {
            const auto b1 = static_cast<unsigned char>(s[i + 1]), b2 = static_cast<unsigned char>(s[i + 2]);
            if ((b1 == 0x80 && b2 >= 0xAA && b2 <= 0xAE) || (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9)) {
                out += '?';
                i += 2;
                continue;
            }
        }
        if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (c < 0x20 || c == 0x7F)
            out += '?';
        else
            out += char(c);
    }
    return out;
}

std::string keepInCell(const std::string &s, size_t at, size_t until)
{
    const size_t lead = Table::kMaxCellWidth / 3;
    // Nothing to keep, it is in the cell already, or it starts near enough the start.
    if (at >= s.size() || displayWidth(s.substr(0, std::min(until, s.size()))) <= Table::kMaxCellWidth - 3 ||
        displayWidth(s.substr(0, at)) <= lead)
        return s;
    size_t from = at; // back `lead` - 3 whole characters from `at`, making room for "..."
    for (size_t chars = 0; from > 0 && chars < lead - 3;) {
        --from;
        chars += (static_cast<unsigned char>(s[from]) & 0xC0) != 0x80;
    }
    return "..." + s.substr(from);
}

Table::Table(std::vector<std::string> header) : m_header(std::move(header))
{
    for (auto &cell : m_header) // run names head lbk compare's columns
        cell = cellText(cell);
}

void Table::add(std::vector<std::string> row)
{
    for (auto &cell : row)
        cell = cellText(cell);
    m_rows.push_back(std::move(row));
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
