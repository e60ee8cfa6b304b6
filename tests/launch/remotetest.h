#pragma once
// Shared by the ssh and slurm suites: the servers' facts (written by tests/servers/*-start.sh), running lbk as
// a user does, and checking the local store against the remote journal event by event.
#include <QtTest>

#include <csignal>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "lbkprocess.h"
#include "store/store.h"

namespace remotetest {

namespace fs = std::filesystem;
using nlohmann::json;

inline fs::path serversDir()
{
    const QByteArray env = qgetenv("LABBOOK_TEST_SERVERS");
    return env.isEmpty() ? fs::path(LABBOOK_BIN_DIR) / ".." / "test-servers" : fs::path(env.toStdString());
}

inline std::map<std::string, std::string> readEnv(const fs::path &file)
{
    std::map<std::string, std::string> m;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);)
        if (auto eq = line.find('='); eq != std::string::npos)
            m[line.substr(0, eq)] = line.substr(eq + 1);
    return m;
}

inline std::string readFile(const fs::path &p)
{
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

using LbkResult = lbktest::ProcessResult;

// A store and a targets file in a scratch folder, and lbk run against them.
class Harness {
public:
    bool made = QDir().mkpath(QStringLiteral(LABBOOK_TEST_TMP)); // before dir, which needs the folder
    QTemporaryDir dir{QStringLiteral(LABBOOK_TEST_TMP "/remote-XXXXXX")};
    QString store, targets;

    bool init(const json &targetsJson)
    {
        if (!dir.isValid())
            return false;
        store = dir.filePath(QStringLiteral("store/labbook.db"));
        targets = dir.filePath(QStringLiteral("targets.json"));
        std::ofstream(targets.toStdString()) << targetsJson.dump(2);
        return true;
    }

    QStringList common() const { return {QStringLiteral("--store"), store, QStringLiteral("--targets"), targets}; }

    LbkResult lbk(const QStringList &args, int timeoutMs = 300000) const
    {
        return lbktest::runProcess(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), common() + args, timeoutMs);
    }

    std::unique_ptr<QProcess> start(const QStringList &args) const
    {
        auto p = std::make_unique<QProcess>();
        p->start(QStringLiteral(LABBOOK_BIN_DIR "/lbk"), common() + args);
        p->waitForStarted();
        return p;
    }

    std::unique_ptr<lbk::Store> open() const
    {
        auto s = lbk::Store::open(store.toStdString());
        if (!s)
            qFatal("%s", s.message().c_str());
        return std::move(*s);
    }

    // A copy of experiments/debug.json with changes, in the scratch folder.
    QString variant(const QString &name, const json &changes) const
    {
        return lbktest::debugVariant(dir.path(), name, changes);
    }

    // Waits until pred() holds, checking every 200 ms.
    template <typename Pred>
    static bool waitFor(Pred pred, int timeoutMs)
    {
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < timeoutMs) {
            if (pred())
                return true;
            QCoreApplication::processEvents();
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        return pred();
    }

    // The id of the run named `name` once it exists (withSteps: once it has recorded a training step), 0 when
    // that does not happen within timeoutMs.
    int64_t waitForRun(const std::string &name, bool withSteps = true, int timeoutMs = 180000) const
    {
        int64_t id = 0;
        waitFor([&] {
            for (const auto &r : open()->runs({}))
                if (r.name == name && (!withSteps || r.lastStep > 0)) {
                    id = r.id;
                    return true;
                }
            return false;
        }, timeoutMs);
        return id;
    }

    lbk::RunDetail run(int64_t id) const
    {
        auto r = open()->runById(id);
        if (!r)
            qFatal("%s", r.message().c_str());
        return *r;
    }

    // Waits until run `id` has recorded a training step, cancels it with `lbk cancel` and waits until it has
    // ended (each catch-up through `lbk runs`). Empty when it did, else what went wrong.
    QString cancelOnceTraining(int64_t id, int startTimeoutMs) const
    {
        if (!waitFor([&] { lbk({QStringLiteral("runs")}); return run(id).lastStep > 0; }, startTimeoutMs))
            return QStringLiteral("run %1 recorded no step").arg(id);
        const auto c = lbk({QStringLiteral("cancel"), QString::number(id)});
        if (c.exitCode != 0)
            return QStringLiteral("lbk cancel failed: ") + c.err + c.out;
        if (!waitFor([&] { lbk({QStringLiteral("runs")}); return !lbk::isActive(run(id).status); }, 120000))
            return QStringLiteral("run %1 did not end after lbk cancel").arg(id);
        return {};
    }
};

