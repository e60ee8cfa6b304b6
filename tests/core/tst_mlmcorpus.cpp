// Masked-language-model corpora: the packing rule, packed sequences on disk and mapped back, papers read as a
// stream, the documents' split, and the packed corpus kept in (and reopened from) its cache.
#include <QtTest>

#include <QDir>
#include <QFile>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "data/dataset.h"
#include "data/mlmcorpus.h"
#include "data/packedfile.h"
#include "data/packing.h"

using namespace lbk;
namespace fs = std::filesystem;

namespace {

QString q(const std::string &s) { return QString::fromStdString(s); }

std::vector<std::vector<int>> sequencesOf(const PackedSequences &p)
{
    std::vector<std::vector<int>> out;
    for (size_t i = 0; i < p.size(); ++i)
        out.emplace_back(p.begin(i), p.begin(i) + p.length(i));
    return out;
}

// A stand-in tokenizer: each word's id is its length plus 10 (so never a special id).
std::vector<std::vector<int>> wordLengths(const std::vector<std::string> &texts)
{
    std::vector<std::vector<int>> out;
    for (const auto &t : texts) {
        std::istringstream in(t);
        std::vector<int> ids;
        for (std::string w; in >> w;)
            ids.push_back(int(w.size()) + 10);
        out.push_back(std::move(ids));
    }
    return out;
}

fs::path sample() { return resolveDataPath("arxiv/arxiv-sample-5k.jsonl"); }

} // namespace

class TestMlmCorpus : public QObject {
    Q_OBJECT

private:
    fs::path m_tmp;

    PackingOptions packing(int window = 16) const
    {
        PackingOptions o;
        o.window = window;
        o.cls = 1;
        o.sep = 2;
        return o;
    }

    MlmCorpusRequest request(const MlmDocuments &docs, const DocumentEncoder &encode, const fs::path &base) const
    {
        MlmCorpusRequest r;
        r.documents = [docs]() -> Result<MlmDocuments> { return docs; };
        r.packing = packing(64);
        r.encode = encode;
        r.vocabRows = 1000;
        r.cacheBase = base;
        return r;
    }

    MlmDocuments sampleDocuments(int64_t limit) const
    {
        MlmDocuments d;
        d.files = {sample()};
        d.data.text = TextField::Abstract;
        d.data.limit = limit;
        SplitSpec s;
        s.train = 0.8;
        s.validation = 0.1;
        s.test = 0.1;
        d.split = DocumentSplit::byHash(s);
        return d;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_tmp = fs::path(LABBOOK_TEST_TMP) / "tst_mlmcorpus";
        fs::remove_all(m_tmp);
        fs::create_directories(m_tmp);
    }

    // MLM packing: documents joined with [SEP] into windows that each start with [CLS], every window full but the
    // last, a long document continuing in the next window; or one document per window, cut.
    void packsDocumentsIntoWindows()
    {
        const int C = 1, S = 2;
        const std::vector<std::vector<int>> docs = {{10, 11, 12}, {}, {20, 21, 22, 23, 24, 25, 26}, {30}};
        lbk::PackingOptions o;
        o.window = 6;
        o.cls = C;
        o.sep = S;
        const auto packed = lbk::packSequences(docs, o);
        std::vector<std::vector<int>> got;
        for (size_t i = 0; i < packed.size(); ++i)
            got.emplace_back(packed.begin(i), packed.begin(i) + packed.length(i));
        const std::vector<std::vector<int>> expected = {
            {C, 10, 11, 12, S, 20}, {C, 21, 22, 23, 24, 25}, {C, 26, S, 30, S}};
        QCOMPARE(got, expected);
        QCOMPARE(packed.tokens(), int64_t(6 + 6 + 5));
        // Every document id appears once, in order, whatever the window.
        for (int window : {3, 4, 5, 7, 64}) {
            o.window = window;
            const auto p = lbk::packSequences(docs, o);
            std::vector<int> content, all;
            for (size_t i = 0; i < p.size(); ++i) {
                QVERIFY(p.length(i) <= window && p.begin(i)[0] == C);
                QVERIFY(i + 1 == p.size() || p.length(i) == window);
                for (int k = 1; k < p.length(i); ++k)
                    if (p.begin(i)[k] != S)
                        content.push_back(p.begin(i)[k]);
            }
            for (const auto &d : docs)
                all.insert(all.end(), d.begin(), d.end());
            QCOMPARE(content, all);
        }

        o.window = 5;
        o.onePerDocument = true;
        const auto one = lbk::packSequences(docs, o);
        got.clear();
        for (size_t i = 0; i < one.size(); ++i)
            got.emplace_back(one.begin(i), one.begin(i) + one.length(i));
        const std::vector<std::vector<int>> cut = {{C, 10, 11, 12, S}, {C, 20, 21, 22, S}, {C, 30, S}};
        QCOMPARE(got, cut);
    }

