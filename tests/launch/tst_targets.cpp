// Launch targets without servers: shell quoting (through a real /bin/sh), the targets file's validation,
// command templates, Slurm state parsing and mapping, SHA-256, and counting the engines that share the machine.
#include <QtTest>

#include <QProcess>

#include <fstream>

#include "launch/local.h"
#include "launch/process.h"
#include "launch/remote.h"
#include "launch/remoteshell.h"
#include "launch/shellquote.h"
#include "launch/slurm.h"
#include "launch/targets.h"
#include "store/store.h"
#include "util/sha256.h"

using nlohmann::json;
namespace fs = std::filesystem;

class TestTargets : public QObject {
    Q_OBJECT
    bool m_made = QDir().mkpath(QStringLiteral(LABBOOK_TEST_TMP)); // before m_dir, which needs the folder
    QTemporaryDir m_dir{QStringLiteral(LABBOOK_TEST_TMP "/targets-XXXXXX")};

    std::string pwned(const char *tag) const { return m_dir.filePath(QStringLiteral("pwned-")).toStdString() + tag; }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_made && m_dir.isValid()); }

    void quoteRoundTrip_data()
    {
        QTest::addColumn<QString>("word");
        QTest::newRow("plain") << QStringLiteral("debug");
        QTest::newRow("empty") << QString();
        QTest::newRow("spaces") << QStringLiteral("a b  c");
        QTest::newRow("single quote") << QStringLiteral("it's");
        QTest::newRow("injection quote") << QStringLiteral("'; touch PWNED; '");
        QTest::newRow("command substitution") << QStringLiteral("$(touch PWNED)");
        QTest::newRow("backticks") << QStringLiteral("`touch PWNED`");
        QTest::newRow("variables and globs") << QStringLiteral("$HOME * ? [a] ~ ${x:-y} \\ \" ;&|<>");
        QTest::newRow("newline") << QStringLiteral("a\ntouch PWNED\n");
        QTest::newRow("unicode") << QStringLiteral("Läufe – ünïcode ✓");
    }

    void quoteRoundTrip()
    {
        QFETCH(QString, word);
        const std::string marker = pwned("quote");
        std::string w = word.toStdString();
        for (size_t p = w.find("PWNED"); p != std::string::npos; p = w.find("PWNED"))
            w.replace(p, 5, marker);
        // printf through a real sh, the way every remote command is read on the other side.
        auto out = lbk::runProcess({"sh", "-c", "printf '%s' " + lbk::shellQuote(w)});
        QVERIFY(out.ok());
        QCOMPARE(out->exitCode, 0);
        QCOMPARE(out->out, w);
        // And a whole argv, joined, comes back as the same words.
        auto joined = lbk::runProcess({"sh", "-c", "for a in " + lbk::shellJoin({w, "x", w}) + "; do printf '<%s>' \"$a\"; done"});
        QVERIFY(joined.ok());
        QCOMPARE(joined->out, "<" + w + "><x><" + w + ">");
        QVERIFY(!fs::exists(marker));
    }

    void localShellRunsScriptsAsData()
    {
        lbk::Target t;
        t.name = "here";
        t.env["LBK_TEST_VALUE"] = "$(touch " + pwned("env") + ")";
        lbk::RemoteShell sh(t);
        auto out = sh.run("printf '%s' \"$LBK_TEST_VALUE\"");
        QVERIFY(out.ok());
        QCOMPARE(out->out, t.env["LBK_TEST_VALUE"]);
        QVERIFY(!fs::exists(pwned("env")));
    }

    void commandTemplate()
    {
        // (Built as an object: moc reads a quote inside a raw string literal as a character literal.)
        const json tpu = {{"type", "command"}, {"command", {"sh", "-c", "{cmd}", "{name}"}},
                          {"vars", {{"name", "v4-8 \'; touch X"}}}};
        auto file = lbk::targetsFromJson(json{{"targets", {{"tpu", tpu}}}});
        QVERIFY2(file.ok(), file.ok() ? "" : file.message().c_str());
        // Braces around anything but a name are an argument's own ('{"a": 1}'), not a placeholder.
        const json jsonArg = {{"type", "ssh"}, {"host", "h"},
                              {"worker", {"python3", "t.py", "--cfg", "{\"a\": 1}", "{journal}", "--filename={epoch}-best",
                                          "--rank={rank}"}}};
        QVERIFY(lbk::targetsFromJson(json{{"targets", {{"gpu", jsonArg}}}}).ok());
        const lbk::Target *t = file->find("tpu");
        QVERIFY(t);
        lbk::RemoteShell sh(*t);
        const auto argv = sh.argv("echo hi");
        QCOMPARE(argv.size(), size_t(4));
        QCOMPARE(argv[3], std::string("v4-8 \'; touch X")); // a var is one argument, never re-split
        QVERIFY(argv[2].rfind("sh -c ", 0) == 0);
        auto out = sh.run("printf '%s' \"$0\"");
        QVERIFY(out.ok());
        QCOMPARE(out->exitCode, 0);
        QCOMPARE(out->out, std::string("sh"));
        // The check helper names the target and the exit code when a command fails.
        auto bad = sh.check("a failing step", "echo oops >&2; exit 7");
        QVERIFY(!bad.ok());
        QVERIFY2(bad.message().find("exit code 7") != std::string::npos, bad.message().c_str());
        QVERIFY2(bad.message().find("oops") != std::string::npos, bad.message().c_str());
    }

    void sshArgvIsStrictAndHidesTheKey()
    {
        auto file = lbk::targetsFromJson(json::parse(R"({"targets": {"gpu": {"type": "ssh", "host": "gpu.example.org",
            "port": 2200, "user": "ada", "identity_file": "/secret/keys/id_test", "known_hosts": "/k/known"}}})"));
        QVERIFY(file.ok());
        const lbk::Target *t = file->find("gpu");
        lbk::RemoteShell sh(*t);
        const auto argv = sh.argv("true");
        auto has = [&](const std::string &a) { return std::find(argv.begin(), argv.end(), a) != argv.end(); };
        QVERIFY(has("BatchMode=yes"));
        QVERIFY(has("StrictHostKeyChecking=yes"));
        QVERIFY(has("UserKnownHostsFile=/k/known"));
        QCOMPARE(argv[argv.size() - 2], std::string("gpu.example.org"));
        QCOMPARE(argv[argv.size() - 3], std::string("--"));
        QCOMPARE(sh.sanitize("Warning: Identity file /secret/keys/id_test not accessible"),
                 std::string("Warning: Identity file <identity file> not accessible"));
        QVERIFY(t->describe().find("id_test") == std::string::npos);
    }

    void validation_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown key") << R"({"targets": {"a": {"type": "ssh", "host": "h", "prot": 22}}})"
                                     << "targets.a.prot: unknown key (did you mean \"port\"?)";
        QTest::newRow("empty host") << R"({"targets": {"a": {"type": "ssh", "host": ""}}})"
                                    << "targets.a.host: empty; name the machine";
        QTest::newRow("no timeout") << R"({"targets": {"a": {"type": "ssh", "host": "h", "connect_timeout": 0}}})"
                                    << "targets.a.connect_timeout: 0 is out of range";
        QTest::newRow("missing host") << R"({"targets": {"a": {"type": "ssh"}}})" << "targets.a.host: missing";
        QTest::newRow("port range") << R"({"targets": {"a": {"type": "ssh", "host": "h", "port": 70000}}})"
                                    << "targets.a.port: 70000 is out of range";
        QTest::newRow("port type") << R"({"targets": {"a": {"type": "ssh", "host": "h", "port": "22"}}})"
                                   << "targets.a.port: \"22\" is not an integer";
        QTest::newRow("bad type") << R"({"targets": {"a": {"type": "kubernetes"}}})" << "targets.a.type:";
        QTest::newRow("no {cmd}") << R"({"targets": {"t": {"type": "command", "command": ["gcloud", "ssh"]}}})"
                                  << "targets.t.command: the template needs a {cmd}";
        QTest::newRow("env name") << R"({"targets": {"a": {"type": "ssh", "host": "h", "env": {"A;B": "1"}}}})"
                                  << "targets.a.env.A;B: not an environment variable name";
        QTest::newRow("host key") << R"({"targets": {"a": {"type": "ssh", "host": "h",
                                         "ssh_options": ["StrictHostKeyChecking=no"]}}})"
                                  << "targets.a.ssh_options[0]: Labbook always checks host keys";
        QTest::newRow("option host") << R"({"targets": {"a": {"type": "ssh", "host": "-oProxyCommand=x"}}})"
                                     << "targets.a.host:";
        QTest::newRow("slurm ssh") << R"({"targets": {"c": {"type": "slurm", "ssh": {"hots": "x"}}}})"
                                   << "targets.c.ssh.hots: unknown key";
        QTest::newRow("sbatch line") << R"({"targets": {"c": {"type": "slurm", "sbatch": ["--qos=a\nrm -rf x"]}}})"
                                     << "targets.c.sbatch[0]: one sbatch option per entry";
        QTest::newRow("unknown var") << R"({"targets": {"t": {"type": "command", "command": ["gcloud", "--zone={zone}", "{cmd}"]}}})"
                                     << "targets.t.command[1]: {zone} is not a placeholder here; use {cmd} or a name defined in \"vars\"";
        QTest::newRow("worker placeholder") << R"({"targets": {"a": {"type": "ssh", "host": "h",
                                                "worker": ["python3", "train.py", "--out", "{jornal}"]}}})"
                                            << "targets.a.worker[3]: {jornal} is not a placeholder; did you mean {journal}?";
        QTest::newRow("local name") << R"({"targets": {"local": {"type": "ssh", "host": "h"}}})"
                                    << "targets.local: \"local\" cannot name a target";
        QTest::newRow("slurm time") << R"({"targets": {"c": {"type": "slurm", "time": "2h"}}})"
                                    << "targets.c.time: \"2h\" is not a time sbatch takes";
        QTest::newRow("slurm mem") << R"({"targets": {"c": {"type": "slurm", "mem": "16GB"}}})"
                                   << "targets.c.mem: \"16GB\" is not a size sbatch takes";
    }

    void validation()
    {
        QFETCH(QString, text);
        QFETCH(QString, expected);
        auto r = lbk::targetsFromJson(json::parse(text.toStdString()));
        QVERIFY(!r.ok());
        QVERIFY2(r.message().find(expected.toStdString()) != std::string::npos, r.message().c_str());
    }

    void loadsAFileAndDefaults()
    {
        const std::string path = m_dir.filePath(QStringLiteral("targets.json")).toStdString();
        std::ofstream(path) << R"({"targets": {
            "box": {"type": "ssh", "host": "gpu1", "user": "ada", "env": {"CUDA_VISIBLE_DEVICES": "0"},
                    "description": "the lab A100"},
            "cluster": {"type": "slurm", "partition": "gpu", "time": "02:00:00", "cpus": 8, "mem": "16G",
                        "gres": "gpu:1", "sbatch": ["--qos=short"], "setup": ["module load cuda"]},
            "tpu": {"type": "command", "command": ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "{name}",
                    "--zone", "{zone}", "--command", "{cmd}"], "vars": {"name": "v4", "zone": "us-central2-b"},
                    "worker": ["accelerate", "launch", "train.py", "--journal", "{journal}"]}}})";
        auto file = lbk::loadTargets(path);
        QVERIFY2(file.ok(), file.ok() ? "" : file.message().c_str());
        QCOMPARE(file->targets.size(), size_t(4));
        QCOMPARE(file->targets.front().name, std::string("local"));
        const auto *box = file->find("box");
        QVERIFY(box && box->ssh);
        QCOMPARE(box->ssh->port, 22);
        QCOMPARE(box->workDir, std::string("labbook"));
        QCOMPARE(box->listed(), std::string("ssh ada@gpu1:22 \u2014 the lab A100")); // the file's description shown
        QCOMPARE(box->describe(), std::string("ssh ada@gpu1:22"));                   // messages bracket it already
        const auto *cluster = file->find("cluster");
        QVERIFY(cluster && !cluster->ssh);
        QCOMPARE(cluster->cpus, 8);
        QCOMPARE(cluster->setup, std::vector<std::string>{"module load cuda"});
        QVERIFY(file->find("tpu")->describe().find("gcloud") != std::string::npos);
        // A bad file names itself and the path of the problem.
        std::ofstream(path) << R"({"targets": {"box": {"type": "ssh"}}})";
        auto bad = lbk::loadTargets(path);
        QVERIFY(!bad.ok());
        QVERIFY2(bad.message().find(path + ": targets.box.host") != std::string::npos, bad.message().c_str());
        // A missing file given explicitly is an error; the default one missing means only `local`.
        QVERIFY(!lbk::loadTargets(path + ".missing").ok());
    }

    void slurmStates()
    {
        const std::string pending =
            "JobId=7 JobName=x UserId=a(1) JobState=PENDING Reason=BeginTime Dependency=(null) Requeue=1 "
            "ExitCode=0:0 RunTime=00:00:00 TimeLimit=00:05:00";
        auto p = lbk::parseScontrolJob(pending);
        QVERIFY(p);
        QCOMPARE(p->state, std::string("PENDING"));
        QCOMPARE(p->reason, std::string("BeginTime"));
        QCOMPARE(p->timeLimit, std::string("00:05:00"));
        auto t = lbk::parseScontrolJob("JobId=8 JobState=TIMEOUT Reason=TimeLimit Dependency=(null) ExitCode=0:15");
        QVERIFY(t);
        QCOMPARE(t->state, std::string("TIMEOUT"));
        QCOMPARE(t->reason, std::string("TimeLimit"));
        QCOMPARE(t->exitCode, std::string("0:15"));
        auto spaces = lbk::parseScontrolJob("JobState=PENDING Reason=ReqNodeNotAvail, UnavailableNodes:n1 Dependency=(null)");
        QVERIFY(spaces);
        QCOMPARE(spaces->reason, std::string("ReqNodeNotAvail, UnavailableNodes:n1"));
        QVERIFY(!lbk::parseScontrolJob("slurm_load_jobs error: Invalid job id specified"));

        using S = lbk::RunStatus;
        QCOMPARE(lbk::runStatusForSlurmState("COMPLETED"), std::optional<S>(S::Finished));
        QCOMPARE(lbk::runStatusForSlurmState("FAILED"), std::optional<S>(S::Failed));
        QCOMPARE(lbk::runStatusForSlurmState("CANCELLED"), std::optional<S>(S::Cancelled));
        QCOMPARE(lbk::runStatusForSlurmState("TIMEOUT"), std::optional<S>(S::Failed));
        QVERIFY(!lbk::runStatusForSlurmState("PENDING"));
        QVERIFY(!lbk::runStatusForSlurmState("RUNNING"));
    }

    // A run whose target name is empty is this machine's, as everywhere else: one no worker runs is marked
    // cancelled (it used to be refused as running on another host).
    void cancelRunWithEmptyTarget()
    {
        auto store = lbk::Store::open(m_dir.filePath(QStringLiteral("cancel.db")).toStdString());
        QVERIFY2(store, store ? "" : store.message().c_str());
        lbk::NewRun nr;
        nr.name = "queued";
        auto run = (*store)->createRun(nr);
        QVERIFY(run);
        QVERIFY((*store)->setJob(run->id, "", ""));
        auto reread = (*store)->runById(run->id);
        QVERIFY(reread);
        QCOMPARE(reread->target, std::string());
        auto done = lbk::cancelRun(**store, lbk::localTarget(), *reread);
        QVERIFY2(done, done ? "" : done.message().c_str());
        QCOMPARE((*store)->runById(run->id)->status, lbk::RunStatus::Cancelled);
    }

    // Processes counted by name (a copy of sleep under a name of its own, so that engines other tests start do not
    // count) and by first argument; this one and finished ones are not.
    void countsOtherProcessesByName()
    {
        const QString fake = m_dir.filePath(QStringLiteral("lbktst-engine"));
        QVERIFY(QFile::copy(QStringLiteral("/bin/sleep"), fake));
        QCOMPARE(lbk::otherProcessesNamed("lbktst-engine"), 0);
        QProcess engine;
        engine.start(fake, {QStringLiteral("30")});
        QVERIFY(engine.waitForStarted());
        QTRY_COMPARE(lbk::otherProcessesNamed("lbktst-engine"), 1);
        QCOMPARE(lbk::otherProcessesNamed("lbktst-engine", "30"), 1);
        QCOMPARE(lbk::otherProcessesNamed("lbktst-engine", "worker"), 0);
        engine.kill();
        QVERIFY(engine.waitForFinished());
        QCOMPARE(lbk::otherProcessesNamed("lbktst-engine"), 0);
    }

    void localTarget()
    {
        QCOMPARE(lbk::localTarget().name, std::string(lbk::kLocalTarget));
        QVERIFY(!lbk::localTarget().remote());
    }

    void sha256()
    {
        const std::string path = m_dir.filePath(QStringLiteral("abc")).toStdString();
        std::ofstream(path) << "abc";
        QCOMPARE(lbk::sha256File(path), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        std::ofstream(path, std::ios::trunc).close();
        QCOMPARE(lbk::sha256File(path), std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        std::string big(1000000, 'a');
        std::ofstream(path, std::ios::trunc) << big;
        QCOMPARE(lbk::sha256File(path), std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    }

    // ssh's complaints become what to check, naming the targets file's keys, never the key file's path (found by an
    // audit: a missing key said only ssh's "Identity file <identity file> not accessible").
    void sshAdviceNamesWhatToCheck()
    {
        lbk::Target t;
        t.name = "box";
        t.type = lbk::TargetType::Ssh;
        t.ssh = lbk::SshEndpoint{};
        t.ssh->host = "gpu1.lab";
        t.ssh->port = 2222;
        t.ssh->identityFile = "/home/me/.ssh/secret_key";
        t.ssh->knownHosts = "/home/me/lab_known_hosts";
        const std::string refused = lbk::sshAdvice(t, "ssh: connect to host gpu1.lab port 2222: Connection refused");
        QVERIFY2(refused.find("nothing answers at gpu1.lab port 2222") != std::string::npos &&
                     refused.find("targets file's box") != std::string::npos, refused.c_str());
        const std::string key = lbk::sshAdvice(t, "Warning: Identity file /home/me/.ssh/secret_key not accessible: No "
                                                  "such file or directory.\nlbktest@gpu1.lab: Permission denied");
        QVERIFY2(key.find("identity_file") != std::string::npos && key.find("secret_key") == std::string::npos,
                 key.c_str());
        const std::string hostKey = lbk::sshAdvice(t, "Host key verification failed.");
        QVERIFY2(hostKey.find("/home/me/lab_known_hosts") != std::string::npos &&
                     hostKey.find("ssh-keyscan -p 2222 gpu1.lab") != std::string::npos, hostKey.c_str());
        QCOMPARE(lbk::sshAdvice(t, "sbatch: error: invalid partition"), std::string()); // not ssh's
        t.type = lbk::TargetType::Slurm;
        QVERIFY(lbk::sshAdvice(t, "Permission denied (publickey).").find("box.ssh") != std::string::npos);
    }

    // Found by an audit: a piped `lbk run` printed every evaluation but one, which `lbk runs` (another process) had
    // stored in between; a follower shows what came after what it has seen, whoever stored it.
    void aFollowerSeesWhatAnotherProcessStored()
    {
        auto store = lbk::Store::open(m_dir.filePath(QStringLiteral("follow.db")).toStdString());
        QVERIFY(store.ok());
        lbk::NewRun nr;
        nr.name = "followed";
        nr.experiment = "exp";
        nr.runDir = m_dir.filePath(QStringLiteral("followed")).toStdString();
        fs::create_directories(nr.runDir);
        auto run = (*store)->createRun(nr);
        QVERIFY(run.ok());
        const fs::path journal = fs::path(nr.runDir) / "journal.jsonl";
        auto write = [&](int64_t seq) {
            std::ofstream(journal, std::ios::app) << json{{"seq", seq}, {"t", 1763941000.0 + double(seq)},
                                                          {"type", "metrics"}, {"step", seq},
                                                          {"values", {{"val/accuracy", 0.1 * double(seq)}}}}.dump()
                                                  << '\n';
        };
        std::vector<int64_t> seen;
        auto onEvent = [&](const json &e) { seen.push_back(e.value("step", int64_t(0))); };
        int64_t shown = -1;
        write(1);
        QVERIFY(lbk::syncRun(**store, *run, onEvent, &shown).ok());
        write(2);
        QVERIFY(lbk::syncRun(**store, *run).ok()); // `lbk runs` catching up, in another process
        write(3);
        QVERIFY(lbk::syncRun(**store, *run, onEvent, &shown).ok());
        QCOMPARE(seen, (std::vector<int64_t>{1, 2, 3}));
        QVERIFY(lbk::syncRun(**store, *run, onEvent, &shown).ok()); // nothing new: nothing shown twice
        QCOMPARE(seen.size(), size_t(3));
    }
};

QTEST_GUILESS_MAIN(TestTargets)
#include "tst_targets.moc"
