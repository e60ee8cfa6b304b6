// lbk on ssh and command targets against a real sshd on 127.0.0.1 (tests/servers/sshd-start.sh): staging with
// hash skip, live streaming into the store, a dropped connection and a killed lbk resumed without losing or
// doubling an event, cancel on both targets, strict host keys, and names that try to be shell code.
#include "../remotetest.h"
#include "data/dataset.h"

#include <dirent.h>
#include <sys/stat.h>

using namespace remotetest;

namespace {

// The sshd processes serving connections of the test server (the privileged monitor per connection and the
// user's network-facing child under it): killing them drops every open connection, as a network failure would.
std::vector<pid_t> sshdSessions(pid_t listener)
{
    std::map<pid_t, pid_t> parent;
    std::map<pid_t, std::string> comm;
    DIR *d = ::opendir("/proc");
    if (!d)
        return {};
    while (auto *e = ::readdir(d)) {
        const pid_t pid = pid_t(std::atoi(e->d_name));
        if (pid <= 0)
            continue;
        const std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
        const auto open = stat.find('('), close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos)
            continue;
        std::istringstream rest(stat.substr(close + 2));
        std::string state;
        pid_t ppid = 0;
        rest >> state >> ppid;
        parent[pid] = ppid;
        comm[pid] = stat.substr(open + 1, close - open - 1);
    }
    ::closedir(d);
    std::vector<pid_t> out;
    for (const auto &[pid, ppid] : parent) {
        if (comm[pid] != "sshd" || pid == listener)
            continue;
        for (pid_t up = ppid; up > 1; up = parent.count(up) ? parent[up] : 0)
            if (up == listener) {
                out.push_back(pid);
                break;
            }
    }
    return out;
}

} // namespace

class TestSsh : public QObject {
    Q_OBJECT
    Harness h;
    std::map<std::string, std::string> env;
    std::string pwnedPrefix;

    json endpoint(const std::string &knownHosts) const
    {
        return {{"host", env.at("LBK_TEST_SSH_HOST")}, {"port", std::stoi(env.at("LBK_TEST_SSH_PORT"))},
                {"user", env.at("LBK_TEST_SSH_USER")}, {"identity_file", env.at("LBK_TEST_SSH_KEY")},
                {"known_hosts", knownHosts}};
    }

    static std::string slowSetupMark() { return "/tmp/labbook-test-setup-began-" + std::to_string(::getpid()); }

    QString longRun(const QString &name) const
    {
        return h.variant(name, {{"training", {{"epochs", qEnvironmentVariableIntValue("LBK_TEST_LONG_EPOCHS") > 0
                                                              ? qEnvironmentVariableIntValue("LBK_TEST_LONG_EPOCHS")
                                                              : 30},
                                                 {"checkpoint_minutes", 0}}}}); // resumable at every evaluation
    }

    int64_t runId(const LbkResult &r) const { return r.out.trimmed().toLongLong(); }

