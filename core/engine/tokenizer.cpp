#include "engine/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <limits>
#include <thread>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include "data/dataset.h"
#include "engine/unigramsegmenter.h"
#include "hf/hftokenizer.h"
#include "store/runfiles.h"
#include "util/stablehash.h"
#include "util/text.h"

namespace sentencepiece::logging {
void SetMinLogLevel(int v); // exported by libsentencepiece, not declared in its public headers
}

namespace lbk {

namespace fs = std::filesystem;

Tokenizer::~Tokenizer() = default;

fs::path cacheRoot(const fs::path &cacheDir)
{
    return cacheDir.empty() ? Tokenizer::defaultCacheDir() : cacheDir;
}

fs::path Tokenizer::defaultCacheDir()
{
    if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x)
        return fs::path(x) / "labbook" / "tokenizers";
    if (const char *h = std::getenv("HOME"); h && *h)
        return fs::path(h) / ".cache" / "labbook" / "tokenizers";
    return fs::temp_directory_path() / "labbook-tokenizers";
}

namespace {
// Words keep every character: below full coverage sentencepiece would drop each word holding a rare one.
double effectiveCoverage(const TokenizerSpec &spec)
{
    return spec.type == TokenizerType::Word ? 1.0 : spec.characterCoverage;
}
} // namespace

namespace {
uint64_t settingsHash(const TokenizerSpec &spec)
{
    return stableHash(std::string(toString(spec.type)) + "|" + std::to_string(spec.vocabSize) + "|" +
                      std::to_string(spec.lowercase) + "|" + std::to_string(effectiveCoverage(spec)) +
                      (spec.type == TokenizerType::Word ? "|min" + std::to_string(spec.minCount) : std::string()) +
                      "|spm-0.1.97|v1");
}
} // namespace

TokenizerCorpus::TokenizerCorpus(const TokenizerSpec &spec) : m_spec(spec), m_hash(settingsHash(spec)) {}

void TokenizerCorpus::add(std::string_view text)
{
    m_hash = stableHash(text, m_hash);
    forEachWord(Tokenizer::normalise(text, m_spec), [&](std::string_view w) { m_counts[std::string(w)]++; });
}

std::string TokenizerCorpus::cacheKey() const { return hexKey(m_hash); }

std::string Tokenizer::cacheKey(const std::vector<std::string> &trainTexts, const TokenizerSpec &spec)
{
    uint64_t h = settingsHash(spec);
    for (const auto &t : trainTexts)
        h = stableHash(t, h);
    return hexKey(h);
}

std::string Tokenizer::normalise(std::string_view text, const TokenizerSpec &spec)
{
    std::string s(text);
    if (spec.lowercase)
        for (char &c : s)
            if (c >= 'A' && c <= 'Z')
                c = char(c - 'A' + 'a');
    if (spec.type != TokenizerType::Word)
        return s;
    // Words: runs of ASCII letters, digits and '_', and of any non-ASCII byte (UTF-8 characters stay whole),
    // joined by single spaces; ASCII punctuation, spaces and control characters only separate them.
    std::string words;
    words.reserve(s.size());
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        const bool inWord = u >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (inWord)
            words += c;
        else if (!words.empty() && words.back() != ' ')
            words += ' ';
    }
    if (!words.empty() && words.back() == ' ')
        words.pop_back();
    return words;
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
    if (spec.type == TokenizerType::Unigram)
        t->m_segmenter = UnigramSegmenter::fromModel(t->m_sp->serialized_model_proto());
    return t;
}

