#pragma once
// Lines of a plain or zstd-compressed file (by its .zst name), read in constant memory however large the file.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

struct ZSTD_DCtx_s;

namespace lbk {

class LineReader {
public:
    static Result<std::unique_ptr<LineReader>> open(const std::filesystem::path &file);
    ~LineReader();
    LineReader(const LineReader &) = delete;
    LineReader &operator=(const LineReader &) = delete;

    // False at the end of the file (or at an error: see error()); a last line without a newline is returned too.
    bool next(std::string &line);
    int64_t bytesRead() const { return m_read; } // of the file, compressed or not
    int64_t size() const { return m_size; }
    const std::string &error() const { return m_error; } // empty unless the zstd data is damaged

private:
    LineReader() = default;
    bool fill();
    bool fillPlain();
    bool fillZstd();
    std::FILE *m_file = nullptr;
    ZSTD_DCtx_s *m_zstd = nullptr;
    const void *m_zin = nullptr; // the unread part of m_in, for zstd
    size_t m_zinSize = 0, m_zinPos = 0;
    std::vector<char> m_in, m_out;
    std::string m_buf;
    size_t m_pos = 0;
    int64_t m_read = 0, m_size = 0;
    std::string m_error;
};

} // namespace lbk
