#pragma once
// torch.save's zip archive (PyTorch 1.6 and later), read with zlib's minizip: ARCHIVE/data.pkl holds the pickle and
// ARCHIVE/data/KEY each storage's bytes, ARCHIVE being the archive's one top folder. No LibTorch: lbk validate and
// the form check a pytorch_model.bin with it, and the engine reads the storages through it. Errors name the file.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "util/result.h"


namespace lbk::hf {

class TorchZip {
public:
    // Refused: not a zip archive, one cut short (its directory at the end is missing), no data.pkl in it.
    static Result<std::unique_ptr<TorchZip>> open(const std::filesystem::path &path);
    ~TorchZip();
    TorchZip(const TorchZip &) = delete;
    TorchZip &operator=(const TorchZip &) = delete;

    // data.pkl's bytes; one larger than 256 MB is refused unread (a state dict's pickle is kilobytes; a damaged
    // or hostile archive may claim gigabytes).
    Result<std::string> pickle() const;
    // The bytes storage KEY's record holds, read from its directory entry; an error when the record is missing.
    Result<uint64_t> storageSize(const std::string &key) const;
    // The first `bytes` bytes of storage KEY's record into `out` (an error when the record is shorter or damaged).
    Status readStorage(const std::string &key, void *out, uint64_t bytes) const;

private:
    TorchZip() = default;
    struct Entry {
        uint64_t directoryOffset = 0, number = 0; // minizip's position of the entry
        uint64_t size = 0;                        // uncompressed, as the directory says
    };
    // Makes `name` (under the prefix) the archive's current entry; its uncompressed size.
    Result<uint64_t> locate(const std::string &name) const;
    Status read(const std::string &name, void *out, uint64_t bytes) const;
    std::string m_where;
    std::string m_prefix;                  // "ARCHIVE/"
    std::map<std::string, Entry> m_entries; // by name: one pass over the directory, not one per storage
    void *m_unzip = nullptr;               // minizip's unzFile
};

// Reads every record of a zip archive (torch.save's, or a LibTorch checkpoint) to check it against the CRC-32 its
// directory holds: LibTorch's reader checks none, so changed bytes load as other numbers (found by an audit: a
// checkpoint with random bytes in its optimizer state resumed, then failed of a NaN loss blamed on the rate).
// What is wrong with it, in words without its path ("its record archive/data/7 does not match the checksum written
// with it"); empty when every record reads back as written.
std::string zipDamage(const std::filesystem::path &path);

} // namespace lbk::hf
