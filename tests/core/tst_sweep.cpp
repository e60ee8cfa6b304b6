// core/sweep: the sweep file and its errors, the trials a grid or a seeded random search draws, and early stopping
// (ASHA and the median rule) on synthetic learning curves, against outcomes computed by hand.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "launch/targets.h"
#include "store/store.h"
#include "sweep/forest.h"
#include "sweep/groups.h"
#include "sweep/pruner.h"
#include "sweep/scheduler.h"
#include "sweep/overview.h"
#include "sweep/searchspace.h"
#include "sweep/sweepbest.h"
#include "sweep/sweepspec.h"

using namespace lbk;
using nlohmann::json;

namespace {

json baseExperiment()
{
    return json::parse(R"({"name": "base", "data": {"path": "arxiv/arxiv-sample-5k.jsonl"},
                           "model": {"type": "bag"}, "optimizer": {"lr": 0.01}})");
}

json sweepJson()
{
    json j;
    j["experiment"] = baseExperiment();
    j["trials"] = 8;
    j["parameters"] = {{"optimizer.lr", {{"log_uniform", {1e-4, 1e-1}}}},
                       {"model.dropout", {{"uniform", {0.0, 0.5}}, {"step", 0.1}}},
                       {"model.embedding_dim", {{"values", {32, 64, 128}}}},
                       {"training.batch_size", {{"int_uniform", {16, 64}}, {"step", 16}}}};
    return j;
}

SweepSpec parse(const json &j)
{
    auto s = sweepFromJson(j, ".");
    if (!s)
        qFatal("%s", s.message().c_str());
    return *s;
}

// A store of its own in a fresh folder under the test's scratch space.
std::unique_ptr<Store> scratchStore(const std::string &name)
{
    const std::filesystem::path dir = std::filesystem::path(LABBOOK_TEST_TMP) / name;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto store = Store::open(dir / "store.db");
    if (!store)
        qFatal("%s", store.message().c_str());
    return std::move(*store);
}

TrialProgress curve(int index, std::vector<TrialPoint> points) { return TrialProgress{index, std::move(points)}; }

EarlyStoppingSpec ashaRule(double eta = 3, double minResource = 1)
{
    EarlyStoppingSpec r;
    r.type = PrunerType::Asha;
    r.eta = eta;
    r.minResource = minResource;
    return r;
}

} // namespace

