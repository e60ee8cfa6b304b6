#include "hf/bytebpe.h"

#include <algorithm>
#include <cassert>
#include <limits>

#include <unicode/uchar.h>

#include "hf/hffiles.h"
#include "hf/utf8text.h"

namespace lbk::hf {

namespace {

// encoder.py's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the others for 256 + n.
std::vector<std::string> byteSymbols()
{
    std::vector<std::string> out(256);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        std::string s;
        appendUtf8(s, printable ? char32_t(b) : char32_t(256 + n++));
        out[size_t(b)] = s;
    }
    return out;
}

// The classes of GPT-2's pattern as the Python `regex` module has them: \p{L} and \p{N} are the general
// categories, \s is the White_Space property. Bytes that are not UTF-8 are none of them.
enum class Cls { Letter, Number, Space, Other };

Cls classify(char32_t c)
{
    if (c < 0x80) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            return Cls::Letter;
        if (c >= '0' && c <= '9')
            return Cls::Number;
        if (c == ' ' || (c >= 0x09 && c <= 0x0D))
            return Cls::Space;
        return Cls::Other;
    }
    if (c == kNotUtf8)
        return Cls::Other;
    const auto mask = U_GET_GC_MASK(UChar32(c));
    if (mask & U_GC_L_MASK)
        return Cls::Letter;
    if (mask & U_GC_N_MASK)
        return Cls::Number;
    if (u_isUWhiteSpace(UChar32(c)))
        return Cls::Space;
    return Cls::Other;
}

uint64_t pairKey(int a, int b)
{
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
}

} // namespace

int ByteBpe::intern(const std::string &symbol)
{
    const auto [it, added] = m_symbolIndex.try_emplace(symbol, int(m_symbols.size()));
    if (added)
        m_symbols.push_back(symbol);
    return it->second;
}

Result<std::unique_ptr<HfTokenizer>> ByteBpe::create(const std::vector<std::pair<std::string, int>> &vocab,
                                                     std::vector<std::pair<std::string, std::string>> merges,
                                                     const std::string &source, int64_t modelMaxLength)
{
    std::unique_ptr<ByteBpe> bpe(new ByteBpe);
    bpe->m_modelMaxLength = modelMaxLength;
    bpe->m_vocab = vocab;
    std::stable_sort(bpe->m_vocab.begin(), bpe->m_vocab.end(),
                     [](const auto &a, const auto &b) { return a.second < b.second; });
    for (const auto &[token, id] : bpe->m_vocab) {
        if (id < 0 || id == std::numeric_limits<int>::max())
            return badInput(source + ": the id of \"" + token + "\" is out of range");
        bpe->m_ids[token] = id;
        bpe->m_vocabSize = std::max(bpe->m_vocabSize, id + 1);
    }
    for (auto [token, out] : {std::pair{"<s>", &bpe->m_special.cls},
                              {"<pad>", &bpe->m_special.pad},
                              {"</s>", &bpe->m_special.sep},
                              {"<unk>", &bpe->m_special.unk},
                              {"<mask>", &bpe->m_special.mask}}) {
        const auto it = bpe->m_ids.find(token);
        if (it == bpe->m_ids.end())
            return badInput(source + ": the vocabulary has no \"" + std::string(token) +
                            "\" token (RoBERTa's vocabulary has <s>, <pad>, </s>, <unk> and <mask>)");
        *out = it->second;
    }
    for (const auto &s : byteSymbols())
        bpe->intern(s);
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const int a = bpe->intern(merges[rank].first), b = bpe->intern(merges[rank].second);
        const int m = bpe->intern(merges[rank].first + merges[rank].second);
        bpe->m_ranks[pairKey(a, b)] = {int(rank), m}; // a repeated merge: the last rank wins, as in encoder.py
    }
    bpe->m_merges = std::move(merges);
    bpe->m_symbolIds.reserve(bpe->m_symbols.size());
    for (const auto &s : bpe->m_symbols) {
        const auto it = bpe->m_ids.find(s);
        bpe->m_symbolIds.push_back(it == bpe->m_ids.end() ? bpe->m_special.unk : it->second);
    }
    return std::unique_ptr<HfTokenizer>(std::move(bpe));
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ as regex.findall walks it: at each
// position the first alternative that matches, and every character belongs to one word.
template <typename Fn> void ByteBpe::forEachWord(std::string_view text, Fn &&fn) const
{
    thread_local std::vector<char32_t> cps;
    thread_local std::vector<uint32_t> offsets;
    thread_local std::vector<Cls> cls;
    decodeUtf8(text, cps, &offsets, true);
    const size_t n = cps.size();
    cls.resize(n);
    for (size_t i = 0; i < n; ++i)
        cls[i] = classify(cps[i]);
    const auto run = [&](size_t from, Cls k) {
        while (from < n && cls[from] == k)
            ++from;
        return from;
    };
    size_t i = 0;
    while (i < n) {
        size_t end = 0;
        const char32_t c = cps[i];
        if (c == '\'' && i + 1 < n) {
            const char32_t d = cps[i + 1], e = i + 2 < n ? cps[i + 2] : 0;
            if (d == 's' || d == 't' || d == 'm' || d == 'd')
                end = i + 2;
            else if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l'))
                end = i + 3;
        }
        if (!end) {
            const size_t from = (c == ' ' && i + 1 < n && cls[i + 1] != Cls::Space) ? i + 1 : i;
            if (cls[from] != Cls::Space) {
                end = run(from, cls[from]);
            } else {
                const size_t spaces = run(i, Cls::Space);
                end = (spaces == n || spaces - i == 1) ? spaces : spaces - 1;
            }
        }
        fn(text.substr(offsets[i], offsets[end] - offsets[i]));
        i = end;
    }
}