    // Written to disk one sequence at a time and mapped back: the same sequences as packed in memory. A writer
    // that is not committed leaves nothing behind.
    void packsIntoAFileAsInMemory()
    {
        std::mt19937 rng(5);
        std::vector<std::vector<int>> docs(500);
        for (auto &d : docs)
            for (int n = int(rng() % 40); n > 0; --n)
                d.push_back(10 + int(rng() % 1000));
        for (bool one : {false, true}) {
            PackingOptions o = packing(32);
            o.onePerDocument = one;
            const fs::path base = m_tmp / (one ? "one" : "packed");
            {
                auto writer = PackedFileWriter::create(base, o.window);
                QVERIFY2(writer, writer ? "" : writer.message().c_str());
                SequencePacker packer(o, **writer);
                for (const auto &d : docs)
                    packer.add(d);
                packer.finish();
                QVERIFY((*writer)->commit());
            }
            auto mapped = mapPackedFile(base);
            QVERIFY2(mapped, mapped ? "" : mapped.message().c_str());
            const auto memory = packSequences(docs, o);
            QCOMPARE(mapped->window(), 32);
            QCOMPARE(mapped->size(), memory.size());
            QCOMPARE(mapped->tokens(), memory.tokens());
            QVERIFY(sequencesOf(*mapped) == sequencesOf(memory));
        }
        {
            auto writer = PackedFileWriter::create(m_tmp / "abandoned", 8);
            QVERIFY(writer);
            const int32_t ids[] = {1, 20, 2};
            (*writer)->add(ids, 3);
        }
        for (const auto &entry : fs::directory_iterator(m_tmp))
            QVERIFY2(entry.path().filename().string().find("abandoned") == std::string::npos,
                     entry.path().c_str());
    }

