// Data-parallel training (training.processes > 1) end to end: lbk as a user runs it, with real worker processes
// meeting through torch.distributed's Gloo backend on 127.0.0.1, on the real 5k sample, into a real SQLite store.
//
// The equivalence claim and its tolerance: with dropout off, N processes that each train on 1/N of a global batch
// and average their gradients take the same steps as one process on the whole batch. The only difference is the
// order of floating-point sums, so every logged training loss agrees within 1e-4 (measured: under 1e-7), and the
// final validation accuracy within one example.
#include <QtTest>

#include <csignal>
#include <fstream>
#include <set>

#include "launch/process.h"
#include "lbkprocess.h"
#include "store/store.h"
#include "util/filebytes.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

QString lbkPath()
{
    return QStringLiteral(LABBOOK_BIN_DIR "/lbk");
}

// The PIDs of `lbk worker` processes whose command line holds `needle` (the run folder, say).
std::vector<pid_t> workersWith(const std::string &needle, const std::string &alsoNeedle = {})
{
    std::vector<pid_t> pids;
    for (const auto &entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        auto read = lbk::readFileBytes(entry.path() / "cmdline"); // fails for a process that has just ended
        if (!read)
            continue;
        std::string cmd = std::move(*read);
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        if (cmd.find(" worker ") != std::string::npos && cmd.find(needle) != std::string::npos &&
            (alsoNeedle.empty() || cmd.find(alsoNeedle) != std::string::npos))
            pids.push_back(pid_t(std::stoi(name)));
    }
    return pids;
}

int countInJournal(const fs::path &journal, const std::string &a, const std::string &b)
{
    std::ifstream in(journal);
    int n = 0;
    for (std::string line; std::getline(in, line);)
        n += line.find(a) != std::string::npos && line.find(b) != std::string::npos;
    return n;
}

bool noRendezvousLeft(const fs::path &runDir)
{
    for (const auto &f : fs::directory_iterator(runDir))
        if (f.path().filename().string().rfind("rendezvous-", 0) == 0)
            return false;
    return true;
}

} // namespace

