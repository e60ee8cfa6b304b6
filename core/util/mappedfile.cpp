#include "util/mappedfile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lbk {

Result<std::shared_ptr<const MappedFile>> MappedFile::open(const std::filesystem::path &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return Error{path.string() + ": cannot open: " + std::strerror(errno)};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return Error{path.string() + ": is not a regular file"};
    }
    std::shared_ptr<MappedFile> file(new MappedFile);
    file->m_size = size_t(st.st_size);
    if (file->m_size > 0) {
        void *map = ::mmap(nullptr, file->m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            const std::string why = std::strerror(errno);
            ::close(fd);
            file->m_size = 0;
            return Error{path.string() + ": cannot map the file: " + why};
        }
        file->m_data = static_cast<const char *>(map);
    }
    ::close(fd);
    return std::shared_ptr<const MappedFile>(std::move(file));
}

MappedFile::~MappedFile()
{
    if (m_data)
        ::munmap(const_cast<char *>(m_data), m_size);
}

} // namespace lbk
