// core/hf: WordPiece and GPT-2's byte-level BPE against vectors made by the original reference implementations
// (Google's BERT tokenization.py, OpenAI's GPT-2 encoder.py; tests/tools/make_tokenizer_vectors.py), over arXiv
// titles and abstracts from ../shared/data and hand-written edge cases; loading, saving and bad input.
#include <QtTest>

#include <QElapsedTimer>
#include <QTemporaryDir>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/linereader.h"
#include "hf/hftokenizer.h"

using namespace lbk;
using namespace lbk::hf;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kFixtures = fs::path(LABBOOK_SOURCE_DIR) / "tests" / "fixtures" / "hf";
const char *const kLengthDigits = "0123456789abcdefghijklmnopqrstuvwxyz";

QString q(const std::string &s)
{
    return QString::fromStdString(s);
}

struct Vector {
    std::string source; // "2508.00498 title" or "edge case 12"
    std::string text;
    std::vector<int> wp, wpc; // wpc empty: not stored (abstracts)
    bool hasCased = false;
    std::string bpeLengths;
    std::vector<int> acrossLengths; // bytebpe-across's pieces (edge cases only)
    bool hasAcross = false;
};

// Calls fn(line) for each line of a (zstd) file; false with a message when it cannot be read.
template <typename Fn> bool forEachLine(const fs::path &file, std::string &error, Fn &&fn)
{
    auto src = openByteSource(file, file.extension() == ".zst");
    if (!src) {
        error = src.message();
        return false;
    }
    LineReader lines(**src);
    std::string_view line;
    while (lines.next(line))
        fn(line);
    error = lines.error();
    return error.empty();
}

std::vector<int> intList(const json &j)
{
    std::vector<int> out;
    for (const auto &v : j)
        out.push_back(v.get<int>());
    return out;
}

// The vectors with their texts: edge cases inline, papers' titles and abstracts from arxiv-dev.jsonl.zst.
struct Vectors {
    std::vector<Vector> all;
    int papers = 0;
    std::string error;
    bool noData = false; // ../shared/data is not there: the tests that need it skip
};

#define REQUIRE_VECTORS(vs)                                                                                            \
    do {                                                                                                               \
        if ((vs).noData)                                                                                               \
            QSKIP(qPrintable(q((vs).error)));                                                                          \
        if (!(vs).error.empty())                                                                                       \
            QFAIL((vs).error.c_str());                                                                                 \
    } while (false)

const Vectors &vectors()
{
    static const Vectors v = [] {
        Vectors out;
        std::map<std::string, std::vector<std::pair<size_t, std::string>>> wanted; // id -> (index, field)
        std::string error;
        int edge = 0;
        const bool ok = forEachLine(kFixtures / "vectors.jsonl.zst", error, [&](std::string_view line) {
            const json j = json::parse(line);
            Vector vec;
            if (j.contains("text")) {
                vec.text = j["text"].get<std::string>();
                vec.source = "edge case " + std::to_string(++edge);
            } else {
                const auto id = j["id"].get<std::string>(), field = j["field"].get<std::string>();
                vec.source = id + " " + field;
                wanted[id].emplace_back(out.all.size(), field);
            }
            vec.wp = intList(j["wp"]);
            vec.hasCased = j.contains("wpc");
            if (vec.hasCased)
                vec.wpc = intList(j["wpc"]);
            vec.bpeLengths = j["bpe"].get<std::string>();
            vec.hasAcross = j.contains("bpex");
            if (vec.hasAcross)
                vec.acrossLengths = intList(j["bpex"]);
            out.all.push_back(std::move(vec));
        });
        if (!ok) {
            out.error = error;
            return out;
        }
        const fs::path papers = resolveDataPath("arxiv/arxiv-dev.jsonl.zst");
        if (!fs::exists(papers)) {
            out.error = "no " + papers.string() + " (LABBOOK_DATA)";
            out.noData = true;
            return out;
        }
        size_t found = 0;
        forEachLine(papers, error, [&](std::string_view line) {
            // {"id": "2603.12011", ...: only the papers asked for are parsed.
            const size_t at = line.find("\"id\": \"");
            if (at == std::string_view::npos)
                return;
            const size_t b = at + 7, e = line.find('"', b);
            const auto it = wanted.find(std::string(line.substr(b, e - b)));
            if (it == wanted.end())
                return;
            const json j = json::parse(line);
            for (const auto &[index, field] : it->second)
                out.all[index].text = j[field].get<std::string>();
            ++found;
            wanted.erase(it);
        });
        if (!wanted.empty())
            out.error = "papers of the vectors missing from " + papers.string() + ": " + wanted.begin()->first;
        out.papers = int(found);
        return out;
    }();
    return v;
}

