#pragma once
// Reading a data file as a stream, in constant memory however large it is: its bytes (decompressed when it is
// zstd) and its lines. readPapers and `lbk predict` both read through these.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lbk {

class ByteSource;
Result<std::unique_ptr<ByteSource>> openByteSource(const std::filesystem::path &file, bool zstd);
// Whether a file's name says it is zstd-compressed (.zst): opened so, one that is not is said to be damaged or plain
// text, not read as text that fails to parse (found by an audit: lbk predict said "bad JSON at column 1").
bool namedZstd(const std::filesystem::path &file);

// A stream of bytes; read() returns 0 at the end, and sets error (a complete message naming the file) when it fails.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    virtual size_t read(char *dst, size_t cap, std::string &error) = 0;
    // Bytes taken from the file so far (compressed ones for zstd), against its size, for progress.
    int64_t fileBytesRead() const { return m_fileBytes; }
    int64_t fileSize() const { return m_fileSize; }

protected:
    int64_t m_fileBytes = 0;

private:
    friend Result<std::unique_ptr<ByteSource>> openByteSource(const std::filesystem::path &file, bool zstd);
    int64_t m_fileSize = 0;
};

// The file's bytes, decompressed when it is zstd: by its name (zstd true) or by its magic number.
Result<std::unique_ptr<ByteSource>> openByteSource(const std::filesystem::path &file, bool zstd);

// Lines of a byte stream, without their "\n" or "\r\n" (nor a UTF-8 byte order mark); a view stays valid until
// the next call.
class LineReader {
public:
    explicit LineReader(ByteSource &src);
    // False at the end, or at an error (error() says which).
    bool next(std::string_view &line);
    int64_t lineNumber() const { return m_line; }
    const std::string &error() const { return m_error; }

private:
    std::string_view finish(std::string_view line);

    ByteSource &m_src;
    std::vector<char> m_buf;
    size_t m_begin = 0, m_scan = 0, m_end = 0;
    bool m_eof = false;
    int64_t m_line = 0;
    std::string m_error;
};

} // namespace lbk
