// Reading, checking and writing safetensors files. The header is parsed entry by entry through nlohmann's callback,
// each tensor's object turned into a TensorInfo and dropped at once, so a hostile header costs memory in proportion
// to the tensors it names, not to a JSON tree of up to 100 MB; nesting deeper than the format has is refused early.
//
// Holes: the reference reader requires the tensors to cover the data buffer exactly (each one starting where the
// previous ended, the last ending at the end of the file). Reading needs only each tensor's own bytes, so Labbook
// accepts gaps between tensors and bytes after the last one (harmless, never read), and refuses what would make two
// tensors share bytes: overlapping ranges. Files written by the reference writer (and by writeSafetensors) are
// contiguous and pass either way.
#include "hf/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "util/filebytes.h"

namespace lbk::hf {

namespace fs = std::filesystem;
using nlohmann::json;

static_assert(std::endian::native == std::endian::little, "the raw buffers are read as little-endian");

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000; // the reference's limit (MAX_HEADER_SIZE)
constexpr size_t kMaxListItems = 64;              // a shape's rank, or any list or object inside an entry
constexpr size_t kMaxMessageQuote = 160;          // how much of nlohmann's parse error a message quotes

// Thrown inside the parse callback to stop at the first problem; caught before leaving this file.
struct HeaderError {
    std::string message;
};

std::optional<DType> dtypeFromName(std::string_view s)
{
    if (s == "F32")
        return DType::F32;
    if (s == "F16")
        return DType::F16;
    if (s == "BF16")
        return DType::BF16;
    if (s == "I64")
        return DType::I64;
    return std::nullopt;
}

// The dtypes the format defines that Labbook does not read, so the message can tell "unsupported" from "unknown".
bool formatDType(std::string_view s)
{
    static const std::set<std::string_view> known = {"BOOL", "U8",      "I8",      "I16",     "U16",     "I32",
                                                     "U32",  "F64",     "U64",     "F8_E4M3", "F8_E5M2", "F8_E8M0",
                                                     "F4",   "F6_E2M3", "F6_E3M2", "C64"};
    return known.count(s) > 0;
}

// Data order of the reference writer: by dtype, largest alignment first (its Dtype enum order, descending).
int alignmentRank(DType d)
{
    switch (d) {
    case DType::I64:
        return 3;
    case DType::F32:
        return 2;
    case DType::BF16:
        return 1;
    case DType::F16:
        return 0;
    }
    return 0;
}

std::string listText(const json &a)
{
    std::string out = "[";
    for (size_t i = 0; i < a.size(); ++i) {
        if (i)
            out += ", ";
        out += a[i].dump();
    }
    return out + "]";
}

std::string rangeText(uint64_t begin, uint64_t end)
{
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

// Builds the header from the parser's events (see the file comment). Depths as nlohmann counts them: the top
// object starts at 0, its entries at 1, an entry's lists (shape, data_offsets) at 2, their items at 3.
class HeaderBuilder {
public:
    HeaderBuilder(const std::string &where, uint64_t dataSize, bool checkEnd)
        : m_where(where), m_dataSize(dataSize), m_checkEnd(checkEnd)
    {
    }

    bool event(int depth, json::parse_event_t ev, json &parsed)
    {
        using E = json::parse_event_t;
        switch (ev) {
        case E::object_start:
            if (depth == 1)
                m_entryKeys.clear();
            else if (depth == 2)
                m_items = 0;
            else if (depth >= 3)
                fail(entryLabel() + ": '" + m_entryKey + "' is nested deeper than a safetensors header can be");
            return true;
        case E::array_start:
            if (depth == 0)
                fail(m_where + ": the header is not a JSON object");
            if (depth == 1)
                fail(entryLabel() + ": is a list, not " + entryShape());
            if (depth >= 3)
                fail(entryLabel() + ": '" + m_entryKey + "' is nested deeper than a safetensors header can be");
            m_items = 0;
            return true;
        case E::key:
            if (depth == 1) {
                m_key = parsed.get<std::string>();
                if (!m_names.insert(m_key).second)
                    fail(entryLabel() + ": appears twice in the header");
            } else if (depth == 2) {
                m_entryKey = parsed.get<std::string>();
                if (!m_entryKeys.insert(m_entryKey).second)
                    fail(entryLabel() + ": key '" + m_entryKey + "' appears twice");
            }
            return true;
        case E::value:
            if (depth == 0)
                fail(m_where + ": the header is not a JSON object");
            if (depth == 1 && !(m_key == "__metadata__" && parsed.is_null()))
                fail(entryLabel() + ": is " + parsed.dump() + ", not " + entryShape());
            if (depth == 3 && ++m_items > kMaxListItems)
                fail(entryLabel() + ": '" + m_entryKey + "' has more than " + std::to_string(kMaxListItems) + " items");
            return true;
        case E::object_end:
            if (depth == 1) {
                if (m_key == "__metadata__")
                    setMetadata(parsed);
                else
                    addTensor(parsed);
                return false; // dropped from the tree: the TensorInfo holds what is needed
            }
            return true;
        case E::array_end:
            return true;
        }
        return true;
    }

    SafetensorsHeader header;
    uint64_t dataEnd = 0; // the largest end offset

private:
    [[noreturn]] static void fail(std::string message) { throw HeaderError{std::move(message)}; }

    std::string entryLabel() const
    {
        return m_key == "__metadata__" ? m_where + ": __metadata__" : m_where + ": tensor '" + m_key + "'";
    }

    std::string entryShape() const
    {
        return m_key == "__metadata__" ? "an object of strings" : "an object {dtype, shape, data_offsets}";
    }

    void setMetadata(const json &m)
    {
        for (auto it = m.begin(); it != m.end(); ++it) {
            if (!it.value().is_string())
                fail(entryLabel() + ": the value of '" + it.key() + "' is " + it.value().dump() +
                     ", not a string (metadata maps strings to strings)");
            header.metadata[it.key()] = it.value().get<std::string>();
        }
    }

    void addTensor(const json &entry)
    {
        const std::string label = entryLabel() + ": ";
        TensorInfo t;
        t.name = m_key;

        const auto dtype = entry.find("dtype");
        if (dtype == entry.end())
            fail(label + "has no 'dtype'");
        if (!dtype->is_string())
            fail(label + "dtype " + dtype->dump() + " is not a string");
        const std::string dtypeText = dtype->get<std::string>();
        const auto d = dtypeFromName(dtypeText);
        if (!d)
            fail(label +
                 (formatDType(dtypeText) ? "dtype '" + dtypeText + "' is not supported"
                                         : "unknown dtype '" + dtypeText + "'") +
                 " (supported: F32, F16, BF16, I64)");
        t.dtype = *d;

        const auto shape = entry.find("shape");
        if (shape == entry.end())
            fail(label + "has no 'shape'");
        if (!shape->is_array())
            fail(label + "shape " + shape->dump() + " is not a list of sizes");
        uint64_t elements = 1;
        for (const json &dim : *shape) {
            if (dim.is_number_integer() && !dim.is_number_unsigned())
                fail(label + "shape " + listText(*shape) + " has a negative dimension");
            if (!dim.is_number_unsigned())
                fail(label + "shape " + listText(*shape) + " holds something other than non-negative integers");
            const uint64_t n = dim.get<uint64_t>();
            if (n > uint64_t(std::numeric_limits<int64_t>::max()) || __builtin_mul_overflow(elements, n, &elements) ||
                elements > uint64_t(std::numeric_limits<int64_t>::max()))
                fail(label + "shape " + listText(*shape) + " has more elements than 63 bits can count");
            t.shape.push_back(int64_t(n));
        }
        uint64_t bytes = 0;
        if (__builtin_mul_overflow(elements, uint64_t(dtypeSize(t.dtype)), &bytes))
            fail(label + "shape " + listText(*shape) + " of " + dtypeText + " needs more bytes than 64 bits can count");

        const auto offsets = entry.find("data_offsets");
        if (offsets == entry.end())
            fail(label + "has no 'data_offsets'");
        if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
            !(*offsets)[1].is_number_unsigned())
            fail(label + "data_offsets " + offsets->dump() + " is not two non-negative integers [begin, end]");
        t.begin = (*offsets)[0].get<uint64_t>();
        t.end = (*offsets)[1].get<uint64_t>();
        if (t.end < t.begin)
            fail(label + "data_offsets " + rangeText(t.begin, t.end) + " end before they begin");
        if (t.end - t.begin != bytes)
            fail(label + "data_offsets " + rangeText(t.begin, t.end) + " hold " + std::to_string(t.end - t.begin) +
                 " bytes, but shape " + listText(*shape) + " of " + dtypeText + " needs " + std::to_string(bytes));
        if (m_checkEnd && t.end > m_dataSize)
            fail(label + "data_offsets " + rangeText(t.begin, t.end) + " run past the end of the data (" +
                 std::to_string(m_dataSize) + " bytes)");
        dataEnd = std::max(dataEnd, t.end);
        header.tensors.push_back(std::move(t));
    }

    const std::string &m_where;
    const uint64_t m_dataSize;
    const bool m_checkEnd;
    std::set<std::string> m_names;     // top-level keys seen
    std::set<std::string> m_entryKeys; // keys of the current entry
    std::string m_key, m_entryKey;     // the current entry and its current key
    size_t m_items = 0;                // items of the current list inside an entry
};

struct ParsedHeader {
    SafetensorsHeader header;
    uint64_t dataEnd = 0;
};

// checkEnd: whether a tensor that ends past the file's data is this function's error; open() turns it off to
// report that case as a truncated file instead.
Result<ParsedHeader> parseHeader(std::string_view file, uint64_t fileSize, const std::string &where, bool checkEnd)
{
    if (fileSize < 8)
        return badInput(where + ": file is too short to be safetensors (" + std::to_string(fileSize) +
                        " bytes; it starts with an 8-byte header length)");
    if (file.size() < 8)
        return badInput(where + ": only " + std::to_string(file.size()) + " bytes of the file were read");
    uint64_t n = 0;
    std::memcpy(&n, file.data(), 8);
    if (n > kMaxHeaderBytes)
        return badInput(where + ": the header length " + std::to_string(n) +
                        " is over the format's limit of 100 MB; is this a safetensors file?");
    if (n > fileSize - 8)
        return badInput(where + ": the header length " + std::to_string(n) + " runs past the end of the file (" +
                        std::to_string(fileSize) + " bytes); the file is truncated or not safetensors");
    if (file.size() - 8 < n)
        return badInput(where + ": only " + std::to_string(file.size()) +
                        " bytes of the file were read; the header needs " + std::to_string(8 + n));

    const std::string_view text = file.substr(8, size_t(n));
    HeaderBuilder builder(where, fileSize - 8 - n, checkEnd);
    try {
        [[maybe_unused]] const json emptied =
            json::parse(text.begin(), text.end(), [&](int depth, json::parse_event_t ev, json &parsed) {
                return builder.event(depth, ev, parsed);
            });
    } catch (const HeaderError &e) {
        return badInput(e.message);
    } catch (const json::exception &e) {
        std::string why = e.what();
        if (const size_t close = why.find("] "); why.rfind("[json.exception.", 0) == 0 && close != std::string::npos)
            why = why.substr(close + 2);
        if (why.size() > kMaxMessageQuote)
            why = why.substr(0, kMaxMessageQuote) + "...";
        return badInput(where + ": the header is not valid JSON (" + why + ")");
    }

    std::vector<TensorInfo> &tensors = builder.header.tensors;
    std::sort(tensors.begin(), tensors.end(), [](const TensorInfo &a, const TensorInfo &b) {
        return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
    });
    const TensorInfo *reach = nullptr; // the tensor that ends furthest so far
    for (const TensorInfo &t : tensors) {
        if (t.begin == t.end)
            continue; // an empty tensor shares no bytes
        if (reach && t.begin < reach->end)
            return badInput(where + ": tensor '" + t.name + "': data_offsets " + rangeText(t.begin, t.end) +
                            " overlap those of tensor '" + reach->name + "' " + rangeText(reach->begin, reach->end));
        if (!reach || t.end > reach->end)
            reach = &t;
    }
    std::sort(tensors.begin(), tensors.end(), [](const TensorInfo &a, const TensorInfo &b) { return a.name < b.name; });
    builder.header.dataOffset = 8 + n;
    return ParsedHeader{std::move(builder.header), builder.dataEnd};
}

std::string errnoText()
{
    return std::strerror(errno);
}

// A JSON string literal, or nothing when the text is not UTF-8.
std::optional<std::string> jsonString(const std::string &s)
{
    try {
        return json(s).dump();
    } catch (const json::exception &) {
        return std::nullopt;
    }
}

} // namespace

