// Using finished runs, as a user would with real processes: `lbk export --format model` (and, when Debian's
// python3-torch is installed, a PyTorch client that must reproduce Labbook's probabilities), `lbk predict`
// on JSON lines (from an export and from a run, JSON lines and CSV out), `lbk eval` recording into the run,
// `lbk dataset`, and bf16 precision.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <csignal>

#include <sys/stat.h>
#include <unistd.h>

#include "lbkprocess.h"
#include "store/store.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Result = lbktest::ProcessResult;

const char *kSample = LABBOOK_SOURCE_DIR "/../shared/data/arxiv/arxiv-sample-5k.jsonl";

std::vector<std::string> readLines(const QString &file)
{
    std::ifstream in(file.toStdString());
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);)
        lines.push_back(l);
    return lines;
}

} // namespace

class TestInferenceE2e : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir{QStringLiteral(LABBOOK_TEST_TMP "/e2e-inference-XXXXXX")};
    QString m_store;

    Result run(const QString &program, const QStringList &args, int timeoutMs = 300000)
    {
        return lbktest::runProcess(program, args, timeoutMs);
    }
    Result lbk(QStringList args)
    {
        args.prepend(m_store);
        args.prepend(QStringLiteral("--store"));
        return run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args);
    }
    QString path(const char *name) { return m_dir.filePath(QString::fromUtf8(name)); }
    QString variant(const QString &name, const json &changes) { return lbktest::debugVariant(m_dir.path(), name, changes); }

    // The Python export client (Debian's python3-torch): reference/load_export.py on the first 1,000 sample
    // rows of an export, compared with Labbook's predictions for them.
    bool hasPythonClient()
    {
        return run(QStringLiteral("/usr/bin/python3"), {QStringLiteral("-c"), QStringLiteral("import torch, sentencepiece")})
                   .exitCode == 0;
    }
    Result pythonCompare(const QString &exportDir, const QString &predictions)
    {
        return run(QStringLiteral("/usr/bin/python3"),
                   {QStringLiteral(LABBOOK_SOURCE_DIR "/reference/load_export.py"), exportDir, QStringLiteral("--data"),
                    QString::fromUtf8(kSample), QStringLiteral("--limit"), QStringLiteral("1000"),
                    QStringLiteral("--compare"), predictions});
    }

    // The precision a run trained in, as its journal's run_started event records it.
    std::string recordedPrecision(const char *run)
    {
        auto s = lbk::Store::open(m_store.toStdString());
        if (!s.ok() || !(*s)->run(run).ok())
            return {};
        std::ifstream in(fs::path((*s)->run(run)->runDir) / "journal.jsonl");
        std::string precision;
        for (std::string l; std::getline(in, l);) {
            const json e = json::parse(l);
            if (e["type"] == "run_started")
                precision = e.value("precision", "");
        }
        return precision;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_store = m_dir.filePath(QStringLiteral("store/labbook.db"));
        auto r = lbk({QStringLiteral("run"), QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json"),
                      QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
    }

    void exportWritesAModelFolder()
    {
        auto r = lbk({QStringLiteral("export"), QStringLiteral("debug"), QStringLiteral("--format"),
                      QStringLiteral("model"), QStringLiteral("--out"), path("export")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        for (const char *f : {"weights.pt", "tokenizer.model", "labels.json", "model.json"})
            QVERIFY2(fs::exists(fs::path(path("export").toStdString()) / f), f);
        std::ifstream in(path("export/model.json").toStdString());
        const json card = json::parse(in);
        QCOMPARE(card["format"].get<std::string>(), std::string("labbook-model"));
        QCOMPARE(card["architecture"]["type"].get<std::string>(), std::string("bag"));
        QCOMPARE(card["labels"].size(), size_t(5));
        QVERIFY(card["metrics"]["final"].contains("test/accuracy"));
        // The weights' own validation figures: the evaluation at the card's step, whichever metric peaked where.
        auto store = lbk::Store::open(m_store.toStdString());
        QVERIFY(store);
        const auto run = (*store)->run("debug");
        QVERIFY(run);
        bool seen = false;
        for (const auto &p : (*store)->metric(run->id, "val/accuracy"))
            if (p.step == card["step"].get<int64_t>()) {
                QCOMPARE(card["checkpoint_metrics"]["val/accuracy"].get<double>(), p.value);
                seen = true;
            }
        QVERIFY2(seen, card.dump().c_str());
        QVERIFY(card["data"]["train"].get<int64_t>() > 1000);
        QCOMPARE(card["parameters"].size(), size_t(3));
        // Found by an audit: the folder held JSON alone. Its README says what the model is and how to use it.
        std::ifstream readmeFile(path("export/README.md").toStdString());
        const std::string readme((std::istreambuf_iterator<char>(readmeFile)), std::istreambuf_iterator<char>());
        for (const char *said : {"# debug: a Labbook model", "multiclass classifier of arXiv papers over 5 labels",
                                 "lbk predict THIS_FOLDER", "| validation, at these weights | 0.",
                                 "The model reads the paper's title (`title`)"})
            QVERIFY2(readme.find(said) != std::string::npos, (std::string(said) + " in:\n" + readme).c_str());
        // Missing --out is bad input, not a crash.
        auto bad = lbk({QStringLiteral("export"), QStringLiteral("debug"), QStringLiteral("--format"),
                        QStringLiteral("model")});
        QCOMPARE(bad.exitCode, 2);
        // Into a folder that holds files already: refused, nothing mixed in.
        for (const char *format : {"model", "hf"}) {
            auto again = lbk({QStringLiteral("export"), QStringLiteral("debug"), QStringLiteral("--format"),
                              QString::fromUtf8(format), QStringLiteral("--out"), path("export")});
            QCOMPARE(again.exitCode, 2);
            QVERIFY2(again.err.contains(path("export") + QStringLiteral(": the folder is not empty")), qPrintable(again.err));
        }
    }

    void predictStreamsJsonLinesAndCsv()
    {
        auto r = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), QString::fromUtf8(kSample),
                      QStringLiteral("--out"), path("pred.jsonl"), QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto lines = readLines(path("pred.jsonl"));
        QCOMPARE(lines.size(), size_t(5000));
        const json first = json::parse(lines.front());
        QCOMPARE(first["id"].get<std::string>(), std::string("2603.12011"));
        double sum = 0;
        for (double p : first["probs"])
            sum += p;
        QVERIFY(std::abs(sum - 1.0) < 1e-5);

        // From the run itself: the same probabilities as from its export.
        auto fromRun = lbk({QStringLiteral("predict"), QStringLiteral("debug"), QStringLiteral("--data"),
                            QString::fromUtf8(kSample), QStringLiteral("--out"), path("pred-run.jsonl"),
                            QStringLiteral("-q"), QStringLiteral("--threads"), QStringLiteral("1")});
        QVERIFY2(fromRun.exitCode == 0, qPrintable(fromRun.err));
        const auto again = readLines(path("pred-run.jsonl"));
        QCOMPARE(again.size(), lines.size());
        QCOMPARE(json::parse(again[4321])["label"], json::parse(lines[4321])["label"]);
        // From the run's folder (as lbk run prints it), reading standard input (--data -): the same rows again.
        auto store = lbk::Store::open(m_store.toStdString());
        QVERIFY(store.ok());
        const QString runDir = QString::fromStdString((*store)->run("debug")->runDir);
        const auto piped = run(QStringLiteral("sh"), {QStringLiteral("-c"), QStringLiteral("head -5 \"$1\" | \"$2\" "
                                                      "predict \"$3\" --data - --out - -q"), QStringLiteral("sh"),
                                                      QString::fromUtf8(kSample), QStringLiteral(LABBOOK_BIN_DIR "/lbk"),
                                                      runDir});
        QVERIFY2(piped.exitCode == 0, qPrintable(piped.err));
        QCOMPARE(piped.out.trimmed().split(QLatin1Char('\n')).size(), 5);
        QCOMPARE(json::parse(piped.out.split(QLatin1Char('\n')).front().toStdString())["label"], first["label"]);

        auto csv = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), QString::fromUtf8(kSample),
                        QStringLiteral("--out"), path("pred.csv"), QStringLiteral("-q")});
        QVERIFY2(csv.exitCode == 0, qPrintable(csv.err));
        const auto rows = readLines(path("pred.csv"));
        QCOMPARE(rows.size(), size_t(5001));
        QVERIFY2(rows[0].rfind("id,label,score,p:", 0) == 0, rows[0].c_str());

        auto top = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), QString::fromUtf8(kSample),
                        QStringLiteral("--out"), path("top.jsonl"), QStringLiteral("--top-k"), QStringLiteral("2"),
                        QStringLiteral("-q")});
        QCOMPARE(top.exitCode, 0);
        QCOMPARE(json::parse(readLines(path("top.jsonl"))[0])["top"].size(), size_t(2));
        // CSV with --top-k: the first label and score, then the next k-1 as label_N, score_N (they were dropped).
        auto topCsv = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), QString::fromUtf8(kSample),
                           QStringLiteral("--out"), path("top.csv"), QStringLiteral("--top-k"), QStringLiteral("3"),
                           QStringLiteral("-q")});
        QCOMPARE(topCsv.exitCode, 0);
        const auto topRows = readLines(path("top.csv"));
        QCOMPARE(topRows[0], std::string("id,label,score,label_2,score_2,label_3,score_3"));
        const json top3 = json::parse(readLines(path("top.jsonl"))[0])["top"];
        QVERIFY2(topRows[1].find("," + top3[1][0].get<std::string>() + ",") != std::string::npos, topRows[1].c_str());
        QCOMPARE(std::count(topRows[1].begin(), topRows[1].end(), ','), 6);
        // More than the model has is said, not cut in silence.
        auto tooMany = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), QString::fromUtf8(kSample),
                            QStringLiteral("--out"), path("top9.csv"), QStringLiteral("--top-k"), QStringLiteral("9"),
                            QStringLiteral("-q")});
        QCOMPARE(tooMany.exitCode, 0);
        QVERIFY2(tooMany.err.contains(QStringLiteral("--top-k 9: the model has 5 labels")), qPrintable(tooMany.err));

        auto missing = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("nope.jsonl"),
                            QStringLiteral("--out"), path("x.jsonl")});
        QCOMPARE(missing.exitCode, 2);
        QVERIFY(missing.err.contains(QStringLiteral("nope.jsonl")));
    }

    // A line without the text the model reads is skipped and named, not scored as an empty title; a file of
    // such lines is refused.
    void predictSkipsLinesWithoutTheText()
    {
        {
            std::ofstream f(path("mixed.jsonl").toStdString());
            f << R"({"id": "a", "title": "Dark matter halos of dwarf galaxies"})" << "\n"
              << R"({"id": "b", "abstract": "no title here"})" << "\n"
              << "   \n" // blank, as training reads it: no paper, not a bad line
              << "not json\n";
        }
        // Two of three lines cannot be scored, more than the model's data.max_bad_share (0.01) allows: the command
        // fails so that a pipeline notices, and the row it scored is written.
        auto bad = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("mixed.jsonl"),
                        QStringLiteral("--out"), path("mixed-out.jsonl")});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains(QStringLiteral("2 lines could not be scored (66.7% of 3, more than the allowed "
                                                 "--max-bad-share = 1%")) &&
                     bad.err.contains(QStringLiteral("The rows scored are written (1 row)")),
                 qPrintable(bad.err));
        QCOMPARE(readLines(path("mixed-out.jsonl")).size(), size_t(1));
        auto r = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("mixed.jsonl"),
                      QStringLiteral("--out"), path("mixed-out.jsonl"), QStringLiteral("--max-bad-share"),
                      QStringLiteral("1")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(readLines(path("mixed-out.jsonl")).size(), size_t(1));
        QVERIFY2(r.err.contains(QStringLiteral("2 lines skipped; first: ")) &&
                     r.err.contains(QStringLiteral("mixed.jsonl:2: no text in \"title\", the field this model reads")),
                 qPrintable(r.err));
        // A line that is no JSON is named with where its JSON breaks, as training names it.
        {
            std::ofstream f(path("broken.jsonl").toStdString());
            f << "{\"id\": \"x1\", \"title\": \"broken\n";
        }
        auto broken = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("broken.jsonl"),
                           QStringLiteral("--out"), path("broken-out.jsonl")});
        QVERIFY2(broken.err.contains(QStringLiteral("broken.jsonl:1: bad JSON at column 30: syntax error")), qPrintable(broken.err));
        {
            std::ofstream f(path("notitle.jsonl").toStdString());
            f << R"({"id": "b", "abstract": "no title here"})" << "\n";
        }
        // A title that is not text is skipped as training skips it (it was scored as its JSON), naming the field;
        // a numeric id is an id.
        {
            std::ofstream f(path("types.jsonl").toStdString());
            f << R"({"id": 7, "title": "Dark matter halos of dwarf galaxies"})" << "\n"
              << R"({"id": "b", "title": ["Dark matter"]})" << "\n";
        }
        auto types = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("types.jsonl"),
                          QStringLiteral("--out"), path("types-out.jsonl"), QStringLiteral("--max-bad-share"),
                          QStringLiteral("0.5")});
        QVERIFY2(types.exitCode == 0, qPrintable(types.err));
        const auto typed = readLines(path("types-out.jsonl"));
        QCOMPARE(typed.size(), size_t(1));
        QCOMPARE(json::parse(typed[0])["id"], json("7"));
        QVERIFY2(types.err.contains(QStringLiteral("types.jsonl:2: \"title\" is an array, not a string")),
                 qPrintable(types.err));
        // A paper without an id is named by its line number, as training names it, so its row joins back.
        {
            std::ofstream f(path("noid.jsonl").toStdString());
            f << R"({"title": "Dark matter halos of dwarf galaxies"})" << "\n"
              << R"({"id": "x", "title": "Neural networks for galaxies"})" << "\n"
              << R"({"title": "Graph neural networks"})" << "\n";
        }
        auto noid = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("noid.jsonl"),
                         QStringLiteral("--out"), path("noid-out.jsonl")});
        QVERIFY2(noid.exitCode == 0, qPrintable(noid.err));
        const auto named = readLines(path("noid-out.jsonl"));
        QCOMPARE(named.size(), size_t(3));
        QCOMPARE(json::parse(named[0])["id"], json("1"));
        QCOMPARE(json::parse(named[1])["id"], json("x"));
        QCOMPARE(json::parse(named[2])["id"], json("3"));
        auto none = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("notitle.jsonl"),
                         QStringLiteral("--out"), path("none.jsonl")});
        QCOMPARE(none.exitCode, 2);
        QVERIFY2(none.err.contains(QStringLiteral("no line could be scored")), qPrintable(none.err));
        QVERIFY(!fs::exists(path("none.jsonl").toStdString()));
        // The input as the output: refused before the file is opened for writing (it was emptied, exit 0).
        const auto before = readLines(path("mixed.jsonl"));
        auto same = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("mixed.jsonl"),
                         QStringLiteral("--out"), path("mixed.jsonl")});
        QCOMPARE(same.exitCode, 2);
        QVERIFY2(same.err.contains(QStringLiteral("itself; give --out another file")), qPrintable(same.err));
        QCOMPARE(readLines(path("mixed.jsonl")), before);
        // An empty file is refused, and an earlier output of the same name is left as it was.
        std::ofstream(path("empty.jsonl").toStdString()).close();
        auto empty = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("empty.jsonl"),
                          QStringLiteral("--out"), path("mixed-out.jsonl")});
        QCOMPARE(empty.exitCode, 2);
        QVERIFY2(empty.err.contains(QStringLiteral("holds no papers")), qPrintable(empty.err));
        QCOMPARE(readLines(path("mixed-out.jsonl")).size(), size_t(1));
        QVERIFY(!fs::exists(path("mixed-out.jsonl.partial").toStdString()));
    }

    // A CSV or TSV file is read with the run's columns (CSV's quoted fields with their line breaks and commas; TSV
    // unquoted): every record scores as the same paper in JSON lines does (a repeated paper too), a record without
    // the text is skipped and named, and --shard (which counts lines) is refused for a table.
    void predictReadsCsvAndTsv()
    {
        const std::vector<json> papers = {
            {{"id", "p1"}, {"title", "Dark matter halos of dwarf galaxies, revisited"}},
            {{"id", "p2"}, {"title", "A \"quoted\" title\nthat spans two lines"}},
            {{"id", "p1"}, {"title", "Dark matter halos of dwarf galaxies, revisited"}},
            {{"id", "p3"}, {"title", "Transformers for protein folding"}}};
        {
            std::ofstream jl(path("table.jsonl").toStdString());
            std::ofstream csv(path("table.csv").toStdString()), tsv(path("table.tsv").toStdString());
            csv << "id,title,abstract\n";
            tsv << "id\ttitle\tabstract\n";
            for (const auto &p : papers) {
                jl << p.dump() << "\n";
                std::string quoted = p["title"].get<std::string>();
                for (size_t at = 0; (at = quoted.find('"', at)) != std::string::npos; at += 2)
                    quoted.insert(at, 1, '"');
                csv << p["id"].get<std::string>() << ",\"" << quoted << "\",\n";
                if (p["id"] != "p2") // a tab-separated field holds no line break
                    tsv << p["id"].get<std::string>() << "\t" << p["title"].get<std::string>() << "\t\n";
            }
            csv << "p4,,an abstract but no title\n";
            tsv << "p4\t\tan abstract but no title\n";
        }
        auto jsonl = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("table.jsonl"),
                          QStringLiteral("--out"), path("table-from-jsonl.jsonl"), QStringLiteral("-q")});
        QVERIFY2(jsonl.exitCode == 0, qPrintable(jsonl.err));
        const auto expected = readLines(path("table-from-jsonl.jsonl"));
        QCOMPARE(expected.size(), papers.size());
        const std::vector<std::string> withoutP2 = {expected[0], expected[2], expected[3]};
        for (const auto &[table, rows, lastLine] :
             {std::tuple{"table.csv", expected, 7}, std::tuple{"table.tsv", withoutP2, 5}}) {
            const QString out = path(table) + QStringLiteral(".out.jsonl");
            auto r = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path(table),
                          QStringLiteral("--out"), out, QStringLiteral("--max-bad-share"), QStringLiteral("0.5")});
            QVERIFY2(r.exitCode == 0, qPrintable(r.err));
            const auto got = readLines(out);
            QCOMPARE(got.size(), rows.size());
            for (size_t i = 0; i < rows.size(); ++i) { // the same papers; another batch moves the last digits only
                const json a = json::parse(got[i]), b = json::parse(rows[i]);
                QCOMPARE(a["id"], b["id"]);
                QCOMPARE(a["label"], b["label"]);
                for (size_t c = 0; c < b["probs"].size(); ++c)
                    QVERIFY(std::abs(a["probs"][c].get<double>() - b["probs"][c].get<double>()) < 1e-6);
            }
            QVERIFY2(r.err.contains(QStringLiteral("1 record skipped; first: ")) &&
                         r.err.contains(path(table) + QStringLiteral(":%1: no text in \"title\", the field this model reads").arg(lastLine)),
                     qPrintable(r.err));
        }
        auto sharded = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("table.csv"),
                            QStringLiteral("--out"), path("table-part.csv"), QStringLiteral("--shard"), QStringLiteral("0/2")});
        QCOMPARE(sharded.exitCode, 2);
        QVERIFY2(sharded.err.contains(QStringLiteral("records may span lines")), qPrintable(sharded.err));
    }

    // Weights overwritten with 0xFF bytes (NaN): predict says the model is damaged instead of writing "-nan",
    // and the lines it wrote stay valid JSON.
    void predictRefusesADamagedModel()
    {
        const QString damaged = path("damaged");
        fs::copy(path("export").toStdString(), damaged.toStdString(), fs::copy_options::recursive);
        const char *spoil = "import sys, zipfile\n"
                            "p = sys.argv[1]\n"
                            "with open(p, 'r+b') as f:\n"
                            "    for i in zipfile.ZipFile(p).infolist():\n"
                            "        if '/data/' in i.filename:\n"
                            "            f.seek(i.header_offset + 26)\n"
                            "            h = f.read(4)\n"
                            "            f.seek(i.header_offset + 30 + int.from_bytes(h[:2], 'little') + int.from_bytes(h[2:], 'little'))\n"
                            "            f.write(b'\\xff' * i.file_size)\n";
        auto py = run(QStringLiteral("python3"), {QStringLiteral("-c"), QString::fromUtf8(spoil), damaged + QStringLiteral("/weights.pt")});
        QVERIFY2(py.exitCode == 0, qPrintable(py.err));
        // The card's checksum catches the changed bytes before anything is scored.
        const QStringList args = {QStringLiteral("predict"), damaged, QStringLiteral("--data"), QString::fromUtf8(kSample),
                                  QStringLiteral("--out"), path("damaged.jsonl"), QStringLiteral("-q")};
        auto caught = lbk(args);
        QCOMPARE(caught.exitCode, 1);
        QVERIFY2(caught.err.contains(damaged + QStringLiteral("/weights.pt: its weights do not match the checksum in model.json")),
                 qPrintable(caught.err));
        QVERIFY(!QFileInfo::exists(path("damaged.jsonl")));
        // An export from before the checksum: the damage shows as non-finite probabilities, named.
        json card = json::parse(std::ifstream(QString(damaged + QStringLiteral("/model.json")).toStdString()));
        card.erase("weights_checksum");
        std::ofstream(QString(damaged + QStringLiteral("/model.json")).toStdString()) << card.dump(2);
        auto r = lbk(args);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("non-finite probabilities for 5000 of 5000 rows (first: ") +
                                QString::fromUtf8(kSample) + QStringLiteral(":1)")) &&
                     r.err.contains(QStringLiteral("damaged")),
                 qPrintable(r.err));
        const auto lines = readLines(path("damaged.jsonl"));
        QCOMPARE(lines.size(), size_t(5000));
        QVERIFY(json::parse(lines.front())["probs"][0].is_null());
    }

    void predictNamesATruncatedWeightsFile()
    {
        const QString cut = path("truncated");
        fs::copy(path("export").toStdString(), cut.toStdString(), fs::copy_options::recursive);
        fs::resize_file(QString(cut + QStringLiteral("/weights.pt")).toStdString(), 1000);
        auto r = lbk({QStringLiteral("predict"), cut, QStringLiteral("--data"), QString::fromUtf8(kSample),
                      QStringLiteral("--out"), path("truncated.jsonl"), QStringLiteral("-q")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(cut + QStringLiteral("/weights.pt: cannot be read as the export's weights: it is damaged or truncated")),
                 qPrintable(r.err));
    }

    // Found by an audit: another tokenizer or edited labels in an export scored without a word (or blamed the
    // weights). The card's checksums of the files beside the weights name the file that changed.
    void predictNamesASwappedTokenizerOrLabels()
    {
        const auto refused = [&](const QString &folder) {
            auto r = lbk({QStringLiteral("predict"), folder, QStringLiteral("--data"), QString::fromUtf8(kSample),
                          QStringLiteral("--out"), folder + QStringLiteral(".jsonl"), QStringLiteral("-q")});
            return r.exitCode == 1 && !QFileInfo::exists(folder + QStringLiteral(".jsonl")) ? r.err : QString();
        };
        const QString swapped = path("swapped");
        fs::copy(path("export").toStdString(), swapped.toStdString(), fs::copy_options::recursive);
        std::ofstream(QString(swapped + QStringLiteral("/tokenizer.model")).toStdString(), std::ios::app) << "x";
        QVERIFY2(refused(swapped).contains(swapped + QStringLiteral("/tokenizer.model: not the file the model was "
                                                                    "exported with")),
                 qPrintable(refused(swapped)));
        const QString relabelled = path("relabelled");
        fs::copy(path("export").toStdString(), relabelled.toStdString(), fs::copy_options::recursive);
        const std::string cardFile = QString(relabelled + QStringLiteral("/model.json")).toStdString();
        json card = json::parse(std::ifstream(cardFile));
        json labels = card["labels"];
        std::swap(labels[0], labels[1]);
        std::ofstream(QString(relabelled + QStringLiteral("/labels.json")).toStdString()) << labels.dump();
        QVERIFY2(refused(relabelled).contains(relabelled + QStringLiteral("/labels.json: not the file")),
                 qPrintable(refused(relabelled)));
        card.erase("file_checksums"); // an export from before them: the card's label list still catches it
        std::ofstream(cardFile) << card.dump(2);
        QVERIFY2(refused(relabelled).contains(QStringLiteral("labels.json: its labels differ from the ones in "
                                                              "model.json (label 0 is")),
                 qPrintable(refused(relabelled)));
    }

    // --shard K/N: N array tasks each score a block of whole 8192-line chunks; their outputs, concatenated in K
    // order, are byte for byte the unsharded output (JSON lines; CSV after dropping the repeated headers).
    void predictShardsJoinToTheWholeOutput()
    {
        {
            std::ofstream big(path("big.jsonl").toStdString());
            for (int copy = 0; copy < 4; ++copy)
                for (const auto &line : readLines(QString::fromUtf8(kSample)))
                    big << line << '\n';
        }
        auto predict = [&](const QString &out, const QStringList &more) {
            return lbk(QStringList{QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("big.jsonl"),
                                   QStringLiteral("--out"), out} + more);
        };
        QCOMPARE(predict(path("whole.jsonl"), {QStringLiteral("-q")}).exitCode, 0);
        std::vector<std::string> joined;
        for (int k = 0; k < 6; ++k) { // 20,000 lines are 3 chunks: shards 0, 2 and 4 of 6 get none
            const QString part = path("part.jsonl");
            auto r = predict(part, {QStringLiteral("--shard"), QStringLiteral("%1/6").arg(k)});
            QVERIFY2(r.exitCode == 0, qPrintable(r.err));
            QVERIFY2(r.err.contains(QStringLiteral("shard %1/6: ").arg(k)), qPrintable(r.err));
            for (const auto &line : readLines(part))
                joined.push_back(line);
        }
        QCOMPARE(joined, readLines(path("whole.jsonl")));
        QCOMPARE(joined.size(), size_t(20000));

        for (const char *bad : {"6/6", "1/0", "-1/2", "1", "a/b", "1/2x"}) {
            auto r = predict(path("bad.jsonl"), {QStringLiteral("--shard"), QString::fromUtf8(bad)});
            QCOMPARE(r.exitCode, 2);
            QVERIFY2(r.err.contains(QStringLiteral("--shard: %1 is not K/N").arg(QString::fromUtf8(bad))), qPrintable(r.err));
        }
        // A shard whose block has nothing to score writes its part, empty (the join needs it), and fails as any
        // block with more bad lines than the model's data.max_bad_share does: the array task says it.
        std::ofstream(path("untitled.jsonl").toStdString()) << "{\"id\": \"a\"}\n{\"id\": \"b\"}\n";
        auto empty = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("untitled.jsonl"),
                          QStringLiteral("--out"), path("empty-part.jsonl"), QStringLiteral("--shard"), QStringLiteral("1/2")});
        QVERIFY2(empty.exitCode == 2 && empty.err.contains(QStringLiteral("2 lines could not be scored (100% of 2")),
                 qPrintable(empty.err));
        QVERIFY(QFileInfo(path("empty-part.jsonl")).exists() && QFileInfo(path("empty-part.jsonl")).size() == 0);
        // A run in a store that does not exist: refused, and no store is made for the typo.
        const QString nowhere = path("no-such-folder/labbook.db");
        auto typo = run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"),
                        {QStringLiteral("--store"), nowhere, QStringLiteral("predict"), QStringLiteral("debug"),
                         QStringLiteral("--data"), QString::fromUtf8(kSample), QStringLiteral("--out"), path("typo.jsonl")});
        QCOMPARE(typo.exitCode, 2);
        QVERIFY2(typo.err.contains(QStringLiteral("no store at ") + nowhere), qPrintable(typo.err));
        QVERIFY(!QFileInfo::exists(path("no-such-folder")));
        QVERIFY(::mkfifo(path("fifo").toLocal8Bit().constData(), 0600) == 0);
        auto fifo = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("fifo"),
                         QStringLiteral("--out"), path("bad.jsonl"), QStringLiteral("--shard"), QStringLiteral("0/2")});
        QCOMPARE(fifo.exitCode, 2);
        QVERIFY2(fifo.err.contains(QStringLiteral("is not a regular file")), qPrintable(fifo.err));
    }

    // SIGTERM (a Slurm time limit, Ctrl-C) stops at a chunk's end and keeps the rows; --resume continues, and
    // the output is byte for byte an uninterrupted run's. Other inputs, or nothing to continue, start afresh.
    void predictResumesAfterAStop()
    {
        {
            std::ofstream big(path("huge.jsonl").toStdString());
            for (int copy = 0; copy < 16; ++copy) // 80,000 lines: 10 chunks
                for (const auto &line : readLines(QString::fromUtf8(kSample)))
                    big << line << '\n';
        }
        const QString out = path("resumed.csv");
        const QStringList args = {QStringLiteral("--store"), m_store, QStringLiteral("predict"), path("export"),
                                  QStringLiteral("--data"), path("huge.jsonl"), QStringLiteral("--threads"),
                                  QStringLiteral("1"), QStringLiteral("--top-k"), QStringLiteral("2")};
        QCOMPARE(run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args + QStringList{QStringLiteral("--out"),
                                                                                 path("whole.csv"), QStringLiteral("-q")})
                     .exitCode,
                 0);
        QProcess p;
        p.start(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args + QStringList{QStringLiteral("--out"), out});
        QVERIFY(p.waitForStarted());
        const QString progress = out + QStringLiteral(".partial.progress");
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(progress), 60000); // the first chunk is written
        ::kill(pid_t(p.processId()), SIGTERM);
        QVERIFY(p.waitForFinished(60000));
        const QString said = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(p.exitCode() == 3 && said.contains(QStringLiteral("the same command with --resume continues")),
                 qPrintable(said));
        QVERIFY(!QFileInfo::exists(out));
        const auto partial = QFileInfo(out + QStringLiteral(".partial")).size();
        QVERIFY(partial > 0 && partial < QFileInfo(path("whole.csv")).size());

        auto r = run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args + QStringList{QStringLiteral("--out"), out,
                                                                                 QStringLiteral("--resume")});
        QVERIFY2(r.exitCode == 0 && r.err.contains(QStringLiteral("continued after line ")), qPrintable(r.err));
        QCOMPARE(readLines(out), readLines(path("whole.csv")));
        QVERIFY(!QFileInfo::exists(progress) && !QFileInfo::exists(out + QStringLiteral(".partial")));

        // A second signal stops at once, says so, and what the finished chunks hold is still continued. (Two
        // signals pending together are one, and a chunk may end between them: then the stop was an ordinary one.)
        int exitCode = 0;
        QString atOnce;
        for (int attempt = 0; attempt < 5 && exitCode != 128 + SIGTERM; ++attempt) {
            QFile::remove(out + QStringLiteral(".partial"));
            QFile::remove(progress);
            QProcess twice;
            twice.start(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args + QStringList{QStringLiteral("--out"), out});
            QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(progress), 60000);
            ::kill(pid_t(twice.processId()), SIGTERM);
            QThread::msleep(30);
            ::kill(pid_t(twice.processId()), SIGTERM);
            QVERIFY(twice.waitForFinished(60000));
            exitCode = twice.exitCode();
            atOnce = QString::fromUtf8(twice.readAllStandardError());
        }
        QVERIFY2(exitCode == 128 + SIGTERM && atOnce.contains(QStringLiteral("stopped at once (a second signal); the "
                                                                             "chunks scored before it are in ")),
                 qPrintable(QStringLiteral("%1: %2").arg(exitCode).arg(atOnce)));
        r = run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args + QStringList{QStringLiteral("--out"), out,
                                                                            QStringLiteral("--resume")});
        QVERIFY2(r.exitCode == 0 && r.err.contains(QStringLiteral("continued after line ")), qPrintable(r.err));
        QCOMPARE(readLines(out), readLines(path("whole.csv")));

        // Nothing to continue on a first run: scored from the start without a word (found by an audit: every task of
        // a cluster's array, which starts with --resume, logged a warning). Over a finished output: said.
        const QStringList fresh = args + QStringList{QStringLiteral("--out"), path("fresh.csv"), QStringLiteral("--resume")};
        r = run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), fresh);
        QVERIFY2(r.exitCode == 0 && !r.err.contains(QStringLiteral("nothing to continue")), qPrintable(r.err));
        QCOMPARE(readLines(path("fresh.csv")), readLines(path("whole.csv")));
        r = run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), fresh);
        QVERIFY2(r.exitCode == 0 && r.err.contains(QStringLiteral("--resume: nothing to continue (there is no "
                                                                  "fresh.csv.partial and fresh.csv is there: that run "
                                                                  "finished); scoring from the start")),
                 qPrintable(r.err));
        // A partial file of other options (--top-k 2 there, 3 here) is not continued.
        QProcess q;
        q.start(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args + QStringList{QStringLiteral("--out"), out});
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(progress), 60000);
        ::kill(pid_t(q.processId()), SIGTERM);
        QVERIFY(q.waitForFinished(60000));
        QCOMPARE(q.exitCode(), 3);
        QStringList other = args;
        other.replace(other.indexOf(QStringLiteral("2")), QStringLiteral("3"));
        r = run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), other + QStringList{QStringLiteral("--out"), out,
                                                                             QStringLiteral("--resume")});
        QVERIFY2(r.exitCode == 0 && r.err.contains(QStringLiteral("written for other inputs")), qPrintable(r.err));
        QCOMPARE(readLines(out).size(), size_t(80001)); // the header and every paper, from the start
        // A partial file zeroed since its progress was written (a lost node's hole) is not taken for rows.
        QProcess z;
        z.start(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args + QStringList{QStringLiteral("--out"), out});
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(progress), 60000);
        ::kill(pid_t(z.processId()), SIGTERM);
        QVERIFY(z.waitForFinished(60000));
        const auto zeroed = QFileInfo(out + QStringLiteral(".partial")).size();
        QVERIFY(::truncate((out + QStringLiteral(".partial")).toLocal8Bit().constData(), 0) == 0);
        QVERIFY(::truncate((out + QStringLiteral(".partial")).toLocal8Bit().constData(), zeroed) == 0);
        r = run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args + QStringList{QStringLiteral("--out"), out,
                                                                            QStringLiteral("--resume")});
        QVERIFY2(r.exitCode == 0 && r.err.contains(QStringLiteral("rows its progress says (it was damaged)")),
                 qPrintable(r.err));
        QCOMPARE(readLines(out), readLines(path("whole.csv")));

        // A table is read by records, not lines (every seventh title spans two lines): a stop keeps the rows, and
        // --resume continues after the last whole chunk of papers, the output an uninterrupted run's; records
        // without a title (every thousandth) are skipped and counted once, as that run counts them.
        {
            std::ofstream csv(path("huge-table.csv").toStdString());
            csv << "id,title\n";
            for (int i = 0; i < 80000; ++i)
                csv << "p" << i << ",\""
                    << (i % 1000 == 999 ? std::string() : "Graph neural networks," + std::string(i % 7 ? " " : "\n") +
                                                              "part " + std::to_string(i))
                    << "\"\n";
        }
        const auto skippedLine = [](const QString &err) -> QString {
            for (const auto &line : err.split(QLatin1Char('\n')))
                if (line.contains(QStringLiteral("skipped; first:")))
                    return line;
            return QStringLiteral("no skipped line in: ") + err;
        };
        const QStringList tableArgs = {QStringLiteral("--store"), m_store, QStringLiteral("predict"), path("export"),
                                       QStringLiteral("--data"), path("huge-table.csv"), QStringLiteral("--threads"),
                                       QStringLiteral("1")};
        const auto wholeTable = run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"),
                                    tableArgs + QStringList{QStringLiteral("--out"), path("whole-table.jsonl"),
                                                            QStringLiteral("-q")});
        QCOMPARE(wholeTable.exitCode, 0);
        QVERIFY2(skippedLine(wholeTable.err).contains(QStringLiteral("lbk: warning: 80 records skipped; first: ")),
                 qPrintable(wholeTable.err));
        QProcess t;
        const QString tableOut = path("table-out.jsonl");
        t.start(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), tableArgs + QStringList{QStringLiteral("--out"), tableOut});
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(tableOut + QStringLiteral(".partial.progress")), 60000);
        ::kill(pid_t(t.processId()), SIGTERM);
        QVERIFY(t.waitForFinished(60000));
        const QString tableSaid = QString::fromUtf8(t.readAllStandardError());
        QVERIFY2(t.exitCode() == 3 && tableSaid.contains(QStringLiteral(" papers of ")) &&
                     tableSaid.contains(QStringLiteral("--resume continues from there")),
                 qPrintable(tableSaid));
        // A progress that claims more papers than the table holds (one replaced by a table of the same size and time,
        // or the progress edited) is refused, naming the table; its rows cannot be trusted, so the next --resume
        // scores from the start.
        const QString tableProgress = tableOut + QStringLiteral(".partial.progress");
        json claimed = json::parse(std::ifstream(tableProgress.toStdString()));
        claimed["line"] = 10000000;
        std::ofstream(tableProgress.toStdString()) << claimed.dump() << '\n';
        r = run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"),
                tableArgs + QStringList{QStringLiteral("--out"), tableOut, QStringLiteral("--resume")});
        QVERIFY2(r.exitCode == 2 && r.err.contains(QStringLiteral("holds 79920 papers, fewer than the 10000000")) &&
                     !r.err.contains(QStringLiteral("are kept in")),
                 qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(tableOut));
        QVERIFY(!QFileInfo::exists(tableProgress) && !QFileInfo::exists(tableOut + QStringLiteral(".partial")));
        r = run(QStringLiteral(LABBOOK_BIN_DIR "/lbk"),
                tableArgs + QStringList{QStringLiteral("--out"), tableOut, QStringLiteral("--resume")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(readLines(tableOut), readLines(path("whole-table.jsonl")));
        QCOMPARE(readLines(tableOut).size(), size_t(79920));
        QCOMPARE(skippedLine(r.err), skippedLine(wholeTable.err));

        // What cannot be continued is refused by name.
        r = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), path("huge.jsonl"),
                 QStringLiteral("--out"), QStringLiteral("-"), QStringLiteral("--resume")});
        QVERIFY2(r.exitCode == 2 && r.err.contains(QStringLiteral("standard output cannot be continued")),
                 qPrintable(r.err));
    }

    // Found by an audit: an input that ends in the middle of a zstd frame (a download cut short) failed after
    // scoring most of it, and took every row with it. The finished chunks' rows stay, as after a stop.
    void predictKeepsWhatATruncatedInputScored()
    {
        const QString cut = path("cut.jsonl.zst"), out = path("cut.csv");
        {
            QFile whole(QStringLiteral(LABBOOK_SOURCE_DIR "/../shared/data/arxiv/arxiv-dev.jsonl.zst"));
            QVERIFY(whole.open(QIODevice::ReadOnly));
            QFile part(cut);
            QVERIFY(part.open(QIODevice::WriteOnly));
            part.write(whole.read(whole.size() / 8)); // about 20,000 papers: two chunks of 8,192 before the cut
        }
        const auto r = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), cut,
                            QStringLiteral("--out"), out, QStringLiteral("--threads"), QStringLiteral("1")});
        QVERIFY2(r.exitCode != 0 && r.err.contains(QStringLiteral("ends in the middle of a frame")) &&
                     r.err.contains(QStringLiteral("The rows scored before it are kept in ") + out +
                                    QStringLiteral(".partial")),
                 qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(out));
        QVERIFY(QFileInfo::exists(out + QStringLiteral(".partial.progress")));
        QVERIFY2(readLines(out + QStringLiteral(".partial")).size() > 8192, "at least a chunk's rows");
    }

    void pythonClientReproducesProbabilities()
    {
        if (!hasPythonClient())
            QSKIP("Debian's python3-torch and python3-sentencepiece are not installed");
        auto r = pythonCompare(path("export"), path("pred.jsonl"));
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.out.contains(QStringLiteral("over 1000 rows")) && r.out.contains(QStringLiteral("OK")),
                 qPrintable(r.out));
    }

    // Exported models the Python client rebuilds: the bag over words with TF-IDF weighting, min_df and
    // character n-grams (the idf, 0 under min_df, travels as a buffer; the client splits words, rebuilds the
    // weights and each piece's character n-gram rows from the exported tokenizer); bag_cnn, the bag and the CNN
    // whose logits are averaged; a two-layer bidirectional GRU; and encoders.
    void exportedModelsReproduceInPython_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("changes");
        QTest::addColumn<QString>("architecture"); // keys the card's architecture must hold, with these values
        QTest::newRow("tfidf words") << "tfidf"
                                     << R"({"tokenizer": {"type": "word"}, "model": {"weighting": "tfidf",
                                           "min_df": 2, "ngrams": 1, "char_ngrams": 4}})"
                                     << R"({"bag_mode": "tfidf", "char_ngrams": [2, 4], "ngram_hash": "mix"})";
        QTest::newRow("bag_cnn") << "bagcnn"
                                 << R"({"tokenizer": {"type": "word"}, "model": {"type": "bag_cnn", "embedding_dim": 16,
                                       "weighting": "tfidf", "kernel_sizes": [1, 2], "channels": 16,
                                       "bag_weight": 0.6, "cnn_embedding_dim": 24, "cnn_lr_factor": 2}})"
                                 << R"({"type": "bag_cnn", "bag_weight": 0.6, "kernel_sizes": [1, 2],
                                       "embedding_dim": 16, "cnn_embedding_dim": 24,
                                       "channels": 16, "bag_mode": "tfidf",
                                       "cnn_pooling": "max over the windows inside the text"})";
        // Labbook scores a GRU with its own fused layers and a per-token table of input gates (engine/fusedgru.h);
        // the client runs torch.nn.GRU.
        QTest::newRow("gru") << "gru"
                             << R"({"model": {"type": "gru", "embedding_dim": 24, "hidden": 20, "layers": 2,
                                   "pooling": "meanmax"}, "optimizer": {"lr": 0.005}, "training": {"epochs": 1}})"
                             << R"({"type": "gru", "layers": 2, "hidden": 20, "pooling": "meanmax"})";
        // Encoders from scratch (transformers' BERT layout): BERT's pooler, and the mean over the text's positions.
        QTest::newRow("encoder pooler") << "encpooler"
                                        << R"({"model": {"type": "encoder", "embedding_dim": 32, "hidden": 64,
                                              "layers": 2, "heads": 2, "pooling": "pooler"},
                                              "optimizer": {"lr": 0.001}, "training": {"epochs": 1}})"
                                        << R"({"type": "encoder", "family": "bert", "hidden_size": 32,
                                              "intermediate_size": 64, "pooling": "pooler"})";
        QTest::newRow("encoder mean") << "encmean"
                                      << R"({"model": {"type": "encoder", "embedding_dim": 32, "hidden": 64,
                                            "layers": 1, "heads": 4, "pooling": "mean"},
                                            "optimizer": {"lr": 0.001}, "training": {"epochs": 1}})"
                                      << R"({"type": "encoder", "hidden_size": 32, "heads": 4, "pooling": "mean"})";
    }

    void exportedModelsReproduceInPython()
    {
        QFETCH(QString, name);
        QFETCH(QString, changes);
        QFETCH(QString, architecture);
        auto r = lbk({QStringLiteral("run"), variant(name, json::parse(changes.toStdString())), QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        const QString out = path("export-") + name, predictions = path("pred-") + name + QStringLiteral(".jsonl");
        auto e = lbk({QStringLiteral("export"), name, QStringLiteral("--format"), QStringLiteral("model"),
                      QStringLiteral("--out"), out});
        QVERIFY2(e.exitCode == 0, qPrintable(e.err + e.out));
        std::ifstream in(QString(out + QStringLiteral("/model.json")).toStdString());
        const auto arch = json::parse(in)["architecture"];
        const auto expected = json::parse(architecture.toStdString());
        for (const auto &[key, value] : expected.items())
            QVERIFY2(arch.value(key, json()) == value, (key + ": " + arch.value(key, json()).dump()).c_str());
        auto p = lbk({QStringLiteral("predict"), out, QStringLiteral("--data"), QString::fromUtf8(kSample),
                      QStringLiteral("--out"), predictions, QStringLiteral("-q")});
        QVERIFY2(p.exitCode == 0, qPrintable(p.err));
        QVERIFY2(!p.err.contains(QStringLiteral("is in beta")), qPrintable(p.err)); // LibTorch's notice, not ours
        if (!hasPythonClient())
            QSKIP("Debian's python3-torch and python3-sentencepiece are not installed");
        auto c = pythonCompare(out, predictions);
        QVERIFY2(c.exitCode == 0, qPrintable(c.out + c.err));
        QVERIFY2(c.out.contains(QStringLiteral("over 1000 rows")) && c.out.contains(QStringLiteral("OK")),
                 qPrintable(c.out));
    }

    // A multilabel model predicts a set: each row's "labels" holds every label at 0.5 or above, most probable
    // first (the rule its evaluations count by), beside the most probable "label"; CSV has a space-separated
    // "labels" column.
    void multilabelPredictsTheSet()
    {
        auto r = lbk({QStringLiteral("run"),
                      variant(QStringLiteral("multi"), {{"labels", {{"kind", "multilabel"}, {"prefix", "cs."},
                                                                    {"min_count", 100}}}}),
                      QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        const QString jsonl = path("multi.jsonl"), csv = path("multi.csv");
        for (const QString &out : {jsonl, csv}) {
            auto p = lbk({QStringLiteral("predict"), QStringLiteral("multi"), QStringLiteral("--data"),
                          QString::fromUtf8(kSample), QStringLiteral("--out"), out, QStringLiteral("-q")});
            QVERIFY2(p.exitCode == 0, qPrintable(p.err));
        }
        auto store = lbk::Store::open(m_store.toStdString());
        QVERIFY(store.ok() && (*store)->run("multi").ok());
        // Its recorded predictions keep every true label's probability, and p_true is the least of them (found by an
        // audit: only the labels at 0.5 or above were kept, so a missed label's probability was nowhere).
        lbk::PredictionFilter val;
        const auto recorded = (*store)->predictions((*store)->run("multi")->id, val);
        QVERIFY(!recorded.empty());
        for (const auto &p : recorded) {
            double least = 2;
            for (const auto &t : p.truth) {
                const auto at = std::find_if(p.top.begin(), p.top.end(), [&](const auto &e) { return e.first == t; });
                QVERIFY2(at != p.top.end(), p.exampleId.c_str());
                least = std::min(least, at->second);
            }
            QVERIFY2(std::abs(p.pTrue - least) < 1e-6, p.exampleId.c_str());
            QVERIFY(p.top.size() >= 3);
        }
        // Its export's README gives the figures a multi-label model is judged by, and its decision rule.
        const auto exported = lbk({QStringLiteral("export"), QStringLiteral("multi"), QStringLiteral("--format"),
                                   QStringLiteral("model"), QStringLiteral("--out"), path("multi-model")});
        QVERIFY2(exported.exitCode == 0, qPrintable(exported.err));
        std::ifstream readmeFile(path("multi-model/README.md").toStdString());
        const std::string readme((std::istreambuf_iterator<char>(readmeFile)), std::istreambuf_iterator<char>());
        for (const char *said : {"| split | micro-F1 | macro-F1 | exact-match accuracy |",
                                 "| validation, at these weights | 0.", "A label is predicted from probability 0.5 up"})
            QVERIFY2(readme.find(said) != std::string::npos, (std::string(said) + " in:\n" + readme).c_str());
        std::ifstream labelsFile(fs::path((*store)->run("multi")->runDir) / "labels.json");
        const auto names = json::parse(labelsFile).get<std::vector<std::string>>();
        std::ifstream in(jsonl.toStdString());
        std::string line;
        int rows = 0, sets = 0;
        std::vector<std::string> csvSets;
        while (std::getline(in, line)) {
            const auto row = json::parse(line);
            std::vector<std::pair<double, std::string>> at;
            for (size_t c = 0; c < names.size(); ++c)
                if (row["probs"][c].get<double>() >= 0.5)
                    at.emplace_back(row["probs"][c].get<double>(), names[c]);
            std::stable_sort(at.begin(), at.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
            std::vector<std::string> expected;
            std::string joined;
            for (const auto &[p, n] : at) {
                expected.push_back(n);
                joined += (joined.empty() ? "" : " ") + n;
            }
            QCOMPARE(row["labels"].get<std::vector<std::string>>(), expected);
            csvSets.push_back(joined);
            sets += expected.size() > 1;
            ++rows;
        }
        QVERIFY(rows > 1000);
        QVERIFY2(sets > 0, "no paper was given two labels"); // the set, not only the most probable
        std::ifstream c(csv.toStdString());
        std::getline(c, line);
        QVERIFY2(line.rfind("id,label,score,labels,", 0) == 0, line.c_str());
        for (size_t i = 0; i < csvSets.size() && std::getline(c, line); ++i) {
            const auto fields = QString::fromStdString(line).split(QLatin1Char(','));
            QCOMPARE(fields.value(3).toStdString(), csvSets[i]);
        }
        // --threshold: the set from that probability up (found by an audit: 0.5 was the only rule).
        const QString lower = path("multi-0.2.jsonl");
        r = lbk({QStringLiteral("predict"), QStringLiteral("multi"), QStringLiteral("--data"), QString::fromUtf8(kSample),
                 QStringLiteral("--out"), lower, QStringLiteral("--threshold"), QStringLiteral("0.2"), QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        size_t wider = 0, atHalf = 0;
        std::ifstream low(lower.toStdString()), half(jsonl.toStdString());
        for (std::string a, b; std::getline(low, a) && std::getline(half, b);) {
            const auto row = json::parse(a);
            size_t expected = 0;
            for (const auto &p : row["probs"])
                expected += p.get<double>() >= 0.2;
            QCOMPARE(row["labels"].size(), expected);
            wider += expected;
            atHalf += json::parse(b)["labels"].size();
        }
        QVERIFY2(wider > atHalf, qPrintable(QStringLiteral("%1 vs %2").arg(wider).arg(atHalf)));
        // A binary model's label is the positive one from the threshold up; a multiclass model refuses one.
        r = lbk({QStringLiteral("run"), variant(QStringLiteral("binary-lg"), {{"labels", {{"kind", "binary"},
                                                                              {"positive", {"cs.LG"}}}}}),
                 QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QString binary = path("binary-0.1.jsonl");
        r = lbk({QStringLiteral("predict"), QStringLiteral("binary-lg"), QStringLiteral("--data"),
                 QString::fromUtf8(kSample), QStringLiteral("--out"), binary, QStringLiteral("--threshold"),
                 QStringLiteral("0.1"), QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        std::ifstream binaryLabels(fs::path((*store)->run("binary-lg")->runDir) / "labels.json");
        const auto two = json::parse(binaryLabels).get<std::vector<std::string>>(); // negative, positive
        std::ifstream b(binary.toStdString());
        int lowPositive = 0;
        for (std::string l; std::getline(b, l);) {
            const auto row = json::parse(l);
            const double p = row["probs"][1].get<double>();
            QCOMPARE(row["label"].get<std::string>(), two[p >= 0.1 ? 1 : 0]);
            QCOMPARE(row["score"].get<double>(), row["probs"][p >= 0.1 ? 1 : 0].get<double>());
            lowPositive += p >= 0.1 && p < 0.5;
        }
        QVERIFY2(lowPositive > 0, "no paper between 0.1 and 0.5 to tell the threshold by");
        r = lbk({QStringLiteral("predict"), path("export"), QStringLiteral("--data"), QString::fromUtf8(kSample),
                 QStringLiteral("--out"), path("refused.jsonl"), QStringLiteral("--threshold"), QStringLiteral("0.3")});
        QVERIFY2(r.exitCode == 2 && r.err.contains(QStringLiteral("is a multiclass model")), qPrintable(r.err));
    }

    // After exportedModelsReproduceInPython: the bag_cnn run (cnn_lr_factor 2) records the rate its CNN's
    // optimizer group actually held at each logged step, next to the schedule's rate.
    void bagCnnRecordsTheCnnRate()
    {
        auto s = lbk::Store::open(m_store.toStdString());
        QVERIFY(s.ok());
        auto run = (*s)->run("bagcnn");
        QVERIFY(run.ok());
        const auto lr = (*s)->metric(run->id, "lr"), cnn = (*s)->metric(run->id, "lr/cnn");
        QVERIFY(lr.size() > 5);
        QCOMPARE(cnn.size(), lr.size());
        double lowest = lr.front().value, highest = lr.front().value;
        for (size_t i = 0; i < lr.size(); ++i) {
            QCOMPARE(cnn[i].step, lr[i].step);
            QVERIFY2(std::abs(cnn[i].value - 2 * lr[i].value) <= 1e-12 * lr[i].value,
                     qPrintable(QString::number(cnn[i].value) + QStringLiteral(" at step ") +
                                QString::number(cnn[i].step)));
            lowest = std::min(lowest, lr[i].value);
            highest = std::max(highest, lr[i].value);
        }
        QVERIFY(highest > 2 * lowest); // warm-up and decay moved the rate: the factor held at every rate, not one
        // A model with one group records no extra rate.
        auto debug = (*s)->run("debug");
        QVERIFY(debug.ok());
        const auto keys = (*s)->metricKeys(debug->id);
        QVERIFY(std::none_of(keys.begin(), keys.end(), [](const std::string &k) { return k.rfind("lr/", 0) == 0; }));
    }

    // A file named .zst that is not zstd is said to be so, as training says it (found by an audit: "bad JSON at
    // column 1"); plain text named so is read as zstd too, and told to drop the suffix.
    void aFileNamedZstThatIsNot()
    {
        const QString fake = path("fake.jsonl.zst");
        std::ofstream(fake.toStdString()) << R"({"id": "1", "title": "A paper"})" << '\n';
        const auto r = lbk({QStringLiteral("predict"), QStringLiteral("debug"), QStringLiteral("--data"), fake,
                            QStringLiteral("--out"), path("fake.jsonl")});
        QVERIFY2(r.exitCode != 0 && r.err.contains(QStringLiteral("not zstd-compressed")) &&
                     r.err.contains(QStringLiteral("drop the .zst suffix")),
                 qPrintable(r.err));
    }

    // A run's labels.json edited after it was evaluated would name every output wrongly: refused, naming the file
    // (found by an audit: predict scored with the swapped names, and export checksummed them as sound).
    void aChangedLabelsFileIsRefused()
    {
        auto s = lbk::Store::open(m_store.toStdString());
        QVERIFY(s.ok());
        const auto run = (*s)->run("debug");
        QVERIFY(run.ok());
        const fs::path file = fs::path(run->runDir) / "labels.json";
        std::ifstream in(file);
        const json labels = json::parse(in);
        in.close();
        json swapped = labels;
        std::swap(swapped[0], swapped[1]);
        std::ofstream(file) << swapped.dump();
        const auto scored = lbk({QStringLiteral("predict"), QStringLiteral("debug"), QStringLiteral("--data"),
                                 QString::fromUtf8(kSample), QStringLiteral("--out"), path("swapped.jsonl")});
        const auto exported = lbk({QStringLiteral("export"), QStringLiteral("debug"), QStringLiteral("--format"),
                                   QStringLiteral("model"), QStringLiteral("--out"), path("swapped-export")});
        std::ofstream(file) << labels.dump();
        const QString said = QString::fromStdString(file.string()) +
                             QStringLiteral(" is not the list of labels the run was evaluated over");
        for (const auto &r : {scored, exported})
            QVERIFY2(r.exitCode == 2 && r.err.contains(said), qPrintable(r.err));
        QVERIFY(!fs::exists(path("swapped.jsonl").toStdString()));
    }

    void evalRecordsIntoTheRun()
    {
        auto r = lbk({QStringLiteral("eval"), QStringLiteral("debug"), QStringLiteral("--data"),
                      QString::fromUtf8(kSample)});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        QVERIFY2(r.out.contains(QStringLiteral("accuracy")), qPrintable(r.out));
        auto s = lbk::Store::open(m_store.toStdString());
        QVERIFY(s.ok());
        auto runRow = (*s)->run("debug");
        QVERIFY(runRow.ok());
        QCOMPARE(runRow->status, lbk::RunStatus::Finished);
        const auto evals = (*s)->evaluations(runRow->id, "eval:arxiv-sample-5k.jsonl");
        QCOMPARE(evals.size(), size_t(1));
        // The sample holds the training data too, so accuracy is well above chance (0.2), which is said, and kept
        // with the figures.
        QVERIFY(evals[0].summary["accuracy"].get<double>() > 0.6);
        QVERIFY2(r.err.contains(QStringLiteral(" papers of arxiv-sample-5k.jsonl are in the run's training split")),
                 qPrintable(r.err));
        QVERIFY(evals[0].summary["cautions"].size() == 1);
        QVERIFY(!(*s)->histograms(runRow->id, "eval:arxiv-sample-5k.jsonl").empty());
        lbk::PredictionFilter f;
        f.split = "eval:arxiv-sample-5k.jsonl";
        QVERIFY((*s)->predictions(runRow->id, f).size() > 1000);
        const auto keys = (*s)->metricKeys(runRow->id);
        QVERIFY(std::find(keys.begin(), keys.end(), "eval:arxiv-sample-5k.jsonl/accuracy") != keys.end());

        // --split test would have replaced the run's own test figures with these: refused, the test row kept.
        const auto testBefore = (*s)->evaluations(runRow->id, "test");
        QCOMPARE(testBefore.size(), size_t(1));
        auto own = lbk({QStringLiteral("eval"), QStringLiteral("debug"), QStringLiteral("--data"),
                        QString::fromUtf8(kSample), QStringLiteral("--split"), QStringLiteral("test")});
        QCOMPARE(own.exitCode, 2);
        QVERIFY2(own.err.contains(QStringLiteral("the run's own test figures")), qPrintable(own.err));
        const auto testAfter = (*s)->evaluations(runRow->id, "test");
        QCOMPARE(testAfter.size(), size_t(1));
        QCOMPARE(testAfter[0].summary, testBefore[0].summary);

        // A relative --data is the working directory's file (it was looked for under the data root only).
        fs::create_directories(path("cwd").toStdString());
        fs::copy_file(kSample, path("cwd/mine.jsonl").toStdString());
        const auto here = lbktest::runProcess(QStringLiteral(LABBOOK_BIN_DIR "/lbk"),
                                              {QStringLiteral("--store"), m_store, QStringLiteral("eval"),
                                               QStringLiteral("debug"), QStringLiteral("--data"),
                                               QStringLiteral("mine.jsonl")},
                                              600000, QProcessEnvironment::systemEnvironment(), path("cwd"));
        QVERIFY2(here.exitCode == 0, qPrintable(here.err));
        QCOMPARE((*s)->evaluations(runRow->id, "eval:mine.jsonl").size(), size_t(1));
        // A copy under another name holds the same training papers: said too (found by an audit: a file was cautioned
        // only when it was the training file itself).
        QVERIFY2(here.err.contains(QStringLiteral(" papers of mine.jsonl are in the run's training split")),
                 qPrintable(here.err));

        // A file given on the command line is the user's: its messages name no experiment key.
        auto absent = lbk({QStringLiteral("eval"), QStringLiteral("debug"), QStringLiteral("--data"),
                           path("absent.jsonl")});
        QVERIFY2(absent.exitCode == 2 && absent.err.contains(QStringLiteral("absent.jsonl: no such file")) &&
                     !absent.err.contains(QStringLiteral("data.path")),
                 qPrintable(absent.err));

        // An export folder is no run to record into: said, with the run it came from.
        auto ofExport = lbk({QStringLiteral("eval"), path("export"), QStringLiteral("--data"), QString::fromUtf8(kSample)});
        QVERIFY2(ofExport.exitCode == 2 && ofExport.err.contains(QStringLiteral(": an export folder of run ")),
                 qPrintable(ofExport.err));

        // A file whose papers mostly lack the run's labels: the few it scores are said to say little.
        for (const auto &line : readLines(QString::fromUtf8(kSample)))
            if (json::parse(line)["categories"].get<std::string>().rfind("cs.CV", 0) == 0) {
                std::ofstream(path("few.jsonl").toStdString()) << line << "\n";
                break;
            }
        auto few = lbk({QStringLiteral("eval"), QStringLiteral("debug"), QStringLiteral("--data"), path("few.jsonl")});
        QVERIFY2(few.exitCode == 0 && few.err.contains(QStringLiteral("few.jsonl: 1 paper with one of the run's labels")),
                 qPrintable(few.err));
    }

    void datasetDumpMatchesTheRun()
    {
        auto r = lbk({QStringLiteral("dataset"), QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json"),
                      QStringLiteral("--out"), path("ds.jsonl")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto lines = readLines(path("ds.jsonl"));
        const json header = json::parse(lines[0]);
        QCOMPARE(header["label_names"].size(), size_t(5));
        int64_t train = 0;
        for (size_t i = 1; i < lines.size(); ++i)
            train += json::parse(lines[i])["split"] == "train";
        std::ifstream in(path("export/model.json").toStdString());
        QCOMPARE(train, json::parse(in)["data"]["train"].get<int64_t>());

        // --out naming the experiment's own data file is refused, and the file stays (found by an audit: lbk
        // dataset wrote over its input).
        fs::copy_file(kSample, path("own.jsonl").toStdString());
        const QString own = variant(QStringLiteral("own-data"), {{"data", {{"path", path("own.jsonl").toStdString()}}}});
        const auto size = fs::file_size(path("own.jsonl").toStdString());
        auto refused = lbk({QStringLiteral("dataset"), own, QStringLiteral("--out"), path("own.jsonl")});
        QVERIFY(refused.exitCode != 0);
        QVERIFY2(refused.err.contains(QStringLiteral("itself; give --out another file")), qPrintable(refused.err));
        QCOMPARE(fs::file_size(path("own.jsonl").toStdString()), size);
    }

    void bf16PrecisionTrains()
    {
        const QString file = variant(QStringLiteral("bf16"), {{"model", {{"type", "transformer"}, {"embedding_dim", 32},
                                                                          {"hidden", 64}, {"layers", 1}, {"heads", 2},
                                                                          {"pooling", "cls"}}},
                                                               {"training", {{"precision", "bf16"}, {"max_steps", 12},
                                                                             {"device", "cpu"}}},
                                                               {"evaluation", {{"every_steps", 6}}}});
        auto r = lbk({QStringLiteral("run"), file, QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        auto s = lbk::Store::open(m_store.toStdString());
        auto runRow = (*s)->run("bf16");
        QVERIFY(runRow.ok());
        const std::string precision = recordedPrecision("bf16");
        // bf16 where the CPU computes it natively, else fp32 with a warning in the run's log.
        QVERIFY2(precision == "bf16" || precision == "fp32", precision.c_str());
        if (precision == "fp32") {
            bool warned = false;
            for (const auto &l : (*s)->logs(runRow->id))
                warned = warned || l.message.find("bfloat16") != std::string::npos;
            QVERIFY(warned);
        }
    }

    // After bf16PrecisionTrains: `lbk predict` and `lbk eval` score a bf16 run as it trained and validated (bf16
    // autocast where the CPU computes it natively), fp32 when asked; an fp32 run stays in fp32.
    void predictFollowsTheRunsPrecision()
    {
        // The trainer ran the bf16 run in bf16 exactly where this CPU computes it natively.
        const bool native = recordedPrecision("bf16") == "bf16";
        const QString data = QString::fromUtf8(kSample);
        auto predict = [&](const QString &run, const QString &out, const QString &precision) {
            QStringList args = {QStringLiteral("predict"), run, QStringLiteral("--data"), data, QStringLiteral("--out"),
                                path(out.toUtf8().constData()), QStringLiteral("--threads"), QStringLiteral("1")};
            if (!precision.isEmpty())
                args << QStringLiteral("--precision") << precision;
            return lbk(args);
        };
        auto autoRun = predict(QStringLiteral("bf16"), QStringLiteral("bf16-auto.jsonl"), QString());
        QVERIFY2(autoRun.exitCode == 0, qPrintable(autoRun.err));
        QVERIFY2(autoRun.err.contains(native ? QStringLiteral("1 thread, bf16)") : QStringLiteral("1 thread, fp32)")),
                 qPrintable(autoRun.err));
        if (!native) {
            // The run trained in fp32 on this CPU, so it is scored in fp32 without a word; asking for bf16 says why
            // it is not given.
            QVERIFY2(!autoRun.err.contains(QStringLiteral("bfloat16")), qPrintable(autoRun.err));
            auto asked = predict(QStringLiteral("bf16"), QStringLiteral("bf16-asked.jsonl"), QStringLiteral("bf16"));
            QVERIFY2(asked.exitCode == 0, qPrintable(asked.err));
            QVERIFY2(asked.err.contains(QStringLiteral("no native bfloat16")) &&
                         asked.err.contains(QStringLiteral("1 thread, fp32)")),
                     qPrintable(asked.err));
        }
        auto fp32Run = predict(QStringLiteral("bf16"), QStringLiteral("bf16-fp32.jsonl"), QStringLiteral("fp32"));
        QVERIFY2(fp32Run.exitCode == 0, qPrintable(fp32Run.err));
        QVERIFY2(fp32Run.err.contains(QStringLiteral("1 thread, fp32)")), qPrintable(fp32Run.err));

        const auto a = readLines(path("bf16-auto.jsonl")), b = readLines(path("bf16-fp32.jsonl"));
        QCOMPARE(a.size(), size_t(5000));
        QCOMPARE(b.size(), a.size());
        double maxDiff = 0;
        size_t clear = 0, sameLabel = 0; // rows whose fp32 top two classes are 0.02 or more apart
        for (size_t i = 0; i < a.size(); ++i) {
            const json x = json::parse(a[i]), y = json::parse(b[i]);
            QCOMPARE(x["id"], y["id"]);
            std::vector<double> p = y["probs"].get<std::vector<double>>();
            std::partial_sort(p.begin(), p.begin() + 2, p.end(), std::greater<>());
            if (p[0] - p[1] >= 0.02) {
                ++clear;
                sameLabel += x["label"] == y["label"];
            }
            for (size_t c = 0; c < x["probs"].size(); ++c)
                maxDiff = std::max(maxDiff, std::abs(x["probs"][c].get<double>() - y["probs"][c].get<double>()));
        }
        if (native) {
            // bfloat16 keeps 8 bits of mantissa: close to fp32, not equal; a clear fp32 decision stays.
            QVERIFY2(maxDiff > 0 && maxDiff < 0.05, qPrintable(QString::number(maxDiff)));
            QVERIFY2(clear > 100 && sameLabel == clear,
                     qPrintable(QString::number(sameLabel) + QStringLiteral(" of ") + QString::number(clear)));
        } else {
            QCOMPARE(maxDiff, 0.0);
        }

        // An fp32 run stays in fp32 under auto.
        auto fp32Default = predict(QStringLiteral("debug"), QStringLiteral("debug-auto.jsonl"), QString());
        QVERIFY2(fp32Default.exitCode == 0, qPrintable(fp32Default.err));
        QVERIFY2(fp32Default.err.contains(QStringLiteral(", fp32)")), qPrintable(fp32Default.err));
        // An export is scored in fp32 under auto, as its Python client computes, even from a bf16 run.
        auto ex = lbk({QStringLiteral("export"), QStringLiteral("bf16"), QStringLiteral("--format"),
                       QStringLiteral("model"), QStringLiteral("--out"), path("export-bf16")});
        QVERIFY2(ex.exitCode == 0, qPrintable(ex.err + ex.out));
        auto fromExport = predict(path("export-bf16"), QStringLiteral("bf16-export.jsonl"), QString());
        QVERIFY2(fromExport.exitCode == 0, qPrintable(fromExport.err));
        QVERIFY2(fromExport.err.contains(QStringLiteral(", fp32)")), qPrintable(fromExport.err));
        QVERIFY(readLines(path("bf16-export.jsonl")) == b); // the same rows as the run with --precision fp32

        // lbk eval records the precision it scored in with the evaluation.
        auto e = lbk({QStringLiteral("eval"), QStringLiteral("bf16"), QStringLiteral("--data"), data,
                      QStringLiteral("--split"), QStringLiteral("eval:precision")});
        QVERIFY2(e.exitCode == 0, qPrintable(e.err + e.out));
        auto s = lbk::Store::open(m_store.toStdString());
        QVERIFY(s.ok());
        const auto evals = (*s)->evaluations((*s)->run("bf16")->id, "eval:precision");
        QCOMPARE(evals.size(), size_t(1));
        QCOMPARE(evals[0].summary.value("precision", ""), std::string(native ? "bf16" : "fp32"));

        // A precision lbk does not know is refused before anything runs.
        auto bad = predict(QStringLiteral("bf16"), QStringLiteral("bad.jsonl"), QStringLiteral("fp16"));
        QVERIFY(bad.exitCode != 0);
        QVERIFY2(bad.err.contains(QStringLiteral("fp16")), qPrintable(bad.err));
        QVERIFY(!QFileInfo::exists(path("bad.jsonl")));
    }

    // One byte changed inside a tensor of best.pt (a disk error; LibTorch does not check the archive's CRCs): the
    // checksum written with the weights names the file as damaged instead of predicting with wrong weights.
    void aChangedByteInACheckpointIsCaught()
    {
        auto s = lbk::Store::open(m_store.toStdString());
        QVERIFY(s.ok());
        const fs::path best = fs::path((*s)->run("debug")->runDir) / "checkpoints" / "best.pt";
        const fs::path kept = best.string() + ".kept";
        fs::copy_file(best, kept, fs::copy_options::overwrite_existing);
        const char *flip = "import sys, zipfile\n"
                           "p = sys.argv[1]\n"
                           "i = max((i for i in zipfile.ZipFile(p).infolist() if '/data/' in i.filename), key=lambda i: i.file_size)\n"
                           "with open(p, 'r+b') as f:\n"
                           "    f.seek(i.header_offset + 26)\n"
                           "    h = f.read(4)\n"
                           "    at = i.header_offset + 30 + int.from_bytes(h[:2], 'little') + int.from_bytes(h[2:], 'little') + i.file_size // 2\n"
                           "    f.seek(at)\n"
                           "    b = f.read(1)\n"
                           "    f.seek(at)\n"
                           "    f.write(bytes([b[0] ^ 1]))\n";
        auto py = run(QStringLiteral("python3"), {QStringLiteral("-c"), QString::fromUtf8(flip), QString::fromStdString(best.string())});
        QVERIFY2(py.exitCode == 0, qPrintable(py.err));
        auto r = lbk({QStringLiteral("predict"), QStringLiteral("debug"), QStringLiteral("--data"), QString::fromUtf8(kSample),
                      QStringLiteral("--out"), path("flipped.jsonl"), QStringLiteral("-q")});
        fs::rename(kept, best);
        QVERIFY(r.exitCode != 0);
        QVERIFY2(r.err.contains(QString::fromStdString(best.string())) &&
                     r.err.contains(QStringLiteral("do not match the checksum written with them: the file is damaged")),
                 qPrintable(r.err));
        // best.pt gone, a last.pt there (as a cancelled run leaves them): the last checkpoint is scored, and that is
        // said (it was scored without a word).
        const fs::path last = best.parent_path() / "last.pt";
        fs::rename(best, last);
        auto fromLast = lbk({QStringLiteral("predict"), QStringLiteral("debug"), QStringLiteral("--data"),
                             QString::fromUtf8(kSample), QStringLiteral("--out"), path("from-last.jsonl"), QStringLiteral("-q")});
        fs::rename(last, best);
        QVERIFY2(fromLast.exitCode == 0, qPrintable(fromLast.err));
        QVERIFY2(fromLast.err.contains(QStringLiteral("best.pt is missing")) &&
                     fromLast.err.contains(QStringLiteral("scoring the last checkpoint, step ")),
                 qPrintable(fromLast.err));
    }
};

QTEST_GUILESS_MAIN(TestInferenceE2e)
#include "tst_predict.moc"
