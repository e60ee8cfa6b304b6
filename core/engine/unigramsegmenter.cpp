#include "engine/unigramsegmenter.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace lbk {

namespace {

// Just enough of the protobuf wire format to read a ModelProto (sentencepiece_model.proto): the public
// sentencepiece headers do not declare ModelProto, and the fields needed here are few and stable.
struct WireReader {
    const unsigned char *p, *end;
    bool ok = true;

    explicit WireReader(std::string_view s) : p(reinterpret_cast<const unsigned char *>(s.data())), end(p + s.size()) {}
    bool more() const { return ok && p < end; }
    uint64_t varint()
    {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p >= end)
                break;
            const unsigned char b = *p++;
            v |= uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80))
                return v;
        }
        ok = false;
        return 0;
    }
    std::string_view bytes()
    {
        const uint64_t n = varint();
        if (!ok || n > uint64_t(end - p)) {
            ok = false;
            return {};
        }
        std::string_view s(reinterpret_cast<const char *>(p), size_t(n));
        p += n;
        return s;
    }
    float fixed32()
    {
        if (end - p < 4) {
            ok = false;
            return 0;
        }
        float f;
        std::memcpy(&f, p, 4);
        p += 4;
        return f;
    }
    void skip(int wire)
    {
        switch (wire) {
        case 0:
            varint();
            break;
        case 1:
            p = end - p < 8 ? (ok = false, end) : p + 8;
            break;
        case 2:
            bytes();
            break;
        case 5:
            p = end - p < 4 ? (ok = false, end) : p + 4;
            break;
        default:
            ok = false;
        }
    }
};

// sentencepiece's OneCharLen: the UTF-8 length from the lead byte (a stray continuation byte counts as one).
int charLen(unsigned char c)
{
    static constexpr int kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return kLen[c >> 4];
}

// The fields of sentencepiece's ModelProto this segmenter needs, with the proto's defaults.
enum PieceType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };
struct Piece {
    std::string_view text;
    float score = 0;
    int type = kNormal;
};
struct ModelProto {
    std::vector<Piece> pieces;
    int modelType = 1;
    bool splitByWhitespace = true, suffix = false, byteFallback = false;
    std::string_view normaliser;
    bool dummyPrefix = true, removeExtraSpace = true, escapeSpace = true, customRules = false;
};

Piece readPiece(WireReader &m)
{
    Piece p;
    while (m.more()) {
        const uint64_t t = m.varint();
        if (t == (1 << 3 | 2))
            p.text = m.bytes();
        else if (t == (2 << 3 | 5))
            p.score = m.fixed32();
        else if (t == (3 << 3 | 0))
            p.type = int(m.varint());
        else
            m.skip(int(t & 7));
    }
    return p;
}

void readTrainerSpec(WireReader &m, ModelProto &proto)
{
    while (m.more()) {
        const uint64_t t = m.varint();
        const int f = int(t >> 3);
        if ((t & 7) != 0) {
            m.skip(int(t & 7));
            continue;
        }
        const uint64_t v = m.varint();
        if (f == 3)
            proto.modelType = int(v);
        else if (f == 22)
            proto.splitByWhitespace = v != 0;
        else if (f == 24)
            proto.suffix = v != 0;
        else if (f == 35)
            proto.byteFallback = v != 0;
    }
}

void readNormalizerSpec(WireReader &m, ModelProto &proto)
{
    while (m.more()) {
        const uint64_t t = m.varint();
        const int f = int(t >> 3);
        if (t == (1 << 3 | 2)) {
            proto.normaliser = m.bytes();
        } else if (t == (6 << 3 | 2)) {
            proto.customRules = !m.bytes().empty();
        } else if ((t & 7) == 0 && f >= 3 && f <= 5) {
            const bool v = m.varint() != 0;
            (f == 3 ? proto.dummyPrefix : f == 4 ? proto.removeExtraSpace : proto.escapeSpace) = v;
        } else {
            m.skip(int(t & 7));
        }
    }
}

// False when the bytes are not a readable ModelProto.
bool readModelProto(std::string_view serialized, ModelProto &proto)
{
    WireReader r(serialized);
    while (r.more()) {
        const uint64_t tag = r.varint();
        const int field = int(tag >> 3), wire = int(tag & 7);
        if (wire != 2) {
            r.skip(wire);
            continue;
        }
        WireReader m(r.bytes());
        if (field == 1) // ModelProto.pieces
            proto.pieces.push_back(readPiece(m));
        else if (field == 2)
            readTrainerSpec(m, proto);
        else if (field == 3)
            readNormalizerSpec(m, proto);
        if (!m.ok)
            r.ok = false;
    }
    return r.ok && !proto.pieces.empty();
}

