// lbk on a Slurm target against a real one-node Slurm (tests/servers/slurm-start.sh), reached over the test
// sshd as an unprivileged user: sbatch with the target's resources, streaming from the job's journal, a
// pending job's reason, scancel, a time limit ending as TIMEOUT, and a run name that tries to be shell code.
#include "../remotetest.h"

#include <set>

using namespace remotetest;

class TestSlurm : public QObject {
    Q_OBJECT
    Harness h;
    std::map<std::string, std::string> ssh, slurm;
    std::string pwned;

    json cluster(const json &extra) const
    {
        json t = {{"type", "slurm"},
                  {"ssh", {{"host", ssh.at("LBK_TEST_SSH_HOST")}, {"port", std::stoi(ssh.at("LBK_TEST_SSH_PORT"))},
                           {"user", ssh.at("LBK_TEST_SSH_USER")}, {"identity_file", ssh.at("LBK_TEST_SSH_KEY")},
                           {"known_hosts", ssh.at("LBK_TEST_SSH_KNOWN_HOSTS")}}},
                  {"env", {{"SLURM_CONF", slurm.at("SLURM_CONF")}}},
                  {"work_dir", ssh.at("LBK_TEST_SSH_WORKDIR") + "-slurm"},
                  {"lbk", LABBOOK_BIN_DIR "/lbk"},
                  {"partition", "debug"},
                  {"cpus", 1},
                  {"time", "10"},
                  {"setup", {"echo labbook-setup-ran"}},
                  {"sbatch", {"--comment=labbook-test"}}};
        t.merge_patch(extra);
        return t;
    }

    std::string jobState(const std::string &job) const
    {
        QProcess p;
        QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
        e.insert(QStringLiteral("SLURM_CONF"), QString::fromStdString(slurm.at("SLURM_CONF")));
        p.setProcessEnvironment(e);
        p.start(QStringLiteral("scontrol"), {QStringLiteral("show"), QStringLiteral("job"), QStringLiteral("-o"),
                                             QString::fromStdString(job)});
        p.waitForFinished();
        const std::string out = p.readAllStandardOutput().toStdString();
        const auto pos = out.find("JobState=");
        return pos == std::string::npos ? std::string() : out.substr(pos + 9, out.find(' ', pos) - pos - 9);
    }
    // The state a job ends in: COMPLETING is Slurm's passing state while it cleans up after the job's processes
    // have ended, which can outlast the moment the run is recorded as ended.
    QString finalJobState(const std::string &job) const
    {
        std::string state;
        Harness::waitFor([&] { return (state = jobState(job)) != "COMPLETING"; }, 60000);
        return QString::fromStdString(state);
    }

private Q_SLOTS:
    void initTestCase()
    {
        ssh = readEnv(serversDir() / "ssh" / "env");
        slurm = readEnv(serversDir() / "slurm" / "env");
        if (ssh.empty() || slurm.empty())
            QSKIP("no test sshd or Slurm (run through ctest, whose fixtures start tests/servers/*-start.sh)");
        pwned = (fs::path(LABBOOK_TEST_TMP) / ("pwned-slurm-" + std::to_string(::getpid()))).string();
        QVERIFY(h.init({{"targets",
                         {{"cluster", cluster(json::object())},
                          {"later", cluster({{"sbatch", {"--begin=now+3600"}}})},
                          {"short", cluster({{"time", "1"}})},
                          {"nopart", cluster({{"partition", "gpu-does-not-exist"}})},
                          {"toobig", cluster({{"cpus", 64}})}}}}));
    }

    void check()
    {
        auto c = h.lbk({QStringLiteral("targets"), QStringLiteral("check"), QStringLiteral("cluster")});
        QVERIFY2(c.exitCode == 0, qPrintable(c.out + c.err));
        QVERIFY2(c.out.contains(QStringLiteral("slurm        debug* up")), qPrintable(c.out)); // * marks the default
        // A partition the cluster does not have is not "ready" (sbatch would refuse every run).
        auto nopart = h.lbk({QStringLiteral("targets"), QStringLiteral("check"), QStringLiteral("nopart")});
        QVERIFY(nopart.exitCode != 0);
        QVERIFY2(nopart.out.contains(QStringLiteral("the target's partition \"gpu-does-not-exist\" is not among them")),
                 qPrintable(nopart.out + nopart.err));
    }

