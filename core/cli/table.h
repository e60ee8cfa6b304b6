#pragma once
// Plain-text tables for the terminal: columns padded to their widest cell (counted in UTF-8 characters).
#include <string>
#include <vector>

namespace lbk::cli {

class Table {
public:
    explicit Table(std::vector<std::string> header) : m_header(std::move(header)) {}
    void add(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
    std::string render() const;

private:
    std::vector<std::string> m_header;
    std::vector<std::vector<std::string>> m_rows;
};

size_t displayWidth(const std::string &s);

} // namespace lbk::cli