std::string_view dtypeName(DType d)
{
    switch (d) {
    case DType::F32:
        return "F32";
    case DType::F16:
        return "F16";
    case DType::BF16:
        return "BF16";
    case DType::I64:
        return "I64";
    }
    return "?";
}

size_t dtypeSize(DType d)
{
    switch (d) {
    case DType::F32:
        return 4;
    case DType::F16:
    case DType::BF16:
        return 2;
    case DType::I64:
        return 8;
    }
    return 0;
}

int64_t TensorInfo::elements() const
{
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d; // checked when the header was parsed
    return n;
}

const TensorInfo *SafetensorsHeader::find(std::string_view name) const
{
    const auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                                     [](const TensorInfo &t, std::string_view n) { return t.name < n; });
    return it != tensors.end() && it->name == name ? &*it : nullptr;
}

Result<SafetensorsHeader> parseSafetensorsHeader(std::string_view file, uint64_t fileSize, const std::string &where)
{
    auto parsed = parseHeader(file, fileSize, where, true);
    if (!parsed)
        return parsed.error();
    return std::move(parsed.value().header);
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const fs::path &path)
{
    const std::string where = path.string();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return badInput(where + ": cannot open: " + errnoText());
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return badInput(where + ": is not a regular file");
    }
    std::unique_ptr<SafetensorsFile> file(new SafetensorsFile);
    file->m_path = path;
    file->m_size = size_t(st.st_size);
    if (file->m_size > 0) {
        // Read-only and private: the tensors are read in place. A file cut short by someone else while mapped
        // would fault on access; checkpoints are written by rename, so an open file keeps its size.
        void *map = ::mmap(nullptr, file->m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            const std::string why = errnoText();
            ::close(fd);
            file->m_size = 0;
            return Error{where + ": cannot map the file: " + why};
        }
        file->m_map = static_cast<const char *>(map);
    }
    ::close(fd);

    auto parsed = parseHeader(std::string_view(file->m_map, file->m_size), file->m_size, where, false);
    if (!parsed)
        return parsed.error();
    const uint64_t dataSize = file->m_size - parsed->header.dataOffset;
    if (parsed->dataEnd > dataSize)
        return badInput(where + ": file is truncated: header says " + std::to_string(parsed->dataEnd) +
                        " bytes of data, file has " + std::to_string(dataSize) +
                        " (a download that stopped early? fetch it again)");
    file->m_header = std::move(parsed->header);
    return file;
}

