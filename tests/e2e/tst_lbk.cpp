// lbk end to end, as a user runs it: real processes, the real 5k sample, a real SQLite store in a scratch folder.
#include <QtTest>

#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <thread>

#include "launch/process.h"
#include "lbkprocess.h"
#include "store/store.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Result = lbktest::ProcessResult;

QString lbkPath()
{
    return QStringLiteral(LABBOOK_BIN_DIR "/lbk");
}

QString experiment(const char *name)
{
    return QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/") + QString::fromUtf8(name);
}

} // namespace

class TestLbk : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir{QStringLiteral(LABBOOK_TEST_TMP "/e2e-XXXXXX")};
    QString m_store;

    Result lbk(const QStringList &args, int timeoutMs = 300000)
    {
        return lbktest::runProcess(lbkPath(), QStringList{QStringLiteral("--store"), m_store} + args, timeoutMs);
    }

    std::unique_ptr<lbk::Store> store()
    {
        auto s = lbk::Store::open(m_store.toStdString());
        if (!s)
            qFatal("%s", s.message().c_str());
        return std::move(*s);
    }

    QString variant(const QString &name, const json &changes) { return lbktest::debugVariant(m_dir.path(), name, changes); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_store = m_dir.filePath(QStringLiteral("store/labbook.db"));
        QVERIFY2(QFileInfo::exists(lbkPath()), "build lbk first");
    }

    void validateGoodAndBad()
    {
        auto ok = lbk({QStringLiteral("validate"), experiment("debug.json")});
        QCOMPARE(ok.exitCode, 0);
        QVERIFY2(!ok.err.contains(QStringLiteral("note:")), qPrintable(ok.err));
        // A data file that is not here: valid (a target may have it), with a note naming it.
        const QString elsewhere = m_dir.filePath(QStringLiteral("elsewhere.json"));
        std::ofstream(elsewhere.toStdString()) << R"({"data": {"path": "nowhere/papers.jsonl"}})";
        auto noted = lbk({QStringLiteral("validate"), elsewhere});
        QCOMPARE(noted.exitCode, 0);
        QVERIFY2(noted.err.contains(QStringLiteral("note: data.path: ")) &&
                     noted.err.contains(QStringLiteral("nowhere/papers.jsonl: no such file here")),
                 qPrintable(noted.err));
        // A field that does nothing with the rest of the file: valid, with a note saying when it would apply.
        const QString unused = m_dir.filePath(QStringLiteral("unused.json"));
        std::ofstream(unused.toStdString())
            << R"({"data": {"path": "x.jsonl"}, "model": {"type": "bag", "channels": 64}})";
        auto unusedNote = lbk({QStringLiteral("validate"), unused});
        QCOMPARE(unusedNote.exitCode, 0);
        QVERIFY2(unusedNote.err.contains(QStringLiteral("note: model.channels is set but not used (only when "
                                                        "model.type=cnn")),
                 qPrintable(unusedNote.err));
        const QString bad = m_dir.filePath(QStringLiteral("bad.json"));
        std::ofstream(bad.toStdString()) << R"({"data": {"path": "x"}, "optimizer": {"lr": "fast", "mom": 1}})";
        auto r = lbk({QStringLiteral("validate"), bad});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("optimizer.lr: \"fast\" is not a number")), qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("optimizer.mom: unknown key")), qPrintable(r.err));
        auto js = lbk({QStringLiteral("--json"), QStringLiteral("validate"), bad});
        QCOMPARE(js.exitCode, 2);
        QCOMPARE(json::parse(js.out.toStdString())["errors"].size(), size_t(2));
        // Several files (experiments/*.json): each said, its notes named by file, and the count of bad ones.
        auto several = lbk({QStringLiteral("validate"), experiment("debug.json"), unused, bad});
        QCOMPARE(several.exitCode, 2);
        QVERIFY2(several.out.contains(QStringLiteral("debug.json: valid")), qPrintable(several.out));
        QVERIFY2(several.err.contains(unused + QStringLiteral(": note: model.channels is set")), qPrintable(several.err));
        QVERIFY2(several.err.contains(bad + QStringLiteral(": optimizer.mom: unknown key")), qPrintable(several.err));
        QVERIFY2(several.err.contains(QStringLiteral("1 of 3 files have errors")), qPrintable(several.err));
        auto severalJson = lbk({QStringLiteral("--json"), QStringLiteral("validate"), experiment("debug.json"), bad});
        const auto reports = json::parse(severalJson.out.toStdString());
        QVERIFY(reports.is_array() && reports.size() == 2);
        QVERIFY(reports[0]["valid"] == true && reports[1]["valid"] == false);
        // A run of an invalid file records nothing and exits 2.
        auto run = lbk({QStringLiteral("run"), bad});
        QCOMPARE(run.exitCode, 2);
    }

    void debugRunRecordsEverything()
    {
        auto r = lbk({QStringLiteral("run"), experiment("debug.json"), QStringLiteral("--tag"), QStringLiteral("e2e")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        QVERIFY2(r.out.contains(QStringLiteral("finished")), qPrintable(r.out));

        auto s = store();
        auto run = s->run("debug");
        QVERIFY(run.ok());
        QCOMPARE(run->status, lbk::RunStatus::Finished);
        QCOMPARE(run->kind, std::string("train"));
        QVERIFY(std::find(run->tags.begin(), run->tags.end(), "e2e") != run->tags.end());
        QVERIFY(run->config.contains("optimizer"));

        const auto keys = s->metricKeys(run->id);
        for (const char *k : {"train/loss", "lr", "train/examples_per_s", "val/accuracy", "val/macro_f1", "test/accuracy"})
            QVERIFY2(std::find(keys.begin(), keys.end(), k) != keys.end(), k);
        const auto loss = s->metric(run->id, "train/loss");
        QVERIFY(loss.size() > 10);
        QVERIFY2(loss.back().value < loss.front().value, "the training loss went down");

        // Five classes: chance is 0.2 and the majority class about 0.4; a working model does far better.
        const auto val = s->evaluations(run->id, "val");
        QVERIFY(val.size() >= 3);
        const double acc = val.back().summary["accuracy"].get<double>();
        QVERIFY2(acc > 0.55, qPrintable(QString::number(acc)));
        QCOMPARE(val.back().summary["confusion"].size(), size_t(5));
        QCOMPARE(s->evaluations(run->id, "test").size(), size_t(1));
        QCOMPARE(run->summary["val_labels"], val.back().summary["labels"]); // what Compare checks before it ranks runs

        const auto hist = s->histograms(run->id, "val");
        QVERIFY(hist.size() >= 2 * val.size());
        int64_t total = 0;
        for (auto c : hist.front().counts)
            total += c;
        QCOMPARE(total, val.front().summary["examples"].get<int64_t>());

        lbk::PredictionFilter f;
        const auto preds = s->predictions(run->id, f);
        QCOMPARE(int64_t(preds.size()), val.back().summary["examples"].get<int64_t>());
        QVERIFY(!preds.front().title.empty());
        QCOMPARE(preds.front().top.size(), size_t(3));
        f.split = "test";
        QVERIFY(!s->predictions(run->id, f).empty());
        QVERIFY(s->predictionSteps(run->id, "val").size() == val.size());

        bool bestCkpt = false;
        for (const auto &a : s->artifacts(run->id))
            bestCkpt = bestCkpt || a.kind == "checkpoint-best";
        QVERIFY(bestCkpt);
        const fs::path ckpts = fs::path(run->runDir) / "checkpoints";
        QVERIFY(fs::exists(ckpts / "best.pt"));
        // A finished run keeps what scoring and export read, not the resumable state, and says so.
        QVERIFY(!fs::exists(ckpts / "last.pt"));
        for (const auto &a : s->artifacts(run->id))
            QVERIFY2(a.kind != "checkpoint-last", a.path.c_str());
        QVERIFY(!s->logs(run->id).empty());
        QCOMPARE(s->cursor(run->id).offset, int64_t(fs::file_size(fs::path(run->runDir) / "journal.jsonl")));
    }

    void cliListsShowsComparesExports()
    {
        auto runs = lbk({QStringLiteral("--json"), QStringLiteral("runs")});
        QCOMPARE(runs.exitCode, 0);
        const auto list = json::parse(runs.out.toStdString());
        QVERIFY(!list.empty());
        QCOMPARE(list[0]["status"].get<std::string>(), std::string("finished"));
        // The table's validation columns are the GUI list's: the best F1 (the kept checkpoint's), not the final.
        auto table = lbk({QStringLiteral("runs")});
        QCOMPARE(list[0]["task"].get<std::string>(), std::string("multiclass")); // binary lists its val/f1
        const double bestF1 = list[0]["summary"]["best"]["val/macro_f1"].get<double>();
        QVERIFY2(table.out.contains(QStringLiteral("BEST F1")) &&
                     table.out.contains(QString::number(bestF1, 'f', 3)),
                 qPrintable(table.out));

        auto filtered = lbk({QStringLiteral("--json"), QStringLiteral("runs"), QStringLiteral("--status"),
                             QStringLiteral("failed")});
        QCOMPARE(json::parse(filtered.out.toStdString()).size(), size_t(0));

        auto show = lbk({QStringLiteral("show"), QStringLiteral("debug")});
        QCOMPARE(show.exitCode, 0);
        QVERIFY(show.out.contains(QStringLiteral("Per-class test metrics")));

        auto missing = lbk({QStringLiteral("show"), QStringLiteral("no-such-run")});
        QCOMPARE(missing.exitCode, 2);
        QVERIFY(missing.err.contains(QStringLiteral("no run")));

        auto wrong = lbk({QStringLiteral("--json"), QStringLiteral("predictions"), QStringLiteral("debug"),
                          QStringLiteral("--misclassified"), QStringLiteral("--limit"), QStringLiteral("0")});
        QCOMPARE(wrong.exitCode, 0);
        const auto rows = json::parse(wrong.out.toStdString());
        QVERIFY(!rows.empty());
        for (const auto &row : rows)
            QVERIFY(!row["correct"].get<bool>());
        // Most confident mistakes first.
        QVERIFY(rows[0]["top"][0][1].get<double>() >= rows[rows.size() - 1]["top"][0][1].get<double>());

        const QString csv = m_dir.filePath(QStringLiteral("metrics.csv"));
        auto exp = lbk({QStringLiteral("export"), QStringLiteral("debug"), QStringLiteral("--format"),
                        QStringLiteral("csv"), QStringLiteral("--what"), QStringLiteral("metrics"),
                        QStringLiteral("--out"), csv});
        QCOMPARE(exp.exitCode, 0);
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readLine().trimmed(), QByteArray("key,step,wall,value"));
        QVERIFY(f.readAll().count('\n') > 20);
        exp = lbk({QStringLiteral("export"), QStringLiteral("debug"), QStringLiteral("--format"), QStringLiteral("csv")});
        QVERIFY2(exp.exitCode == 0 && exp.out.startsWith(QStringLiteral("key,step,wall,value")) &&
                     exp.err.contains(QStringLiteral("these are the metrics; --what predictions writes the predictions")),
                 qPrintable(exp.err)); // found by an audit: --what all left the predictions out without a word

        auto js = lbk({QStringLiteral("export"), QStringLiteral("debug"), QStringLiteral("--format"), QStringLiteral("json")});
        QCOMPARE(js.exitCode, 0);
        const auto doc = json::parse(js.out.toStdString());
        QVERIFY(doc["metrics"].contains("val/accuracy"));
        QVERIFY(!doc["predictions"]["test"].empty());

        // A write that fails is a failure, and an earlier export stays whole (found by an audit: a full disk's export
        // said "wrote" and exited 0 with the file cut, over a good earlier one; `lbk runs > full` exited 0 too).
        const QString predictions = m_dir.filePath(QStringLiteral("predictions.csv"));
        exp = lbk({QStringLiteral("export"), QStringLiteral("debug"), QStringLiteral("--format"), QStringLiteral("csv"),
                   QStringLiteral("--what"), QStringLiteral("predictions"), QStringLiteral("--out"), predictions});
        QCOMPARE(exp.exitCode, 0);
        QFile written(predictions);
        QVERIFY(written.open(QIODevice::ReadOnly));
        QCOMPARE(written.readLine(), QByteArray("split,step,id,title,truth,predicted,probability,correct,p_true\n"));
        const auto full = lbk({QStringLiteral("export"), QStringLiteral("debug"), QStringLiteral("--format"),
                               QStringLiteral("json"), QStringLiteral("--out"), QStringLiteral("/dev/full")});
        QVERIFY2(full.exitCode == 1 && full.err.contains(QStringLiteral("/dev/full: cannot write")) &&
                     !full.err.contains(QStringLiteral("wrote /dev/full")),
                 qPrintable(full.err));
        QProcess toFull;
        toFull.setStandardOutputFile(QStringLiteral("/dev/full"));
        toFull.start(lbkPath(), {QStringLiteral("--store"), m_store, QStringLiteral("runs")});
        QVERIFY(toFull.waitForFinished(60000));
        QCOMPARE(toFull.exitCode(), 1);
        QVERIFY2(toFull.readAllStandardError().contains("writing the output failed"), "no word of the failed write");
    }

    // A store rebuilt from its run folders, as the damaged-store message advises: the run keeps its name, task and
    // files, so it can be scored (found by an audit: it came back as "python" with no task, and predict found no
    // experiment.json).
    void aRunFolderRecordedIntoAnotherStore()
    {
        auto debug = store()->run("debug");
        QVERIFY(debug.ok());
        const QString other = m_dir.filePath(QStringLiteral("rebuilt.db"));
        const auto recorded = lbktest::runProcess(
            lbkPath(), {QStringLiteral("--store"), other, QStringLiteral("--json"), QStringLiteral("record"),
                        QStringLiteral("--journal"), QString::fromStdString(debug->runDir + "/journal.jsonl")});
        QVERIFY2(recorded.exitCode == 0, qPrintable(recorded.err));
        auto rebuilt = lbk::Store::open(other.toStdString());
        QVERIFY(rebuilt.ok());
        const auto run = (*rebuilt)->runById(json::parse(recorded.out.toStdString())["id"].get<int64_t>());
        QVERIFY(run.ok());
        QCOMPARE(run->name, std::string("debug"));
        QCOMPARE(run->task, debug->task);
        QCOMPARE(run->status, lbk::RunStatus::Finished);
        QVERIFY(fs::exists(fs::path(run->runDir) / "experiment.json"));
        QVERIFY(fs::exists(fs::path(run->runDir) / "checkpoints" / "best.pt"));
        const QString sample = QStringLiteral(LABBOOK_SOURCE_DIR "/../shared/data/arxiv/arxiv-sample-5k.jsonl");
        const auto scored = lbktest::runProcess(
            lbkPath(), {QStringLiteral("--store"), other, QStringLiteral("predict"), QString::number(run->id),
                        QStringLiteral("--data"), sample, QStringLiteral("--out"),
                        m_dir.filePath(QStringLiteral("rebuilt.jsonl"))});
        QVERIFY2(scored.exitCode == 0, qPrintable(scored.err));
    }

    // `lbk help` and `lbk help COMMAND` are --help, as in git (found by an audit: "help: no such command").
    void helpAsACommand()
    {
        const auto all = lbk({QStringLiteral("help")});
        QVERIFY2(all.exitCode == 0 && all.out.contains(QStringLiteral("resume")), qPrintable(all.out + all.err));
        const auto one = lbk({QStringLiteral("help"), QStringLiteral("predict")});
        QVERIFY2(one.exitCode == 0 && one.out.contains(QStringLiteral("--threshold")), qPrintable(one.out + one.err));
        const auto flagged = lbk({QStringLiteral("--json"), QStringLiteral("help"), QStringLiteral("runs")});
        QVERIFY2(flagged.exitCode == 0 && flagged.out.contains(QStringLiteral("--status")), // a flag takes no value
                 qPrintable(flagged.out + flagged.err));
        const auto none = lbk({QStringLiteral("help"), QStringLiteral("frobnicate")});
        QVERIFY2(none.exitCode == 2 && none.err.contains(QStringLiteral("frobnicate: no such command")),
                 qPrintable(none.out + none.err));
    }

    // Mistakes on the command line are bad input (exit 2) with a message naming the option or the word.
    void commandLineMistakesAreNamed_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown command") << QStringList{QStringLiteral("frobnicate")}
                                         << QStringLiteral("frobnicate: no such command");
        QTest::newRow("export --what") << QStringList{QStringLiteral("export"), QStringLiteral("debug"), QStringLiteral("--what"),
                                                      QStringLiteral("foo")}
                                       << QStringLiteral("--what: foo not in {all,metrics,predictions}");
        QTest::newRow("predictions --step") << QStringList{QStringLiteral("predictions"), QStringLiteral("debug"),
                                                           QStringLiteral("--step"), QStringLiteral("99999")}
                                            << QStringLiteral("has no val predictions at that step; it has them at step");
        QTest::newRow("negative step") << QStringList{QStringLiteral("predictions"), QStringLiteral("debug"),
                                                      QStringLiteral("--step"), QStringLiteral("-1")}
                                       << QStringLiteral("--step: -1 is not a whole number of 0 or more");
        // lbk predict debug --data DATA --out OUT, then more options.
        const auto predict = [](const QString &data, const QString &out, const QStringList &more = {}) {
            return QStringList{QStringLiteral("predict"), QStringLiteral("debug"), QStringLiteral("--data"), data,
                               QStringLiteral("--out"), out} + more;
        };
        const QString sample = QStringLiteral(LABBOOK_SOURCE_DIR "/../shared/data/arxiv/arxiv-sample-5k.jsonl");
        QTest::newRow("batch size") << predict(QStringLiteral("x.jsonl"), QStringLiteral("y.jsonl"),
                                               {QStringLiteral("--batch-size"), QStringLiteral("0")})
                                    << QStringLiteral("--batch-size: 0 is not a whole number of 1 or more");
        QTest::newRow("empty --out") << predict(sample, QString())
                                     << QStringLiteral("--out is empty: give a file, or - for standard output");
        QTest::newRow("record a folder") << QStringList{QStringLiteral("record"), QStringLiteral("--journal"),
                                                        QStringLiteral(LABBOOK_SOURCE_DIR)}
                                         << QStringLiteral(": a folder; give its journal.jsonl");
        QTest::newRow("seeds") << QStringList{QStringLiteral("run"), QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json"),
                                              QStringLiteral("--seeds"), QStringLiteral("13,-1")}
                               << QStringLiteral("--seeds: -1 is not a whole number of 0 or more");
        QTest::newRow("threads") << predict(QStringLiteral("x.jsonl"), QStringLiteral("y.jsonl"),
                                            {QStringLiteral("--threads"), QStringLiteral("100000")})
                                 << QStringLiteral("--threads: 100000 is not a whole number from 0 to 1024");
        QTest::newRow("predict format") << predict(sample, QStringLiteral("y.parquet"))
                                        << QStringLiteral("--out y.parquet: predict writes JSON lines or CSV, not \".parquet\"");
    }

    void commandLineMistakesAreNamed()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, expected);
        auto r = lbk(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(expected), qPrintable(r.err));
    }

    // labels.top_n above the categories the data has keeps them all, and says so.
    void aTopNAboveTheCategoriesIsSaid()
    {
        auto r = lbk({QStringLiteral("run"),
                      variant(QStringLiteral("top-n-big"), {{"labels", {{"top_n", 5000}}}, {"training", {{"max_steps", 2}}}})});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("labels.top_n is 5000 but")) &&
                     r.err.contains(QStringLiteral("primary categories; all of them are the labels")),
                 qPrintable(r.err));
    }

    // The GUI's --help and --version answer on a machine without a display (a QApplication aborted first).
    void guiHelpWithoutADisplay()
    {
        if (!QFileInfo::exists(QStringLiteral(LABBOOK_BIN_DIR "/labbook")))
            QSKIP("the GUI is not built");
        auto env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("DISPLAY"));
        env.remove(QStringLiteral("WAYLAND_DISPLAY"));
        env.remove(QStringLiteral("QT_QPA_PLATFORM"));
        for (const char *option : {"--help", "--version"}) {
            const auto r = lbktest::runProcess(QStringLiteral(LABBOOK_BIN_DIR "/labbook"), {QString::fromUtf8(option)},
                                               30000, env);
            QVERIFY2(r.exitCode == 0, qPrintable(r.err));
            const QString said = r.out + r.err;
            const bool help = std::string(option) == "--help";
            QVERIFY2(said.contains(help ? QStringLiteral("--store") : QStringLiteral("labbook ")), qPrintable(said));
        }
    }

    void lrFinder()
    {
        auto r = lbk({QStringLiteral("lr-find"), experiment("debug.json"), QStringLiteral("--quiet")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        QVERIFY2(r.out.contains(QStringLiteral("suggested learning rate")), qPrintable(r.out));
        auto s = store();
        lbk::RunFilter f;
        f.kind = "lr_find";
        const auto runs = s->runs(f);
        QCOMPARE(runs.size(), size_t(1));
        const auto pts = s->lrPoints(runs[0].id);
        QVERIFY(pts.size() > 20);
        for (size_t i = 1; i < pts.size(); ++i)
            QVERIFY(pts[i].lr > pts[i - 1].lr);
        const auto sug = runs[0].summary["lr_suggestion"];
        QVERIFY(sug["lr"].is_number());
        QVERIFY(sug["lr"].get<double>() > pts.front().lr && sug["lr"].get<double>() < pts.back().lr);

        auto cmp = lbk({QStringLiteral("compare"), QStringLiteral("1"), QString::number(runs[0].id)});
        QCOMPARE(cmp.exitCode, 0);
        QVERIFY(cmp.out.contains(QStringLiteral("Config keys that differ")));

        // optimizer.grad_clip shapes the range test as it shapes training (the test ignored it: the same curve).
        auto clipped = lbk({QStringLiteral("lr-find"), variant(QStringLiteral("clipped"), {{"optimizer", {{"grad_clip", 0.001}}}}),
                            QStringLiteral("--quiet")});
        QVERIFY2(clipped.exitCode == 0 || clipped.exitCode == 1, qPrintable(clipped.err));
        const auto clippedRuns = s->runs(f);
        QCOMPARE(clippedRuns.size(), size_t(2));
        const auto other = s->lrPoints(clippedRuns[0].id == runs[0].id ? clippedRuns[1].id : clippedRuns[0].id);
        QVERIFY(other.size() > 10);
        QCOMPARE(other[0].loss, pts[0].loss); // the same model and first batch
        QVERIFY2(other[10].loss != pts[10].loss, qPrintable(QString::number(other[10].loss)));
    }

    // Starts a long debug run detached, waits for three "last" checkpoints in its journal, then kills the worker
    // as a power cut would. Sets *id to the run's id.
    void startThenKill(const QString &name, std::string *id)
    {
        const QString file = variant(name, {{"training", {{"epochs", 40}, {"checkpoint_minutes", 0}}},
                                            {"evaluation", {{"every_steps", 25}}}});
        auto start = lbk({QStringLiteral("run"), file, QStringLiteral("--detach"), QStringLiteral("--quiet")});
        QVERIFY2(start.exitCode == 0, qPrintable(start.err));
        *id = start.out.trimmed().toStdString();
        auto run = store()->run(*id);
        QVERIFY(run.ok());
        QVERIFY(run->pid > 0);
        const fs::path journal = fs::path(run->runDir) / "journal.jsonl";
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                std::ifstream in(journal);
                int checkpoints = 0;
                for (std::string line; std::getline(in, line);)
                    checkpoints += line.find("\"type\":\"checkpoint\"") != std::string::npos &&
                                   line.find("\"kind\":\"last\"") != std::string::npos;
                return checkpoints >= 3;
            }(),
            120000);
        QCOMPARE(::kill(pid_t(run->pid), SIGKILL), 0);
        QTRY_VERIFY_WITH_TIMEOUT(!lbk::processAlive(run->pid, 0), 10000);
    }

    // lbk stopped (SIGHUP: its terminal closed) while it prepares a target whose command hangs: the command is
    // killed, the launch fails and its run is failed at once (it stayed queued, and cancel, resume and delete all
    // refused it, with the command left running).
    void aStopWhilePreparingATargetFailsItsRun()
    {
        const QString marker = m_dir.filePath(QStringLiteral("hang-started"));
        const QString hang = m_dir.filePath(QStringLiteral("hang.sh"));
        {
            std::ofstream f(hang.toStdString());
            f << "#!/bin/sh\ntouch '" << marker.toStdString() << "'\nexec sleep 600\n";
        }
        QFile::setPermissions(hang, QFile::permissions(hang) | QFileDevice::ExeOwner);
        const QString targets = m_dir.filePath(QStringLiteral("hang-targets.json"));
        {
            std::ofstream f(targets.toStdString());
            f << json{{"targets", {{"hangs", {{"type", "command"}, {"command", {hang.toStdString(), "{cmd}"}}}}}}}.dump();
        }
        QProcess p;
        p.start(lbkPath(), {QStringLiteral("--store"), m_store, QStringLiteral("--targets"), targets, QStringLiteral("run"),
                            experiment("debug.json"), QStringLiteral("--target"), QStringLiteral("hangs"),
                            QStringLiteral("--name"), QStringLiteral("stopped-preparing")});
        QVERIFY(p.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(marker), 30000);
        ::kill(pid_t(p.processId()), SIGHUP);
        QVERIFY(p.waitForFinished(10000));
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(p.exitCode() != 0 && err.contains(QStringLiteral("stopped (lbk was asked to stop)")), qPrintable(err));
        const auto runs = store()->runs({});
        const auto it = std::find_if(runs.begin(), runs.end(), [](const auto &r) { return r.name == "stopped-preparing"; });
        QVERIFY(it != runs.end());
        QCOMPARE(it->status, lbk::RunStatus::Failed);
        const auto deleted = lbk({QStringLiteral("delete"), QString::number(it->id), QStringLiteral("--yes")});
        QVERIFY2(deleted.exitCode == 0, qPrintable(deleted.err));
    }

    // `lbk cancel` at once after a detached start reaches the worker while LibTorch still loads: the signal waits
    // until its handler is in, and the run ends cancelled (it was killed and ended interrupted), resumable. The
    // worker waits 1.5 s before its handler (LABBOOK_TEST_SLOW_START), so the cancel surely comes first.
    void cancelRightAfterTheStartEndsCancelled()
    {
        qputenv("LABBOOK_TEST_SLOW_START", "1500");
        const auto restore = qScopeGuard([] { qunsetenv("LABBOOK_TEST_SLOW_START"); });
        QString id;
        for (int round = 0; round < 2; ++round) {
            auto start = lbk({QStringLiteral("run"), experiment("debug.json"), QStringLiteral("--detach"),
                              QStringLiteral("--quiet"), QStringLiteral("--name"), QStringLiteral("cancelled-early")});
            QVERIFY2(start.exitCode == 0, qPrintable(start.err));
            id = start.out.trimmed();
            const auto cancel = lbk({QStringLiteral("cancel"), id});
            QVERIFY2(cancel.exitCode == 0, qPrintable(cancel.err));
            const int64_t pid = store()->run(id.toStdString())->pid;
            QTRY_VERIFY_WITH_TIMEOUT(!lbk::processAlive(pid, 0), 60000);
            const auto shown = lbk({QStringLiteral("--json"), QStringLiteral("show"), id});
            const auto j = json::parse(shown.out.toStdString());
            QVERIFY2(j["status"] == "cancelled", qPrintable(shown.out));
            const auto logs = store()->logs(j["id"].get<int64_t>());
            QVERIFY(std::any_of(logs.begin(), logs.end(), [](const auto &l) { return l.message == "cancelled at step 0"; }));
        }
        // Found by an audit: the suggested command left out the --store given, so pasting it found no such run.
        const auto plain = lbk({QStringLiteral("show"), id});
        const QString suggested = QStringLiteral("`lbk --store ") + m_store + QStringLiteral(" resume ") + id + u'`';
        QVERIFY2(plain.out.contains(suggested), qPrintable(plain.out));
        // With its size: a cancelled run's checkpoint holds the optimizer's state, hundreds of MB for a big model.
        const QRegularExpression sized(QStringLiteral("run folder: \\S+ \\(\\d+(\\.\\d)? (kB|MB|GB)\\)"));
        QVERIFY2(plain.out.contains(sized), qPrintable(plain.out));
        qunsetenv("LABBOOK_TEST_SLOW_START");
        const auto resumed = lbk({QStringLiteral("resume"), id, QStringLiteral("-q")});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
        QCOMPARE(store()->run(id.toStdString())->status, lbk::RunStatus::Finished);
    }

    void killedRunIsInterruptedThenResumes()
    {
        std::string id;
        startThenKill(QStringLiteral("long-debug"), &id);
        if (QTest::currentTestFailed())
            return;
        auto s = store();
        auto run = s->run(id);
        QVERIFY(run.ok());
        const fs::path journal = fs::path(run->runDir) / "journal.jsonl";

        auto listed = lbk({QStringLiteral("--json"), QStringLiteral("show"), QString::fromStdString(id)});
        const auto shown = json::parse(listed.out.toStdString());
        QCOMPARE(shown["status"].get<std::string>(), std::string("interrupted"));
        QVERIFY(shown["error"].get<std::string>().find("lbk resume") != std::string::npos);
        const int64_t stepAtKill = shown["last_step"].get<int64_t>();
        QVERIFY(stepAtKill >= 75);
        const auto keptLoss = s->metric(run->id, "train/loss").size();
        QVERIFY(keptLoss > 0);
        // The resumable checkpoint holds AdamW's two moments beside the weights: more than twice the best one, which
        // holds the weights alone (and of the bag's table only the rows training changed).
        const fs::path ckpts = fs::path(run->runDir) / "checkpoints";
        const double ratio = double(fs::file_size(ckpts / "last.pt")) / double(fs::file_size(ckpts / "best.pt"));
        QVERIFY2(ratio > 2.5, qPrintable(QString::number(ratio)));

        auto resumed = lbk({QStringLiteral("resume"), QString::fromStdString(id), QStringLiteral("--quiet")});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err + resumed.out));
        auto fresh = s->run(id);
        QCOMPARE(fresh->status, lbk::RunStatus::Finished);
        // Same step count as an uninterrupted run.
        const auto lr = s->metric(run->id, "lr");
        QCOMPARE(lr.back().step, fresh->lastStep);
        QVERIFY(fresh->lastStep > stepAtKill);
        // The journal says where it resumed from, at a checkpoint at or before the kill.
        std::ifstream in(journal);
        int64_t resumedFrom = -1;
        for (std::string line; std::getline(in, line);)
            if (line.find("resumed_from_step") != std::string::npos)
                resumedFrom = json::parse(line)["resumed_from_step"].get<int64_t>();
        QVERIFY(resumedFrom > 0 && resumedFrom <= stepAtKill);
        QVERIFY(resumedFrom % 25 == 0);
        // ... and so does its Log, where three starts read alike.
        const std::string said = "resumed from the checkpoint of step " + std::to_string(resumedFrom);
        const auto logs = store()->logs(run->id);
        QVERIFY2(std::any_of(logs.begin(), logs.end(), [&](const auto &l) { return l.message == said; }), said.c_str());
        // Nothing recorded before the kill was lost, and no step is stored twice.
        const auto series = s->metric(run->id, "train/loss");
        QVERIFY(series.size() >= keptLoss);
        for (size_t i = 1; i < series.size(); ++i)
            QVERIFY(series[i].step > series[i - 1].step);
    }

    // training.checkpoint_minutes: the resumable checkpoint comes by time, between evaluations. A run killed after
    // one and resumed ends exactly as the same run left alone: with AdamW through autograd, and with the bag's
    // fused SGD step (fastText's set-up, engine/fusedbag.h).
    void timeCheckpointResumesExactly_data()
    {
        QTest::addColumn<QString>("suffix");
        QTest::addColumn<bool>("fused");
        QTest::newRow("adamw, autograd") << QString() << false;
        QTest::newRow("sgd, fused step") << QStringLiteral("-sgd") << true;
    }

    void timeCheckpointResumesExactly()
    {
        QFETCH(QString, suffix);
        QFETCH(bool, fused);
        json changes = {{"training", {{"epochs", 30}, {"checkpoint_minutes", 0.01}}},
                        {"evaluation", {{"every_steps", 1000000}}}};
        if (fused) // 70 us a step: it takes many more for a checkpoint by time to come before the end
            changes.merge_patch({{"model", {{"dropout", 0}}},
                                 {"optimizer", {{"type", "sgd"}, {"lr", 2.0}, {"momentum", 0}}},
                                 {"training", {{"epochs", 2000}, {"log_every", 200}}}});
        const QString aloneName = QStringLiteral("timed-alone") + suffix;
        const auto alone = lbk({QStringLiteral("run"), variant(aloneName, changes), QStringLiteral("--quiet")});
        QVERIFY2(alone.exitCode == 0, qPrintable(alone.err));
        const QString file = variant(QStringLiteral("timed-killed") + suffix, changes);
        auto start = lbk({QStringLiteral("run"), file, QStringLiteral("--detach"), QStringLiteral("--quiet")});
        QVERIFY2(start.exitCode == 0, qPrintable(start.err));
        const std::string id = start.out.trimmed().toStdString();
        auto run = store()->run(id);
        QVERIFY(run.ok());
        const fs::path journal = fs::path(run->runDir) / "journal.jsonl";
        int64_t checkpointStep = 0;
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                std::ifstream in(journal);
                for (std::string line; std::getline(in, line);)
                    if (line.find("\"type\":\"checkpoint\"") != std::string::npos &&
                        line.find("\"kind\":\"last\"") != std::string::npos &&
                        line.find("\"removed\"") == std::string::npos) // a resumable one, not the finished run's
                        checkpointStep = json::parse(line)["step"].get<int64_t>();
                return checkpointStep > 0;
            }(),
            120000);
        QCOMPARE(::kill(pid_t(run->pid), SIGKILL), 0);
        QTRY_VERIFY_WITH_TIMEOUT(!lbk::processAlive(run->pid, 0), 10000);
        auto resumed = lbk({QStringLiteral("resume"), QString::fromStdString(id), QStringLiteral("--quiet")});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err + resumed.out));
        auto s = store();
        const auto killed = s->run(id), left = s->run(aloneName.toStdString());
        QCOMPARE(killed->status, lbk::RunStatus::Finished);
        std::ifstream in(journal);
        int64_t resumedFrom = -1;
        for (std::string line; std::getline(in, line);)
            if (line.find("resumed_from_step") != std::string::npos)
                resumedFrom = json::parse(line)["resumed_from_step"].get<int64_t>();
        QVERIFY2(resumedFrom > 0 && resumedFrom < killed->lastStep, qPrintable(QString::number(resumedFrom)));
        // Both starts of this run read the papers and their token ids from the caches the run left alone filled,
        // and still end exactly as that run did.
        int cachedPapers = 0, cachedTokens = 0, fusedSteps = 0;
        in.clear();
        in.seekg(0);
        for (std::string line; std::getline(in, line);) {
            cachedPapers += line.find("papers from the cache") != std::string::npos;
            cachedTokens += line.find("token ids of") != std::string::npos;
            fusedSteps += line.find("fused SGD step") != std::string::npos;
        }
        QCOMPARE(cachedPapers, 2);
        QCOMPARE(cachedTokens, 2);
        QCOMPARE(fusedSteps, fused ? 2 : 0);
        for (const char *key : {"test/accuracy", "test/loss", "val/loss"})
            QCOMPARE(killed->summaryValue("final", key).value_or(-1), left->summaryValue("final", key).value_or(-2));
        QVERIFY(!fs::exists(fs::path(killed->runDir) / "checkpoints" / "last.pt"));
    }

    // A resume from a checkpoint that cannot be read fails with the file's path, keeping what was recorded.
    void damagedCheckpointFailsWithItsPath()
    {
        std::string id;
        startThenKill(QStringLiteral("damaged-debug"), &id);
        if (QTest::currentTestFailed())
            return;
        auto run = store()->run(id);
        QVERIFY(run.ok());
        const auto keptLoss = store()->metric(run->id, "train/loss").size();
        const fs::path last = fs::path(run->runDir) / "checkpoints" / "last.pt";
        QVERIFY(fs::exists(last));
        // Bytes changed inside it, its zip structure sound (a bad disk, a copy gone wrong): LibTorch's reader checks no
        // CRC, so the resume does (found by an audit: it trained on from damaged optimizer moments without a word).
        {
            std::fstream f(last, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(std::streamoff(fs::file_size(last) / 2));
            const std::string junk(4096, '\xab');
            f.write(junk.data(), std::streamsize(junk.size()));
        }
        auto changed = lbk({QStringLiteral("resume"), QString::fromStdString(id), QStringLiteral("--quiet")});
        QVERIFY(changed.exitCode != 0);
        QVERIFY2(store()->run(id)->error.find(last.string() + " cannot be read as this run's checkpoint: it is damaged "
                                              "(its record ") != std::string::npos,
                 store()->run(id)->error.c_str());
        fs::resize_file(last, 5000); // cut, as a full disk would leave it

        auto resumed = lbk({QStringLiteral("resume"), QString::fromStdString(id), QStringLiteral("--quiet")});
        QVERIFY(resumed.exitCode != 0);
        const auto failed = store()->run(id);
        QCOMPARE(failed->status, lbk::RunStatus::Failed);
        QVERIFY2(failed->error.find(last.string()) != std::string::npos, failed->error.c_str());
        QVERIFY2(failed->error.rfind("cannot resume: " + last.string() + " cannot be read as this run's checkpoint: it is "
                                     "damaged", 0) == 0,
                 failed->error.c_str());
        QVERIFY2(failed->error.find("Everything recorded is kept") != std::string::npos, failed->error.c_str());
        QVERIFY(store()->metric(run->id, "train/loss").size() >= keptLoss);
        // Its journal cut below what the store has read: resume refuses before a worker appends to it (found by
        // an audit: the store read on from the middle of a line and lost a range of steps).
        const fs::path journal = fs::path(run->runDir) / "journal.jsonl";
        fs::resize_file(journal, fs::file_size(journal) / 2);
        auto cut = lbk({QStringLiteral("resume"), QString::fromStdString(id), QStringLiteral("--quiet")});
        QCOMPARE(cut.exitCode, 2);
        QVERIFY2(cut.err.contains(QStringLiteral("bytes the store has read from it (cut or replaced)")), qPrintable(cut.err));
        QCOMPARE(store()->run(id)->status, lbk::RunStatus::Failed);
        // Its folder deleted by hand: show says the folder is gone, and that it cannot be resumed any more.
        fs::remove_all(run->runDir);
        auto shown = lbk({QStringLiteral("show"), QString::fromStdString(id)});
        QCOMPARE(shown.exitCode, 0);
        QVERIFY2(shown.out.contains(QStringLiteral("(gone: its checkpoints and journal went with it, so it cannot be resumed")),
                 qPrintable(shown.out));
    }

    void brokenDataFailsWithFileAndLine()
    {
        const QString data = m_dir.filePath(QStringLiteral("broken.jsonl"));
        {
            std::ofstream out(data.toStdString());
            out << R"({"id":"1","title":"A","categories":"cs.CV"})" << '\n'
                << "{not json\n"
                << R"({"id":"3","title":"C","categories":"cs.CL"})" << '\n'
                << "{\"id\": 4\n";
        }
        const QString file = variant(QStringLiteral("broken-data"), {{"data", {{"path", data.toStdString()}}}});
        auto r = lbk({QStringLiteral("run"), file, QStringLiteral("--quiet")});
        QCOMPARE(r.exitCode, 1);
        auto s = store();
        auto run = s->run("broken-data");
        QVERIFY(run.ok());
        QCOMPARE(run->status, lbk::RunStatus::Failed);
        QVERIFY2(run->error.find("broken.jsonl:2") != std::string::npos, run->error.c_str());
    }

    void missingDataFileFailsClearly()
    {
        const QString file = variant(QStringLiteral("missing-data"), {{"data", {{"path", "arxiv/nope.jsonl"}}}});
        auto r = lbk({QStringLiteral("run"), file, QStringLiteral("--quiet")});
        // Said before a run exists, as a bad model.init_from folder is: no failed run is left behind for a typo.
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("data.path: ")) &&
                     r.err.contains(QStringLiteral("nope.jsonl: no such file")) &&
                     r.err.contains(QStringLiteral("nothing was recorded")),
                 qPrintable(r.err));
        QVERIFY(!store()->run("missing-data").ok());
    }

    void divergingLossFailsAndKeepsWhatWasRecorded()
    {
        const QString file = variant(QStringLiteral("diverging"), {{"training", {{"epochs", 2}}}});
        QProcess p;
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LABBOOK_INJECT_NAN_STEP"), QStringLiteral("60"));
        p.setProcessEnvironment(env);
        p.start(lbkPath(), {QStringLiteral("--store"), m_store, QStringLiteral("run"), file, QStringLiteral("--quiet")});
        QVERIFY(p.waitForFinished(300000));
        QCOMPARE(p.exitCode(), 1);
        auto s = store();
        auto run = s->run("diverging");
        QCOMPARE(run->status, lbk::RunStatus::Failed);
        QVERIFY2(run->error.find("NaN at step 60") != std::string::npos, run->error.c_str());
        // The evaluation at step 40 and the metrics before the failure are kept.
        QCOMPARE(s->evaluations(run->id, "val").size(), size_t(1));
        const auto loss = s->metric(run->id, "train/loss");
        QVERIFY(loss.size() >= 11);
        QVERIFY(std::isnan(loss.back().value));
    }

    // A run whose kept checkpoint is not its last step (a rate that overshoots late): lbk show says which weights
    // each line was scored with, the validation line the last evaluation's, the test line the kept checkpoint's.
    void showSaysWhichWeightsEachLineScored()
    {
        const QString file = variant(QStringLiteral("overshoot"),
                                     {{"optimizer", {{"lr", 0.3}}}, {"training", {{"threads", 1}}}});
        auto r = lbk({QStringLiteral("run"), file, QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        auto show = lbk({QStringLiteral("--json"), QStringLiteral("show"), QStringLiteral("overshoot")});
        const auto run = json::parse(show.out.toStdString());
        const int64_t best = run["summary"]["best_step"]["val/macro_f1"].get<int64_t>();
        QVERIFY2(best < run["last_step"].get<int64_t>(), "the kept checkpoint is the last step: pick another rate");
        auto text = lbk({QStringLiteral("show"), QStringLiteral("overshoot")});
        QVERIFY2(text.out.contains(QStringLiteral("(the last evaluation, step %1)").arg(run["last_step"].get<int64_t>())) &&
                     text.out.contains(QStringLiteral("(the kept checkpoint, step %1)").arg(best)),
                 qPrintable(text.out));
        // The test predictions are recorded at the last step but come from the kept checkpoint: said there too.
        auto rows = lbk({QStringLiteral("predictions"), QStringLiteral("overshoot"), QStringLiteral("--split"),
                         QStringLiteral("test"), QStringLiteral("--limit"), QStringLiteral("2")});
        QVERIFY2(rows.out.contains(QStringLiteral("(the kept checkpoint, step %1)").arg(best)), qPrintable(rows.out));

        // Beside a binary run its metrics are not ranked: each is measured against other labels.
        const QString binary = variant(QStringLiteral("cv-or-not"),
                                       {{"labels", {{"kind", "binary"}, {"positive", {"cs.CV"}}}}});
        QCOMPARE(lbk({QStringLiteral("run"), binary, QStringLiteral("-q")}).exitCode, 0);
        auto cmp = lbk({QStringLiteral("compare"), QStringLiteral("overshoot"), QStringLiteral("cv-or-not")});
        QCOMPARE(cmp.exitCode, 0);
        QVERIFY2(cmp.out.contains(QStringLiteral("not ranked: the runs predict different labels, multiclass, binary")) &&
                     !cmp.out.contains(QStringLiteral(" *")),
                 qPrintable(cmp.out));
    }

    // A rare positive class (cs.RO, 4.4% of the sample): the model predicts no paper positive, so its F1 ties at
    // 0 at every evaluation. The tie goes to the lower validation loss (the first, least trained weights were
    // kept, scored and exported), and show says what accuracy is worth here.
    void aBinaryModelThatPredictsNoPositiveIsSaid()
    {
        const QString file = variant(QStringLiteral("ro-or-not"),
                                     {{"labels", {{"kind", "binary"}, {"positive", {"cs.RO"}}}},
                                      {"evaluation", {{"every_steps", 40}, {"metric", "f1"}}},
                                      {"training", {{"max_steps", 160}, {"threads", 1}}}});
        QCOMPARE(lbk({QStringLiteral("run"), file, QStringLiteral("-q")}).exitCode, 0);
        auto s = store();
        const auto run = s->run("ro-or-not");
        QVERIFY(run.ok());
        const auto f1 = s->metric(run->id, "val/f1"), loss = s->metric(run->id, "val/loss");
        QCOMPARE(f1.size(), size_t(4));
        for (const auto &p : f1)
            QVERIFY2(p.value == 0.0, "a positive was predicted: pick a rarer category or fewer steps");
        const auto lowest = std::min_element(loss.begin(), loss.end(),
                                             [](const auto &a, const auto &b) { return a.value < b.value; });
        QVERIFY(lowest->step > f1.front().step);
        QCOMPARE(run->summaryValue("best_step", "val/f1").value_or(-1), double(lowest->step));
        const auto shown = lbk({QStringLiteral("show"), QStringLiteral("ro-or-not")});
        QVERIFY2(shown.out.contains(QStringLiteral("positive (4.4%); predicting none scores accuracy")) &&
                     shown.out.contains(QStringLiteral("caution (test): no paper is predicted positive")) &&
                     shown.out.contains(QStringLiteral("best val f1 0.0000 at step %1 (the kept checkpoint)")
                                            .arg(lowest->step)) &&
                     shown.out.contains(QStringLiteral("val F1 peaks at 0.")) && // what a lower threshold gives
                     shown.out.contains(QStringLiteral("lbk predict ... --threshold 0.")),
                 qPrintable(shown.out));

        // A label the run does not predict is named, not answered with an empty list.
        auto typo = lbk({QStringLiteral("predictions"), QStringLiteral("ro-or-not"), QStringLiteral("--true"),
                         QStringLiteral("cs.R0")});
        QVERIFY2(typo.exitCode == 2 && typo.err.contains(QStringLiteral("not one of run")) &&
                     typo.err.contains(QStringLiteral("(did you mean cs.RO?)")),
                 qPrintable(typo.err));

        // training.balanced weights the training loss only: the validation loss is the plain cross-entropy of the
        // recorded predictions (it was the weighted one, three times as large, and lbk eval said another).
        const QString balanced = variant(QStringLiteral("ro-balanced"),
                                         {{"labels", {{"kind", "binary"}, {"positive", {"cs.RO"}}}},
                                          {"training", {{"max_steps", 40}, {"threads", 1}, {"balanced", true}}}});
        QCOMPARE(lbk({QStringLiteral("run"), balanced, QStringLiteral("-q")}).exitCode, 0);
        const auto weighted = s->run("ro-balanced");
        QVERIFY(weighted.ok());
        double sum = 0;
        const auto rows = s->predictions(weighted->id, {.split = "val"});
        for (const auto &row : rows)
            sum -= std::log(row.pTrue);
        QCOMPARE(rows.size(), size_t(750));
        const double recorded = weighted->summaryValue("final", "val/loss").value_or(-1);
        QVERIFY2(std::abs(recorded - sum / double(rows.size())) < 1e-4,
                 qPrintable(QStringLiteral("val/loss %1, cross-entropy of the predictions %2")
                                .arg(recorded).arg(sum / double(rows.size()))));
    }
};

QTEST_GUILESS_MAIN(TestLbk)
#include "tst_lbk.moc"
