// core/data: reading papers (JSON lines, zstd, CSV, TSV), labels for the three task kinds, the seeded split.
#include <QtTest>

#include <QDir>
#include <QFile>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include <sys/stat.h>

#include <zstd.h>

#include "data/dataset.h"
#include "data/fastpaper.h"
#include "data/linereader.h"
#include "data/papercache.h"
#include "data/tokencache.h"
#include "util/stablehash.h"

using namespace lbk;
namespace fs = std::filesystem;

namespace {

// Restores LABBOOK_DATA (set or not) when a test has changed it.
struct EnvGuard {
    const bool wasSet = qEnvironmentVariableIsSet("LABBOOK_DATA");
    const QByteArray value = qgetenv("LABBOOK_DATA");
    ~EnvGuard()
    {
        if (wasSet)
            qputenv("LABBOOK_DATA", value);
        else
            qunsetenv("LABBOOK_DATA");
    }
};

QString q(const std::string &s) { return QString::fromStdString(s); }

QStringList qList(const std::vector<std::string> &v)
{
    QStringList out;
    for (const auto &s : v)
        out << q(s);
    return out;
}

std::vector<std::string> sList(const QStringList &l)
{
    std::vector<std::string> out;
    for (const auto &s : l)
        out.push_back(s.toStdString());
    return out;
}

QList<qint64> qCounts(const std::vector<int64_t> &v) { return QList<qint64>(v.begin(), v.end()); }

// A read's counts: lines (or array elements), papers, bad ones, repeated ones.
QList<qint64> readCounts(const ReadReport &r) { return {r.lines, r.rows, r.bad, r.duplicates}; }

// Why reading the file failed; empty when it did not.
QString readError(const fs::path &file)
{
    const auto r = readPapers(file, DataSpec{});
    return r.ok() ? QString() : q(r.message());
}

QByteArray zstdCompress(const QByteArray &plain, int level = 3)
{
    QByteArray out(int(ZSTD_compressBound(size_t(plain.size()))), Qt::Uninitialized);
    const size_t n = ZSTD_compress(out.data(), size_t(out.size()), plain.constData(), size_t(plain.size()), level);
    if (ZSTD_isError(n))
        return {};
    out.resize(qsizetype(n));
    return out;
}

// Hand-made papers: one per entry, the entry being its space-separated categories; ids "p0", "p1", ...
std::vector<Paper> papersWith(const QStringList &categories)
{
    std::vector<Paper> papers;
    for (qsizetype i = 0; i < categories.size(); ++i) {
        Paper p;
        p.id = "p" + std::to_string(i);
        p.title = "Paper " + std::to_string(i);
        for (const auto &c : categories[i].split(QLatin1Char(' '), Qt::SkipEmptyParts))
            p.categories.push_back(c.toStdString());
        papers.push_back(std::move(p));
    }
    return papers;
}

// Multiclass data with the given class sizes, examples interleaved so a stratum is not a contiguous block.
struct Synthetic {
    std::vector<Paper> papers;
    LabeledData data;
};

Synthetic synthetic(const std::vector<int> &classSizes)
{
    Synthetic s;
    std::vector<int> left = classSizes;
    for (size_t c = 0; c < classSizes.size(); ++c)
        s.data.labelNames.push_back("c" + std::to_string(c));
    s.data.labelCounts.assign(classSizes.begin(), classSizes.end());
    for (bool any = true; any;) {
        any = false;
        for (size_t c = 0; c < left.size(); ++c) {
            if (left[c]-- <= 0)
                continue;
            any = true;
            Paper p;
            p.id = "2604." + std::to_string(10000 + s.papers.size());
            p.title = "t";
            p.categories = {"c" + std::to_string(c)};
            s.data.paper.push_back(s.papers.size());
            s.data.labels.push_back({int(c)});
            s.papers.push_back(std::move(p));
        }
    }
    return s;
}

const QByteArray kGoodJsonl =
    "{\"id\": \"2603.00001\", \"title\": \"First paper\", \"abstract\": \"About things.\", "
    "\"categories\": \"cs.CL cs.LG\"}\n"
    "\n"
    "{\"title\": \"No id here\", \"categories\": \"math.CO\"}\r\n"
    "   \n"
    "{\"id\": \"x\", \"title\": \"Array categories\", \"abstract\": null, \"categories\": [\"cs.CV\", \"cs.AI\"], "
    "\"extra\": {\"title\": \"nested, ignored\", \"list\": [1, 2.5, true, {\"categories\": \"no\"}]}}\n"
    "{\"id\": 1234, \"title\": \"Quote \\\" and \\u00e9\", \"categories\": \"  hep-th   gr-qc \"}";

// 15 lines: 10 good ones and 5 bad ones at lines 3, 5, 7, 9 and 12.
const QByteArray kBadJsonl = [] {
    QByteArray s;
    auto good = [&](int i) {
        s += "{\"id\": \"g" + QByteArray::number(i) + "\", \"title\": \"Good\", \"categories\": \"cs.CL\"}\n";
    };
    good(1);
    good(2);
    s += "{\"title\": \"cut short\", \"categories\": \"cs.CL\"\n"; // 3
    good(4);
    s += "{\"categories\": \"cs.CL\"}\n"; // 5
    good(6);
    s += "{\"title\": \"t\", \"categories\": \"   \"}\n"; // 7
    good(8);
    s += "[1, 2]\n"; // 9
    good(10);
    good(11);
    s += "{\"title\": 5, \"categories\": \"cs.CL\"}\n"; // 12
    good(13);
    good(14);
    good(15);
    return s;
}();

} // namespace

class TestData : public QObject {
    Q_OBJECT

private:
    QString m_tmp;

    fs::path write(const QString &name, const QByteArray &bytes)
    {
        const QString path = m_tmp + QLatin1Char('/') + name;
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
            qFatal("cannot write %s", qPrintable(path));
        return fs::path(path.toStdString());
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_tmp = QStringLiteral(LABBOOK_TEST_TMP "/tst_data");
        QDir(m_tmp).removeRecursively();
        QVERIFY(QDir().mkpath(m_tmp));
    }

