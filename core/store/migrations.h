#pragma once
// Private to core/store: the schema as an ordered list of migrations. Version N of a store is the state after
// migrations 1..N; opening a store applies the missing ones in one transaction.
#include <filesystem>

#include "util/result.h"

struct sqlite3;

namespace lbk::detail {

int knownSchemaVersion();
// The store's recorded version (0 for an empty file); an Error when the file is not a Labbook store.
Result<int> readSchemaVersion(sqlite3 *db, const std::filesystem::path &path);
// Brings the store to knownSchemaVersion(); refuses a store newer than this build knows.
Status migrate(sqlite3 *db, const std::filesystem::path &path);

} // namespace lbk::detail
