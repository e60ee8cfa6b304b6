#pragma once
// A pytorch_model.bin opened in either layout torch.save writes (hf/torchpickle.h): its state dict's pickle read,
// and each storage's bytes checked to be in the file, without reading them. No LibTorch: lbk validate and the form
// list a checkpoint's tensors with it, and the engine reads the storages' bytes through it.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "hf/torchpickle.h"
#include "hf/torchzip.h"
#include "util/mappedfile.h"
#include "util/result.h"

namespace lbk::hf {

class PytorchBin {
public:
    // Refused, naming the file: too short, neither layout, a damaged pickle, a storage missing or shorter than its
    // tensors need (a file cut short).
    static Result<std::unique_ptr<PytorchBin>> open(const std::filesystem::path &path);
    const PickledStateDict &dict() const { return m_dict; }
    // Storage KEY's bytes (elements times element size) into `out`.
    Status readStorage(const std::string &key, void *out) const;

private:
    PytorchBin() = default;
    std::string m_where;
    PickledStateDict m_dict;
    std::unique_ptr<TorchZip> m_zip;                   // the zip layout
    std::shared_ptr<const MappedFile> m_mapped;        // the legacy layout: the file, and where each storage lies
    std::map<std::string, std::string_view> m_legacyBytes;
};

} // namespace lbk::hf
