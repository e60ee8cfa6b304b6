#include "util/filebytes.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lbk {

namespace fs = std::filesystem;

Result<std::string> readFileBytes(const std::filesystem::path &file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return badInput(file.string() + ": cannot open: " + std::strerror(errno));
    std::string bytes;
    char chunk[1 << 16];
    // istream::read turns the buffer's exception into badbit (the stream throws only what exceptions() asks for).
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0)
        bytes.append(chunk, size_t(in.gcount()));
    if (in.bad())
        return Error{file.string() + ": read error after " + std::to_string(bytes.size()) + " bytes: " +
                     std::strerror(errno)};
    return bytes;
}

size_t writeAll(int fd, const void *data, size_t size)
{
    const char *bytes = static_cast<const char *>(data);
    size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(fd, bytes + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = ENOSPC;
        if (n <= 0)
            break;
        done += size_t(n);
    }
    return done;
}

namespace {

std::string shortWrite(size_t done, size_t size, int why)
{
    return "wrote " + std::to_string(done) + " of " + std::to_string(size) + " bytes (" + std::strerror(why) + ")";
}

// A device, a pipe or a terminal (/dev/stdout, /dev/null, /proc/self/fd/1): written through, as it is; there is no
// file to replace (found by a review: /dev/stdout into a redirected file took the replacing path, and as root its
// rename would have put a file in /dev).
Status writeThrough(const fs::path &file, std::string_view bytes)
{
    const int fd = ::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return Error{file.string() + ": cannot write to it: " + std::strerror(errno)};
    const size_t done = writeAll(fd, bytes.data(), bytes.size());
    const int why = errno;
    ::close(fd);
    if (done < bytes.size())
        return Error{file.string() + ": cannot write: " + shortWrite(done, bytes.size(), why)};
    return okStatus();
}

// A temporary file beside `file`, created with `mode` less the umask (mkstemp would make it 0600 whatever the
// umask); -1 with errno when none can be made.
int createBeside(const fs::path &file, unsigned mode, std::string &tmp)
{
    for (int attempt = 0; attempt < 100; ++attempt) {
        tmp = file.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(attempt);
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode));
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

} // namespace

Status writeFileReplacing(const fs::path &file, std::string_view bytes, unsigned mode)
{
    std::error_code ec;
    if (const std::string given = file.string(); given.rfind("/dev/", 0) == 0 || given.rfind("/proc/", 0) == 0)
        return writeThrough(file, bytes);
    // A link is followed: the file it names is the one replaced, the link stays (a link whose target cannot be
    // resolved, or that names no regular file, is written through).
    fs::path target = file;
    if (fs::is_symlink(fs::symlink_status(file, ec))) {
        target = fs::canonical(file, ec);
        if (ec)
            return writeThrough(file, bytes);
    }
    struct stat st {};
    const bool exists = ::stat(target.c_str(), &st) == 0;
    if (exists && !S_ISREG(st.st_mode))
        return writeThrough(file, bytes);
    std::string tmp;
    const int fd = createBeside(target, exists ? (st.st_mode & 07777) : mode, tmp);
    if (fd < 0)
        return Error{file.string() + ": cannot write a temporary file beside it: " + std::strerror(errno)};
    if (exists) { // the file replaced keeps its permissions, and its owner where this process may give it
        ::fchmod(fd, st.st_mode & 07777);
        (void)!::fchown(fd, st.st_uid, st.st_gid);
    }
    const size_t done = writeAll(fd, bytes.data(), bytes.size());
    const std::string problem = done < bytes.size()    ? shortWrite(done, bytes.size(), errno)
                                : ::fsync(fd) != 0 ? std::string(std::strerror(errno))
                                                   : std::string();
    ::close(fd);
    if (!problem.empty()) {
        ::unlink(tmp.c_str());
        return Error{file.string() + ": cannot write: " + problem + "; the file is as it was"};
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
        const std::string renameWhy = std::strerror(errno);
        ::unlink(tmp.c_str());
        return Error{file.string() + ": cannot replace it: " + renameWhy};
    }
    return okStatus();
}

} // namespace lbk
