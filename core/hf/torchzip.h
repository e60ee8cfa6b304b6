#pragma once
// torch.save's zip archive (PyTorch 1.6 and later), read with libzip: ARCHIVE/data.pkl holds the pickle and
// ARCHIVE/data/KEY each storage's bytes, ARCHIVE being the archive's one top folder. No LibTorch: lbk validate and
// the form check a pytorch_model.bin with it, and the engine reads the storages through it. Errors name the file.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "util/result.h"

struct zip; // libzip's archive

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
    Result<int64_t> entry(const std::string &name) const;
    Status read(int64_t index, const std::string &name, void *out, uint64_t bytes) const;
    std::string m_where;
    std::string m_prefix; // "ARCHIVE/"
    zip *m_zip = nullptr;
};

} // namespace lbk::hf
