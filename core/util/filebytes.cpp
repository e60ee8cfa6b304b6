#include "util/filebytes.h"

#include <cerrno>
#include <cstring>
#include <fstream>

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

} // namespace lbk
