#pragma once
// Sentencepiece tokenizers (unigram or BPE), trained on the training split only and cached by a hash of
// their inputs, so a second run with the same data and settings reuses the model. No LibTorch here.
#include <filesystem>
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

// Token ids per whitespace-separated word, memoised. Sentencepiece never builds a piece across a space (its
// default split_by_whitespace), so a text's ids are the concatenation of its words' ids: the cache gives the
// same ids as encoding the whole text, and real text repeats its words (Zipf), so most words are a lookup.
// Unigram words whose best segmentations tie (see Tokenizer::isNearTie) make their text bypass the cache.
// One cache per thread; not thread-safe. Bounded: cleared when it holds kMaxWords words.
class WordCache {
public:
    static constexpr size_t kMaxWords = 1u << 19;
    const std::vector<int> *find(std::string_view word) const;
    const std::vector<int> &insert(std::string_view word, std::vector<int> ids);
    size_t size() const { return m_map.size(); }

private:
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::vector<int>, Hash, std::equal_to<>> m_map;
};

class Tokenizer {
public:
    // Trains on trainTexts, or loads the cached model with the same inputs from cacheDir. Training reads
    // whitespace word counts (sentencepiece's TSV input) instead of raw text, which keeps it fast on large data.
    static Result<std::unique_ptr<Tokenizer>> trainOrLoad(const std::vector<std::string> &trainTexts,
                                                          const TokenizerSpec &spec,
                                                          const std::filesystem::path &cacheDir, int threads,
                                                          bool *fromCache = nullptr);
    static Result<std::unique_ptr<Tokenizer>> load(const std::filesystem::path &model, const TokenizerSpec &spec);
    ~Tokenizer();

    // Token ids (0 is padding, 1 unknown), cut to spec.maxTokens. With a cache, words seen before are looked
    // up instead of encoded (same ids).
    std::vector<int> encode(std::string_view text, WordCache *cache = nullptr) const;
    // Without the word cache: sentencepiece on the whole text (the reference the cache is tested against).
    std::vector<int> encodeUncached(std::string_view text) const;
    std::vector<std::vector<int>> encodeAll(const std::vector<std::string> &texts, int threads) const;
    std::vector<std::string> pieces(std::string_view text) const;
    int vocabSize() const;
    const std::filesystem::path &modelPath() const { return m_modelPath; }

    // The cache key: a hash of the settings and every training text.
    static std::string cacheKey(const std::vector<std::string> &trainTexts, const TokenizerSpec &spec);
    static std::filesystem::path defaultCacheDir(); // $XDG_CACHE_HOME/labbook/tokenizers

private:
    Tokenizer() = default;
    std::string normalise(std::string_view text) const;
    bool isNearTie(std::string_view word) const;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> m_sp; // neither copyable nor movable
    TokenizerSpec m_spec;
    std::filesystem::path m_modelPath;
};

} // namespace lbk