SafetensorsFile::~SafetensorsFile()
{
    if (m_map)
        ::munmap(const_cast<char *>(m_map), m_size);
}

std::string_view SafetensorsFile::bytes(const TensorInfo &t) const
{
    assert(t.begin <= t.end && m_header.dataOffset + t.end <= m_size);
    return std::string_view(m_map + m_header.dataOffset + t.begin, size_t(t.end - t.begin));
}

std::vector<float> SafetensorsFile::toFloat(const TensorInfo &t) const
{
    const std::string_view raw = bytes(t);
    const size_t n = raw.size() / dtypeSize(t.dtype);
    std::vector<float> out(n);
    if (n == 0)
        return out;
    const char *p = raw.data(); // not necessarily aligned in a file from another writer: copy element by element
    switch (t.dtype) {
    case DType::F32:
        std::memcpy(out.data(), p, n * 4);
        break;
    case DType::F16:
    case DType::BF16:
        for (size_t i = 0; i < n; ++i) {
            uint16_t v;
            std::memcpy(&v, p + 2 * i, 2);
            out[i] = t.dtype == DType::F16 ? f16ToFloat(v) : bf16ToFloat(v);
        }
        break;
    case DType::I64:
        for (size_t i = 0; i < n; ++i) {
            int64_t v;
            std::memcpy(&v, p + 8 * i, 8);
            out[i] = float(v);
        }
        break;
    }
    return out;
}

