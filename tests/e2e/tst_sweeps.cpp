// lbk's sweeps as a user runs them: the shipped debug sweep (12 random trials, 3 at a time, ASHA), its best trial
// run alone, a scheduler killed mid-way and resumed, a sweep cancelled, and a bad sweep file.
#include <QRegularExpression>
#include <QtTest>

#include <QTemporaryDir>

#include <csignal>
#include <fstream>
#include <set>
#include <thread>

#include "lbkprocess.h"
#include "store/store.h"

using nlohmann::json;

class TestSweeps : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir{QStringLiteral(LABBOOK_TEST_TMP "/e2e-sweeps-XXXXXX")};
    const QString kSweep = QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug-sweep.json");

    QString storePath(const QString &name) const { return m_dir.filePath(name + QStringLiteral(".db")); }

    lbktest::ProcessResult lbk(const QString &store, QStringList args)
    {
        args.prepend(store);
        args.prepend(QStringLiteral("--store"));
        return lbktest::runProcess(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), args, 600000);
    }

    std::unique_ptr<lbk::Store> open(const QString &store)
    {
        auto s = lbk::Store::open(store.toStdString());
        return s ? std::move(*s) : nullptr;
    }

    // Every trial ended, each with a run of its own, and no other run of the sweep in the store.
    void checkComplete(lbk::Store &s, int64_t sweep)
    {
        const auto trials = s.trials(sweep);
        QCOMPARE(trials.size(), size_t(12));
        std::set<int64_t> runs;
        for (const auto &t : trials) {
            QVERIFY2(!lbk::isOpen(t.state), lbk::toString(t.state));
            QVERIFY(t.run > 0);
            runs.insert(t.run);
        }
        QCOMPARE(runs.size(), size_t(12));
        QCOMPARE(s.runCount(), int64_t(12)); // nothing launched twice
    }

    // Waits until the sweep's detached scheduler has launched at least `trials` trials; returns its pid.
    int64_t waitForTrials(const QString &store, int64_t sweep, int trials)
    {
        for (int i = 0; i < 600; ++i) {
            if (auto s = open(store)) {
                const auto all = s->trials(sweep);
                const auto launched = std::count_if(all.begin(), all.end(), [](const lbk::TrialRecord &t) { return t.run > 0; });
                auto rec = s->sweep(std::to_string(sweep));
                if (launched >= trials && rec && rec->pid > 0)
                    return rec->pid;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return 0;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // The shipped sweep: every trial recorded, some pruned with ASHA's numbers, and the best trial's config run
    // alone gives its value again.
    void runsTheShippedSweep()
    {
        const QString store = storePath(QStringLiteral("shipped"));
        const auto r = lbk(store, {QStringLiteral("sweep"), kSweep});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.out.contains(QStringLiteral("best: trial")), qPrintable(r.out));
        auto s = open(store);
        const auto sweeps = s->sweeps();
        QCOMPARE(sweeps.size(), size_t(1));
        QCOMPARE(sweeps[0].status, lbk::SweepStatus::Finished);
        checkComplete(*s, sweeps[0].id);
        int pruned = 0;
        std::optional<lbk::TrialRecord> best;
        for (const auto &t : s->trials(sweeps[0].id)) {
            QVERIFY(t.value.has_value());
            if (t.state == lbk::TrialState::Pruned) {
                ++pruned;
                QVERIFY2(t.reason.find("asha: rung ") == 0, t.reason.c_str());
                const auto run = s->runById(t.run);
                QCOMPARE(run->status, lbk::RunStatus::Cancelled);
                QVERIFY2(run->error.find("pruned by the sweep") != std::string::npos, run->error.c_str());
                QVERIFY(std::find(run->tags.begin(), run->tags.end(), "pruned") != run->tags.end());
            } else {
                QCOMPARE(t.state, lbk::TrialState::Finished);
            }
            if (t.state == lbk::TrialState::Finished && (!best || *t.value > *best->value))
                best = t;
        }
        qInfo("%d of 12 trials pruned; best trial %d: %.4f", pruned, best->trial, *best->value);
        QVERIFY(pruned >= 1 && pruned <= 10);

        // lbk runs --status takes the word its STATUS column says: "pruned" lists the pruned trials, "cancelled"
        // none of them (found by an audit: "pruned" was refused, and "cancelled" listed them).
        const auto prunedRuns =
            lbk(store, {QStringLiteral("--json"), QStringLiteral("runs"), QStringLiteral("--status"), QStringLiteral("pruned")});
        QVERIFY2(prunedRuns.exitCode == 0, qPrintable(prunedRuns.err));
        QCOMPARE(json::parse(prunedRuns.out.toStdString()).size(), size_t(pruned));
        const auto cancelledRuns = lbk(
            store, {QStringLiteral("--json"), QStringLiteral("runs"), QStringLiteral("--status"), QStringLiteral("cancelled")});
        QCOMPARE(json::parse(cancelledRuns.out.toStdString()).size(), size_t(0));
        // A pruned trial's run resumed by hand goes on; lbk says the sweep keeps its record of the trial.
        for (const auto &t : s->trials(sweeps[0].id))
            if (t.state == lbk::TrialState::Pruned) {
                const auto again = lbk(store, {QStringLiteral("resume"), QString::number(t.run), QStringLiteral("--quiet")});
                QVERIFY2(again.exitCode == 0, qPrintable(again.err));
                QVERIFY2(again.err.contains(QStringLiteral("is trial %1 of sweep %2, which pruned it (asha: rung ")
                                                .arg(t.trial).arg(sweeps[0].id)),
                         qPrintable(again.err));
                QCOMPARE(s->runById(t.run)->status, lbk::RunStatus::Finished);
                break;
            }
        QVERIFY(best && *best->value > 0.5);

        // The best trial's recorded experiment, run alone, reaches the same best macro-F1.
        const auto run = s->runById(best->run);
        const QString config = QString::fromStdString(run->runDir + "/experiment.json");
        const auto alone = lbk(store, {QStringLiteral("run"), config, QStringLiteral("--name"), QStringLiteral("alone"),
                                       QStringLiteral("--quiet")});
        QVERIFY2(alone.exitCode == 0, qPrintable(alone.err));
        s = open(store);
        const auto again = s->run("alone");
        QVERIFY(again.ok());
        const auto value = again->summaryValue("best", "val/macro_f1");
        QVERIFY(value.has_value());
        QVERIFY2(std::abs(*value - *best->value) < 1e-6, qPrintable(QString::number(*value) + QStringLiteral(" vs ") +
                                                                     QString::number(*best->value)));

        const auto list = lbk(store, {QStringLiteral("sweeps")});
        QVERIFY(list.out.contains(QStringLiteral("debug-sweep")) && list.out.contains(QStringLiteral("finished")));
        // --json says as much as the table (found by an audit: no counts, no best trial).
        const auto listJson = lbk(store, {QStringLiteral("--json"), QStringLiteral("sweeps")});
        const json listed = json::parse(listJson.out.toStdString())[0];
        QCOMPARE(listed["pruned"].get<int>(), pruned);
        QCOMPARE(listed["finished"].get<int>(), 12 - pruned);
        QCOMPARE(listed["best_trial"].get<int>(), best->trial);
        QCOMPARE(listed["best_run"].get<int64_t>(), best->run);
        const auto show = lbk(store, {QStringLiteral("--json"), QStringLiteral("sweep"), QStringLiteral("show"),
                                      QStringLiteral("debug-sweep")});
        QCOMPARE(show.exitCode, 0);
        const json j = json::parse(show.out.toStdString());
        QCOMPARE(j["trials"].size(), size_t(12));
        // The best first, then the other finished trials, then the pruned ones (one that scored higher before its
        // stop came topped the list under a "best" that named another).
        QCOMPARE(j["trials"][0]["trial"].get<int>(), best->trial);
        for (size_t i = 0; i < size_t(12 - pruned); ++i)
            QCOMPARE(j["trials"][i]["state"].get<std::string>(), std::string("finished"));

        // runs --group: every run's seed is the one it trained with (debug.json's 7; it said 0), and a sweep that
        // does not draw seeds gets no column per trial.
        const auto grouped = lbk(store, {QStringLiteral("runs"), QStringLiteral("--group"), QStringLiteral("debug-sweep")});
        QCOMPARE(grouped.exitCode, 0);
        const QStringList rows = grouped.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        int sevens = 0;
        for (const QString &row : rows)
            sevens += row.contains(QRegularExpression(QStringLiteral("\\s7\\s")));
        QVERIFY2(sevens == 12, qPrintable(grouped.out));
        QVERIFY2(grouped.out.contains(QStringLiteral("each trial is a group of one")), qPrintable(grouped.out));
        // compare --group of it: the same note, and a row per trial (twelve columns side by side ran to 1,000
        // characters a line).
        const auto compared =
            lbk(store, {QStringLiteral("compare"), QStringLiteral("--group"), QStringLiteral("debug-sweep")});
        QCOMPARE(compared.exitCode, 0);
        QVERIFY2(compared.out.contains(QStringLiteral("each of its trials is a group of one run")),
                 qPrintable(compared.out));
        const QStringList lines = compared.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.filter(QRegularExpression(QStringLiteral("^debug-sweep "))).size(), 12);
        for (const QString &line : lines)
            QVERIFY2(line.size() < 250, qPrintable(line));

        // The best trial's run deleted: the sweep still names the trial, and says its run is gone (it said "run 0").
        const auto gone = lbk(store, {QStringLiteral("delete"), QString::number(best->run), QStringLiteral("--yes")});
        QVERIFY2(gone.exitCode == 0, qPrintable(gone.err));
        const auto after = lbk(store, {QStringLiteral("sweep"), QStringLiteral("show"), QStringLiteral("debug-sweep")});
        QVERIFY2(after.out.contains(QStringLiteral("(its run was deleted)")), qPrintable(after.out + after.err));

        // The same sweep again: the store has one of that name, and the name will mean the newest; said.
        const auto twice = lbk(store, {QStringLiteral("sweep"), kSweep, QStringLiteral("--quiet")});
        QVERIFY2(twice.exitCode == 0, qPrintable(twice.err));
        QVERIFY2(twice.err.contains(QStringLiteral("note: the store has a sweep named \"debug-sweep\" already "
                                                   "(sweep %1)").arg(sweeps[0].id)),
                 qPrintable(twice.err));
    }

    // The scheduler killed mid-sweep: its trials go on, `lbk sweep resume` follows them and launches the rest,
    // and no trial runs twice.
    void resumesAKilledScheduler()
    {
        const QString store = storePath(QStringLiteral("killed"));
        const auto started = lbk(store, {QStringLiteral("sweep"), kSweep, QStringLiteral("--detach")});
        QVERIFY2(started.exitCode == 0, qPrintable(started.err));
        const int64_t sweep = started.out.trimmed().toLongLong();
        QVERIFY(sweep > 0);
        const int64_t pid = waitForTrials(store, sweep, 4);
        QVERIFY(pid > 0);
        QCOMPARE(::kill(pid_t(pid), SIGKILL), 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        const auto list = lbk(store, {QStringLiteral("sweeps")});
        QVERIFY2(list.out.contains(QStringLiteral("not followed")), qPrintable(list.out));
        const auto resumed = lbk(store, {QStringLiteral("sweep"), QStringLiteral("resume"), QString::number(sweep)});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.out + resumed.err));
        auto s = open(store);
        QCOMPARE(s->sweep(std::to_string(sweep))->status, lbk::SweepStatus::Finished);
        checkComplete(*s, sweep);
    }

    // The scheduler and the trials' workers killed (a machine that went down): resuming the sweep resumes the
    // interrupted trials from their checkpoints, in the same runs, and every trial ends.
    void resumesInterruptedTrials()
    {
        const QString store = storePath(QStringLiteral("workers-killed"));
        const auto started = lbk(store, {QStringLiteral("sweep"), kSweep, QStringLiteral("--detach")});
        QVERIFY2(started.exitCode == 0, qPrintable(started.err));
        const int64_t sweep = started.out.trimmed().toLongLong();
        const int64_t pid = waitForTrials(store, sweep, 4);
        QVERIFY(pid > 0);
        QCOMPARE(::kill(pid_t(pid), SIGKILL), 0);
        std::set<int64_t> killed;
        auto s = open(store);
        for (const auto &t : s->trials(sweep))
            if (t.run > 0)
                if (auto run = s->runById(t.run); run && lbk::isActive(run->status) && run->pid > 0 &&
                                                  ::kill(pid_t(run->pid), SIGKILL) == 0)
                    killed.insert(run->id);
        if (killed.empty())
            QSKIP("every running trial had ended before its worker could be killed");
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        const auto resumed = lbk(store, {QStringLiteral("sweep"), QStringLiteral("resume"), QString::number(sweep)});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.out + resumed.err));
        // From its last checkpoint, or from step 0 where the worker died before it wrote one: said which.
        static const QRegularExpression said(QStringLiteral("trial \\d+ was interrupted; resuming run \\d+ (continues from "
                                                            "the last checkpoint|starts it again from step 0: it saved no "
                                                            "resumable checkpoint yet)"));
        QVERIFY2(said.match(resumed.err).hasMatch(),
                 qPrintable(resumed.out + resumed.err));
        s = open(store);
        QCOMPARE(s->sweep(std::to_string(sweep))->status, lbk::SweepStatus::Finished);
        checkComplete(*s, sweep);
        for (const auto &t : s->trials(sweep))
            if (killed.count(t.run)) {
                QVERIFY2(t.state == lbk::TrialState::Finished || t.state == lbk::TrialState::Pruned,
                         qPrintable(QString::fromStdString(std::string(lbk::toString(t.state)) + ": " + t.reason) +
                                    QStringLiteral("\n") + resumed.out + resumed.err));
                QVERIFY(t.value.has_value());
            }
        qInfo("%zu trials' workers killed, resumed and ended", killed.size());
    }

    // Cancelled: running trials are stopped, pending ones never start, the scheduler ends.
    void cancelsASweep()
    {
        const QString store = storePath(QStringLiteral("cancelled"));
        const auto started = lbk(store, {QStringLiteral("sweep"), kSweep, QStringLiteral("--detach")});
        QVERIFY2(started.exitCode == 0, qPrintable(started.err));
        const int64_t sweep = started.out.trimmed().toLongLong();
        QVERIFY(waitForTrials(store, sweep, 1) > 0);
        const auto cancelled = lbk(store, {QStringLiteral("sweep"), QStringLiteral("cancel"), QString::number(sweep)});
        QVERIFY2(cancelled.exitCode == 0, qPrintable(cancelled.err));
        bool ended = false;
        for (int i = 0; i < 600 && !ended; ++i) {
            auto s = open(store);
            const auto trials = s->trials(sweep);
            ended = std::none_of(trials.begin(), trials.end(), [](const lbk::TrialRecord &t) { return lbk::isOpen(t.state); }) &&
                    s->sweep(std::to_string(sweep))->pid == 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        QVERIFY(ended);
        auto s = open(store);
        QCOMPARE(s->sweep(std::to_string(sweep))->status, lbk::SweepStatus::Cancelled);
        int notStarted = 0;
        for (const auto &t : s->trials(sweep)) {
            notStarted += t.run == 0;
            if (t.run > 0)
                QVERIFY(!lbk::isActive(s->runById(t.run)->status));
        }
        QVERIFY(notStarted > 0);
        // Resumed like a cancelled run: the trials never started run, the cancelled ones continue their runs.
        const auto again = lbk(store, {QStringLiteral("sweep"), QStringLiteral("resume"), QString::number(sweep),
                                       QStringLiteral("-q")});
        QVERIFY2(again.exitCode == 0, qPrintable(again.err));
        s = open(store);
        QCOMPARE(s->sweep(std::to_string(sweep))->status, lbk::SweepStatus::Finished);
        checkComplete(*s, sweep);
        for (const auto &t : s->trials(sweep))
            QVERIFY2(t.state == lbk::TrialState::Finished || t.state == lbk::TrialState::Pruned, lbk::toString(t.state));
    }

    // around_lr_finder: the base's LR range test runs first, the rates are drawn within a factor of its suggestion,
    // and a second sweep of the same base reuses it (centred a decade below the suggestion, within a factor of 2).
    void sweepsAroundTheLrFinder()
    {
        const QString store = storePath(QStringLiteral("lr"));
        const QString file = m_dir.filePath(QStringLiteral("lr-sweep.json"));
        json sweep = {{"experiment", LABBOOK_SOURCE_DIR "/experiments/debug.json"},
                      {"trials", 2},
                      {"parallel", 2},
                      {"parameters", {{"optimizer.lr", {{"around_lr_finder", 10}}}}}};
        for (int round = 0; round < 2; ++round) {
            if (round == 1) { // and a base whose epochs and rate differ: the test reads neither, so it is reused
                sweep["parameters"]["optimizer.lr"] = {{"around_lr_finder", 2}, {"centre", 0.1}};
                sweep["experiment"] = lbktest::debugVariant(m_dir.path(), QStringLiteral("debug"),
                                                            {{"training", {{"epochs", 2}}}, {"optimizer", {{"lr", 0.5}}}})
                                          .toStdString();
            }
            std::ofstream(file.toStdString()) << sweep.dump();
            const auto r = lbk(store, {QStringLiteral("sweep"), file});
            QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
            QVERIFY2(r.out.contains(QLatin1String("optimizer.lr is drawn log-uniform from")) ||
                         r.err.contains(QLatin1String("optimizer.lr is drawn log-uniform from")),
                     qPrintable(r.out + r.err));
        }
        auto s = open(store);
        lbk::RunFilter lrFinds;
        lrFinds.kind = "lr_find";
        const auto finders = s->runs(lrFinds);
        QCOMPARE(finders.size(), size_t(1)); // the second sweep reused it
        const double suggestion = finders[0].summary["lr_suggestion"]["lr"].get<double>();
        for (const auto &sw : s->sweeps()) {
            const bool centred = sw.spec["parameters"]["optimizer.lr"]["log_uniform"][1].get<double>() < suggestion;
            const double lo = centred ? suggestion * 0.1 / 2.001 : suggestion / 10.01;
            const double hi = centred ? suggestion * 0.1 * 2.001 : suggestion * 10.01;
            for (const auto &t : s->trials(sw.id)) {
                const double lr = t.params["optimizer.lr"].get<double>();
                QVERIFY2(lr >= lo && lr <= hi, qPrintable(QString::number(lr)));
                QCOMPARE(t.state, lbk::TrialState::Finished);
            }
        }
        QCOMPARE(s->sweeps().size(), size_t(2));
        QVERIFY(s->sweeps()[0].spec["parameters"]["optimizer.lr"].contains("log_uniform"));
    }

    // Found by an audit: Ctrl-C while a sweep's range test ran killed lbk silently, the test ran on unseen, and the
    // same sweep again started a second test beside it. Now Ctrl-C says the test goes on, and the sweep again
    // waits for that one.
    void interruptedRangeTestIsWaitedForAgain()
    {
        const QString store = storePath(QStringLiteral("lr-interrupted"));
        const QString base = lbktest::debugVariant(m_dir.path(), QStringLiteral("slow-lr"),
                                                   {{"lr_finder", {{"steps", 3000}}}}); // several seconds
        const QString file = m_dir.filePath(QStringLiteral("slow-lr-sweep.json"));
        std::ofstream(file.toStdString()) << json{{"experiment", base.toStdString()},
                                                  {"trials", 1},
                                                  {"parameters", {{"optimizer.lr", {{"around_lr_finder", 10}}}}}}
                                                 .dump();
        QProcess first;
        first.start(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), {QStringLiteral("--store"), store, QStringLiteral("sweep"), file});
        lbk::RunFilter lrFinds;
        lrFinds.kind = "lr_find";
        const auto testRuns = [&] {
            auto s = open(store);
            return s ? s->runs(lrFinds) : std::vector<lbk::RunSummary>{};
        };
        for (int i = 0; i < 300 && (testRuns().empty() || testRuns()[0].status != lbk::RunStatus::Running); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        QVERIFY2(!testRuns().empty(), "the range test started");
        QCOMPARE(::kill(pid_t(first.processId()), SIGINT), 0);
        QVERIFY(first.waitForFinished(30000));
        QCOMPARE(first.exitCode(), 3);
        const QString said = QString::fromUtf8(first.readAllStandardError());
        QVERIFY2(said.contains(QLatin1String("stopped waiting for the LR range test (run 1), which goes on")),
                 qPrintable(said));
        QVERIFY(open(store)->sweeps().empty());
        const auto again = lbk(store, {QStringLiteral("sweep"), file});
        QVERIFY2(again.exitCode == 0, qPrintable(again.out + again.err));
        QVERIFY2(again.err.contains(QLatin1String("is running already (run 1): waiting for it")) ||
                     testRuns()[0].status == lbk::RunStatus::Finished, // it ended before the second sweep looked
                 qPrintable(again.err));
        QCOMPARE(testRuns().size(), size_t(1)); // never two range tests of one config
    }

    // A range test that suggests no rate fails the sweep with its reason, and a second sweep of the same base says
    // so again without running the test anew.
    void lrFinderWithoutSuggestionIsNotRerun()
    {
        const QString store = storePath(QStringLiteral("lr-none"));
        json base = json::parse(std::ifstream(LABBOOK_SOURCE_DIR "/experiments/debug.json"));
        base["lr_finder"] = {{"min_lr", 1e-9}, {"max_lr", 2e-9}, {"steps", 10}}; // the loss cannot fall
        const QString baseFile = m_dir.filePath(QStringLiteral("lr-none.json"));
        std::ofstream(baseFile.toStdString()) << base.dump();
        const QString file = m_dir.filePath(QStringLiteral("lr-none-sweep.json"));
        std::ofstream(file.toStdString()) << json{{"experiment", baseFile.toStdString()},
                                                  {"trials", 2},
                                                  {"parameters", {{"optimizer.lr", {{"around_lr_finder", 10}}}}}}
                                                 .dump();
        const auto test = lbk(store, {QStringLiteral("lr-find"), baseFile, QStringLiteral("-q")});
        QCOMPARE(test.exitCode, 1); // what it was run for is missing; it exited 0
        QVERIFY2(test.out.contains(QLatin1String("no suggestion")), qPrintable(test.out));
        for (int round = 0; round < 2; ++round) {
            const auto r = lbk(store, {QStringLiteral("sweep"), file, QStringLiteral("-q")});
            QVERIFY2(r.exitCode != 0, qPrintable(r.out + r.err));
            QVERIFY2(r.err.contains(QLatin1String("suggested no rate: the loss never went down")), qPrintable(r.err));
        }
        lbk::RunFilter lrFinds;
        lrFinds.kind = "lr_find";
        QCOMPARE(open(store)->runs(lrFinds).size(), size_t(1));
    }

    // A run group: one run per seed, each metric's mean and sample deviation across them, the same in runs --group
    // and compare --group.
    void runsASeedGroup()
    {
        const QString store = storePath(QStringLiteral("group"));
        const QString debug = QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json");
        const auto r = lbk(store, {QStringLiteral("run"), debug, QStringLiteral("--seeds"), QStringLiteral("13,14"),
                                   QStringLiteral("--parallel"), QStringLiteral("2")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.out.contains(QStringLiteral("Across seeds")), qPrintable(r.out));
        QVERIFY2(r.out.contains(QStringLiteral("debug-seeds (2 runs)")), qPrintable(r.out)); // it read "all (2 runs)"
        const auto g = lbk(store, {QStringLiteral("--json"), QStringLiteral("runs"), QStringLiteral("--group"),
                                   QStringLiteral("debug-seeds")});
        QCOMPARE(g.exitCode, 0);
        const json groups = json::parse(g.out.toStdString());
        QCOMPARE(groups.size(), size_t(1));
        auto s = open(store);
        std::vector<double> f1;
        std::set<int64_t> seeds;
        for (const auto &id : groups[0]["runs"]) {
            const auto run = s->runById(id.get<int64_t>());
            f1.push_back(*run->summaryValue("final", "val/macro_f1"));
            seeds.insert(run->config["training"]["seed"].get<int64_t>());
            // tagged as the group, so the run list folds it into one row of means
            QVERIFY(std::any_of(run->tags.begin(), run->tags.end(),
                                [](const std::string &t) { return t.rfind("group:debug-seeds #", 0) == 0; }));
        }
        QCOMPARE(seeds, (std::set<int64_t>{13, 14}));
        // Runs of their experiment like any other: listed under it, and only the seed differs between them.
        const auto listed = lbk(store, {QStringLiteral("--json"), QStringLiteral("runs"), QStringLiteral("--experiment"),
                                        QStringLiteral("debug")});
        QCOMPARE(json::parse(listed.out.toStdString()).size(), size_t(2));
        const auto ids = groups[0]["runs"];
        const auto pair = lbk(store, {QStringLiteral("--json"), QStringLiteral("compare"),
                                      QString::number(ids[0].get<int64_t>()), QString::number(ids[1].get<int64_t>())});
        QVERIFY2(pair.exitCode == 0, qPrintable(pair.err));
        const json diff = json::parse(pair.out.toStdString())["config_diff"];
        QVERIFY2(diff.size() == 1 && diff.contains("training.seed"), diff.dump().c_str()); // the name differed too
        const json &stats = groups[0]["metrics"]["val/macro_f1"];
        QCOMPARE(stats["n"].get<int>(), 2);
        QVERIFY(std::abs(stats["mean"].get<double>() - (f1[0] + f1[1]) / 2) < 1e-12);
        QVERIFY(std::abs(stats["std"].get<double>() - std::abs(f1[0] - f1[1]) / std::sqrt(2.0)) < 1e-12);
        const auto cmp = lbk(store, {QStringLiteral("compare"), QStringLiteral("--group"), QStringLiteral("debug-seeds"),
                                     QStringLiteral("--group"), QStringLiteral("debug-seeds")});
        QCOMPARE(cmp.exitCode, 0);
        QVERIFY2(cmp.out.contains(QStringLiteral("debug-seeds (2 runs)")), qPrintable(cmp.out));
        // Found by an audit: --json was ignored here (a table where a script expects JSON).
        const auto cmpJson = lbk(store, {QStringLiteral("--json"), QStringLiteral("compare"), QStringLiteral("--group"),
                                         QStringLiteral("debug-seeds")});
        QCOMPARE(cmpJson.exitCode, 0);
        const json side = json::parse(cmpJson.out.toStdString());
        QVERIFY2(side.size() == 1 && side[0]["label"] == "debug-seeds" && side[0]["metrics"] == groups[0]["metrics"],
                 qPrintable(cmpJson.out));
        const auto twice = lbk(store, {QStringLiteral("run"), debug, QStringLiteral("--seeds"), QStringLiteral("13,13")});
        QCOMPARE(twice.exitCode, 2); // a fake deviation of 0
        QVERIFY2(twice.err.contains(QStringLiteral("seed 13 is given twice")), qPrintable(twice.err));
        const auto one = lbk(store, {QStringLiteral("compare"), QStringLiteral("1")});
        QCOMPARE(one.exitCode, 2);
    }

    // Cancelled while nobody follows it (its scheduler killed): lbk sweep cancel waits for the runs and records
    // every trial's end, so none stays open.
    void cancelsASweepNobodyFollows()
    {
        const QString store = storePath(QStringLiteral("orphan"));
        const auto started = lbk(store, {QStringLiteral("sweep"), kSweep, QStringLiteral("--detach")});
        QVERIFY2(started.exitCode == 0, qPrintable(started.err));
        const int64_t sweep = started.out.trimmed().toLongLong();
        const int64_t pid = waitForTrials(store, sweep, 2);
        QVERIFY(pid > 0);
        QCOMPARE(::kill(pid_t(pid), SIGKILL), 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        const auto cancelled = lbk(store, {QStringLiteral("sweep"), QStringLiteral("cancel"), QString::number(sweep)});
        QVERIFY2(cancelled.exitCode == 0, qPrintable(cancelled.err));
        auto s = open(store);
        QCOMPARE(s->sweep(std::to_string(sweep))->status, lbk::SweepStatus::Cancelled);
        for (const auto &t : s->trials(sweep)) {
            QVERIFY2(!lbk::isOpen(t.state), lbk::toString(t.state));
            if (t.run > 0)
                QVERIFY(!lbk::isActive(s->runById(t.run)->status));
        }
    }

    // lbk validate checks a sweep file as lbk sweep would start it (its keys and ranges), and its base experiment as
    // a run's (the encoder folder it starts from), without recording anything; lbk sweep refuses a bad folder too.
    void validateChecksASweep()
    {
        const QString store = storePath(QStringLiteral("validate"));
        auto good = lbk(store, {QStringLiteral("validate"), kSweep});
        QVERIFY2(good.exitCode == 0 && good.out.contains(QStringLiteral("debug-sweep.json: valid")), qPrintable(good.err));
        const QString file = m_dir.filePath(QStringLiteral("validate-bad-sweep.json"));
        std::ofstream(file.toStdString()) << json{{"experiment", LABBOOK_SOURCE_DIR "/experiments/debug.json"},
                                                   {"trials", 2},
                                                   {"parameters", {{"optimizer.rate", {{"values", {0.1}}}}}}}
                                                 .dump();
        auto bad = lbk(store, {QStringLiteral("validate"), file});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains(QStringLiteral("parameters.optimizer.rate: not an experiment key")), qPrintable(bad.err));
        // Found by an audit: validate passed a trial that lbk sweep refuses (5 heads do not divide a width of 48).
        std::ofstream(file.toStdString())
            << json{{"experiment", LABBOOK_SOURCE_DIR "/experiments/debug.json"},
                    {"method", "grid"},
                    {"parameters", {{"model.type", {{"values", {"bag", "transformer"}}}},
                                    {"model.embedding_dim", {{"values", {48}}}},
                                    {"model.heads", {{"values", {4, 5}}}}}}}
                   .dump();
        bad = lbk(store, {QStringLiteral("validate"), file});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains(QStringLiteral("is not a valid experiment:")) &&
                     bad.err.contains(QStringLiteral("model.heads: 5 does not divide model.embedding_dim 48")),
                 qPrintable(bad.err));
        // A base that fine-tunes a folder that is not a checkpoint: every trial would fail to start.
        const QString empty = m_dir.filePath(QStringLiteral("not-a-checkpoint"));
        QVERIFY(QDir().mkpath(empty));
        const json encoder = {{"name", "enc"}, {"data", {{"path", "arxiv/arxiv-sample-5k.jsonl"}}},
                              {"model", {{"type", "encoder"}, {"init_from", empty.toStdString()}}}};
        std::ofstream(file.toStdString())
            << json{{"experiment", encoder}, {"trials", 2}, {"parameters", {{"optimizer.lr", {{"values", {0.1, 0.2}}}}}}}
                   .dump();
        bad = lbk(store, {QStringLiteral("validate"), file});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains(QStringLiteral("model.init_from: ")) && bad.err.contains(QStringLiteral("config.json")),
                 qPrintable(bad.err));
        // lbk sweep refuses it before the sweep exists (each trial failed to start, one after the other).
        const auto refused = lbk(store, {QStringLiteral("sweep"), file});
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains(QStringLiteral("model.init_from: ")) &&
                     refused.err.contains(QStringLiteral("(the sweep's experiment); nothing was launched")),
                 qPrintable(refused.err));
        // Swept, the folders are the trials' to check as they start: said.
        std::ofstream(file.toStdString())
            << json{{"experiment", encoder},
                    {"method", "grid"},
                    {"parameters", {{"model.init_from", {{"values", {"", empty.toStdString()}}}}}}}
                   .dump();
        const auto swept = lbk(store, {QStringLiteral("validate"), file});
        QVERIFY2(swept.exitCode == 0 && swept.err.contains(QStringLiteral("note: model.init_from is swept")),
                 qPrintable(swept.err));
        QVERIFY(!QFileInfo::exists(store)); // nothing recorded, no store made
    }

    void badSweepFileIsNamed()
    {
        const QString file = m_dir.filePath(QStringLiteral("bad-sweep.json"));
        const json bad = {{"experiment", LABBOOK_SOURCE_DIR "/experiments/debug.json"},
                          {"trials", 2},
                          {"parameters", {{"optimizer.rate", {{"values", {0.1}}}}}}};
        std::ofstream(file.toStdString()) << bad.dump();
        const auto r = lbk(storePath(QStringLiteral("bad")), {QStringLiteral("sweep"), file});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("bad-sweep.json: parameters.optimizer.rate: not an experiment key")),
                 qPrintable(r.err));

        // The wrong kind of file is named as such (13 and 9 unknown-key errors before), and `lbk cancel NAME` of a
        // sweep points at the sweep commands.
        const QString store = storePath(QStringLiteral("bad"));
        auto wrong = lbk(store, {QStringLiteral("sweep"), QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json")});
        QCOMPARE(wrong.exitCode, 2);
        QVERIFY2(wrong.err.contains(QStringLiteral("this is an experiment, not a sweep")), qPrintable(wrong.err));
        wrong = lbk(store, {QStringLiteral("run"), kSweep});
        QCOMPARE(wrong.exitCode, 2);
        QVERIFY2(wrong.err.contains(QStringLiteral("lbk sweep FILE")), qPrintable(wrong.err));
    }

    // A sweep whose every trial fails has failed, and says why (it ended "finished" with exit code 0); an unknown
    // target is refused before any trial is created.
    void failingTrialsFailTheSweep()
    {
        const QString file = m_dir.filePath(QStringLiteral("failing-sweep.json"));
        const std::string missing = m_dir.filePath(QStringLiteral("no-such-data.jsonl")).toStdString();
        // Data with a fifth of its lines broken: every trial's limit on bad lines is lower (data.path itself cannot be
        // swept: trials scored on other papers cannot be ranked).
        const std::string broken = m_dir.filePath(QStringLiteral("broken-lines.jsonl")).toStdString();
        {
            std::ofstream out(broken);
            for (int i = 0; i < 40; ++i)
                out << (i % 5 == 0 ? std::string("{not json") : json{{"id", std::to_string(i)}, {"title", "Paper"},
                                                                       {"categories", "cs.CV"}}.dump())
                    << '\n';
        }
        json failing = json::parse(std::ifstream(LABBOOK_SOURCE_DIR "/experiments/debug.json"));
        failing["data"]["path"] = broken;
        json spec = {{"experiment", failing},
                     {"trials", 2},
                     {"parallel", 1},
                     {"parameters", {{"data.max_bad_share", {{"values", {0.0, 0.05}}}}}}};
        std::ofstream(file.toStdString()) << spec.dump();
        const QString store = storePath(QStringLiteral("failing"));
        auto r = lbk(store, {QStringLiteral("sweep"), file, QStringLiteral("-q")});
        QVERIFY(r.exitCode != 0);
        QVERIFY2(r.err.contains(QStringLiteral("every one of the 2 trials failed; trial ")) &&
                     r.err.contains(QStringLiteral("data.max_bad_share")),
                 qPrintable(r.err));
        auto s = open(store);
        QCOMPARE(s->sweeps().at(0).status, lbk::SweepStatus::Failed);

        spec["target"] = "nosuch";
        spec["parameters"] = {{"optimizer.lr", {{"values", {0.1, 0.2}}}}};
        std::ofstream(file.toStdString()) << spec.dump();
        r = lbk(store, {QStringLiteral("sweep"), file});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("no target named \"nosuch\"")), qPrintable(r.err));
        QCOMPARE(open(store)->sweeps().size(), size_t(1));

        // The experiment's own data file missing (not swept): said before anything is created or launched.
        json base = json::parse(std::ifstream(LABBOOK_SOURCE_DIR "/experiments/debug.json"));
        base["data"]["path"] = missing;
        spec.erase("target");
        spec["experiment"] = base;
        std::ofstream(file.toStdString()) << spec.dump();
        r = lbk(store, {QStringLiteral("sweep"), file});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QString::fromStdString(missing) + QStringLiteral(": no such file")), qPrintable(r.err));
        QCOMPARE(open(store)->sweeps().size(), size_t(1));
    }

    // A metric no run records (a typo) stops the sweep after its first finished trial, naming what runs record,
    // instead of running every trial with nothing to rank them by.
    void unknownMetricStopsTheSweep()
    {
        const QString file = m_dir.filePath(QStringLiteral("typo-sweep.json"));
        const json typo = {{"experiment", LABBOOK_SOURCE_DIR "/experiments/debug.json"},
                           {"trials", 4},
                           {"parallel", 1},
                           {"metric", "val/acuracy"},
                           {"parameters", {{"optimizer.lr", {{"values", {0.01, 0.02, 0.03, 0.04}}}}}}};
        std::ofstream(file.toStdString()) << typo.dump();
        const QString store = storePath(QStringLiteral("typo"));
        const auto r = lbk(store, {QStringLiteral("sweep"), file});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("metric val/acuracy: trial 1 finished without recording it")) &&
                     r.err.contains(QStringLiteral("val/accuracy")),
                 qPrintable(r.err));
        auto s = open(store);
        const auto sweeps = s->sweeps();
        QCOMPARE(sweeps.size(), size_t(1));
        QCOMPARE(sweeps[0].status, lbk::SweepStatus::Failed);
        int finished = 0;
        for (const auto &t : s->trials(sweeps[0].id)) {
            QVERIFY2(!lbk::isOpen(t.state), lbk::toString(t.state));
            finished += t.state == lbk::TrialState::Finished;
        }
        QCOMPARE(finished, 1); // one trial at a time: the rest never started
        QCOMPARE(s->runs({}).size(), size_t(1));
        QCOMPARE(r.err.count(QStringLiteral("finished without recording it")), 1); // said once
        // Why it failed stays with it: shown, and neither resume (it ended "finished") nor cancel erases it.
        const QString id = QString::number(sweeps[0].id);
        const auto shown = lbk(store, {QStringLiteral("sweep"), QStringLiteral("show"), id});
        QVERIFY2(shown.out.contains(QStringLiteral("failed: metric val/acuracy")), qPrintable(shown.out));
        const auto resumed = lbk(store, {QStringLiteral("sweep"), QStringLiteral("resume"), id});
        QCOMPARE(resumed.exitCode, 2);
        QVERIFY2(resumed.err.contains(QStringLiteral("has failed (metric val/acuracy")), qPrintable(resumed.err));
        const auto cancelled = lbk(store, {QStringLiteral("sweep"), QStringLiteral("cancel"), id});
        QCOMPARE(cancelled.exitCode, 2);
        s = open(store);
        QCOMPARE(s->sweeps()[0].status, lbk::SweepStatus::Failed);
        QVERIFY(s->sweeps()[0].error.find("val/acuracy") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestSweeps)
#include "tst_sweeps.moc"
