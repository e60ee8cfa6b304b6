#include "util/cacheentry.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <unistd.h>

#include "util/stablehash.h"

namespace fs = std::filesystem;

namespace lbk {

namespace {

constexpr size_t kMagicSize = 8;
const char *const kTmpMark = ".tmp";

std::string readWhole(const fs::path &file, std::string &problem)
{
    std::FILE *f = std::fopen(file.c_str(), "rb");
    if (!f) {
        problem = "cannot be opened";
        return {};
    }
    std::string bytes;
    char buf[1 << 16];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        bytes.append(buf, n);
    if (std::ferror(f))
        problem = "cannot be read";
    std::fclose(f);
    return bytes;
}

void prune(const fs::path &folder, const fs::path &extension, size_t keep)
{
    std::vector<std::pair<fs::file_time_type, fs::path>> entries;
    std::error_code ec;
    const auto staleBefore = fs::file_time_type::clock::now() - std::chrono::hours(1);
    for (const auto &e : fs::directory_iterator(folder, ec)) {
        const auto when = e.last_write_time(ec);
        if (ec)
            continue;
        const std::string name = e.path().filename().string();
        if (e.path().extension() == extension)
            entries.emplace_back(when, e.path());
        else if (name.find(extension.string() + kTmpMark) != std::string::npos && when < staleBefore)
            fs::remove(e.path(), ec);
    }
    if (entries.size() <= keep)
        return;
    std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
    for (size_t i = keep; i < entries.size(); ++i)
        fs::remove(entries[i].second, ec);
}

} // namespace

bool ByteReader::str(std::string &s)
{
    uint64_t n = 0;
    if (!u64(n) || n > left())
        return false;
    s.assign(m_at, size_t(n));
    m_at += n;
    return true;
}

bool ByteReader::strs(std::vector<std::string> &v)
{
    uint64_t n = 0;
    if (!u64(n) || n > left() / sizeof(uint64_t))
        return false;
    v.resize(size_t(n));
    for (auto &s : v)
        if (!str(s))
            return false;
    return true;
}

bool ByteReader::ints(std::vector<int> &v)
{
    uint64_t n = 0;
    if (!u64(n) || n > left() / sizeof(int))
        return false;
    v.resize(size_t(n));
    return take(v.data(), v.size() * sizeof(int));
}

Result<std::string> readCacheEntry(const fs::path &file, std::string_view magic)
{
    std::string problem;
    std::string bytes = readWhole(file, problem);
    const auto damaged = [&](const std::string &what) { return Error{file.string() + ": " + what}; };
    if (!problem.empty())
        return damaged(problem);
    const size_t tail = sizeof(uint64_t);
    if (bytes.size() < kMagicSize + tail || std::string_view(bytes).substr(0, kMagicSize) != magic)
        return damaged("not a cache entry of this kind (cut short or overwritten)");
    uint64_t sum = 0;
    std::memcpy(&sum, bytes.data() + bytes.size() - tail, tail);
    bytes.resize(bytes.size() - tail);
    bytes.erase(0, kMagicSize);
    if (stableHash(bytes) != sum)
        return damaged("its checksum does not match (the file is damaged)");
    return bytes;
}

Status writeCacheEntry(const fs::path &file, std::string_view magic, std::string_view payload, size_t keep)
{
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    const fs::path tmp = file.string() + kTmpMark + std::to_string(::getpid());
    std::FILE *f = std::fopen(tmp.c_str(), "wb");
    if (!f)
        return Error{tmp.string() + ": cannot be written" + (ec ? " (" + ec.message() + ")" : std::string())};
    const uint64_t sum = stableHash(payload);
    bool written = std::fwrite(magic.data(), 1, kMagicSize, f) == kMagicSize;
    written = written && std::fwrite(payload.data(), 1, payload.size(), f) == payload.size();
    written = written && std::fwrite(&sum, 1, sizeof sum, f) == sizeof sum;
    const bool closed = std::fclose(f) == 0;
    if (!written || !closed) {
        fs::remove(tmp, ec);
        return Error{tmp.string() + ": cannot be written (is the disk full?)"};
    }
    fs::rename(tmp, file, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return Error{file.string() + ": cannot be written: " + ec.message()};
    }
    prune(file.parent_path(), file.extension(), keep);
    return Unit{};
}

void touchCacheEntry(const fs::path &file)
{
    std::error_code ec;
    fs::last_write_time(file, fs::file_time_type::clock::now(), ec);
}

} // namespace lbk
