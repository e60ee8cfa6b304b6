// The run store and its journal ingester: schema and migrations, run lookup and lists, every event kind of
// docs/PROTOCOL.md read back, idempotent re-ingest, partial and malformed lines, a reader next to a writer.
#include <QtTest>

#include <atomic>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <sqlite3.h>
#include <sys/stat.h>

#include "store/runfiles.h"
#include "store/store.h"
#include "util/confighash.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace lbk;

namespace {

std::string line(int64_t seq, const std::string &type, json fields = json::object())
{
    fields["seq"] = seq;
    fields["t"] = 1763941000.0 + double(seq);
    fields["type"] = type;
    return fields.dump() + "\n";
}

void append(const fs::path &file, const std::string &text)
{
    std::ofstream out(file, std::ios::binary | std::ios::app);
    out << text;
}

// Every line of the journal handed to the ingester again, as a reconnect that replays from the start would.
Result<IngestStats> replayWholeJournal(Store &store, int64_t run, const fs::path &journal)
{
    std::ifstream in(journal);
    std::vector<std::string> text;
    for (std::string l; std::getline(in, l);)
        text.push_back(l);
    std::vector<std::string_view> views(text.begin(), text.end());
    return store.ingestLines(run, views, int64_t(fs::file_size(journal)));
}

int64_t count(const Store &store, const std::string &sql)
{
    sqlite3_stmt *s = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(store.handle(), sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

// Top-k as the protocol writes it: [[label, p], ...] (a braced list of pairs would become a JSON object).
json topk(std::initializer_list<std::pair<std::string, double>> pairs)
{
    json a = json::array();
    for (const auto &[label, p] : pairs)
        a.push_back(json::array({label, p}));
    return a;
}

bool contains(const std::string &haystack, const std::string &needle)
{
    return haystack.find(needle) != std::string::npos;
}

// The journal that exercises every event kind once or more.
std::string fullJournal(const std::string &uid)
{
    std::string j;
    j += line(1, "run_started",
              {{"run", uid}, {"config", {{"name", "exp"}, {"model", {{"type", "bag"}}}}}, {"host", "gpu-7"},
               {"pid", 4242}, {"pid_start", 777}, {"device", "cpu"}, {"threads", 4}, {"version", "0.1.0"}, {"kind", "train"},
               {"data", {{"rows", 1000}, {"classes", 3}}}});
    j += line(2, "metrics", {{"step", 10}, {"values", {{"train/loss", 1.5}, {"lr", 0.01}, {"train/examples_per_s", 900}}}});
    j += line(3, "metrics", {{"step", 20}, {"values", {{"train/loss", nullptr}, {"lr", 0.02}}}});
    j += line(4, "evaluation",
              {{"step", 20}, {"split", "val"},
               {"summary",
                {{"loss", 0.9}, {"accuracy", 0.70}, {"macro_f1", 0.6}, {"examples", 3},
                 {"labels", {"cs.AI", "cs.CL", "cs.CV"}}, {"confusion", {{1, 0, 0}, {0, 1, 0}, {1, 0, 0}}}}}});
    j += line(5, "histogram",
              {{"step", 20}, {"split", "val"}, {"name", "confidence"}, {"lo", 0.0}, {"hi", 1.0},
               {"counts", {0, 1, 5, 2}}});
    j += line(6, "predictions",
              {{"step", 20}, {"split", "val"}, {"labels", {"cs.AI", "cs.CL", "cs.CV"}},
               {"rows",
                {{{"id", "p1"}, {"title", "Deep Learning for Vision"}, {"truth", {"cs.CV"}},
                  {"top", topk({{"cs.AI", 0.9}, {"cs.CV", 0.05}})}, {"correct", false}, {"p_true", 0.05}},
                 {{"id", "p2"}, {"title", "Parsing with Transformers"}, {"truth", {"cs.CL"}},
                  {"top", topk({{"cs.CL", 0.6}, {"cs.AI", 0.3}})}, {"correct", true}, {"p_true", 0.6}},
                 {{"id", "p3"}, {"title", "Planning Agents"}, {"truth", {"cs.AI"}},
                  {"top", topk({{"cs.AI", 0.4}, {"cs.CL", 0.35}})}, {"correct", true}, {"p_true", 0.4}}}}});
    j += line(7, "evaluation",
              {{"step", 40}, {"split", "val"}, {"summary", {{"loss", 1.1}, {"accuracy", 0.80}, {"macro_f1", 0.5}}}});
    j += line(8, "predictions",
              {{"step", 40}, {"split", "val"},
               {"rows",
                {{{"id", "p1"}, {"title", "Deep Learning for Vision"}, {"truth", {"cs.CV"}},
                  {"top", topk({{"cs.CV", 0.7}, {"cs.AI", 0.2}})}, {"correct", true}, {"p_true", 0.7}}}}});
    j += line(9, "lr_point", {{"index", 0}, {"lr", 1e-7}, {"loss", 2.3}, {"smoothed", 2.3}});
    j += line(10, "lr_point", {{"index", 1}, {"lr", 1e-6}, {"loss", nullptr}, {"smoothed", 2.2}});
    j += line(11, "lr_suggestion", {{"lr", 3e-4}, {"index", 1}, {"method", "steepest"}});
    j += line(12, "checkpoint", {{"step", 20}, {"kind", "best"}, {"path", "checkpoints/best.pt"}, {"metric", 0.7}});
    j += line(13, "checkpoint", {{"step", 20}, {"kind", "last"}, {"path", "checkpoints/last.pt"}});
    j += line(14, "checkpoint", {{"step", 40}, {"kind", "last"}, {"path", "checkpoints/last.pt"}});
    j += line(15, "artifact", {{"kind", "tokenizer"}, {"path", "tokenizer.model"}, {"sha256", "abc123"}});
    j += line(16, "log", {{"level", "warning"}, {"message", "3 lines of the data could not be read"}});
    j += line(17, "gpu_temperature", {{"celsius", 71}});
    j += line(18, "finished", {{"step", 40}, {"summary", {{"final", {{"test/accuracy", 0.77}}}, {"epochs", 2}, {"best/val/f1", 0.66},
                                                          {"stopped_early", true}, {"best", "epoch 2"},
                                                          {"lr_suggestion", "none"}}}});
    return j;
}

} // namespace

class TestStore : public QObject
{
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_tmp;
    int m_counter = 0;

    fs::path scratch()
    {
        return fs::path(m_tmp->path().toStdString()) / ("case" + std::to_string(++m_counter));
    }

    std::unique_ptr<Store> openStore(const fs::path &path)
    {
        auto s = Store::open(path);
        if (!s)
            qWarning("%s", s.message().c_str());
        return s ? std::move(s.value()) : nullptr;
    }

    int64_t newRun(Store &store, const std::string &name = "run", const std::string &uid = {})
    {
        NewRun nr;
        nr.name = name;
        nr.experiment = "exp";
        nr.uid = uid;
        auto r = store.createRun(nr);
        if (!r)
            qWarning("%s", r.message().c_str());
        return r ? r->id : 0;
    }

private Q_SLOTS:
    void initTestCase()
    {
        fs::create_directories(LABBOOK_TEST_TMP);
        m_tmp = std::make_unique<QTemporaryDir>(QStringLiteral(LABBOOK_TEST_TMP "/tst_store-XXXXXX"));
        QVERIFY(m_tmp->isValid());
    }

    // A run folder's kept checkpoints are named and read back by one rule; a file that only looks like one is none.
    void keptCheckpointNames()
    {
        namespace rf = lbk::runfiles;
        QCOMPARE(rf::checkpoint("/r", rf::keptName(120)).string(), std::string("/r/checkpoints/step-120.pt"));
        QCOMPARE(rf::keptStep(rf::checkpoint("/r", rf::keptName(120))), std::optional<int64_t>(120));
        for (const char *other : {"best.pt", "step-.pt", "step-x.pt", "step-12a.pt", "step-12.pt.tmp", "step-3.bin"})
            QVERIFY2(!rf::keptStep(fs::path("/r/checkpoints") / other), other);
    }

    // A sweep and its trials: written at once, found by id, uid or name; a trial is claimed once; only one live
    // scheduler holds a sweep; deleting a trial's run leaves the trial without it.
    void sweepsAndTheirTrials()
    {
        auto store = openStore(scratch() / "sweeps.db");
        QVERIFY(store);
        const std::vector<json> params = {{{"optimizer.lr", 0.01}}, {{"optimizer.lr", 0.1}}};
        auto sweep = store->createSweep("lr-sweep", {{"trials", 2}}, params);
        QVERIFY2(sweep, sweep ? "" : sweep.message().c_str());
        QCOMPARE(sweep->status, SweepStatus::Running);
        QCOMPARE(store->sweep(sweep->uid)->id, sweep->id);
        QCOMPARE(store->sweep("lr-sweep")->id, sweep->id);
        QCOMPARE(store->sweep(std::to_string(sweep->id))->name, std::string("lr-sweep"));
        QVERIFY(!store->sweep("nope"));
        auto trials = store->trials(sweep->id);
        QCOMPARE(trials.size(), size_t(2));
        QCOMPARE(trials[1].params["optimizer.lr"].get<double>(), 0.1);
        QCOMPARE(trials[0].state, TrialState::Pending);

        QVERIFY(*store->claimTrial(sweep->id, 1, sweep->uid + "-t1"));
        QVERIFY(!*store->claimTrial(sweep->id, 1, sweep->uid + "-t1")); // claimed already: never launched twice
        const int64_t run = newRun(*store, "lr-sweep-1", sweep->uid + "-t1");
        auto t = store->trials(sweep->id)[0];
        QCOMPARE(t.state, TrialState::Launching);
        t.run = run;
        t.state = TrialState::Pruned;
        t.reason = "asha: rung 1";
        t.value = 0.5;
        QVERIFY(store->updateTrial(t));
        QCOMPARE(store->trialOfRun(run)->trial, 1);
        QCOMPARE(store->trialOfRun(run)->value.value_or(0), 0.5);

        const auto alive = [](int64_t pid, int64_t) { return pid == 111; };
        QVERIFY(*store->claimSweep(sweep->id, "h", 111, 5, alive));
        QVERIFY(!*store->claimSweep(sweep->id, "h", 222, 6, alive)); // 111 still follows it
        QVERIFY(*store->claimSweep(sweep->id, "h", 111, 5, alive)); // the holder again
        QVERIFY(*store->claimSweep(sweep->id, "", 0, 0, alive));    // released
        QVERIFY(*store->claimSweep(sweep->id, "h", 222, 6, alive));
        QVERIFY(store->setSweepStatus(sweep->id, SweepStatus::Finished));
        QVERIFY(store->sweeps()[0].endedAt > 0);

        QVERIFY(store->deleteRun(run));
        QCOMPARE(store->trials(sweep->id)[0].run, int64_t(0));
        QCOMPARE(store->trials(sweep->id)[0].state, TrialState::Pruned);
    }

    // Runs that predict different labels: another task, or the same task with another labels section, said in
    // words (the section's JSON, unwrapped in Compare's header, widened the window past the screen); runs of one
    // labelling read as one.
    void labelingDifferenceSaysWhatDiffers()
    {
        const auto run = [](const std::string &task, const json &labels) {
            RunDetail r;
            r.task = task;
            r.config = {{"labels", labels}, {"optimizer", {{"lr", 0.01}}}};
            return r;
        };
        const json top5 = {{"kind", "multiclass"}, {"top_n", 5}, {"others", "drop"}};
        json top20 = top5;
        top20["top_n"] = 20;
        const json binary = {{"kind", "binary"}, {"positive", {"cs.CV"}}, {"match", "any"}};
        json binary2 = binary;
        binary2["positive"] = {"cs.CV", "cs.LG"};
        const json ml50 = {{"kind", "multilabel"}, {"match", "any"}, {"min_count", 50}, {"prefix", "cs."}};
        json ml100 = ml50;
        ml100["min_count"] = 100;
        QCOMPARE(labelingDifference({run("multiclass", top5), run("multiclass", top5)}), std::string());
        QCOMPARE(labelingDifference({run("multiclass", top5), run("binary", binary)}),
                 std::string("multiclass, binary"));
        QCOMPARE(labelingDifference({run("multiclass", top5), run("multiclass", top20)}),
                 std::string("labels.top_n 5 vs 20"));
        QCOMPARE(labelingDifference({run("multilabel", ml50), run("multilabel", ml100), run("multilabel", ml50)}),
                 std::string("labels.min_count 50 vs 100"));
        QCOMPARE(labelingDifference({run("binary", binary), run("binary", binary2)}),
                 std::string("labels.positive [cs.CV] vs [cs.CV, cs.LG]"));
        QCOMPARE(labelingDifference({run("multiclass", top5), run("binary", binary), run("multiclass", top20)}),
                 std::string("multiclass, binary; multiclass: labels.top_n 5 vs 20"));
        QCOMPARE(labelingDifference({run("multiclass", top5), run("", json())}),
                 std::string("multiclass, a run with no task recorded"));
        // The same labels section over other data picks other labels (found by an audit: a 10-label and a 34-label
        // run were ranked and joined): the labels each run's validation was scored over, as the ingester notes them.
        auto small = run("multilabel", ml50), large = run("multilabel", ml50), unknown = run("multilabel", ml50);
        small.id = 2;
        large.id = 4;
        small.summary["val_labels"] = {"cs.CV", "cs.LG"};
        large.summary["val_labels"] = {"cs.CV", "cs.LG", "cs.CR", "cs.DS", "cs.RO"};
        QCOMPARE(labelingDifference({small, large, unknown}),
                 std::string("run 2 has 2 labels, run 4 has 5; cs.CR, cs.DS and 1 more are not in every run"));
        large.summary["val_labels"] = {"cs.LG", "cs.CV"};
        QCOMPARE(labelingDifference({small, large, unknown}), std::string());
    }

    // A store file emptied beside its run folders is refused, not made a new store with no runs (found by an audit:
    // `lbk runs` said "no runs" and wrote a fresh schema into it); an empty file with no run folders is a new store.
    void anEmptiedStoreIsNotANewOne()
    {
        const fs::path db = scratch() / "emptied" / "lab.db";
        fs::create_directories(db.parent_path() / "lab.runs" / "0123456789ab");
        std::ofstream(db).close();
        const auto refused = lbk::Store::open(db);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.message().find("is empty (0 bytes), but " + (db.parent_path() / "lab.runs").string() +
                                        " holds 1 run folder") != std::string::npos,
                 refused.message().c_str());
        QCOMPARE(fs::file_size(db), uintmax_t(0)); // left as it was
        fs::remove_all(db.parent_path() / "lab.runs");
        QVERIFY(lbk::Store::open(db).ok());
    }

    void createOpenReopen()
    {
        const fs::path dir = scratch() / "nested" / "deeper";
        const fs::path db = dir / "labbook.db";
        {
            auto store = openStore(db);
            QVERIFY(store);
            QCOMPARE(store->schemaVersion(), Store::currentSchemaVersion());
            QVERIFY(Store::currentSchemaVersion() >= 1);
            QCOMPARE(store->runsRoot(), dir / "labbook.runs");
            QCOMPARE(count(*store, "SELECT count(*) FROM schema_migrations WHERE version = 1"), 1);
            QCOMPARE(count(*store, "PRAGMA foreign_keys"), 1);
            sqlite3_stmt *s = nullptr;
            sqlite3_prepare_v2(store->handle(), "PRAGMA journal_mode", -1, &s, nullptr);
            QCOMPARE(sqlite3_step(s), SQLITE_ROW);
            QCOMPARE(std::string(reinterpret_cast<const char *>(sqlite3_column_text(s, 0))), std::string("wal"));
            sqlite3_finalize(s);
            QVERIFY(newRun(*store, "kept") > 0);
        }
        // Private: the store holds configs and notes.
        struct stat st {};
        QCOMPARE(::stat(db.c_str(), &st), 0);
        QCOMPARE(int(st.st_mode & 0777), 0600);
        QCOMPARE(::stat(dir.c_str(), &st), 0);
        QCOMPARE(int(st.st_mode & 0777), 0700);
        QCOMPARE(::stat(dir.parent_path().c_str(), &st), 0);
        QCOMPARE(int(st.st_mode & 0777), 0700);

        // Reopening a current store is a no-op that keeps the data and records no second migration.
        auto again = openStore(db);
        QVERIFY(again);
        QCOMPARE(again->schemaVersion(), Store::currentSchemaVersion());
        QCOMPARE(again->runCount(), 1);
        QCOMPARE(again->runs().front().name, std::string("kept"));
        QCOMPARE(count(*again, "SELECT count(*) FROM schema_migrations"), int64_t(Store::currentSchemaVersion()));
    }

    // A store of schema version 2 (before paused_seconds) opens upgraded, its runs kept with nothing paused.
    void upgradesAVersion2Store()
    {
        const fs::path db = scratch() / "version2.db";
        {
            auto store = openStore(db);
            QVERIFY(store);
            const int64_t id = newRun(*store, "old");
            const std::string a = line(1, "run_started"), b = line(4, "finished");
            QVERIFY(store->ingestLines(id, {a, b}, int64_t(a.size() + b.size())));
            QCOMPARE(sqlite3_exec(store->handle(),
                                  "ALTER TABLE runs DROP COLUMN paused_at; ALTER TABLE runs DROP COLUMN paused_seconds; "
                                  "DELETE FROM schema_migrations WHERE version = 3",
                                  nullptr, nullptr, nullptr),
                     SQLITE_OK);
        }
        auto again = openStore(db);
        QVERIFY(again);
        QCOMPARE(again->schemaVersion(), Store::currentSchemaVersion());
        QVERIFY(Store::currentSchemaVersion() >= 3);
        const auto run = again->run("old");
        QVERIFY(run.ok());
        QCOMPARE(run->pausedSeconds, 0.0);
        QCOMPARE(run->duration(), std::optional<double>(3));
    }

    void refusesNewerSchema()
    {
        const fs::path db = scratch() / "future.db";
        {
            auto store = openStore(db);
            QVERIFY(store);
            QVERIFY(sqlite3_exec(store->handle(),
                                 "INSERT INTO schema_migrations VALUES (99, 'from the future', 0, '9.0')", nullptr,
                                 nullptr, nullptr)
                    == SQLITE_OK);
        }
        auto again = Store::open(db);
        QVERIFY(!again);
        QVERIFY2(contains(again.message(), "upgrade Labbook"), again.message().c_str());
        QVERIFY2(contains(again.message(), "99"), again.message().c_str());
        QVERIFY2(contains(again.message(), db.string()), again.message().c_str());
    }

    void refusesOtherDatabase()
    {
        const fs::path db = scratch() / "other.db";
        fs::create_directories(db.parent_path());
        sqlite3 *raw = nullptr;
        QCOMPARE(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
        QCOMPARE(sqlite3_exec(raw, "CREATE TABLE t (x)", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(raw);
        auto store = Store::open(db);
        QVERIFY(!store);
        QVERIFY2(contains(store.message(), "not a Labbook store"), store.message().c_str());

        const fs::path text = scratch() / "notes.txt";
        fs::create_directories(text.parent_path());
        append(text, "this is not a database, just some words that fill more than a header would need...\n");
        auto bad = Store::open(text);
        QVERIFY(!bad);
        QVERIFY2(contains(bad.message(), text.string()), bad.message().c_str());
        QVERIFY2(contains(bad.message(), "If it is a Labbook store, it is damaged: Restore it from a backup"),
                 bad.message().c_str());
    }

    void defaultPath()
    {
        const QByteArray saved = qgetenv("XDG_DATA_HOME");
        qputenv("XDG_DATA_HOME", "/tmp/xdg-data");
        QCOMPARE(Store::defaultPath(), fs::path("/tmp/xdg-data/labbook/labbook.db"));
        qunsetenv("XDG_DATA_HOME");
        QCOMPARE(Store::defaultPath(), fs::path(qgetenv("HOME").toStdString()) / ".local/share/labbook/labbook.db");
        if (saved.isNull())
            qunsetenv("XDG_DATA_HOME");
        else
            qputenv("XDG_DATA_HOME", saved);
    }

    void statusNames()
    {
        const std::vector<std::pair<RunStatus, std::string>> all = {
            {RunStatus::Queued, "queued"},     {RunStatus::Running, "running"},     {RunStatus::Finished, "finished"},
            {RunStatus::Failed, "failed"},     {RunStatus::Cancelled, "cancelled"}, {RunStatus::Interrupted, "interrupted"}};
        for (const auto &[status, name] : all) {
            QCOMPARE(std::string(toString(status)), name);
            QVERIFY(runStatusFromString(name) == status);
        }
        QVERIFY(!runStatusFromString("paused"));
        QVERIFY(isActive(RunStatus::Queued) && isActive(RunStatus::Running));
        QVERIFY(!isActive(RunStatus::Finished) && !isActive(RunStatus::Interrupted));
    }

    void remoteTarget_data()
    {
        QTest::addColumn<QString>("target");
        QTest::addColumn<bool>("remote");
        QTest::newRow("local") << QStringLiteral("local") << false;
        QTest::newRow("empty is this machine") << QString() << false;
        QTest::newRow("a target") << QStringLiteral("gpu") << true;
        QTest::newRow("case matters") << QStringLiteral("Local") << true;
    }

    void remoteTarget()
    {
        QFETCH(QString, target);
        QFETCH(bool, remote);
        RunSummary r;
        QVERIFY(!r.remote()); // a new run trains here
        r.target = target.toStdString();
        QCOMPARE(r.remote(), remote);
        QCOMPARE(isRemoteTarget(r.target), remote);
    }

    void runDuration()
    {
        // lbk said -1 and the GUI 0 for a run that never started; both now ask RunSummary.
        RunSummary r;
        r.status = RunStatus::Failed;
        QVERIFY(!r.duration()); // failed before it started
        r.status = RunStatus::Queued;
        QVERIFY(!r.duration());
        r.startedAt = 1000;
        r.endedAt = 1090.5;
        r.status = RunStatus::Finished;
        QCOMPARE(r.duration(), std::optional<double>(90.5));
        r.endedAt = 0;
        r.status = RunStatus::Interrupted; // died unseen: no end time to count to
        QCOMPARE(r.duration(), std::optional<double>(0.0));
        r.status = RunStatus::Running; // still going: counts to now
        r.startedAt = double(std::time(nullptr)) - 60;
        QVERIFY(r.duration() && *r.duration() >= 59 && *r.duration() < 3600);
    }

    void summaryValue()
    {
        RunSummary r;
        QVERIFY(!r.summaryValue("final", "val/accuracy"));
        r.summary = {{"final", {{"val/accuracy", 0.5}, {"val/loss", nullptr}, {"note", "x"}}},
                     {"best_step", {{"val/accuracy", 40}}},
                     {"best", 3}};
        QCOMPARE(r.summaryValue("final", "val/accuracy"), std::optional<double>(0.5));
        QVERIFY(!r.summaryValue("final", "val/loss")); // a non-finite value, stored as null
        QVERIFY(!r.summaryValue("final", "note"));
        QVERIFY(!r.summaryValue("best", "val/accuracy")); // not an object
        QCOMPARE(r.summaryValue("best_step", "val/accuracy"), std::optional<double>(40));
        r.summary = nullptr;
        QVERIFY(!r.summaryValue("final", "val/accuracy"));
    }

    void createRunAndLookUp()
    {
        auto store = openStore(scratch() / "refs.db");
        QVERIFY(store);
        NewRun nr;
        nr.name = "alpha";
        nr.experiment = "exp";
        nr.task = "multiclass";
        nr.config = {{"lr", 0.1}};
        nr.configHash = "h1";
        nr.tags = {"baseline"};
        auto generated = store->createRun(nr);
        QVERIFY2(generated, generated ? "" : generated.message().c_str());
        QCOMPARE(generated->uid.size(), size_t(12));
        QVERIFY(generated->uid.find_first_not_of("0123456789abcdef") == std::string::npos);
        QCOMPARE(generated->status, RunStatus::Queued);
        QVERIFY(generated->createdAt > 1.7e9);
        QCOMPARE(generated->startedAt, 0.0);
        QCOMPARE(generated->config["lr"].get<double>(), 0.1);
        QCOMPARE(generated->configHash, std::string("h1"));
        QCOMPARE(generated->task, std::string("multiclass"));
        QCOMPARE(generated->tags, std::vector<std::string>{"baseline"});
        QVERIFY(generated->runDir.empty());

        const int64_t a2 = newRun(*store, "alpha", "abcd1234aaaa"); // same name, newer
        const int64_t b = newRun(*store, "beta", "abcd9999bbbb");
        const int64_t c = newRun(*store, "gamma", "ffff00001111");
        QVERIFY(a2 && b && c);

        QCOMPARE(store->run(std::to_string(b))->id, b);
        QCOMPARE(store->run("ffff00001111")->id, c);
        QCOMPARE(store->run("abcd1")->id, a2);   // unique prefix
        QCOMPARE(store->run("ffff")->id, c);     // 4 characters are enough
        QCOMPARE(store->run("alpha")->id, a2);   // newest of that name
        NewRun test = nr;                        // an LR range test of the same experiment, named alike, newer still
        test.kind = "lr_find";
        test.uid = "0123456789ab";
        const auto lrTest = store->createRun(test);
        QVERIFY(lrTest);
        QCOMPARE(store->run("alpha")->id, a2);   // a name means the training run, not the test
        QCOMPARE(store->run("0123456789ab")->id, lrTest->id);
        QCOMPARE(store->run("gamma")->id, c);

        auto ambiguous = store->run("abcd");
        QVERIFY(!ambiguous);
        QVERIFY2(contains(ambiguous.message(), "ambiguous"), ambiguous.message().c_str());
        QVERIFY2(contains(ambiguous.message(), "abcd1234aaaa") && contains(ambiguous.message(), "abcd9999bbbb"),
                 ambiguous.message().c_str());

        auto missing = store->run("nope");
        QVERIFY(!missing);
        QVERIFY2(contains(missing.message(), "no run 'nope'"), missing.message().c_str());
        QVERIFY2(contains(missing.message(), store->path().string()), missing.message().c_str());
        QVERIFY2(contains(missing.message(), "lbk runs"), missing.message().c_str());
        QVERIFY(!store->run("fff"));   // too short to be a prefix
        QVERIFY(!store->run("999999"));
        QVERIFY(!store->runById(999999));

        auto dup = store->createRun(NewRun{.uid = "ffff00001111"});
        QVERIFY(!dup);
        QVERIFY2(contains(dup.message(), "already exists"), dup.message().c_str());
        QVERIFY(!store->createRun(NewRun{.uid = "../escape"}));
        QCOMPARE(store->runCount(), 5);
    }

    void setters()
    {
        auto store = openStore(scratch() / "setters.db");
        QVERIFY(store);
        const int64_t id = newRun(*store);
        QVERIFY(store->setProcess(id, "box", 123, 456789));
        QVERIFY(store->setJob(id, "slurm", "98765"));
        QVERIFY(store->setRunDir(id, "/runs/x"));
        QVERIFY(store->setTags(id, {"a", "b", "a"}));
        QVERIFY(store->setNotes(id, "tried a smaller lr"));
        QVERIFY(store->setName(id, "renamed"));
        QVERIFY(store->setStatus(id, RunStatus::Running));
        auto r = store->runById(id);
        QVERIFY(r);
        QCOMPARE(r->host, std::string("box"));
        QCOMPARE(r->pid, 123);
        QCOMPARE(r->pidStart, 456789);
        QCOMPARE(r->target, std::string("slurm"));
        QCOMPARE(r->jobId, std::string("98765"));
        QCOMPARE(r->runDir, std::string("/runs/x"));
        QCOMPARE(r->tags, (std::vector<std::string>{"a", "b"}));
        QCOMPARE(r->notes, std::string("tried a smaller lr"));
        QCOMPARE(r->name, std::string("renamed"));
        QCOMPARE(r->status, RunStatus::Running);
        QVERIFY(r->startedAt > 0);
        QCOMPARE(r->endedAt, 0.0);
        QVERIFY(store->setStatus(id, RunStatus::Interrupted, "worker vanished"));
        r = store->runById(id);
        QCOMPARE(r->status, RunStatus::Interrupted);
        QCOMPARE(r->error, std::string("worker vanished"));
        QVERIFY(r->endedAt > 0);

        QVERIFY(!store->setStatus(id + 100, RunStatus::Failed));
        QVERIFY(!store->setNotes(id + 100, "x"));
        QVERIFY(!store->deleteRun(id + 100));
    }

    void runListFilters()
    {
        auto store = openStore(scratch() / "lists.db");
        QVERIFY(store);
        auto make = [&](const std::string &name, const std::string &experiment, std::vector<std::string> tags,
                        const std::string &kind = "train") {
            NewRun nr;
            nr.name = name;
            nr.experiment = experiment;
            nr.tags = std::move(tags);
            nr.kind = kind;
            return store->createRun(nr)->id;
        };
        const int64_t r1 = make("bag-small", "arxiv-bag", {"baseline"});
        const int64_t r2 = make("bag-large", "arxiv-bag", {"big", "100%"});
        const int64_t r3 = make("cnn", "arxiv-cnn", {"baseline"});
        const int64_t r4 = make("lrf", "arxiv-cnn", {}, "lr_find");
        QVERIFY(store->setStatus(r2, RunStatus::Running));
        QVERIFY(store->setStatus(r3, RunStatus::Failed, "bad data"));
        QVERIFY(store->setNotes(r4, "looks like a Valley"));

        auto ids = [](const std::vector<RunSummary> &runs) {
            std::vector<int64_t> out;
            for (const auto &r : runs)
                out.push_back(r.id);
            return out;
        };
        QCOMPARE(ids(store->runs()), (std::vector<int64_t>{r4, r3, r2, r1})); // newest first
        QCOMPARE(ids(store->runs({.status = RunStatus::Queued})), (std::vector<int64_t>{r4, r1}));
        QCOMPARE(ids(store->runs({.status = RunStatus::Failed})), (std::vector<int64_t>{r3}));
        QCOMPARE(ids(store->runs({.experiment = "arxiv-bag"})), (std::vector<int64_t>{r2, r1}));
        QCOMPARE(ids(store->runs({.tag = "baseline"})), (std::vector<int64_t>{r3, r1}));
        QCOMPARE(ids(store->runs({.text = "BAG-"})), (std::vector<int64_t>{r2, r1})); // names, case-insensitive
        QCOMPARE(ids(store->runs({.text = "valley"})), (std::vector<int64_t>{r4}));  // notes
        QCOMPARE(ids(store->runs({.text = "100%"})), (std::vector<int64_t>{r2}));    // tags, % is literal
        QCOMPARE(ids(store->runs({.text = "cnn"})), (std::vector<int64_t>{r4, r3})); // experiment
        QCOMPARE(ids(store->runs({.kind = "lr_find"})), (std::vector<int64_t>{r4}));
        QCOMPARE(ids(store->runs({.experiment = "arxiv-cnn", .tag = "baseline"})), (std::vector<int64_t>{r3}));
        QCOMPARE(ids(store->runs({.limit = 2})), (std::vector<int64_t>{r4, r3}));
        QCOMPARE(store->runs({.status = RunStatus::Failed}).front().error, std::string("bad data"));
        QCOMPARE(store->experiments(), (std::vector<std::string>{"arxiv-bag", "arxiv-cnn"}));
    }

    void runListNeverReadsSeries()
    {
        const fs::path db = scratch() / "lazy.db";
        {
            auto store = openStore(db);
            const int64_t id = newRun(*store);
            std::vector<std::string> text;
            for (int i = 1; i <= 50; ++i)
                text.push_back(line(i, "metrics", {{"step", i}, {"values", {{"train/loss", 1.0 / i}}}}));
            std::vector<std::string_view> views(text.begin(), text.end());
            QVERIFY(store->ingestLines(id, views, 0));
        }
        // A fresh connection, so every statement runs() uses is prepared (and authorized) here.
        auto store = openStore(db);
        std::set<std::string> tablesRead;
        auto authorizer = [](void *user, int action, const char *table, const char *, const char *, const char *) {
            if (action == SQLITE_READ && table)
                static_cast<std::set<std::string> *>(user)->insert(table);
            return SQLITE_OK;
        };
        sqlite3_set_authorizer(store->handle(), authorizer, &tablesRead);
        QCOMPARE(store->runs().size(), size_t(1));
        QCOMPARE(store->runs({.status = RunStatus::Running, .tag = "x", .text = "y", .limit = 5}).size(), size_t(0));
        QVERIFY(store->runCount() == 1);
        sqlite3_set_authorizer(store->handle(), nullptr, nullptr);
        QVERIFY(tablesRead.count("runs"));
        for (const char *series : {"metrics", "predictions", "evaluations", "histograms", "examples", "logs"})
            QVERIFY2(!tablesRead.count(series), series);
    }

    void ingestEveryEventKind()
    {
        auto store = openStore(scratch() / "events.db");
        QVERIFY(store);
        NewRun nr;
        nr.name = "full";
        auto created = store->createRun(nr);
        QVERIFY(created);
        const int64_t id = created->id;
        const fs::path journal = store->runsRoot() / created->uid / "journal.jsonl";
        fs::create_directories(journal.parent_path());
        append(journal, fullJournal(created->uid));
        // Python's json.dumps writes NaN for a diverged loss: kept, as NULL.
        append(journal, "{\"seq\": 19, \"t\": 1763941019.0, \"type\": \"metrics\", \"step\": 41, "
                        "\"values\": {\"train/loss\": NaN, \"grad_norm\": Infinity, \"note\": \"NaN here\"}}\n");

        auto stats = ingestJournal(*store, id, journal);
        QVERIFY2(stats, stats ? "" : stats.message().c_str());
        QCOMPARE(stats->events, 19);
        QCOMPARE(stats->duplicates, 0);
        QCOMPARE(stats->malformed, 0);
        QVERIFY(stats->finalEvent);
        QCOMPARE(store->cursor(id).seq, 19);
        QCOMPARE(store->cursor(id).offset, int64_t(fs::file_size(journal)));

        auto run = store->runById(id);
        QVERIFY(run);
        QCOMPARE(run->status, RunStatus::Finished);
        QCOMPARE(run->host, std::string("gpu-7"));
        QCOMPARE(run->pid, 4242);
        QCOMPARE(run->pidStart, 777); // the writer's own start: a later process given its pid is not taken for it
        QCOMPARE(run->startedAt, 1763941001.0);
        QCOMPARE(run->endedAt, 1763941018.0);
        QCOMPARE(run->lastStep, 41);
        QCOMPARE(run->config["model"]["type"].get<std::string>(), std::string("bag")); // empty config filled
        QCOMPARE(run->configHash, configHash(run->config)); // and its hash with it (it stayed the hash of {})
        QVERIFY(run->configHash != configHash(json::object()));
        QCOMPARE(run->summary["run"]["device"].get<std::string>(), std::string("cpu"));
        QCOMPARE(run->summary["data"]["classes"].get<int>(), 3);

        // Metrics, with null and non-finite values read back as NaN.
        QCOMPARE(store->metricKeys(id), (std::vector<std::string>{"grad_norm", "lr", "note", "train/examples_per_s",
                                                                  "train/loss", "val/accuracy", "val/loss",
                                                                  "val/macro_f1"}));
        auto loss = store->metric(id, "train/loss");
        QCOMPARE(loss.size(), size_t(3));
        QCOMPARE(loss[0].step, 10);
        QCOMPARE(loss[0].value, 1.5);
        QCOMPARE(loss[0].wall, 1763941002.0);
        QVERIFY(std::isnan(loss[1].value));
        QVERIFY(std::isnan(loss[2].value));
        QVERIFY(std::isnan(store->metric(id, "grad_norm").at(0).value));
        QCOMPARE(store->metricAfter(id, "train/loss", 10).size(), size_t(2));
        auto valAcc = store->metric(id, "val/accuracy"); // mirrored from the evaluations
        QCOMPARE(valAcc.size(), size_t(2));
        QCOMPARE(valAcc[1].step, 40);
        QCOMPARE(valAcc[1].value, 0.8);

        // Evaluations and the run summary's final and best values.
        auto evals = store->evaluations(id, "val");
        QCOMPARE(evals.size(), size_t(2));
        QCOMPARE(evals[0].step, 20);
        QCOMPARE(evals[0].summary["confusion"][2][0].get<int>(), 1);
        QVERIFY(store->evaluations(id, "test").empty());
        const json &summary = run->summary;
        QCOMPARE(summary["final"]["val/accuracy"].get<double>(), 0.8);
        QCOMPARE(summary["final"]["val/loss"].get<double>(), 1.1);
        QCOMPARE(summary["final"]["test/accuracy"].get<double>(), 0.77); // from finished
        QCOMPARE(summary["final"]["epochs"].get<int>(), 2);
        QCOMPARE(summary["best"]["val/accuracy"].get<double>(), 0.8);
        QCOMPARE(summary["best_step"]["val/accuracy"].get<int>(), 40);
        QCOMPARE(summary["best"]["val/loss"].get<double>(), 0.9); // lower is better
        QCOMPARE(summary["best_step"]["val/loss"].get<int>(), 20);
        QCOMPARE(summary["best"]["val/macro_f1"].get<double>(), 0.6);
        QVERIFY(!summary["final"].contains("val/examples"));
        QCOMPARE(summary["best"]["val/f1"].get<double>(), 0.66); // the trainer's flat best/...
        QVERIFY(!summary["final"].contains("best/val/f1"));
        QCOMPARE(summary["stopped_early"].get<bool>(), true);
        // A finished summary's text does not replace what the run's own events recorded under that name.
        QVERIFY(summary["best"].is_object());
        QCOMPARE(summary["lr_suggestion"]["lr"].get<double>(), 3e-4);

        auto hist = store->histograms(id);
        QCOMPARE(hist.size(), size_t(1));
        QCOMPARE(hist[0].name, std::string("confidence"));
        QCOMPARE(hist[0].hi, 1.0);
        QCOMPARE(hist[0].counts, (std::vector<int64_t>{0, 1, 5, 2}));

        // Predictions: latest step by default, then each filter.
        QCOMPARE(store->predictionSteps(id, "val"), (std::vector<int64_t>{20, 40}));
        QCOMPARE(store->predictionSteps(id, ""), (std::vector<int64_t>{20, 40}));
        QCOMPARE(store->predictionCount(id), 4);
        QCOMPARE(count(*store, "SELECT count(*) FROM examples"), 3); // titles stored once
        auto latest = store->predictions(id, {});
        QCOMPARE(latest.size(), size_t(1));
        QCOMPARE(latest[0].exampleId, std::string("p1"));
        QCOMPARE(latest[0].title, std::string("Deep Learning for Vision"));
        QVERIFY(latest[0].correct);

        auto at20 = [&](PredictionFilter f) {
            f.step = 20;
            std::vector<std::string> ids;
            for (const auto &r : store->predictions(id, f))
                ids.push_back(r.exampleId);
            return ids;
        };
        using Ids = std::vector<std::string>;
        QCOMPARE(at20({}), (Ids{"p1", "p2", "p3"})); // most confident first
        QCOMPARE(at20({.misclassifiedOnly = true}), (Ids{"p1"}));
        QCOMPARE(at20({.trueLabel = "cs.CL"}), (Ids{"p2"}));
        QCOMPARE(at20({.trueLabel = "cs"}), (Ids{}));
        QCOMPARE(at20({.predictedLabel = "cs.AI"}), (Ids{"p1", "p3"}));
        // Read as a multi-label run's rows: a label is predicted from 0.5 up, wherever it ranks (p3's cs.AI, at
        // 0.4, is not; it was listed by its top-1), so cs.CL is predicted by p2 alone.
        QCOMPARE(at20({.predictedLabel = "cs.AI", .multiLabel = true}), (Ids{"p1"}));
        QCOMPARE(at20({.predictedLabel = "cs.CL", .multiLabel = true}), (Ids{"p2"}));
        QCOMPARE(at20({.predictedLabel = "cs.CV", .multiLabel = true}), (Ids{}));
        QCOMPARE(at20({.minConfidence = 0.5}), (Ids{"p1", "p2"}));
        QCOMPARE(at20({.minConfidence = 0.5, .maxConfidence = 0.8}), (Ids{"p2"}));
        QCOMPARE(at20({.text = "TRANSFORMER"}), (Ids{"p2"}));
        QCOMPARE(at20({.limit = 2}), (Ids{"p1", "p2"}));
        QCOMPARE(at20({.misclassifiedOnly = true, .predictedLabel = "cs.CL"}), (Ids{}));
        auto p1 = store->predictions(id, {.step = 20, .trueLabel = "cs.CV"});
        QCOMPARE(p1.size(), size_t(1));
        QCOMPARE(p1[0].truth, std::vector<std::string>{"cs.CV"});
        QCOMPARE(p1[0].top.size(), size_t(2));
        QCOMPARE(p1[0].top[0].first, std::string("cs.AI"));
        QCOMPARE(p1[0].top[0].second, 0.9);
        QCOMPARE(p1[0].pTrue, 0.05);
        QVERIFY(!p1[0].correct);
        QVERIFY(store->predictions(id, {.split = "test"}).empty());

        // LR finder.
        auto lr = store->lrPoints(id);
        QCOMPARE(lr.size(), size_t(2));
        QVERIFY(store->hasLrPoints(id));
        QVERIFY(!store->hasLrPoints(id + 1000));
        QCOMPARE(lr[1].lr, 1e-6);
        QVERIFY(std::isnan(lr[1].loss));
        QCOMPARE(lr[1].smoothed, 2.2);
        QCOMPARE(summary["lr_suggestion"]["lr"].get<double>(), 3e-4);
        QCOMPARE(summary["lr_suggestion"]["index"].get<int>(), 1);
        QCOMPARE(summary["lr_suggestion"]["method"].get<std::string>(), std::string("steepest"));

        // Artifacts: the last checkpoint is one row at its newest step.
        auto arts = store->artifacts(id);
        QCOMPARE(arts.size(), size_t(3));
        QCOMPARE(arts[0].kind, std::string("checkpoint-best"));
        QCOMPARE(arts[0].step, 20);
        QCOMPARE(arts[1].kind, std::string("checkpoint-last"));
        QCOMPARE(arts[1].path, std::string("checkpoints/last.pt"));
        QCOMPARE(arts[1].step, 40);
        QCOMPARE(arts[2].kind, std::string("tokenizer"));
        QCOMPARE(arts[2].sha256, std::string("abc123"));

        // Logs, with the unknown event kept as a log line, and the text value of "note" said.
        auto logs = store->logs(id);
        QCOMPARE(logs.size(), size_t(3));
        QVERIFY2(contains(logs[2].message, "'note' is not a number"), logs[2].message.c_str());
        QCOMPARE(logs[0].seq, 16);
        QCOMPARE(logs[0].level, std::string("warning"));
        QCOMPARE(logs[0].wall, 1763941016.0);
        QCOMPARE(logs[1].seq, 17);
        QVERIFY2(contains(logs[1].message, "gpu_temperature") && contains(logs[1].message, "71"),
                 logs[1].message.c_str());
    }

    void binaryEvaluationScalars()
    {
        // A binary run's evaluations hold f1 (the positive class's), which evaluation.metric may name: it is a
        // scalar like the others, a metric series and a final and best value.
        auto store = openStore(scratch() / "binary.db");
        const int64_t id = newRun(*store);
        const std::string first = line(1, "evaluation",
                                       {{"step", 10}, {"split", "val"},
                                        {"summary", {{"loss", 0.5}, {"accuracy", 0.8}, {"f1", 0.7}, {"roc_auc", 0.9}}}});
        const std::string second = line(2, "evaluation",
                                        {{"step", 20}, {"split", "val"},
                                         {"summary", {{"loss", 0.6}, {"accuracy", 0.8}, {"f1", 0.6}, {"roc_auc", 0.9}}}});
        QVERIFY(store->ingestLines(id, {first, second}, 0));
        const auto f1 = store->metric(id, "val/f1");
        QCOMPARE(f1.size(), size_t(2));
        QCOMPARE(f1[1].value, 0.6);
        const json summary = store->runById(id)->summary;
        QCOMPARE(summary["final"]["val/f1"].get<double>(), 0.6);
        QCOMPARE(summary["best"]["val/f1"].get<double>(), 0.7);
        QCOMPARE(summary["best_step"]["val/f1"].get<int>(), 10);
        QCOMPARE(summary["best"]["val/loss"].get<double>(), 0.5);
        // Where the latest validation's F1 peaks, for lbk show's threshold advice; a test split's is not taken.
        const std::string third = line(3, "evaluation", {{"step", 30}, {"split", "val"},
                                                         {"summary", {{"f1", 0.5}, {"best_f1", {{"threshold", 0.2}, {"f1", 0.8}}}}}});
        const std::string test = line(4, "evaluation", {{"step", 30}, {"split", "test"},
                                                        {"summary", {{"f1", 0.5}, {"best_f1", {{"threshold", 0.1}, {"f1", 0.9}}}}}});
        QVERIFY(store->ingestLines(id, {third, test}, 0));
        QCOMPARE(store->runById(id)->summary["val_best_f1"], (json{{"threshold", 0.2}, {"f1", 0.8}}));
    }

    void metricsLineVariants_data()
    {
        // Each line is read by the fast metrics scanner or, when it cannot, the general JSON parser: both must
        // give the same answer.
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QByteArray>("key");
        QTest::addColumn<double>("value"); // NaN: stored as NULL
        QTest::addColumn<int>("step");
        QTest::addColumn<int>("malformed");
        const double nan = std::nan("");
        QTest::newRow("canonical") << QByteArray("{\"seq\":1,\"t\":5,\"type\":\"metrics\",\"step\":2,\"values\":{\"a\":1.5}}")
                                   << QByteArray("a") << 1.5 << 2 << 0;
        QTest::newRow("spaces, any order")
            << QByteArray("{ \"values\" : { \"a\" : -2e-3 } , \"step\" : 2 , \"type\" : \"metrics\" , \"seq\" : 1 }  ")
            << QByteArray("a") << -0.002 << 2 << 0;
        QTest::newRow("escaped key") << QByteArray("{\"seq\":1,\"type\":\"metrics\",\"step\":2,\"values\":{\"a\\\"b\":1}}")
                                     << QByteArray("a\"b") << 1.0 << 2 << 0;
        QTest::newRow("utf-8 key") << QByteArray("{\"seq\":1,\"type\":\"metrics\",\"step\":2,\"values\":{\"верн\":0.25}}")
                                   << QByteArray("верн") << 0.25 << 2 << 0;
        QTest::newRow("step 2.0") << QByteArray("{\"seq\":1,\"type\":\"metrics\",\"step\":2.0,\"values\":{\"a\":1}}")
                                  << QByteArray("a") << 1.0 << 2 << 0;
        QTest::newRow("null") << QByteArray("{\"seq\":1,\"type\":\"metrics\",\"step\":2,\"values\":{\"a\":null}}")
                              << QByteArray("a") << nan << 2 << 0;
        QTest::newRow("string value") << QByteArray("{\"seq\":1,\"type\":\"metrics\",\"step\":2,\"values\":{\"a\":\"x\"}}")
                                      << QByteArray("a") << nan << 2 << 0;
        QTest::newRow("extra nested field")
            << QByteArray("{\"seq\":1,\"type\":\"metrics\",\"step\":2,\"extra\":{\"x\":[1,2]},\"values\":{\"a\":3}}")
            << QByteArray("a") << 3.0 << 2 << 0;
        QTest::newRow("leading zero") << QByteArray("{\"seq\":1,\"type\":\"metrics\",\"step\":2,\"values\":{\"a\":01}}")
                                      << QByteArray("a") << nan << -1 << 1;
        QTest::newRow("trailing text") << QByteArray("{\"seq\":1,\"type\":\"metrics\",\"step\":2,\"values\":{\"a\":1}} x")
                                       << QByteArray("a") << nan << -1 << 1;
        QTest::newRow("seq as text") << QByteArray("{\"seq\":\"1\",\"type\":\"metrics\",\"step\":2,\"values\":{\"a\":1}}")
                                     << QByteArray("a") << nan << -1 << 1;
        QTest::newRow("seq 0") << QByteArray("{\"seq\":0,\"type\":\"metrics\",\"step\":2,\"values\":{\"a\":1}}")
                               << QByteArray("a") << nan << -1 << 1;
        QTest::newRow("no values") << QByteArray("{\"seq\":1,\"type\":\"metrics\",\"step\":2}") << QByteArray("a") << nan
                                   << -1 << 1;
        QTest::newRow("invalid utf-8 key")
            << QByteArray("{\"seq\":1,\"type\":\"metrics\",\"step\":2,\"values\":{\"\xff\":1}}") << QByteArray("\xff")
            << nan << -1 << 1;
        QTest::newRow("truncated") << QByteArray("{\"seq\":1,\"type\":\"metrics\",\"step\":2,\"values\":{\"a\":1")
                                   << QByteArray("a") << nan << -1 << 1;
    }

    void metricsLineVariants()
    {
        QFETCH(QByteArray, text);
        QFETCH(QByteArray, key);
        QFETCH(double, value);
        QFETCH(int, step);
        QFETCH(int, malformed);
        auto store = openStore(scratch() / "variants.db");
        const int64_t id = newRun(*store);
        const std::string lineText = text.toStdString();
        auto stats = store->ingestLines(id, {lineText}, int64_t(lineText.size() + 1));
        QVERIFY(stats);
        QCOMPARE(stats->malformed, malformed);
        QCOMPARE(stats->events, malformed ? 0 : 1);
        auto points = store->metric(id, key.toStdString());
        if (step < 0) {
            QVERIFY(points.empty());
            QCOMPARE(store->logs(id).size(), size_t(1));
            return;
        }
        QCOMPARE(points.size(), size_t(1));
        QCOMPARE(points[0].step, step);
        if (std::isnan(value))
            QVERIFY(std::isnan(points[0].value));
        else
            QCOMPARE(points[0].value, value);
    }

    void laterValueWins()
    {
        // A resumed run reports steps again: within a batch and across batches the later value is kept.
        auto store = openStore(scratch() / "later.db");
        const int64_t id = newRun(*store);
        std::vector<std::string> text;
        for (int i = 0; i < 300; ++i) // steps 0..99 three times, with a second key so points interleave
            text.push_back(line(i + 1, "metrics", {{"step", i % 100}, {"values", {{"v", i}, {"w", -i}}}}));
        std::vector<std::string_view> views(text.begin(), text.end());
        QVERIFY(store->ingestLines(id, {views.begin(), views.begin() + 250}, 0));
        QVERIFY(store->ingestLines(id, {views.begin() + 250, views.end()}, 0));
        const auto v = store->metric(id, "v"), w = store->metric(id, "w");
        QCOMPARE(v.size(), size_t(100));
        QCOMPARE(w.size(), size_t(100));
        for (int s = 0; s < 100; ++s) {
            QCOMPARE(v[size_t(s)].step, s);
            QCOMPARE(v[size_t(s)].value, double(s + 200));
            QCOMPARE(w[size_t(s)].value, -double(s + 200));
        }
        QCOMPARE(store->runById(id)->lastStep, 99);
    }

    void aSecondLrTestReplacesTheCurve()
    {
        // Two range tests in one journal (a script that ran one, then another): the store keeps the second's
        // curve whole, none of the first's points beyond the second's end.
        auto store = openStore(scratch() / "lr-twice.db");
        const int64_t id = newRun(*store);
        std::vector<std::string> text;
        int seq = 0;
        for (int i = 0; i < 5; ++i)
            text.push_back(line(++seq, "lr_point", {{"index", i}, {"lr", 1e-5 * (i + 1)}, {"loss", 2.0}}));
        for (int i = 0; i < 3; ++i)
            text.push_back(line(++seq, "lr_point", {{"index", i}, {"lr", 1e-3 * (i + 1)}, {"loss", 1.0}}));
        std::vector<std::string_view> views(text.begin(), text.end());
        QVERIFY(store->ingestLines(id, {views.begin(), views.begin() + 6}, 0));
        QVERIFY(store->ingestLines(id, {views.begin() + 6, views.end()}, 0));
        const auto lr = store->lrPoints(id);
        QCOMPARE(lr.size(), size_t(3));
        for (const auto &p : lr)
            QCOMPARE(p.loss, 1.0);
    }

    void predictionRowVariants()
    {
        // What a hand-written trainer may send: a numeric id, truth as a string, top as an object, no "correct".
        auto store = openStore(scratch() / "rows.db");
        const int64_t id = newRun(*store);
        json rows = json::array();
        rows.push_back({{"id", 17}, {"truth", "neg"}, {"top", {{"pos", 0.3}, {"neg", 0.7}}}});
        rows.push_back({{"id", "b"}, {"title", "x"}, {"truth", json::array({"pos"})}, {"top", topk({{"neg", 0.6}})}});
        rows.push_back({{"title", "no id"}});
        const std::string l = line(1, "predictions", {{"step", 1}, {"split", "test"}, {"rows", rows}});
        QVERIFY(store->ingestLines(id, {l}, 0));
        auto got = store->predictions(id, {.split = "test"});
        QCOMPARE(got.size(), size_t(2));
        QCOMPARE(got[0].exampleId, std::string("17"));
        QCOMPARE(got[0].truth, std::vector<std::string>{"neg"});
        QCOMPARE(got[0].top.front().first, std::string("neg")); // most probable first
        QCOMPARE(got[0].top.front().second, 0.7);
        QVERIFY(got[0].correct);
        QVERIFY(std::isnan(got[0].pTrue));
        QCOMPARE(got[0].title, std::string());
        QVERIFY(!got[1].correct);
        QCOMPARE(got[1].title, std::string("x"));
        QCOMPARE(store->logs(id).size(), size_t(1)); // the row without an id
        QVERIFY2(contains(store->logs(id).front().message, "without an \"id\""), store->logs(id).front().message.c_str());
    }

    void finalStatuses_data()
    {
        QTest::addColumn<QString>("event");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("error");
        QTest::newRow("finished") << QStringLiteral("finished") << int(RunStatus::Finished) << QString();
        QTest::newRow("failed") << QStringLiteral("failed") << int(RunStatus::Failed)
                                << QStringLiteral("out of memory at step 3");
        QTest::newRow("cancelled") << QStringLiteral("cancelled") << int(RunStatus::Cancelled) << QString();
    }

    void finalStatuses()
    {
        QFETCH(QString, event);
        QFETCH(int, status);
        QFETCH(QString, error);
        auto store = openStore(scratch() / "final.db");
        const int64_t id = newRun(*store);
        const std::string started = line(1, "run_started", {{"pid", 7}});
        json fields = {{"step", 3}};
        if (!error.isEmpty())
            fields["reason"] = error.toStdString();
        const std::string last = line(2, event.toStdString(), fields);
        auto stats = store->ingestLines(id, {started, last}, int64_t(started.size() + last.size()));
        QVERIFY(stats);
        QVERIFY(stats->finalEvent);
        auto run = store->runById(id);
        QCOMPARE(int(run->status), status);
        QCOMPARE(run->error, error.toStdString());
        QCOMPARE(run->endedAt, 1763941002.0);
        QCOMPARE(run->startedAt, 1763941001.0);
        QCOMPARE(run->lastStep, 3);
    }

    // The time a run sat stopped before a resume is not part of its duration: resumed by Labbook (claimForResume
    // keeps the end until the new worker starts; the clock stands still while the resume is queued) and started
    // again by an external script without a claim.
    void durationLeavesOutTheStoppedTime()
    {
        auto store = openStore(scratch() / "paused.db");
        auto at = [](int64_t seq, const std::string &type, double t, json fields = json::object()) {
            fields["seq"] = seq;
            fields["t"] = t;
            fields["type"] = type;
            return fields.dump() + "\n";
        };
        const int64_t resumed = newRun(*store, "resumed");
        const std::string a = at(1, "run_started", 1000), b = at(2, "failed", 1100, {{"reason", "node lost"}});
        QVERIFY(store->ingestLines(resumed, {a, b}, int64_t(a.size() + b.size())));
        QCOMPARE(store->runById(resumed)->duration(), std::optional<double>(100));
        QVERIFY(*store->claimForResume(resumed));
        QCOMPARE(store->runById(resumed)->duration(), std::optional<double>(100)); // queued: not counting
        const std::string c = at(3, "run_started", 5000), d = at(4, "finished", 5050);
        QVERIFY(store->ingestLines(resumed, {c, d}, int64_t(a.size() + b.size() + c.size() + d.size())));
        auto run = store->runById(resumed);
        QCOMPARE(run->startedAt, 1000.0);
        QCOMPARE(run->endedAt, 5050.0);
        QCOMPARE(run->pausedSeconds, 3900.0);
        QCOMPARE(run->duration(), std::optional<double>(150));

        const int64_t external = newRun(*store, "external");
        const std::string e = at(1, "run_started", 0 + 2000), f = at(2, "finished", 2010),
                          g = at(3, "run_started", 2100), h = at(4, "finished", 2120);
        QVERIFY(store->ingestLines(external, {e, f, g, h}, int64_t(e.size() + f.size() + g.size() + h.size())));
        QCOMPARE(store->runById(external)->duration(), std::optional<double>(30));

        // A worker says when its process began: reading and tokenizing the data count as the run's time; a value
        // after the event itself (a clock gone wrong) is not believed.
        const int64_t prepared = newRun(*store, "prepared");
        const std::string i = at(1, "run_started", 3000, {{"process_started", 2940}}), k = at(2, "finished", 3100);
        QVERIFY(store->ingestLines(prepared, {i, k}, int64_t(i.size() + k.size())));
        QCOMPARE(store->runById(prepared)->startedAt, 2940.0);
        QCOMPARE(store->runById(prepared)->duration(), std::optional<double>(160));
        // Resumed on a target (setStatus(Queued), not claimForResume): the stop is left out all the same.
        const int64_t remote = newRun(*store, "remote");
        const std::string r1 = at(1, "run_started", 1000), r2 = at(2, "failed", 1100, {{"reason", "time limit"}});
        QVERIFY(store->ingestLines(remote, {r1, r2}, int64_t(r1.size() + r2.size())));
        QVERIFY(store->setStatus(remote, RunStatus::Queued));
        const std::string r3 = at(3, "run_started", 5000), r4 = at(4, "finished", 5050);
        QVERIFY(store->ingestLines(remote, {r3, r4}, int64_t(r1.size() + r2.size() + r3.size() + r4.size())));
        QCOMPARE(store->runById(remote)->duration(), std::optional<double>(150));

        // A worker that died unseen ended when it last logged, not when someone noticed (the next morning); a
        // resume of it that never started adds nothing.
        const int64_t died = newRun(*store, "died");
        const std::string d1 = at(1, "run_started", 1000, {{"pid", 7}}),
                          d2 = at(2, "metrics", 1050, {{"step", 5}, {"values", {{"train/loss", 1.0}}}});
        QVERIFY(store->ingestLines(died, {d1, d2}, int64_t(d1.size() + d2.size())));
        QVERIFY(*store->markInterrupted(died, 7, 0, "the worker died"));
        QCOMPARE(store->runById(died)->endedAt, 1050.0);
        QCOMPARE(store->runById(died)->duration(), std::optional<double>(50));
        QVERIFY(*store->claimForResume(died));
        QVERIFY(store->setStatus(died, RunStatus::Failed, "cannot start the worker"));
        QCOMPARE(store->runById(died)->duration(), std::optional<double>(50));

        // A journal read whole: a worker that died, then its resume, with no end between them.
        const int64_t replayed = newRun(*store, "replayed");
        const std::vector<std::string> lines = {
            at(1, "run_started", 1000), at(2, "metrics", 1010, {{"step", 5}, {"values", {{"train/loss", 1.0}}}}),
            at(3, "run_started", 2000, {{"process_started", 1990}}), at(4, "finished", 2030)};
        int64_t bytes = 0;
        for (const auto &l : lines)
            bytes += int64_t(l.size());
        QVERIFY(store->ingestLines(replayed, {lines[0], lines[1], lines[2], lines[3]}, bytes));
        QCOMPARE(store->runById(replayed)->duration(), std::optional<double>(50));

        const int64_t skewed = newRun(*store, "skewed");
        const std::string m = at(1, "run_started", 3000, {{"process_started", 3500}}), n = at(2, "finished", 3100);
        QVERIFY(store->ingestLines(skewed, {m, n}, int64_t(m.size() + n.size())));
        QCOMPARE(store->runById(skewed)->duration(), std::optional<double>(100));
    }

    void idempotentIngest()
    {
        const fs::path db = scratch() / "twice.db";
        const fs::path journal = db.parent_path() / "journal.jsonl";
        int64_t id = 0;
        {
            auto store = openStore(db);
            id = newRun(*store);
            append(journal, fullJournal("x"));
            auto first = ingestJournal(*store, id, journal);
            QVERIFY(first);
            QCOMPARE(first->events, 18);
            auto second = ingestJournal(*store, id, journal); // nothing new past the cursor
            QVERIFY(second);
            QCOMPARE(second->events, 0);
            QCOMPARE(second->duplicates, 0);
            QVERIFY(!second->finalEvent);
        }
        auto counts = [&](Store &s) {
            return std::vector<int64_t>{
                count(s, "SELECT count(*) FROM metrics"),     count(s, "SELECT count(*) FROM evaluations"),
                count(s, "SELECT count(*) FROM predictions"), count(s, "SELECT count(*) FROM histograms"),
                count(s, "SELECT count(*) FROM lr_points"),   count(s, "SELECT count(*) FROM artifacts"),
                count(s, "SELECT count(*) FROM logs"),        count(s, "SELECT count(*) FROM examples")};
        };
        auto fresh = openStore(db);
        const auto before = counts(*fresh);
        // 5 metric values and 6 evaluation scalars; logs: the log event, the unknown event and the warning that
        // the journal's run_started names another run uid.
        QCOMPARE(before, (std::vector<int64_t>{11, 2, 4, 1, 2, 3, 3, 3}));
        QVERIFY(ingestJournal(*fresh, id, journal));
        // Lines handed over again (a reconnect that replays from the start): every seq is a duplicate.
        auto replay = replayWholeJournal(*fresh, id, journal);
        QVERIFY(replay);
        QCOMPARE(replay->events, 0);
        QCOMPARE(replay->duplicates, 18);
        QCOMPARE(counts(*fresh), before);
        QCOMPARE(fresh->runById(id)->summary["best"]["val/accuracy"].get<double>(), 0.8);
    }

    void partialLineWaits()
    {
        auto store = openStore(scratch() / "partial.db");
        const int64_t id = newRun(*store);
        const fs::path journal = store->path().parent_path() / "partial.jsonl";
        QVERIFY(ingestJournal(*store, id, journal)); // not written yet: nothing to do
        QCOMPARE(store->cursor(id).offset, 0);

        const std::string first = line(1, "metrics", {{"step", 1}, {"values", {{"a", 1}}}});
        const std::string second = line(2, "metrics", {{"step", 2}, {"values", {{"a", 2}}}});
        append(journal, first + second.substr(0, 20)); // the writer is mid-line
        auto s1 = ingestJournal(*store, id, journal);
        QVERIFY(s1);
        QCOMPARE(s1->events, 1);
        QCOMPARE(store->cursor(id).offset, int64_t(first.size()));
        QCOMPARE(store->metric(id, "a").size(), size_t(1));

        append(journal, second.substr(20, second.size() - 21)); // all but the newline
        QCOMPARE(ingestJournal(*store, id, journal)->events, 0);
        append(journal, "\n");
        auto s2 = ingestJournal(*store, id, journal);
        QCOMPARE(s2->events, 1);
        QCOMPARE(store->metric(id, "a").size(), size_t(2));
        QCOMPARE(store->cursor(id).offset, int64_t(first.size() + second.size()));
        QCOMPARE(store->cursor(id).seq, 2);
    }

    void malformedLinesAreSkipped()
    {
        auto store = openStore(scratch() / "malformed.db");
        const int64_t id = newRun(*store);
        const fs::path journal = store->path().parent_path() / "bad.jsonl";
        const std::string good1 = line(1, "metrics", {{"step", 1}, {"values", {{"a", 1}}}});
        const std::string broken = "{\"seq\": 2, \"type\": \"metrics\", \"step\": 2, \"val\n";
        const std::string noSeq = "{\"type\": \"log\", \"message\": \"hi\"}\n";
        const std::string badFields = line(3, "metrics", {{"values", {{"a", 3}}}}); // no step
        const std::string good2 = line(4, "metrics", {{"step", 4}, {"values", {{"a", 4}}}});
        const std::string binary = "\xff\xfe\x01 not text\n";
        append(journal, good1 + broken + "\n" + noSeq + badFields + good2 + binary);
        auto stats = ingestJournal(*store, id, journal);
        QVERIFY2(stats, stats ? "" : stats.message().c_str());
        QCOMPARE(stats->events, 2);
        QCOMPARE(stats->malformed, 4);
        QCOMPARE(store->metric(id, "a").size(), size_t(2));
        auto logs = store->logs(id);
        QCOMPARE(logs.size(), size_t(4));
        for (const auto &l : logs) {
            QCOMPARE(l.level, std::string("warning"));
            QVERIFY(!json(l.message).dump().empty()); // valid UTF-8, or this throws
        }
        const std::string at = "byte " + std::to_string(good1.size());
        QVERIFY2(contains(logs[0].message, at), logs[0].message.c_str());
        QVERIFY2(contains(logs[1].message, "seq"), logs[1].message.c_str());
        QVERIFY2(contains(logs[2].message, "seq 3") && contains(logs[2].message, "step"), logs[2].message.c_str());

        QCOMPARE(stats->skipped.size(), size_t(4)); // for whoever brought the file, as the log has them
        QCOMPARE(stats->skipped[0], logs[0].message);
        QVERIFY2(contains(logs[0].message, "is not a JSON object (bad JSON at column"), logs[0].message.c_str());

        // Handing the same bytes over again reports nothing twice.
        std::vector<std::string> text = {good1.substr(0, good1.size() - 1), broken.substr(0, broken.size() - 1), ""};
        std::vector<std::string_view> views(text.begin(), text.end());
        auto again = store->ingestLines(id, views, int64_t(good1.size() + broken.size() + 1));
        QVERIFY(again);
        QCOMPARE(again->malformed, 1);
        QCOMPARE(again->duplicates, 1);
        QCOMPARE(store->logs(id).size(), size_t(4));
    }

    // What a hand-written writer gets wrong: C's printf spellings of non-finite numbers are gaps, as Python's are;
    // a histogram of millions of bins, with lo not below hi or with negative counts, is skipped and said.
    void handWrittenEventsAreCheckedOrKept()
    {
        auto store = openStore(scratch() / "handwritten.db");
        const int64_t id = newRun(*store);
        const fs::path journal = store->path().parent_path() / "hand.jsonl";
        const auto hist = [](int64_t seq, double lo, double hi, json counts) {
            return line(seq, "histogram", {{"step", 1}, {"split", "val"}, {"name", "h" + std::to_string(seq)},
                                           {"lo", lo}, {"hi", hi}, {"counts", std::move(counts)}});
        };
        append(journal, "{\"seq\": 1, \"t\": 1.0, \"type\": \"metrics\", \"step\": 1, \"values\": {\"a\": nan, "
                        "\"b\": -inf, \"c\": 2}}\n" +
                            hist(2, 0, 1, json(std::vector<int>(10001, 1))) + hist(3, 1, 1, {1, 2}) +
                            hist(4, 0, 1, {1, -2}) + hist(5, 0, 1, {1, 2}));
        auto stats = ingestJournal(*store, id, journal);
        QVERIFY2(stats, stats ? "" : stats.message().c_str());
        QCOMPARE(stats->malformed, 3);
        QCOMPARE(store->metric(id, "c").size(), size_t(1));
        QCOMPARE(store->metric(id, "a").size(), size_t(1));
        QVERIFY(std::isnan(store->metric(id, "a")[0].value));
        QCOMPARE(store->histograms(id, "val").size(), size_t(1));
        QVERIFY2(contains(stats->skipped[0], "at most 10000"), stats->skipped[0].c_str());
    }

    // The trainer's best checkpoint sets the metric's best step (a tie broken by the loss is a later step than the
    // first evaluation with that value); a script's "best" checkpoint, which may carry the best value so far at
    // the step it saved (Lightning's callback), does not.
    void aBestCheckpointSetsTheBestStepForLabbooksTrainerOnly()
    {
        for (const bool engine : {true, false}) {
            auto store = openStore(scratch() / "kept.db");
            const int64_t id = newRun(*store);
            const fs::path journal = store->path().parent_path() / "kept.jsonl";
            json started = {{"kind", "train"}};
            if (engine)
                started["engine"] = "libtorch";
            const auto eval = [](int64_t seq, int64_t step, double f1, double loss) {
                return line(seq, "evaluation", {{"step", step}, {"split", "val"},
                                                 {"summary", {{"f1", f1}, {"loss", loss}, {"accuracy", 0.9}}}});
            };
            append(journal, line(1, "run_started", started) + eval(2, 10, 0.0, 0.5) +
                                line(3, "checkpoint", {{"step", 10}, {"kind", "best"}, {"path", "checkpoints/best.pt"},
                                                      {"metric", {{"val/f1", 0.0}}}}) +
                                eval(4, 20, 0.0, 0.3) +
                                line(5, "checkpoint", {{"step", 20}, {"kind", "best"}, {"path", "checkpoints/best.pt"},
                                                      {"metric", {{"val/f1", 0.0}}}}));
            QVERIFY(ingestJournal(*store, id, journal));
            const auto run = store->runById(id);
            QCOMPARE(run->summaryValue("best_step", "val/f1").value_or(-1), engine ? 20.0 : 10.0);
            QCOMPARE(run->summary.contains("kept_checkpoint"), engine);
        }
    }

    // A target's script trains by a config of its own (run_started's), not the experiment the run was created with:
    // merged in (new keys added, differing ones under "script"), so compare diffs it. Found by an audit: the stored
    // config said adamw and a bag model for a script that ran SGD on a linear model. Labbook's worker (the engine
    // named) and a second run_started (a resumed script) change nothing.
    void aTargetScriptsConfigIsMergedIntoTheExperiment()
    {
        auto store = openStore(scratch() / "script-config.db");
        NewRun nr;
        nr.name = "script";
        nr.config = {{"optimizer", {{"type", "adamw"}, {"lr", 0.003}}}, {"data", {{"path", "a.jsonl"}}}};
        nr.configHash = "experiment";
        const int64_t id = store->createRun(nr)->id;
        const fs::path journal = store->path().parent_path() / "script-config.jsonl";
        const json script = {{"optimizer", "sgd"}, {"data", {{"path", "a.jsonl"}}}, {"args", {{"lr", 0.5}}}};
        append(journal, line(1, "run_started", {{"config", script}, {"version", "labbook-python 0.1.0"}}) +
                            line(2, "run_started", {{"config", script}, {"resumed", true}}));
        QVERIFY(ingestJournal(*store, id, journal));
        const auto run = store->runById(id);
        const json expected = {{"optimizer", {{"type", "adamw"}, {"lr", 0.003}}},
                               {"data", {{"path", "a.jsonl"}}},
                               {"args", {{"lr", 0.5}}},
                               {"script", {{"optimizer", "sgd"}}}};
        QCOMPARE(run->config, expected);
        QVERIFY(run->configHash != "experiment");
        QCOMPARE(run->byWorker(), std::optional<bool>(false));
        // A script whose config has a "script" of its own (the example's did): its differences go beside it.
        const int64_t nested = store->createRun(nr)->id;
        const fs::path nestedJournal = store->path().parent_path() / "nested-config.jsonl";
        const json withScript = {{"optimizer", "sgd"}, {"script", {{"lr", 0.5}}}};
        append(nestedJournal, line(1, "run_started", {{"config", withScript}}) +
                                  line(2, "run_started", {{"config", withScript}}));
        QVERIFY(ingestJournal(*store, nested, nestedJournal));
        QCOMPARE(store->runById(nested)->config["script"], withScript["script"]);
        QCOMPARE(store->runById(nested)->config["script_config"], (json{{"optimizer", "sgd"}}));
        // Key by key at every depth: an experiment file's partial "model" takes the script's other keys, and only a
        // value set otherwise goes under "script" (the whole object went there).
        NewRun partial = nr;
        partial.config = {{"model", {{"type", "bag"}, {"dropout", 0.2}}}};
        const int64_t deep = store->createRun(partial)->id;
        const fs::path deepJournal = store->path().parent_path() / "deep-config.jsonl";
        append(deepJournal, line(1, "run_started",
                                 {{"config", {{"model", {{"type", "bag"}, {"dropout", 0.5}, {"dim", 64}}}}}}));
        QVERIFY(ingestJournal(*store, deep, deepJournal));
        const json merged = {{"model", {{"type", "bag"}, {"dropout", 0.2}, {"dim", 64}}},
                             {"script", {{"model", {{"dropout", 0.5}}}}}};
        QCOMPARE(store->runById(deep)->config, merged);

        const int64_t worker = store->createRun(nr)->id; // Labbook's worker sends the experiment it was given
        const fs::path workerJournal = store->path().parent_path() / "worker-config.jsonl";
        append(workerJournal, line(1, "run_started", {{"config", script}, {"engine", "LibTorch"}}));
        QVERIFY(ingestJournal(*store, worker, workerJournal));
        QCOMPARE(store->runById(worker)->config, nr.config);
        QCOMPARE(store->runById(worker)->byWorker(), std::optional<bool>(true));
    }

    // A store moved with its runs folder beside it (as STORE.md lays them out) finds its runs' folders by uid: the
    // recorded absolute path is gone. A folder that is still where it was recorded is left as it is.
    void aMovedStoreFindsItsRunFolders()
    {
        const fs::path base = scratch(), before = base / "move-from", after = base / "move-to";
        fs::create_directories(before);
        std::string uid;
        {
            auto store = openStore(before / "lab.db");
            uid = "0123456789ab";
            NewRun nr;
            nr.uid = uid;
            nr.runDir = (store->runsRoot() / uid).string(); // as the launchers lay a run out
            QVERIFY(store->createRun(nr));
            fs::create_directories(nr.runDir);
        }
        fs::rename(before, after);
        auto store = openStore(after / "lab.db");
        const auto run = store->run(uid);
        QVERIFY(run);
        QCOMPARE(fs::path(run->runDir), after / "lab.runs" / uid);
        QCOMPARE(fs::path(store->runs().at(0).runDir), after / "lab.runs" / uid);
    }

    // A seq out of order in new bytes (one edited line, a writer that restarted its count) costs nothing: the
    // events after it are stored with one warning; it dropped every later event, finished included, without a word.
    // Bytes read again are still skipped as repeats.
    void outOfOrderSeqLosesNothing()
    {
        auto store = openStore(scratch() / "order.db");
        const int64_t id = newRun(*store);
        const fs::path journal = store->path().parent_path() / "order.jsonl";
        const std::string first = line(1, "metrics", {{"step", 1}, {"values", {{"a", 1}}}});
        const std::string jump = line(1011, "metrics", {{"step", 2}, {"values", {{"a", 2}}}});
        const std::string rest = line(3, "metrics", {{"step", 3}, {"values", {{"a", 3}}}}) +
                                 line(4, "log", {{"message", "after"}}) + line(5, "finished", {{"step", 3}});
        append(journal, first + jump + rest);
        auto stats = ingestJournal(*store, id, journal);
        QVERIFY2(stats, stats ? "" : stats.message().c_str());
        QCOMPARE(stats->events, 5);
        QCOMPARE(store->metric(id, "a").size(), size_t(3));
        QCOMPARE(store->runById(id)->status, RunStatus::Finished);
        const auto logs = store->logs(id);
        const auto warning = std::find_if(logs.begin(), logs.end(), [](const auto &l) { return l.level == "warning"; });
        QVERIFY(warning != logs.end());
        QVERIFY2(contains(warning->message, "byte " + std::to_string(first.size() + jump.size()) + " has seq 3, not above the 1011"),
                 warning->message.c_str());

        auto replay = replayWholeJournal(*store, id, journal);
        QVERIFY(replay);
        QCOMPARE(replay->events, 0);
        QCOMPARE(replay->duplicates, 5);
        QCOMPARE(store->metric(id, "a").size(), size_t(3));
        // Later batches still below the highest seq are stored too, without a second warning.
        append(journal, line(6, "metrics", {{"step", 4}, {"values", {{"a", 4}}}}));
        QCOMPARE(ingestJournal(*store, id, journal)->events, 1);
        QCOMPARE(store->metric(id, "a").size(), size_t(4));
        const auto after = store->logs(id);
        QCOMPARE(std::count_if(after.begin(), after.end(), [](const auto &l) { return l.level == "warning"; }), 1);
    }

    // A script that logs its evaluations as metrics ("val/accuracy" with run.log()) gets the same summary as one
    // that writes evaluation events: the last value as final, the best with its step; other keys are only series.
    void splitMetricsMakeTheSummary()
    {
        auto store = openStore(scratch() / "split-metrics.db");
        const int64_t id = newRun(*store);
        const fs::path journal = store->path().parent_path() / "split-metrics.jsonl";
        append(journal, line(1, "metrics", {{"step", 10}, {"values", {{"val/accuracy", 0.5}, {"val/loss", 1.2}}}}) +
                            line(2, "metrics", {{"step", 20}, {"values", {{"val/accuracy", 0.7}, {"val/loss", 0.9}}}}) +
                            line(3, "metrics", {{"step", 30}, {"values", {{"val/accuracy", 0.6}, {"val/loss", 1.0},
                                                                         {"train/loss", 0.3}}}}) +
                            line(4, "metrics", {{"step", 30}, {"values", {{"test/accuracy", 0.65}}}}));
        QVERIFY(ingestJournal(*store, id, journal));
        const json summary = store->runById(id)->summary;
        QCOMPARE(summary["final"]["val/accuracy"].get<double>(), 0.6);
        QCOMPARE(summary["best"]["val/accuracy"].get<double>(), 0.7);
        QCOMPARE(summary["best_step"]["val/accuracy"].get<int>(), 20);
        QCOMPARE(summary["best"]["val/loss"].get<double>(), 0.9); // lower is better
        QCOMPARE(summary["final"]["test/accuracy"].get<double>(), 0.65);
        QCOMPARE(summary["final_step"]["val/accuracy"].get<int>(), 30); // the last evaluation's, for lbk show
        QVERIFY(!summary["final"].contains("train/loss"));
    }

    // A metric value written as text (or a flag) is a gap, as NaN is, and said once per run and key, over
    // batches (it was stored NULL without a word).
    void aMetricThatIsNoNumberIsSaid()
    {
        auto store = openStore(scratch() / "text-metric.db");
        const int64_t id = newRun(*store);
        const fs::path journal = store->path().parent_path() / "text-metric.jsonl";
        append(journal, line(1, "metrics", {{"step", 1}, {"values", {{"acc", "0.93"}, {"loss", 0.5}}}}) +
                            line(2, "metrics", {{"step", 2}, {"values", {{"acc", "0.94"}, {"loss", 0.4}}}}));
        QVERIFY(ingestJournal(*store, id, journal));
        append(journal, line(3, "metrics", {{"step", 3}, {"values", {{"acc", true}}}}));
        QVERIFY(ingestJournal(*store, id, journal));
        QCOMPARE(store->metric(id, "loss").size(), size_t(2));
        const auto logs = store->logs(id);
        std::vector<std::string> warnings;
        for (const auto &l : logs)
            if (l.level == "warning")
                warnings.push_back(l.message);
        QCOMPARE(warnings.size(), size_t(1));
        QVERIFY2(contains(warnings[0], "'acc' is not a number (it is \"0.93\"); stored as gaps"), warnings[0].c_str());
        // A key is matched as written, not as a LIKE pattern: "val_f1" is not taken as said by "valXf1"'s warning.
        append(journal, line(4, "metrics", {{"step", 4}, {"values", {{"valXf1", "x"}}}}));
        QVERIFY(ingestJournal(*store, id, journal));
        append(journal, line(5, "metrics", {{"step", 5}, {"values", {{"val_f1", "y"}}}}));
        QVERIFY(ingestJournal(*store, id, journal));
        const auto later = store->logs(id);
        QCOMPARE(std::count_if(later.begin(), later.end(), [](const auto &l) { return l.level == "warning"; }), 3);
    }

    // Pages of the file damaged under a run's metrics: the read returns what came before the damage, and
    // takeStoreDamage() says so, naming the file (the CLI and the GUI ask it after their reads).
    void damagedPagesAreReported()
    {
        const fs::path db = scratch() / "damaged.db";
        int64_t id = 0;
        {
            auto store = openStore(db);
            id = newRun(*store);
            std::string text;
            for (int64_t i = 1; i <= 20000; ++i)
                text += line(i, "metrics", {{"step", i}, {"values", {{"a", double(i)}, {"b", 0.5}}}});
            append(db.parent_path() / "big.jsonl", text);
            QVERIFY(ingestJournal(*store, id, db.parent_path() / "big.jsonl"));
            QCOMPARE(store->metric(id, "a").size(), size_t(20000));
        }
        QVERIFY(!takeStoreDamage());
        const auto size = int64_t(fs::file_size(db));
        {
            std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
            std::mt19937 random(7);
            for (int64_t at = size / 2; at < size * 9 / 10; ++at) {
                f.seekp(at);
                f.put(char(random()));
            }
        }
        auto store = openStore(db);
        const auto points = store->metric(id, "a");
        QVERIFY(points.size() < 20000);
        const auto damage = takeStoreDamage();
        QVERIFY(damage);
        QVERIFY2(contains(damage->message, db.string() + ": the store is damaged (database disk image is malformed)"),
                 damage->message.c_str());
        QCOMPARE(damage->file, fs::absolute(db).string());
        QVERIFY(!takeStoreDamage()); // taken
    }

    void truncatedJournalIsAnError()
    {
        auto store = openStore(scratch() / "trunc.db");
        const int64_t id = newRun(*store);
        const fs::path journal = store->path().parent_path() / "j.jsonl";
        append(journal, line(1, "log", {{"message", "a"}}) + line(2, "log", {{"message", "b"}}));
        QVERIFY(ingestJournal(*store, id, journal));
        fs::resize_file(journal, 10);
        auto r = ingestJournal(*store, id, journal);
        QVERIFY(!r);
        QVERIFY2(contains(r.message(), "truncated or replaced") && contains(r.message(), journal.string()),
                 r.message().c_str());
        fs::remove(journal);
        auto gone = ingestJournal(*store, id, journal);
        QVERIFY(!gone);
        QVERIFY2(contains(gone.message(), "gone"), gone.message().c_str());
        QVERIFY(!store->ingestLines(id + 1000, {}, 0)); // no such run
    }

    void longLinesAndLargePredictions()
    {
        // One predictions event larger than the ingester's 4 MB chunk, and filters over its 40k rows (the
        // benchmark times 100k).
        auto store = openStore(scratch() / "big.db");
        const int64_t id = newRun(*store);
        const fs::path journal = store->path().parent_path() / "big.jsonl";
        const int n = 40000;
        json rows = json::array();
        for (int i = 0; i < n; ++i) {
            const double p = double(i % 1000) / 1000.0;
            const std::string truth = i % 3 == 0 ? "cs.AI" : "cs.LG";
            const std::string pred = i % 2 == 0 ? "cs.AI" : "cs.LG";
            rows.push_back({{"id", "2401." + std::to_string(10000 + i)},
                            {"title", i % 1000 == 7 ? "A Needle in the Haystack" : "Some paper title number " + std::to_string(i)},
                            {"truth", {truth}},
                            {"top", topk({{pred, p}, {"cs.CV", 1 - p}})},
                            {"correct", truth == pred},
                            {"p_true", truth == pred ? p : 1 - p}});
        }
        const std::string big = line(1, "predictions", {{"step", 5}, {"split", "val"}, {"rows", rows}});
        QVERIFY(big.size() > 5u << 20);
        append(journal, big + line(2, "log", {{"message", "after"}}));
        QElapsedTimer timer;
        timer.start();
        auto stats = ingestJournal(*store, id, journal);
        QVERIFY2(stats, stats ? "" : stats.message().c_str());
        QCOMPARE(stats->events, 2);
        qInfo("ingested %d predictions in %lld ms", n, timer.restart());
        QCOMPARE(store->predictionCount(id), n);

        auto top = store->predictions(id, {.misclassifiedOnly = true, .limit = 50});
        QCOMPARE(top.size(), size_t(50));
        QCOMPARE(top.front().top[0].second, 0.999);
        for (size_t i = 0; i < top.size(); ++i) {
            QVERIFY(!top[i].correct);
            QVERIFY(i == 0 || top[i].top[0].second <= top[i - 1].top[0].second);
        }
        const qint64 firstQuery = timer.restart();
        auto needles = store->predictions(id, {.trueLabel = "cs.AI", .text = "needle"});
        const qint64 textQuery = timer.restart();
        for (const auto &r : needles) {
            QCOMPARE(r.truth.front(), std::string("cs.AI"));
            QCOMPARE(r.title, std::string("A Needle in the Haystack"));
        }
        QCOMPARE(needles.size(), size_t(std::count_if(rows.begin(), rows.end(), [](const json &r) {
                     return r["title"] == "A Needle in the Haystack" && r["truth"][0] == "cs.AI";
                 })));
        auto band = store->predictions(id, {.predictedLabel = "cs.LG", .minConfidence = 0.2505, .maxConfidence = 0.2515});
        QCOMPARE(band.size(), size_t(n / 1000)); // p = 0.251 for one row in 1000, all predicted cs.LG (odd)
        qInfo("queries over %d rows: most confident mistakes %lld ms, label+title %lld ms", n, firstQuery, textQuery);
    }

    void readerBesideWriter()
    {
        const fs::path db = scratch() / "concurrent.db";
        int64_t id = 0;
        {
            auto store = openStore(db);
            id = newRun(*store);
        }
        constexpr int kBatches = 200, kLines = 50;
        std::atomic<bool> done{false};
        std::atomic<int> writerErrors{0}, readerErrors{0}, reads{0};
        std::string firstWriterError, firstReaderError;

        std::thread writer([&] {
            auto store = Store::open(db);
            if (!store) {
                firstWriterError = store.message();
                ++writerErrors;
                done = true;
                return;
            }
            int64_t seq = 0, offset = 0;
            for (int b = 0; b < kBatches; ++b) {
                std::vector<std::string> text;
                for (int i = 0; i < kLines; ++i) {
                    ++seq;
                    text.push_back(line(seq, "metrics", {{"step", seq}, {"values", {{"loss", 1.0 / double(seq)}}}}));
                    offset += int64_t(text.back().size());
                }
                std::vector<std::string_view> views;
                for (auto &t : text)
                    views.emplace_back(t.data(), t.size() - 1);
                auto r = (*store)->ingestLines(id, views, offset);
                if (!r) {
                    if (writerErrors++ == 0)
                        firstWriterError = r.message();
                }
            }
            done = true;
        });
        std::thread reader([&] {
            auto store = Store::open(db);
            if (!store) {
                firstReaderError = store.message();
                ++readerErrors;
                return;
            }
            size_t last = 0;
            while (!done) {
                const size_t n = (*store)->metric(id, "loss").size();
                if (n < last || n % kLines != 0) { // never shrinking, never half a batch
                    if (readerErrors++ == 0)
                        firstReaderError = "saw " + std::to_string(n) + " points after " + std::to_string(last);
                }
                last = n;
                ++reads;
                if ((*store)->runs().size() != 1)
                    ++readerErrors;
            }
        });
        writer.join();
        reader.join();
        QVERIFY2(writerErrors == 0, firstWriterError.c_str());
        QVERIFY2(readerErrors == 0, firstReaderError.c_str());
        QVERIFY(reads > 0);
        auto store = openStore(db);
        QCOMPARE(store->metric(id, "loss").size(), size_t(kBatches * kLines));
        QCOMPARE(store->runById(id)->lastStep, kBatches * kLines);
    }

    void twoIngestersOneJournal()
    {
        // Two ingesters (say, the GUI's and `lbk watch`) tail the same journal while the worker appends to it.
        const fs::path db = scratch() / "two.db";
        const fs::path journal = db.parent_path() / "journal.jsonl";
        int64_t id = 0;
        {
            auto store = openStore(db);
            id = newRun(*store);
        }
        constexpr int kLines = 3000;
        std::atomic<bool> written{false};
        std::atomic<int> errors{0};
        std::string firstError;
        std::thread worker([&] {
            std::ofstream out(journal, std::ios::binary | std::ios::app);
            for (int i = 1; i <= kLines; ++i) {
                const std::string l = line(i, "metrics", {{"step", i}, {"values", {{"x", i}}}});
                // Written in two pieces, so the ingesters see half lines.
                out << l.substr(0, l.size() / 2) << std::flush;
                out << l.substr(l.size() / 2) << std::flush;
            }
            out << line(kLines + 1, "finished", {{"step", kLines}}) << std::flush;
            written = true;
        });
        auto tail = [&] {
            auto store = Store::open(db);
            if (!store) {
                ++errors;
                return;
            }
            for (bool last = false; !last;) {
                last = written;
                auto r = ingestJournal(**store, id, journal);
                if (!r && errors++ == 0)
                    firstError = r.message();
            }
        };
        std::thread a(tail), b(tail);
        worker.join();
        a.join();
        b.join();
        QVERIFY2(errors == 0, firstError.c_str());
        auto store = openStore(db);
        const auto points = store->metric(id, "x");
        QCOMPARE(points.size(), size_t(kLines));
        for (int i = 0; i < kLines; ++i)
            QCOMPARE(points[size_t(i)].value, double(i + 1));
        QCOMPARE(store->runById(id)->status, RunStatus::Finished);
        QCOMPARE(store->cursor(id).offset, int64_t(fs::file_size(journal)));
        QVERIFY(store->logs(id).empty()); // no half line was ever taken for a bad one
    }

    void deleteCascades()
    {
        auto store = openStore(scratch() / "delete.db");
        const int64_t gone = newRun(*store, "gone");
        const int64_t kept = newRun(*store, "kept");
        const fs::path journal = store->path().parent_path() / "j.jsonl";
        append(journal, fullJournal("x"));
        QVERIFY(ingestJournal(*store, gone, journal));
        QVERIFY(ingestJournal(*store, kept, journal));
        QVERIFY(store->deleteRun(gone));
        QVERIFY(!store->runById(gone));
        for (const char *table : {"metrics", "evaluations", "histograms", "predictions", "examples", "lr_points",
                                  "artifacts", "logs", "ingest_cursor"}) {
            const std::string where = std::string(" FROM ") + table + " WHERE run = ";
            QVERIFY2(count(*store, "SELECT count(*)" + where + std::to_string(gone)) == 0, table);
            QVERIFY2(count(*store, "SELECT count(*)" + where + std::to_string(kept)) > 0, table);
        }
        QCOMPARE(store->runCount(), 1);
        // Ids are not reused: a later run never inherits a deleted run's id.
        const int64_t newest = newRun(*store, "newest");
        QVERIFY(store->deleteRun(newest));
        QVERIFY(newRun(*store, "later") > newest);
    }

    void cleanupTestCase() { m_tmp.reset(); }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
