#pragma once
// Plain-text tables for the terminal: columns padded to their widest cell (counted in UTF-8 characters). A cell
// is one line: control characters show escaped (a newline as \n), text-direction overrides as '?', and a cell
// longer than kMaxCellWidth characters is cut with "...", so no name or title can break or flood the table.
#include <string>
#include <vector>

namespace lbk::cli {

class Table {
public:
    explicit Table(std::vector<std::string> header);
    static constexpr size_t kMaxCellWidth = 80;
    void add(std::vector<std::string> row);
    std::string render() const;

private:
    std::vector<std::string> m_header;
    std::vector<std::vector<std::string>> m_rows;
};

size_t displayWidth(const std::string &s);
// A cell as the table shows it (see above).
std::string cellText(const std::string &s);
// s with its start left out ("..." instead) when what lies from byte `at` to byte `until` (a masked token's piece in
// its context) would not fit in the cell: it then starts a third of the way in. s as it is when `at` is past its end.
std::string keepInCell(const std::string &s, size_t at, size_t until);

} // namespace lbk::cli
