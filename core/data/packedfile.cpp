#include "data/packedfile.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

#include "util/mappedfile.h"

namespace lbk {

namespace fs = std::filesystem;

namespace {

constexpr std::array<char, 8> kMagic = {'L', 'B', 'K', 'P', 'A', 'C', 'K', '1'};

struct IndexHeader {
    std::array<char, 8> magic = kMagic;
    int32_t window = 0;
    int32_t reserved = 0;
    int64_t count = 0;  // sequences; count + 1 offsets follow
    int64_t tokens = 0; // ids in the .ids file
};
static_assert(sizeof(IndexHeader) == 32);

fs::path withSuffix(const fs::path &base, const std::string &suffix)
{
    return fs::path(base.string() + suffix);
}

} // namespace

fs::path packedIdsPath(const fs::path &base) { return withSuffix(base, ".ids"); }
fs::path packedIndexPath(const fs::path &base) { return withSuffix(base, ".idx"); }

Result<std::unique_ptr<PackedFileWriter>> PackedFileWriter::create(const fs::path &base, int window)
{
    std::unique_ptr<PackedFileWriter> w(new PackedFileWriter);
    w->m_base = base;
    w->m_window = window;
    // Unique names: two processes packing the same corpus at once never write into each other's files.
    const std::string tmp = ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(uintptr_t(w.get()));
    w->m_idsTmp = withSuffix(packedIdsPath(base), tmp);
    w->m_idxTmp = withSuffix(packedIndexPath(base), tmp);
    w->m_ids = std::fopen(w->m_idsTmp.c_str(), "wb");
    w->m_idx = std::fopen(w->m_idxTmp.c_str(), "wb");
    if (!w->m_ids || !w->m_idx)
        return Error{(w->m_ids ? w->m_idxTmp : w->m_idsTmp).string() + ": cannot create: " + std::strerror(errno)};
    const IndexHeader header; // rewritten with the counts on commit
    const int64_t zero = 0;
    if (std::fwrite(&header, sizeof header, 1, w->m_idx) != 1 || std::fwrite(&zero, sizeof zero, 1, w->m_idx) != 1)
        w->m_failed = true;
    return w;
}

PackedFileWriter::~PackedFileWriter() { discard(); }

void PackedFileWriter::discard()
{
    for (std::FILE **f : {&m_ids, &m_idx})
        if (*f) {
            std::fclose(*f);
            *f = nullptr;
        }
    std::error_code ignored;
    if (!m_idsTmp.empty())
        fs::remove(m_idsTmp, ignored);
    if (!m_idxTmp.empty())
        fs::remove(m_idxTmp, ignored);
}

void PackedFileWriter::add(const int32_t *ids, int length)
{
    if (m_failed)
        return;
    m_tokens += length;
    ++m_count;
    if (std::fwrite(ids, sizeof(int32_t), size_t(length), m_ids) != size_t(length) ||
        std::fwrite(&m_tokens, sizeof m_tokens, 1, m_idx) != 1) {
        m_failed = true;
        m_errno = errno;
    }
}

Status PackedFileWriter::commit()
{
    IndexHeader header;
    header.window = m_window;
    header.count = m_count;
    header.tokens = m_tokens;
    // On disk before the names change, so a crash never leaves a named pair with missing bytes.
    const bool written = !m_failed && std::fflush(m_ids) == 0 && ::fsync(::fileno(m_ids)) == 0 &&
                         std::fseek(m_idx, 0, SEEK_SET) == 0 && std::fwrite(&header, sizeof header, 1, m_idx) == 1 &&
                         std::fflush(m_idx) == 0 && ::fsync(::fileno(m_idx)) == 0;
    const int writeErrno = m_failed ? m_errno : errno;
    const bool idsClosed = std::fclose(m_ids) == 0;
    const bool idxClosed = std::fclose(m_idx) == 0;
    const int closeErrno = errno;
    m_ids = m_idx = nullptr;
    if (!written || !idsClosed || !idxClosed) {
        const std::string why = std::strerror(!written ? writeErrno : closeErrno);
        discard();
        return Error{packedIdsPath(m_base).string() + ": cannot write the packed sequences: " + why};
    }
    std::error_code ec;
    fs::rename(m_idsTmp, packedIdsPath(m_base), ec);
    if (!ec)
        fs::rename(m_idxTmp, packedIndexPath(m_base), ec);
    if (ec) {
        discard();
        return Error{packedIndexPath(m_base).string() + ": cannot store the packed sequences: " + ec.message()};
    }
    m_idsTmp.clear();
    m_idxTmp.clear();
    return Unit{};
}

Result<PackedSequences> mapPackedFile(const fs::path &base)
{
    const fs::path idsPath = packedIdsPath(base), idxPath = packedIndexPath(base);
    if (std::error_code ec; !fs::exists(idxPath, ec) || !fs::exists(idsPath, ec))
        return Error{idxPath.string() + ": no packed sequences there"};
    auto idx = MappedFile::open(idxPath);
    if (!idx)
        return idx.error();
    auto ids = MappedFile::open(idsPath);
    if (!ids)
        return ids.error();
    const auto damaged = [&](const std::string &what) {
        return Error{idxPath.string() + ": damaged packed sequences (" + what + ")"};
    };
    IndexHeader h;
    if ((*idx)->size() < sizeof h)
        return damaged("shorter than its header");
    std::memcpy(&h, (*idx)->data(), sizeof h);
    if (h.magic != kMagic || h.window < 3 || h.count < 0 || h.tokens < 0)
        return damaged("not a Labbook packed-sequence index");
    const size_t offsetBytes = (*idx)->size() - sizeof h;
    if (offsetBytes % sizeof(int64_t) != 0 || uint64_t(h.count) != offsetBytes / sizeof(int64_t) - 1)
        return damaged("its size does not match its " + std::to_string(h.count) + " sequences");
    if (uint64_t(h.tokens) > (*ids)->size() / sizeof(int32_t) || (*ids)->size() != sizeof(int32_t) * size_t(h.tokens))
        return damaged(idsPath.filename().string() + " does not hold " + std::to_string(h.tokens) + " ids");
    const auto *offsets = reinterpret_cast<const int64_t *>((*idx)->data() + sizeof h);
    if (offsets[0] != 0 || offsets[h.count] != h.tokens)
        return damaged("its offsets do not span the ids");
    for (int64_t i = 0; i < h.count; ++i)
        if (offsets[i + 1] - offsets[i] < 1 || offsets[i + 1] - offsets[i] > h.window)
            return damaged("sequence " + std::to_string(i) + " is not 1 to " + std::to_string(h.window) + " ids long");
    struct Both {
        std::shared_ptr<const MappedFile> idx, ids;
    };
    auto keep = std::make_shared<Both>(Both{*idx, *ids});
    return PackedSequences(h.window, reinterpret_cast<const int32_t *>(keep->ids->data()), offsets, size_t(h.count),
                           keep);
}

bool packedIdsBelow(const PackedSequences &packed, int32_t rows)
{
    if (packed.size() == 0)
        return true;
    const int32_t *ids = packed.begin(0);
    const int64_t n = packed.tokens();
    int32_t lo = 0, hi = 0;
    for (int64_t i = 0; i < n; ++i) {
        lo = std::min(lo, ids[i]);
        hi = std::max(hi, ids[i]);
    }
    return lo >= 0 && hi < rows;
}

void removeStalePackedFiles(const fs::path &folder)
{
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(folder, ec)) {
        const std::string name = entry.path().filename().string();
        const size_t at = name.find(".tmp-");
        if (at == std::string::npos)
            continue;
        const long pid = std::strtol(name.c_str() + at + 5, nullptr, 10);
        if (std::error_code gone; pid > 0 && !fs::exists("/proc/" + std::to_string(pid), gone))
            fs::remove(entry.path(), ec);
    }
}

} // namespace lbk
