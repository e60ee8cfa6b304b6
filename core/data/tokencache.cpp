#include "data/tokencache.h"

#include "util/cacheentry.h"
#include "util/filebytes.h"
#include "util/stablehash.h"

namespace fs = std::filesystem;

namespace lbk {

namespace {

constexpr std::string_view kMagic = "LBKTOK01";
constexpr size_t kKeptEntries = 8;

} // namespace

fs::path tokenCachePath(const fs::path &cacheRoot, const fs::path &modelFile, const std::string &settings,
                        const std::vector<std::string> &texts)
{
    const auto read = readFileBytes(modelFile);
    const std::string model = read ? *read : std::string();
    if (model.empty()) // missing or unreadable
        return {};
    uint64_t h = stableHash("tokens-v1|" + settings, stableHash(model));
    for (const auto &t : texts)
        h = stableHash(t, h);
    return cacheRoot / "tokens" / (hexKey(h) + ".tokens");
}

Result<std::vector<std::vector<int>>> loadTokenCache(const fs::path &entry, size_t texts)
{
    auto payload = readCacheEntry(entry, kMagic);
    if (!payload)
        return payload.error();
    ByteReader r(*payload);
    uint64_t count = 0;
    if (!r.u64(count) || count != texts)
        return Error{entry.string() + ": holds another number of texts than the run has (the file is damaged)"};
    std::vector<std::vector<int>> tokens(texts);
    for (auto &ids : tokens)
        if (!r.ints(ids))
            return Error{entry.string() + ": its contents do not add up (the file is damaged)"};
    if (!r.atEnd())
        return Error{entry.string() + ": its contents do not add up (the file is damaged)"};
    return tokens;
}

Status saveTokenCache(const fs::path &entry, const std::vector<std::vector<int>> &tokens)
{
    ByteWriter w;
    w.u64(tokens.size());
    for (const auto &ids : tokens)
        w.ints(ids);
    return writeCacheEntry(entry, kMagic, w.bytes(), kKeptEntries);
}

} // namespace lbk
