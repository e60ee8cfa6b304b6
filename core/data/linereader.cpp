#include "data/linereader.h"

#include <zstd.h>

namespace lbk {

namespace fs = std::filesystem;

Result<std::unique_ptr<LineReader>> LineReader::open(const fs::path &file)
{
    std::unique_ptr<LineReader> r(new LineReader);
    r->m_file = std::fopen(file.c_str(), "rb");
    if (!r->m_file)
        return Error{file.string() + ": cannot open for reading"};
    std::error_code ec;
    r->m_size = int64_t(fs::file_size(file, ec));
    const std::string name = file.filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".zst") == 0) {
        r->m_zstd = ZSTD_createDStream();
        ZSTD_initDStream(r->m_zstd);
        r->m_out.resize(ZSTD_DStreamOutSize());
    }
    r->m_in.resize(1 << 17);
    return r;
}

LineReader::~LineReader()
{
    if (m_file)
        std::fclose(m_file);
    if (m_zstd)
        ZSTD_freeDStream(m_zstd);
}

bool LineReader::next(std::string &line)
{
    while (true) {
        const size_t nl = m_buf.find('\n', m_pos);
        if (nl != std::string::npos) {
            line.assign(m_buf, m_pos, nl - m_pos);
            m_pos = nl + 1;
            return true;
        }
        m_buf.erase(0, m_pos);
        m_pos = 0;
        if (!fill()) {
            if (m_buf.empty())
                return false;
            line.swap(m_buf);
            m_buf.clear();
            return true;
        }
    }
}

bool LineReader::fill()
{
    return m_zstd ? fillZstd() : fillPlain();
}

bool LineReader::fillPlain()
{
    const size_t n = std::fread(m_in.data(), 1, m_in.size(), m_file);
    m_read += int64_t(n);
    m_buf.append(m_in.data(), n);
    return n > 0;
}

bool LineReader::fillZstd()
{
    while (true) {
        if (m_zinPos == m_zinSize) {
            const size_t n = std::fread(m_in.data(), 1, m_in.size(), m_file);
            m_read += int64_t(n);
            if (n == 0)
                return false;
            m_zin = m_in.data();
            m_zinSize = n;
            m_zinPos = 0;
        }
        ZSTD_inBuffer in{m_zin, m_zinSize, m_zinPos};
        ZSTD_outBuffer out{m_out.data(), m_out.size(), 0};
        const size_t rc = ZSTD_decompressStream(m_zstd, &out, &in);
        m_zinPos = in.pos;
        if (ZSTD_isError(rc)) {
            m_error = ZSTD_getErrorName(rc);
            return false;
        }
        if (out.pos > 0) {
            m_buf.append(m_out.data(), out.pos);
            return true;
        }
    }
}

} // namespace lbk
