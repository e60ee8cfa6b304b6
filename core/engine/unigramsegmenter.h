#pragma once
// Sentencepiece's unigram segmentation of one word, recomputed from the model's pieces and scores, with what the
// word cache needs and sentencepiece does not tell: how far the best segmentation is ahead of the second best,
// which bounds the contexts in which sentencepiece (adding float scores along the whole text) surely picks the
// same pieces. Built only for models whose encoding it reproduces (checked in fromModel). No sentencepiece calls,
// no LibTorch; const and thread-safe once built.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lbk {

class UnigramSegmenter {
public:
    // From a serialized sentencepiece ModelProto. Null, with the reason in *why, for a model this class does not
    // reproduce: not unigram, user-defined symbols, byte fallback, pieces across spaces, or a normaliser other
    // than sentencepiece's stock ones (nmt_nfkc, nfkc, identity) with their white space defaults.
    static std::unique_ptr<UnigramSegmenter> fromModel(std::string_view serialized, std::string *why = nullptr);

    struct Segmentation {
        double score = 0;  // sum of the best segmentation's piece scores (<= 0)
        double margin = 0; // its lead over the second best; infinity when there is no other
        int maxPieces = 0; // no segmentation has more pieces: the number of characters
    };
    // `normalized` is one word as sentencepiece's normaliser writes it: U+2581 then the word. Appends the best
    // segmentation's ids to `ids`, a run of unknown characters as one unknown id (as sentencepiece does).
    Segmentation segment(std::string_view normalized, std::vector<int> &ids) const;

    // The largest |running score| before this word for which sentencepiece's float Viterbi over a whole text
    // surely segments the word as `s` says; negative when not even at the start of a text.
    double contextLimit(const Segmentation &s) const;

    // Bytes every supported normaliser keeps as they are: printable ASCII except the space.
    static bool keepsByte(unsigned char c) { return c > 0x20 && c < 0x7f; }

    ~UnigramSegmenter();

private:
    UnigramSegmenter() = default;
    void build(const std::vector<std::pair<std::string_view, int>> &pieces, const std::vector<float> &scores);

    // A byte trie of the pieces, numbered breadth first so that a state's children are consecutive nodes,
    // sorted by byte and found by a short scan that also brings in what the next step reads; states with many
    // children (the root, U+2581 and its next letters) have a direct table instead.
    struct Node {                // 16 bytes: four to a cache line
        uint32_t first = 0;      // first child, or the direct table
        int32_t piece = -1;      // the piece ending here, or -1
        float score = 0;         // its score
        uint16_t count = 0;      // children (at most 256)
        unsigned char label = 0; // the byte leading here
        bool direct = false;
    };
    std::vector<Node> m_nodes;
    std::vector<int32_t> m_direct;
    int m_unkId = 0;
    float m_unkScore = 0;
    double m_maxAbs = 0; // largest |score| of any lattice node, the unknown one included
};

} // namespace lbk