    bool noPwned() const
    {
        for (const char *tag : {"name", "data", "tag", "cmd", "desc"})
            if (fs::exists(pwnedPrefix + tag))
                return false;
        return true;
    }

private Q_SLOTS:
    void initTestCase()
    {
        env = readEnv(serversDir() / "ssh" / "env");
        if (env.empty())
            QSKIP("no test sshd (run through ctest, whose fixture starts tests/servers/sshd-start.sh)");
        pwnedPrefix = (fs::path(LABBOOK_TEST_TMP) / ("pwned-" + std::to_string(::getpid()) + "-")).string();
        const std::string lbkPath = LABBOOK_BIN_DIR "/lbk";
        json box = endpoint(env.at("LBK_TEST_SSH_KNOWN_HOSTS"));
        box.update({{"type", "ssh"}, {"work_dir", env.at("LBK_TEST_SSH_WORKDIR")}, {"lbk", lbkPath},
                    {"env", {{"CUDA_VISIBLE_DEVICES", ""}, {"LBK_TEST_MARK", "$(touch " + pwnedPrefix + "env)"}}}});
        const std::string emptyKnown = (fs::path(LABBOOK_TEST_TMP) / "empty_known_hosts").string();
        fs::create_directories(LABBOOK_TEST_TMP);
        std::ofstream(emptyKnown).close();
        json stranger = endpoint(emptyKnown);
        stranger.update({{"type", "ssh"}, {"lbk", lbkPath}});
        // A command target shaped like `gcloud compute tpus tpu-vm ssh {name} --zone {zone} --command {cmd}`.
        json tpu = {{"type", "command"},
                    {"command", {"ssh", "-T", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o",
                                 "UserKnownHostsFile={known}", "-i", "{key}", "-p", "{port}", "-l", "{user}", "{name}",
                                 "{cmd}"}},
                    {"vars", {{"known", env.at("LBK_TEST_SSH_KNOWN_HOSTS")}, {"key", env.at("LBK_TEST_SSH_KEY")},
                              {"port", env.at("LBK_TEST_SSH_PORT")}, {"user", env.at("LBK_TEST_SSH_USER")},
                              {"name", env.at("LBK_TEST_SSH_HOST")}}},
                    {"work_dir", env.at("LBK_TEST_SSH_WORKDIR")},
                    {"lbk", lbkPath}};
        // Any trainer that writes the event protocol: the example logger, data named by a remote path.
        json xla = tpu;
        xla["worker"] = {"/usr/bin/python3", LABBOOK_SOURCE_DIR "/examples/xla_logger.py", "--demo", "--journal",
                         "{journal}", "--experiment", "{experiment}"};
        xla["data_root"] = qgetenv("LABBOOK_DATA").toStdString();
        json noData = xla; // a data_root the host does not have
        noData["data_root"] = "/nonexistent/labbook-data";
        json broken = tpu; // a trainer that cannot start (a missing module, a wrong path)
        broken["worker"] = {"/bin/sh", "-c", "echo cannot import the trainer >&2; exit 3"};
        json slow = box; // a setup that takes its time (a module load, a conda activate)
        // (the test user may write /tmp, not the build); it prints after the sleep, when a killed lbk is gone: the
        // lines still run to the end and start the worker (a review feared SIGPIPE there; it came, on a loaded
        // machine: the start script ignores PIPE and HUP)
        slow["setup"] = {"touch " + slowSetupMark(), "sleep 4", "echo environment ready", "echo really"};
        json slower = box; // long enough for a catch-up and a cancel to come while it runs, on a busy machine too
        slower["setup"] = {"touch " + slowSetupMark(), "sleep 15"};
        json badSetup = box; // a module the host does not have
        badSetup["setup"] = {"export LBK_FINE=1", "module load cuda/12.1"};
        json longSetup = box; // a command over several entries: a here-document, a continued line
        longSetup["setup"] = {"cat > /tmp/labbook-test-heredoc <<'END'", "exit 5", "END", "true &&", "true"};
        QVERIFY(h.init({{"targets",
                         {{"box", box}, {"stranger", stranger}, {"tpu", tpu}, {"xla", xla}, {"broken", broken},
                          {"slowbox", slow}, {"badsetup", badSetup}, {"longsetup", longSetup},
                          {"nodata", noData}, {"slowerbox", slower}}}}));
    }

    void listAndCheck()
    {
        auto list = h.lbk({QStringLiteral("targets")});
        QCOMPARE(list.exitCode, 0);
        for (const char *name : {"local", "box", "stranger", "tpu"})
            QVERIFY2(list.out.contains(QString::fromUtf8(name)), qPrintable(list.out));
        auto check = h.lbk({QStringLiteral("targets"), QStringLiteral("check"), QStringLiteral("box")});
        QVERIFY2(check.exitCode == 0, qPrintable(check.out + check.err));
        QVERIFY2(check.out.contains(QStringLiteral("connect      ok")), qPrintable(check.out));
        QVERIFY2(check.out.contains(QStringLiteral("lbk " LABBOOK_VERSION)), qPrintable(check.out));
        QVERIFY2(check.out.contains(QStringLiteral("GiB free")), qPrintable(check.out));
        QVERIFY2(check.out.contains(QStringLiteral("CPU cores")), qPrintable(check.out));
        QVERIFY(!check.out.contains(QString::fromStdString(env.at("LBK_TEST_SSH_KEY"))));
        auto viaCommand = h.lbk({QStringLiteral("targets"), QStringLiteral("check"), QStringLiteral("tpu")});
        QVERIFY2(viaCommand.exitCode == 0, qPrintable(viaCommand.out + viaCommand.err));
        // The data root is looked for (found by an audit: a missing one was found only by a run).
        auto withData = h.lbk({QStringLiteral("targets"), QStringLiteral("check"), QStringLiteral("xla")});
        QVERIFY2(withData.exitCode == 0 && withData.out.contains(QStringLiteral("data root")),
                 qPrintable(withData.out + withData.err));
        auto noData = h.lbk({QStringLiteral("targets"), QStringLiteral("check"), QStringLiteral("nodata")});
        QVERIFY2(noData.exitCode != 0 &&
                     noData.out.contains(QStringLiteral("/nonexistent/labbook-data: no such folder")),
                 qPrintable(noData.out + noData.err));
        QVERIFY(noPwned());
    }

