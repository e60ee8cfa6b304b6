#include "protocol/journal.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/filebytes.h"

namespace lbk {

double wallTime()
{
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

int64_t lastJournalSeq(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return 0;
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    // Look at growing tails until a complete line with a seq is found; predictions lines can be megabytes.
    for (std::streamoff tail = 64 * 1024;; tail *= 4) {
        const std::streamoff start = std::max<std::streamoff>(0, size - tail);
        in.clear();
        in.seekg(start);
        std::string buf(size_t(size - start), '\0');
        in.read(buf.data(), std::streamsize(buf.size()));
        size_t end = buf.rfind('\n');
        while (end != std::string::npos && end > 0) {
            size_t begin = buf.rfind('\n', end - 1);
            if (begin == std::string::npos && start > 0)
                break; // the line may begin before this tail
            begin = begin == std::string::npos ? 0 : begin + 1;
            auto j = nlohmann::json::parse(buf.begin() + std::ptrdiff_t(begin), buf.begin() + std::ptrdiff_t(end),
                                           nullptr, false);
            if (j.is_object() && j.contains("seq") && j["seq"].is_number_integer())
                return j["seq"].get<int64_t>();
            end = begin == 0 ? std::string::npos : begin - 1;
        }
        if (start == 0)
            return 0;
    }
}

Result<std::unique_ptr<JournalWriter>> JournalWriter::open(const std::filesystem::path &path)
{
    if (path == "-")
        return std::unique_ptr<JournalWriter>(new JournalWriter(STDOUT_FILENO, false, 0));
    // O_APPEND and one write() per line: a line is never interleaved with another writer's, and a kill can
    // tear at most the line being written.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return Error{path.string() + ": cannot open the run journal for writing: " + std::strerror(errno)};
    // Two workers on one run would interleave their sequence numbers; the second is refused. A worker that was
    // killed can still hold the lock for a moment while its threads exit (its main thread already shows as gone,
    // so it was marked interrupted and resumed): wait a little for that before refusing.
    bool locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    for (int i = 0; !locked && i < 100; ++i) {
        ::usleep(100 * 1000);
        locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    }
    if (!locked) {
        ::close(fd);
        return Error{path.string() + ": another worker is writing this run's journal; is the run already running?"};
    }
    // Read under the lock: a dying writer waited for above may append until it lets go (found by a review: read
    // before, the new writer numbered its lines again from the old last one).
    const int64_t seq = lastJournalSeq(path);
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
        char last = '\n';
        const int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (rfd >= 0) {
            if (::pread(rfd, &last, 1, st.st_size - 1) != 1)
                last = '\n';
            ::close(rfd);
        }
        if (last != '\n' && writeAll(fd, "\n", 1) != 1) {
            ::close(fd);
            return Error{path.string() + ": cannot write to the run journal: " + std::strerror(errno)};
        }
    }
    return std::unique_ptr<JournalWriter>(new JournalWriter(fd, true, seq));
}

JournalWriter::~JournalWriter()
{
    if (m_owned && m_fd >= 0)
        ::close(m_fd);
}

bool JournalWriter::emit(const std::string &type, nlohmann::json fields)
{
    nlohmann::json line = nlohmann::json::object();
    line["seq"] = ++m_seq;
    line["t"] = wallTime();
    line["type"] = type;
    for (auto &[k, v] : fields.items())
        line[k] = std::move(v);
    // Non-finite numbers have no JSON form; nlohmann writes them as null, which the store keeps as NaN.
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    const bool ok = writeAll(m_fd, text.data(), text.size()) == text.size();
    if (ok && m_owned && isFinalEvent(type))
        ::fsync(m_fd);
    if (m_mirror) {
        std::fwrite(text.data(), 1, text.size(), m_mirror);
        std::fflush(m_mirror);
    }
    return ok;
}

} // namespace lbk
