#include "data/papercache.h"

#include "util/cacheentry.h"
#include "util/stablehash.h"

namespace fs = std::filesystem;

namespace lbk {

namespace {

constexpr std::string_view kMagic = "LBKPAP02";
constexpr size_t kKeptEntries = 8;

} // namespace

fs::path paperCachePath(const fs::path &cacheRoot, const std::vector<fs::path> &files, const DataSpec &spec,
                        const ReadNeeds &needs)
{
    const std::string settings = "papers-v2|" + std::to_string(int(spec.format)) + "|" + std::to_string(int(spec.text)) +
                                 "|" + spec.idColumn + "|" +
                                 spec.titleColumn + "|" + spec.abstractColumn + "|" + spec.categoriesColumn + "|" +
                                 std::to_string(spec.maxBadShare) + "|" + std::to_string(spec.limit) + "|" +
                                 std::to_string(needs.categories) + std::to_string(needs.abstracts);
    return cacheRoot / "papers" / (hexKey(stableHash(settings, dataFilesStamp(files))) + ".papers");
}

Result<CachedPapers> loadPaperCache(const fs::path &entry)
{
    auto payload = readCacheEntry(entry, kMagic);
    if (!payload)
        return payload.error();
    ByteReader r(*payload);
    CachedPapers c;
    ReadReport &rep = c.report;
    uint64_t count = 0;
    bool ok = r.i64(rep.lines) && r.i64(rep.rows) && r.i64(rep.bad) && r.i64(rep.duplicates) &&
              r.strs(rep.firstErrors) && r.strs(rep.firstDuplicates) && r.u64(count) &&
              count <= r.left() / (4 * sizeof(uint64_t));
    if (ok)
        c.papers.resize(size_t(count));
    for (size_t i = 0; ok && i < c.papers.size(); ++i) {
        Paper &p = c.papers[i];
        ok = r.str(p.id) && r.str(p.title) && r.str(p.abstract) && r.strs(p.categories);
    }
    if (!ok || !r.atEnd())
        return Error{entry.string() + ": its contents do not add up (the file is damaged)"};
    return c;
}

Status savePaperCache(const fs::path &entry, const std::vector<Paper> &papers, const ReadReport &report)
{
    ByteWriter w;
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
    return writeCacheEntry(entry, kMagic, w.bytes(), kKeptEntries);
}

Result<std::vector<Paper>> readPaperFilesCached(const std::vector<fs::path> &files, const DataSpec &spec,
                                                const ReadNeeds &needs, const fs::path &cacheRoot,
                                                ReadReport &report, PaperCacheUse &use)
{
    const fs::path entry = paperCachePath(cacheRoot, files, spec, needs);
    use.entry = entry;
    std::error_code ec;
    if (fs::exists(entry, ec)) {
        auto cached = loadPaperCache(entry);
        if (cached) {
            touchCacheEntry(entry);
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
