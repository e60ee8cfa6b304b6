#pragma once
// The safetensors format, read and written without LibTorch: an 8-byte little-endian header length, a JSON header
// mapping each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets into the buffer after the header),
// an optional "__metadata__" object of strings, then the raw little-endian buffer.
// https://github.com/huggingface/safetensors#format
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lbk::hf {

enum class DType { F32, F16, BF16, I64 };
std::string_view dtypeName(DType d);   // "F32", "F16", "BF16", "I64"
size_t dtypeSize(DType d);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0; // byte offsets into the data buffer
    int64_t elements() const;
};

// The parsed header. Checked: valid JSON object; every entry has a known dtype, a shape of non-negative ints and
// offsets with begin <= end, end - begin == elements * dtype size, end within dataSize; no two entries overlap.
// Errors name `where` (the file) and the tensor.
struct SafetensorsHeader {
    std::vector<TensorInfo> tensors; // sorted by name
    std::map<std::string, std::string> metadata;
    uint64_t dataOffset = 0;          // 8 + header length: where the buffer starts in the file
    const TensorInfo *find(std::string_view name) const;
};
// `file` is the whole file's bytes or at least its first 8 + header length bytes; fileSize its full size.
Result<SafetensorsHeader> parseSafetensorsHeader(std::string_view file, uint64_t fileSize, const std::string &where);

// A safetensors file opened for reading (memory-mapped; the mapping lives as long as the object).
class SafetensorsFile {
public:
    static Result<std::unique_ptr<SafetensorsFile>> open(const std::filesystem::path &path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile &) = delete;
    SafetensorsFile &operator=(const SafetensorsFile &) = delete;
    const SafetensorsHeader &header() const { return m_header; }
    const std::filesystem::path &path() const { return m_path; }
    // The tensor's raw bytes (little-endian, its dtype).
    std::string_view bytes(const TensorInfo &t) const;
    // The tensor converted to float32 (F16 and BF16 widened exactly; I64 converted).
    std::vector<float> toFloat(const TensorInfo &t) const;

private:
    SafetensorsFile() = default;
    std::filesystem::path m_path;
    SafetensorsHeader m_header;
    const char *m_map = nullptr;
    size_t m_size = 0;
};

// One tensor to write: its bytes must be shape's element count times the dtype's size.
struct TensorView {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const void *data = nullptr;
    size_t bytes = 0;
};
// Writes tensors and metadata as the reference writer lays them out: the data ordered by dtype size (largest first)
// then by name, so every tensor is aligned to its element size; the header lists "__metadata__" first, then the
// tensors sorted by name, padded with spaces to a multiple of 8 bytes. Written to a temporary file and renamed, so a
// failed write leaves no half file. Errors: a view whose bytes do not match its shape, a duplicate or reserved
// name, text that is not UTF-8, or the write itself.
Status writeSafetensors(const std::filesystem::path &path, const std::vector<TensorView> &tensors,
                        const std::map<std::string, std::string> &metadata = {});

// bf16/f16 <-> f32 helpers (round to nearest even when narrowing; NaN stays NaN, overflow becomes infinity).
float bf16ToFloat(uint16_t v);
float f16ToFloat(uint16_t v);
uint16_t floatToBf16(float f);
uint16_t floatToF16(float f);

} // namespace lbk::hf