namespace {
// Each tensor's name unique and not reserved, its byte count what its shape and dtype hold, its data given.
Status checkTensors(const std::string &where, const std::vector<TensorView> &tensors)
{
    std::set<std::string_view> names;
    for (const TensorView &t : tensors) {
        const std::string label = where + ": tensor '" + t.name + "': ";
        if (t.name == "__metadata__")
            return Error{label + "the name is reserved for the header's metadata"};
        if (!names.insert(t.name).second)
            return Error{label + "given twice"};
        uint64_t elements = 1;
        for (int64_t d : t.shape)
            if (d < 0 || __builtin_mul_overflow(elements, uint64_t(d), &elements))
                return Error{label + "the shape has a negative or too large dimension"};
        uint64_t bytes = 0;
        if (__builtin_mul_overflow(elements, uint64_t(dtypeSize(t.dtype)), &bytes) || bytes != t.bytes)
            return Error{label + std::to_string(t.bytes) + " bytes given, but the shape holds " +
                         std::to_string(elements) + " elements of " + std::string(dtypeName(t.dtype))};
        if (t.bytes > 0 && !t.data)
            return Error{label + "no data given"};
    }
    return okStatus();
}

// The reference writer's data order (see the header): larger alignments first, then by name.
std::vector<size_t> dataOrderOf(const std::vector<TensorView> &tensors)
{
    std::vector<size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const int ra = alignmentRank(tensors[a].dtype), rb = alignmentRank(tensors[b].dtype);
        return ra != rb ? ra > rb : tensors[a].name < tensors[b].name;
    });
    return order;
}

