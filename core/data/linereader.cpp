#include "data/linereader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <zstd.h>

namespace lbk {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = size_t(1) << 20;

struct FileCloser {
    void operator()(std::FILE *f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// An open file whose first bytes were read to tell zstd from plain text. A regular file is rewound; a pipe (a
// process substitution, /dev/stdin) cannot be, so the bytes read are handed out again before the rest.
class SniffedFile {
public:
    SniffedFile(FilePtr f, std::string head) : m_f(std::move(f)), m_head(std::move(head)) {}
    size_t read(char *dst, size_t cap)
    {
        size_t n = std::min(cap, m_head.size() - m_headPos);
        std::memcpy(dst, m_head.data() + m_headPos, n);
        m_headPos += n;
        if (n < cap)
            n += std::fread(dst + n, 1, cap - n, m_f.get());
        return n;
    }
    bool failed() const { return std::ferror(m_f.get()) != 0; }

private:
    FilePtr m_f;
    std::string m_head;
    size_t m_headPos = 0;
};

class PlainSource final : public ByteSource {
public:
    PlainSource(SniffedFile f, std::string name) : m_f(std::move(f)), m_name(std::move(name)) {}

    size_t read(char *dst, size_t cap, std::string &error) override
    {
        const size_t n = m_f.read(dst, cap);
        m_fileBytes += int64_t(n);
        if (n < cap && m_f.failed())
            error = m_name + ": read error: " + std::strerror(errno);
        return n;
    }

private:
    SniffedFile m_f;
    std::string m_name;
};

class ZstdSource final : public ByteSource {
public:
    ZstdSource(SniffedFile f, std::string name)
        : m_f(std::move(f)), m_name(std::move(name)), m_stream(ZSTD_createDStream()), m_in(ZSTD_DStreamInSize())
    {
        ZSTD_initDStream(m_stream);
    }
    ~ZstdSource() override { ZSTD_freeDStream(m_stream); }
    ZstdSource(const ZstdSource &) = delete;
    ZstdSource &operator=(const ZstdSource &) = delete;

    size_t read(char *dst, size_t cap, std::string &error) override
    {
        ZSTD_outBuffer out{dst, cap, 0};
        for (;;) {
            if (m_inBuf.pos == m_inBuf.size && !m_eof) {
                const size_t n = m_f.read(m_in.data(), m_in.size());
                m_fileBytes += int64_t(n);
                if (n == 0) {
                    if (m_f.failed()) {
                        error = m_name + ": read error: " + std::strerror(errno);
                        return 0;
                    }
                    m_eof = true;
                } else {
                    m_inBuf = ZSTD_inBuffer{m_in.data(), n, 0};
                }
            }
            const bool haveInput = m_inBuf.pos < m_inBuf.size;
            if (!haveInput && !m_mayHoldOutput) {
                // The end of the file: fine between frames, not inside one.
                if (m_lastRet != 0)
                    error = m_name + ": the zstd data ends in the middle of a frame (the file is truncated?). "
                                     "Check it with `zstd -t`, and copy or download it again.";
                return 0;
            }
            const size_t ret = ZSTD_decompressStream(m_stream, &out, &m_inBuf);
            if (ZSTD_isError(ret)) {
                error = m_name + ": corrupt zstd data (" + ZSTD_getErrorName(ret) +
                        "). The file is damaged or not zstd-compressed; check it with `zstd -t`, or drop the .zst "
                        "suffix if it is plain text.";
                return 0;
            }
            m_lastRet = ret;
            // A full output buffer may leave decoded bytes inside zstd; it must be called again to flush them.
            m_mayHoldOutput = out.pos == out.size;
            if (out.pos > 0)
                return out.pos;
        }
    }

private:
    SniffedFile m_f;
    std::string m_name;
    ZSTD_DStream *m_stream;
    std::vector<char> m_in;
    ZSTD_inBuffer m_inBuf{nullptr, 0, 0};
    size_t m_lastRet = 0;
    bool m_eof = false;
    bool m_mayHoldOutput = false;
};

} // namespace

bool namedZstd(const fs::path &file)
{
    return file.extension() == ".zst";
}

Result<std::unique_ptr<ByteSource>> openByteSource(const fs::path &file, bool zstd)
{
    const std::string name = file.string();
    errno = 0;
    FilePtr f(std::fopen(name.c_str(), "rb"));
    if (!f) {
        const int why = errno;
        return Error{name + ": cannot open it: " + std::strerror(why) +
                     (why == EACCES || why == EPERM ? ". Check the file's permissions." : "")};
    }
    // zstd by name, or by its magic number when the name does not say.
    unsigned char magic[4] = {};
    const size_t got = std::fread(magic, 1, 4, f.get());
    zstd = zstd || (got == 4 && magic[0] == 0x28 && magic[1] == 0xB5 && magic[2] == 0x2F && magic[3] == 0xFD);
    std::string head;
    if (std::fseek(f.get(), 0, SEEK_SET) != 0) // a pipe: what was read is read again from here
        head.assign(reinterpret_cast<const char *>(magic), got);
    SniffedFile sniffed(std::move(f), std::move(head));
    std::unique_ptr<ByteSource> source;
    if (zstd)
        source = std::make_unique<ZstdSource>(std::move(sniffed), name);
    else
        source = std::make_unique<PlainSource>(std::move(sniffed), name);
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    source->m_fileSize = ec ? 0 : int64_t(size);
    return source;
}

LineReader::LineReader(ByteSource &src) : m_src(src), m_buf(kChunk) {}

bool LineReader::next(std::string_view &line)
{
    for (;;) {
        const char *base = m_buf.data();
        if (const void *nl = std::memchr(base + m_scan, '\n', m_end - m_scan)) {
            const size_t at = static_cast<const char *>(nl) - base;
            line = finish(std::string_view(base + m_begin, at - m_begin));
            m_begin = m_scan = at + 1;
            return true;
        }
        m_scan = m_end;
        if (m_eof) {
            if (m_begin == m_end)
                return false;
            line = finish(std::string_view(base + m_begin, m_end - m_begin));
            m_begin = m_scan = m_end;
            return true;
        }
        if (m_begin > 0) {
            std::memmove(m_buf.data(), m_buf.data() + m_begin, m_end - m_begin);
            m_end -= m_begin;
            m_scan -= m_begin;
            m_begin = 0;
        }
        if (m_end == m_buf.size())
            m_buf.resize(m_buf.size() * 2);
        const size_t n = m_src.read(m_buf.data() + m_end, m_buf.size() - m_end, m_error);
        if (!m_error.empty())
            return false;
        if (n == 0)
            m_eof = true;
        m_end += n;
    }
}

std::string_view LineReader::finish(std::string_view line)
{
    ++m_line;
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    if (m_line == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") // a UTF-8 byte order mark
        line.remove_prefix(3);
    return line;
}

} // namespace lbk