// The vocabulary as lines (WordPiece, vocab.txt) or id -> token (vocab.json).
std::vector<std::string> vocabLines()
{
    std::ifstream in(kFixtures / "wordpiece" / "vocab.txt");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);)
        lines.push_back(l);
    return lines;
}

std::unordered_map<std::string, int> bpeVocab(const char *folder = "bytebpe")
{
    std::ifstream in(kFixtures / folder / "vocab.json");
    std::unordered_map<std::string, int> out;
    const json vocab = json::parse(in);
    for (const auto &[k, v] : vocab.items())
        out[k] = v.get<int>();
    return out;
}

// encoder.py's bytes_to_unicode, written out again here so the test does not take it from the code it tests.
std::string byteChars(std::string_view bytes)
{
    std::string out;
    for (unsigned char b : bytes) {
        const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        unsigned cp = b;
        if (!printable) {
            unsigned n = 0;
            for (unsigned c = 0; c < b; ++c)
                if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE)))
                    ++n;
            cp = 256 + n;
        }
        if (cp < 0x80) {
            out += char(cp);
        } else {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        }
    }
    return out;
}

// The reference's BPE pieces: the text's bytes cut at the stored lengths.
std::vector<std::string> bpePieces(const std::string &text, const std::vector<int> &lengths)
{
    std::vector<std::string> pieces;
    size_t pos = 0;
    for (int n : lengths) {
        pieces.push_back(byteChars(std::string_view(text).substr(pos, size_t(n))));
        pos += size_t(n);
    }
    return pieces;
}

std::vector<std::string> bpePieces(const Vector &v)
{
    std::vector<int> lengths;
    for (char d : v.bpeLengths)
        lengths.push_back(int(std::strchr(kLengthDigits, d) - kLengthDigits));
    return bpePieces(v.text, lengths);
}

QString shortText(const std::string &text)
{
    QString t = q(text.size() > 300 ? text.substr(0, 300) + "..." : text);
    t.replace(QLatin1Char('\n'), QStringLiteral("\\n"));
    return t;
}

QString join(const std::vector<std::string> &v, size_t from)
{
    QStringList out;
    for (size_t i = from; i < v.size() && i < from + 12; ++i)
        out << q(v[i]);
    return out.join(QLatin1Char(' '));
}

// "" when equal, else where they part, with the text and both sides from there.
QString difference(const Vector &v, const std::vector<std::string> &expected, const std::vector<std::string> &got)
{
    if (expected == got)
        return {};
    size_t i = 0;
    while (i < expected.size() && i < got.size() && expected[i] == got[i])
        ++i;
    return QStringLiteral("%1: %2\n  piece %3: expected [%4]\n  got [%5]")
        .arg(q(v.source), shortText(v.text))
        .arg(i)
        .arg(join(expected, i), join(got, i));
}

std::unique_ptr<HfTokenizer> load(Result<std::unique_ptr<HfTokenizer>> r)
{
    if (!r)
        qFatal("%s", r.message().c_str());
    return std::move(*r);
}

void writeFile(const fs::path &file, const std::string &content)
{
    std::ofstream(file, std::ios::binary) << content;
}