// The JSON header, names sorted, padded with spaces so the data starts 8-aligned.
Result<std::string> headerText(const std::string &where, const std::vector<TensorView> &tensors,
                               const std::vector<size_t> &dataOrder, const std::map<std::string, std::string> &metadata)
{
    std::vector<uint64_t> begins(tensors.size());
    uint64_t offset = 0;
    for (size_t i : dataOrder) {
        begins[i] = offset;
        offset += tensors[i].bytes;
    }
    std::vector<size_t> nameOrder(tensors.size());
    std::iota(nameOrder.begin(), nameOrder.end(), size_t(0));
    std::sort(nameOrder.begin(), nameOrder.end(), [&](size_t a, size_t b) { return tensors[a].name < tensors[b].name; });
    std::string header = "{";
    if (!metadata.empty()) {
        header += "\"__metadata__\":{";
        bool first = true;
        for (const auto &[key, value] : metadata) {
            const auto k = jsonString(key), v = jsonString(value);
            if (!k || !v)
                return Error{where + ": __metadata__ '" + key + "': the text is not UTF-8"};
            header += (first ? "" : ",") + *k + ":" + *v;
            first = false;
        }
        header += "}";
    }
    for (size_t i : nameOrder) {
        const TensorView &t = tensors[i];
        const auto name = jsonString(t.name);
        if (!name)
            return Error{where + ": tensor '" + t.name + "': the name is not UTF-8"};
        if (header.size() > 1)
            header += ",";
        header += *name + ":{\"dtype\":\"" + std::string(dtypeName(t.dtype)) + "\",\"shape\":[";
        for (size_t d = 0; d < t.shape.size(); ++d)
            header += (d ? "," : "") + std::to_string(t.shape[d]);
        header += "],\"data_offsets\":[" + std::to_string(begins[i]) + "," + std::to_string(begins[i] + t.bytes) + "]}";
    }
    header += "}";
    header.append((8 - header.size() % 8) % 8, ' ');
    return header;
}
} // namespace

