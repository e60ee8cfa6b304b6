#include "util/filebytes.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lbk {

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

Status writeFileReplacing(const std::filesystem::path &file, std::string_view bytes, unsigned mode)
{
    std::string tmp = file.string() + ".XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0)
        return Error{file.string() + ": cannot write a temporary file beside it: " + std::strerror(errno)};
    ::fchmod(fd, mode_t(mode));
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += size_t(n);
    }
    const bool written = done == bytes.size() && ::fsync(fd) == 0;
    const std::string why = done == bytes.size() ? std::strerror(errno) : "wrote " + std::to_string(done) + " of " +
                                                                             std::to_string(bytes.size()) + " bytes (" +
                                                                             std::strerror(errno) + ")";
    ::close(fd);
    if (!written) {
        ::unlink(tmp.c_str());
        return Error{file.string() + ": cannot write: " + why + "; the file is as it was"};
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        const std::string renameWhy = std::strerror(errno);
        ::unlink(tmp.c_str());
        return Error{file.string() + ": cannot replace it: " + renameWhy};
    }
    return okStatus();
}

} // namespace lbk
