#pragma once
// GPT-2's byte-level BPE (encoder.py) with RoBERTa's special tokens behind HfTokenizer; hftokenizer.cpp builds it
// from vocab.json + merges.txt or tokenizer.json.
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hf/hftokenizer.h"

namespace lbk::hf {

class ByteBpe final : public HfTokenizer {
public:
    // vocab: token -> id; merges in rank order; source names the file for messages. Fails when a special token
    // is missing.
    static Result<std::unique_ptr<HfTokenizer>> create(const std::vector<std::pair<std::string, int>> &vocab,
                                                       std::vector<std::pair<std::string, std::string>> merges,
                                                       const std::string &source, int64_t modelMaxLength = 512);

    std::vector<std::string> tokenize(std::string_view text) const override;
    std::vector<int> encode(std::string_view text, int maxTokens) const override;
    std::vector<int> piecesToIds(const std::vector<std::string> &pieces) const override;
    int vocabSize() const override { return m_vocabSize; }
    const SpecialTokens &special() const override { return m_special; }
    std::string kind() const override { return "byte-level BPE"; }
    std::vector<std::string> displayPieces() const override;
    Status save(const std::filesystem::path &folder, int64_t maxTokens) const override;

private:
    ByteBpe() = default;
    int intern(const std::string &symbol);
    // The symbols of one pre-tokenizer word (its UTF-8 bytes), merged; from the cache when seen before.
    std::vector<int> word(std::string_view bytes) const;
    std::vector<int> merge(std::string_view bytes) const;
    // Calls fn(bytes) for each word of GPT-2's pre-tokenizer pattern.
    template <typename Fn> void forEachWord(std::string_view text, Fn &&fn) const;

    std::vector<std::pair<std::string, int>> m_vocab; // in id order, for save()
    std::unordered_map<std::string, int> m_ids;
    std::vector<std::pair<std::string, std::string>> m_merges;
    int m_vocabSize = 0;
    int64_t m_modelMaxLength = 512;
    SpecialTokens m_special;

    // Symbols: the 256 byte characters first (symbol b is byte b), then every merge's parts and result.
    std::vector<std::string> m_symbols;
    std::vector<int> m_symbolIds; // symbol -> vocabulary id (unk when absent)
    std::unordered_map<std::string, int> m_symbolIndex;
    std::unordered_map<uint64_t, std::pair<int, int>> m_ranks; // (left << 32 | right) -> (rank, merged symbol)

    static constexpr size_t kCacheLimit = size_t(1) << 18;
    mutable std::shared_mutex m_cacheMutex;
    mutable std::unordered_map<std::string, std::vector<int>> m_cache;
};

} // namespace lbk::hf
