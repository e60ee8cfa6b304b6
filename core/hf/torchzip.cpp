#include "hf/torchzip.h"

#include <vector>

#include <unzip.h>

namespace lbk::hf {

namespace {

constexpr uint64_t kMaxPickleBytes = 256ull << 20;

} // namespace

Result<std::unique_ptr<TorchZip>> TorchZip::open(const std::filesystem::path &path)
{
    std::unique_ptr<TorchZip> out(new TorchZip);
    out->m_where = path.string();
    out->m_unzip = unzOpen64(path.c_str());
    if (!out->m_unzip)
        return badInput(out->m_where + ": not a readable torch.save archive (its zip directory is missing or "
                        "damaged): it is cut short (a download that stopped early? fetch it again) or damaged");
    // The pickle is ARCHIVE/data.pkl, ARCHIVE being the one folder torch.save writes everything under.
    char name[1024];
    for (int at = unzGoToFirstFile(out->m_unzip); at == UNZ_OK; at = unzGoToNextFile(out->m_unzip)) {
        unz_file_info64 info;
        unz64_file_pos pos;
        if (unzGetCurrentFileInfo64(out->m_unzip, &info, name, sizeof name, nullptr, 0, nullptr, 0) != UNZ_OK ||
            unzGetFilePos64(out->m_unzip, &pos) != UNZ_OK)
            return badInput(out->m_where + ": the archive's directory is damaged");
        const std::string_view n = name;
        const size_t slash = n.find('/');
        if (out->m_prefix.empty() && slash != std::string_view::npos && slash > 0 && n.substr(slash) == "/data.pkl")
            out->m_prefix = std::string(n.substr(0, slash + 1));
        out->m_entries.emplace(std::string(n), Entry{pos.pos_in_zip_directory, pos.num_of_file,
                                                     uint64_t(info.uncompressed_size)});
    }
    if (out->m_prefix.empty())
        return badInput(out->m_where + ": a zip archive without data.pkl: not a file torch.save wrote");
    return out;
}

TorchZip::~TorchZip()
{
    if (m_unzip)
        unzClose(m_unzip);
}

Result<uint64_t> TorchZip::locate(const std::string &name) const
{
    const auto it = m_entries.find(m_prefix + name);
    if (it == m_entries.end())
        return badInput(m_where + ": " + name + " is missing from the archive");
    unz64_file_pos pos{it->second.directoryOffset, it->second.number};
    if (unzGoToFilePos64(m_unzip, &pos) != UNZ_OK)
        return badInput(m_where + ": the entry of " + name + " is unreadable: the file is damaged");
    return it->second.size;
}

Status TorchZip::read(const std::string &name, void *out, uint64_t bytes) const
{
    if (unzOpenCurrentFile(m_unzip) != UNZ_OK)
        return badInput(m_where + ": cannot read " + name + ": the file is damaged");
    uint64_t done = 0;
    while (done < bytes) {
        const unsigned chunk = unsigned(std::min<uint64_t>(bytes - done, 1u << 30));
        const int n = unzReadCurrentFile(m_unzip, static_cast<char *>(out) + done, chunk);
        if (n <= 0)
            break;
        done += uint64_t(n);
    }
    unzCloseCurrentFile(m_unzip);
    if (done < bytes)
        return badInput(m_where + ": " + name + " ends after " + std::to_string(done) + " of its " +
                        std::to_string(bytes) + " bytes: the file is damaged");
    return okStatus();
}

Result<std::string> TorchZip::pickle() const
{
    auto size = locate("data.pkl");
    if (!size)
        return size.error();
    if (*size > kMaxPickleBytes)
        return badInput(m_where + ": data.pkl claims " + std::to_string(*size) +
                        " bytes; a state dict's pickle is kilobytes (the file is damaged or not a state dict)");
    std::string bytes(size_t(*size), '\0');
    if (auto s = read("data.pkl", bytes.data(), *size); !s)
        return s.error();
    return bytes;
}

Result<uint64_t> TorchZip::storageSize(const std::string &key) const
{
    return locate("data/" + key);
}

Status TorchZip::readStorage(const std::string &key, void *out, uint64_t bytes) const
{
    auto size = locate("data/" + key);
    if (!size)
        return size.error();
    return read("data/" + key, out, bytes);
}

std::string zipDamage(const std::filesystem::path &path)
{
    unzFile zip = unzOpen64(path.c_str());
    if (!zip)
        return "its zip directory is missing or damaged (a file cut short, or not an archive)";
    std::vector<char> buffer(1 << 20);
    char name[1024];
    std::string problem;
    int at = unzGoToFirstFile(zip);
    for (; at == UNZ_OK && problem.empty(); at = unzGoToNextFile(zip)) {
        if (unzGetCurrentFileInfo64(zip, nullptr, name, sizeof name, nullptr, 0, nullptr, 0) != UNZ_OK ||
            unzOpenCurrentFile(zip) != UNZ_OK) {
            problem = "the archive's directory is damaged";
            break;
        }
        int n = 0;
        while ((n = unzReadCurrentFile(zip, buffer.data(), unsigned(buffer.size()))) > 0) {
        }
        const int closed = unzCloseCurrentFile(zip);
        if (n < 0)
            problem = std::string("its record ") + name + " cannot be read";
        else if (closed == UNZ_CRCERROR)
            problem = std::string("its record ") + name + " does not match the checksum written with it";
    }
    unzClose(zip);
    if (problem.empty() && at != UNZ_END_OF_LIST_OF_FILE) // the directory ends early: its entries after that are lost
        problem = "the archive's directory is damaged after its first records";
    return problem;
}

} // namespace lbk::hf
