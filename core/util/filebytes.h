#pragma once
// A whole file's bytes, read or written, with a message that names the file when that fails.
#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.h"

namespace lbk {

// A read error (a disk error; a /proc file of a process that has just ended) is an Error here. Read through an
// istreambuf_iterator, libstdc++'s file buffer throws it instead, and nothing catches it: the program ends.
Result<std::string> readFileBytes(const std::filesystem::path &file);

// Writes every byte to a file descriptor, again where a write is interrupted or short; the bytes written (fewer
// when a write failed, errno saying why: ENOSPC where the device took nothing).
size_t writeAll(int fd, const void *data, size_t size);

// Writes a whole file, replacing any earlier one only once every byte is on disk (a temporary file beside it,
// fsync'ed and renamed over it): a reader sees the old file or the new one, and a full disk or a failed write leaves
// the old one as it was and is an Error (found by an audit: a save on a full disk left an empty experiment file, and
// an export said "wrote" a cut file). A file replaced keeps its permissions (and owner, where this process may give
// it); a new one gets `mode` less the umask. A link is followed to the file it names; a device, pipe or terminal
// (/dev/stdout) is written through as it is.
Status writeFileReplacing(const std::filesystem::path &file, std::string_view bytes, unsigned mode = 0666);

} // namespace lbk