    void unknownHostKeyIsRefused()
    {
        const fs::path known = fs::path(LABBOOK_TEST_TMP) / "empty_known_hosts";
        auto check = h.lbk({QStringLiteral("targets"), QStringLiteral("check"), QStringLiteral("stranger")});
        QCOMPARE(check.exitCode, 1);
        QVERIFY2(check.out.contains(QStringLiteral("FAILED")) && check.out.contains(QStringLiteral("known_hosts")),
                 qPrintable(check.out));
        QCOMPARE(fs::file_size(known), uintmax_t(0)); // nothing was accepted or written
        auto run = h.lbk({QStringLiteral("run"), QStringLiteral(LABBOOK_SOURCE_DIR "/experiments/debug.json"),
                          QStringLiteral("--target"), QStringLiteral("stranger")});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains(QStringLiteral("known_hosts")), qPrintable(run.err));
        QVERIFY(!run.err.contains(QString::fromStdString(env.at("LBK_TEST_SSH_KEY"))));
        QCOMPARE(fs::file_size(known), uintmax_t(0));
        // The attempt is recorded as a failed run that says why.
        const auto failed = h.open()->runs({});
        QVERIFY(!failed.empty());
        QCOMPARE(failed.front().status, lbk::RunStatus::Failed);
        QVERIFY2(failed.front().error.find("known_hosts") != std::string::npos, failed.front().error.c_str());
    }

    void runOverSshWithInjectedNames()
    {
        // The data file sits under folders whose names are shell code; so do the run name, a tag and a description.
        const fs::path root = fs::path(h.dir.path().toStdString()) / "data";
        const fs::path rel = fs::path("inj") / ("$(touch " + pwnedPrefix + "data)") / "x'; touch y; '.jsonl";
        fs::create_directories((root / rel).parent_path());
        fs::copy_file(fs::path(qgetenv("LABBOOK_DATA").toStdString()) / "arxiv/arxiv-sample-5k.jsonl", root / rel);
        const QString file = h.variant(QStringLiteral("inject"),
                                       {{"data", {{"path", rel.string()}}},
                                        {"description", "`touch " + pwnedPrefix + "desc`"}});
        QElapsedTimer timer;
        timer.start();
        auto r = h.lbk({QStringLiteral("--data-root"), QString::fromStdString(root.string()), QStringLiteral("run"), file,
                        QStringLiteral("--target"), QStringLiteral("box"), QStringLiteral("--name"),
                        QString::fromStdString("'; touch " + pwnedPrefix + "name; '"), QStringLiteral("--tag"),
                        QString::fromStdString("$(touch " + pwnedPrefix + "tag)")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        qInfo("ssh run: %.1f s from submit to the end", timer.elapsed() / 1000.0);
        QVERIFY2(r.err.contains(QStringLiteral("copying data")), qPrintable(r.err));
        QVERIFY(noPwned());

        auto s = h.open();
        lbk::RunFilter f;
        f.experiment = "inject";
        const auto runs = s->runs(f);
        QCOMPARE(runs.size(), size_t(1));
        const auto run = runs.front();
        QCOMPARE(run.status, lbk::RunStatus::Finished);
        QCOMPARE(run.target, std::string("box"));
        QCOMPARE(run.name, "'; touch " + pwnedPrefix + "name; '");
        QVERIFY(!run.jobId.empty());
        const QString diff = compareWithRemote(*s, run);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));

        // The run folders are the user's alone, here and there; no key path reaches the store or the logs.
        struct stat st {};
        QCOMPARE(::stat(run.runDir.c_str(), &st), 0);
        QCOMPARE(int(st.st_mode & 0777), 0700);
        QCOMPARE(::stat(remoteRunDir(run).c_str(), &st), 0);
        QCOMPARE(int(st.st_mode & 077), 0);
        const std::string key = env.at("LBK_TEST_SSH_KEY");
        QVERIFY(readFile(h.store.toStdString()).find(key) == std::string::npos);
        QVERIFY(readFile(fs::path(run.runDir) / "remote.json").find(key) == std::string::npos);
        QVERIFY(readFile(remoteRunDir(run) / "worker.log").find(key) == std::string::npos);
        QVERIFY(r.err.indexOf(QString::fromStdString(key)) < 0);

        // Checkpoints and artifacts come back on request, byte for byte.
        auto pulled = h.lbk({QStringLiteral("pull"), QString::number(run.id)});
        QVERIFY2(pulled.exitCode == 0, qPrintable(pulled.err));
        const auto artifacts = s->artifacts(run.id);
        QVERIFY(!artifacts.empty());
        for (const auto &a : artifacts) {
            const fs::path local = fs::path(run.runDir) / a.path;
            QVERIFY2(fs::exists(local), local.c_str());
            QVERIFY(readFile(local) == readFile(remoteRunDir(run) / a.path));
        }
    }

    void commandTargetSkipsDataAlreadyThere()
    {
        const QString file = h.variant(QStringLiteral("via-command"), json::object());
        QElapsedTimer timer;
        timer.start();
        auto r = h.lbk({QStringLiteral("run"), file, QStringLiteral("--target"), QStringLiteral("tpu")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        qInfo("command-target run: %.1f s from submit to the end", timer.elapsed() / 1000.0);
        // Copied once (first run of this data), then found by its hash.
        auto again = h.lbk({QStringLiteral("run"), file, QStringLiteral("--target"), QStringLiteral("box"),
                            QStringLiteral("--detach")});
        QVERIFY2(again.exitCode == 0, qPrintable(again.err));
        QVERIFY2(again.err.contains(QStringLiteral("already on box (same SHA-256)")), qPrintable(again.err));
        const int64_t id = runId(again);
        QVERIFY(Harness::waitFor([&] {
            h.lbk({QStringLiteral("runs")}); // every lbk command catches remote runs up
            return !lbk::isActive(h.run(id).status);
        }, 120000));
        auto s = h.open();
        for (const auto &run : s->runs({})) {
            if (run.name != "via-command")
                continue;
            QCOMPARE(run.status, lbk::RunStatus::Finished);
            const QString diff = compareWithRemote(*s, run);
            QVERIFY2(diff.isEmpty(), qPrintable(diff));
        }
        QVERIFY(noPwned());
    }

    void twoProcessesOnAnSshHost()
    {
        // training.processes: 2 on an ssh target: the remote worker starts its peer there as it does locally, the
        // ranks meet through a file in the remote run folder, and only rank 0's journal comes back.
        auto r = h.lbk({QStringLiteral("run"),
                        h.variant(QStringLiteral("ssh-two"), {{"training", {{"processes", 2}, {"epochs", 2}}}}),
                        QStringLiteral("--target"), QStringLiteral("box")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        auto s = h.open();
        const auto run = *s->run("ssh-two");
        QCOMPARE(run.status, lbk::RunStatus::Finished);
        const std::string journal = readFile(remoteRunDir(run) / "journal.jsonl");
        QVERIFY2(journal.find("\"processes\":2") != std::string::npos, journal.substr(0, 2000).c_str());
        QVERIFY2(journal.find("\"backend\":\"gloo\"") != std::string::npos, journal.substr(0, 2000).c_str());
        const QString diff = compareWithRemote(*s, run);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        QVERIFY(!s->metric(run.id, "train/loss").empty());
        for (const auto &f : fs::directory_iterator(remoteRunDir(run)))
            QVERIFY2(f.path().filename().string().rfind("rendezvous-", 0) != 0, f.path().c_str());
    }

    void externalTrainerReportsThroughCommandTarget()
    {
        auto r = h.lbk({QStringLiteral("run"), h.variant(QStringLiteral("xla-demo"), json::object()),
                        QStringLiteral("--target"), QStringLiteral("xla")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        QVERIFY2(!r.err.contains(QStringLiteral("copying data")), qPrintable(r.err)); // named by a remote path
        auto s = h.open();
        const auto run = *s->run("xla-demo");
        QCOMPARE(run.status, lbk::RunStatus::Finished);
        QCOMPARE(s->metric(run.id, "train/loss").size(), size_t(20));
        const QString diff = compareWithRemote(*s, run);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }

    void droppedConnectionLosesNothing()
    {
        QElapsedTimer timer;
        timer.start();
        auto p = h.start({QStringLiteral("run"), longRun(QStringLiteral("dropped")), QStringLiteral("--target"),
                          QStringLiteral("box")});
        const int64_t id = h.waitForRun("dropped", true, 120000);
        QVERIFY(id > 0);
        const double firstEvent = timer.elapsed() / 1000.0;
        qInfo("ssh: %.1f s from submit to the first stored metrics", firstEvent);
        const pid_t listener = pid_t(std::stol(readFile(env.at("LBK_TEST_SSH_PIDFILE"))));
        const auto sessions = sshdSessions(listener);
        QVERIFY(!sessions.empty());
        for (pid_t pid : sessions)
            ::kill(pid, SIGKILL);
        const int64_t stepAtDrop = h.run(id).lastStep;
        QVERIFY2(p->waitForFinished(300000), "lbk did not finish after the dropped connection");
        const QString err = QString::fromUtf8(p->readAllStandardError());
        QVERIFY2(p->exitCode() == 0, qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("reconnecting")), qPrintable(err));
        auto s = h.open();
        const auto run = *s->runById(id);
        QCOMPARE(run.status, lbk::RunStatus::Finished);
        QVERIFY(run.lastStep > stepAtDrop);
        const QString diff = compareWithRemote(*s, run);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }

    void killedLbkResumes()
    {
        auto p = h.start({QStringLiteral("run"), longRun(QStringLiteral("restarted")), QStringLiteral("--target"),
                          QStringLiteral("tpu")});
        const int64_t id = h.waitForRun("restarted", true, 120000);
        QVERIFY(id > 0);
        ::kill(pid_t(p->processId()), SIGKILL);
        p->waitForFinished();
        // The worker goes on without anyone following it; lbk resume follows it again from the stored offset.
        QVERIFY(lbk::isActive(h.run(id).status));
        // Found by an audit: Ctrl-C in an lbk resume that follows a running run, to stop watching, cancelled it.
        auto watcher = h.start({QStringLiteral("resume"), QString::number(id)});
        QString said;
        QTRY_VERIFY_WITH_TIMEOUT((said += QString::fromUtf8(watcher->readAllStandardError()))
                                     .contains(QStringLiteral("Ctrl-C stops following")), 60000);
        ::kill(pid_t(watcher->processId()), SIGINT);
        QVERIFY(watcher->waitForFinished(60000));
        said += QString::fromUtf8(watcher->readAllStandardError());
        QVERIFY2(watcher->exitCode() == 0 && said.contains(QStringLiteral("stopped following run")), qPrintable(said));
        QVERIFY(lbk::isActive(h.run(id).status));
        auto r = h.lbk({QStringLiteral("resume"), QString::number(id)});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        QVERIFY2(r.err.contains(QStringLiteral("Following run")), qPrintable(r.err));
        auto s = h.open();
        const auto run = *s->runById(id);
        QCOMPARE(run.status, lbk::RunStatus::Finished);
        const QString diff = compareWithRemote(*s, run);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }

    // A second lbk beside the one that follows a run only watches: its first SIGTERM stops it (it waited for a
    // second signal, silently), and the run goes on under the first.
    void aWatchingFollowerStopsAtOnce()
    {
        auto first = h.start({QStringLiteral("run"), longRun(QStringLiteral("watched")), QStringLiteral("--target"),
                              QStringLiteral("box")});
        const int64_t id = h.waitForRun("watched", true, 120000);
        QVERIFY(id > 0);
        auto second = h.start({QStringLiteral("resume"), QString::number(id)});
        QByteArray said;
        QTRY_VERIFY_WITH_TIMEOUT((said += second->readAllStandardError()).contains("another lbk process follows") ||
                                     second->state() != QProcess::Running,
                                 30000);
        QVERIFY2(said.contains("another lbk process follows"), said.constData());
        ::kill(pid_t(second->processId()), SIGTERM);
        QVERIFY(second->waitForFinished(10000));
        QVERIFY(lbk::isActive(h.run(id).status));
        QCOMPARE(h.lbk({QStringLiteral("cancel"), QString::number(id)}).exitCode, 0);
        QVERIFY(first->waitForFinished(120000));
        QCOMPARE(h.run(id).status, lbk::RunStatus::Cancelled);
    }

    void cancelOnSsh()
    {
        auto r = h.lbk({QStringLiteral("run"), longRun(QStringLiteral("cancel-ssh")), QStringLiteral("--target"),
                        QStringLiteral("box"), QStringLiteral("--detach")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const int64_t id = runId(r);
        const QString cancelled = h.cancelOnceTraining(id, 120000);
        QVERIFY2(cancelled.isEmpty(), qPrintable(cancelled));
        auto s = h.open();
        const auto run = *s->runById(id);
        QCOMPARE(run.status, lbk::RunStatus::Cancelled);
        const QString diff = compareWithRemote(*s, run);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));

        // A cancelled run reported no tokenizer (that comes at the end): pull brings the files it is scored from
        // all the same, and lbk predict scores with it (before the pull, it says to pull).
        const QString papers = h.dir.filePath(QStringLiteral("three.jsonl"));
        {
            std::ifstream in(lbk::resolveDataPath("arxiv/arxiv-sample-5k.jsonl"));
            std::ofstream out(papers.toStdString());
            std::string line;
            for (int i = 0; i < 3 && std::getline(in, line); ++i)
                out << line << '\n';
        }
        const QStringList predict = {QStringLiteral("predict"), QString::number(id), QStringLiteral("--data"), papers,
                                     QStringLiteral("--out"), QStringLiteral("-"), QStringLiteral("-q")};
        auto early = h.lbk(predict);
        QVERIFY2(early.exitCode != 0 && early.err.contains(QStringLiteral("pull RUN` copies them here")),
                 qPrintable(early.err));
        auto pulled = h.lbk({QStringLiteral("pull"), QString::number(id)});
        QVERIFY2(pulled.exitCode == 0, qPrintable(pulled.err));
        for (const char *f : {"tokenizer.model", "labels.json", "experiment.json"})
            QVERIFY2(fs::exists(fs::path(run.runDir) / f), f);
        auto scored = h.lbk(predict);
        QVERIFY2(scored.exitCode == 0 && scored.out.count(QLatin1Char('\n')) == 3, qPrintable(scored.err + scored.out));
        // Nothing there to copy (the folder removed on the host): said, and a failure, not "copied 0 files".
        fs::remove_all(remoteRunDir(run));
        auto none = h.lbk({QStringLiteral("pull"), QString::number(id)});
        QVERIFY2(none.exitCode != 0 && none.err.contains(QStringLiteral("nothing copied from box")),
                 qPrintable(none.err));
    }

    // A setup line that fails stops the start and is named (it was ignored: the worker trained without it).
    void aFailingSetupLineIsSaid()
    {
        auto check = h.lbk({QStringLiteral("targets"), QStringLiteral("check"), QStringLiteral("badsetup")});
        QVERIFY2(check.exitCode != 0 && check.out.contains(QStringLiteral("setup line 2 failed with exit code 127: "
                                                                          "module load cuda/12.1")),
                 qPrintable(check.out + check.err));
        auto r = h.lbk({QStringLiteral("run"), h.variant(QStringLiteral("bad-setup"), json::object()),
                        QStringLiteral("--target"), QStringLiteral("badsetup")});
        QVERIFY2(r.exitCode != 0 && r.err.contains(QStringLiteral("setup line 2 failed with exit code 127")),
                 qPrintable(r.err));
        // Entries that make one command together are checked as one, after its last line.
        auto whole = h.lbk({QStringLiteral("targets"), QStringLiteral("check"), QStringLiteral("longsetup")});
        QVERIFY2(whole.exitCode == 0 && whole.out.contains(QStringLiteral("ready")), qPrintable(whole.out + whole.err));
    }

    // lbk stopped while the host runs the target's setup: its ssh is killed, the shell there goes on, and it
    // started the worker after lbk had failed the run (a run training that lbk could neither see nor cancel).
    void aStopDuringSetupStartsNoWorker()
    {
        const fs::path began = slowSetupMark();
        fs::remove(began);
        auto p = h.start({QStringLiteral("run"), longRun(QStringLiteral("stopped-in-setup")),
                          QStringLiteral("--target"), QStringLiteral("slowbox")});
        QTRY_VERIFY_WITH_TIMEOUT(fs::exists(began), 60000);
        ::kill(pid_t(p->processId()), SIGTERM);
        QVERIFY(p->waitForFinished(30000));
        const QString err = QString::fromUtf8(p->readAllStandardError());
        QVERIFY2(p->exitCode() != 0 && err.contains(QStringLiteral("stopped (lbk was asked to stop)")),
                 qPrintable(err));
        auto s = h.open();
        lbk::RunFilter f;
        f.experiment = "stopped-in-setup";
        const auto runs = s->runs(f);
        QCOMPARE(runs.size(), size_t(1));
        QCOMPARE(runs.front().status, lbk::RunStatus::Failed);
        std::this_thread::sleep_for(std::chrono::seconds(6)); // the setup's sleep is over there
        const fs::path there = remoteRunDir(runs.front());
        QVERIFY2(!fs::exists(there / "worker.log") && !fs::exists(there / "worker.pid"), there.c_str());
        QVERIFY2(fs::exists(there / "withdrawn"), there.c_str());
        fs::remove(began);
    }

    // Found by an audit: lbk killed outright (SIGKILL) while the host ran the setup lines left a run without a
    // worker PID, which the next lbk command failed at once ("the worker (pid  on ...) ended before it began")
    // while the setup went on and started a worker nobody followed. Now the start is waited for and its worker
    // adopted; and a start still under way can be cancelled.
    void aKillDuringSetupLeavesTheRunToItsWorker()
    {
        const fs::path began = slowSetupMark();
        for (const bool cancel : {false, true}) {
            fs::remove(began);
            const QString name = cancel ? QStringLiteral("killed-in-setup-cancelled")
                                        : QStringLiteral("killed-in-setup");
            auto p = h.start({QStringLiteral("run"), h.variant(name, {{"training", {{"max_steps", 30}}}}),
                              QStringLiteral("--target"),
                              cancel ? QStringLiteral("slowerbox") : QStringLiteral("slowbox")});
            QTRY_VERIFY_WITH_TIMEOUT(fs::exists(began), 60000);
            ::kill(pid_t(p->processId()), SIGKILL);
            QVERIFY(p->waitForFinished(30000));
            auto listed = h.lbk({QStringLiteral("runs")}); // a catch-up while the setup's sleep goes on there
            QVERIFY2(listed.exitCode == 0, qPrintable(listed.err));
            lbk::RunFilter f;
            f.experiment = name.toStdString();
            auto runs = h.open()->runs(f);
            QCOMPARE(runs.size(), size_t(1));
            QCOMPARE(runs.front().status, lbk::RunStatus::Queued);
            const QString id = QString::number(runs.front().id);
            if (cancel) {
                auto c = h.lbk({QStringLiteral("cancel"), id});
                QVERIFY2(c.exitCode == 0 && c.out.contains(QStringLiteral("withdrawn")), qPrintable(c.out + c.err));
                QCOMPARE(h.open()->runById(runs.front().id)->status, lbk::RunStatus::Cancelled);
                // The cancel stopped the setup there (its 15 s sleep): the start script has ended, no worker began.
                QTRY_VERIFY_WITH_TIMEOUT(!fs::exists(remoteRunDir(runs.front()) / "starter.pid"), 10000);
                QVERIFY(!fs::exists(remoteRunDir(runs.front()) / "worker.log"));
                continue;
            }
            const bool ended = h.waitFor([&] {
                (void)h.lbk({QStringLiteral("runs")});
                return h.open()->runById(runs.front().id)->status == lbk::RunStatus::Finished;
            }, 120000);
            const auto shown = h.lbk({QStringLiteral("show"), id});
            QVERIFY2(ended, qPrintable(shown.out));
        }
        fs::remove(began);
    }

    void cancelOnCommandTargetWithCtrlC()
    {
        auto p = h.start({QStringLiteral("run"), longRun(QStringLiteral("cancel-cmd")), QStringLiteral("--target"),
                          QStringLiteral("tpu")});
        const int64_t id = h.waitForRun("cancel-cmd", true, 120000);
        QVERIFY(id > 0);
        ::kill(pid_t(p->processId()), SIGINT);
        QVERIFY(p->waitForFinished(120000));
        QCOMPARE(p->exitCode(), 3);
        auto s = h.open();
        const auto run = *s->runById(id);
        QCOMPARE(run.status, lbk::RunStatus::Cancelled);
        const QString diff = compareWithRemote(*s, run);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }

    void killedWorkerIsInterrupted()
    {
        auto r = h.lbk({QStringLiteral("run"), longRun(QStringLiteral("killed")), QStringLiteral("--target"),
                        QStringLiteral("box"), QStringLiteral("--detach")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const int64_t id = runId(r);
        QVERIFY(Harness::waitFor([&] { // until a checkpoint was reported
            h.lbk({QStringLiteral("runs")});
            for (const auto &a : h.open()->artifacts(id))
                if (a.path.find("last") != std::string::npos)
                    return true;
            return false;
        }, 120000));
        const auto run = h.run(id);
        ::kill(pid_t(std::stol(run.jobId)), SIGKILL);
        QVERIFY(Harness::waitFor([&] {
            h.lbk({QStringLiteral("runs")});
            return !lbk::isActive(h.run(id).status);
        }, 60000));
        const auto after = h.run(id);
        QCOMPARE(after.status, lbk::RunStatus::Interrupted);
        QVERIFY2(after.error.find("lbk resume") != std::string::npos, after.error.c_str());
        // Resume starts the worker again there, from its last checkpoint, appending to the same journal.
        auto resumed = h.lbk({QStringLiteral("resume"), QString::number(id)});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err + resumed.out));
        auto s = h.open();
        const auto done = *s->runById(id);
        QCOMPARE(done.status, lbk::RunStatus::Finished);
        QVERIFY(done.jobId != after.jobId); // a new worker process
        QVERIFY2(done.summary["run"].value("resumed_from_step", 0) > 0, done.summary.dump().c_str());
        const QString diff = compareWithRemote(*s, done);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }

    // A host that does not answer is asked once a minute, not on every command for every active run on it: the
    // next command says when it was last tried. Once it answers again the run is followed as before.
    void unreachableHostIsAskedOnceAMinute()
    {
        auto r = h.lbk({QStringLiteral("run"), longRun(QStringLiteral("far-away")), QStringLiteral("--target"),
                        QStringLiteral("box"), QStringLiteral("--detach")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const int64_t id = runId(r);
        const std::string saved = readFile(h.targets.toStdString());
        json moved = json::parse(saved);
        moved["targets"]["box"]["port"] = 1; // nothing listens there
        std::ofstream(h.targets.toStdString()) << moved.dump();
        const QString about = QStringLiteral("run %1: ").arg(id);
        auto first = h.lbk({QStringLiteral("runs")});
        QVERIFY2(first.err.contains(about) && first.err.contains(QStringLiteral("Connection refused")), qPrintable(first.err));
        auto second = h.lbk({QStringLiteral("show"), QString::number(id)});
        QVERIFY2(second.err.contains(about + QStringLiteral("not caught up: box did not answer")), qPrintable(second.err));
        std::ofstream(h.targets.toStdString()) << saved;
        fs::remove(h.open()->runsRoot() / ".unreachable-box");
        auto cancel = h.lbk({QStringLiteral("cancel"), QString::number(id)});
        QVERIFY2(cancel.exitCode == 0, qPrintable(cancel.err));
        QVERIFY(Harness::waitFor([&] {
            h.lbk({QStringLiteral("runs")});
            return !lbk::isActive(h.run(id).status);
        }, 60000));
    }

    // A worker that exits before it begins the run has failed, with its log's last lines, and is not offered a
    // resume (it was "interrupted ... lbk resume continues from the last checkpoint").
    void workerThatCannotStartFails()
    {
        auto r = h.lbk({QStringLiteral("run"), h.variant(QStringLiteral("broken-worker"), json::object()),
                        QStringLiteral("--target"), QStringLiteral("broken")});
        QVERIFY(r.exitCode != 0);
        const auto runs = h.open()->runs({});
        const auto it = std::find_if(runs.begin(), runs.end(), [](const auto &x) { return x.name == "broken-worker"; });
        QVERIFY(it != runs.end());
        QCOMPARE(it->status, lbk::RunStatus::Failed);
        QVERIFY2(it->error.find("ended before it began the run") != std::string::npos &&
                     it->error.find("cannot import the trainer") != std::string::npos &&
                     it->error.find("lbk resume") == std::string::npos,
                 it->error.c_str());
    }

    void cleanupTestCase() { QVERIFY(noPwned()); }
};

QTEST_GUILESS_MAIN(TestSsh)
#include "tst_ssh.moc"
