#include "protocol/journalreader.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lbk {

namespace {

constexpr size_t kChunkBytes = 4u << 20; // bytes read at a time; the ingester stores each chunk in one transaction

} // namespace

Result<JournalReader> JournalReader::open(const std::filesystem::path &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return JournalReader(path, -1, 0);
        return Error{"cannot read the journal " + path.string() + ": " + std::strerror(errno)};
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        return Error{"cannot read the journal " + path.string() + ": " + std::strerror(err)};
    }
    return JournalReader(path, fd, int64_t(st.st_size));
}

JournalReader::JournalReader(JournalReader &&other) noexcept
    : m_path(std::move(other.m_path)), m_fd(other.m_fd), m_size(other.m_size)
{
    other.m_fd = -1;
}

JournalReader::~JournalReader()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

Status JournalReader::readLines(int64_t offset, const LinesFn &onLines) const
{
    if (m_fd < 0)
        return okStatus();
    std::string buffer; // journal bytes from offset on
    std::vector<std::string_view> lines;
    for (;;) {
        // Fill the buffer to a chunk; a line longer than that (a large predictions event) doubles it.
        const size_t have = buffer.size();
        const size_t want = have < kChunkBytes ? kChunkBytes : 2 * have;
        buffer.resize(want);
        ssize_t n;
        do
            n = ::pread(m_fd, buffer.data() + have, want - have, off_t(offset + int64_t(have)));
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return Error{"cannot read the journal " + m_path.string() + ": " + std::strerror(errno)};
        buffer.resize(have + size_t(n));
        if (n == 0)
            break; // end of file: what is left is an incomplete line that waits for the next call
        const size_t lastNewline = buffer.rfind('\n');
        if (lastNewline == std::string::npos)
            continue;
        lines.clear();
        std::string_view all(buffer.data(), lastNewline + 1);
        while (!all.empty()) {
            const size_t nl = all.find('\n');
            lines.push_back(all.substr(0, nl));
            all.remove_prefix(nl + 1);
        }
        const int64_t consumed = int64_t(lastNewline) + 1;
        if (auto s = onLines(lines, offset + consumed); !s)
            return s.error();
        buffer.erase(0, size_t(consumed));
        offset += consumed;
    }
    return okStatus();
}

} // namespace lbk
