#include "hf/wordpiece.h"

#include <algorithm>
#include <cassert>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "hf/hffiles.h"
#include "hf/utf8text.h"

namespace lbk::hf {

namespace {

// tokenization.py's character classes, on ICU's categories.
bool isControl(char32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return false;
    const auto t = u_charType(UChar32(c));
    return t == U_CONTROL_CHAR || t == U_FORMAT_CHAR;
}

bool isWhitespace(char32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || u_charType(UChar32(c)) == U_SPACE_SEPARATOR;
}

bool isPunctuation(char32_t c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return true;
    return (U_GET_GC_MASK(UChar32(c)) & U_GC_P_MASK) != 0;
}

bool isChineseChar(char32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Python's str.split() separators: after the clean-up only U+2028 and U+2029 are left besides the space, but the
// whole set costs nothing.
bool isPythonSpace(char32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool isAscii(const std::vector<char32_t> &s)
{
    return std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x80; });
}

std::u16string toUtf16(const std::vector<char32_t> &s)
{
    std::u16string out;
    out.reserve(s.size());
    for (char32_t c : s) {
        if (c < 0x10000) {
            out += char16_t(c);
        } else {
            out += char16_t(0xD7C0 + (c >> 10));
            out += char16_t(0xDC00 | (c & 0x3FF));
        }
    }
    return out;
}

void fromUtf16(const std::u16string &s, std::vector<char32_t> &out)
{
    out.clear();
    for (size_t i = 0; i < s.size();) {
        UChar32 c;
        U16_NEXT(s.data(), i, s.size(), c);
        out.push_back(char32_t(c));
    }
}

// Python's str.lower(): full case mapping with the final sigma rule; ICU's root locale does the same.
void lowerCase(std::vector<char32_t> &word)
{
    if (isAscii(word)) {
        for (auto &c : word)
            if (c >= 'A' && c <= 'Z')
                c += 'a' - 'A';
        return;
    }
    const std::u16string src = toUtf16(word);
    std::u16string dst(src.size() * 3 + 4, u'\0');
    UErrorCode err = U_ZERO_ERROR;
    const int32_t n = u_strToLower(reinterpret_cast<UChar *>(dst.data()), int32_t(dst.size()),
                                   reinterpret_cast<const UChar *>(src.data()), int32_t(src.size()), "", &err);
    if (U_FAILURE(err))
        return; // cannot happen with 3x room; leaving the word as it is beats failing the text
    dst.resize(size_t(n));
    fromUtf16(dst, word);
}

// NFD, then without the non-spacing marks (category Mn).
void stripAccents(std::vector<char32_t> &word)
{
    if (isAscii(word))
        return;
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2 *nfd = unorm2_getNFDInstance(&err);
    if (U_FAILURE(err))
        return;
    const std::u16string src = toUtf16(word);
    std::u16string dst(src.size() * 4 + 4, u'\0');
    const int32_t n = unorm2_normalize(nfd, reinterpret_cast<const UChar *>(src.data()), int32_t(src.size()),
                                       reinterpret_cast<UChar *>(dst.data()), int32_t(dst.size()), &err);
    if (U_FAILURE(err))
        return;
    dst.resize(size_t(n));
    fromUtf16(dst, word);
    std::erase_if(word, [](char32_t c) { return u_charType(UChar32(c)) == U_NON_SPACING_MARK; });
}

size_t utf8Chars(const std::string &s)
{
    return size_t(std::count_if(s.begin(), s.end(), [](char c) { return (uint8_t(c) & 0xC0) != 0x80; }));
}

} // namespace

Result<std::unique_ptr<HfTokenizer>> WordPiece::create(std::vector<std::string> tokens, WordPieceOptions options,
                                                       const std::string &source)
{
    std::unique_ptr<WordPiece> wp(new WordPiece);
    wp->m_tokens = std::move(tokens);
    wp->m_ids.reserve(wp->m_tokens.size());
    for (size_t i = 0; i < wp->m_tokens.size(); ++i) {
        wp->m_ids[wp->m_tokens[i]] = int(i); // a repeated line: the last one wins, as in tokenization.py
        wp->m_maxPieceChars = std::max(wp->m_maxPieceChars, utf8Chars(wp->m_tokens[i]));
    }
    if (options.maxInputCharsPerWord < 1)
        return badInput(source + ": max_input_chars_per_word must be at least 1");
    const auto id = [&](const std::string &token, int &out) -> Status {
        const auto it = wp->m_ids.find(token);
        if (it == wp->m_ids.end())
            return badInput(source + ": the vocabulary has no \"" + token +
                            "\" token (a BERT vocabulary has [PAD], [UNK], [CLS], [SEP] and [MASK])");
        out = it->second;
        return okStatus();
    };
    for (auto [token, out] : {std::pair{options.unkToken, &wp->m_special.unk},
                              {std::string("[PAD]"), &wp->m_special.pad},
                              {std::string("[CLS]"), &wp->m_special.cls},
                              {std::string("[SEP]"), &wp->m_special.sep},
                              {std::string("[MASK]"), &wp->m_special.mask}}) {
        if (auto s = id(token, *out); !s)
            return s.error();
    }
    wp->m_stripAccents = options.stripAccents.value_or(options.lowercase);
    wp->m_options = std::move(options);
    return std::unique_ptr<HfTokenizer>(std::move(wp));
}

// BasicTokenizer.tokenize: clean-up, CJK split, whitespace split, lower-case and accents, punctuation split.
void WordPiece::basicTokens(std::string_view text, std::vector<std::vector<char32_t>> &words) const
{
    std::vector<char32_t> cps;
    decodeUtf8(text, cps, nullptr, false);
    std::vector<char32_t> clean;
    clean.reserve(cps.size() + 8);
    for (char32_t c : cps) {
        if (c == 0 || c == 0xFFFD || isControl(c))
            continue;
        if (isWhitespace(c)) {
            clean.push_back(' ');
        } else if (m_options.chineseChars && isChineseChar(c)) {
            clean.push_back(' ');
            clean.push_back(c);
            clean.push_back(' ');
        } else {
            clean.push_back(c);
        }
    }
    std::vector<char32_t> token;
    const auto flushWord = [&](std::vector<char32_t> &word) {
        if (!word.empty())
            words.push_back(std::move(word));
        word.clear();
    };
    const auto finishToken = [&] {
        if (token.empty())
            return;
        if (m_options.lowercase)
            lowerCase(token);
        if (m_stripAccents)
            stripAccents(token);
        std::vector<char32_t> word;
        for (char32_t c : token) {
            if (isPunctuation(c)) {
                flushWord(word);
                words.push_back({c});
            } else if (isPythonSpace(c)) {
                flushWord(word);
            } else {
                word.push_back(c);
            }
        }
        flushWord(word);
        token.clear();
    };
    for (char32_t c : clean) {
        if (isPythonSpace(c))
            finishToken();
        else
            token.push_back(c);
    }
    finishToken();
}

// WordpieceTokenizer.tokenize for one word: greedy longest-match-first.
void WordPiece::wordPieces(const std::vector<char32_t> &word, std::vector<std::string> &out) const
{
    if (word.size() > size_t(m_options.maxInputCharsPerWord)) {
        out.push_back(m_tokens[size_t(m_special.unk)]);
        return;
    }
    std::vector<uint32_t> offsets;
    offsets.reserve(word.size() + 1);
    std::string utf8;
    for (char32_t c : word) {
        offsets.push_back(uint32_t(utf8.size()));
        appendUtf8(utf8, c);
    }
    offsets.push_back(uint32_t(utf8.size()));
    const size_t first = out.size();
    std::string key;
    size_t start = 0;
    while (start < word.size()) {
        size_t end = std::min(word.size(), start + m_maxPieceChars);
        bool found = false;
        for (; end > start; --end) {
            key.clear();
            if (start > 0)
                key += m_options.prefix;
            key.append(utf8, offsets[start], offsets[end] - offsets[start]);
            if (m_ids.count(key)) {
                found = true;
                break;
            }
        }
        if (!found) {
            out.resize(first);
            out.push_back(m_tokens[size_t(m_special.unk)]);
            return;
        }
        out.push_back(key);
        start = end;
    }
}

std::vector<std::string> WordPiece::tokenize(std::string_view text) const
{
    std::vector<std::vector<char32_t>> words;
    basicTokens(text, words);
    std::vector<std::string> pieces;
    pieces.reserve(words.size() * 2);
    for (const auto &w : words)
        wordPieces(w, pieces);
    return pieces;
}

std::vector<int> WordPiece::piecesToIds(const std::vector<std::string> &pieces) const
{
    return lookUp(m_ids, pieces, m_special.unk);
}

std::vector<int> WordPiece::encode(std::string_view text, int maxTokens) const
{
    assert(maxTokens >= 2);
    const size_t room = size_t(std::max(maxTokens, 2) - 2);
    auto pieces = tokenize(text);
    if (pieces.size() > room)
        pieces.resize(room);
    std::vector<int> ids;
    ids.reserve(pieces.size() + 2);
    ids.push_back(m_special.cls);
    for (int id : piecesToIds(pieces))
        ids.push_back(id);
    ids.push_back(m_special.sep);
    return ids;
}

std::vector<std::string> WordPiece::displayPieces() const
{
    std::vector<std::string> out;
    out.reserve(m_tokens.size());
    for (const auto &t : m_tokens) {
        const bool special = t.size() > 2 && t.front() == '[' && t.back() == ']';
        out.push_back(special ? t : t.rfind("##", 0) == 0 ? t.substr(2) : "\u2581" + t);
    }
    return out;
}

Status WordPiece::save(const std::filesystem::path &folder, int64_t maxTokens) const
{
    if (m_options.prefix != "##" || m_options.maxInputCharsPerWord != 100)
        return Error{"cannot save this WordPiece tokenizer as vocab.txt: BertTokenizer always uses \"##\" and 100 "
                     "characters a word, this one \"" +
                     m_options.prefix + "\" and " + std::to_string(m_options.maxInputCharsPerWord)};
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec)
        return Error{folder.string() + ": cannot create the folder: " + ec.message()};
    std::string vocab;
    for (const auto &t : m_tokens)
        vocab += t + "\n";
    if (auto s = writeTextFile(folder / "vocab.txt", vocab); !s)
        return s;
    const auto &tok = [&](int id) { return m_tokens[size_t(id)]; };
    nlohmann::ordered_json specials = {{"unk_token", tok(m_special.unk)},
                                       {"sep_token", tok(m_special.sep)},
                                       {"pad_token", tok(m_special.pad)},
                                       {"cls_token", tok(m_special.cls)},
                                       {"mask_token", tok(m_special.mask)}};
    nlohmann::ordered_json config = {{"do_lower_case", m_options.lowercase}};
    config["strip_accents"] = m_options.stripAccents ? nlohmann::ordered_json(*m_options.stripAccents) : nullptr;
    config["tokenize_chinese_chars"] = m_options.chineseChars;
    config["tokenizer_class"] = "BertTokenizer";
    config["model_max_length"] = std::min(m_options.modelMaxLength, maxTokens);
    for (const auto &[k, v] : specials.items())
        config[k] = v;
    if (auto s = writeJsonFile(folder / "tokenizer_config.json", config); !s)
        return s;
    return writeJsonFile(folder / "special_tokens_map.json", specials);
}

} // namespace lbk::hf
