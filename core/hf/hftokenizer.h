#pragma once
// The tokenizers of Hugging Face encoder checkpoints, reproduced exactly, without LibTorch:
// WordPiece (vocab.txt: BERT, SciBERT, SPECTER) and GPT-2's byte-level BPE (vocab.json + merges.txt: RoBERTa),
// or either from a tokenizer.json when that is all the folder has.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/result.h"

namespace lbk::hf {

struct SpecialTokens {
    int pad = 0, unk = 100, cls = 101, sep = 102, mask = 103; // BERT's; RoBERTa: <pad> 1, <unk> 3, <s> 0, </s> 2, <mask>
};

class HfTokenizer {
public:
    virtual ~HfTokenizer() = default;
    // The pieces of a text as the reference tokenizer gives them, without special tokens.
    virtual std::vector<std::string> tokenize(std::string_view text) const = 0;
    // Ids of a text with the special tokens ([CLS] ... [SEP] or <s> ... </s>), its pieces cut so the whole is at
    // most maxTokens ids (maxTokens >= 2).
    virtual std::vector<int> encode(std::string_view text, int maxTokens) const = 0;
    // Ids of pieces without special tokens (unknown pieces -> unk).
    virtual std::vector<int> piecesToIds(const std::vector<std::string> &pieces) const = 0;
    virtual int vocabSize() const = 0;
    virtual const SpecialTokens &special() const = 0;
    virtual std::string kind() const = 0; // "WordPiece" or "byte-level BPE"
    // Every id's piece as text to show (masked-language-model fills), vocabSize() of them, in sentencepiece's
    // convention: a piece that starts a word begins with U+2581, a continuation does not (WordPiece's "##" and
    // byte-level BPE's byte symbols are translated).
    virtual std::vector<std::string> displayPieces() const = 0;
    // Writes the tokenizer's files (vocab.txt, or vocab.json + merges.txt; tokenizer_config.json and
    // special_tokens_map.json) into folder, so transformers' AutoTokenizer loads the same tokenizer.
    // tokenizer_config.json's model_max_length is the source's, at most maxTokens: the ids the model's position
    // table holds (EncoderConfig::maxTokens), so a text transformers cuts to that length fits the model.
    virtual Status save(const std::filesystem::path &folder, int64_t maxTokens) const = 0;

protected:
    // piecesToIds for a vocabulary held as a map from piece to id.
    static std::vector<int> lookUp(const std::unordered_map<std::string, int> &ids,
                                   const std::vector<std::string> &pieces, int unk);
};

// WordPiece as BERT's tokenization.py: basic tokenizer (clean-up, CJK split, lower-case + accent strip when
// lowercase, punctuation split), then greedy longest-match-first with "##", a word over 100 chars -> [UNK].
Result<std::unique_ptr<HfTokenizer>> loadWordPiece(const std::filesystem::path &vocabTxt, bool lowercase);
// GPT-2's byte-level BPE (encoder.py), RoBERTa's special tokens.
Result<std::unique_ptr<HfTokenizer>> loadByteBpe(const std::filesystem::path &vocabJson,
                                                 const std::filesystem::path &mergesTxt);
// The folder's tokenizer: vocab.txt (lowercase from tokenizer_config.json's do_lower_case, default true),
// vocab.json + merges.txt, or tokenizer.json (a WordPiece or BPE model). Errors name the file and the key.
Result<std::unique_ptr<HfTokenizer>> loadHfTokenizer(const std::filesystem::path &folder);

} // namespace lbk::hf
