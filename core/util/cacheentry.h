#pragma once
// One file of a cache folder (papers read, texts encoded): a magic tag, the payload and a checksum of it, written
// to a temporary name and renamed so a reader finds a whole entry or none, and read back whole or reported
// damaged (cut short, overwritten, a byte changed). The folder keeps its most recently used entries.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lbk {

// The payload of an entry written with this 8-byte magic; errors name the file and what is wrong with it.
Result<std::string> readCacheEntry(const std::filesystem::path &file, std::string_view magic);
// Writes the entry, marks it used, and removes all but the `keep` most recently used entries of its extension in
// its folder (and temporary files of writers killed more than an hour ago). Errors (a full disk, a folder that
// cannot be made) name the file; nothing is left behind.
Status writeCacheEntry(const std::filesystem::path &file, std::string_view magic, std::string_view payload,
                       size_t keep);
// Marks an entry used now, so it is kept longest.
void touchCacheEntry(const std::filesystem::path &file);

// The payload's fields: integers as 64 bits in the machine's byte order, strings and arrays after their length.
class ByteWriter {
public:
    void u64(uint64_t v) { append(&v, sizeof v); }
    void str(std::string_view s)
    {
        u64(s.size());
        m_bytes += s;
    }
    void strs(const std::vector<std::string> &v)
    {
        u64(v.size());
        for (const auto &s : v)
            str(s);
    }
    void ints(const std::vector<int> &v)
    {
        u64(v.size());
        append(v.data(), v.size() * sizeof(int));
    }
    const std::string &bytes() const { return m_bytes; }

private:
    void append(const void *p, size_t n) { m_bytes.append(static_cast<const char *>(p), n); }
    std::string m_bytes;
};

// Reads what ByteWriter wrote; each call is false once the payload is too short for what it asks.
class ByteReader {
public:
    explicit ByteReader(std::string_view bytes) : m_at(bytes.data()), m_end(bytes.data() + bytes.size()) {}
    bool u64(uint64_t &v) { return take(&v, sizeof v); }
    bool i64(int64_t &v)
    {
        uint64_t u = 0;
        const bool ok = u64(u);
        v = int64_t(u);
        return ok;
    }
    bool str(std::string &s);
    bool strs(std::vector<std::string> &v);
    bool ints(std::vector<int> &v);
    bool atEnd() const { return m_at == m_end; }
    size_t left() const { return size_t(m_end - m_at); }

private:
    bool take(void *out, size_t n)
    {
        if (left() < n)
            return false;
        std::memcpy(out, m_at, n);
        m_at += n;
        return true;
    }
    const char *m_at, *m_end;
};

} // namespace lbk
