#include "data/packing.h"

#include <algorithm>
#include <cassert>

namespace lbk {

namespace {

// Appends sequences to out; the open sequence is the last one while it is shorter than the window.
class Packer {
public:
    Packer(PackedSequences &out, const PackingOptions &o) : m_out(out), m_o(o) {}

    void push(int id)
    {
        if (m_out.lengths.empty() || m_out.lengths.back() == m_o.window)
            open();
        m_out.ids[m_out.ids.size() - size_t(m_o.window) + size_t(m_out.lengths.back())] = id;
        ++m_out.lengths.back();
    }

    void open()
    {
        m_out.ids.resize(m_out.ids.size() + size_t(m_o.window), 0);
        m_out.lengths.push_back(0);
        push(m_o.cls);
    }

private:
    PackedSequences &m_out;
    const PackingOptions &m_o;
};

} // namespace

PackedSequences packSequences(const std::vector<std::vector<int>> &documents, const PackingOptions &o)
{
    assert(o.window >= 3);
    PackedSequences out;
    out.window = o.window;
    Packer packer(out, o);
    for (const auto &doc : documents) {
        if (doc.empty())
            continue;
        if (o.onePerDocument) {
            packer.open();
            const size_t n = std::min(doc.size(), size_t(o.window - 2));
            for (size_t i = 0; i < n; ++i)
                packer.push(doc[i]);
            packer.push(o.sep); // the next document opens a sequence of its own
            continue;
        }
        for (int id : doc)
            packer.push(id);
        packer.push(o.sep);
    }
    return out;
}

} // namespace lbk