// Why this segmenter cannot reproduce the model's segmentation exactly, or empty when it can.
std::string unsupported(const ModelProto &p)
{
    if (p.modelType != 1)
        return "not a unigram model";
    if (!p.splitByWhitespace || p.suffix || p.byteFallback)
        return "pieces may cross white space, or byte fallback";
    if (!(p.normaliser == "nmt_nfkc" || p.normaliser == "nfkc" || p.normaliser == "identity") || p.customRules ||
        !p.dummyPrefix || !p.removeExtraSpace || !p.escapeSpace)
        return "a normaliser other than sentencepiece's stock ones";
    for (const Piece &piece : p.pieces) {
        if (piece.type == kUserDefined)
            return "user-defined symbols";
        if (piece.type == kNormal && piece.text.empty())
            return "an empty piece";
    }
    return {};
}

} // namespace

UnigramSegmenter::~UnigramSegmenter() = default;

std::unique_ptr<UnigramSegmenter> UnigramSegmenter::fromModel(std::string_view serialized, std::string *why)
{
    auto fail = [&](const std::string &reason) {
        if (why)
            *why = reason;
        return std::unique_ptr<UnigramSegmenter>();
    };
    ModelProto proto;
    if (!readModelProto(serialized, proto))
        return fail("cannot read the model");
    if (const std::string reason = unsupported(proto); !reason.empty())
        return fail(reason);
    const auto &pieces = proto.pieces;
    int unkId = -1;
    float minScore = std::numeric_limits<float>::max();
    for (size_t i = 0; i < pieces.size(); ++i) {
        if (pieces[i].type == kUnknown)
            unkId = int(i);
        if (pieces[i].type == kNormal)
            minScore = std::min(minScore, pieces[i].score);
    }
    if (unkId < 0 || minScore == std::numeric_limits<float>::max())
        return fail("no unknown piece or no pieces");
    std::unique_ptr<UnigramSegmenter> s(new UnigramSegmenter);
    // As sentencepiece's unigram model: an unknown character scores the lowest piece score minus 10.
    s->m_unkId = unkId;
    s->m_unkScore = minScore - 10.0f;
    s->m_maxAbs = std::abs(double(s->m_unkScore));

    // Only normal pieces match text: control and unknown pieces are reserved, unused ones skipped, exactly as
    // sentencepiece's trie lookups do.
    std::vector<std::pair<std::string_view, int>> normal;
    std::vector<float> scores(pieces.size(), 0.0f);
    for (size_t i = 0; i < pieces.size(); ++i)
        if (pieces[i].type == kNormal) {
            normal.emplace_back(pieces[i].text, int(i));
            scores[i] = pieces[i].score;
            s->m_maxAbs = std::max(s->m_maxAbs, std::abs(double(pieces[i].score)));
        }
    s->build(normal, scores);
    return s;
}

void UnigramSegmenter::build(const std::vector<std::pair<std::string_view, int>> &pieces,
                             const std::vector<float> &scores)
{
    // Sorted pieces: a state's pieces are a range, and its children are the distinct next bytes in that range,
    // in byte order. Breadth first, each state's children get consecutive numbers.
    std::vector<std::pair<std::string_view, int>> sorted = pieces;
    std::sort(sorted.begin(), sorted.end());
    struct Pending {
        size_t begin, end, depth; // the pieces with this state's prefix, and its length
    };
    std::vector<Pending> queue = {{0, sorted.size(), 0}};
    m_nodes.assign(1, Node{});
    constexpr uint16_t kDirectFrom = 12;
    for (size_t q = 0; q < queue.size(); ++q) {
        const Pending cur = queue[q];
        size_t i = cur.begin;
        if (i < cur.end && sorted[i].first.size() == cur.depth) { // the piece ending here sorts first
            m_nodes[q].piece = sorted[i].second;
            m_nodes[q].score = scores[size_t(sorted[i].second)];
            ++i;
        }
        const auto first = uint32_t(m_nodes.size());
        while (i < cur.end) {
            const auto byte = static_cast<unsigned char>(sorted[i].first[cur.depth]);
            size_t j = i;
            while (j < cur.end && static_cast<unsigned char>(sorted[j].first[cur.depth]) == byte)
                ++j;
            queue.push_back({i, j, cur.depth + 1});
            m_nodes.emplace_back().label = byte;
            i = j;
        }
        Node &n = m_nodes[q];
        n.first = first;
        n.count = uint16_t(m_nodes.size() - first);
        if (n.count >= kDirectFrom) {
            n.direct = true;
            n.first = uint32_t(m_direct.size() / 256);
            m_direct.resize(m_direct.size() + 256, -1);
            for (uint32_t c = first; c < first + n.count; ++c)
                m_direct[size_t(n.first) * 256 + m_nodes[c].label] = int32_t(c);
        }
    }
}

