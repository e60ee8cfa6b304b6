#include "hf/pytorchbin.h"

#include <cstring>

namespace lbk::hf {

namespace {

// Every storage the pickle names is a record of the archive at least as long as its elements.
Status checkZipStorages(const TorchZip &zip, const PickledStateDict &dict, const std::string &where)
{
    for (const auto &[key, s] : dict.storages) {
        auto size = zip.storageSize(key);
        if (!size)
            return size.error();
        if (*size / s.elementSize < uint64_t(s.elements))
            return badInput(where + ": storage data/" + key + " holds " + std::to_string(*size) + " bytes where its "
                            "tensors need " + std::to_string(s.elements) + " elements of " +
                            std::to_string(s.elementSize) + " bytes (the file is damaged)");
    }
    return okStatus();
}

} // namespace

Result<std::unique_ptr<PytorchBin>> PytorchBin::open(const std::filesystem::path &path)
{
    std::unique_ptr<PytorchBin> out(new PytorchBin);
    out->m_where = path.string();
    auto mapped = MappedFile::open(path);
    if (!mapped)
        return badInput(mapped.message());
    const std::string_view bytes((*mapped)->data(), (*mapped)->size());
    if (bytes.size() < 4)
        return badInput(out->m_where + ": too short to be a PyTorch file");
    if (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
        auto zip = TorchZip::open(path);
        if (!zip)
            return zip.error();
        auto pickle = (*zip)->pickle();
        if (!pickle)
            return pickle.error();
        auto dict = readStateDictPickle(*pickle, out->m_where);
        if (!dict)
            return dict.error();
        if (auto s = checkZipStorages(**zip, *dict, out->m_where); !s)
            return s.error();
        out->m_dict = std::move(*dict);
        out->m_zip = std::move(*zip);
        return out;
    }
    auto legacy = readLegacyCheckpoint(bytes, out->m_where);
    if (!legacy)
        return legacy.error();
    out->m_dict = std::move(legacy->dict);
    out->m_legacyBytes = std::move(legacy->storageBytes);
    out->m_mapped = std::move(*mapped);
    return out;
}

Status PytorchBin::readStorage(const std::string &key, void *out) const
{
    const auto s = m_dict.storages.find(key);
    if (s == m_dict.storages.end())
        return badInput(m_where + ": no storage " + key);
    const uint64_t bytes = uint64_t(s->second.elements) * s->second.elementSize;
    if (m_zip)
        return m_zip->readStorage(key, out, bytes);
    const std::string_view from = m_legacyBytes.at(key); // readLegacyCheckpoint: exactly `bytes` long
    if (bytes > 0)
        std::memcpy(out, from.data(), bytes);
    return okStatus();
}

} // namespace lbk::hf
