// The run use cases every front-end calls (core/usecases/runactions.h): what each refuses, and the rules written
// once there: a run that cannot start is recorded as failed; deleting a run removes its folder too (the GUI used
// to delete the records and leave the folder, with its checkpoints, on disk).
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "experiment/schema.h"
#include "usecases/runactions.h"

namespace fs = std::filesystem;
using namespace lbk;

class TestUseCases : public QObject {
    Q_OBJECT

    fs::path m_dir;
    std::unique_ptr<Store> m_store;

    static Experiment debugExperiment()
    {
        auto exp = loadExperimentFile(fs::path(LABBOOK_SOURCE_DIR) / "experiments" / "debug.json");
        if (!exp)
            qFatal("%s", exp.message().c_str());
        return *exp;
    }

    RunDetail makeRun(RunStatus status)
    {
        auto run = createLocalRun(*m_store, debugExperiment(), {});
        if (!run)
            qFatal("%s", run.message().c_str());
        if (status != RunStatus::Queued)
            (void)m_store->setStatus(run->id, status);
        return *m_store->runById(run->id);
    }

private Q_SLOTS:
    void init()
    {
        m_dir = fs::path(LABBOOK_TEST_TMP) / "tst_usecases";
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
        auto store = Store::open(m_dir / "labbook.db");
        QVERIFY2(store.ok(), store.ok() ? "" : store.message().c_str());
        m_store = std::move(*store);
    }

    void removeDeletesRecordsAndFolder()
    {
        const RunDetail run = makeRun(RunStatus::Failed);
        std::ofstream(fs::path(run.runDir) / "checkpoints.pt") << "weights";
        QVERIFY(fs::exists(run.runDir));
        const auto removed = usecase::remove(*m_store, run);
        QVERIFY2(removed.ok(), removed.ok() ? "" : removed.message().c_str());
        QVERIFY(!m_store->runById(run.id).ok());
        QVERIFY2(!fs::exists(run.runDir), run.runDir.c_str());
    }

    void removeRefusesAnActiveRun()
    {
        const RunDetail run = makeRun(RunStatus::Running);
        const auto removed = usecase::remove(*m_store, run);
        QVERIFY(!removed.ok());
        QVERIFY(removed.error().badInput);
        QVERIFY2(removed.message().find("cancel it first") != std::string::npos, removed.message().c_str());
        QVERIFY(m_store->runById(run.id).ok());
        QVERIFY(fs::exists(run.runDir));
    }

    void cancelRefusesARunThatEnded()
    {
        const RunDetail run = makeRun(RunStatus::Finished);
        const auto cancelled = usecase::cancel(*m_store, localTarget(), run);
        QVERIFY(!cancelled.ok());
        QVERIFY(cancelled.error().badInput);
        QVERIFY2(cancelled.message().find("not running") != std::string::npos, cancelled.message().c_str());
    }

