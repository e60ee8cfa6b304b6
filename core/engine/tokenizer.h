#pragma once
// Sentencepiece tokenizers (unigram or BPE), trained on the training split only and cached by a hash of
// their inputs, so a second run with the same data and settings reuses the model. No LibTorch here.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "experiment/experiment.h"
#include "util/result.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace lbk {

namespace hf {
class HfTokenizer;
}

class UnigramSegmenter;
class WordCache;

// What the engine asks of a tokenizer: a text's ids in the model's embedding rows. Labbook's own sentencepiece
// Tokenizer, or a Hugging Face checkpoint folder's (hfTextEncoder).
class TextEncoder {
public:
    virtual ~TextEncoder() = default;
    // Ids, cut to the experiment's tokenizer.max_tokens (a pretrained tokenizer's special tokens included).
    virtual std::vector<int> encode(std::string_view text, WordCache *cache = nullptr) const = 0;
    // Every text's ids, on `threads` threads, each with a word cache of its own.
    std::vector<std::vector<int>> encodeAll(const std::vector<std::string> &texts, int threads) const;
    virtual int vocabSize() const = 0;
    // Every id's piece as text, for the bag's character n-grams ("" where there is none).
    virtual std::vector<std::string> pieceTexts() const = 0;
};

// A Hugging Face tokenizer as the engine's: [CLS] ... [SEP] (or <s> ... </s>) cut to maxTokens ids.
std::unique_ptr<TextEncoder> hfTextEncoder(std::shared_ptr<const hf::HfTokenizer> tokenizer, int maxTokens);

// Token ids per space-separated word, memoised. Sentencepiece never builds a piece across a space (its default
// split_by_whitespace), so a text's ids are the concatenation of its words' ids, and real text repeats its
// words (Zipf), so most words are a lookup. For unigram models a word also carries how far its best
// segmentation is ahead of the second best, turned into the largest running score of a text before the word
// for which sentencepiece's float arithmetic surely picks the same pieces (UnigramSegmenter::contextLimit);
// a text with a word past that limit (under 0.1% of titles, 1-2% of 512-token abstracts) is encoded whole by
// sentencepiece.
// One cache per thread; not thread-safe. Bounded: cleared when it holds kMaxWords words.
class WordCache {
public:
    static constexpr size_t kMaxWords = 1u << 18;
    struct Stats {
        int64_t texts = 0;      // texts encoded with this cache
        int64_t wholeTexts = 0; // of which sentencepiece encoded whole (a word too near a tie, or too long)
        int64_t lookups = 0;    // words looked up
        int64_t misses = 0;     // of which segmented anew
    };
    size_t size() const { return m_count; }
    const Stats &stats() const { return m_stats; }

private:
    friend class Tokenizer;
    static constexpr size_t kInlineKey = 20, kInlineIds = 4, kMaxKey = 4096;
    // One cache line per word, its key and ids inline when short (most words): a lookup of a word that is
    // not in the CPU's caches costs one memory access, not one each for the table, the key and the ids.
    struct alignas(64) Slot {
        uint64_t hash = 0; // 0: free
        float score = 0;   // |sum of the piece scores| (0 for BPE)
        float limit = 0;   // safe while the text's running |score| before the word is below this
        uint16_t keyLength = 0, idCount = 0;
        uint32_t keySpill = 0, idSpill = 0; // offsets in m_spillKeys, m_spillIds when too long to inline
        char key[kInlineKey];
        int32_t ids[kInlineIds];
    };
    static_assert(sizeof(Slot) == 64);
    static uint64_t hashOf(std::string_view word); // never 0
    const Slot *find(std::string_view word, uint64_t hash) const;
    const Slot &insert(std::string_view word, uint64_t hash, const std::vector<int> &ids, double score, double limit);
    const char *keyOf(const Slot &s) const
    {
        return s.keyLength <= kInlineKey ? s.key : m_spillKeys.data() + s.keySpill;
    }
    const int *idsOf(const Slot &s) const { return s.idCount <= kInlineIds ? s.ids : m_spillIds.data() + s.idSpill; }

    std::vector<Slot> m_slots; // open addressing, linear probing, at most half full
    size_t m_count = 0;
    std::string m_spillKeys;
    std::vector<int> m_spillIds;
    Stats m_stats;
    std::string m_word;     // scratch: a lower-cased word
    std::vector<int> m_ids; // scratch: a new word's ids
};

// The cache folder a worker was given (tokenizers, papers read, token ids, packed corpora), else
// Tokenizer::defaultCacheDir().
std::filesystem::path cacheRoot(const std::filesystem::path &cacheDir);