    // A cut or overwritten file is an error naming it and what is wrong, never a crash or sequences out of range.
    void damagedPackedFilesAreNamed()
    {
        const fs::path base = m_tmp / "damaged";
        const auto write = [&] {
            auto writer = PackedFileWriter::create(base, 8);
            QVERIFY(writer);
            SequencePacker packer(packing(8), **writer);
            packer.add({10, 11, 12, 13, 14, 15, 16, 17, 18});
            packer.finish();
            QVERIFY((*writer)->commit());
        };
        const auto expectError = [&](const char *what) {
            auto mapped = mapPackedFile(base);
            QVERIFY(!mapped);
            QVERIFY2(mapped.message().find(packedIndexPath(base).string()) != std::string::npos, mapped.message().c_str());
            QVERIFY2(mapped.message().find(what) != std::string::npos, mapped.message().c_str());
        };
        write();
        QVERIFY(mapPackedFile(base));
        fs::resize_file(packedIdsPath(base), fs::file_size(packedIdsPath(base)) - 4);
        expectError("does not hold");
        write();
        {
            std::fstream f(packedIndexPath(base), std::ios::in | std::ios::out | std::ios::binary);
            f.write("GARBAGE!", 8);
        }
        expectError("not a Labbook packed-sequence index");
        write();
        {
            std::fstream f(packedIndexPath(base), std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(32 + 8);
            const int64_t tooLong = 100;
            f.write(reinterpret_cast<const char *>(&tooLong), 8);
        }
        expectError("not 1 to 8 ids long");
        fs::remove(packedIdsPath(base));
        expectError("no packed sequences");
    }

    // The stream hands on the papers readPaperFiles returns, in order, and stops when the sink says so.
    void readsPapersAsAStream()
    {
        if (!fs::exists(sample()))
            QSKIP("the 5k sample is not there (LABBOOK_DATA)");
        ReadReport whole, streamed;
        const auto papers = readPaperFiles({sample()}, DataSpec{}, &whole);
        QVERIFY(papers);
        std::vector<std::string> ids;
        QVERIFY(readPaperStream({sample()}, DataSpec{}, [&](Paper &&p) { ids.push_back(p.id); return true; },
                                &streamed));
        QCOMPARE(ids.size(), papers->size());
        for (size_t i = 0; i < ids.size(); i += 499)
            QCOMPARE(q(ids[i]), q((*papers)[i].id));
        QCOMPARE(streamed.rows, whole.rows);
        QCOMPARE(streamed.duplicates, whole.duplicates);
        size_t seen = 0;
        QVERIFY(readPaperStream({sample()}, DataSpec{}, [&](Paper &&) { return ++seen < 10; }));
        QCOMPARE(seen, size_t(10));
        const auto missing = readPaperStream({m_tmp / "nope.jsonl"}, DataSpec{}, [](Paper &&) { return true; });
        QVERIFY(!missing);
        QVERIFY(missing.message().find("nope.jsonl") != std::string::npos);
    }

    // By hash, document by document: the shares are met on average, a paper keeps its role wherever it is read,
    // and another seed splits otherwise.
    void hashSplitKeepsARepeatedPaper()
    {
        SplitSpec s;
        s.train = 0.8;
        s.validation = 0.1;
        s.test = 0.1;
        const auto split = DocumentSplit::byHash(s);
        s.seed = 14;
        const auto other = DocumentSplit::byHash(s);
        int train = 0, heldOut = 0, differ = 0;
        const int n = 20000;
        for (int i = 0; i < n; ++i) {
            const std::string id = "2101." + std::to_string(10000 + i);
            const DocumentRole role = split.roleOf(id);
            QVERIFY(split.roleOf(id) == role);
            train += role == DocumentRole::Train;
            heldOut += role == DocumentRole::HeldOut;
            differ += other.roleOf(id) != role;
        }
        QVERIFY2(std::abs(train - 0.8 * n) < 0.015 * n, qPrintable(QString::number(train)));
        QVERIFY2(std::abs(heldOut - 0.1 * n) < 0.01 * n, qPrintable(QString::number(heldOut)));
        QVERIFY(differ > n / 10);
    }

    // mlm.task_split: the classifier's training papers train, its validation papers are held out, its test papers
    // and the papers outside the task are never read.
    void taskSplitFollowsTheClassifier()
    {
        if (!fs::exists(sample()))
            QSKIP("the 5k sample is not there (LABBOOK_DATA)");
        DataSpec data;
        LabelSpec labels;
        labels.topN = 5;
        SplitSpec split;
        std::string summary;
        auto byTask = DocumentSplit::byTask({sample()}, data, labels, split, &summary);
        QVERIFY2(byTask, byTask ? "" : byTask.message().c_str());
        QVERIFY(summary.find("mlm.task_split") != std::string::npos);
        const auto papers = readPapers(sample(), data);
        QVERIFY(papers);
        const auto labeled = buildLabels(*papers, labels);
        QVERIFY(labeled);
        const auto parts = splitData(*labeled, *papers, split);
        QVERIFY(parts);
        std::set<std::string> seen;
        for (const auto &[indices, role] : {std::pair{parts->train, DocumentRole::Train},
                                            std::pair{parts->validation, DocumentRole::HeldOut},
                                            std::pair{parts->test, DocumentRole::Unused}})
            for (const size_t i : indices) {
                const std::string &id = (*papers)[labeled->paper[i]].id;
                QVERIFY(byTask->roleOf(id) == role);
                seen.insert(id);
            }
        int outside = 0;
        for (const auto &p : *papers)
            if (!seen.count(p.id)) {
                QVERIFY(byTask->roleOf(p.id) == DocumentRole::Unused);
                ++outside;
            }
        QVERIFY(outside > 0); // top 5 of the sample leaves papers out
    }

    // Packed once: the second open maps the cache and encodes nothing; a damaged entry is packed anew with a
    // message naming it.
    void corpusIsPackedOnceThenMapped()
    {
        if (!fs::exists(sample()))
            QSKIP("the 5k sample is not there (LABBOOK_DATA)");
        const auto docs = sampleDocuments(1500);
        int encoded = 0;
        const DocumentEncoder encode = [&](const std::vector<std::string> &texts) {
            encoded += int(texts.size());
            return wordLengths(texts);
        };
        const fs::path base = m_tmp / "cache" / "corpus";
        auto first = openMlmCorpus(request(docs, encode, base));
        QVERIFY2(first, first ? "" : first.message().c_str());
        QVERIFY(!first->fromCache);
        QCOMPARE(first->counts.documents, int64_t(1500));
        QCOMPARE(first->counts.train + first->counts.heldOut + 0, int64_t(encoded));
        QVERIFY(first->counts.train > 1100 && first->counts.train < 1300);
        QVERIFY(first->counts.heldOut > 100 && first->counts.heldOut < 200);
        QVERIFY(first->train.size() > 0 && first->heldOut.size() > 0);
        // The packed sequences are the training documents' in file order.
        std::vector<std::string> trainTexts;
        QVERIFY(docs.forEach([&](DocumentRole role, std::string &&text) {
            if (role == DocumentRole::Train)
                trainTexts.push_back(std::move(text));
            return true;
        }));
        QVERIFY(sequencesOf(first->train) == sequencesOf(packSequences(wordLengths(trainTexts), packing(64))));

        encoded = 0;
        auto second = openMlmCorpus(request(docs, encode, base));
        QVERIFY(second);
        QVERIFY(second->fromCache);
        QCOMPARE(encoded, 0);
        QCOMPARE(second->counts.train, first->counts.train);
        QCOMPARE(second->counts.report.rows, int64_t(1500));
        const auto packed = sequencesOf(first->train);
        QVERIFY(sequencesOf(second->train) == packed);

        // Cut while nothing maps it (a mapped file cut short faults on access; the cache is only ever replaced by
        // rename, which leaves mapped files whole).
        first = Error{};
        second = Error{};
        fs::resize_file(packedIdsPath(fs::path(base.string() + "-train")), 8);
        auto third = openMlmCorpus(request(docs, encode, base));
        QVERIFY(third);
        QVERIFY(!third->fromCache);
        QVERIFY2(third->cacheProblem.find("corpus-train.idx") != std::string::npos, third->cacheProblem.c_str());
        QVERIFY(sequencesOf(third->train) == packed);
        third = Error{};

        // An entry that does not fit the request is packed anew: another window, or ids past the vocabulary.
        auto wider = request(docs, encode, base);
        wider.packing.window = 80;
        auto fourth = openMlmCorpus(wider);
        QVERIFY(fourth && !fourth->fromCache);
        QVERIFY2(fourth->cacheProblem.find("windows of 64, not 80") != std::string::npos, fourth->cacheProblem.c_str());
        fourth = Error{};
        auto smaller = request(docs, encode, base);
        smaller.vocabRows = 12; // word lengths make ids from 11 up
        auto fifth = openMlmCorpus(smaller);
        QVERIFY(!fifth);
        QVERIFY2(fifth.message().find("outside the vocabulary") != std::string::npos, fifth.message().c_str());
    }

    // Nothing to train on, or a file that is not there: an error naming it, and no cache entry.
    void corpusErrorsAreNamed()
    {
        if (!fs::exists(sample()))
            QSKIP("the 5k sample is not there (LABBOOK_DATA)");
        auto docs = sampleDocuments(200);
        SplitSpec none;
        none.train = 0;
        none.validation = 0.5;
        none.test = 0.5;
        docs.split = DocumentSplit::byHash(none);
        const fs::path base = m_tmp / "errors" / "corpus";
        auto empty = openMlmCorpus(request(docs, wordLengths, base));
        QVERIFY(!empty);
        QVERIFY2(empty.message().find("no document trains") != std::string::npos, empty.message().c_str());
        QVERIFY(!fs::exists(base.string() + ".json"));
        for (const auto &entry : fs::directory_iterator(base.parent_path())) // nothing half-written is left
            QVERIFY2(false, entry.path().c_str());
        docs.files = {m_tmp / "missing.jsonl.zst"};
        auto missing = openMlmCorpus(request(docs, wordLengths, base));
        QVERIFY(!missing);
        QVERIFY2(missing.message().find("missing.jsonl.zst") != std::string::npos, missing.message().c_str());
    }
};

QTEST_GUILESS_MAIN(TestMlmCorpus)
#include "tst_mlmcorpus.moc"
