#pragma once
// Masked-language-model sequences from documents' token ids: packed across document boundaries into windows of
// one length (no padding but in the last), or one document per sequence. Torch-free; the MLM objective
// (engine/mlm.cpp) draws its batches from these.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lbk {

struct PackingOptions {
    int window = 128;            // ids per sequence, [CLS] and separators included (>= 3)
    int cls = 0, sep = 0;        // the tokenizer's [CLS] / <s> and [SEP] / </s>
    bool onePerDocument = false; // one document per sequence, cut to the window
};

// Sequences of ids, held flat: sequence i is ids[i * window, i * window + lengths[i]).
struct PackedSequences {
    int window = 0;
    std::vector<int32_t> ids;
    std::vector<int32_t> lengths;
    size_t size() const { return lengths.size(); }
    const int32_t *begin(size_t i) const { return ids.data() + i * size_t(window); }
};

// Packed: every sequence is [CLS] then the documents' ids in order, each document followed by [SEP]; a document
// that does not fit continues in the next sequence, which starts with [CLS] again. Every sequence is window ids
// long but the last. One per document: [CLS] document [SEP], the document cut to window - 2 ids. Documents
// without ids are skipped. Documents hold no special ids.
PackedSequences packSequences(const std::vector<std::vector<int>> &documents, const PackingOptions &options);

} // namespace lbk
