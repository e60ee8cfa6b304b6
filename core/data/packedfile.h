#pragma once
// Packed masked-language-model sequences on disk, so a corpus of any size trains in constant memory: two files
// side by side, BASE.ids (every id, int32 in the machine's byte order) and BASE.idx (a header, then where each
// sequence starts). Written as they come to temporary names and renamed on commit, the .idx last, so a reader
// finds a whole pair or none; mapped back read-only, training reads the sequences in place.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "data/packing.h"
#include "util/result.h"

namespace lbk {

class PackedFileWriter : public SequenceSink {
public:
    static Result<std::unique_ptr<PackedFileWriter>> create(const std::filesystem::path &base, int window);
    ~PackedFileWriter() override; // an uncommitted pair is removed
    void add(const int32_t *ids, int length) override;
    // A write failed (a full disk): commit() will say so; a caller can stop feeding it.
    bool failed() const { return m_failed; }
    // Completes the files and gives them their names. Errors (a full disk) name the file.
    Status commit();

private:
    PackedFileWriter() = default;
    void discard();

    std::filesystem::path m_base, m_idsTmp, m_idxTmp;
    std::FILE *m_ids = nullptr, *m_idx = nullptr;
    int m_window = 0;
    int64_t m_count = 0, m_tokens = 0;
    bool m_failed = false;
    int m_errno = 0; // of the first failed write
};

// The pair BASE.ids and BASE.idx. A missing pair is an error saying so; a damaged one (cut short, overwritten,
// sequences longer than the window) an error naming the file and what is wrong. Ids are not checked here
// (packedIdsBelow).
Result<PackedSequences> mapPackedFile(const std::filesystem::path &base);

// Whether every id is below `rows` (an embedding's), so a damaged file never indexes past a model's table.
bool packedIdsBelow(const PackedSequences &packed, int32_t rows);

// Removes the temporary files of writers whose process is gone (killed while packing) from a folder.
void removeStalePackedFiles(const std::filesystem::path &folder);

// BASE.ids and BASE.idx.
std::filesystem::path packedIdsPath(const std::filesystem::path &base);
std::filesystem::path packedIndexPath(const std::filesystem::path &base);

} // namespace lbk
