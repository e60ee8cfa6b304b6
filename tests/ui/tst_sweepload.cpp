// Sixteen trials ingesting into one store at once (a sweep, eight in parallel) while the GUI's store service has
// the store open and syncs it every 200 ms and `lbk runs` reads it in a loop: no "database is locked" anywhere, and
// every trial's store holds exactly its journal: each event once, none missing.
#include <QtTest>

#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include "lbkprocess.h"
#include "storeservice.h"
#include "store/store.h"

using nlohmann::json;

class TestSweepLoad : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir{QStringLiteral(LABBOOK_TEST_TMP "/sweepload-XXXXXX")};

private Q_SLOTS:
    void sixteenTrialsWhileEveryoneReads()
    {
        QVERIFY(m_dir.isValid());
        const QString store = m_dir.filePath(QStringLiteral("s.db"));
        const QString base = lbktest::debugVariant(m_dir.path(), QStringLiteral("load-base"),
                                                   {{"training", {{"epochs", 1}, {"log_every", 1}}},
                                                    {"evaluation", {{"every_steps", 10}}}});
        const QString file = m_dir.filePath(QStringLiteral("load-sweep.json"));
        const json sweep = {{"name", "load"},
                            {"experiment", base.toStdString()},
                            {"trials", 16},
                            {"parallel", 8},
                            {"parameters", {{"optimizer.lr", {{"log_uniform", {0.001, 0.1}}}}}}};
        std::ofstream(file.toStdString()) << sweep.dump();
        // The store exists before the GUI opens it.
        QVERIFY(lbk::Store::open(store.toStdString()));

        labbook::StoreService gui;
        QSignalSpy opened(&gui, &labbook::StoreService::storeOpened);
        gui.open(store);
        QVERIFY(opened.wait(5000));
        QCOMPARE(opened.takeFirst().at(1).toString(), QString());
        gui.setPollInterval(200);
        QStringList warnings;
        connect(&gui, &labbook::StoreService::syncWarning, this, [&](const QString &w) { warnings << w; });

        std::atomic<bool> done{false};
        std::atomic<int> reads{0}, failedReads{0};
        QString readErrors;
        std::thread reader([&] {
            while (!done) {
                const auto r = lbktest::runProcess(QStringLiteral(LABBOOK_BIN_DIR "/lbk"),
                                                   {QStringLiteral("--store"), store, QStringLiteral("runs")}, 60000);
                ++reads;
                if (r.exitCode != 0 || r.err.contains(QStringLiteral("locked"))) {
                    ++failedReads;
                    readErrors += r.err;
                }
            }
        });
        QProcess sweepProcess;
        sweepProcess.start(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), {QStringLiteral("--store"), store,
                                                                    QStringLiteral("sweep"), file, QStringLiteral("-q")});
        QVERIFY(sweepProcess.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(sweepProcess.state() == QProcess::NotRunning, 600000);
        done = true;
        reader.join();
        const QString err = QString::fromUtf8(sweepProcess.readAllStandardError());
        QVERIFY2(sweepProcess.exitCode() == 0, qPrintable(err));
        QVERIFY2(!err.contains(QStringLiteral("locked")), qPrintable(err));
        QVERIFY2(failedReads == 0, qPrintable(readErrors));
        QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(QLatin1Char('\n'))));
        qInfo("lbk runs read the store %d times while the 16 trials ran", int(reads));
        gui.setPollInterval(0);
        gui.waitForIdle();

        auto s = lbk::Store::open(store.toStdString());
        QVERIFY(s);
        const auto trials = (*s)->trials((*s)->sweeps().front().id);
        QCOMPARE(trials.size(), size_t(16));
        for (const auto &t : trials) {
            QCOMPARE(t.state, lbk::TrialState::Finished);
            const auto run = *(*s)->runById(t.run);
            // Every event of the journal stored once: the cursor is at the journal's last seq and end, and the
            // metric points are the journal's.
            std::ifstream in(run.runDir + "/journal.jsonl");
            int64_t lastSeq = 0, bytes = 0;
            std::map<std::string, std::map<int64_t, double>> journal; // key -> step -> value
            for (std::string line; std::getline(in, line);) {
                bytes += int64_t(line.size()) + 1;
                const json e = json::parse(line);
                lastSeq = e["seq"].get<int64_t>();
                if (e["type"] == "metrics")
                    for (const auto &[k, v] : e["values"].items())
                        if (v.is_number())
                            journal[k][e["step"].get<int64_t>()] = v.get<double>();
            }
            const auto cursor = (*s)->cursor(run.id);
            QCOMPARE(cursor.seq, lastSeq);
            QCOMPARE(cursor.offset, bytes);
            QVERIFY(!journal.empty());
            for (const auto &[key, points] : journal) {
                std::map<int64_t, double> stored;
                for (const auto &p : (*s)->metric(run.id, key))
                    stored[p.step] = p.value;
                QVERIFY(stored.size() >= points.size()); // evaluations add their scalars to a few keys
                for (const auto &[step, value] : points)
                    QCOMPARE(stored.at(step), value);
            }
        }
    }
};

QTEST_MAIN(TestSweepLoad)
#include "tst_sweepload.moc"
