#pragma once
// The tensors of a `pytorch_model.bin`, as torch.save writes a state dict, read without Python and without
// LibTorch's unpickler (which turns the OrderedDict every state dict is into None). Two layouts:
// - since PyTorch 1.6, a zip archive: `data.pkl` (the pickle) and one record `data/<key>` per storage; the engine
//   opens the archive with minizip (hf/torchzip.h, hf/pytorchbin.h) and hands the pickle to readStateDictPickle;
// - before it (SciBERT's and SPECTER's files on the Hub), one stream: a magic-number pickle, a protocol pickle, a
//   system-info pickle, the state dict's pickle, a pickle of the storage keys, then each storage as an 8-byte
//   little-endian element count and its bytes (readLegacyCheckpoint).
// Only what a state dict holds is understood: dicts (OrderedDict), tuples, lists, numbers, strings and tensors
// (torch._utils._rebuild_tensor_v2 over a persistent storage); any other class or callable is refused by name,
// so a pickle can never run anything. Every read is bounds-checked: a damaged file gives an error, never a crash.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lbk::hf {

// A storage the pickle refers to: its type as torch names it ("FloatStorage") and its size.
struct PickledStorage {
    std::string type;
    size_t elementSize = 0;
    int64_t elements = 0;
};

// One named tensor: a strided view of a storage.
struct PickledTensor {
    std::string name;
    std::string storage; // its key: "0", "1", ...
    int64_t offset = 0;  // in elements
    std::vector<int64_t> shape, stride;
};

struct PickledStateDict {
    std::vector<PickledTensor> tensors; // in the file's order
    std::map<std::string, PickledStorage> storages;
};

// The pickle of a state dict (protocols 2 to 5). `consumed`, when given, gets the bytes up to and including its
// STOP (the legacy layout has more after it). Errors name `where`, what was found and its byte (base: where the
// pickle starts in the file). More than a million objects is refused: no state dict makes that many.
Result<PickledStateDict> readStateDictPickle(std::string_view pickle, const std::string &where,
                                             size_t *consumed = nullptr, size_t base = 0);

// Whether torch's storage type holds floating-point values ("FloatStorage", "HalfStorage", ...).
bool isFloatingStorage(const std::string &type);

// Whether a tensor's view lies inside its storage (offset and strides within the storage's elements).
bool viewFits(const PickledTensor &t, const PickledStorage &s);

// A legacy torch.save file: the state dict and where each storage's bytes lie in `file`.
struct LegacyCheckpoint {
    PickledStateDict dict;
    std::map<std::string, std::string_view> storageBytes; // views into the file
};
Result<LegacyCheckpoint> readLegacyCheckpoint(std::string_view file, const std::string &where);

} // namespace lbk::hf