class TestDistributed : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir{QStringLiteral(LABBOOK_TEST_TMP "/distributed-XXXXXX")};
    QString m_store;

    lbktest::ProcessResult lbk(const QStringList &args, const QProcessEnvironment &env = {})
    {
        return lbktest::runProcess(lbkPath(), QStringList{QStringLiteral("--store"), m_store} + args, 300000, env);
    }

    std::unique_ptr<lbk::Store> store()
    {
        auto s = lbk::Store::open(m_store.toStdString());
        if (!s)
            qFatal("%s", s.message().c_str());
        return std::move(*s);
    }

    // The run as `lbk show` sees it: lbk catches the store up with the journal of a detached run first.
    json shown(const std::string &uid)
    {
        auto r = lbk({QStringLiteral("--json"), QStringLiteral("show"), QString::fromStdString(uid)});
        return r.exitCode == 0 ? json::parse(r.out.toStdString(), nullptr, false) : json();
    }
    std::string statusOf(const std::string &uid) { return shown(uid).value("status", std::string()); }

    QString variant(const QString &name, const json &changes) { return lbktest::debugVariant(m_dir.path(), name, changes); }

    // Starts a long two-process run detached and waits until it has written `checkpoints` last checkpoints.
    lbk::RunDetail startLong(const QString &name, int checkpoints)
    {
        const QString file = variant(name, {{"training", {{"epochs", 200}, {"processes", 2}, {"checkpoint_minutes", 0}}},
                                            {"evaluation", {{"every_steps", 25}, {"max_predictions", 50}}}});
        auto start = lbk({QStringLiteral("run"), file, QStringLiteral("--detach"), QStringLiteral("--quiet")});
        if (start.exitCode != 0)
            qFatal("lbk run failed: %s", qPrintable(start.err));
        auto run = store()->run(start.out.trimmed().toStdString());
        if (!run)
            qFatal("%s", run.message().c_str());
        const fs::path journal = fs::path(run->runDir) / "journal.jsonl";
        QElapsedTimer t;
        t.start();
        while (countInJournal(journal, "\"type\":\"checkpoint\"", "\"kind\":\"last\"") < checkpoints &&
               t.elapsed() < 180000)
            QTest::qWait(100);
        return *run;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_store = m_dir.filePath(QStringLiteral("store/labbook.db"));
        QVERIFY2(QFileInfo::exists(lbkPath()), "build lbk first");
    }

    void sameLossCurveAsOneProcess_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<int>("processes");
        // The bag model's table has row-sparse gradients (a sparse all-reduce); the GRU's are all dense. Three
        // processes on batches of 32 leave the first rank an empty share of the 2-example last batch.
        QTest::newRow("bag, 2 processes") << QStringLiteral("bag") << 2;
        QTest::newRow("gru, 2 processes") << QStringLiteral("gru") << 2;
        QTest::newRow("bag, 3 processes") << QStringLiteral("bag") << 3;
        // Class weights: each share's weighted mean divides by its own weight sum, so the shares are weighted by it.
        QTest::newRow("bag, balanced, 2 processes") << QStringLiteral("bag-balanced") << 2;
        // BERT's block from scratch, each process's share of the batch in two accumulated parts.
        QTest::newRow("encoder, accumulate 2, 2 processes") << QStringLiteral("encoder") << 2;
        // Masked-language-model pre-training: each share weighed by its masked tokens, masks drawn per sequence.
        QTest::newRow("mlm, 2 processes") << QStringLiteral("mlm") << 2;
    }

    void sameLossCurveAsOneProcess()
    {
        QFETCH(QString, model);
        QFETCH(int, processes);
        json changes = {{"model", {{"dropout", 0.0}}}, {"training", {{"epochs", 2}}}};
        if (model == QLatin1String("gru"))
            changes = {{"model", {{"type", "gru"}, {"embedding_dim", 32}, {"hidden", 32}, {"dropout", 0.0}}},
                       {"optimizer", {{"lr", 0.005}}},
                       {"training", {{"epochs", 1}}}};
        if (model == QLatin1String("encoder"))
            changes = {{"model", {{"type", "encoder"}, {"embedding_dim", 32}, {"hidden", 64}, {"layers", 1}, {"heads", 2},
                                  {"dropout", 0.0}, {"pooling", "cls"}}},
                       {"optimizer", {{"lr", 0.002}}},
                       {"training", {{"epochs", 1}, {"accumulate", 2}}}};
        if (model == QLatin1String("mlm"))
            changes = {{"data", {{"text", "abstract"}}},
                       {"labels", nullptr},
                       {"split", {{"train", 0.9}, {"validation", 0.1}, {"test", 0.0}}},
                       {"tokenizer", {{"max_tokens", 64}, {"vocab_size", 2000}}},
                       {"model", {{"type", "encoder"}, {"embedding_dim", 32}, {"hidden", 64}, {"layers", 1}, {"heads", 2},
                                  {"dropout", 0.0}}},
                       {"optimizer", {{"lr", 0.002}, {"grad_clip", 1.0}}},
                       {"training", {{"objective", "mlm"}, {"max_steps", 60}, {"log_every", 5}}},
                       {"evaluation", {{"every_steps", 30}, {"metric", "loss"}}},
                       {"mlm", {{"probability", 0.15}, {"eval_sequences", 200}}}};
        if (model == QLatin1String("bag-balanced"))
            changes["training"]["balanced"] = true;
        const QString tag = model + QString::number(processes);
        std::vector<int64_t> ids;
        for (int n : {1, processes}) {
            json c = changes;
            c["training"]["processes"] = n;
            const QString name = QStringLiteral("equiv-%1-%2").arg(tag).arg(n);
            auto r = lbk({QStringLiteral("run"), variant(name, c), QStringLiteral("--quiet")});
            QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
            auto run = store()->run(name.toStdString());
            QVERIFY(run.ok());
            QVERIFY(run->status == lbk::RunStatus::Finished);
            ids.push_back(run->id);
            // The run says how it trained; no rendezvous file and no other process outlives it.
            const fs::path journal = fs::path(run->runDir) / "journal.jsonl";
            QCOMPARE(countInJournal(journal, "\"type\":\"run_started\"", "\"processes\":" + std::to_string(n)), 1);
            if (n > 1)
                QCOMPARE(countInJournal(journal, "\"type\":\"run_started\"", "\"backend\":\"gloo\""), 1);
            QVERIFY(noRendezvousLeft(run->runDir));
            QVERIFY(workersWith(run->runDir).empty());
        }
        auto s = store();
        const auto one = s->metric(ids[0], "train/loss"), many = s->metric(ids[1], "train/loss");
        QVERIFY(one.size() >= 10);
        QCOMPARE(many.size(), one.size());
        double worst = 0;
        for (size_t i = 0; i < one.size(); ++i) {
            QCOMPARE(many[i].step, one[i].step);
            worst = std::max(worst, std::abs(many[i].value - one[i].value));
        }
        qInfo("%s: %zu logged losses, largest difference %.3g", qPrintable(tag), one.size(), worst);
        QVERIFY2(worst <= 1e-4, qPrintable(QString::number(worst)));
        const auto valOne = s->evaluations(ids[0], "val"), valMany = s->evaluations(ids[1], "val");
        QCOMPARE(valMany.size(), valOne.size());
        if (model == QLatin1String("mlm")) { // the held-out masked tokens' loss, under one fixed masking
            QVERIFY(std::abs(valOne.back().summary["loss"].get<double>() - valMany.back().summary["loss"].get<double>()) <=
                    1e-4);
            return;
        }
        const double n = valOne.back().summary["examples"].get<double>();
        QVERIFY(std::abs(valOne.back().summary["accuracy"].get<double>() -
                         valMany.back().summary["accuracy"].get<double>()) <= 1.0 / n + 1e-12);
    }

    void cancelStopsEveryProcess()
    {
        const auto run = startLong(QStringLiteral("dist-cancel"), 2);
        QCOMPARE(workersWith(run.runDir).size(), size_t(2));
        auto c = lbk({QStringLiteral("cancel"), QString::fromStdString(run.uid)});
        QVERIFY2(c.exitCode == 0, qPrintable(c.err + c.out));
        QTRY_VERIFY_WITH_TIMEOUT(workersWith(run.runDir).empty(), 60000);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(run.uid), std::string("cancelled"), 30000);
        QVERIFY(noRendezvousLeft(run.runDir));
        // Cancelled at a step boundary with a checkpoint there, so `lbk resume` can go on from it.
        QCOMPARE(countInJournal(fs::path(run.runDir) / "journal.jsonl", "\"type\":\"cancelled\"", "step"), 1);
    }

    void deadProcessFailsTheRunAndResumeFinishesIt()
    {
        const auto run = startLong(QStringLiteral("dist-kill"), 2);
        const auto peer = workersWith(run.runDir, "--rank 1");
        QCOMPARE(peer.size(), size_t(1));
        QCOMPARE(::kill(peer[0], SIGKILL), 0);
        QTRY_VERIFY_WITH_TIMEOUT(workersWith(run.runDir).empty(), 60000);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(run.uid), std::string("failed"), 30000);
        auto failed = store()->run(run.uid);
        QVERIFY2(failed->error.find("training process 1") != std::string::npos &&
                     failed->error.find("killed by signal 9") != std::string::npos,
                 failed->error.c_str());
        const auto kept = store()->metric(run.id, "train/loss").size();
        QVERIFY(kept > 0);
        QVERIFY(noRendezvousLeft(run.runDir));

        // Resuming trains on with both processes from the last checkpoint; cap it so the test stays short.
        json cfg = json::parse(std::ifstream(fs::path(run.runDir) / "experiment.json"));
        const int64_t stop = failed->lastStep + 60;
        cfg["training"]["max_steps"] = stop;
        std::ofstream(fs::path(run.runDir) / "experiment.json") << cfg.dump(2);
        auto resumed = lbk({QStringLiteral("resume"), QString::fromStdString(run.uid), QStringLiteral("--quiet")});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err + resumed.out));
        auto done = store()->run(run.uid);
        QVERIFY(done->status == lbk::RunStatus::Finished);
        QCOMPARE(done->lastStep, stop);
        QVERIFY(store()->metric(run.id, "train/loss").size() > kept);
        QVERIFY(workersWith(run.runDir).empty());
        // The best score carried over the resume is a real score, not garbage from the checkpoint.
        json summary;
        std::ifstream in(fs::path(run.runDir) / "journal.jsonl");
        for (std::string line; std::getline(in, line);)
            if (line.find("\"type\":\"finished\"") != std::string::npos)
                summary = json::parse(line)["summary"];
        QVERIFY2(summary.contains("best/val/macro_f1"), summary.dump().c_str());
        const double best = summary["best/val/macro_f1"].get<double>();
        QVERIFY2(best > 0 && best <= 1, qPrintable(QString::number(best)));
    }

    void divergingLossFailsEveryProcess()
    {
        const QString file = variant(QStringLiteral("dist-nan"), {{"training", {{"epochs", 2}, {"processes", 2}}}});
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LABBOOK_INJECT_NAN_STEP"), QStringLiteral("60"));
        auto r = lbk({QStringLiteral("run"), file, QStringLiteral("--quiet")}, env);
        QCOMPARE(r.exitCode, 1);
        auto run = store()->run("dist-nan");
        QVERIFY(run->status == lbk::RunStatus::Failed);
        QVERIFY2(run->error.find("NaN at step 60") != std::string::npos, run->error.c_str());
        QCOMPARE(store()->evaluations(run->id, "val").size(), size_t(1)); // step 40's is kept
        QVERIFY(workersWith(run->runDir).empty());
    }

    void moreProcessesThanBatchIsRejected()
    {
        const QString file = variant(QStringLiteral("dist-bad"), {{"training", {{"processes", 64}, {"batch_size", 32}}}});
        auto r = lbk({QStringLiteral("validate"), file});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("training.processes: 64 processes cannot share a batch of 32")),
                 qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "tst_distributed.moc"
