#include "data/papercache.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "util/stablehash.h"

namespace fs = std::filesystem;

namespace lbk {

namespace {

constexpr char kMagic[8] = {'L', 'B', 'K', 'P', 'A', 'P', '0', '1'};
constexpr size_t kKeptEntries = 8;

// Little helpers writing and reading the entry's fields: counts as 64-bit integers, strings with their length.
class Writer {
public:
    void u64(uint64_t v) { m_bytes.append(reinterpret_cast<const char *>(&v), sizeof v); }
    void str(const std::string &s)
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
    std::string &bytes() { return m_bytes; }

private:
    std::string m_bytes;
};

class Reader {
public:
    Reader(const char *begin, const char *end) : m_at(begin), m_end(end) {}
    bool u64(uint64_t &v)
    {
        if (size_t(m_end - m_at) < sizeof v)
            return false;
        std::memcpy(&v, m_at, sizeof v);
        m_at += sizeof v;
        return true;
    }
    bool i64(int64_t &v)
    {
        uint64_t u = 0;
        const bool ok = u64(u);
        v = int64_t(u);
        return ok;
    }
    bool str(std::string &s)
    {
        uint64_t n = 0;
        if (!u64(n) || n > uint64_t(m_end - m_at))
            return false;
        s.assign(m_at, size_t(n));
        m_at += n;
        return true;
    }
    bool strs(std::vector<std::string> &v)
    {
        uint64_t n = 0;
        if (!u64(n) || n > uint64_t(m_end - m_at) / sizeof(uint64_t))
            return false;
        v.resize(size_t(n));
        for (auto &s : v)
            if (!str(s))
                return false;
        return true;
    }
    bool atEnd() const { return m_at == m_end; }

private:
    const char *m_at, *m_end;
};

std::string hex(uint64_t h)
{
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

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

// Removes all but the most recently used entries, and temporary files left by writers that were killed.
void pruneEntries(const fs::path &folder)
{
    std::vector<std::pair<fs::file_time_type, fs::path>> entries;
    std::error_code ec;
    const auto staleBefore = fs::file_time_type::clock::now() - std::chrono::hours(1);
    for (const auto &e : fs::directory_iterator(folder, ec)) {
        const auto when = e.last_write_time(ec);
        if (ec)
            continue;
        if (e.path().extension() == ".papers")
            entries.emplace_back(when, e.path());
        else if (e.path().filename().string().find(".papers.tmp") != std::string::npos && when < staleBefore)
            fs::remove(e.path(), ec);
    }
    if (entries.size() <= kKeptEntries)
        return;
    std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
    for (size_t i = kKeptEntries; i < entries.size(); ++i)
        fs::remove(entries[i].second, ec);
}

} // namespace

fs::path paperCachePath(const fs::path &cacheRoot, const std::vector<fs::path> &files, const DataSpec &spec,
                        const ReadNeeds &needs)
{
    const std::string settings = "papers-v1|" + std::to_string(int(spec.format)) + "|" + spec.idColumn + "|" +
                                 spec.titleColumn + "|" + spec.abstractColumn + "|" + spec.categoriesColumn + "|" +
                                 std::to_string(spec.maxBadShare) + "|" + std::to_string(spec.limit) + "|" +
                                 std::to_string(needs.categories) + std::to_string(needs.abstracts);
    return cacheRoot / "papers" / (hex(stableHash(settings, dataFilesStamp(files))) + ".papers");
}

Result<CachedPapers> loadPaperCache(const fs::path &entry)
{
    std::string problem;
    const std::string bytes = readWhole(entry, problem);
    const auto damaged = [&](const std::string &what) { return Error{entry.string() + ": " + what}; };
    if (!problem.empty())
        return damaged(problem);
    const size_t head = sizeof kMagic, tail = sizeof(uint64_t);
    if (bytes.size() < head + tail || std::memcmp(bytes.data(), kMagic, head) != 0)
        return damaged("not a paper cache entry (cut short or overwritten)");
    uint64_t sum = 0;
    std::memcpy(&sum, bytes.data() + bytes.size() - tail, tail);
    const std::string_view payload(bytes.data() + head, bytes.size() - head - tail);
    if (stableHash(payload) != sum)
        return damaged("its checksum does not match (the file is damaged)");
    Reader r(payload.data(), payload.data() + payload.size());
    CachedPapers c;
    ReadReport &rep = c.report;
    uint64_t count = 0;
    bool ok = r.i64(rep.lines) && r.i64(rep.rows) && r.i64(rep.bad) && r.i64(rep.duplicates) &&
              r.strs(rep.firstErrors) && r.strs(rep.firstDuplicates) && r.u64(count) &&
              count <= payload.size() / (4 * sizeof(uint64_t));
    if (ok)
        c.papers.resize(size_t(count));
    for (size_t i = 0; ok && i < c.papers.size(); ++i) {
        Paper &p = c.papers[i];
        ok = r.str(p.id) && r.str(p.title) && r.str(p.abstract) && r.strs(p.categories);
    }
    if (!ok || !r.atEnd())
        return damaged("its contents do not add up (the file is damaged)");
    return c;
}

Status savePaperCache(const fs::path &entry, const std::vector<Paper> &papers, const ReadReport &report)
{
    Writer w;
    w.bytes().append(kMagic, sizeof kMagic);
    for (const int64_t v : {report.lines, report.rows, report.bad, report.duplicates})
        w.u64(uint64_t(v));
    w.strs(report.firstErrors);
    w.strs(report.firstDuplicates);
    w.u64(papers.size());
    for (const Paper &p : papers) {
        w.str(p.id);
        w.str(p.title);
        w.str(p.abstract);
        w.strs(p.categories);
    }
    w.u64(stableHash(std::string_view(w.bytes()).substr(sizeof kMagic)));

    std::error_code ec;
    fs::create_directories(entry.parent_path(), ec);
    const fs::path tmp = entry.string() + ".tmp" + std::to_string(::getpid());
    std::FILE *f = std::fopen(tmp.c_str(), "wb");
    if (!f)
        return Error{tmp.string() + ": cannot be written" + (ec ? " (" + ec.message() + ")" : std::string())};
    const bool written = std::fwrite(w.bytes().data(), 1, w.bytes().size(), f) == w.bytes().size();
    const bool closed = std::fclose(f) == 0;
    if (!written || !closed) {
        fs::remove(tmp, ec);
        return Error{tmp.string() + ": cannot be written (is the disk full?)"};
    }
    fs::rename(tmp, entry, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return Error{entry.string() + ": cannot be written: " + ec.message()};
    }
    pruneEntries(entry.parent_path());
    return Unit{};
}

Result<std::vector<Paper>> readPaperFilesCached(const std::vector<fs::path> &files, const DataSpec &spec,
                                                const ReadNeeds &needs, const fs::path &cacheRoot,
                                                ReadReport &report, PaperCacheUse &use)
{
    const fs::path entry = paperCachePath(cacheRoot, files, spec, needs);
    std::error_code ec;
    if (fs::exists(entry, ec)) {
        auto cached = loadPaperCache(entry);
        if (cached) {
            fs::last_write_time(entry, fs::file_time_type::clock::now(), ec); // recently used: kept longest
            use.hit = true;
            report = std::move(cached->report);
            return std::move(cached->papers);
        }
        use.problem = cached.message() + "; the data was read anew";
    }
    auto papers = readPaperFiles(files, spec, &report, needs);
    if (!papers)
        return papers;
    if (auto saved = savePaperCache(entry, *papers, report); !saved)
        use.problem = saved.message() + "; the next run reads the data again";
    return papers;
}

} // namespace lbk