std::vector<int> ByteBpe::merge(std::string_view bytes) const
{
    std::vector<int> word(bytes.size());
    for (size_t i = 0; i < bytes.size(); ++i)
        word[i] = uint8_t(bytes[i]);
    std::vector<int> next;
    while (word.size() > 1) {
        int bestRank = std::numeric_limits<int>::max(), left = -1, right = -1, merged = -1;
        for (size_t i = 0; i + 1 < word.size(); ++i) {
            const auto it = m_ranks.find(pairKey(word[i], word[i + 1]));
            if (it != m_ranks.end() && it->second.first < bestRank) {
                bestRank = it->second.first;
                left = word[i];
                right = word[i + 1];
                merged = it->second.second;
            }
        }
        if (merged < 0)
            break;
        next.clear();
        for (size_t i = 0; i < word.size();) {
            if (i + 1 < word.size() && word[i] == left && word[i + 1] == right) {
                next.push_back(merged);
                i += 2;
            } else {
                next.push_back(word[i++]);
            }
        }
        word.swap(next);
    }
    return word;
}

std::vector<int> ByteBpe::word(std::string_view bytes) const
{
    const std::string key(bytes);
    {
        std::shared_lock lock(m_cacheMutex);
        const auto it = m_cache.find(key);
        if (it != m_cache.end())
            return it->second;
    }
    auto symbols = merge(bytes);
    std::unique_lock lock(m_cacheMutex);
    if (m_cache.size() >= kCacheLimit)
        m_cache.clear(); // a bound on memory for endless streams of new words; the common ones come back
    m_cache.emplace(key, symbols);
    return symbols;
}

std::vector<std::string> ByteBpe::tokenize(std::string_view text) const
{
    std::vector<std::string> pieces;
    forEachWord(text, [&](std::string_view w) {
        for (int s : word(w))
            pieces.push_back(m_symbols[size_t(s)]);
    });
    return pieces;
}

std::vector<int> ByteBpe::piecesToIds(const std::vector<std::string> &pieces) const
{
    return lookUp(m_ids, pieces, m_special.unk);
}

std::vector<int> ByteBpe::encode(std::string_view text, int maxTokens) const
{
    assert(maxTokens >= 2);
    const size_t room = size_t(std::max(maxTokens, 2) - 2);
    std::vector<int> ids{m_special.cls};
    forEachWord(text, [&](std::string_view w) {
        if (ids.size() - 1 >= room)
            return;
        for (int s : word(w))
            if (ids.size() - 1 < room)
                ids.push_back(m_symbolIds[size_t(s)]);
    });
    ids.push_back(m_special.sep);
    return ids;
}

Status ByteBpe::save(const std::filesystem::path &folder, int64_t maxTokens) const
{
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec)
        return Error{folder.string() + ": cannot create the folder: " + ec.message()};
    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
    for (const auto &[token, id] : m_vocab)
        vocab[token] = id;
    if (auto s = writeTextFile(folder / "vocab.json", vocab.dump() + "\n"); !s)
        return s;
    std::string merges = "#version: 0.2\n";
    for (const auto &[a, b] : m_merges)
        merges += a + " " + b + "\n";
    if (auto s = writeTextFile(folder / "merges.txt", merges); !s)
        return s;
    nlohmann::ordered_json specials = {{"bos_token", "<s>"},    {"eos_token", "</s>"},  {"unk_token", "<unk>"},
                                       {"sep_token", "</s>"},   {"pad_token", "<pad>"}, {"cls_token", "<s>"},
                                       {"mask_token", "<mask>"}};
    nlohmann::ordered_json config = {{"tokenizer_class", "RobertaTokenizer"},
                                     {"model_max_length", std::min(m_modelMaxLength, maxTokens)},
                                     {"add_prefix_space", false},
                                     {"errors", "replace"}};
    for (const auto &[k, v] : specials.items())
        config[k] = v;
    if (auto s = writeJsonFile(folder / "tokenizer_config.json", config); !s)
        return s;
    return writeJsonFile(folder / "special_tokens_map.json", specials);
}

std::vector<std::string> ByteBpe::displayPieces() const
{
    // Each symbol character back to its byte, the bytes read as UTF-8; the space byte (Ġ) starts a word.
    std::unordered_map<std::string, char> byteOf;
    const auto symbols = byteSymbols();
    for (int b = 0; b < 256; ++b)
        byteOf.emplace(symbols[size_t(b)], char(b));
    std::vector<std::string> out(static_cast<size_t>(m_vocabSize));
    for (const auto &[token, id] : m_vocab) {
        if (id < 0 || id >= m_vocabSize)
            continue;
        std::vector<char32_t> cps;
        decodeUtf8(token, cps, nullptr, false);
        std::string bytes;
        bool known = true;
        for (const char32_t c : cps) {
            std::string one;
            appendUtf8(one, c);
            const auto it = byteOf.find(one);
            known = known && it != byteOf.end();
            bytes += known ? it->second : '?';
        }
        if (!known || bytes.empty() || (token.front() == '<' && token.back() == '>')) { // <s>, <mask>...: as written
            out[size_t(id)] = token;
            continue;
        }
        out[size_t(id)] = bytes.front() == ' ' ? "\u2581" + bytes.substr(1) : bytes;
    }
    return out;
}

} // namespace lbk::hf