    void runThroughSbatch()
    {
        QElapsedTimer timer;
        timer.start();
        const std::string name = "$(touch " + pwned + "); '; touch " + pwned + "; '";
        auto p = h.start({QStringLiteral("run"), h.variant(QStringLiteral("slurm-debug"), json::object()),
                          QStringLiteral("--target"), QStringLiteral("cluster"), QStringLiteral("--name"),
                          QString::fromStdString(name)});
        const int64_t id = h.waitForRun(name, true);
        QVERIFY(id > 0);
        qInfo("slurm: %.1f s from submit to the first stored metrics", timer.elapsed() / 1000.0);
        QVERIFY(p->waitForFinished(300000));
        const QString err = QString::fromUtf8(p->readAllStandardError());
        QVERIFY2(p->exitCode() == 0, qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("submitted Slurm job")), qPrintable(err));
        QVERIFY2(err.count(QStringLiteral(": COMPLETED")) <= 1, qPrintable(err)); // the end said once (it was twice)
        QVERIFY(!fs::exists(pwned));
        auto s = h.open();
        const auto run = *s->runById(id);
        QCOMPARE(run.status, lbk::RunStatus::Finished);
        QCOMPARE(run.target, std::string("cluster"));
        QCOMPARE(finalJobState(run.jobId), QStringLiteral("COMPLETED"));
        const QString diff = compareWithRemote(*s, run);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        const std::string out = readFile(remoteRunDir(run) / ("slurm-" + run.jobId + ".out"));
        QVERIFY2(out.find("labbook-setup-ran") != std::string::npos, out.c_str());
        const json info = json::parse(readFile(fs::path(run.runDir) / "remote.json"));
        QCOMPARE(info.value("state", ""), std::string("COMPLETED"));
    }

    // A submission sbatch refuses says sbatch's own reason (it said "sbatch gave no job id (its output: LBK-JOB)").
    void refusedSubmissionSaysWhy()
    {
        auto r = h.lbk({QStringLiteral("run"), h.variant(QStringLiteral("slurm-nopart"), json::object()),
                        QStringLiteral("--target"), QStringLiteral("nopart")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("submitting the job with sbatch failed with exit code")) &&
                     r.err.contains(QStringLiteral("invalid partition specified: gpu-does-not-exist")),
                 qPrintable(r.err));
    }

    // Batch scoring on the cluster as docs/PREDICT.md shows it: examples/slurm/predict.sh submits an array of
    // `lbk predict --shard K/N` tasks and a job that joins their parts; the joined file is byte for byte what one
    // unsharded `lbk predict` writes. Submitted as the test's own user, straight to the test cluster.
    void predictArrayOnTheCluster()
    {
        auto r = h.lbk({QStringLiteral("run"), h.variant(QStringLiteral("predict-model"), json::object()), QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QString model = h.dir.filePath(QStringLiteral("export"));
        r = h.lbk({QStringLiteral("export"), QStringLiteral("predict-model"), QStringLiteral("--format"),
                   QStringLiteral("model"), QStringLiteral("--out"), model});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QString data = h.dir.filePath(QStringLiteral("papers.jsonl"));
        {
            const std::string sample = readFile(LABBOOK_SOURCE_DIR "/../shared/data/arxiv/arxiv-sample-5k.jsonl");
            std::ofstream out(data.toStdString());
            for (int copy = 0; copy < 4; ++copy) // 20,000 lines: three chunks of predict's 8,192
                out << sample;
        }
        const QString whole = h.dir.filePath(QStringLiteral("whole.jsonl")), scores = h.dir.filePath(QStringLiteral("scores.jsonl"));
        r = h.lbk({QStringLiteral("predict"), model, QStringLiteral("--data"), data, QStringLiteral("--out"), whole, QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));

        // The first submission finds a part left by an earlier run of other inputs (it must not be joined) and
        // its task 1 fails once, as on a node that died; the second scores only shard 1 and joins all three.
        const fs::path parts = scores.toStdString() + ".parts";
        fs::create_directories(parts);
        std::ofstream(parts / "inputs") << "an earlier run\n";
        std::ofstream(parts / "part-00000.jsonl") << "{\"stale\": true}\n";
        const QString wrapper = h.dir.filePath(QStringLiteral("lbk-flaky"));
        const std::string calls = h.dir.filePath(QStringLiteral("lbk-calls")).toStdString();
        std::ofstream(wrapper.toStdString())
            << "#!/bin/sh\necho \"$*\" >> " << calls << "\n"
            << "case \"$*\" in *'--shard 1/3'*) [ -e " << calls << ".failed ] || { touch " << calls
            << ".failed; exit 1; } ;; esac\nexec " LABBOOK_BIN_DIR "/lbk \"$@\"\n";
        fs::permissions(wrapper.toStdString(), fs::perms::owner_all);
        const auto submit = [&] {
            QProcess p;
            QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
            e.insert(QStringLiteral("SLURM_CONF"), QString::fromStdString(slurm.at("SLURM_CONF")));
            e.insert(QStringLiteral("LBK"), wrapper);
            p.setProcessEnvironment(e);
            p.start(QStringLiteral(LABBOOK_SOURCE_DIR "/examples/slurm/predict.sh"),
                    {model, data, scores, QStringLiteral("3"), QStringLiteral("--partition=debug"),
                     QStringLiteral("--cpus-per-task=1"), QStringLiteral("--time=10")});
            p.waitForFinished(60000);
            const QString output = QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError());
            return std::make_pair(p.exitCode(), output);
        };
        auto [code, said] = submit();
        QVERIFY2(code == 0 && said.contains(QStringLiteral("scores 3 shards")), qPrintable(said));
        const auto partsThere = [&] {
            return fs::exists(parts / "part-00000.jsonl") && fs::exists(parts / "part-00002.jsonl") &&
                   fs::exists(calls + ".failed") &&
                   readFile(parts / "part-00000.jsonl").find("stale") == std::string::npos;
        };
        QVERIFY2(Harness::waitFor(partsThere, 240000), qPrintable(said));
        QVERIFY(!fs::exists(scores.toStdString())); // task 1 failed: no join
        // Slurm cancels the join whose array failed; until then the script refuses to submit over it.
        std::string array, join;
        std::istringstream(readFile(parts / "jobs")) >> array >> join;
        QVERIFY(Harness::waitFor([&] { return finalJobState(join) == QStringLiteral("CANCELLED"); }, 120000));

        std::tie(code, said) = submit();
        QVERIFY2(code == 0 && said.contains(QStringLiteral("scores 1 of 3 shards (numbered 1; 2 parts kept")),
                 qPrintable(said));
        QVERIFY2(Harness::waitFor([&] { return fs::exists(scores.toStdString()); }, 240000), qPrintable(said));
        QCOMPARE(readFile(scores.toStdString()), readFile(whole.toStdString()));
        std::ifstream log(calls);
        int scored = 0;
        for (std::string line; std::getline(log, line);)
            scored += line.find("--shard") != std::string::npos;
        QCOMPARE(scored, 4); // three shards, then shard 1 again
        QVERIFY(fs::exists(parts / "task-2.log") && fs::exists(parts / "join.log"));
        // Removed once joined (just after the output is renamed into place: waited for, not raced).
        QVERIFY(Harness::waitFor([&] { return !fs::exists(parts / "part-00000.jsonl"); }, 30000));
        // Found by an audit: a task's log held nothing (lbk ran with -q), a first run's warned "--resume: nothing to
        // continue", and a rerun's replaced the failed try's. Each start appends, with lbk's own lines.
        const std::string task1 = readFile(parts / "task-1.log"), task0 = readFile(parts / "task-0.log");
        size_t starts = 0;
        for (size_t at = task1.find("predict.sh: task 1 of 3 on "); at != std::string::npos;
             at = task1.find("predict.sh: task 1 of 3 on ", at + 1))
            ++starts;
        QVERIFY2(starts == 2 && task1.find("rows predicted in") != std::string::npos &&
                     task1.find("shard 1/3: lines") != std::string::npos,
                 task1.c_str());
        QVERIFY2(task0.find("nothing to continue") == std::string::npos, task0.c_str());
        // What it cannot do is refused before anything is submitted: a compressed OUT, a table to shard.
        const auto refused = [&](const QString &in, const QString &out) {
            QProcess p;
            p.start(QStringLiteral(LABBOOK_SOURCE_DIR "/examples/slurm/predict.sh"), {model, in, out, QStringLiteral("2")});
            p.waitForFinished(60000);
            return std::make_pair(p.exitCode(), QString::fromUtf8(p.readAllStandardError()));
        };
        auto [zstCode, zstSaid] = refused(data, h.dir.filePath(QStringLiteral("scores.jsonl.zst")));
        QVERIFY2(zstCode == 2 && zstSaid.contains(QStringLiteral("OUT ends in .jsonl (JSON lines) or .csv")),
                 qPrintable(zstSaid));
        const QString table = h.dir.filePath(QStringLiteral("papers.csv"));
        std::ofstream(table.toStdString()) << "id,title\n1,a paper\n";
        auto [csvCode, csvSaid] = refused(table, h.dir.filePath(QStringLiteral("table-scores.jsonl")));
        QVERIFY2(csvCode == 2 && csvSaid.contains(QStringLiteral("a CSV/TSV table cannot be cut into shards")),
                 qPrintable(csvSaid));
    }

    // A sweep on the cluster: each trial one sbatch job, two at a time, ASHA cancelling the worst with scancel;
    // every trial ends, each with a job of its own.
    void sweepOnTheCluster()
    {
        const QString base = h.variant(QStringLiteral("slurm-sweep-base"), json::object());
        const QString file = h.dir.filePath(QStringLiteral("slurm-sweep.json"));
        const json sweep = {{"name", "slurm-sweep"},
                            {"experiment", base.toStdString()},
                            {"trials", 4},
                            {"parallel", 2},
                            {"target", "cluster"},
                            {"parameters", {{"optimizer.lr", {{"log_uniform", {0.0005, 0.2}}}}}},
                            {"early_stopping", {{"type", "asha"}, {"eta", 2}}}};
        std::ofstream(file.toStdString()) << sweep.dump(2);
        const auto r = h.lbk({QStringLiteral("sweep"), file}, 900000);
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        auto s = h.open();
        const auto sweeps = s->sweeps();
        QCOMPARE(sweeps.size(), size_t(1));
        QCOMPARE(sweeps[0].status, lbk::SweepStatus::Finished);
        std::set<std::string> jobs;
        for (const auto &t : s->trials(sweeps[0].id)) {
            const auto run = *s->runById(t.run);
            QVERIFY2(t.state == lbk::TrialState::Finished || t.state == lbk::TrialState::Pruned,
                     (std::string(lbk::toString(t.state)) + ": " + t.reason + " / run: " + run.error).c_str());
            QCOMPARE(run.target, std::string("cluster"));
            QVERIFY(!run.jobId.empty());
            jobs.insert(run.jobId);
        }
        QCOMPARE(jobs.size(), size_t(4));
    }

    void twoProcessesAsTwoSlurmTasks()
    {
        // training.processes: 2 becomes a job of two tasks started by srun; each worker takes its rank from
        // SLURM_PROCID, and only rank 0's journal reaches the store.
        auto r = h.lbk({QStringLiteral("run"),
                        h.variant(QStringLiteral("slurm-two"), {{"training", {{"processes", 2}, {"epochs", 2}}}}),
                        QStringLiteral("--target"), QStringLiteral("cluster")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        const int64_t id = h.waitForRun("slurm-two", false);
        auto s = h.open();
        const auto run = *s->runById(id);
        QCOMPARE(run.status, lbk::RunStatus::Finished);
        QCOMPARE(finalJobState(run.jobId), QStringLiteral("COMPLETED"));
        QProcess p;
        QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
        e.insert(QStringLiteral("SLURM_CONF"), QString::fromStdString(slurm.at("SLURM_CONF")));
        p.setProcessEnvironment(e);
        p.start(QStringLiteral("scontrol"), {QStringLiteral("show"), QStringLiteral("job"), QStringLiteral("-o"),
                                             QString::fromStdString(run.jobId)});
        p.waitForFinished();
        const QString job = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY2(job.contains(QStringLiteral("NumTasks=2")), qPrintable(job));
        const std::string journal = readFile(remoteRunDir(run) / "journal.jsonl");
        QVERIFY2(journal.find("\"processes\":2") != std::string::npos, journal.substr(0, 2000).c_str());
        QVERIFY2(journal.find("\"backend\":\"gloo\"") != std::string::npos, journal.substr(0, 2000).c_str());
        const QString diff = compareWithRemote(*s, run);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        for (const auto &f : fs::directory_iterator(remoteRunDir(run)))
            QVERIFY2(f.path().filename().string().rfind("rendezvous-", 0) != 0, f.path().c_str());
    }

    void pendingShowsReasonThenCancel()
    {
        auto r = h.lbk({QStringLiteral("run"), h.variant(QStringLiteral("slurm-later"), json::object()),
                        QStringLiteral("--target"), QStringLiteral("later"), QStringLiteral("--detach")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const int64_t id = r.out.trimmed().toLongLong();
        h.lbk({QStringLiteral("runs")});
        auto run = h.run(id);
        QCOMPARE(run.status, lbk::RunStatus::Queued);
        QVERIFY2(run.error.find("PENDING") != std::string::npos && run.error.find("BeginTime") != std::string::npos,
                 run.error.c_str());
        auto c = h.lbk({QStringLiteral("cancel"), QString::number(id)});
        QVERIFY2(c.exitCode == 0, qPrintable(c.err + c.out));
        // Found by an audit: a job that never started "saves a checkpoint", and "continues from the last" one.
        QVERIFY2(c.out.contains(QStringLiteral("nothing to save")), qPrintable(c.out));
        QVERIFY(Harness::waitFor([&] {
            h.lbk({QStringLiteral("runs")});
            return !lbk::isActive(h.run(id).status);
        }, 60000));
        run = h.run(id);
        QCOMPARE(run.status, lbk::RunStatus::Cancelled);
        QVERIFY2(run.error.find("CANCELLED") != std::string::npos, run.error.c_str());
        QCOMPARE(finalJobState(run.jobId), QStringLiteral("CANCELLED"));
        const auto shown = h.lbk({QStringLiteral("show"), QString::number(id)});
        QVERIFY2(shown.out.contains(QStringLiteral("starts it again from step 0")), qPrintable(shown.out));
    }

    // A job that asks for more than the partition gives is held for good (PartitionConfig): the run says so and
    // what to do (it read as queued like any other, forever).
    void aJobThatCannotStartIsSaid()
    {
        auto r = h.lbk({QStringLiteral("run"), h.variant(QStringLiteral("slurm-toobig"), json::object()),
                        QStringLiteral("--target"), QStringLiteral("toobig"), QStringLiteral("--detach")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const int64_t id = r.out.trimmed().toLongLong();
        QVERIFY(Harness::waitFor([&] {
            h.lbk({QStringLiteral("runs")});
            return h.run(id).error.find("PENDING: ") != std::string::npos;
        }, 60000));
        const auto run = h.run(id);
        QCOMPARE(run.status, lbk::RunStatus::Queued);
        if (run.error.find("PartitionConfig") == std::string::npos)
            qWarning("Slurm held the job for another reason: %s", run.error.c_str());
        else
            QVERIFY2(run.error.find("it will not start; `lbk cancel " + std::to_string(id) + "`") != std::string::npos,
                     run.error.c_str());
        QCOMPARE(h.lbk({QStringLiteral("cancel"), QString::number(id)}).exitCode, 0);
    }

    void cancelRunningJob()
    {
        auto r = h.lbk({QStringLiteral("run"), h.variant(QStringLiteral("slurm-cancel"), {{"training", {{"epochs", 60}}}}),
                        QStringLiteral("--target"), QStringLiteral("cluster"), QStringLiteral("--detach")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const int64_t id = r.out.trimmed().toLongLong();
        const QString cancelled = h.cancelOnceTraining(id, 180000);
        QVERIFY2(cancelled.isEmpty(), qPrintable(cancelled));
        auto s = h.open();
        const auto run = *s->runById(id);
        QCOMPARE(run.status, lbk::RunStatus::Cancelled);
        QCOMPARE(finalJobState(run.jobId), QStringLiteral("CANCELLED"));
        const QString diff = compareWithRemote(*s, run);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }

    void timeLimitEndsAsTimeout()
    {
        // --time=1: Slurm stops the job a minute in (its timer runs every 30 s, so up to 90 s), with SIGTERM. The run
        // is far longer than that however fast training gets (400 epochs once finished first on a quiet machine).
        auto p = h.start({QStringLiteral("run"), h.variant(QStringLiteral("slurm-timeout"),
                                                    {{"training", {{"epochs", 10000}}}, {"evaluation", {{"every_steps", 5000}}}}),
                          QStringLiteral("--target"), QStringLiteral("short")});
        QVERIFY(p->waitForFinished(300000));
        const QString err = QString::fromUtf8(p->readAllStandardError());
        QCOMPARE(p->exitCode(), 1);
        const int64_t id = h.waitForRun("slurm-timeout", false);
        const auto run = h.run(id);
        QCOMPARE(run.status, lbk::RunStatus::Failed);
        QVERIFY2(run.error.find("TIMEOUT") != std::string::npos, run.error.c_str());
        QVERIFY2(run.error.find("raise the target's \"time\"") != std::string::npos, run.error.c_str());
        QCOMPARE(finalJobState(run.jobId), QStringLiteral("TIMEOUT"));
        QVERIFY2(err.contains(QStringLiteral("TIMEOUT")), qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestSlurm)
#include "tst_slurm.moc"