std::string readFile(const fs::path &file)
{
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

class TestHfTokenizer : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void wordPieceVectors_data()
    {
        QTest::addColumn<bool>("lowercase");
        QTest::newRow("do_lower_case") << true;
        QTest::newRow("cased") << false;
    }

    // Every vector as the reference gave it: pieces (the vocabulary line of each id) and ids.
    void wordPieceVectors()
    {
        QFETCH(bool, lowercase);
        const auto &vs = vectors();
        REQUIRE_VECTORS(vs);
        const auto tok = load(loadWordPiece(kFixtures / "wordpiece" / "vocab.txt", lowercase));
        const auto lines = vocabLines();
        int compared = 0, differ = 0;
        QString first;
        QElapsedTimer timer;
        timer.start();
        for (const auto &v : vs.all) {
            if (!lowercase && !v.hasCased)
                continue;
            const auto &ids = lowercase ? v.wp : v.wpc;
            std::vector<std::string> expected;
            for (int id : ids)
                expected.push_back(lines.at(size_t(id)));
            const auto got = tok->tokenize(v.text);
            ++compared;
            QString d = difference(v, expected, got);
            if (d.isEmpty() && tok->piecesToIds(got) != ids)
                d = q(v.source) + QStringLiteral(": same pieces, other ids");
            if (!d.isEmpty() && differ++ == 0)
                first = d;
        }
        qInfo("%d texts (%d papers), %d differences, %.0f texts/s", compared, vs.papers, differ,
              compared / (timer.nsecsElapsed() / 1e9));
        QVERIFY(compared >= (lowercase ? 4000 : 2000));
        QVERIFY2(
            differ == 0,
            qPrintable(QStringLiteral("%1 of %2 texts differ; the first: %3").arg(differ).arg(compared).arg(first)));
    }

    void byteBpeVectors()
    {
        const auto &vs = vectors();
        REQUIRE_VECTORS(vs);
        const auto tok = load(loadByteBpe(kFixtures / "bytebpe" / "vocab.json", kFixtures / "bytebpe" / "merges.txt"));
        const auto vocab = bpeVocab();
        int differ = 0;
        QString first;
        QElapsedTimer timer;
        timer.start();
        for (const auto &v : vs.all) {
            const auto expected = bpePieces(v);
            const auto got = tok->tokenize(v.text);
            QString d = difference(v, expected, got);
            if (d.isEmpty()) {
                std::vector<int> ids;
                for (const auto &p : expected)
                    ids.push_back(vocab.at(p));
                auto encoded = tok->encode(v.text, 1 << 30);
                encoded = std::vector<int>(encoded.begin() + 1, encoded.end() - 1);
                if (tok->piecesToIds(got) != ids || encoded != ids)
                    d = q(v.source) + QStringLiteral(": same pieces, other ids");
            }
            if (!d.isEmpty() && differ++ == 0)
                first = d;
        }
        qInfo("%zu texts (%d papers), %d differences, %.0f texts/s (cache filling)", vs.all.size(), vs.papers, differ,
              vs.all.size() / (timer.nsecsElapsed() / 1e9));
        QVERIFY(vs.all.size() >= 4000);
        QVERIFY2(differ == 0,
                 qPrintable(
                     QStringLiteral("%1 of %2 texts differ; the first: %3").arg(differ).arg(vs.all.size()).arg(first)));
    }

    // Merges that join across GPT-2's word boundaries: a boundary that the pre-tokenizer puts elsewhere shows.
    void byteBpeWordBoundaries()
    {
        const auto &vs = vectors();
        REQUIRE_VECTORS(vs);
        const auto dir = kFixtures / "bytebpe-across";
        const auto tok = load(loadByteBpe(dir / "vocab.json", dir / "merges.txt"));
        const auto vocab = bpeVocab("bytebpe-across");
        int compared = 0, differ = 0;
        QString first;
        for (const auto &v : vs.all) {
            if (!v.hasAcross)
                continue;
            ++compared;
            const auto expected = bpePieces(v.text, v.acrossLengths);
            const auto got = tok->tokenize(v.text);
            QString d = difference(v, expected, got);
            if (d.isEmpty()) {
                std::vector<int> ids;
                for (const auto &p : expected)
                    ids.push_back(vocab.at(p));
                if (tok->piecesToIds(got) != ids)
                    d = q(v.source) + QStringLiteral(": same pieces, other ids");
            }
            if (!d.isEmpty() && differ++ == 0)
                first = d;
        }
        QVERIFY(compared >= 90);
        QVERIFY2(
            differ == 0,
            qPrintable(QStringLiteral("%1 of %2 texts differ; the first: %3").arg(differ).arg(compared).arg(first)));
    }

    void encodeSpecialsAndTruncation_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::newRow("WordPiece") << QStringLiteral("wordpiece");
        QTest::newRow("byte-level BPE") << QStringLiteral("bytebpe");
    }

    void encodeSpecialsAndTruncation()
    {
        QFETCH(QString, kind);
        const auto tok = load(loadHfTokenizer(kFixtures / kind.toStdString()));
        const std::string text = "Attention is all you need: transformers for image classification, revisited.";
        const auto pieces = tok->tokenize(text);
        const auto ids = tok->piecesToIds(pieces);
        QVERIFY(pieces.size() > 8);
        const auto &sp = tok->special();
        if (kind == QLatin1String("wordpiece")) {
            QCOMPARE(tok->kind(), std::string("WordPiece"));
            // The fixture puts them where BERT does not, so they must come from the vocabulary.
            QCOMPARE(QList<int>({sp.pad, sp.unk, sp.cls, sp.sep, sp.mask}), QList<int>({0, 3, 4, 5, 6}));
        } else {
            QCOMPARE(tok->kind(), std::string("byte-level BPE"));
            QCOMPARE(QList<int>({sp.cls, sp.pad, sp.sep, sp.unk}), QList<int>({0, 1, 2, 3}));
            QCOMPARE(sp.mask, tok->vocabSize() - 1);
        }
        auto whole = std::vector<int>{sp.cls};
        whole.insert(whole.end(), ids.begin(), ids.end());
        whole.push_back(sp.sep);
        QCOMPARE(tok->encode(text, 512), whole);
        QCOMPARE(tok->encode(text, int(whole.size())), whole);
        auto cut = std::vector<int>(whole.begin(), whole.begin() + 5);
        cut.push_back(sp.sep);
        QCOMPARE(tok->encode(text, 6), cut);
        QCOMPARE(tok->encode(text, 2), std::vector<int>({sp.cls, sp.sep}));
        QCOMPARE(tok->encode("", 8), std::vector<int>({sp.cls, sp.sep}));
        QCOMPARE(tok->piecesToIds({"no such piece in the vocabulary"}), std::vector<int>({sp.unk}));
    }

    // A folder with tokenizer.json alone gives the tokenizer that the vocabulary files give.
    void tokenizerJsonEqualsVocabFiles_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::newRow("WordPiece") << QStringLiteral("wordpiece");
        QTest::newRow("byte-level BPE") << QStringLiteral("bytebpe");
    }

    void tokenizerJsonEqualsVocabFiles()
    {
        QFETCH(QString, kind);
        QTemporaryDir dir;
        const fs::path only = dir.path().toStdString();
        fs::copy_file(kFixtures / kind.toStdString() / "tokenizer.json", only / "tokenizer.json");
        const auto fromFiles = load(loadHfTokenizer(kFixtures / kind.toStdString()));
        const auto fromJson = load(loadHfTokenizer(only));
        QCOMPARE(fromJson->kind(), fromFiles->kind());
        QCOMPARE(fromJson->vocabSize(), fromFiles->vocabSize());
        const auto &a = fromJson->special(), &b = fromFiles->special();
        QCOMPARE(QList<int>({a.pad, a.unk, a.cls, a.sep, a.mask}), QList<int>({b.pad, b.unk, b.cls, b.sep, b.mask}));
        const auto &vs = vectors();
        REQUIRE_VECTORS(vs);
        for (size_t i = 0; i < vs.all.size(); i += 7)
            QCOMPARE(fromJson->encode(vs.all[i].text, 512), fromFiles->encode(vs.all[i].text, 512));
    }

    // A vocab.txt with a repeated line (the last one wins) converted by the tokenizers library leaves a gap in
    // tokenizer.json's ids, which that library accepts: so does Labbook, with the same pieces as the vocab.txt.
    void tokenizerJsonWithAGapInItsIds()
    {
        QTemporaryDir dir;
        const fs::path base = dir.path().toStdString(), txt = base / "txt", gap = base / "gap";
        fs::create_directories(txt);
        fs::create_directories(gap);
        json root = json::parse(readFile(kFixtures / "wordpiece" / "tokenizer.json"));
        json &vocab = root["model"]["vocab"];
        std::vector<std::string> lines(vocab.size());
        for (const auto &[token, id] : vocab.items())
            lines[id.get<size_t>()] = token;
        const std::string repeated = lines[2000];
        const std::string dropped = lines[1000];
        lines[1000] = repeated; // line 1001 repeats line 2001's token: id 1000 is never given
        vocab.erase(dropped);
        std::string text;
        for (const auto &l : lines)
            text += l + "\n";
        writeFile(txt / "vocab.txt", text);
        writeFile(gap / "tokenizer.json", root.dump());
        for (const auto &folder : {txt, gap})
            fs::copy_file(kFixtures / "wordpiece" / "tokenizer_config.json", folder / "tokenizer_config.json");
        const auto fromTxt = load(loadHfTokenizer(txt));
        const auto fromGap = load(loadHfTokenizer(gap));
        QCOMPARE(fromGap->vocabSize(), fromTxt->vocabSize());
        const auto &vs = vectors();
        REQUIRE_VECTORS(vs);
        for (size_t i = 0; i < vs.all.size(); i += 5) {
            const auto ids = fromGap->encode(vs.all[i].text, 512);
            QCOMPARE(ids, fromTxt->encode(vs.all[i].text, 512));
            QVERIFY(std::find(ids.begin(), ids.end(), 1000) == ids.end());
        }
        QCOMPARE(fromGap->encode(dropped + " " + repeated, 512), fromTxt->encode(dropped + " " + repeated, 512));
    }

    // Merges as ["left", "right"] (tokenizers 0.20 and later) read as "left right".
    void tokenizerJsonMergePairs()
    {
        QTemporaryDir dir;
        const fs::path folder = dir.path().toStdString();
        json root = json::parse(readFile(kFixtures / "bytebpe" / "tokenizer.json"));
        json pairs = json::array();
        for (const auto &m : root["model"]["merges"]) {
            const auto s = m.get<std::string>();
            pairs.push_back({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
        }
        root["model"]["merges"] = pairs;
        writeFile(folder / "tokenizer.json", root.dump());
        const auto fromPairs = load(loadHfTokenizer(folder));
        const auto fromFiles = load(loadHfTokenizer(kFixtures / "bytebpe"));
        const std::string text = "Byte-level BPE's merges, read either way: naïve café 2026!";
        QCOMPARE(fromPairs->encode(text, 512), fromFiles->encode(text, 512));
    }

    void saveThenLoad_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("tokenizerClass");
        QTest::addColumn<QStringList>("files");
        QTest::newRow("WordPiece") << QStringLiteral("wordpiece") << QStringLiteral("BertTokenizer")
                                   << QStringList{QStringLiteral("vocab.txt")};
        QTest::newRow("byte-level BPE") << QStringLiteral("bytebpe") << QStringLiteral("RobertaTokenizer")
                                        << QStringList{QStringLiteral("vocab.json"), QStringLiteral("merges.txt")};
        QTest::newRow("WordPiece from tokenizer.json")
            << QStringLiteral("wordpiece/tokenizer.json") << QStringLiteral("BertTokenizer")
            << QStringList{QStringLiteral("vocab.txt")};
    }

    void saveThenLoad()
    {
        QFETCH(QString, kind);
        QFETCH(QString, tokenizerClass);
        QFETCH(QStringList, files);
        QTemporaryDir dir;
        fs::path source = kFixtures / kind.toStdString();
        if (source.extension() == ".json") {
            fs::create_directory(fs::path(dir.path().toStdString()) / "json");
            fs::copy_file(source, fs::path(dir.path().toStdString()) / "json" / "tokenizer.json");
            source = fs::path(dir.path().toStdString()) / "json";
        }
        const auto original = load(loadHfTokenizer(source));
        const fs::path saved = fs::path(dir.path().toStdString()) / "saved" / "tokenizer";
        const auto s = original->save(saved, 130); // a position table of 130 ids caps the source's 512
        QVERIFY2(s.ok(), s.ok() ? "" : s.message().c_str());
        for (const auto &f : files)
            QVERIFY(fs::exists(saved / f.toStdString()));
        const json config = json::parse(readFile(saved / "tokenizer_config.json"));
        QCOMPARE(q(config["tokenizer_class"].get<std::string>()), tokenizerClass);
        QCOMPARE(config["model_max_length"].get<int64_t>(), int64_t(130));
        const json specials = json::parse(readFile(saved / "special_tokens_map.json"));
        QVERIFY(specials.contains("unk_token") && specials.contains("mask_token") && specials.contains("pad_token"));
        const auto reloaded = load(loadHfTokenizer(saved));
        QCOMPARE(reloaded->kind(), original->kind());
        QCOMPARE(reloaded->vocabSize(), original->vocabSize());
        const auto &vs = vectors();
        REQUIRE_VECTORS(vs);
        for (size_t i = 0; i < vs.all.size(); i += 5)
            QCOMPARE(reloaded->encode(vs.all[i].text, 512), original->encode(vs.all[i].text, 512));
        if (kind == QLatin1String("wordpiece"))
            QCOMPARE(readFile(saved / "vocab.txt"), readFile(source / "vocab.txt"));
        else if (kind == QLatin1String("bytebpe"))
            QCOMPARE(readFile(saved / "merges.txt"), readFile(source / "merges.txt"));
    }

    // Pieces to show (MLM fills) in sentencepiece's convention: a word's first piece starts with U+2581, a
    // continuation does not, special tokens stay as written; the text of a word reads back from its pieces.
    void displayPieces_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::newRow("WordPiece") << QStringLiteral("wordpiece");
        QTest::newRow("byte-level BPE") << QStringLiteral("bytebpe");
    }

    void displayPieces()
    {
        QFETCH(QString, kind);
        const auto tok = load(loadHfTokenizer(kFixtures / kind.toStdString()));
        const auto shown = tok->displayPieces();
        QCOMPARE(int(shown.size()), tok->vocabSize());
        const std::string mark = "\u2581";
        std::string text;
        for (const int id : tok->encode("Transformers learn representations", 64)) {
            const std::string &p = shown[size_t(id)];
            if (id == tok->special().cls || id == tok->special().sep) {
                QVERIFY2(p.find(mark) == std::string::npos, p.c_str());
                continue;
            }
            text += p.rfind(mark, 0) == 0 ? " " + p.substr(mark.size()) : p;
        }
        QCOMPARE(QString::fromStdString(text).trimmed().toLower(), QStringLiteral("transformers learn representations"));
    }

    // tokenizer_config.json's do_lower_case reaches the folder's WordPiece.
    void configLowercase()
    {
        QTemporaryDir dir;
        const fs::path folder = dir.path().toStdString();
        fs::copy_file(kFixtures / "wordpiece" / "vocab.txt", folder / "vocab.txt");
        const std::string text = "Élan vital AND Naïve Bayes";
        const auto lower = load(loadWordPiece(folder / "vocab.txt", true));
        const auto cased = load(loadWordPiece(folder / "vocab.txt", false));
        QVERIFY(lower->tokenize(text) != cased->tokenize(text));
        QCOMPARE(load(loadHfTokenizer(folder))->tokenize(text), lower->tokenize(text)); // default: lower case
        writeFile(folder / "tokenizer_config.json", R"({"do_lower_case": false})");
        QCOMPARE(load(loadHfTokenizer(folder))->tokenize(text), cased->tokenize(text));
        writeFile(folder / "tokenizer_config.json", R"({"do_lower_case": false, "strip_accents": true})");
        const auto stripped = load(loadHfTokenizer(folder))->tokenize(text);
        QVERIFY(std::find(stripped.begin(), stripped.end(), "N") != stripped.end()); // still cased
        QVERIFY(std::none_of(stripped.begin(), stripped.end(), [](const std::string &p) {
            return p.find("\xC3\xAF") != std::string::npos; // ï
        }));
        writeFile(folder / "tokenizer_config.json", R"({"tokenize_chinese_chars": false})");
        QCOMPARE(load(loadHfTokenizer(folder))->tokenize("\xE4\xB8\xAD\xE6\x96\x87"),
                 std::vector<std::string>{"[UNK]"});
        QCOMPARE(lower->tokenize("\xE4\xB8\xAD\xE6\x96\x87").size(), size_t(2));
    }

    // Bytes that are not UTF-8 never crash; byte-level BPE keeps every byte, WordPiece drops them as
    // tokenization.py's decode("utf-8", "ignore") does.
    void notUtf8()
    {
        const auto wp = load(loadHfTokenizer(kFixtures / "wordpiece"));
        const auto bpe = load(loadHfTokenizer(kFixtures / "bytebpe"));
        QCOMPARE(wp->tokenize("ab\xFF\xFE"
                              "cd \xC3"),
                 wp->tokenize("abcd "));
        QCOMPARE(wp->tokenize("\xED\xA0\x80x\xC0\x80"), wp->tokenize("x")); // a surrogate, an overlong NUL
        std::mt19937 rng(7);
        for (int round = 0; round < 300; ++round) {
            std::string text(size_t(rng() % 64), '\0');
            for (auto &c : text)
                c = char(rng() % 4 == 0 ? 0x80 + rng() % 0x80 : rng() % 0x100);
            (void)wp->tokenize(text);
            (void)wp->encode(text, 16);
            std::string joined;
            for (const auto &p : bpe->tokenize(text))
                joined += p;
            QCOMPARE(joined, byteChars(text));
            QCOMPARE(int(bpe->encode(text, 16).size()) <= 16, true);
        }
    }

    // The BPE word cache is shared: threads tokenizing at once get what one thread gets.
    void concurrentBpe()
    {
        const auto bpe = load(loadHfTokenizer(kFixtures / "bytebpe"));
        const auto &vs = vectors();
        REQUIRE_VECTORS(vs);
        std::vector<std::vector<int>> one;
        for (size_t i = 0; i < 400; ++i)
            one.push_back(bpe->encode(vs.all[i * 7 % vs.all.size()].text, 512));
        const auto fresh = load(loadHfTokenizer(kFixtures / "bytebpe"));
        std::vector<int> bad(4, 0);
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (size_t i = 0; i < 400; ++i)
                    if (fresh->encode(vs.all[i * 7 % vs.all.size()].text, 512) != one[i])
                        ++bad[size_t(t)];
            });
        for (auto &t : threads)
            t.join();
        QCOMPARE(bad, std::vector<int>(4, 0));
    }

    void badInput_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("file2");
        QTest::addColumn<QByteArray>("content2");
        QTest::addColumn<QStringList>("message"); // parts of the message
        const auto row = [](const char *name, const char *f, QByteArray c, const char *f2, QByteArray c2,
                            QStringList m) {
            QTest::newRow(name) << QString::fromLatin1(f) << c << QString::fromLatin1(f2) << c2 << m;
        };
        const QByteArray bertVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n";
        const QByteArray robertaVocab = R"({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "a": 4, "<mask>": 5})";
        row("empty folder", "", {}, "", {}, {QStringLiteral("no tokenizer"), QStringLiteral("vocab.txt")});
        row("vocab.txt without [CLS]", "vocab.txt", "[PAD]\n[UNK]\n[SEP]\n[MASK]\n", "", {},
            {QStringLiteral("vocab.txt"), QStringLiteral("[CLS]")});
        row("empty vocab.txt", "vocab.txt", "", "", {}, {QStringLiteral("vocab.txt"), QStringLiteral("empty")});
        row("vocab.txt not UTF-8", "vocab.txt", bertVocab + "\xFF\xFE\n", "", {},
            {QStringLiteral("vocab.txt"), QStringLiteral("line 7"), QStringLiteral("UTF-8")});
        row("do_lower_case not a bool", "vocab.txt", bertVocab, "tokenizer_config.json", R"({"do_lower_case": "yes"})",
            {QStringLiteral("tokenizer_config.json"), QStringLiteral("do_lower_case")});
        row("tokenizer_config.json bad JSON", "vocab.txt", bertVocab, "tokenizer_config.json",
            "{\"do_lower_case\": ", {QStringLiteral("tokenizer_config.json"), QStringLiteral("not valid JSON")});
        row("vocab.json without merges.txt", "vocab.json", robertaVocab, "", {},
            {QStringLiteral("merges.txt"), QStringLiteral("no such file")});
        row("vocab.json bad JSON", "vocab.json", "{\"<s>\": 0,", "merges.txt", "#version: 0.2\n",
            {QStringLiteral("vocab.json"), QStringLiteral("not valid JSON")});
        row("vocab.json a list", "vocab.json", "[1, 2]", "merges.txt", "#version: 0.2\n",
            {QStringLiteral("vocab.json"), QStringLiteral("object")});
        row("vocab.json id not a number", "vocab.json", R"({"<s>": "zero"})", "merges.txt", "#version: 0.2\n",
            {QStringLiteral("vocab.json"), QStringLiteral("\"<s>\"")});
        row("vocab.json without <mask>", "vocab.json", R"({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3})", "merges.txt",
            "#version: 0.2\n", {QStringLiteral("vocab.json"), QStringLiteral("<mask>")});
        row("merges.txt bad line", "vocab.json", robertaVocab, "merges.txt", "#version: 0.2\na b\nabc\n",
            {QStringLiteral("merges.txt"), QStringLiteral("line 3"), QStringLiteral("abc")});
        row("tokenizer.json bad JSON", "tokenizer.json", "{\"model\": {", "", {},
            {QStringLiteral("tokenizer.json"), QStringLiteral("not valid JSON")});
        row("tokenizer.json without model", "tokenizer.json", "{}", "", {},
            {QStringLiteral("tokenizer.json"), QStringLiteral("model")});
        row("tokenizer.json Unigram", "tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})", "", {},
            {QStringLiteral("tokenizer.json"), QStringLiteral("model.type"), QStringLiteral("Unigram")});
        row("tokenizer.json WordPiece without vocab", "tokenizer.json", R"({"model": {"type": "WordPiece"}})", "", {},
            {QStringLiteral("tokenizer.json"), QStringLiteral("model.vocab")});
        row("tokenizer.json WordPiece two tokens, one id", "tokenizer.json",
            R"({"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 0}}})", "", {},
            {QStringLiteral("tokenizer.json"), QStringLiteral("model.vocab"),
             QStringLiteral("\"[PAD]\" and \"[UNK]\" have the same id 0")});
        row("tokenizer.json WordPiece ids far past the tokens", "tokenizer.json",
            R"({"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 2000000}}})", "", {},
            {QStringLiteral("tokenizer.json"), QStringLiteral("model.vocab"),
             QStringLiteral("ids reach 2000000 for 2 tokens")});
        row("tokenizer.json WordPiece other normalizer", "tokenizer.json",
            R"({"normalizer": {"type": "NFC"}, "model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1,
                "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}}})",
            "", {}, {QStringLiteral("tokenizer.json"), QStringLiteral("normalizer"), QStringLiteral("BertNormalizer")});
        row("tokenizer.json BPE without merges", "tokenizer.json",
            QByteArray(R"({"model": {"type": "BPE", "vocab": )") + robertaVocab + "}}", "", {},
            {QStringLiteral("tokenizer.json"), QStringLiteral("model.merges")});
        row("tokenizer.json BPE bad merge", "tokenizer.json",
            QByteArray(
                R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "merges": [3], "vocab": )") +
                robertaVocab + "}}",
            "", {}, {QStringLiteral("tokenizer.json"), QStringLiteral("model.merges[0]")});
        row("tokenizer.json BPE with a prefix space", "tokenizer.json",
            QByteArray(R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true}, "model": {"type": "BPE",
                "merges": [], "vocab": )") +
                robertaVocab + "}}",
            "", {}, {QStringLiteral("tokenizer.json"), QStringLiteral("add_prefix_space")});
    }

    void badInput()
    {
        QFETCH(QString, file);
        QFETCH(QByteArray, content);
        QFETCH(QString, file2);
        QFETCH(QByteArray, content2);
        QFETCH(QStringList, message);
        QTemporaryDir dir;
        const fs::path folder = dir.path().toStdString();
        if (!file.isEmpty())
            writeFile(folder / file.toStdString(), content.toStdString());
        if (!file2.isEmpty())
            writeFile(folder / file2.toStdString(), content2.toStdString());
        const auto r = loadHfTokenizer(folder);
        QVERIFY(!r.ok());
        QVERIFY(r.error().badInput);
        for (const auto &part : message)
            QVERIFY2(q(r.message()).contains(part), qPrintable(q(r.message()) + QStringLiteral(" lacks ") + part));
    }

    void missingFolderAndFiles()
    {
        const auto r = loadHfTokenizer("/no/such/folder");
        QVERIFY(!r.ok());
        QVERIFY(q(r.message()).contains(QStringLiteral("/no/such/folder")));
        const auto w = loadWordPiece("/no/such/vocab.txt", true);
        QVERIFY(!w.ok());
        QVERIFY(q(w.message()).contains(QStringLiteral("/no/such/vocab.txt")));
        const auto b = loadByteBpe(kFixtures / "bytebpe" / "vocab.json", "/no/such/merges.txt");
        QVERIFY(!b.ok());
        QVERIFY(q(b.message()).contains(QStringLiteral("/no/such/merges.txt")));
    }
};

QTEST_GUILESS_MAIN(TestHfTokenizer)
#include "tst_hftokenizer.moc"