Status writeSafetensors(const fs::path &path, const std::vector<TensorView> &tensors,
                        const std::map<std::string, std::string> &metadata)
{
    const std::string where = path.string();
    if (Status checked = checkTensors(where, tensors); !checked)
        return checked;
    const std::vector<size_t> dataOrder = dataOrderOf(tensors);
    const auto header = headerText(where, tensors, dataOrder, metadata);
    if (!header)
        return header.error();
    const uint64_t headerSize = header->size();

    const fs::path temp = path.parent_path() / ("." + path.filename().string() + ".tmp" + std::to_string(::getpid()));
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return Error{where + ": cannot write: " + errnoText()};
    const auto whole = [fd](const void *data, size_t size) { return writeAll(fd, data, size) == size; };
    bool ok = whole(&headerSize, 8) && whole(header->data(), header->size());
    for (size_t k = 0; ok && k < dataOrder.size(); ++k)
        ok = whole(tensors[dataOrder[k]].data, tensors[dataOrder[k]].bytes);
    ok = ok && ::fsync(fd) == 0;
    const std::string why = ok ? std::string() : errnoText();
    ok = ::close(fd) == 0 && ok;
    if (ok && ::rename(temp.c_str(), path.c_str()) != 0) {
        const std::string renameWhy = errnoText();
        ::unlink(temp.c_str());
        return Error{where + ": cannot rename the written file into place: " + renameWhy};
    }
    if (!ok) {
        ::unlink(temp.c_str());
        return Error{where + ": cannot write: " + (why.empty() ? errnoText() : why)};
    }
    return okStatus();
}

float bf16ToFloat(uint16_t v)
{
    return std::bit_cast<float>(uint32_t(v) << 16);
}

float f16ToFloat(uint16_t v)
{
    const uint32_t sign = uint32_t(v & 0x8000) << 16;
    const uint32_t exponent = (v >> 10) & 0x1f;
    const uint32_t mantissa = v & 0x3ff;
    if (exponent == 0) { // zero or subnormal: mantissa * 2^-24, exact in float
        const float magnitude = std::ldexp(float(mantissa), -24);
        return sign ? -magnitude : magnitude;
    }
    if (exponent == 31) // infinity or NaN (payload kept)
        return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
    return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

uint16_t floatToBf16(float f)
{
    uint32_t x = std::bit_cast<uint32_t>(f);
    if (std::isnan(f))
        return uint16_t((x >> 16) | 0x40); // stays a (quiet) NaN
    x += 0x7fff + ((x >> 16) & 1);         // round to nearest, ties to even; may carry into infinity
    return uint16_t(x >> 16);
}

uint16_t floatToF16(float f)
{
    const uint32_t x = std::bit_cast<uint32_t>(f);
    const uint16_t sign = uint16_t((x >> 16) & 0x8000);
    const uint32_t a = x & 0x7fffffff;
    if (a > 0x7f800000) // NaN: quiet, top payload bits kept
        return uint16_t(sign | 0x7e00 | ((a >> 13) & 0x3ff));
    if (a >= 0x47800000) // 65536 and above (and infinity)
        return uint16_t(sign | 0x7c00);
    if (a < 0x38800000) { // below 2^-14: a half subnormal (or zero); scaling by 2^24 is exact
        const float scaled = std::bit_cast<float>(a) * 16777216.0f;
        return uint16_t(sign | uint16_t(std::nearbyint(scaled))); // 1024 is the smallest normal, as it should be
    }
    uint32_t h = ((((a >> 23) - 127 + 15)) << 10) | ((a >> 13) & 0x3ff);
    const uint32_t rest = a & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
        ++h; // a carry into the exponent is right, up to infinity
    return uint16_t(sign | h);
}

} // namespace lbk::hf
