#pragma once
// WordPiece (BERT's tokenization.py) behind HfTokenizer; hftokenizer.cpp builds it from vocab.txt or tokenizer.json.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "hf/hftokenizer.h"

namespace lbk::hf {

struct WordPieceOptions {
    bool lowercase = true;
    std::optional<bool> stripAccents; // unset: strip when lowercase (BERT's rule)
    bool chineseChars = true;         // spaces around CJK ideographs
    int maxInputCharsPerWord = 100;   // transformers' value; Google's tokenization.py has 200
    std::string prefix = "##";
    std::string unkToken = "[UNK]";
    int64_t modelMaxLength = 512; // tokenizer_config.json's, written back by save()
};

class WordPiece final : public HfTokenizer {
public:
    // tokens[id]; source names the file for messages. Fails when a special token is missing.
    static Result<std::unique_ptr<HfTokenizer>> create(std::vector<std::string> tokens, WordPieceOptions options,
                                                       const std::string &source);

    std::vector<std::string> tokenize(std::string_view text) const override;
    std::vector<int> encode(std::string_view text, int maxTokens) const override;
    std::vector<int> piecesToIds(const std::vector<std::string> &pieces) const override;
    int vocabSize() const override { return int(m_tokens.size()); }
    const SpecialTokens &special() const override { return m_special; }
    std::string kind() const override { return "WordPiece"; }
    std::vector<std::string> displayPieces() const override;
    Status save(const std::filesystem::path &folder, int64_t maxTokens) const override;

private:
    WordPiece() = default;
    // Appends the pieces of one word of the basic tokenizer (code points) to out.
    void wordPieces(const std::vector<char32_t> &word, std::vector<std::string> &out) const;
    void basicTokens(std::string_view text, std::vector<std::vector<char32_t>> &words) const;

    std::vector<std::string> m_tokens;
    std::unordered_map<std::string, int> m_ids;
    WordPieceOptions m_options;
    bool m_stripAccents = true;
    size_t m_maxPieceChars = 0;
    SpecialTokens m_special;
};

} // namespace lbk::hf
