#pragma once
// Token ids of a run's texts, kept on disk: a run of the same texts with the same tokenizer reads them back instead
// of encoding them again (the fastText benchmark's 167k titles: 0.45 s of its set-up). An entry is keyed by the
// tokenizer (its model file's bytes and its settings) and by every text in order, so any change to either is
// another entry; it is written and read as a cache entry (util/cacheentry.h).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "util/result.h"

namespace lbk {

// The entry under cacheRoot/tokens for these texts encoded by the tokenizer in modelFile with these settings;
// empty when modelFile cannot be read.
std::filesystem::path tokenCachePath(const std::filesystem::path &cacheRoot, const std::filesystem::path &modelFile,
                                     const std::string &settings, const std::vector<std::string> &texts);

// The ids of `texts` texts; an entry holding another count, or a damaged one, is an error naming the file.
Result<std::vector<std::vector<int>>> loadTokenCache(const std::filesystem::path &entry, size_t texts);
Status saveTokenCache(const std::filesystem::path &entry, const std::vector<std::vector<int>> &tokens);

} // namespace lbk