UnigramSegmenter::Segmentation UnigramSegmenter::segment(std::string_view normalized, std::vector<int> &ids) const
{
    // Viterbi keeping the two best scores at each byte position (the second only for the margin), in double:
    // the exact sums of the model's float scores, where sentencepiece rounds to float after every piece.
    struct Cell {
        double best, second;
        int from, id;
    };
    constexpr double kNone = -std::numeric_limits<double>::infinity();
    const size_t n = normalized.size();
    Segmentation out;
    if (n == 0) {
        out.margin = std::numeric_limits<double>::infinity();
        return out;
    }
    Cell local[96];
    std::vector<Cell> heap;
    Cell *cell = local;
    if (n + 1 > std::size(local)) {
        heap.resize(n + 1);
        cell = heap.data();
    }
    for (size_t k = 0; k <= n; ++k)
        cell[k] = {kNone, kNone, -1, -1};
    cell[0].best = 0;
    auto relax = [&](size_t to, size_t from, int id, double score) {
        Cell &c = cell[to];
        const double a = cell[from].best + score, b = cell[from].second + score;
        if (a > c.best) {
            c.second = std::max(c.best, b);
            c.best = a;
            c.from = int(from);
            c.id = id;
        } else {
            c.second = std::max(c.second, a);
        }
    };
    const auto *text = reinterpret_cast<const unsigned char *>(normalized.data());
    const Node *nodes = m_nodes.data();
    const int32_t *direct = m_direct.data();
    auto step = [&](int state, unsigned char byte) {
        const Node &at = nodes[state];
        if (at.direct)
            return direct[size_t(at.first) * 256 + byte];
        for (uint32_t c = at.first, e = at.first + at.count; c < e; ++c)
            if (nodes[c].label >= byte)
                return nodes[c].label == byte ? int(c) : -1;
        return -1;
    };
    int chars = 0;
    for (size_t start = 0; start < n;) {
        const size_t len = std::min<size_t>(size_t(charLen(text[start])), n - start);
        ++chars;
        bool single = false;
        int state = 0;
        for (size_t k = start; k < n; ++k) {
            state = step(state, text[k]);
            if (state < 0)
                break;
            if (const Node &node = nodes[state]; node.piece >= 0) {
                const int id = node.piece;
                relax(k + 1, start, id, double(node.score));
                single = single || k + 1 - start == len;
            }
        }
        if (!single) // as sentencepiece: an unknown node where no piece covers exactly this character
            relax(start + len, start, m_unkId, double(m_unkScore));
        start += len;
    }
    out.score = cell[n].best;
    out.margin = cell[n].second == kNone ? std::numeric_limits<double>::infinity() : cell[n].best - cell[n].second;
    out.maxPieces = chars;
    const size_t first = ids.size();
    for (size_t k = n; k > 0; k = size_t(cell[k].from)) {
        const int id = cell[k].id;
        // Sentencepiece merges a run of unknown characters into one unknown piece. (A run never crosses a
        // word: every word starts with U+2581, which is always a piece.)
        if (id == m_unkId && ids.size() > first && ids.back() == m_unkId)
            continue;
        ids.push_back(id);
    }
    std::reverse(ids.begin() + long(first), ids.end());
    return out;
}

// Sentencepiece runs Viterbi over the whole text in float. No piece crosses a space, so every segmentation of
// a text passes through the start of each word with the same running score S (the best one up to there), and
// inside the word two partial segmentations A and B are compared as float sums S + a1 + a2 ... and
// S + b1 + ...: each addition rounds by at most half an ulp of the sum's magnitude M <= |S| + maxPieces * maxAbs,
// so the compared values are off by at most (|A| + |B|) / 2 ulps <= maxPieces ulps. Every comparison that
// decides the best segmentation is between alternatives whose exact scores differ by at least the margin (an
// alternative prefix completed with the best suffix is itself a segmentation), so the pieces are the exact
// best whenever margin > maxPieces * ulp(M). We ask twice that, which also covers the difference between S
// and the exact sum the caller tracks. A float's ulp below 2^e is at most 2^(e-24): find the largest such
// power P with 2 * maxPieces * P * 2^-24 < margin; then the word is safe while |S| + maxPieces * maxAbs < P.
double UnigramSegmenter::contextLimit(const Segmentation &s) const
{
    if (s.maxPieces == 0 || std::isinf(s.margin))
        return std::numeric_limits<double>::infinity();
    if (!(s.margin > 0))
        return -1;
    const double x = s.margin * 0x1p24 / (2.0 * s.maxPieces);
    int k = 0;
    const double f = std::frexp(x, &k);                         // x = f * 2^k, f in [0.5, 1)
    const double p = std::ldexp(1.0, f == 0.5 ? k - 2 : k - 1); // the largest power of two below x
    return p - s.maxPieces * m_maxAbs;
}

} // namespace lbk