// The training texts of a sentencepiece tokenizer, fed one at a time, so a corpus larger than memory can train
// one: their whitespace word counts (what training reads) and the cache key, a hash of the settings and of every
// text in order (Tokenizer::cacheKey). Memory grows with the distinct words, not with the texts.
class TokenizerCorpus {
public:
    explicit TokenizerCorpus(const TokenizerSpec &spec);
    void add(std::string_view text);
    std::string cacheKey() const;
    const TokenizerSpec &spec() const { return m_spec; }
    const std::unordered_map<std::string, int64_t> &wordCounts() const { return m_counts; }

private:
    TokenizerSpec m_spec;
    uint64_t m_hash;
    std::unordered_map<std::string, int64_t> m_counts;
};

class Tokenizer : public TextEncoder {
public:
    // Trains on trainTexts, or loads the cached model with the same inputs from cacheDir. Training reads
    // whitespace word counts (sentencepiece's TSV input) instead of raw text, which keeps it fast on large data.
    static Result<std::unique_ptr<Tokenizer>> trainOrLoad(const std::vector<std::string> &trainTexts,
                                                          const TokenizerSpec &spec,
                                                          const std::filesystem::path &cacheDir, int threads,
                                                          bool *fromCache = nullptr);
    static Result<std::unique_ptr<Tokenizer>> trainOrLoad(const TokenizerCorpus &corpus,
                                                          const std::filesystem::path &cacheDir, int threads,
                                                          bool *fromCache = nullptr);
    static Result<std::unique_ptr<Tokenizer>> load(const std::filesystem::path &model, const TokenizerSpec &spec);
    ~Tokenizer() override;

    // Token ids (0 is padding, 1 unknown), cut to spec.maxTokens. With a cache, words seen before are looked
    // up instead of encoded (same ids as without).
    std::vector<int> encode(std::string_view text, WordCache *cache = nullptr) const override;
    // Without the word cache: sentencepiece on the whole text (the reference the cache is tested against).
    std::vector<int> encodeUncached(std::string_view text) const;
    std::vector<std::string> pieces(std::string_view text) const;
    int vocabSize() const override;
    // Every id's piece as text ("▁" marks a word start); "" for control and unknown pieces.
    std::vector<std::string> pieceTexts() const override;
    const std::filesystem::path &modelPath() const { return m_modelPath; }

    // The cache key: a hash of the settings and every training text.
    static std::string cacheKey(const std::vector<std::string> &trainTexts, const TokenizerSpec &spec);
    static std::filesystem::path defaultCacheDir(); // $XDG_CACHE_HOME/labbook/tokenizers

    // The text as the model sees it: lower-cased when the spec says so, words joined by single spaces for the
    // word tokenizer.
    static std::string normalise(std::string_view text, const TokenizerSpec &spec);

private:
    Tokenizer() = default;
    std::string normalise(std::string_view text) const { return normalise(text, m_spec); }
    // The cached encoding of a text split at ASCII spaces (encode without its dispatch).
    std::vector<int> encodeWords(std::string_view text, WordCache *cache) const;
    // A word's ids, into `ids`, with the score and limit a WordCache keeps with them.
    void segmentWord(std::string_view word, std::vector<int> &ids, double &score, double &limit) const;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> m_sp; // neither copyable nor movable
    std::unique_ptr<UnigramSegmenter> m_segmenter;               // unigram models it reproduces; else no word cache
    TokenizerSpec m_spec;
    std::filesystem::path m_modelPath;
};

// A run's own sentencepiece tokenizer: resuming, or a further rank of a data-parallel run (the first has trained
// or loaded it already), loads runDir/tokenizer.model; otherwise it is trained on trainTexts (or found in the
// cache) and copied into runDir.
struct RunTokenizerRequest {
    std::filesystem::path runDir, cacheDir; // cacheDir empty: Tokenizer::defaultCacheDir()
    bool reuseRunCopy = false;              // resuming, or not the first rank
    int threads = 1;
};
Result<std::unique_ptr<Tokenizer>> prepareRunTokenizer(const RunTokenizerRequest &request,
                                                       const std::vector<std::string> &trainTexts,
                                                       const TokenizerSpec &spec, bool *fromCache);
// The same for a corpus read as a stream: feed adds every training text to the corpus it is given; it is called
// only when the run has no copy to reuse.
using TokenizerFeed = std::function<Status(TokenizerCorpus &)>;
Result<std::unique_ptr<Tokenizer>> prepareRunTokenizer(const RunTokenizerRequest &request, const TokenizerFeed &feed,
                                                       const TokenizerSpec &spec, bool *fromCache);

} // namespace lbk