namespace {
// The cached model when it loads. A damaged one (a disk error, a hand edit) would fail every run that shares its
// inputs: it is removed, said on stderr (the worker's log), and the caller trains the tokenizer again.
std::optional<Result<std::unique_ptr<Tokenizer>>> loadCached(const fs::path &model, const TokenizerSpec &spec,
                                                             bool *fromCache)
{
    const auto hit = [fromCache](Result<std::unique_ptr<Tokenizer>> t) {
        if (fromCache)
            *fromCache = true;
        return t;
    };
    struct stat before {};
    if (::stat(model.c_str(), &before) != 0)
        return std::nullopt;
    auto t = Tokenizer::load(model, spec);
    if (t)
        return hit(std::move(t));
    // Only the file that failed is taken away: another process may have put a good one in its place meanwhile
    // (two trials of a sweep found the same damaged entry); then that one is loaded.
    struct stat now {};
    if (::stat(model.c_str(), &now) == 0 && (now.st_ino != before.st_ino || now.st_mtime != before.st_mtime))
        if (auto again = Tokenizer::load(model, spec))
            return hit(std::move(again));
    std::fprintf(stderr, "lbk: warning: %s; the damaged cache entry is removed and the tokenizer trained again\n",
                 t.message().c_str());
    const fs::path aside = model.string() + ".damaged-" + std::to_string(::getpid());
    std::error_code ec;
    fs::rename(model, aside, ec); // atomic: a good model renamed into place after this stays
    fs::remove(aside, ec);
    return std::nullopt;
}
} // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::trainOrLoad(const std::vector<std::string> &trainTexts,
                                                          const TokenizerSpec &spec, const fs::path &cacheDir,
                                                          int threads, bool *fromCache)
{
    // The key first: a cached model needs no word counts.
    if (auto cached = loadCached(cacheDir / (cacheKey(trainTexts, spec) + ".model"), spec, fromCache))
        return std::move(*cached);
    TokenizerCorpus corpus(spec);
    for (const auto &text : trainTexts)
        corpus.add(text);
    return trainOrLoad(corpus, cacheDir, threads, fromCache);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::trainOrLoad(const TokenizerCorpus &corpus, const fs::path &cacheDir,
                                                          int threads, bool *fromCache)
{
    const TokenizerSpec &spec = corpus.spec();
    const fs::path model = cacheDir / (corpus.cacheKey() + ".model");
    if (auto cached = loadCached(model, spec, fromCache))
        return std::move(*cached);
    if (fromCache)
        *fromCache = false;
    std::error_code ec;
    fs::create_directories(cacheDir, ec);
    if (ec)
        return Error{cacheDir.string() + ": cannot create the tokenizer cache folder: " + ec.message()};
    // Word counts of the normalised training texts, written as sentencepiece's "sentence<TAB>count" input.
    const auto &counts = corpus.wordCounts();
    if (counts.empty())
        return Error{"tokenizer: the training split has no text to learn a vocabulary from"};
    // Unique names, so two processes training the same model at once never read each other's half-written file.
    const std::string unique = std::to_string(::getpid()) + "-" + std::to_string(std::rand());
    const fs::path tsv = cacheDir / ("words-" + unique + ".tsv");
    {
        std::ofstream out(tsv, std::ios::binary);
        size_t written = 0;
        for (const auto &[w, c] : counts)
            if (spec.type != TokenizerType::Word || c >= spec.minCount) {
                out << w << '\t' << c << '\n';
                ++written;
            }
        if (written == 0) {
            out.close();
            std::error_code ignored;
            fs::remove(tsv, ignored);
            return Error{"tokenizer: no word of the training split occurs tokenizer.min_count (" +
                         std::to_string(spec.minCount) + ") times or more; lower tokenizer.min_count or use more data"};
        }
        if (!out)
            return Error{tsv.string() + ": cannot write the word counts for the tokenizer"};
    }
    const fs::path prefix = cacheDir / ("tmp-" + unique);
    std::unordered_map<std::string, std::string> args = {
        {"input", tsv.string()},
        {"input_format", "tsv"},
        {"model_prefix", prefix.string()},
        {"model_type", toString(spec.type)},
        {"vocab_size", std::to_string(spec.vocabSize)},
        {"character_coverage", std::to_string(effectiveCoverage(spec))},
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

uint64_t WordCache::hashOf(std::string_view word)
{
    // Words are short: 8 bytes at a time, multiply and fold (wyhash's mix), then a final avalanche.
    constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
    uint64_t h = kMul ^ word.size();
    const char *p = word.data();
    size_t n = word.size();
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        const unsigned __int128 m = static_cast<unsigned __int128>(h ^ w) * 0xbf58476d1ce4e5b9ull;
        h = uint64_t(m) ^ uint64_t(m >> 64);
    }
    if (n > 0) {
        uint64_t w = 0;
        std::memcpy(&w, p, n);
        const unsigned __int128 m = static_cast<unsigned __int128>(h ^ w ^ (uint64_t(n) << 59)) * 0x94d049bb133111ebull;
        h = uint64_t(m) ^ uint64_t(m >> 64);
    }
    h ^= h >> 32;
    h *= kMul;
    h ^= h >> 29;
    return h ? h : 1;
}

const WordCache::Slot *WordCache::find(std::string_view word, uint64_t hash) const
{
    if (m_slots.empty())
        return nullptr;
    const size_t mask = m_slots.size() - 1;
    for (size_t i = size_t(hash) & mask;; i = (i + 1) & mask) {
        const Slot &s = m_slots[i];
        if (s.hash == 0)
            return nullptr;
        if (s.hash == hash && s.keyLength == word.size() && std::memcmp(keyOf(s), word.data(), word.size()) == 0)
            return &s;
    }
}

const WordCache::Slot &WordCache::insert(std::string_view word, uint64_t hash, const std::vector<int> &ids,
                                         double score, double limit)
{
    assert(word.size() <= kMaxKey && hash != 0);
    if (m_count >= kMaxWords || m_spillKeys.size() + word.size() > UINT32_MAX ||
        m_spillIds.size() + ids.size() > UINT32_MAX) {
        std::fill(m_slots.begin(), m_slots.end(), Slot{});
        m_count = 0;
        m_spillKeys.clear();
        m_spillIds.clear();
    }
    if (2 * (m_count + 1) > m_slots.size()) {
        std::vector<Slot> old(std::max<size_t>(1024, 2 * m_slots.size()));
        old.swap(m_slots);
        const size_t mask = m_slots.size() - 1;
        for (const Slot &s : old)
            if (s.hash != 0) {
                size_t i = size_t(s.hash) & mask;
                while (m_slots[i].hash != 0)
                    i = (i + 1) & mask;
                m_slots[i] = s;
            }
    }
    const size_t mask = m_slots.size() - 1;
    size_t i = size_t(hash) & mask;
    while (m_slots[i].hash != 0)
        i = (i + 1) & mask;
    Slot &s = m_slots[i];
    s.hash = hash;
    s.score = float(score);
    // Rounded down, so that the float limit never admits a context the exact one refuses.
    s.limit = float(limit);
    if (double(s.limit) > limit)
        s.limit = std::nextafter(s.limit, -std::numeric_limits<float>::infinity());
    s.keyLength = uint16_t(word.size());
    s.idCount = uint16_t(ids.size());
    if (word.size() <= kInlineKey) {
        std::memcpy(s.key, word.data(), word.size());
    } else {
        s.keySpill = uint32_t(m_spillKeys.size());
        m_spillKeys.append(word);
    }
    if (ids.size() <= kInlineIds) {
        std::copy(ids.begin(), ids.end(), s.ids);
    } else {
        s.idSpill = uint32_t(m_spillIds.size());
        m_spillIds.insert(m_spillIds.end(), ids.begin(), ids.end());
    }
    ++m_count;
    return s;
}

std::vector<int> Tokenizer::encodeUncached(std::string_view text) const
{
    std::vector<int> ids;
    m_sp->Encode(normalise(text), &ids).IgnoreError();
    if (int(ids.size()) > m_spec.maxTokens)
        ids.resize(size_t(m_spec.maxTokens));
    return ids;
}

void Tokenizer::segmentWord(std::string_view word, std::vector<int> &ids, double &score, double &limit) const
{
    ids.clear();
    score = 0;
    limit = std::numeric_limits<double>::infinity();
    if (!m_segmenter) { // BPE: merges never cross a space, and a word's merge order is its own; word: its id
        m_sp->Encode(word, &ids).IgnoreError();
        return;
    }
    // Printable ASCII is what every supported normaliser keeps: the word is sentencepiece's normalised text
    // with U+2581 in front, and the segmenter alone gives the pieces. Anything else goes through sentencepiece
    // (normalisation), and the segmenter then re-runs on the normalised pieces for the margin.
    static constexpr std::string_view kSpace = "\xe2\x96\x81";
    char local[128];
    std::string heap;
    char *norm = local;
    if (kSpace.size() + word.size() > sizeof local) {
        heap.resize(kSpace.size() + word.size());
        norm = heap.data();
    }
    const bool plain = std::all_of(word.begin(), word.end(),
                                   [](char c) { return UnigramSegmenter::keepsByte(static_cast<unsigned char>(c)); });
    UnigramSegmenter::Segmentation seg;
    if (plain) {
        std::memcpy(norm, kSpace.data(), kSpace.size());
        std::memcpy(norm + kSpace.size(), word.data(), word.size());
        seg = m_segmenter->segment(std::string_view(norm, kSpace.size() + word.size()), ids);
    } else {
        // The pieces' normalised text (an unknown run's too), joined, is the word's normalised text.
        const auto spt = m_sp->EncodeAsImmutableProto(word);
        std::string normalised;
        for (const auto &p : spt.pieces()) {
            ids.push_back(int(p.id()));
            normalised += p.piece();
        }
        std::vector<int> again;
        seg = m_segmenter->segment(normalised, again);
        if (again != ids) { // never seen; if it were, sentencepiece's word is the one to trust, not the cache
            limit = -1;
            return;
        }
    }
    score = -seg.score;
    limit = m_segmenter->contextLimit(seg);
}

std::vector<int> Tokenizer::encode(std::string_view text, WordCache *cache) const
{
    if (!cache || (!m_segmenter && m_spec.type == TokenizerType::Unigram))
        return encodeUncached(text);
    // The word model's text is our normalisation's words, one id each: looked up in the cache like any word,
    // where sentencepiece's normaliser and a protobuf per text took 10 us a title.
    if (m_spec.type == TokenizerType::Word)
        return encodeWords(normalise(text), cache);
    return encodeWords(text, cache);
}

std::vector<int> Tokenizer::encodeWords(std::string_view text, WordCache *cache) const
{
    ++cache->m_stats.texts;
    const auto limit = size_t(m_spec.maxTokens);
    std::vector<int> ids;
    ids.reserve(std::min<size_t>(limit, text.size() / 3 + 4));
    std::string &lowered = cache->m_word;
    double context = 0; // |sentencepiece's running score| at the current word, as the sum of the words' scores
    size_t i = 0;
    while (i < text.size() && ids.size() < limit) {
        // Words split at ASCII spaces only: any other white space is sentencepiece's to normalise, inside a
        // word, exactly as it would be in the whole text.
        while (i < text.size() && text[i] == ' ')
            ++i;
        size_t j = i;
        while (j < text.size() && text[j] != ' ')
            ++j;
        if (j == i)
            break;
        std::string_view word(text.data() + i, j - i);
        if (m_spec.lowercase && std::any_of(word.begin(), word.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
            lowered.assign(word);
            for (char &c : lowered)
                if (c >= 'A' && c <= 'Z')
                    c = char(c - 'A' + 'a');
            word = lowered;
        }
        if (word.size() > WordCache::kMaxKey) { // not a word (a blob, a long formula): sentencepiece's to encode
            ++cache->m_stats.wholeTexts;
            return encodeUncached(text);
        }
        ++cache->m_stats.lookups;
        const uint64_t hash = WordCache::hashOf(word);
        const WordCache::Slot *e = cache->find(word, hash);
        if (!e) {
            ++cache->m_stats.misses;
            double score = 0, safe = 0;
            segmentWord(word, cache->m_ids, score, safe);
            e = &cache->insert(word, hash, cache->m_ids, score, safe);
        }
        if (!(context < e->limit)) {
            ++cache->m_stats.wholeTexts;
            return encodeUncached(text);
        }
        context += e->score;
        const int *w = cache->idsOf(*e);
        // sentencepiece gives a run of unknown words one id, as it does a run of unknown characters (a word its
        // normaliser splits, at a no-break space say, may start with one).
        const size_t skip = m_spec.type == TokenizerType::Word && e->idCount > 0 && w[0] == m_sp->unk_id() &&
                            !ids.empty() && ids.back() == w[0];
        ids.insert(ids.end(), w + skip, w + skip + std::min<size_t>(e->idCount - skip, limit - ids.size()));
        i = j;
    }
    return ids;
}

std::vector<std::vector<int>> TextEncoder::encodeAll(const std::vector<std::string> &texts, int threads) const
{
    std::vector<std::vector<int>> out(texts.size());
    threads = std::max(1, std::min<int>(threads, int(texts.size() / 256) + 1));
    if (threads == 1) {
        WordCache cache;
        for (size_t i = 0; i < texts.size(); ++i)
            out[i] = encode(texts[i], &cache);
        return out;
    }
    // Runs of consecutive texts claimed in turn: balanced, and no two threads write neighbouring results (as
    // an interleaved split would, on the same cache lines).
    constexpr size_t kRun = 512;
    std::atomic<size_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            WordCache cache;
            for (size_t b; (b = next.fetch_add(kRun)) < texts.size();)
                for (size_t i = b; i < std::min(texts.size(), b + kRun); ++i)
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

std::vector<std::string> Tokenizer::pieceTexts() const
{
    std::vector<std::string> out(size_t(m_sp->GetPieceSize()));
    for (int i = 0; i < m_sp->GetPieceSize(); ++i)
        if (!m_sp->IsControl(i) && !m_sp->IsUnknown(i) && !m_sp->IsUnused(i))
            out[size_t(i)] = m_sp->IdToPiece(i);
    return out;
}

namespace {

class HfTextEncoder : public TextEncoder {
public:
    HfTextEncoder(std::shared_ptr<const hf::HfTokenizer> tokenizer, int maxTokens)
        : m_tok(std::move(tokenizer)), m_maxTokens(maxTokens)
    {
    }
    std::vector<int> encode(std::string_view text, WordCache *) const override { return m_tok->encode(text, m_maxTokens); }
    int vocabSize() const override { return m_tok->vocabSize(); }
    std::vector<std::string> pieceTexts() const override { return {}; }

private:
    std::shared_ptr<const hf::HfTokenizer> m_tok;
    int m_maxTokens;
};

} // namespace

std::unique_ptr<TextEncoder> hfTextEncoder(std::shared_ptr<const hf::HfTokenizer> tokenizer, int maxTokens)
{
    return std::make_unique<HfTextEncoder>(std::move(tokenizer), maxTokens);
}

namespace {
// The run's copy when it may reuse one, else `make` (train or find in the cache), copied into the run folder.
template <class Make>
Result<std::unique_ptr<Tokenizer>> runTokenizer(const RunTokenizerRequest &request, const TokenizerSpec &spec,
                                               bool *fromCache, Make make)
{
    const fs::path runTokenizer = request.runDir / runfiles::kTokenizer;
    if (request.reuseRunCopy && fs::exists(runTokenizer)) {
        if (fromCache)
            *fromCache = true;
        return Tokenizer::load(runTokenizer, spec);
    }
    auto tok = make(cacheRoot(request.cacheDir));
    if (!tok)
        return tok.error();
    std::error_code ec;
    fs::copy_file((*tok)->modelPath(), runTokenizer, fs::copy_options::overwrite_existing, ec);
    if (ec)
        return Error{runTokenizer.string() + ": cannot copy the tokenizer into the run folder: " + ec.message()};
    return tok;
}
} // namespace

Result<std::unique_ptr<Tokenizer>> prepareRunTokenizer(const RunTokenizerRequest &request,
                                                       const std::vector<std::string> &trainTexts,
                                                       const TokenizerSpec &spec, bool *fromCache)
{
    return runTokenizer(request, spec, fromCache, [&](const fs::path &cache) {
        return Tokenizer::trainOrLoad(trainTexts, spec, cache, request.threads, fromCache);
    });
}

Result<std::unique_ptr<Tokenizer>> prepareRunTokenizer(const RunTokenizerRequest &request, const TokenizerFeed &feed,
                                                       const TokenizerSpec &spec, bool *fromCache)
{
    return runTokenizer(request, spec, fromCache, [&](const fs::path &cache) -> Result<std::unique_ptr<Tokenizer>> {
        TokenizerCorpus corpus(spec);
        if (auto fed = feed(corpus); !fed)
            return fed.error();
        return Tokenizer::trainOrLoad(corpus, cache, request.threads, fromCache);
    });
}

} // namespace lbk
