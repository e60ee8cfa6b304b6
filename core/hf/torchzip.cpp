#include "hf/torchzip.h"

#include <zip.h>

namespace lbk::hf {

namespace {

constexpr uint64_t kMaxPickleBytes = 256ull << 20;

std::string zipMessage(zip_error_t *e)
{
    const std::string text = zip_error_strerror(e);
    zip_error_fini(e);
    return text;
}

} // namespace

Result<std::unique_ptr<TorchZip>> TorchZip::open(const std::filesystem::path &path)
{
    std::unique_ptr<TorchZip> out(new TorchZip);
    out->m_where = path.string();
    int code = 0;
    out->m_zip = zip_open(path.c_str(), ZIP_RDONLY, &code);
    if (!out->m_zip) {
        zip_error_t e;
        zip_error_init_with_code(&e, code);
        return badInput(out->m_where + ": not a readable torch.save archive (" + zipMessage(&e) +
                        "); it may be damaged or cut short");
    }
    // The pickle is ARCHIVE/data.pkl, ARCHIVE being the one folder torch.save writes everything under.
    const zip_int64_t entries = zip_get_num_entries(out->m_zip, 0);
    for (zip_int64_t i = 0; i < entries && out->m_prefix.empty(); ++i) {
        const char *name = zip_get_name(out->m_zip, zip_uint64_t(i), 0);
        const std::string_view n = name ? name : "";
        const size_t slash = n.find('/');
        if (slash != std::string_view::npos && slash > 0 && n.substr(slash) == "/data.pkl")
            out->m_prefix = std::string(n.substr(0, slash + 1));
    }
    if (out->m_prefix.empty())
        return badInput(out->m_where + ": a zip archive without data.pkl: not a file torch.save wrote");
    return out;
}

TorchZip::~TorchZip()
{
    if (m_zip)
        zip_discard(m_zip);
}

Result<int64_t> TorchZip::entry(const std::string &name) const
{
    const zip_int64_t index = zip_name_locate(m_zip, (m_prefix + name).c_str(), 0);
    if (index < 0)
        return badInput(m_where + ": " + name + " is missing from the archive");
    return int64_t(index);
}

Status TorchZip::read(int64_t index, const std::string &name, void *out, uint64_t bytes) const
{
    zip_file_t *f = zip_fopen_index(m_zip, zip_uint64_t(index), 0);
    if (!f)
        return badInput(m_where + ": cannot read " + name + " (" + zip_strerror(m_zip) + ")");
    uint64_t done = 0;
    while (done < bytes) {
        const zip_int64_t n = zip_fread(f, static_cast<char *>(out) + done, bytes - done);
        if (n <= 0)
            break;
        done += uint64_t(n);
    }
    const std::string why = done < bytes ? std::string(zip_file_strerror(f)) : std::string();
    zip_fclose(f);
    if (done < bytes)
        return badInput(m_where + ": " + name + " ends after " + std::to_string(done) + " of its " +
                        std::to_string(bytes) + " bytes" + (why.empty() || why == "No error" ? "" : " (" + why + ")") +
                        ": the file is damaged");
    return okStatus();
}

Result<std::string> TorchZip::pickle() const
{
    auto index = entry("data.pkl");
    if (!index)
        return index.error();
    zip_stat_t st;
    if (zip_stat_index(m_zip, zip_uint64_t(*index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return badInput(m_where + ": data.pkl's size is unreadable: the file is damaged");
    if (st.size > kMaxPickleBytes)
        return badInput(m_where + ": data.pkl claims " + std::to_string(st.size) +
                        " bytes; a state dict's pickle is kilobytes (the file is damaged or not a state dict)");
    std::string bytes(size_t(st.size), '\0');
    if (auto s = read(*index, "data.pkl", bytes.data(), st.size); !s)
        return s.error();
    return bytes;
}

Result<uint64_t> TorchZip::storageSize(const std::string &key) const
{
    auto index = entry("data/" + key);
    if (!index)
        return index.error();
    zip_stat_t st;
    if (zip_stat_index(m_zip, zip_uint64_t(*index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return badInput(m_where + ": the size of storage data/" + key + " is unreadable: the file is damaged");
    return uint64_t(st.size);
}

Status TorchZip::readStorage(const std::string &key, void *out, uint64_t bytes) const
{
    auto index = entry("data/" + key);
    if (!index)
        return index.error();
    return read(*index, "data/" + key, out, bytes);
}

} // namespace lbk::hf
