#include "data/packing.h"

#include <algorithm>
#include <cassert>

namespace lbk {

SequencePacker::SequencePacker(const PackingOptions &options, SequenceSink &sink) : m_o(options), m_sink(sink)
{
    assert(m_o.window >= 3);
    m_open.reserve(size_t(m_o.window));
}

void SequencePacker::push(int id)
{
    if (m_open.empty())
        m_open.push_back(m_o.cls);
    m_open.push_back(id);
    if (int(m_open.size()) == m_o.window)
        flush();
}

void SequencePacker::flush()
{
    if (m_open.empty())
        return;
    m_sink.add(m_open.data(), int(m_open.size()));
    m_open.clear();
}

void SequencePacker::add(const std::vector<int> &doc)
{
    if (doc.empty())
        return;
    if (m_o.onePerDocument) {
        flush();
        const size_t n = std::min(doc.size(), size_t(m_o.window - 2));
        for (size_t i = 0; i < n; ++i)
            push(doc[i]);
        push(m_o.sep);
        flush(); // the next document opens a sequence of its own
        return;
    }
    for (int id : doc)
        push(id);
    push(m_o.sep);
}

void SequencePacker::finish() { flush(); }

namespace {
struct PackedVectors {
    std::vector<int32_t> ids;
    std::vector<int64_t> offsets;
};
} // namespace

PackedSequences::PackedSequences(int window, std::vector<int32_t> ids, std::vector<int64_t> offsets)
{
    assert(!offsets.empty() && offsets.front() == 0 && offsets.back() == int64_t(ids.size()));
    auto v = std::make_shared<PackedVectors>(PackedVectors{std::move(ids), std::move(offsets)});
    *this = PackedSequences(window, v->ids.data(), v->offsets.data(), v->offsets.size() - 1, v);
}

PackedSequences::PackedSequences(int window, const int32_t *ids, const int64_t *offsets, size_t count,
                                 std::shared_ptr<const void> keep)
    : m_window(window), m_ids(ids), m_offsets(offsets), m_count(count), m_keep(std::move(keep))
{
}

void PackedSequencesBuilder::add(const int32_t *ids, int length)
{
    m_ids.insert(m_ids.end(), ids, ids + length);
    m_offsets.push_back(int64_t(m_ids.size()));
}

PackedSequences PackedSequencesBuilder::take()
{
    PackedSequences out(m_window, std::move(m_ids), std::move(m_offsets));
    m_ids.clear();
    m_offsets.assign(1, 0);
    return out;
}

PackedSequences packSequences(const std::vector<std::vector<int>> &documents, const PackingOptions &o)
{
    PackedSequencesBuilder builder(o.window);
    SequencePacker packer(o, builder);
    for (const auto &doc : documents)
        packer.add(doc);
    packer.finish();
    return builder.take();
}

} // namespace lbk