// The remote run folder from the run's remote.json.
inline fs::path remoteRunDir(const lbk::RunSummary &run)
{
    std::ifstream in(fs::path(run.runDir) / "remote.json");
    return json::parse(in).value("run_dir", std::string());
}

// Every event of the remote journal is in the store once: the mirror is byte-identical, the cursor is at the
// journal's last seq, seqs run 1..N without gaps, and every metrics value is stored at its step.
inline QString compareWithRemote(lbk::Store &store, const lbk::RunSummary &run)
{
    const fs::path remote = remoteRunDir(run) / "journal.jsonl";
    const std::string bytes = readFile(remote);
    if (bytes.empty())
        return QStringLiteral("remote journal empty: ") + QString::fromStdString(remote.string());
    const std::string mirror = readFile(fs::path(run.runDir) / "journal.jsonl");
    if (mirror != bytes)
        return QStringLiteral("mirror differs from the remote journal (%1 vs %2 bytes)").arg(mirror.size()).arg(bytes.size());
    const auto cursor = store.cursor(run.id);
    if (cursor.offset != int64_t(bytes.size()))
        return QStringLiteral("cursor offset %1, journal %2 bytes").arg(cursor.offset).arg(bytes.size());
    std::istringstream in(bytes);
    int64_t expect = 1, metricsChecked = 0;
    // A resumed run logs the steps after its checkpoint again: the store keeps the last value of a step.
    std::map<std::pair<std::string, int64_t>, json> lastValue;
    for (std::string line; std::getline(in, line); ++expect) {
        const json e = json::parse(line);
        if (e["seq"].get<int64_t>() != expect)
            return QStringLiteral("seq %1 where %2 was expected").arg(e["seq"].get<int64_t>()).arg(expect);
        if (e["type"] == "metrics")
            for (const auto &[k, v] : e["values"].items())
                lastValue[{k, e["step"].get<int64_t>()}] = v;
    }
    std::map<std::string, std::vector<lbk::MetricPoint>> series;
    for (const auto &[key, v] : lastValue) {
        const auto &[k, step] = key;
        if (!series.count(k))
            series[k] = store.metric(run.id, k);
        const auto &pts = series[k];
        auto it = std::find_if(pts.begin(), pts.end(), [&](const lbk::MetricPoint &p) { return p.step == step; });
        if (it == pts.end())
            return QStringLiteral("metric %1 at step %2 missing").arg(QString::fromStdString(k)).arg(step);
        if (v.is_number() && std::abs(it->value - v.get<double>()) > 1e-9 * std::max(1.0, std::abs(it->value)))
            return QStringLiteral("metric %1 at step %2 differs").arg(QString::fromStdString(k)).arg(step);
        ++metricsChecked;
    }
    for (const auto &[k, pts] : series) // and nothing more than the journal holds
        if (std::count_if(lastValue.begin(), lastValue.end(), [&](const auto &kv) { return kv.first.first == k; }) !=
            std::ptrdiff_t(pts.size()))
            return QStringLiteral("metric %1: %2 points stored, a different number in the journal")
                .arg(QString::fromStdString(k)).arg(pts.size());
    if (cursor.seq != expect - 1)
        return QStringLiteral("cursor seq %1, journal has %2 events").arg(cursor.seq).arg(expect - 1);
    if (metricsChecked == 0)
        return QStringLiteral("no metrics in the journal");
    return {};
}

} // namespace remotetest
