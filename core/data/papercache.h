#pragma once
// Papers read once, kept on disk: a classifier's run of the same data reads them back instead of decompressing and
// parsing the files again (167k papers: seconds against a tenth of one). An entry is keyed by everything the
// reading depends on (the files' identity, dataFilesStamp; the data spec's reading settings; what the reader
// needs), written to a temporary name and renamed, so a reader finds a whole entry or none. A damaged entry is
// an error naming the file; the caller reads the data and writes the entry anew.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "util/result.h"

namespace lbk {

struct CachedPapers {
    std::vector<Paper> papers;
    ReadReport report;
};

// The entry for these files read with these settings, under cacheRoot/papers.
std::filesystem::path paperCachePath(const std::filesystem::path &cacheRoot,
                                     const std::vector<std::filesystem::path> &files, const DataSpec &spec,
                                     const ReadNeeds &needs);

Result<CachedPapers> loadPaperCache(const std::filesystem::path &entry);
// Errors (a full disk, a folder that cannot be made) name the file; nothing is left behind.
Status savePaperCache(const std::filesystem::path &entry, const std::vector<Paper> &papers, const ReadReport &report);

// How a cached read went, for the run's log.
struct PaperCacheUse {
    bool hit = false;
    std::filesystem::path entry; // the entry read or written
    std::string problem; // a damaged entry read anew, or an entry that could not be written
};

// readPaperFiles through the cache under cacheRoot: the entry when there is a whole one, else the files read and
// the entry written (keeping the 8 most recently used entries).
Result<std::vector<Paper>> readPaperFilesCached(const std::vector<std::filesystem::path> &files,
                                                const DataSpec &spec, const ReadNeeds &needs,
                                                const std::filesystem::path &cacheRoot, ReadReport &report,
                                                PaperCacheUse &use);

} // namespace lbk
