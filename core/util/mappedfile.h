#pragma once
// A file mapped read-only into memory: its bytes are read in place and paged in by the kernel as they are touched,
// so a file larger than memory can be read at random. Held by shared_ptr; the mapping lives while any holder does.
#include <cstddef>
#include <filesystem>
#include <memory>

#include "util/result.h"

namespace lbk {

class MappedFile {
public:
    // Errors name the file. An empty file maps to no bytes.
    static Result<std::shared_ptr<const MappedFile>> open(const std::filesystem::path &path);
    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile &operator=(const MappedFile &) = delete;

    const char *data() const { return m_data; }
    size_t size() const { return m_size; }

private:
    MappedFile() = default;
    const char *m_data = nullptr;
    size_t m_size = 0;
};

} // namespace lbk
