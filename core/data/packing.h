#pragma once
// Masked-language-model sequences from documents' token ids: packed across document boundaries into windows of
// one length (no padding but in the last), or one document per sequence. Documents are added one at a time, so a
// corpus of any size packs in constant memory into a sink: memory (packSequences) or a file (data/packedfile.h).
// Torch-free; the MLM objective (engine/mlm.cpp) draws its batches from these.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace lbk {

struct PackingOptions {
    int window = 128;            // ids per sequence, [CLS] and separators included (>= 3)
    int cls = 0, sep = 0;        // the tokenizer's [CLS] / <s> and [SEP] / </s>
    bool onePerDocument = false; // one document per sequence, cut to the window
};

// Where packed sequences go, one at a time, in order.
class SequenceSink {
public:
    virtual ~SequenceSink() = default;
    virtual void add(const int32_t *ids, int length) = 0;
};

// The packing rule. Packed: every sequence is [CLS] then the documents' ids in order, each document followed by
// [SEP]; a document that does not fit continues in the next sequence, which starts with [CLS] again. Every
// sequence is window ids long but the last. One per document: [CLS] document [SEP], the document cut to
// window - 2 ids. Documents without ids are skipped. Documents hold no special ids.
class SequencePacker {
public:
    SequencePacker(const PackingOptions &options, SequenceSink &sink);
    void add(const std::vector<int> &document);
    // Hands on the last, open sequence; call once, after the last document.
    void finish();

private:
    void push(int id);
    void flush();

    PackingOptions m_o;
    SequenceSink &m_sink;
    std::vector<int32_t> m_open;
};

// Sequences held flat and without padding: sequence i is ids[offsets[i], offsets[i + 1]). A view that keeps its
// storage alive (vectors in memory, or a mapped file); copies share it.
class PackedSequences {
public:
    PackedSequences() = default;
    PackedSequences(int window, std::vector<int32_t> ids, std::vector<int64_t> offsets);
    // Over storage `keep` holds (offsets has count + 1 entries).
    PackedSequences(int window, const int32_t *ids, const int64_t *offsets, size_t count,
                    std::shared_ptr<const void> keep);

    int window() const { return m_window; }
    size_t size() const { return m_count; }
    const int32_t *begin(size_t i) const { return m_ids + m_offsets[i]; }
    int length(size_t i) const { return int(m_offsets[i + 1] - m_offsets[i]); }
    int64_t tokens() const { return m_count > 0 ? m_offsets[m_count] : 0; }

private:
    int m_window = 0;
    const int32_t *m_ids = nullptr;
    const int64_t *m_offsets = nullptr;
    size_t m_count = 0;
    std::shared_ptr<const void> m_keep;
};

// A sink that keeps the sequences in memory.
class PackedSequencesBuilder : public SequenceSink {
public:
    explicit PackedSequencesBuilder(int window) : m_window(window) {}
    void add(const int32_t *ids, int length) override;
    PackedSequences take();

private:
    int m_window;
    std::vector<int32_t> m_ids;
    std::vector<int64_t> m_offsets{0};
};

// Every document packed in memory.
PackedSequences packSequences(const std::vector<std::vector<int>> &documents, const PackingOptions &options);

} // namespace lbk