class TestSweep : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parsesASweep()
    {
        const SweepSpec s = parse(sweepJson());
        QCOMPARE(s.parameters.size(), size_t(4));
        QCOMPARE(QString::fromStdString(s.parameters[0].key), QStringLiteral("model.dropout")); // sorted by key
        QVERIFY(s.method == SweepMethod::Random);
        QCOMPARE(s.trials, 8);
        QCOMPARE(QString::fromStdString(s.metric), QStringLiteral("val/macro_f1")); // the base's evaluation.metric
        QVERIFY(s.maximize);
        QCOMPARE(s.parallel, 1);
        QVERIFY(s.earlyStopping.type == PrunerType::None);
        QCOMPARE(QString::fromStdString(s.name), QStringLiteral("base-sweep"));
        json j = sweepJson();
        j["metric"] = "val/loss";
        j["early_stopping"] = {{"type", "asha"}, {"eta", 2}, {"min_resource", 2}};
        const SweepSpec loss = parse(j);
        QVERIFY(!loss.maximize); // a loss is minimised unless the file says otherwise
        QVERIFY(loss.earlyStopping.type == PrunerType::Asha);
        QCOMPARE(loss.earlyStopping.eta, 2.0);
        QCOMPARE(loss.earlyStopping.minResource, 2.0);
    }

    void namesEveryProblem_data()
    {
        QTest::addColumn<QString>("patch"); // merged into a valid sweep
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown key") << R"({"trails": 3})" << "trails: unknown key; did you mean \"trials\"?";
        QTest::newRow("mistyped key") << R"({"parameters": {"optimizer.lrr": {"values": [1]}}})"
                                      << "parameters.optimizer.lrr: not an experiment key; did you mean \"optimizer.lr\"?";
        QTest::newRow("not a key") << R"({"parameters": {"optimizer.rate": {"values": [1]}}})"
                                   << "parameters.optimizer.rate: not an experiment key";
        QTest::newRow("the key without its section") << R"({"parameters": {"lr": {"values": [1]}}})"
                                                     << "parameters.lr: not an experiment key; did you mean "
                                                        "\"optimizer.lr\"?";
        QTest::newRow("the labels") << R"({"parameters": {"labels.positive": {"values": [["cs.CV"], ["cs.RO"]]}}})"
                                    << "parameters.labels.positive: changes what the trials predict or the papers "
                                       "they are scored on, so one metric cannot rank them";
        QTest::newRow("the papers") << R"({"parameters": {"data.limit": {"values": [1000, 2000]}}})"
                                    << "parameters.data.limit: changes what the trials predict or the papers";
        QTest::newRow("uniform on an int") << R"({"parameters": {"model.embedding_dim": {"uniform": [8, 64]}}})"
                                           << "parameters.model.embedding_dim.uniform: not for an integer key";
        QTest::newRow("a value twice in a grid")
            << R"({"method": "grid", "parameters": {"training.seed": {"values": [13, 14, 13]}}})"
            << "parameters.training.seed.values[2]: 13 is given twice: a grid would run the same trial twice";
        QTest::newRow("a step wider than its range")
            << R"({"parameters": {"model.dropout": {"uniform": [0, 0.5], "step": 0.7}}})"
            << "parameters.model.dropout.step: is wider than the range (0 to 0.5): only 0 would be drawn";
        QTest::newRow("out of the schema's range") << R"({"parameters": {"model.dropout": {"uniform": [0.1, 1.5]}}})"
                                                   << "parameters.model.dropout.uniform[1]:";
        QTest::newRow("log from zero") << R"({"parameters": {"optimizer.lr": {"log_uniform": [0, 0.1]}}})"
                                       << "must start above 0";
        QTest::newRow("bad value") << R"({"parameters": {"model.type": {"values": ["bag", "lstm"]}}})"
                                   << "parameters.model.type.values[1]:";
        QTest::newRow("two kinds") << R"({"parameters": {"optimizer.lr": {"values": [0.1], "log_uniform": [1, 2]}}})"
                                   << "exactly one of";
        QTest::newRow("around on another key")
            << R"({"parameters": {"model.dropout": {"around_lr_finder": 10}}})" << "only optimizer.lr";
        QTest::newRow("centre without around")
            << R"({"parameters": {"optimizer.lr": {"log_uniform": [0.01, 0.1], "centre": 0.1}}})"
            << "parameters.optimizer.lr.centre: only around_lr_finder";
        QTest::newRow("centre at 0") << R"({"parameters": {"optimizer.lr": {"around_lr_finder": 3, "centre": 0}}})"
                                     << "parameters.optimizer.lr.centre: must be a multiple";
        QTest::newRow("centre above ten times the suggestion")
            << R"({"parameters": {"optimizer.lr": {"around_lr_finder": 3, "centre": 11}}})"
            << "parameters.optimizer.lr.centre: must be a multiple";
        QTest::newRow("continuous grid") << R"({"method": "grid"})" << "parameters.optimizer.lr: a grid needs values";
        QTest::newRow("eta") << R"({"early_stopping": {"type": "asha", "eta": 1}})" << "early_stopping.eta: must be";
        QTest::newRow("pruner") << R"({"early_stopping": {"type": "hyperband"}})" << "early_stopping.type: must be one of";
        QTest::newRow("base") << R"({"experiment": {"name": "x", "optimizer": {"lr": -1}}})" << "experiment: optimizer.lr";
        QTest::newRow("parallel") << R"({"parallel": 0})" << "parallel: must be a whole number from 1 to 256";
        QTest::newRow("name") << R"({"name": 5})" << "name: must be a non-empty string";
        QTest::newRow("huge grid") << R"({"method": "grid", "parameters": {"training.epochs": {"int_uniform": [1, 1000]},
            "training.batch_size": {"int_uniform": [1, 1000]}}})" << "parameters: the grid holds 1000000 combinations";
    }

    void namesEveryProblem()
    {
        QFETCH(QString, patch);
        QFETCH(QString, expected);
        json j = sweepJson();
        const json changes = json::parse(patch.toStdString());
        for (const auto &[k, v] : changes.items())
            j[k] = v; // "parameters" replaces them all
        const auto s = sweepFromJson(j, ".");
        QVERIFY(!s);
        QVERIFY2(QString::fromStdString(s.message()).contains(expected), s.message().c_str());
        QVERIFY(s.error().badInput);
        const auto missing = sweepFromJson(json{{"experiment", baseExperiment()}, {"parameters", sweepJson()["parameters"]}}, ".");
        QVERIFY(!missing);
        QVERIFY2(missing.message().find("trials: missing") != std::string::npos, missing.message().c_str());
    }

    // Found by an audit: lbk validate passed sweeps that lbk sweep then refused (a trial's heads not dividing its
    // width), and a swept key no trial uses ran the same experiment under each of its values.
    void checksEveryTrial()
    {
        json j;
        j["experiment"] = baseExperiment();
        j["method"] = "grid";
        j["parameters"] = {{"model.type", {{"values", {"bag", "transformer"}}}},
                           {"model.heads", {{"values", {4, 5}}}}};
        j["experiment"]["model"]["embedding_dim"] = 48;
        const auto invalid = checkTrials(parse(j));
        QVERIFY(!invalid && invalid.error().badInput);
        QVERIFY2(invalid.message().find("trial 4 ({\"model.heads\":5,\"model.type\":\"transformer\"}) is not a "
                                        "valid experiment") != std::string::npos, invalid.message().c_str());
        j["parameters"]["model.heads"] = {{"values", {4, 6}}};
        QVERIFY2(checkTrials(parse(j)), "every trial valid");
        j["parameters"] = {{"model.hidden", {{"values", {64, 128}}}}}; // a bag model has no hidden layer
        const auto unused = checkTrials(parse(j));
        QVERIFY(!unused);
        QVERIFY2(unused.message().find("parameters.model.hidden: no trial uses it (only when model.type=gru") !=
                     std::string::npos, unused.message().c_str());
        j["parameters"]["model.type"] = {{"values", {"bag", "gru"}}}; // used by the GRU trials
        QVERIFY2(checkTrials(parse(j)), "model.hidden used where model.type is gru");
        json around = sweepJson(); // around_lr_finder unresolved: checked around the base's rate
        around["parameters"] = {{"optimizer.lr", {{"around_lr_finder", 10}}}};
        QVERIFY2(checkTrials(parse(around)), "around_lr_finder checked without its suggestion");
    }

    // The product of the keys' values, the last key fastest, cut to the budget.
    void gridEnumerates()
    {
        json j;
        j["experiment"] = baseExperiment();
        j["method"] = "grid";
        j["parameters"] = {{"model.type", {{"values", {"bag", "cnn"}}}},
                           {"training.epochs", {{"int_uniform", {1, 3}}}}};
        SweepSpec s = parse(j);
        QCOMPARE(gridSize(s), size_t(6));
        const auto trials = sweepTrials(s);
        const std::vector<json> expected = {
            {{"model.type", "bag"}, {"training.epochs", 1}}, {{"model.type", "bag"}, {"training.epochs", 2}},
            {{"model.type", "bag"}, {"training.epochs", 3}}, {{"model.type", "cnn"}, {"training.epochs", 1}},
            {{"model.type", "cnn"}, {"training.epochs", 2}}, {{"model.type", "cnn"}, {"training.epochs", 3}}};
        QCOMPARE(trials.size(), expected.size());
        for (size_t i = 0; i < trials.size(); ++i)
            QCOMPARE(QString::fromStdString(trials[i].dump()), QString::fromStdString(expected[i].dump()));
        s.trials = 4;
        QCOMPARE(sweepTrials(s).size(), size_t(4));
        json stepped = j;
        stepped["parameters"] = {{"model.dropout", {{"uniform", {0.0, 0.3}}, {"step", 0.1}}}};
        const auto dropouts = sweepTrials(parse(stepped));
        QCOMPARE(dropouts.size(), size_t(4)); // 0, 0.1, 0.2, 0.3: the end is in
        QCOMPARE(dropouts[3]["model.dropout"].get<double>(), 0.3);
        ParamSpec across; // a range across zero lands on zero, not on its rounding error
        across.kind = ParamKind::Uniform;
        across.low = -0.3;
        across.high = 0.3;
        across.step = 0.1;
        const auto values = gridValues(across);
        QCOMPARE(values.size(), size_t(7));
        QCOMPARE(values[3].get<double>(), 0.0);
    }

    // Seeded and reproducible; a trial's values depend on the seed and its index (and on earlier trials only when
    // it would repeat one); more trials leave the first ones as they were; every value in its range.
    void randomIsSeededAndReproducible()
    {
        const SweepSpec s = parse(sweepJson());
        const auto a = sweepTrials(s), b = sweepTrials(s);
        QCOMPARE(a.size(), size_t(8));
        QCOMPARE(QString::fromStdString(json(a).dump()), QString::fromStdString(json(b).dump()));
        SweepSpec more = s;
        more.trials = 20;
        const auto c = sweepTrials(more);
        for (size_t i = 0; i < a.size(); ++i)
            QCOMPARE(QString::fromStdString(c[i].dump()), QString::fromStdString(a[i].dump()));
        SweepSpec other = s;
        other.seed = 2;
        QVERIFY(json(sweepTrials(other)).dump() != json(a).dump());
        more.trials = 2000;
        std::vector<double> lrs;
        std::set<int> embeddings, batches;
        for (const auto &t : sweepTrials(more)) {
            const double lr = t["optimizer.lr"].get<double>(), dropout = t["model.dropout"].get<double>();
            QVERIFY(lr >= 1e-4 && lr <= 1e-1);
            QVERIFY(std::abs(dropout * 10 - std::round(dropout * 10)) < 1e-9 && dropout >= 0 && dropout <= 0.5);
            embeddings.insert(t["model.embedding_dim"].get<int>());
            batches.insert(t["training.batch_size"].get<int>());
            lrs.push_back(lr);
        }
        QCOMPARE(embeddings, (std::set<int>{32, 64, 128}));
        QCOMPARE(batches, (std::set<int>{16, 32, 48, 64}));
        // Log-uniform: the median is near the geometric mean of the ends (3.2e-3), a quarter below 1e-3 or so.
        std::sort(lrs.begin(), lrs.end());
        QVERIFY2(lrs[1000] > 2.2e-3 && lrs[1000] < 4.5e-3, qPrintable(QString::number(lrs[1000])));
        const auto below = std::count_if(lrs.begin(), lrs.end(), [](double x) { return x < 1e-3; });
        QVERIFY2(below > 560 && below < 780, qPrintable(QString::number(below)));
    }

    // A random sweep over a few discrete values draws each combination once before it repeats any, and says when
    // it must repeat; a grid says when `trials` cuts it or asks for more than it holds.
    void randomDoesNotRepeatWhileItCanAndSweepsSayWhatTheyRun()
    {
        json j;
        j["experiment"] = baseExperiment();
        j["trials"] = 6;
        j["parameters"] = {{"model.embedding_dim", {{"values", {32, 64, 128}}}},
                           {"training.batch_size", {{"values", {16, 32}}}}};
        const auto six = sweepTrials(parse(j));
        std::set<std::string> distinct;
        for (const auto &t : six)
            distinct.insert(t.dump());
        QCOMPARE(distinct.size(), size_t(6));
        QVERIFY(sweepNotices(parse(j)).empty());
        j["trials"] = 8;
        const auto eight = sweepTrials(parse(j));
        QCOMPARE(eight.size(), size_t(8));
        for (size_t i = 0; i < six.size(); ++i) // more trials leave the first ones as they were
            QCOMPARE(QString::fromStdString(eight[i].dump()), QString::fromStdString(six[i].dump()));
        auto notices = sweepNotices(parse(j));
        QCOMPARE(notices.size(), size_t(1));
        QVERIFY2(notices[0].find("hold only 6 distinct combinations") != std::string::npos, notices[0].c_str());
        j["method"] = "grid";
        notices = sweepNotices(parse(j));
        QCOMPARE(notices.size(), size_t(1));
        QVERIFY2(notices[0].find("8 trials asked for, but the grid holds only 6 combinations: the sweep runs 6 trials") != std::string::npos,
                 notices[0].c_str());
        j["trials"] = 4;
        notices = sweepNotices(parse(j));
        QCOMPARE(notices.size(), size_t(1));
        QVERIFY2(notices[0].find("the first 4 of the grid's 6") != std::string::npos, notices[0].c_str());
        j.erase("trials");
        QVERIFY(sweepNotices(parse(j)).empty());
        j["method"] = "random";
        j["trials"] = 50;
        j["parameters"]["optimizer.lr"] = {{"log_uniform", {1e-4, 1e-1}}}; // continuous: never said to repeat
        QVERIFY(sweepNotices(parse(j)).empty());
        // A metric Labbook's trainer does not record is said, with the key it was probably meant to be.
        j["metric"] = "val/acuracy";
        notices = sweepNotices(parse(j));
        QCOMPARE(notices.size(), size_t(1));
        QVERIFY2(notices[0].find("did you mean \"val/accuracy\"?") != std::string::npos, notices[0].c_str());
        j.erase("metric");
        // As many trials as combinations: each once, even where 64 redraws would not find the last ones.
        json full;
        full["experiment"] = baseExperiment();
        full["trials"] = 200;
        full["parameters"] = {{"training.batch_size", {{"int_uniform", {1, 20}}}},
                              {"training.epochs", {{"int_uniform", {1, 10}}}}};
        std::set<std::string> all;
        for (const auto &t : sweepTrials(parse(full)))
            all.insert(t.dump());
        QCOMPARE(all.size(), size_t(200));
        // A value written twice is one value: [32, 32, 64] and two sizes hold 4 combinations, not 6.
        full["trials"] = 5;
        full["parameters"] = {{"model.embedding_dim", {{"values", {32, 32, 64}}}},
                              {"training.batch_size", {{"values", {16, 32}}}}};
        notices = sweepNotices(parse(full));
        QVERIFY(notices.size() == 1 && notices[0].find("hold only 4 distinct combinations") != std::string::npos);
        // A continuous range narrower than the rounding (found by an audit: a division by zero ended lbk sweep):
        // the draws repeat, which the notices say, and nothing fails.
        for (const json &range : {json{{"uniform", {0.2, 0.2}}}, json{{"log_uniform", {0.01, 0.01002}}}}) {
            full["trials"] = 4;
            full["parameters"] = {{"model.dropout", range}};
            const auto trials = sweepTrials(parse(full));
            QCOMPARE(trials.size(), size_t(4));
            notices = sweepNotices(parse(full));
            QVERIFY2(notices.size() == 1 && notices[0].find("of 4 repeat another's values") != std::string::npos,
                     notices.empty() ? "no notice" : notices[0].c_str());
        }
    }

    // Found by an audit: with no scheduler following (Ctrl-C, a killed one), sweep show said "running" of a trial
    // whose run had finished. The run's end is shown beside the trial's state until the sweep is resumed.
    void aTrialBehindItsRunSaysSo()
    {
        TrialRow row;
        row.trial.state = TrialState::Running;
        QCOMPARE(row.stateText(), std::string("running"));
        row.runStatus = RunStatus::Running;
        QCOMPARE(row.stateText(), std::string("running"));
        row.runStatus = RunStatus::Finished;
        QCOMPARE(row.stateText(), std::string("running (run finished)"));
        row.trial.state = TrialState::Finished;
        QCOMPARE(row.stateText(), std::string("finished"));
    }

    // Found by an audit: the run list's row per sweep named a pruned trial whose value before it was stopped beat
    // the finished ones, where lbk sweeps and the Sweeps tab named a finished trial. One rule, in the metric's
    // direction: finished trials only, the earlier of a tie.
    void theBestTrialIsFinishedAndInTheMetricsDirection()
    {
        const auto trial = [](int n, TrialState state, std::optional<double> value) {
            TrialRecord t;
            t.trial = n;
            t.state = state;
            t.value = value;
            return t;
        };
        const std::vector<TrialRecord> trials = {
            trial(1, TrialState::Finished, 0.60), trial(2, TrialState::Finished, 0.654),
            trial(3, TrialState::Pruned, 0.6567), trial(4, TrialState::Running, 0.70),
            trial(5, TrialState::Finished, std::nullopt), trial(6, TrialState::Finished, 0.654)};
        QCOMPARE(bestTrial(trials, true)->trial, 2);
        QCOMPARE(bestTrial(trials, false)->trial, 1); // a loss: the lowest finished value
        QVERIFY(!bestTrial({trial(1, TrialState::Pruned, 0.5)}, true));
        QVERIFY(rankedBefore(trials[1], trials[2], true)); // finished before pruned, whatever their values
        QVERIFY(rankedBefore(trials[3], trials[2], true)); // then by value: running or pruned
        QVERIFY(rankedBefore(trials[0], trials[4], false)); // no value: last
    }

    // sweepBests, as the run list reads it, names the trial that lbk sweep show (sweepOverview) calls best.
    void sweepBestsAgreeWithTheOverview()
    {
        const auto store = scratchStore("tst_sweep_best");
        json j = sweepJson();
        j["trials"] = 3;
        j["metric"] = "val/loss";
        auto sweep = createSweep(*store, parse(j));
        QVERIFY2(sweep, sweep ? "" : sweep.message().c_str());
        const std::pair<TrialState, double> outcomes[] = {
            {TrialState::Finished, 0.9}, {TrialState::Pruned, 0.5}, {TrialState::Finished, 0.8}};
        for (auto t : store->trials(sweep->id)) {
            std::tie(t.state, t.value) = outcomes[t.trial - 1];
            QVERIFY(store->updateTrial(t));
        }
        QVERIFY(store->setSweepStatus(sweep->id, SweepStatus::Cancelled));
        const auto bests = sweepBests(*store);
        QCOMPARE(bests.size(), size_t(1));
        QCOMPARE(bests[0].name, sweep->name);
        QVERIFY(bests[0].status == SweepStatus::Cancelled);
        QCOMPARE(bests[0].metric, std::string("val/loss"));
        QVERIFY(!bests[0].maximize);
        QCOMPARE(bests[0].trials, 3);
        QVERIFY(bests[0].best);
        QCOMPARE(bests[0].best->trial, 3);
        QCOMPARE(sweepOverview(*store, sweep->id)->best()->trial.trial, 3);
    }

    void trialExperimentSetsTheKeys()
    {
        const SweepSpec s = parse(sweepJson());
        const json values = {{"optimizer.lr", 0.003}, {"model.embedding_dim", 64}};
        const auto e = trialExperiment(s, values, 3);
        QVERIFY(e);
        QCOMPARE((*e)["optimizer"]["lr"].get<double>(), 0.003);
        QCOMPARE((*e)["model"]["embedding_dim"].get<int>(), 64);
        QCOMPARE(QString::fromStdString((*e)["name"].get<std::string>()), QStringLiteral("base")); // the base's
        QCOMPARE(trialName(s.name, 3), std::string("base-sweep-3"));                                  // the run's
        const auto bad = trialExperiment(s, json{{"split.train", 0.99}}, 4); // the split no longer sums to 1
        QVERIFY(!bad);
        QVERIFY2(bad.message().find("trial 4") != std::string::npos, bad.message().c_str());
    }

    // A parameter that is broken at its root (an empty list, a range of the wrong type) gets that one problem, not
    // follow-on complaints about its step or the grid it cannot join.
    void aBrokenParameterSaysOneThing()
    {
        json j = sweepJson();
        j["parameters"] = {{"model.dropout", {{"values", json::array()}, {"step", 2}}}};
        auto s = sweepFromJson(j, ".");
        QVERIFY(!s);
        QCOMPARE(QString::fromStdString(s.message()), QStringLiteral("parameters.model.dropout.values: must be a non-empty list"));
        j["method"] = "grid";
        j["parameters"] = {{"model.dropout", {{"uniform", {1, 0}}}}};
        s = sweepFromJson(j, ".");
        QVERIFY(!s);
        QCOMPARE(QString::fromStdString(s.message()), QStringLiteral("parameters.model.dropout.uniform: low is above high"));
    }

    void aroundTheLrFinder()
    {
        json j = sweepJson();
        j["parameters"]["optimizer.lr"] = {{"around_lr_finder", 10}};
        SweepSpec s = parse(j);
        QVERIFY(needsLrFinder(s));
        for (const auto &notice : sweepNotices(s)) // its draws are alike until resolved: no "repeat" notice then
            QVERIFY2(notice.find("repeat") == std::string::npos, notice.c_str());
        const SweepSpec resolved = withLrSuggestion(s, 0.02);
        QVERIFY(!needsLrFinder(resolved));
        const auto &lr = *std::find_if(resolved.parameters.begin(), resolved.parameters.end(),
                                       [](const ParamSpec &p) { return p.key == "optimizer.lr"; });
        QVERIFY(lr.kind == ParamKind::LogUniform);
        QCOMPARE(lr.low, 0.002);
        QCOMPARE(lr.high, 0.2);

        // Centred a decade below the suggestion, within a factor of 3 of that.
        j["parameters"]["optimizer.lr"] = {{"around_lr_finder", 3}, {"centre", 0.1}};
        const SweepSpec lower = withLrSuggestion(parse(j), 0.2);
        const auto &low = *std::find_if(lower.parameters.begin(), lower.parameters.end(),
                                        [](const ParamSpec &p) { return p.key == "optimizer.lr"; });
        QCOMPARE(low.low, 0.006667);
        QCOMPARE(low.high, 0.06);

        // Centred above it (a GRU's or an encoder's loss falls over decades before the rate that trains best).
        j["parameters"]["optimizer.lr"] = {{"around_lr_finder", 3}, {"centre", 3}};
        const SweepSpec higher = withLrSuggestion(parse(j), 1e-4);
        const auto &high = *std::find_if(higher.parameters.begin(), higher.parameters.end(),
                                         [](const ParamSpec &p) { return p.key == "optimizer.lr"; });
        QCOMPARE(high.low, 1e-4);
        QCOMPARE(high.high, 9e-4);
    }

    // Six trials reach rung 1 one after another (eta 3): the first two lead when they arrive, the third is worse
    // than both (1 of 3 continues), the fourth leads, the fifth ranks 3 of 5, the sixth 6 of 6 (2 of 6 continue).
    // At rung 3 the first arrival continues and a worse second is stopped.
    void ashaAsComputedByHand()
    {
        std::vector<TrialProgress> t = {curve(0, {{1, 0.50, 1}, {2, 0.60, 7}, {3, 0.65, 10}}),
                                        curve(1, {{1, 0.60, 2}, {2, 0.66, 6}, {3, 0.70, 8}}),
                                        curve(2, {{1, 0.40, 3}}),
                                        curve(3, {{1, 0.70, 4}}),
                                        curve(4, {{1, 0.55, 5}}),
                                        curve(5, {{1, 0.30, 6}})};
        const auto rule = ashaRule();
        QCOMPARE(ashaRungs(rule, 10), (std::vector<double>{1, 3, 9}));
        const std::vector<bool> pruned = {true, false, true, false, true, true};
        for (int i = 0; i < 6; ++i)
            QCOMPARE(decidePrune(rule, true, t, i).has_value(), bool(pruned[size_t(i)]));
        const auto zero = decidePrune(rule, true, t, 0);
        QCOMPARE(QString::fromStdString(zero->rule), QStringLiteral("asha"));
        QVERIFY2(zero->reason.find("rung 3: 0.65 ranks 2 of 2") != std::string::npos, zero->reason.c_str());
        const auto five = decidePrune(rule, true, t, 5);
        QVERIFY2(five->reason.find("rung 1: 0.3 ranks 6 of 6 trials there; the best 2 continue") != std::string::npos,
                 five->reason.c_str());
        // Trial 0 before its third evaluation: it passed rung 1 (it was first there) whatever came later.
        t[0].points.resize(2);
        QVERIFY(!decidePrune(rule, true, t, 0));
        // Minimising, the order turns: trial 5 (0.3) leads at rung 1, trial 3 (0.7) ranks 4 of 4.
        QVERIFY(!decidePrune(rule, false, t, 5).has_value() || decidePrune(rule, false, t, 5)->reason.find("rung 1") == std::string::npos);
        const auto three = decidePrune(rule, false, t, 3);
        QVERIFY(three && three->reason.find("rung 1: 0.7 ranks 4 of 4") != std::string::npos);
        // No rung at or beyond max_resource: the trial is about to finish anyway.
        auto capped = rule;
        capped.maxResource = 3;
        QCOMPARE(ashaRungs(capped, 10), (std::vector<double>{1}));
    }

    // Equal values share a rank: five trials with the same value at rung 1 (an F1 of 0 before anything is
    // predicted positive) all continue whatever order they arrived in; one below them is stopped, and its reason
    // says the rank it has below them; a trial tied with the last kept continues.
    void ashaTiesShareARank()
    {
        std::vector<TrialProgress> t;
        for (int i = 0; i < 5; ++i)
            t.push_back(curve(i, {{1, 0.0, double(i + 1)}}));
        const auto rule = ashaRule();
        for (int i = 0; i < 5; ++i)
            QVERIFY2(!decidePrune(rule, true, t, i), decidePrune(rule, true, t, i)->reason.c_str());
        t.push_back(curve(5, {{1, -0.1, 6}}));
        const auto last = decidePrune(rule, true, t, 5);
        QVERIFY(last);
        QVERIFY2(last->reason.find("ranks 6 of 6 trials there; the best 2") != std::string::npos, last->reason.c_str());
        t = {curve(0, {{1, 0.9, 1}}), curve(1, {{1, 0.5, 2}}), curve(2, {{1, 0.5, 3}}), curve(3, {{1, 0.2, 4}}),
             curve(4, {{1, 0.1, 5}}), curve(5, {{1, 0.5, 6}})};
        QVERIFY(!decidePrune(rule, true, t, 5)); // ranks 2 of 6 with two others: the best 2 continue
        t[0].points[0].value = 0.5;
        const auto tie = decidePrune(rule, true, t, 3);
        QVERIFY(tie);
        QVERIFY2(tie->reason.find("0.2 ranks 4 of 4 trials there; the best 1") != std::string::npos, tie->reason.c_str());
        QVERIFY(!decidePrune(rule, true, t, 2)); // tied with the two before it for first
        t[3].points[0].value = 0.5;
        const auto shared = decidePrune(rule, true, t, 4); // 0.1 after four trials at 0.5, tied with none of them
        QVERIFY(shared && shared->reason.find("ranks 5 of 5") != std::string::npos);
        t[0].points[0].value = t[1].points[0].value = 0.9;
        const auto below = decidePrune(rule, true, t, 3); // 0.5 after 0.9, 0.9 and 0.5
        QVERIFY(below);
        QVERIFY2(below->reason.find("0.5 ranks 3 of 4 trials there (tied with 1); the best 1") != std::string::npos,
                 below->reason.c_str());
    }

    // Median rule (grace 2, at least 2 others): at resource 2, C's best (0.35) is below the median of A's and B's
    // bests (0.6, 0.7 -> 0.65); A's (0.6) is above the median of B and C (0.525); nothing before the grace.
    void medianAsComputedByHand()
    {
        EarlyStoppingSpec rule;
        rule.type = PrunerType::Median;
        rule.grace = 2;
        rule.minTrials = 2;
        const std::vector<TrialProgress> t = {curve(0, {{1, 0.5, 1}, {2, 0.6, 4}}), curve(1, {{1, 0.4, 2}, {2, 0.7, 5}}),
                                              curve(2, {{1, 0.3, 3}, {2, 0.35, 6}}), curve(3, {{1, 0.1, 7}})};
        const auto c = decidePrune(rule, true, t, 2);
        QVERIFY(c);
        QCOMPARE(QString::fromStdString(c->rule), QStringLiteral("median"));
        QVERIFY2(c->reason.find("best so far 0.35 is below the median 0.65 of 2 other trials") != std::string::npos,
                 c->reason.c_str());
        QVERIFY(!decidePrune(rule, true, t, 0));
        QVERIFY(!decidePrune(rule, true, t, 1));
        QVERIFY(!decidePrune(rule, true, t, 3)); // at 1: within the grace
        rule.minTrials = 3;
        QVERIFY(!decidePrune(rule, true, t, 2)); // too few others at 2
        rule.minTrials = 2;
        QVERIFY(!decidePrune(rule, false, t, 2)); // minimising, 0.3 is best
    }

    // A group's curve: the mean and sample deviation at each step over the runs that logged it.
    void groupCurveAveragesBySteps()
    {
        const std::vector<std::vector<MetricPoint>> runs = {{{10, 0, 0.5}, {20, 0, 0.7}},
                                                            {{10, 0, 0.3}, {20, 0, 0.9}, {30, 0, 1.0}},
                                                            {{10, 0, std::nan("")}}};
        const auto c = groupCurve(runs);
        QCOMPARE(c.steps, (std::vector<int64_t>{10, 20, 30}));
        QCOMPARE(c.n, (std::vector<int>{2, 2, 1}));
        QVERIFY(std::abs(c.mean[0] - 0.4) < 1e-12 && std::abs(c.mean[1] - 0.8) < 1e-12 && c.mean[2] == 1.0);
        QVERIFY(std::abs(c.stddev[0] - std::sqrt(0.02)) < 1e-12 && c.stddev[2] == 0);
    }

    // A trial's group tag: the sweep's name when the seed is its only key, with the other values when it has more,
    // nothing when it does not sweep the seed.
    void groupTagNamesTheConfig()
    {
        json j = sweepJson();
        j["name"] = "s";
        QCOMPARE(groupTag(parse(j), 7, json{{"optimizer.lr", 0.01}}), std::string());
        j["parameters"] = {{"training.seed", {{"values", {13, 14}}}}};
        QCOMPARE(groupTag(parse(j), 7, json{{"training.seed", 13}}), std::string("group:s #7"));
        j["parameters"]["optimizer.lr"] = {{"values", {0.01, 0.1}}};
        j["parameters"]["model.type"] = {{"values", {"bag", "cnn"}}};
        QCOMPARE(groupTag(parse(j), 7, json{{"training.seed", 13}, {"optimizer.lr", 0.0123456789}, {"model.type", "cnn"}}),
                 std::string("group:s #7 (model.type=cnn, optimizer.lr=0.0123457)"));
    }

    // A trial being pruned whose worker died before it could stop cleanly (its run interrupted, not cancelled) ends
    // pruned with the rule's reason, its run marked cancelled; it is not left interrupted for a resume to miss.
    void prunedTrialWhoseWorkerDiedEndsPruned()
    {
        const auto store = scratchStore("tst_sweep");
        json j = sweepJson();
        j["trials"] = 1;
        const SweepSpec spec = parse(j);
        auto sweep = createSweep(*store, spec);
        QVERIFY2(sweep, sweep ? "" : sweep.message().c_str());
        QVERIFY(*store->claimTrial(sweep->id, 1, sweep->uid + "-t1"));
        NewRun nr;
        nr.uid = sweep->uid + "-t1";
        nr.name = "base";
        auto run = store->createRun(nr);
        QVERIFY(run);
        QVERIFY(store->setStatus(run->id, RunStatus::Interrupted, "its worker was killed"));
        auto t = store->trials(sweep->id)[0];
        t.run = run->id;
        t.state = TrialState::Pruning;
        t.reason = "asha: rung 1: 0.07 ranks 3 of 3 trials there";
        QVERIFY(store->updateTrial(t));

        TargetsFile targets;
        SweepScheduler scheduler(*store, targets, *sweep, SweepOptions{}, [](const std::string &) {});
        auto open = scheduler.step();
        QVERIFY2(open, open ? "" : open.message().c_str());
        QVERIFY(!*open);
        t = store->trials(sweep->id)[0];
        QVERIFY2(t.state == TrialState::Pruned, toString(t.state));
        QCOMPARE(QString::fromStdString(t.reason), QStringLiteral("asha: rung 1: 0.07 ranks 3 of 3 trials there"));
        QVERIFY(store->runById(run->id)->status == RunStatus::Cancelled);
    }

    // A metric that peaks in the middle of one key (a rate too low and too high both hurt): no rank correlation to
    // speak of, but the forest gives that key nearly all of the importance; a key the metric ignores gets little.
    void forestSeesWhatACorrelationMisses()
    {
        std::vector<std::vector<double>> X;
        std::vector<double> y;
        for (int i = 0; i < 60; ++i) {
            const double a = (i % 10) / 9.0, b = ((i * 7) % 11) / 10.0;
            X.push_back({a, b});
            y.push_back(0.7 - (a - 0.5) * (a - 0.5));
        }
        const auto imp = permutationImportance(X, y);
        QCOMPARE(imp.size(), size_t(2));
        QVERIFY2(imp[0] > 0.9 && imp[1] < 0.1, qPrintable(QString::number(imp[0]) + QLatin1Char(' ') + QString::number(imp[1])));
        QCOMPARE(permutationImportance(X, y), imp); // seeded: the same every time
        QVERIFY(permutationImportance({{1.0}, {2.0}}, {0.1, 0.2}).empty()); // too few trials
    }
};

QTEST_GUILESS_MAIN(TestSweep)
#include "tst_sweep.moc"
