#pragma once
// Reading a journal back (docs/PROTOCOL.md): its complete lines from a byte offset on, a chunk at a time, so a
// journal of gigabytes never sits in memory whole. The counterpart of JournalWriter (journal.h); what a line
// means is eventreader.h's.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lbk {

class JournalReader {
public:
    // Opens path for reading. A journal that does not exist is no error here (exists() is false): a worker may
    // not have written it yet, and what its absence means is the caller's to say.
    static Result<JournalReader> open(const std::filesystem::path &path);
    ~JournalReader();
    JournalReader(JournalReader &&other) noexcept;
    JournalReader &operator=(JournalReader &&) = delete;

    bool exists() const { return m_fd >= 0; }
    int64_t size() const { return m_size; } // bytes when opened

    // Hands onLines the complete lines from byte offset on (without their '\n') and the offset just past them,
    // about 4 MiB at a time (a longer line doubles the chunk), up to the end of the file; an incomplete last line
    // waits for the next reader. Stops at the first failure, a read's or onLines'.
    using LinesFn = std::function<Status(const std::vector<std::string_view> &lines, int64_t newOffset)>;
    Status readLines(int64_t offset, const LinesFn &onLines) const;

private:
    JournalReader(std::filesystem::path path, int fd, int64_t size)
        : m_path(std::move(path)), m_fd(fd), m_size(size)
    {
    }
    std::filesystem::path m_path;
    int m_fd;
    int64_t m_size;
};

} // namespace lbk