    // The hash decides every split: a change to it changes every run's data, so it must be deliberate.
    void stableHashPinned_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<quint64>("seed");
        QTest::addColumn<quint64>("expected");
        QTest::newRow("empty") << QByteArray() << quint64(0) << quint64(0xaebe53f85cdc3c4cULL);
        QTest::newRow("a") << QByteArray("a") << quint64(0) << quint64(0x223510de0dd4615fULL);
        QTest::newRow("arxiv id") << QByteArray("2603.12011") << quint64(13) << quint64(0x0f1abd0f43d7e860ULL);
        QTest::newRow("next seed") << QByteArray("2603.12011") << quint64(14) << quint64(0xdd1f392834d40105ULL);
        QTest::newRow("utf-8") << QByteArray("\xc3\xa9") << quint64(13) << quint64(0x5b41aa1d220ab0c3ULL);
    }
    void stableHashPinned()
    {
        QFETCH(QByteArray, input);
        QFETCH(quint64, seed);
        QFETCH(quint64, expected);
        QCOMPARE(quint64(stableHash(std::string_view(input.constData(), size_t(input.size())), seed)), expected);
    }

    void readJsonl()
    {
        ReadReport report;
        const auto r = readPapers(write(QStringLiteral("good.jsonl"), kGoodJsonl), DataSpec{}, &report);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(r->size(), size_t(4));
        QCOMPARE(report.lines, 4);
        QCOMPARE(report.rows, 4);
        QCOMPARE(report.bad, 0);
        QVERIFY(report.firstErrors.empty());

        const auto &p = *r;
        QCOMPARE(q(p[0].id), QStringLiteral("2603.00001"));
        QCOMPARE(q(p[0].title), QStringLiteral("First paper"));
        QCOMPARE(q(p[0].abstract), QStringLiteral("About things."));
        QCOMPARE(qList(p[0].categories), (QStringList{QStringLiteral("cs.CL"), QStringLiteral("cs.LG")}));
        QCOMPARE(q(p[1].id), QStringLiteral("3")); // no id: its line number, blank lines counted
        QCOMPARE(q(p[1].abstract), QString());
        QCOMPARE(qList(p[1].categories), QStringList{QStringLiteral("math.CO")});
        QCOMPARE(q(p[2].title), QStringLiteral("Array categories")); // nested "title" did not overwrite it
        QCOMPARE(qList(p[2].categories), (QStringList{QStringLiteral("cs.CV"), QStringLiteral("cs.AI")}));
        QCOMPARE(q(p[3].id), QStringLiteral("1234"));
        QCOMPARE(q(p[3].title), QString::fromUtf8("Quote \" and \xc3\xa9"));
        QCOMPARE(qList(p[3].categories), (QStringList{QStringLiteral("hep-th"), QStringLiteral("gr-qc")}));
    }

    // A title-only run reads without abstracts (ReadNeeds::abstracts false): the rest of each paper is as read.
    void readWithoutAbstracts()
    {
        const auto file = write(QStringLiteral("no-abstracts.jsonl"), kGoodJsonl);
        ReadNeeds needs;
        needs.abstracts = false;
        const auto r = readPaperFiles({file}, DataSpec{}, nullptr, needs);
        QVERIFY(r.ok());
        QCOMPARE(r->size(), size_t(4));
        QCOMPARE(q((*r)[0].title), QStringLiteral("First paper"));
        QCOMPARE(qList((*r)[0].categories), (QStringList{QStringLiteral("cs.CL"), QStringLiteral("cs.LG")}));
        for (const auto &p : *r)
            QVERIFY(p.abstract.empty());
    }

    // data.text "abstract": a paper without one is a bad line (it would train or score as an empty text), in both
    // JSON readers and in CSV; with the title beside it ("title+abstract") the title alone is enough.
    void readRequiresTheAbstractItReads()
    {
        DataSpec spec;
        spec.text = TextField::Abstract;
        spec.maxBadShare = 1.0;
        ReadReport report;
        const auto file = write(QStringLiteral("abstracts.jsonl"), kGoodJsonl);
        const auto r = readPapers(file, spec, &report);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(r->size(), size_t(1));
        QCOMPARE(report.bad, 3);
        QVERIFY2(q(report.firstErrors[0]).endsWith(QStringLiteral(":3: no \"abstract\", the field data.text \"abstract\" reads")),
                 report.firstErrors[0].c_str());
        spec.text = TextField::TitleAbstract;
        QCOMPARE(readPapers(file, spec)->size(), size_t(4));

        spec.text = TextField::Abstract;
        ReadReport csvReport;
        const auto csv = readPapers(write(QStringLiteral("abstracts.csv"), "id,title,abstract,categories\n"
                                                                           "a,Has one,Some words,cs.CL\n"
                                                                           "b,Has none,,cs.CL\n"),
                                    spec, &csvReport);
        QVERIFY2(csv.ok(), csv.ok() ? "" : csv.message().c_str());
        QCOMPARE(csv->size(), size_t(1));
        QCOMPARE(csvReport.bad, 1);
        QVERIFY2(q(csvReport.firstErrors[0]).endsWith(QStringLiteral(":3: empty \"abstract\", the field data.text \"abstract\" reads")),
                 csvReport.firstErrors[0].c_str());

        // Abstracts alone need no title (a pre-training corpus of abstracts): none on the line, or no such column.
        const auto untitled = readPapers(write(QStringLiteral("untitled.jsonl"),
                                               "{\"id\": \"u1\", \"abstract\": \"Words of it\", \"categories\": \"cs.CL\"}\n"),
                                         spec);
        QVERIFY2(untitled.ok() && untitled->size() == 1, untitled.ok() ? "" : untitled.message().c_str());
        const auto noColumn = readPapers(write(QStringLiteral("untitled.csv"), "id,abstract,categories\nu1,Words of it,cs.CL\n"),
                                         spec);
        QVERIFY2(noColumn.ok() && noColumn->size() == 1, noColumn.ok() ? "" : noColumn.message().c_str());
    }

    void readJsonlMapping()
    {
        DataSpec spec;
        spec.idColumn = "arxiv_id";
        spec.titleColumn = "name";
        spec.categoriesColumn = "labels";
        const auto r =
            readPapers(write(QStringLiteral("mapped.jsonl"),
                             "{\"arxiv_id\": \"a1\", \"name\": \"N\", \"labels\": \"cs.RO\", \"title\": \"no\"}\n"),
                       spec);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(q(r->at(0).id), QStringLiteral("a1"));
        QCOMPARE(q(r->at(0).title), QStringLiteral("N"));
        QCOMPARE(qList(r->at(0).categories), QStringList{QStringLiteral("cs.RO")});
    }

    void readJsonlBadLinesCounted()
    {
        DataSpec spec;
        spec.maxBadShare = 0.5;
        ReadReport report;
        const fs::path file = write(QStringLiteral("bad.jsonl"), kBadJsonl);
        const auto r = readPapers(file, spec, &report);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(r->size(), size_t(10));
        QCOMPARE(report.lines, 15);
        QCOMPARE(report.rows, 10);
        QCOMPARE(report.bad, 5);
        QCOMPARE(int(report.firstErrors.size()), 5);
        const QString f = q(file.string());
        const QStringList expected = {
            f + QStringLiteral(":3: bad JSON at column"), f + QStringLiteral(":5: no \"title\""),
            f + QStringLiteral(":7: empty \"categories\""), f + QStringLiteral(":9: not a JSON object"),
            f + QStringLiteral(":12: \"title\" is a number")};
        for (int i = 0; i < 5; ++i)
            QVERIFY2(q(report.firstErrors[size_t(i)]).startsWith(expected[i]), report.firstErrors[size_t(i)].c_str());
        QCOMPARE(q(r->at(2).id), QStringLiteral("g4"));
    }

    // simdjson's fast path (data/fastpaper.h) and the SAX reader alone read the same papers and report the same
    // problems: on the 5k sample, on the bad lines above, and on lines only the SAX reader should take or word.
    void fastAndSaxReadersAgree()
    {
        if (!FastPaperParser::available())
            QSKIP("built without simdjson: every line goes through the SAX reader");
        Paper taken;
        QVERIFY(FastPaperParser::create(DataSpec{}, true, true)
                    ->parse(R"({"id": "a", "title": "T", "categories": "cs.CL"})", taken));
        QCOMPARE(q(taken.title), QStringLiteral("T"));
        QByteArray tricky = kBadJsonl;
        tricky += "{\"id\": 77, \"title\": \"Numeric id\", \"categories\": [\"cs.CL\", \"cs.LG stat.ML\"]}\n"
                  "{\"id\": \"e1\", \"title\": \"Esc \\u00e9 \\ud83d\\ude00 \\\"q\\\" \\n\", \"categories\": \"cs.CL\", \"x\": {\"title\": 1}}\n"
                  "{\"id\": \"d1\", \"title\": \"First\", \"title\": \"Second\", \"categories\": \"cs.CL\"}\n"
                  "{\"id\": \"n1\", \"title\": null, \"categories\": \"cs.CL\"}\n"
                  "{\"id\": \"c1\", \"title\": \"Cats\", \"categories\": [\"cs.CL\", 3]}\n"
                  "{\"id\": \"t1\", \"title\": \"Trailing\", \"categories\": \"cs.CL\"} x\n"
                  "{\"id\": \"u1\", \"title\": \"Lone \\ud83d surrogate\", \"categories\": \"cs.CL\"}\n"
                  "{\"id\": \"b1\", \"title\": \"Big\", \"n\": 123456789012345678901234567890, \"categories\": \"cs.CL\"}\n";
        std::vector<fs::path> files = {write(QStringLiteral("tricky.jsonl"), tricky)};
        const fs::path sample = resolveDataPath("arxiv/arxiv-sample-5k.jsonl");
        if (fs::exists(sample))
            files.push_back(sample);
        for (const auto &file : files) {
            DataSpec spec;
            spec.maxBadShare = 1;
            ReadReport fastReport, saxReport;
            ReadNeeds saxOnly;
            saxOnly.fastJson = false;
            const auto fast = readPaperFiles({file}, spec, &fastReport);
            const auto sax = readPaperFiles({file}, spec, &saxReport, saxOnly);
            QVERIFY(fast.ok() && sax.ok());
            QCOMPARE(fast->size(), sax->size());
            for (size_t i = 0; i < fast->size(); ++i) {
                const Paper &a = fast->at(i), &b = sax->at(i);
                QVERIFY2(a.id == b.id && a.title == b.title && a.abstract == b.abstract && a.categories == b.categories,
                         (a.id + " / " + b.id + ": " + a.title + " / " + b.title).c_str());
            }
            QCOMPARE(fastReport.bad, saxReport.bad);
            QCOMPARE(fastReport.duplicates, saxReport.duplicates);
            QVERIFY(fastReport.firstErrors == saxReport.firstErrors);
            if (file == files.front())
                QVERIFY2(fast->size() >= 12 && fastReport.bad >= 5, std::to_string(fastReport.bad).c_str());
        }
    }

    void readJsonlBadShare_data()
    {
        QTest::addColumn<double>("maxBadShare");
        QTest::addColumn<bool>("ok");
        QTest::newRow("default 1%") << 0.01 << false;
        QTest::newRow("zero") << 0.0 << false;
        QTest::newRow("just under 5/15") << 0.33 << false;
        QTest::newRow("just over 5/15") << 0.34 << true;
        QTest::newRow("half") << 0.5 << true;
    }
    void readJsonlBadShare()
    {
        QFETCH(double, maxBadShare);
        QFETCH(bool, ok);
        DataSpec spec;
        spec.maxBadShare = maxBadShare;
        ReadReport report;
        const fs::path file = write(QStringLiteral("bad.jsonl"), kBadJsonl);
        const auto r = readPapers(file, spec, &report);
        QCOMPARE(r.ok(), ok);
        QCOMPARE(report.bad, 5); // counted either way
        if (!ok) {
            const QString m = q(r.message());
            QVERIFY2(m.contains(q(file.string())), qPrintable(m));
            QVERIFY2(m.contains(QStringLiteral("5 lines could not be read")), qPrintable(m));
            // the key as experiment files spell it
            QVERIFY2(m.contains(QStringLiteral("more than data.max_bad_share = ")), qPrintable(m));
            QVERIFY2(m.contains(QStringLiteral("raise data.max_bad_share")), qPrintable(m));
            QVERIFY2(m.contains(q(file.string()) + QStringLiteral(":3: bad JSON")), qPrintable(m));
        }
    }

    void canonicalId_data()
    {
        QTest::addColumn<QString>("id");
        QTest::addColumn<QString>("expected");
        QTest::newRow("new style, version") << QStringLiteral("2101.00001v2") << QStringLiteral("2101.00001");
        QTest::newRow("four digits, version") << QStringLiteral("0704.0001v10") << QStringLiteral("0704.0001");
        QTest::newRow("no version") << QStringLiteral("2101.00001") << QStringLiteral("2101.00001");
        QTest::newRow("old style") << QStringLiteral("hep-th/9901001v1") << QStringLiteral("hep-th/9901001");
        QTest::newRow("old style with class")
            << QStringLiteral("math.GT/0309136v3") << QStringLiteral("math.GT/0309136");
        QTest::newRow("not arXiv") << QStringLiteral("doc12v3") << QStringLiteral("doc12v3");
        QTest::newRow("v without number") << QStringLiteral("2101.00001v") << QStringLiteral("2101.00001v");
        QTest::newRow("a line number") << QStringLiteral("17") << QStringLiteral("17");
    }
    void canonicalId()
    {
        QFETCH(QString, id);
        QFETCH(QString, expected);
        QCOMPARE(q(canonicalPaperId(id.toStdString())), expected);
    }

    // A paper listed twice (another version, or the same line again) is read once: its copies would otherwise
    // land in different splits and the test split would hold training papers.
    void readDuplicates()
    {
        const QByteArray jsonl = "{\"id\": \"2101.00001\", \"title\": \"First\", \"categories\": \"cs.CL\"}\n"
                                 "{\"id\": \"2101.00002\", \"title\": \"Second\", \"categories\": \"cs.LG\"}\n"
                                 "{\"id\": \"2101.00001v2\", \"title\": \"First, v2\", \"categories\": \"cs.CV\"}\n"
                                 "{\"title\": \"No id\", \"categories\": \"cs.CL\"}\n"
                                 "{\"id\": \"2101.00002\", \"title\": \"Second again\", \"categories\": \"cs.LG\"}\n"
                                 "{\"id\": \"2101.00003v1\", \"title\": \"Third\", \"categories\": \"cs.LG\"}\n";
        ReadReport report;
        const fs::path file = write(QStringLiteral("twice.jsonl"), jsonl);
        const auto r = readPapers(file, DataSpec{}, &report);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(readCounts(report), (QList<qint64>{6, 4, 0, 2}));
        const QString f = q(file.string());
        QCOMPARE(qList(report.firstDuplicates),
                 (QStringList{f + QStringLiteral(":3: paper 2101.00001v2 again, first at line 1"),
                              f + QStringLiteral(":5: paper 2101.00002 again, first at line 2")}));
        std::vector<std::string> ids;
        for (const auto &p : *r)
            ids.push_back(p.id);
        QCOMPARE(ids, (std::vector<std::string>{"2101.00001", "2101.00002", "4", "2101.00003"}));
        QCOMPARE(q(r->front().title), QStringLiteral("First")); // the first copy is kept

        ReadReport csvReport;
        const auto csv = readPapers(write(QStringLiteral("twice.csv"), "id,title,categories\na,A,cs.CL\na,B,cs.LG\n"),
                                    DataSpec{}, &csvReport);
        QVERIFY(csv.ok());
        QCOMPARE(csv->size(), size_t(1));
        QCOMPARE(csvReport.duplicates, 1);
        QCOMPARE(int(csvReport.firstDuplicates.size()), 1);
    }

    // A file that is one JSON array of papers used to fail as "1 lines could not be read".
    void readJsonArray_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("pretty-printed")
            << QByteArray("[\n  {\"id\": \"a1\", \"title\": \"One\", \"categories\": \"cs.CL\"},\n"
                          "  {\"id\": \"a2\", \"title\": \"Two\", \"categories\": [\"cs.LG\", \"cs.AI\"],\n"
                          "   \"extra\": [1, {\"title\": \"nested\"}], \"more\": {\"categories\": [\"x\"]}}\n]\n");
        QTest::newRow("one line, spaces and a byte order mark first")
            << QByteArray("\xEF\xBB\xBF  [{\"id\": \"a1\", \"title\": \"One\", \"categories\": \"cs.CL\"}, "
                          "{\"id\": \"a2\", \"title\": \"Two\", \"categories\": \"cs.LG cs.AI\"}]");
        QTest::newRow("blank lines first, CRLF")
            << QByteArray("\r\n\r\n[\r\n{\"id\": \"a1\", \"title\": \"One\", \"categories\": \"cs.CL\"},\r\n"
                          "{\"id\": \"a2\", \"title\": \"Two\",\r\n \"categories\": \"cs.LG cs.AI\"}\r\n]");
    }
    void readJsonArray()
    {
        QFETCH(QByteArray, bytes);
        ReadReport report;
        const auto r = readPapers(write(QStringLiteral("array.json"), bytes), DataSpec{}, &report);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(readCounts(report), (QList<qint64>{2, 2, 0, 0}));
        QCOMPARE(q(r->at(0).id), QStringLiteral("a1"));
        QCOMPARE(q(r->at(0).title), QStringLiteral("One"));
        QCOMPARE(q(r->at(1).title), QStringLiteral("Two")); // the nested "title" did not overwrite it
        QCOMPARE(qList(r->at(1).categories), (QStringList{QStringLiteral("cs.LG"), QStringLiteral("cs.AI")}));
    }

    void readJsonArrayBadElements()
    {
        const QByteArray bytes = "[{\"id\": \"a1\", \"title\": \"One\", \"categories\": \"cs.CL\"},\n"
                                 " 5,\n"
                                 " {\"categories\": \"cs.CL\"},\n"
                                 " [1, [2]],\n"
                                 " {\"title\": \"No id\", \"categories\": \"cs.LG\"},\n"
                                 " {\"id\": \"a1\", \"title\": \"One again\", \"categories\": \"cs.CL\"},\n"
                                 " {\"id\": \"a3\", \"title\": 3, \"categories\": \"cs.CL\"}]\n";
        DataSpec spec;
        spec.maxBadShare = 1.0;
        ReadReport report;
        const fs::path file = write(QStringLiteral("mixed.json"), bytes);
        const auto r = readPapers(file, spec, &report);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(readCounts(report), (QList<qint64>{7, 2, 4, 1}));
        const QString f = q(file.string());
        QCOMPARE(qList(report.firstErrors),
                 (QStringList{f + QStringLiteral(": element 2: not a JSON object"),
                              f + QStringLiteral(": element 3: no \"title\""),
                              f + QStringLiteral(": element 4: not a JSON object"),
                              f + QStringLiteral(": element 7: \"title\" is a number, not a string")}));
        QCOMPARE(qList(report.firstDuplicates),
                 QStringList{f + QStringLiteral(": element 6: paper a1 again, first at element 1")});
        QCOMPARE(q(r->at(1).id), QStringLiteral("5")); // no id: its element number

        // Over the limit of bad elements, the message counts elements.
        spec.maxBadShare = 0.1;
        const auto refused = readPapers(file, spec);
        QVERIFY(!refused.ok());
        QVERIFY2(q(refused.message()).contains(QStringLiteral("4 elements could not be read")),
                 refused.message().c_str());
    }

    void readJsonArrayErrors_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("cut short")
            << QByteArray("[{\"title\": \"T\", \"categories\": \"cs.CL\"},\n{\"title\": \"U\"")
            << QStringList{QStringLiteral("bad JSON at line 2"), QStringLiteral("one JSON array"),
                           QStringLiteral("jq -c '.[]' in.json > out.jsonl")};
        QTest::newRow("text after the array")
            << QByteArray("[{\"title\": \"T\", \"categories\": \"cs.CL\"}]\n"
                          "{\"title\": \"U\", \"categories\": \"x\"}\n")
            << QStringList{QStringLiteral("bad JSON at line 2"), QStringLiteral("jq -c")};
        QTest::newRow("empty array") << QByteArray("[ ]\n") << QStringList{QStringLiteral("its array is empty")};
    }
    void readJsonArrayErrors()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QStringList, expected);
        const fs::path file = write(QStringLiteral("broken.json"), bytes);
        const QString m = readError(file);
        QVERIFY2(m.startsWith(q(file.string()) + QStringLiteral(": ")), qPrintable(m)); // failed, naming the file
        for (const auto &e : expected)
            QVERIFY2(m.contains(e), qPrintable(m));
    }

    void readJsonArrayLimit()
    {
        DataSpec spec;
        spec.limit = 1;
        ReadReport report;
        const auto r = readPapers(write(QStringLiteral("limited.json"),
                                        "[{\"title\": \"T\", \"categories\": \"cs.CL\"}, {\"title\": \"U\", "
                                        "\"categories\": \"cs.LG\"}, {\"broken"),
                                  spec, &report);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str()); // stops before the broken part
        QCOMPARE(r->size(), size_t(1));
        QCOMPARE(q(r->at(0).id), QStringLiteral("1"));
    }

    void readLimit()
    {
        DataSpec spec;
        spec.limit = 2;
        ReadReport report;
        const auto r = readPapers(write(QStringLiteral("good.jsonl"), kGoodJsonl), spec, &report);
        QVERIFY(r.ok());
        QCOMPARE(r->size(), size_t(2));
        QCOMPARE(report.rows, 2);
        QCOMPARE(q(r->at(1).title), QStringLiteral("No id here"));
    }

    void readZstd_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QByteArray>("bytes");
        const int half = int(kGoodJsonl.indexOf("{\"id\": \"x\""));
        QTest::newRow("one frame") << QStringLiteral("good.jsonl.zst") << zstdCompress(kGoodJsonl);
        QTest::newRow("two frames, split mid-file")
            << QStringLiteral("frames.jsonl.zst")
            << zstdCompress(kGoodJsonl.left(half)) + zstdCompress(kGoodJsonl.mid(half));
        QTest::newRow("no .zst in the name") << QStringLiteral("sniffed.jsonl") << zstdCompress(kGoodJsonl, 19);
    }
    void readZstd()
    {
        QFETCH(QString, name);
        QFETCH(QByteArray, bytes);
        QVERIFY(!bytes.isEmpty());
        const auto plain = readPapers(write(QStringLiteral("good.jsonl"), kGoodJsonl), DataSpec{});
        const auto packed = readPapers(write(name, bytes), DataSpec{});
        QVERIFY2(packed.ok(), packed.ok() ? "" : packed.message().c_str());
        QCOMPARE(packed->size(), plain->size());
        for (size_t i = 0; i < plain->size(); ++i) {
            QCOMPARE(q(packed->at(i).id), q(plain->at(i).id));
            QCOMPARE(q(packed->at(i).title), q(plain->at(i).title));
            QCOMPARE(qList(packed->at(i).categories), qList(plain->at(i).categories));
        }
    }

    // A pipe (a process substitution, /dev/stdin) cannot be rewound after its first bytes are read to tell zstd
    // from text: they are read again, so no line is lost (the first paper was) and zstd decodes (it said corrupt).
    void readsAPipe()
    {
        const std::string text = "{\"id\": \"1\", \"title\": \"A\"}\n{\"id\": \"2\", \"title\": \"B\"}\n";
        std::string packed(ZSTD_compressBound(text.size()), '\0');
        packed.resize(ZSTD_compress(packed.data(), packed.size(), text.data(), text.size(), 3));
        for (const std::string &bytes : {text, packed}) {
            const QString fifo = m_tmp + QStringLiteral("/pipe");
            QFile::remove(fifo);
            QVERIFY(::mkfifo(fifo.toLocal8Bit().constData(), 0600) == 0);
            std::thread writer([&] { std::ofstream(fifo.toStdString(), std::ios::binary) << bytes; });
            auto source = openByteSource(fifo.toStdString(), false);
            QVERIFY(source.ok());
            LineReader reader(**source);
            std::string_view line;
            std::string all;
            while (reader.next(line))
                all += std::string(line) + "\n";
            writer.join();
            QVERIFY2(reader.error().empty(), reader.error().c_str());
            QCOMPARE(all, text);
        }
    }

    // Many decoder buffers and line buffers' worth: lines crossing every kind of boundary.
    void readZstdSample()
    {
        const fs::path sample = resolveDataPath("arxiv/arxiv-sample-5k.jsonl");
        QFile f(QString::fromStdString(sample.string()));
        if (!f.open(QIODevice::ReadOnly))
            QSKIP("the 5k sample is not there (LABBOOK_DATA)");
        const QByteArray packed = zstdCompress(f.readAll(), 1);
        const auto plain = readPapers(sample, DataSpec{});
        const auto unpacked = readPapers(write(QStringLiteral("sample.jsonl.zst"), packed), DataSpec{});
        QVERIFY(plain.ok());
        QVERIFY2(unpacked.ok(), unpacked.ok() ? "" : unpacked.message().c_str());
        QCOMPARE(unpacked->size(), size_t(5000));
        for (size_t i = 0; i < plain->size(); ++i) {
            if (plain->at(i).id != unpacked->at(i).id || plain->at(i).abstract != unpacked->at(i).abstract)
                QFAIL(qPrintable(QStringLiteral("paper %1 differs").arg(i)));
        }
    }

    void readZstdCorrupt_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        QByteArray bigger;
        for (int i = 0; i < 200; ++i)
            bigger += kGoodJsonl + '\n';
        const QByteArray good = zstdCompress(bigger);
        QByteArray flipped = good;
        for (int i = 8; i < flipped.size() - 8; i += 7)
            flipped[i] = char(flipped[i] ^ 0x5a);
        QTest::newRow("not zstd") << QByteArray("this is plain text, not zstd\n")
                                  << QStringLiteral("corrupt zstd data");
        QTest::newRow("damaged") << flipped << QStringLiteral("zstd");
        QTest::newRow("truncated") << good.left(good.size() / 2) << QStringLiteral("ends in the middle of a frame");
    }
    void readZstdCorrupt()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        const fs::path file = write(QStringLiteral("corrupt.jsonl.zst"), bytes);
        const auto r = readPapers(file, DataSpec{});
        QVERIFY(!r.ok());
        const QString m = q(r.message());
        QVERIFY2(m.startsWith(q(file.string())), qPrintable(m));
        QVERIFY2(m.contains(expected), qPrintable(m));
    }

    void readCsv()
    {
        const QByteArray csv = "id,title,abstract,categories\r\n"
                               "1,\"Commas, in a title\",\"He said \"\"hi\"\".\",cs.CL cs.LG\r\n"
                               "2,Plain title,\"Line one\r\nline two\",math.CO\r\n"
                               "\r\n"
                               "\"3\",\"Quoted \"\"id\"\" row\",,\"hep-th\"\n"
                               ",A \"bare\" quote,abs,cs.RO"; // no id, no final newline
        ReadReport report;
        const auto r = readPapers(write(QStringLiteral("papers.csv"), csv), DataSpec{}, &report);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(r->size(), size_t(4));
        QCOMPARE(report.lines, 4); // records, not physical lines
        const auto &p = *r;
        QCOMPARE(q(p[0].title), QStringLiteral("Commas, in a title"));
        QCOMPARE(q(p[0].abstract), QStringLiteral("He said \"hi\"."));
        QCOMPARE(qList(p[0].categories), (QStringList{QStringLiteral("cs.CL"), QStringLiteral("cs.LG")}));
        QCOMPARE(q(p[1].abstract), QStringLiteral("Line one\nline two"));
        QCOMPARE(q(p[2].id), QStringLiteral("3"));
        QCOMPARE(q(p[2].title), QStringLiteral("Quoted \"id\" row"));
        QCOMPARE(q(p[2].abstract), QString());
        QCOMPARE(q(p[3].id), QStringLiteral("7")); // the line the record starts on
        QCOMPARE(q(p[3].title), QStringLiteral("A \"bare\" quote"));
    }

    void readTsvMapping()
    {
        const QByteArray tsv = "labels\tsummary\tname\tpaper\textra\n"
                               "cs.CV cs.LG\tAn \"abstract\", with commas\tA title\tP1\tx\n"
                               "astro-ph.GA\t\tOnly a title\tP2\ty\n";
        DataSpec spec;
        spec.idColumn = "paper";
        spec.titleColumn = "name";
        spec.abstractColumn = "summary";
        spec.categoriesColumn = "labels";
        const auto r = readPapers(write(QStringLiteral("papers.tsv"), tsv), spec);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(r->size(), size_t(2));
        QCOMPARE(q(r->at(0).id), QStringLiteral("P1"));
        QCOMPARE(q(r->at(0).title), QStringLiteral("A title"));
        QCOMPARE(q(r->at(0).abstract), QStringLiteral("An \"abstract\", with commas"));
        QCOMPARE(qList(r->at(0).categories), (QStringList{QStringLiteral("cs.CV"), QStringLiteral("cs.LG")}));
        QCOMPARE(q(r->at(1).id), QStringLiteral("P2"));
        QCOMPARE(q(r->at(1).abstract), QString());
    }

    void readCsvBadRecords()
    {
        const QByteArray csv = "id,title,categories\n"
                               "1,Good,cs.CL\n"
                               "2,Too,many,fields,cs.CL\n" // line 3
                               "3,,cs.CL\n"                // line 4: empty title
                               "4,Good again,cs.LG\n"
                               "5,\"Never closed,cs.CL\n" // line 6, swallows the rest
                               "6,Lost,cs.CL\n";
        DataSpec spec;
        spec.maxBadShare = 1.0;
        ReadReport report;
        const fs::path file = write(QStringLiteral("bad.csv"), csv);
        const auto r = readPapers(file, spec, &report);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(r->size(), size_t(2));
        QCOMPARE(report.bad, 3);
        QCOMPARE(int(report.firstErrors.size()), 3);
        const QString f = q(file.string());
        QVERIFY2(q(report.firstErrors[0]).startsWith(f + QStringLiteral(":3: has 5 fields, the header has 3")),
                 report.firstErrors[0].c_str());
        QVERIFY2(q(report.firstErrors[1]).startsWith(f + QStringLiteral(":4: empty \"title\"")),
                 report.firstErrors[1].c_str());
        QVERIFY2(q(report.firstErrors[2]).startsWith(f + QStringLiteral(":6: a quoted field")),
                 report.firstErrors[2].c_str());

        // A quote closed on a later line: the record spans both, and the message names the second line too.
        ReadReport joined;
        const fs::path two = write(QStringLiteral("joined.csv"),
                                   "id,title,categories\n0,Fine,cs.CL\n1,\"Open,cs.CL\n2,Lost\",x,cs.LG\n");
        QVERIFY(readPapers(two, spec, &joined).ok());
        QCOMPARE(joined.bad, 1);
        QVERIFY2(q(joined.firstErrors[0]).startsWith(q(two.string()) + QStringLiteral(":3: has 4 fields, the header has 3 "
                                                                                       "(it runs to line 4: a quote left open")),
                 joined.firstErrors[0].c_str());
    }

    void readMissingColumn_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<int>("text");
        QTest::addColumn<QString>("expected"); // empty: reads fine
        QTest::newRow("csv without categories")
            << QStringLiteral("nocat.csv") << QByteArray("id,title,abstract,subjects\n1,T,A,cs.CL\n")
            << int(TextField::Title)
            << QStringLiteral("no column \"categories\" (data.columns.categories); its columns are \"id\", \"title\", "
                              "\"abstract\", \"subjects\"");
        QTest::newRow("csv without a header row")
            << QStringLiteral("noheader.csv") << (QByteArray("2101.00001,") + QByteArray(80, 'x') + ",cs.CL\n2,T,cs.CL\n")
            << int(TextField::Title)
            << (QStringLiteral("its columns are \"2101.00001\", \"") + QString(40, QLatin1Char('x')) +
                QStringLiteral("...\", \"cs.CL\""));
        QTest::newRow("tsv without title")
            << QStringLiteral("notitle.tsv") << QByteArray("id\theadline\tcategories\n1\tT\tcs.CL\n")
            << int(TextField::Title) << QStringLiteral("no column \"title\" (data.columns.title)");
        QTest::newRow("abstract needed") << QStringLiteral("noabs.csv") << QByteArray("title,categories\nT,cs.CL\n")
                                         << int(TextField::TitleAbstract)
                                         << QStringLiteral("no column \"abstract\" (data.columns.abstract)");
        QTest::newRow("abstract not needed") << QStringLiteral("noabs.csv") << QByteArray("title,categories\nT,cs.CL\n")
                                             << int(TextField::Title) << QString();
        QTest::newRow("wrong separator") << QStringLiteral("tabs.csv")
                                         << QByteArray("id\ttitle\tcategories\n1\tT\tcs.CL\n") << int(TextField::Title)
                                         << QStringLiteral("single column");
    }
    void readMissingColumn()
    {
        QFETCH(QString, name);
        QFETCH(QByteArray, bytes);
        QFETCH(int, text);
        QFETCH(QString, expected);
        DataSpec spec;
        spec.text = TextField(text);
        const fs::path file = write(name, bytes);
        const auto r = readPapers(file, spec);
        QCOMPARE(r.ok(), expected.isEmpty());
        if (!r.ok()) {
            const QString m = q(r.message());
            QVERIFY2(m.startsWith(q(file.string())), qPrintable(m));
            QVERIFY2(m.contains(expected), qPrintable(m));
        }
    }

    void readErrors_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("format");
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing file") << QStringLiteral("nowhere.jsonl") << QStringLiteral("auto")
                                      << QStringLiteral("no such file. Check data.path");
        QTest::newRow("a folder") << QStringLiteral("folder.jsonl") << QStringLiteral("auto")
                                  << QStringLiteral("is a folder");
        QTest::newRow("a folder, no extension") << QStringLiteral("shards") << QStringLiteral("auto")
                                                << QStringLiteral("is a folder; data.path must name a file");
        QTest::newRow("unknown extension")
            << QStringLiteral("papers.txt") << QStringLiteral("auto") << QStringLiteral("cannot tell the format");
        QTest::newRow("empty file") << QStringLiteral("empty.jsonl") << QStringLiteral("auto")
                                    << QStringLiteral("no papers");
    }
    void readErrors()
    {
        QFETCH(QString, name);
        QFETCH(QString, format);
        QFETCH(QString, expected);
        write(QStringLiteral("good.jsonl"), kGoodJsonl);
        write(QStringLiteral("papers.txt"), kGoodJsonl);
        write(QStringLiteral("empty.jsonl"), "\n  \n");
        QDir(m_tmp).mkpath(QStringLiteral("folder.jsonl"));
        QDir(m_tmp).mkpath(QStringLiteral("shards"));
        DataSpec spec;
        spec.format = lbk::fromWord<lbk::DataFormat>(format.toStdString()).value();
        const fs::path file = fs::path(m_tmp.toStdString()) / name.toStdString();
        const auto r = readPapers(file, spec);
        QVERIFY(!r.ok());
        const QString m = q(r.message());
        QVERIFY2(m.contains(expected), qPrintable(m));
        if (format == QLatin1String("auto"))
            QVERIFY2(m.contains(q(file.string())), qPrintable(m));
    }

    void readFormat_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("format");
        QTest::addColumn<QByteArray>("bytes");
        const QByteArray jsonl = "{\"title\": \"T\", \"categories\": \"cs.CL\"}\n";
        const QByteArray tsv = "title\tcategories\nT\tcs.CL\n";
        QTest::newRow(".ndjson") << QStringLiteral("a.ndjson") << QStringLiteral("auto") << jsonl;
        QTest::newRow(".json") << QStringLiteral("a.json") << QStringLiteral("auto") << jsonl;
        QTest::newRow("upper-case .CSV") << QStringLiteral("a.CSV") << QStringLiteral("auto")
                                         << QByteArray("title,categories\nT,cs.CL\n");
        QTest::newRow(".tsv.zst") << QStringLiteral("a.tsv.zst") << QStringLiteral("auto") << zstdCompress(tsv);
        QTest::newRow("explicit tsv") << QStringLiteral("a.txt") << QStringLiteral("tsv") << tsv;
        QTest::newRow("explicit beats extension") << QStringLiteral("b.csv") << QStringLiteral("jsonl") << jsonl;
    }
    void readFormat()
    {
        QFETCH(QString, name);
        QFETCH(QString, format);
        QFETCH(QByteArray, bytes);
        DataSpec spec;
        spec.format = lbk::fromWord<lbk::DataFormat>(format.toStdString()).value();
        const auto r = readPapers(write(name, bytes), spec);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(r->size(), size_t(1));
        QCOMPARE(q(r->at(0).title), QStringLiteral("T"));
        QCOMPARE(qList(r->at(0).categories), QStringList{QStringLiteral("cs.CL")});
    }

    void readSample5k()
    {
        ReadReport report;
        const auto r = readPapers(resolveDataPath("arxiv/arxiv-sample-5k.jsonl"), DataSpec{}, &report);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(r->size(), size_t(5000));
        QCOMPARE(report.lines, 5000);
        QCOMPARE(report.bad, 0);
        QCOMPARE(q(r->front().id), QStringLiteral("2603.12011"));
        QCOMPARE(qList(r->front().categories), QStringList{QStringLiteral("cs.AI")});
        std::set<std::string> ids;
        for (const auto &p : *r) {
            QVERIFY(!p.title.empty() && !p.categories.empty());
            ids.insert(p.id);
        }
        QCOMPARE(ids.size(), size_t(5000));
    }

    // A second read of the same files comes from the cache entry, papers and report alike; a changed file is a new
    // entry; a damaged entry is named, read anew and rewritten.
    void paperCacheRoundTrip()
    {
        const fs::path data = write(QStringLiteral("cached.jsonl"),
                                    "{\"id\": \"2101.00001\", \"title\": \"One\", \"abstract\": \"A.\", "
                                    "\"categories\": \"cs.LG stat.ML\"}\n"
                                    "not json\n"
                                    "{\"id\": \"2101.00002\", \"title\": \"Two\", \"abstract\": \"B.\", "
                                    "\"categories\": \"math.CO\"}\n"
                                    "{\"id\": \"2101.00001v2\", \"title\": \"One again\", \"categories\": \"cs.LG\"}\n");
        const fs::path cache = fs::path(m_tmp.toStdString()) / "paper-cache";
        DataSpec spec;
        spec.maxBadShare = 0.5;
        const ReadNeeds needs;
        const auto readCached = [&](PaperCacheUse &use, ReadReport &report) {
            return readPaperFilesCached({data}, spec, needs, cache, report, use);
        };

        ReadReport first, second;
        PaperCacheUse miss, hit;
        const auto read = readCached(miss, first);
        QVERIFY2(read.ok(), qPrintable(q(read.ok() ? std::string() : read.message())));
        QVERIFY(!miss.hit);
        QVERIFY2(miss.problem.empty(), miss.problem.c_str());
        const fs::path entry = paperCachePath(cache, {data}, spec, needs);
        QVERIFY(fs::exists(entry));
        const auto again = readCached(hit, second);
        QVERIFY(again.ok());
        QVERIFY(hit.hit);
        QVERIFY(hit.entry == entry && miss.entry == entry);
        QCOMPARE(readCounts(second), readCounts(first));
        QCOMPARE(readCounts(second), (QList<qint64>{4, 2, 1, 1}));
        QCOMPARE(qList(second.firstErrors), qList(first.firstErrors));
        QCOMPARE(qList(second.firstDuplicates), qList(first.firstDuplicates));
        QCOMPARE(again->size(), read->size());
        for (size_t i = 0; i < read->size(); ++i) {
            QCOMPARE(q((*again)[i].id), q((*read)[i].id));
            QCOMPARE(q((*again)[i].title), q((*read)[i].title));
            QCOMPARE(q((*again)[i].abstract), q((*read)[i].abstract));
            QCOMPARE(qList((*again)[i].categories), qList((*read)[i].categories));
        }

        // What the reader needs is part of the key: a title-only read is an entry of its own, without abstracts.
        QVERIFY(paperCachePath(cache, {data}, spec, ReadNeeds{true, false}) != entry);
        spec.limit = 1;
        QVERIFY(paperCachePath(cache, {data}, spec, needs) != entry);
        spec.limit = 0;

        // A byte changed inside the entry: named, read anew, the entry written again.
        {
            std::fstream f(entry, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(40);
            f.put('\x7f');
        }
        const auto damaged = loadPaperCache(entry);
        QVERIFY(!damaged.ok());
        QVERIFY2(damaged.message().find(entry.string()) != std::string::npos, damaged.message().c_str());
        PaperCacheUse afterDamage, rewritten;
        ReadReport r3, r4;
        QVERIFY(readCached(afterDamage, r3).ok());
        QVERIFY(!afterDamage.hit);
        QVERIFY2(afterDamage.problem.find("damaged") != std::string::npos, afterDamage.problem.c_str());
        QCOMPARE(readCounts(r3), readCounts(first));
        QVERIFY(readCached(rewritten, r4).ok());
        QVERIFY(rewritten.hit);

        // Cut short: named as well.
        fs::resize_file(entry, fs::file_size(entry) / 2);
        QVERIFY(!loadPaperCache(entry).ok());

        // The file changed (a paper added): a new entry, the new paper read.
        QFile f(QString::fromStdString(data.string()));
        QVERIFY(f.open(QIODevice::Append));
        f.write("{\"id\": \"2101.00003\", \"title\": \"Three\", \"categories\": \"cs.CL\"}\n");
        f.close();
        QVERIFY(paperCachePath(cache, {data}, spec, needs) != entry);
        PaperCacheUse changed;
        ReadReport r5;
        const auto more = readCached(changed, r5);
        QVERIFY(more.ok());
        QVERIFY(!changed.hit);
        QCOMPARE(more->size(), size_t(3));
    }

    // An entry that cannot be written (the cache folder is a file) is a problem to report, never a failed read.
    void paperCacheUnwritable()
    {
        const fs::path data = write(QStringLiteral("unwritable.jsonl"),
                                    "{\"id\": \"1\", \"title\": \"One\", \"categories\": \"cs.LG\"}\n");
        const fs::path blocker = write(QStringLiteral("not-a-folder"), "x");
        PaperCacheUse use;
        ReadReport report;
        const auto read = readPaperFilesCached({data}, DataSpec{}, ReadNeeds{}, blocker, report, use);
        QVERIFY(read.ok());
        QCOMPARE(read->size(), size_t(1));
        QVERIFY(!use.hit);
        QVERIFY2(use.problem.find("cannot be written") != std::string::npos, use.problem.c_str());
    }

    // Token ids come back as written; the key follows the tokenizer's bytes, its settings and every text; an entry
    // for another count of texts, or a damaged one, is named.
    void tokenCacheRoundTrip()
    {
        const fs::path model = write(QStringLiteral("tok.model"), "pieces");
        const fs::path otherModel = write(QStringLiteral("tok2.model"), "other pieces");
        const fs::path cache = fs::path(m_tmp.toStdString()) / "token-cache";
        const std::vector<std::string> texts = {"a title", "another title", ""};
        const fs::path entry = tokenCachePath(cache, model, "{\"max_tokens\":48}", texts);
        QVERIFY(!entry.empty());
        QVERIFY(tokenCachePath(cache, model, "{\"max_tokens\":48}", {"a title", "another title!", ""}) != entry);
        QVERIFY(tokenCachePath(cache, model, "{\"max_tokens\":32}", texts) != entry);
        QVERIFY(tokenCachePath(cache, otherModel, "{\"max_tokens\":48}", texts) != entry);
        QVERIFY(tokenCachePath(cache, fs::path(m_tmp.toStdString()) / "missing.model", "{}", texts).empty());

        const std::vector<std::vector<int>> tokens = {{5, 6}, {5, 7, 6}, {}};
        QVERIFY(saveTokenCache(entry, tokens));
        const auto back = loadTokenCache(entry, texts.size());
        QVERIFY2(back.ok(), back.ok() ? "" : back.message().c_str());
        QVERIFY(*back == tokens);
        const auto wrongCount = loadTokenCache(entry, 2);
        QVERIFY(!wrongCount.ok());
        QVERIFY(wrongCount.message().find(entry.string()) != std::string::npos);
        {
            std::fstream f(entry, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(20);
            f.put('\x7f');
        }
        const auto damaged = loadTokenCache(entry, texts.size());
        QVERIFY(!damaged.ok());
        QVERIFY2(damaged.message().find("damaged") != std::string::npos, damaged.message().c_str());
    }

    void resolvesDataPath_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("root");
        QTest::addColumn<QString>("env");
        QTest::addColumn<QString>("expected");
        QTest::newRow("absolute") << QStringLiteral("/x/y.jsonl") << QStringLiteral("/root") << QStringLiteral("/env")
                                  << QStringLiteral("/x/y.jsonl");
        QTest::newRow("relative, root given") << QStringLiteral("arxiv/a.jsonl") << QStringLiteral("/root")
                                              << QStringLiteral("/env") << QStringLiteral("/root/arxiv/a.jsonl");
        QTest::newRow("relative, from LABBOOK_DATA") << QStringLiteral("arxiv/a.jsonl") << QString()
                                                     << QStringLiteral("/env") << QStringLiteral("/env/arxiv/a.jsonl");
    }
    // data.path "shards/part-*.jsonl": every matching file, sorted, read as one corpus. A paper repeated in a
    // later shard is a duplicate naming the shard it was first in; papers without an id are told apart by their
    // shard; data.limit counts across the shards; a pattern that matches nothing names itself.
    void readsShardsThroughAPattern()
    {
        QDir(m_tmp).mkpath(QStringLiteral("shards"));
        write(QStringLiteral("shards/part-2.jsonl"), "{\"id\": \"2101.00003\", \"text\": \"c\"}\n"
                                                      "{\"id\": \"2101.00001v3\", \"text\": \"a again\"}\n"
                                                      "{\"text\": \"no id\"}\n");
        write(QStringLiteral("shards/part-1.jsonl"), "{\"id\": \"2101.00001\", \"text\": \"a\"}\n"
                                                      "{\"text\": \"no id\"}\n");
        write(QStringLiteral("shards/notes.txt"), "not a shard\n");
        const auto files = resolveDataFiles("shards/part-*.jsonl", m_tmp.toStdString());
        QVERIFY2(files.ok(), files.ok() ? "" : files.message().c_str());
        QCOMPARE(files->size(), size_t(2));
        QCOMPARE(q(files->front().filename().string()), QStringLiteral("part-1.jsonl"));
        DataSpec spec;
        spec.titleColumn = "text";
        ReadReport report;
        QVERIFY(!readPaperFiles(*files, spec).ok()); // a classifier needs categories
        const auto papers = readPaperFiles(*files, spec, &report, ReadNeeds{false});
        QVERIFY2(papers.ok(), papers.ok() ? "" : papers.message().c_str());
        std::vector<std::string> ids;
        for (const auto &p : *papers)
            ids.push_back(p.id);
        QCOMPARE(ids, (std::vector<std::string>{"2101.00001", "part-1.jsonl:2", "2101.00003", "part-2.jsonl:3"}));
        QCOMPARE(readCounts(report), (QList<qint64>{5, 4, 0, 1}));
        QCOMPARE(q(report.firstDuplicates.at(0)),
                 q(files->back().string()) + QStringLiteral(":2: paper 2101.00001v3 again, first at ") +
                     q(files->front().string()) + QStringLiteral(" line 1"));
        spec.limit = 3;
        QCOMPARE(readPaperFiles(*files, spec, nullptr, ReadNeeds{false})->size(), size_t(3));
        // A missing file after the first is said even when the limit is reached before it would be read.
        auto withMissing = *files;
        withMissing.push_back(fs::path(m_tmp.toStdString()) / "shards" / "part-3.jsonl");
        spec.limit = 1;
        const auto missing = readPaperFiles(withMissing, spec, nullptr, ReadNeeds{false});
        QVERIFY(!missing.ok());
        QVERIFY2(q(missing.message()).contains(QStringLiteral("part-3.jsonl: no such file")), missing.message().c_str());
        spec.limit = 3;
        // One file without a pattern; a pattern without a match.
        QCOMPARE(resolveDataFiles("shards/part-1.jsonl", m_tmp.toStdString())->size(), size_t(1));
        const auto none = resolveDataFiles("shards/*.jsonl.zst", m_tmp.toStdString());
        QVERIFY(!none.ok());
        QVERIFY2(q(none.message()).contains(QStringLiteral("no file matches")), none.message().c_str());
        // data.path as a list: each entry's files in turn, a file named twice listed once, a bad entry names itself.
        const auto listed = resolveDataFiles(std::vector<std::string>{"shards/part-2.jsonl", "shards/part-*.jsonl"},
                                             m_tmp.toStdString());
        QVERIFY2(listed.ok(), listed.ok() ? "" : listed.message().c_str());
        QCOMPARE(listed->size(), size_t(2));
        QCOMPARE(q(listed->front().filename().string()), QStringLiteral("part-2.jsonl"));
        QCOMPARE(q(listed->back().filename().string()), QStringLiteral("part-1.jsonl"));
        const auto badEntry = resolveDataFiles(std::vector<std::string>{"shards/part-1.jsonl", "elsewhere/*.jsonl"},
                                               m_tmp.toStdString());
        QVERIFY(!badEntry.ok());
        QVERIFY2(q(badEntry.message()).contains(QStringLiteral("elsewhere")), badEntry.message().c_str());
        DataSpec two;
        two.paths = {"shards/part-1.jsonl", "shards/part-2.jsonl"};
        QCOMPARE(q(dataSourcePath(two, m_tmp.toStdString()).string()),
                 QStringLiteral("shards/part-1.jsonl, shards/part-2.jsonl"));
    }

    void resolvesDataPath()
    {
        QFETCH(QString, path);
        QFETCH(QString, root);
        QFETCH(QString, env);
        QFETCH(QString, expected);
        const EnvGuard guard;
        qputenv("LABBOOK_DATA", env.toLocal8Bit());
        const fs::path got = resolveDataPath(path.toStdString(), root.toStdString());
        QCOMPARE(q(got.string()), expected);
    }

    // Without LABBOOK_DATA: ../shared/data beside the checkout, found by walking up from the executable or the
    // working directory.
    void defaultDataRootWalksUp()
    {
        std::error_code ec;
        const fs::path beside = fs::canonical(fs::path(LABBOOK_SOURCE_DIR) / ".." / "shared" / "data", ec);
        if (ec)
            QSKIP("no ../shared/data beside the checkout");
        const EnvGuard guard;
        const QString cwd = QDir::currentPath();
        qunsetenv("LABBOOK_DATA");
        QDir::setCurrent(QStringLiteral(LABBOOK_SOURCE_DIR "/core/data")); // in case the build is elsewhere
        const fs::path found = defaultDataRoot();
        const fs::path resolved = resolveDataPath("arxiv/arxiv-sample-5k.jsonl");
        QDir::setCurrent(cwd);
        QCOMPARE(q(found.string()), q(beside.string()));
        QCOMPARE(q(resolved.string()), q((beside / "arxiv" / "arxiv-sample-5k.jsonl").string()));
    }

    void paperTextField_data()
    {
        QTest::addColumn<QString>("title");
        QTest::addColumn<QString>("abstract");
        QTest::addColumn<int>("field");
        QTest::addColumn<QString>("expected");
        const QString t = QStringLiteral("A title"), a = QStringLiteral("An abstract.");
        QTest::newRow("title") << t << a << int(TextField::Title) << t;
        QTest::newRow("abstract") << t << a << int(TextField::Abstract) << a;
        QTest::newRow("both") << t << a << int(TextField::TitleAbstract) << QStringLiteral("A title. An abstract.");
        QTest::newRow("both, no abstract") << t << QString() << int(TextField::TitleAbstract) << t;
    }
    void paperTextField()
    {
        QFETCH(QString, title);
        QFETCH(QString, abstract);
        QFETCH(int, field);
        QFETCH(QString, expected);
        Paper p;
        p.title = title.toStdString();
        p.abstract = abstract.toStdString();
        QCOMPARE(q(paperText(p, TextField(field))), expected);
    }

    // Primaries: a x3, b x2, c x2, d x1 (b and c tie: by name).
    void labelsMultiClass_data()
    {
        QTest::addColumn<int>("topN");
        QTest::addColumn<bool>("pool");
        QTest::addColumn<QStringList>("names");
        QTest::addColumn<QList<qint64>>("counts");
        QTest::addColumn<qint64>("dropped");
        QTest::addColumn<QList<int>>("labels"); // per example, in paper order
        QTest::newRow("top 2, drop") << 2 << false << QStringList{QStringLiteral("a"), QStringLiteral("b")}
                                     << QList<qint64>{3, 2} << qint64(3) << QList<int>{1, 0, 0, 1, 0};
        QTest::newRow("top 2, pool") << 2 << true
                                     << QStringList{QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("other")}
                                     << QList<qint64>{3, 2, 3} << qint64(0) << QList<int>{2, 1, 0, 2, 0, 1, 2, 0};
        QTest::newRow("top 3") << 3 << false
                               << QStringList{QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")}
                               << QList<qint64>{3, 2, 2} << qint64(1) << QList<int>{2, 1, 0, 0, 1, 2, 0};
        QTest::newRow("top 10, pool, nothing left")
            << 10 << true
            << QStringList{QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"), QStringLiteral("d")}
            << QList<qint64>{3, 2, 2, 1} << qint64(0) << QList<int>{2, 1, 0, 3, 0, 1, 2, 0};
    }
    void labelsMultiClass()
    {
        QFETCH(int, topN);
        QFETCH(bool, pool);
        QFETCH(QStringList, names);
        QFETCH(QList<qint64>, counts);
        QFETCH(qint64, dropped);
        QFETCH(QList<int>, labels);
        const auto papers =
            papersWith({QStringLiteral("c cs.LG"), QStringLiteral("b a"), QStringLiteral("a"), QStringLiteral("d a b"),
                        QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"), QStringLiteral("a")});
        LabelSpec spec;
        spec.kind = TaskKind::MultiClass;
        spec.topN = topN;
        spec.poolOthers = pool;
        const auto r = buildLabels(papers, spec);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(qList(r->labelNames), names);
        QCOMPARE(qCounts(r->labelCounts), counts);
        QCOMPARE(qint64(r->dropped), dropped);
        QCOMPARE(qsizetype(r->paper.size()), labels.size());
        QList<int> got;
        for (size_t i = 0; i < r->labels.size(); ++i) {
            QCOMPARE(r->labels[i].size(), size_t(1));
            got << r->labels[i][0];
            // the example's label is its paper's primary (or "other")
            const QString primary = q(papers[r->paper[i]].categories.front());
            QVERIFY(names[got.back()] == primary || names[got.back()] == QLatin1String("other"));
        }
        QCOMPARE(got, labels);
    }

    void labelsBinary_data()
    {
        QTest::addColumn<QStringList>("positive");
        QTest::addColumn<bool>("primaryOnly");
        QTest::addColumn<QStringList>("names");
        QTest::addColumn<QList<int>>("labels");
        QTest::newRow("cs.CV anywhere") << QStringList{QStringLiteral("cs.CV")} << false
                                        << QStringList{QStringLiteral("not cs.CV"), QStringLiteral("cs.CV")}
                                        << QList<int>{1, 1, 0, 0, 0};
        QTest::newRow("cs.CV primary") << QStringList{QStringLiteral("cs.CV")} << true
                                       << QStringList{QStringLiteral("not cs.CV"), QStringLiteral("cs.CV")}
                                       << QList<int>{1, 0, 0, 0, 0};
        QTest::newRow("cs.CV or cs.CL") << QStringList{QStringLiteral("cs.CV"), QStringLiteral("cs.CL")} << false
                                        << QStringList{QStringLiteral("not cs.CV|cs.CL"), QStringLiteral("cs.CV|cs.CL")}
                                        << QList<int>{1, 1, 1, 1, 0};
        QTest::newRow("cs.CL primary") << QStringList{QStringLiteral("cs.CL")} << true
                                       << QStringList{QStringLiteral("not cs.CL"), QStringLiteral("cs.CL")}
                                       << QList<int>{0, 0, 1, 0, 0};
    }
    void labelsBinary()
    {
        QFETCH(QStringList, positive);
        QFETCH(bool, primaryOnly);
        QFETCH(QStringList, names);
        QFETCH(QList<int>, labels);
        const auto papers =
            papersWith({QStringLiteral("cs.CV cs.LG"), QStringLiteral("cs.LG cs.CV"), QStringLiteral("cs.CL"),
                        QStringLiteral("math.CO cs.CL"), QStringLiteral("cs.RO")});
        LabelSpec spec;
        spec.kind = TaskKind::Binary;
        spec.positive = sList(positive);
        spec.matchPrimaryOnly = primaryOnly;
        const auto r = buildLabels(papers, spec);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(qList(r->labelNames), names);
        QCOMPARE(r->paper.size(), papers.size());
        QCOMPARE(r->dropped, 0);
        QList<int> got;
        for (const auto &l : r->labels)
            got << l.at(0);
        QCOMPARE(got, labels);
        const qint64 positives = std::count(labels.begin(), labels.end(), 1);
        QCOMPARE(qCounts(r->labelCounts), (QList<qint64>{qint64(labels.size()) - positives, positives}));
    }

    void labelsMultiLabel_data()
    {
        QTest::addColumn<QString>("prefix");
        QTest::addColumn<int>("minCount");
        QTest::addColumn<QStringList>("names");
        QTest::addColumn<QList<qint64>>("counts");
        QTest::addColumn<QStringList>("labels"); // per example: its label names, in the paper's order
        QTest::newRow("cs.") << QStringLiteral("cs.") << 1
                             << QStringList{QStringLiteral("cs.LG"), QStringLiteral("cs.AI"), QStringLiteral("cs.CV")}
                             << QList<qint64>{3, 2, 1}
                             << QStringList{QStringLiteral("cs.CV cs.LG"), QStringLiteral("cs.LG cs.AI"),
                                            QStringLiteral("cs.LG"), QStringLiteral("cs.AI")};
        QTest::newRow("cs., at least 2") << QStringLiteral("cs.") << 2
                                         << QStringList{QStringLiteral("cs.LG"), QStringLiteral("cs.AI")}
                                         << QList<qint64>{3, 2}
                                         << QStringList{QStringLiteral("cs.LG"), QStringLiteral("cs.LG cs.AI"),
                                                        QStringLiteral("cs.LG"), QStringLiteral("cs.AI")};
        QTest::newRow("any prefix, at least 2")
            << QString() << 2 << QStringList{QStringLiteral("cs.LG"), QStringLiteral("cs.AI")} << QList<qint64>{3, 2}
            << QStringList{QStringLiteral("cs.LG"), QStringLiteral("cs.LG cs.AI"), QStringLiteral("cs.LG"),
                           QStringLiteral("cs.AI")};
    }
    void labelsMultiLabel()
    {
        QFETCH(QString, prefix);
        QFETCH(int, minCount);
        QFETCH(QStringList, names);
        QFETCH(QList<qint64>, counts);
        QFETCH(QStringList, labels);
        // paper 2 lists cs.LG twice; paper 2 (math.CO) has none and is dropped
        const auto papers =
            papersWith({QStringLiteral("cs.CV cs.LG"), QStringLiteral("cs.LG cs.AI cs.LG"), QStringLiteral("math.CO"),
                        QStringLiteral("stat.ML cs.LG"), QStringLiteral("cs.AI")});
        LabelSpec spec;
        spec.kind = TaskKind::MultiLabel;
        spec.prefix = prefix.toStdString();
        spec.minCount = minCount;
        const auto r = buildLabels(papers, spec);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        QCOMPARE(qList(r->labelNames), names);
        QCOMPARE(qCounts(r->labelCounts), counts);
        QCOMPARE(r->dropped, 1);
        QCOMPARE(r->paper, (std::vector<size_t>{0, 1, 3, 4}));
        QStringList got;
        for (const auto &ls : r->labels) {
            QStringList n;
            for (int l : ls)
                n << names.at(l);
            got << n.join(QLatin1Char(' '));
        }
        QCOMPARE(got, labels);
    }

    // `lbk eval` labels new papers with a trained run's label names by the rule training used: the same examples,
    // labels and counts as buildLabels gives on the same papers. Before they shared one rule, eval dropped binary
    // papers without categories that training counts as negatives.
    void applyLabelsAsTraining_data()
    {
        QTest::addColumn<int>("kind");
        QTest::addColumn<bool>("option");
        QTest::newRow("multiclass") << int(TaskKind::MultiClass) << false;
        QTest::newRow("multiclass, others pooled") << int(TaskKind::MultiClass) << true;
        QTest::newRow("binary, any category") << int(TaskKind::Binary) << false;
        QTest::newRow("binary, primary only") << int(TaskKind::Binary) << true;
        QTest::newRow("multilabel") << int(TaskKind::MultiLabel) << false;
    }
    void applyLabelsAsTraining()
    {
        QFETCH(int, kind);
        QFETCH(bool, option);
        const auto papers = papersWith({QStringLiteral("cs.CV cs.LG"), QStringLiteral("cs.LG cs.CV"), QString(),
                                        QStringLiteral("cs.CL"), QStringLiteral("math.CO cs.CL"),
                                        QStringLiteral("cs.RO cs.CV"), QStringLiteral("cs.CV")});
        LabelSpec spec;
        spec.kind = TaskKind(kind);
        spec.topN = 2;
        spec.poolOthers = option;
        spec.positive = {"cs.CV"};
        spec.matchPrimaryOnly = option;
        spec.prefix = "cs.";
        spec.minCount = 2;
        const auto built = buildLabels(papers, spec);
        QVERIFY2(built.ok(), built.ok() ? "" : built.message().c_str());
        const LabeledData applied = applyLabels(papers, spec, built->labelNames);
        QCOMPARE(qList(applied.labelNames), qList(built->labelNames));
        QCOMPARE(applied.paper, built->paper);
        QCOMPARE(applied.labels, built->labels);
        QCOMPARE(qCounts(applied.labelCounts), qCounts(built->labelCounts));
        QCOMPARE(applied.dropped, built->dropped);
        if (spec.kind == TaskKind::Binary) { // the paper without categories is a negative, not dropped
            QCOMPARE(applied.paper.size(), papers.size());
            QCOMPARE(applied.labels[2], std::vector<int>{0});
        }
    }

    void labelsErrors_data()
    {
        QTest::addColumn<int>("kind");
        QTest::addColumn<QStringList>("positive");
        QTest::addColumn<int>("number"); // topN or minCount
        QTest::addColumn<QString>("prefix");
        QTest::addColumn<QStringList>("expected");
        const int mc = int(TaskKind::MultiClass), bin = int(TaskKind::Binary), ml = int(TaskKind::MultiLabel);
        QTest::newRow("binary, nobody carries it")
            << bin << QStringList{QStringLiteral("cs.XX")} << 0 << QString()
            << QStringList{QStringLiteral("labels.positive: no paper in papers.jsonl carries cs.XX"),
                           QStringLiteral("the 5 most common categories are cs.LG (3), cs.CL (2), cs.CV (2)")};
        QTest::newRow("binary, one of two misspelt") // the other one's papers hid it
            << bin << QStringList{QStringLiteral("cs.CV"), QStringLiteral("cs.XX")} << 0 << QString()
            << QStringList{QStringLiteral("labels.positive: no paper in papers.jsonl carries cs.XX (the other "
                                          "positive categories have 2 papers); check its spelling")};
        QTest::newRow("binary, nothing named")
            << bin << QStringList() << 0 << QString() << QStringList{QStringLiteral("labels.positive is empty")};
        QTest::newRow("binary, everybody carries it")
            << bin << QStringList{QStringLiteral("cs.LG"), QStringLiteral("cs.CL")} << 0 << QString()
            << QStringList{QStringLiteral("every paper in papers.jsonl carries cs.LG or cs.CL")};
        QTest::newRow("multiclass, one class")
            << mc << QStringList() << 1 << QString()
            << QStringList{QStringLiteral("needs at least two"), QStringLiteral("labels.top_n")};
        QTest::newRow("multiclass, topN 0")
            << mc << QStringList() << 0 << QString() << QStringList{QStringLiteral("labels.top_n is 0")};
        QTest::newRow("multilabel, unknown prefix")
            << ml << QStringList() << 1 << QStringLiteral("q-bio.")
            << QStringList{QStringLiteral("labels.prefix"), QStringLiteral("q-bio.")};
        QTest::newRow("multilabel, minCount too high")
            << ml << QStringList() << 3 << QStringLiteral("cs.") << QStringList{QStringLiteral("labels.min_count = 3")};
    }
    void labelsErrors()
    {
        QFETCH(int, kind);
        QFETCH(QStringList, positive);
        QFETCH(int, number);
        QFETCH(QString, prefix);
        QFETCH(QStringList, expected);
        const auto papers = papersWith({QStringLiteral("cs.LG cs.CV"), QStringLiteral("cs.CL cs.LG"),
                                        QStringLiteral("cs.LG cs.CV"), QStringLiteral("cs.CL")});
        LabelSpec spec;
        spec.kind = TaskKind(kind);
        spec.positive = sList(positive);
        spec.topN = number;
        spec.minCount = number;
        spec.prefix = prefix.toStdString();
        const auto r = buildLabels(papers, spec, "papers.jsonl");
        QVERIFY(!r.ok());
        const QString m = q(r.message());
        for (const auto &e : expected)
            QVERIFY2(m.contains(e), qPrintable(m));
    }

    void splitDeterministic()
    {
        const Synthetic s = synthetic({400, 250, 120, 60, 30});
        const auto a = splitData(s.data, s.papers, SplitSpec{});
        const auto b = splitData(s.data, s.papers, SplitSpec{});
        QVERIFY2(a.ok(), a.ok() ? "" : a.message().c_str());
        QVERIFY(b.ok());
        QCOMPARE(a->train, b->train);
        QCOMPARE(a->validation, b->validation);
        QCOMPARE(a->test, b->test);

        SplitSpec other;
        other.seed = 14;
        const auto c = splitData(s.data, s.papers, other);
        QVERIFY(c.ok());
        QVERIFY(c->train != a->train);
        QCOMPARE(c->train.size(), a->train.size()); // same sizes, other members

        // every example exactly once, each split ascending
        std::vector<int> seen(s.data.paper.size(), 0);
        for (const auto *part : {&a->train, &a->validation, &a->test}) {
            QVERIFY(std::is_sorted(part->begin(), part->end()));
            for (size_t i : *part)
                ++seen.at(i);
        }
        QVERIFY(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
    }

    // The split follows the paper ids, not the examples' positions: reordering the papers moves nobody.
    void splitFollowsIds()
    {
        Synthetic s = synthetic({50, 30, 20});
        const auto a = splitData(s.data, s.papers, SplitSpec{});
        std::vector<size_t> order(s.data.paper.size());
        for (size_t i = 0; i < order.size(); ++i)
            order[i] = order.size() - 1 - i;
        LabeledData reversed = s.data;
        for (size_t i = 0; i < order.size(); ++i) {
            reversed.paper[i] = s.data.paper[order[i]];
            reversed.labels[i] = s.data.labels[order[i]];
        }
        const auto b = splitData(reversed, s.papers, SplitSpec{});
        QVERIFY(a.ok() && b.ok());
        std::set<std::string> idsA, idsB;
        for (size_t i : a->test)
            idsA.insert(s.papers[s.data.paper[i]].id);
        for (size_t i : b->test)
            idsB.insert(s.papers[reversed.paper[i]].id);
        QVERIFY(idsA == idsB);
    }

    // Papers that share an id (put together without readPapers) never sit in two splits, even when their
    // labels put them in different strata.
    void splitKeepsAPaperInOneSplit()
    {
        Synthetic s = synthetic({60, 60}); // interleaved: examples 2j and 2j+1 have different labels
        for (size_t i = 1; i < s.papers.size(); i += 2)
            s.papers[i].id = s.papers[i - 1].id + (i % 4 == 1 ? "v2" : "");
        const auto split = splitData(s.data, s.papers, SplitSpec{});
        QVERIFY2(split.ok(), split.ok() ? "" : split.message().c_str());
        std::map<std::string, std::set<int>> splitsOf;
        int k = 0;
        for (const auto *part : {&split->train, &split->validation, &split->test}) {
            QVERIFY(std::is_sorted(part->begin(), part->end()));
            for (size_t i : *part)
                splitsOf[canonicalPaperId(s.papers[s.data.paper[i]].id)].insert(k);
            ++k;
        }
        QCOMPARE(splitsOf.size(), size_t(60));
        for (const auto &[id, splits] : splitsOf)
            QVERIFY2(splits.size() == 1, id.c_str());
        QCOMPARE(split->train.size() + split->validation.size() + split->test.size(), size_t(120));
    }

    void splitStratified_data()
    {
        QTest::addColumn<double>("train");
        QTest::addColumn<double>("validation");
        QTest::addColumn<double>("test");
        QTest::addColumn<bool>("stratify");
        QTest::newRow("70/15/15") << 0.7 << 0.15 << 0.15 << true;
        QTest::newRow("80/10/10") << 0.8 << 0.1 << 0.1 << true;
        QTest::newRow("60/20/20") << 0.6 << 0.2 << 0.2 << true;
        QTest::newRow("50/50/0") << 0.5 << 0.5 << 0.0 << true;
        QTest::newRow("1/3 each") << 1.0 / 3 << 1.0 / 3 << 1.0 / 3 << true;
        QTest::newRow("70/15/15, not stratified") << 0.7 << 0.15 << 0.15 << false;
    }
    void splitStratified()
    {
        QFETCH(double, train);
        QFETCH(double, validation);
        QFETCH(double, test);
        QFETCH(bool, stratify);
        const std::vector<int> sizes = {997, 412, 133, 58, 21, 11, 10};
        const Synthetic s = synthetic(sizes);
        SplitSpec spec;
        spec.train = train;
        spec.validation = validation;
        spec.test = test;
        spec.stratify = stratify;
        const auto r = splitData(s.data, s.papers, spec);
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        const double shares[3] = {train, validation, test};
        const std::vector<size_t> *parts[3] = {&r->train, &r->validation, &r->test};
        const double n = double(s.data.paper.size());
        for (int k = 0; k < 3; ++k) {
            const double got = double(parts[k]->size());
            QVERIFY2(
                std::abs(got - n * shares[k]) <= 1.0 + 1e-9,
                qPrintable(QStringLiteral("split %1: %2 examples, expected %3").arg(k).arg(got).arg(n * shares[k])));
            if (!stratify)
                continue;
            for (size_t c = 0; c < sizes.size(); ++c) {
                const auto inClass = std::count_if(parts[k]->begin(), parts[k]->end(),
                                                   [&](size_t i) { return s.data.labels[i][0] == int(c); });
                const double expected = sizes[c] * shares[k];
                QVERIFY2(std::abs(double(inClass) - expected) <= 1.0 + 1e-9,
                         qPrintable(QStringLiteral("split %1, class %2: %3 examples, expected %4")
                                        .arg(k)
                                        .arg(c)
                                        .arg(inClass)
                                        .arg(expected)));
            }
        }
    }

    // Strata of 3 or more give every requested split at least one example; smaller ones can't.
    void splitSmallStrata()
    {
        const Synthetic s = synthetic({200, 3, 3, 4, 5, 2, 1});
        const auto r = splitData(s.data, s.papers, SplitSpec{});
        QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
        for (const auto *part : {&r->train, &r->validation, &r->test}) {
            for (int c = 0; c < 5; ++c) {
                const bool has =
                    std::any_of(part->begin(), part->end(), [&](size_t i) { return s.data.labels[i][0] == c; });
                QVERIFY2(has, qPrintable(QStringLiteral("class %1 missing from a split").arg(c)));
            }
        }
        QCOMPARE(r->train.size() + r->validation.size() + r->test.size(), s.data.paper.size());
    }

    void splitShares_data()
    {
        QTest::addColumn<double>("train");
        QTest::addColumn<double>("validation");
        QTest::addColumn<double>("test");
        QTest::addColumn<QString>("expected"); // empty: fine
        const double nan = std::numeric_limits<double>::quiet_NaN();
        QTest::newRow("sum 1.1") << 0.7 << 0.2 << 0.2
                                 << QStringLiteral(
                                        "split.train + split.validation + split.test = 0.7 + 0.2 + 0.2 = 1.1");
        QTest::newRow("sum 0.9") << 0.7 << 0.1 << 0.1 << QStringLiteral("must add up to 1");
        QTest::newRow("negative") << 1.0 << -0.05 << 0.05 << QStringLiteral("split.validation is -0.05");
        QTest::newRow("not a number") << nan << 0.5 << 0.5 << QStringLiteral("split.train is nan");
        QTest::newRow("within 1e-6") << 0.7 << 0.15 << 0.1500004 << QString();
        QTest::newRow("all train") << 1.0 << 0.0 << 0.0 << QString();
    }
    void splitShares()
    {
        QFETCH(double, train);
        QFETCH(double, validation);
        QFETCH(double, test);
        QFETCH(QString, expected);
        const Synthetic s = synthetic({20, 20, 20});
        SplitSpec spec;
        spec.train = train;
        spec.validation = validation;
        spec.test = test;
        const auto r = splitData(s.data, s.papers, spec);
        QCOMPARE(r.ok(), expected.isEmpty());
        if (!r.ok())
            QVERIFY2(q(r.message()).contains(expected), r.message().c_str());
        else if (validation == 0.0)
            QVERIFY(r->validation.empty() && r->test.empty() && r->train.size() == s.data.paper.size());
    }

    void splitEmptyFails()
    {
        // five classes of one example each: strata too small to give the small shares anything
        const Synthetic s = synthetic({1, 1, 1, 1, 1});
        SplitSpec spec;
        spec.train = 0.98;
        spec.validation = 0.01;
        spec.test = 0.01;
        const auto r = splitData(s.data, s.papers, spec);
        QVERIFY(!r.ok());
        QVERIFY2(q(r.message()).contains(QStringLiteral("split.validation is 0.01, but none of the 5 examples")),
                 r.message().c_str());
    }
};

QTEST_GUILESS_MAIN(TestData)
#include "tst_data.moc"
