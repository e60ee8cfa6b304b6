#include "engine/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <unistd.h>
#include <unordered_map>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include "data/dataset.h"
#include "util/text.h"

namespace sentencepiece::logging {
void SetMinLogLevel(int v); // exported by libsentencepiece, not declared in its public headers
}

namespace lbk {

namespace fs = std::filesystem;

Tokenizer::~Tokenizer() = default;

fs::path Tokenizer::defaultCacheDir()
{
    if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x)
        return fs::path(x) / "labbook" / "tokenizers";
    if (const char *h = std::getenv("HOME"); h && *h)
        return fs::path(h) / ".cache" / "labbook" / "tokenizers";
    return fs::temp_directory_path() / "labbook-tokenizers";
}

std::string Tokenizer::cacheKey(const std::vector<std::string> &trainTexts, const TokenizerSpec &spec)
{
    uint64_t h = stableHash(spec.type + "|" + std::to_string(spec.vocabSize) + "|" + std::to_string(spec.lowercase) +
                            "|" + std::to_string(spec.characterCoverage) + "|spm-0.1.97|v1");
    for (const auto &t : trainTexts)
        h = stableHash(t, h);
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

std::string Tokenizer::normalise(std::string_view text) const
{
    std::string s(text);
    if (m_spec.lowercase)
        for (char &c : s)
            if (c >= 'A' && c <= 'Z')
                c = char(c - 'A' + 'a');
    return s;
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::load(const fs::path &model, const TokenizerSpec &spec)
{
    std::unique_ptr<Tokenizer> t(new Tokenizer);
    t->m_spec = spec;
    t->m_modelPath = model;
    t->m_sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = t->m_sp->Load(model.string());
    if (!status.ok())
        return Error{model.string() + ": cannot load the sentencepiece model: " + status.ToString()};
    return t;
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::trainOrLoad(const std::vector<std::string> &trainTexts,
                                                          const TokenizerSpec &spec, const fs::path &cacheDir,
                                                          int threads, bool *fromCache)
{
    const fs::path model = cacheDir / (cacheKey(trainTexts, spec) + ".model");
    if (fs::exists(model)) {
        if (fromCache)
            *fromCache = true;
        return load(model, spec);
    }
    if (fromCache)
        *fromCache = false;
    std::error_code ec;
    fs::create_directories(cacheDir, ec);
    if (ec)
        return Error{cacheDir.string() + ": cannot create the tokenizer cache folder: " + ec.message()};

    // Word counts of the normalised training texts, written as sentencepiece's "sentence<TAB>count" input.
    Tokenizer norm;
    norm.m_spec = spec;
    std::unordered_map<std::string, int64_t> counts;
    for (const auto &text : trainTexts) {
        const std::string s = norm.normalise(text);
        forEachWord(s, [&](std::string_view w) { counts[std::string(w)]++; });
    }
    if (counts.empty())
        return Error{"tokenizer: the training split has no text to learn a vocabulary from"};
    // Unique names, so two processes training the same model at once never read each other's half-written file.
    const std::string unique = std::to_string(::getpid()) + "-" + std::to_string(std::rand());
    const fs::path tsv = cacheDir / ("words-" + unique + ".tsv");
    {
        std::ofstream out(tsv, std::ios::binary);
        for (const auto &[w, c] : counts)
            out << w << '\t' << c << '\n';
        if (!out)
            return Error{tsv.string() + ": cannot write the word counts for the tokenizer"};
    }
    const fs::path prefix = cacheDir / ("tmp-" + unique);
    std::unordered_map<std::string, std::string> args = {
        {"input", tsv.string()},
        {"input_format", "tsv"},
        {"model_prefix", prefix.string()},
        {"model_type", spec.type},
        {"vocab_size", std::to_string(spec.vocabSize)},
        {"character_coverage", std::to_string(spec.characterCoverage)},
        {"hard_vocab_limit", "false"}, // small corpora cannot fill a large vocabulary
        {"pad_id", "0"},
        {"unk_id", "1"},
        {"bos_id", "-1"},
        {"eos_id", "-1"},
        {"num_threads", std::to_string(std::max(1, threads))},
        {"max_sentence_length", "100000"},
    };
    sentencepiece::logging::SetMinLogLevel(2);
    const auto status = sentencepiece::SentencePieceTrainer::Train(args);
    fs::remove(tsv, ec);
    if (!status.ok()) {
        fs::remove(prefix.string() + ".model", ec);
        fs::remove(prefix.string() + ".vocab", ec);
        return Error{"tokenizer: sentencepiece training failed: " + status.ToString()};
    }
    fs::remove(prefix.string() + ".vocab", ec);
    fs::rename(prefix.string() + ".model", model, ec); // atomic: a reader sees all of it or nothing
    if (ec)
        return Error{model.string() + ": cannot store the trained tokenizer: " + ec.message()};
    return load(model, spec);
}

const std::vector<int> *WordCache::find(std::string_view word) const
{
    auto it = m_map.find(word);
    return it == m_map.end() ? nullptr : &it->second;
}

const std::vector<int> &WordCache::insert(std::string_view word, std::vector<int> ids)
{
    if (m_map.size() >= kMaxWords)
        m_map.clear();
    return m_map.emplace(std::string(word), std::move(ids)).first->second;
}

std::vector<int> Tokenizer::encodeUncached(std::string_view text) const
{
    std::vector<int> ids;
    m_sp->Encode(normalise(text), &ids).IgnoreError();
    if (int(ids.size()) > m_spec.maxTokens)
        ids.resize(size_t(m_spec.maxTokens));
    return ids;
}

// A unigram model segments by Viterbi over float scores; when a word's two best segmentations score (almost)
// the same, rounding in the sentence's running sum can pick either, so the word alone may not give the pieces
// it gets inside a sentence. Such words (about 1 in 10,000 texts has one) are never served from the cache.
bool Tokenizer::isNearTie(std::string_view word) const
{
    std::vector<std::vector<int>> best;
    if (!m_sp->NBestEncode(word, 2, &best).ok() || best.size() < 2)
        return false;
    auto score = [&](const std::vector<int> &ids) {
        double s = 0;
        for (int id : ids)
            s += m_sp->GetScore(id);
        return s;
    };
    return std::abs(score(best[0]) - score(best[1])) < 1e-3;
}

std::vector<int> Tokenizer::encode(std::string_view text, WordCache *cache) const
{
    if (!cache)
        return encodeUncached(text);
    const std::string s = normalise(text);
    const auto limit = size_t(m_spec.maxTokens);
    std::vector<int> ids;
    ids.reserve(std::min<size_t>(limit, s.size() / 3 + 4));
    std::vector<int> fresh;
    size_t i = 0;
    while (i < s.size() && ids.size() < limit) {
        // Words split at ASCII spaces only: any other white space is sentencepiece's to normalise, inside a
        // word, exactly as it would be in the whole text.
        while (i < s.size() && s[i] == ' ')
            ++i;
        size_t j = i;
        while (j < s.size() && s[j] != ' ')
            ++j;
        if (j == i)
            break;
        const std::string_view word(s.data() + i, j - i);
        const std::vector<int> *w = cache->find(word);
        if (!w) {
            fresh.clear();
            m_sp->Encode(word, &fresh).IgnoreError();
            if (m_spec.type == "unigram" && isNearTie(word))
                fresh.assign(1, -1); // marks a word whose pieces may depend on its context
            w = &cache->insert(word, fresh);
        }
        if (!w->empty() && (*w)[0] < 0)
            return encodeUncached(text);
        ids.insert(ids.end(), w->begin(), w->begin() + long(std::min(w->size(), limit - ids.size())));
        i = j;
    }
    return ids;
}

std::vector<std::vector<int>> Tokenizer::encodeAll(const std::vector<std::string> &texts, int threads) const
{
    std::vector<std::vector<int>> out(texts.size());
    threads = std::max(1, std::min<int>(threads, int(texts.size() / 256) + 1));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            WordCache cache;
            for (size_t i = size_t(t); i < texts.size(); i += size_t(threads))
                out[i] = encode(texts[i], &cache);
        });
    for (auto &th : pool)
        th.join();
    return out;
}

std::vector<std::string> Tokenizer::pieces(std::string_view text) const
{
    std::vector<std::string> p;
    m_sp->Encode(normalise(text), &p).IgnoreError();
    return p;
}

int Tokenizer::vocabSize() const
{
    return m_sp->GetPieceSize();
}

} // namespace lbk