    // A worker that cannot be started (no lbk, or no lbk-engine beside it) is refused before a run is created,
    // naming the program; a start that fails all the same leaves the run failed with the reason, never queued.
    void launchThatCannotStartIsRefusedOrRecordedAsFailed()
    {
        qunsetenv("LABBOOK_ENGINE"); // the engine beside the lbk given, not one a developer exported
        const QTemporaryDir dir;
        const QString lbk = dir.filePath(QStringLiteral("lbk"));
        QVERIFY(QFile::copy(QStringLiteral("/bin/true"), lbk));
        qputenv("LABBOOK_LBK", lbk.toUtf8()); // an lbk with no lbk-engine beside it
        auto launched = usecase::launch(*m_store, localTarget(), debugExperiment(), {});
        QVERIFY(!launched.ok());
        QVERIFY2(launched.message().find(dir.filePath(QStringLiteral("lbk-engine")).toStdString() + ", which cannot be "
                                                                                                   "started") !=
                     std::string::npos,
                 launched.message().c_str());
        QCOMPARE(m_store->runs({}).size(), size_t(0));
        qputenv("LABBOOK_LBK", "/nonexistent/lbk");
        launched = usecase::launch(*m_store, localTarget(), debugExperiment(), {});
        QVERIFY(!launched.ok());
        QVERIFY2(launched.message().find("cannot start /nonexistent/lbk") != std::string::npos, launched.message().c_str());
        QCOMPARE(m_store->runs({}).size(), size_t(0));
        // Executable by its mode, yet no program: the check passes and the start fails.
        const QString text = dir.filePath(QStringLiteral("text/lbk"));
        QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("text")));
        QVERIFY(QFile::copy(QStringLiteral("/bin/true"), dir.filePath(QStringLiteral("text/lbk-engine"))));
        {
            QFile f(text);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("not a program\n");
        }
        QVERIFY(QFile::setPermissions(text, QFileDevice::ReadOwner | QFileDevice::ExeOwner));
        qputenv("LABBOOK_LBK", text.toUtf8());
        launched = usecase::launch(*m_store, localTarget(), debugExperiment(), {});
        qunsetenv("LABBOOK_LBK");
        QVERIFY(!launched.ok());
        const auto runs = m_store->runs({});
        QCOMPARE(runs.size(), size_t(1));
        QCOMPARE(runs[0].status, RunStatus::Failed);
        QVERIFY2(!runs[0].error.empty(), "the reason is recorded");
    }

    // Fine-tuning from a pre-training run that still trains: its best.pt changes under the recorded config, so the
    // launch is refused, naming the steps it kept (it took whatever best.pt held at that moment).
    void initFromARunStillTrainingIsRefused()
    {
        auto pre = loadExperimentFile(fs::path(LABBOOK_SOURCE_DIR) / "experiments" / "pretrain-debug.json");
        QVERIFY2(pre.ok(), pre.ok() ? "" : pre.message().c_str());
        auto run = createLocalRun(*m_store, *pre, {});
        QVERIFY(run.ok());
        (void)m_store->setStatus(run->id, RunStatus::Running);
        fs::create_directories(fs::path(run->runDir) / "checkpoints");
        for (const char *kept : {"step-20.pt", "step-40.pt"})
            std::ofstream(fs::path(run->runDir) / "checkpoints" / kept) << "weights";
        auto tune = loadExperimentFile(fs::path(LABBOOK_SOURCE_DIR) / "experiments" / "finetune-top20-title.json");
        QVERIFY(tune.ok());
        tune->model.initFrom = "run:" + std::to_string(run->id);
        const auto launched = usecase::launch(*m_store, localTarget(), *tune, {});
        QVERIFY(!launched.ok());
        QVERIFY(launched.error().badInput);
        QVERIFY2(launched.message().find("is still running") != std::string::npos &&
                     launched.message().find("kept: 20, 40") != std::string::npos,
                 launched.message().c_str());
        QCOMPARE(m_store->runs({}).size(), size_t(1)); // nothing created

        // Ended without a checkpoint (it failed before its first evaluation): refused before anything is created
        // (the fine-tune was created, then failed on the missing weights).
        (void)m_store->setStatus(run->id, RunStatus::Failed, "out of memory");
        const auto empty = usecase::launch(*m_store, localTarget(), *tune, {});
        QVERIFY(!empty.ok() && empty.error().badInput);
        QVERIFY2(empty.message().find("(failed) left no checkpoint in") != std::string::npos, empty.message().c_str());
        // A text of max_tokens pieces between [CLS] and [SEP] must fit the pre-training windows, those two included:
        // positions beyond were never trained. A continued pre-training takes windows as long as the run's.
        (void)m_store->setStatus(run->id, RunStatus::Finished);
        std::ofstream(fs::path(run->runDir) / "checkpoints" / "best.pt") << "weights";
        const int window = pre->tokenizer.maxTokens;
        tune->tokenizer.maxTokens = window - 1;
        tune->config["tokenizer"]["max_tokens"] = window - 1;
        std::vector<std::string> notes;
        const auto tooLong = usecase::resolveInitRun(*m_store, *tune, notes);
        QVERIFY(!tooLong.ok());
        QVERIFY2(tooLong.message().find("lower it to " + std::to_string(window - 2)) != std::string::npos,
                 tooLong.message().c_str());
        auto more = *pre;
        more.model.initFrom = "run:" + std::to_string(run->id);
        QVERIFY2(usecase::resolveInitRun(*m_store, more, notes).ok(), "a continuation's windows are the run's");
        // A size the file sets is said when the run's replaces it, the field's default included (model.heads 4);
        // one the file leaves out is taken without a note (model.hidden, 128 by default, 512 in the run).
        auto given = experimentFromJson({{"name", "heads-given"},
                                         {"data", {{"path", "arxiv/arxiv-sample-5k.jsonl"}}},
                                         {"model", {{"type", "encoder"}, {"heads", 4},
                                                    {"init_from", "run:" + std::to_string(run->id)}}}});
        QVERIFY2(given.ok(), given.ok() ? "" : given.message().c_str());
        notes.clear();
        const auto sized = usecase::resolveInitRun(*m_store, *given, notes);
        QVERIFY2(sized.ok(), sized.ok() ? "" : sized.message().c_str());
        QCOMPARE(sized->model.heads, pre->model.heads);
        QCOMPARE(sized->model.hidden, pre->model.hidden);
        std::string said;
        for (const auto &note : notes)
            said += note + "\n";
        QVERIFY2(said.find("model.heads 4 is replaced by 2") != std::string::npos, said.c_str());
        QVERIFY2(said.find("model.hidden") == std::string::npos, said.c_str());
        fs::remove(fs::path(run->runDir) / "checkpoints" / "best.pt");
        (void)m_store->setStatus(run->id, RunStatus::Failed, "out of memory");
        // An LR range test of the pre-training experiment is not a pre-training run.
        NewRun test;
        test.name = "lr-test-of-pretraining";
        test.task = "mlm";
        test.kind = "lr_find";
        auto lrTest = m_store->createRun(test);
        QVERIFY(lrTest.ok());
        tune->model.initFrom = "run:" + std::to_string(lrTest->id);
        const auto refused = usecase::launch(*m_store, localTarget(), *tune, {});
        QVERIFY(!refused.ok() && refused.error().badInput);
        QVERIFY2(refused.message().find("is an LR range test") != std::string::npos, refused.message().c_str());
        QCOMPARE(m_store->runs({}).size(), size_t(2)); // no fine-tune created
    }

    void findTarget()
    {
        TargetsFile file;
        file.path = m_dir / "no-targets.json";
        file.targets = {localTarget()};
        QCOMPARE(usecase::findTarget(file, "").value().name, std::string(kLocalTarget));
        QCOMPARE(usecase::findTarget(file, kLocalTarget).value().name, std::string(kLocalTarget));
        const auto missing = usecase::findTarget(file, "gpu-box");
        QVERIFY(!missing.ok());
        QVERIFY(missing.error().badInput);
        QVERIFY2(missing.message().find("there is no targets file at " + file.path.string()) != std::string::npos,
                 missing.message().c_str());
        // A file that exists: a near miss is offered.
        file.path = m_dir / "targets.json";
        std::ofstream(file.path) << "{}";
        Target box = localTarget();
        box.name = "box";
        file.targets.push_back(box);
        const auto typo = usecase::findTarget(file, "boxx");
        QVERIFY(!typo.ok());
        QVERIFY2(typo.message().find("did you mean \"box\"?") != std::string::npos, typo.message().c_str());
    }
};

QTEST_GUILESS_MAIN(TestUseCases)
#include "tst_usecases.moc"
