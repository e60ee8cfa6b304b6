// The GUI's item models (each under QAbstractItemModelTester) and the arithmetic behind the plots.
#include <cmath>

#include <QAbstractItemModelTester>
#include <QBuffer>
#include <QTemporaryDir>
#include <QtTest>

#include "format.h"
#include "models/comparemetricsmodel.h"
#include "models/comparepredictionsmodel.h"
#include "models/configdiffmodel.h"
#include "models/confusionmodel.h"
#include "models/perclassmodel.h"
#include "models/predictionsmodel.h"
#include "models/runsfilterproxy.h"
#include "models/runsmodel.h"
#include "plots/curvesplot.h"
#include "plots/series.h"
#include "views/maskedcontextdelegate.h"

using namespace labbook;

namespace {

lbk::RunSummary makeRun(int64_t id, const std::string &name, lbk::RunStatus status, double f1,
                        const std::string &task = "multiclass")
{
    lbk::RunSummary r;
    r.id = id;
    r.uid = "uid" + std::to_string(id);
    r.name = name;
    r.experiment = name.substr(0, name.find('-'));
    r.task = task;
    r.status = status;
    r.createdAt = 1.7e9 + double(id);
    r.startedAt = r.createdAt + 1;
    r.endedAt = status == lbk::RunStatus::Running ? 0 : r.startedAt + 30;
    r.tags = {"t" + std::to_string(id % 2)};
    r.summary = {{"final", {{"val/macro_f1", f1}, {"val/loss", 1 - f1}}}, {"best", {{"val/macro_f1", f1 + 0.01}}}};
    if (task == "binary") { // its positive class's F1, what its run list shows
        r.summary["final"]["val/f1"] = f1;
        r.summary["best"]["val/f1"] = f1 + 0.01;
    }
    return r;
}

lbk::PredictionRow makePrediction(int i, const std::vector<std::string> &labels)
{
    lbk::PredictionRow p;
    p.exampleId = "2401." + std::to_string(10000 + i);
    p.title = (i % 7 == 0 ? "Neural networks for " : "A study of ") + std::to_string(i) + " things";
    const std::string truth = labels[size_t(i) % labels.size()];
    const std::string pred = labels[size_t(i * 7 / 5) % labels.size()];
    const double conf = 0.3 + 0.7 * double((i * 37) % 100) / 100.0;
    p.truth = {truth};
    p.top = {{pred, conf}, {truth == pred ? labels[(size_t(i) + 1) % labels.size()] : truth, (1 - conf) / 2}};
    p.correct = truth == pred;
    p.pTrue = p.correct ? conf : (1 - conf) / 2;
    return p;
}

std::vector<lbk::PredictionRow> makePredictions(int n)
{
    const std::vector<std::string> labels = {"cs.CV", "cs.LG", "cs.CL", "cs.AI"};
    std::vector<lbk::PredictionRow> rows;
    for (int i = 0; i < n; ++i)
        rows.push_back(makePrediction(i, labels));
    return rows;
}

} // namespace

class TestModels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // Durations as the run list shows them: tenths under 10 s (a 0.4 s run read "0 s"), then whole units.
    void formatsDurations()
    {
        QCOMPARE(labbook::formatDuration(0.44), QStringLiteral("0.4 s"));
        QCOMPARE(labbook::formatDuration(9.94), QStringLiteral("9.9 s"));
        QCOMPARE(labbook::formatDuration(42.4), QStringLiteral("42 s"));
        QCOMPARE(labbook::formatDuration(61.0), QStringLiteral("1 min 01 s"));
        QCOMPARE(labbook::formatDuration(std::nullopt), QStringLiteral("-"));
    }

    void runsModel()
    {
        RunsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setRuns({makeRun(3, "debug-a", lbk::RunStatus::Running, 0.6), makeRun(2, "debug-b", lbk::RunStatus::Finished, 0.7),
                       makeRun(1, "top20-x", lbk::RunStatus::Failed, 0.2)});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.index(0, RunsModel::Status).data().toString(), QStringLiteral("running"));
        QCOMPARE(model.index(1, RunsModel::BestF1).data().toString(), QStringLiteral("0.7100"));
        QCOMPARE(model.index(2, RunsModel::Id).data(RunsModel::RunIdRole).toLongLong(), 1);

        // A binary run's F1 is its positive class's (what its metric "f1" chose the checkpoint by), not the
        // macro-F1 that averages in the negative class.
        {
            RunsModel binary;
            auto r = makeRun(5, "cv-a", lbk::RunStatus::Finished, 0.8, "binary");
            r.summary["best"]["val/f1"] = 0.70;
            binary.setRuns({r});
            QCOMPARE(binary.index(0, RunsModel::BestF1).data().toString(), QStringLiteral("0.7000"));
            // A multi-label run's is micro-F1, as it is selected by (macro-F1 sinks with its rare labels).
            auto m = makeRun(6, "ml", lbk::RunStatus::Finished, 0.19, "multilabel");
            m.summary["best"]["val/micro_f1"] = 0.69;
            binary.setRuns({m});
            QCOMPARE(binary.index(0, RunsModel::BestF1).data().toString(), QStringLiteral("0.6900"));
        }

        // A live merge: a new run at the top, one gone, one changed; rows of the others stay put.
        QPersistentModelIndex keep = model.index(1, 0);
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        model.updateRuns({makeRun(4, "debug-c", lbk::RunStatus::Queued, 0.1), makeRun(3, "debug-a", lbk::RunStatus::Finished, 0.65),
                          makeRun(2, "debug-b", lbk::RunStatus::Finished, 0.7)});
        QCOMPARE(resets.count(), 0);
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.runAt(0)->id, 4);
        QCOMPARE(model.index(1, RunsModel::Status).data().toString(), QStringLiteral("finished"));
        QVERIFY(keep.isValid());
        QCOMPARE(keep.row(), 2);

        // Editing notes and tags reports the edit for the store.
        QSignalSpy edits(&model, &RunsModel::runEdited);
        QVERIFY(model.setData(model.index(2, RunsModel::Tags), QStringLiteral("a, b ,,c")));
        QCOMPARE(edits.count(), 1);
        QCOMPARE(model.runAt(2)->tags, (std::vector<std::string>{"a", "b", "c"}));
        QVERIFY(!model.setData(model.index(2, RunsModel::Status), QStringLiteral("x")));

        // A run its sweep stopped early reads "pruned", and its reason is shown; one cancelled by hand reads
        // "cancelled" (both were "cancelled" with no reason in the views).
        auto pruned = makeRun(9, "debug-p", lbk::RunStatus::Cancelled, 0.3);
        pruned.tags.push_back("pruned");
        pruned.error = "pruned by the sweep (asha: rung 1)";
        auto stopped = makeRun(8, "debug-s", lbk::RunStatus::Cancelled, 0.3);
        model.setRuns({pruned, stopped});
        QCOMPARE(model.index(0, RunsModel::Status).data().toString(), QStringLiteral("pruned"));
        QCOMPARE(model.index(1, RunsModel::Status).data().toString(), QStringLiteral("cancelled"));
        QVERIFY(showsWhyItEnded(pruned) && !showsWhyItEnded(stopped));
    }

    void durationOfARunThatNeverStarted()
    {
        // The runs table and the compare table say "-", as lbk does, where they used to say nothing and "0".
        lbk::RunSummary queued = makeRun(5, "debug-q", lbk::RunStatus::Queued, 0.1);
        queued.startedAt = 0;
        queued.endedAt = 0;
        RunsModel runs;
        runs.setRuns({makeRun(4, "debug-f", lbk::RunStatus::Finished, 0.5), queued});
        QCOMPARE(runs.index(0, RunsModel::Duration).data().toString(), QStringLiteral("30 s"));
        QCOMPARE(runs.index(1, RunsModel::Duration).data().toString(), QStringLiteral("-"));
        QVERIFY(runs.index(1, RunsModel::Duration).data(RunsModel::SortRole).toDouble() <
                runs.index(0, RunsModel::Duration).data(RunsModel::SortRole).toDouble());
        CompareMetricsModel compare;
        compare.setRuns({makeRun(4, "debug-f", lbk::RunStatus::Finished, 0.5), queued});
        const int last = compare.rowCount() - 1;
        QCOMPARE(compare.index(last, 0).data().toString(), QStringLiteral("duration (s)"));
        QCOMPARE(compare.index(last, 1).data().toString(), QStringLiteral("30"));
        QCOMPARE(compare.index(last, 2).data().toString(), QStringLiteral("-"));
    }

    void runsFilterProxy()
    {
        RunsModel model;
        RunsFilterProxy proxy;
        proxy.setSourceModel(&model);
        QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
        std::vector<lbk::RunSummary> runs;
        for (int i = 1; i <= 50; ++i)
            runs.push_back(makeRun(i, (i % 3 ? "debug-" : "top20-") + std::to_string(i),
                                   i % 5 ? lbk::RunStatus::Finished : lbk::RunStatus::Failed, i / 100.0,
                                   i % 2 ? "multiclass" : "binary"));
        model.setRuns(runs);
        QCOMPARE(proxy.rowCount(), 50);
        proxy.setText(QStringLiteral("TOP20"));
        QCOMPARE(proxy.rowCount(), 16);
        proxy.setStatus(QStringLiteral("failed"));
        QCOMPARE(proxy.rowCount(), 3); // 15, 30, 45
        proxy.setText({});
        proxy.setTask(QStringLiteral("binary"));
        QCOMPARE(proxy.rowCount(), 5); // 10, 20, 30, 40, 50
        proxy.setStatus({});
        proxy.setTask({});
        // A pruned trial is a cancelled run with the sweep's tag; the list says "pruned", and so does the filter
        // (found by an audit: pruned runs were listed under "cancelled", and no filter held them).
        auto withPruned = runs;
        withPruned.push_back(makeRun(51, "debug-51", lbk::RunStatus::Cancelled, 0.2));
        withPruned.back().tags = {lbk::kPrunedTag};
        withPruned.push_back(makeRun(52, "debug-52", lbk::RunStatus::Cancelled, 0.2));
        model.setRuns(withPruned);
        proxy.setStatus(QStringLiteral("pruned"));
        QCOMPARE(proxy.rowCount(), 1);
        QCOMPARE(proxy.index(0, RunsModel::Id).data(RunsModel::RunIdRole).toLongLong(), 51);
        proxy.setStatus(QStringLiteral("cancelled"));
        QCOMPARE(proxy.rowCount(), 1);
        proxy.setStatus({});
        model.setRuns(runs);
        proxy.setExperiment(QStringLiteral("debug"));
        QCOMPARE(proxy.rowCount(), 34);
        proxy.setExperiment({});
        proxy.sort(RunsModel::BestF1, Qt::DescendingOrder);
        QCOMPARE(proxy.index(0, RunsModel::Id).data(RunsModel::RunIdRole).toLongLong(), 50);
        proxy.sort(RunsModel::BestF1, Qt::AscendingOrder);
        QCOMPARE(proxy.index(0, RunsModel::Id).data(RunsModel::RunIdRole).toLongLong(), 1);
    }

    void predictionsModel()
    {
        PredictionsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setRows(makePredictions(1000));
        QCOMPARE(model.rowCount(), 1000);
        QCOMPARE(model.totalCount(), 1000);
        // Sorted by confidence, most confident first.
        for (int r = 1; r < model.rowCount(); ++r)
            QVERIFY(model.index(r - 1, 0).data(PredictionsModel::ConfidenceRole).toDouble() >=
                    model.index(r, 0).data(PredictionsModel::ConfidenceRole).toDouble());

        PredictionQuery q;
        q.misclassifiedOnly = true;
        model.setQuery(q);
        QVERIFY(model.rowCount() > 0);
        QVERIFY(model.rowCount() < 1000);
        for (int r = 0; r < model.rowCount(); ++r)
            QVERIFY(!model.index(r, 0).data(PredictionsModel::CorrectRole).toBool());

        q.trueLabel = QStringLiteral("cs.CV");
        q.predictedLabel = QStringLiteral("cs.LG");
        model.setQuery(q);
        QVERIFY(model.rowCount() > 0);
        for (int r = 0; r < model.rowCount(); ++r) {
            QCOMPARE(model.index(r, PredictionsModel::Truth).data().toString(), QStringLiteral("cs.CV"));
            QCOMPARE(model.index(r, PredictionsModel::Predicted).data().toString(), QStringLiteral("cs.LG"));
        }
        q = {};
        q.minConfidence = 0.5;
        q.maxConfidence = 0.6;
        q.text = QStringLiteral("NEURAL");
        model.setQuery(q);
        QVERIFY(model.rowCount() > 0);
        for (int r = 0; r < model.rowCount(); ++r) {
            const double c = model.index(r, 0).data(PredictionsModel::ConfidenceRole).toDouble();
            QVERIFY(c >= 0.5 && c <= 0.6);
            QVERIFY(model.index(r, PredictionsModel::Title).data().toString().startsWith(QLatin1String("Neural")));
        }
        q.trueLabel = QStringLiteral("no-such-label");
        model.setQuery(q);
        QCOMPARE(model.rowCount(), 0);

        // Sorting keeps the filter; a persistent index follows its row.
        model.setQuery({});
        QPersistentModelIndex p = model.index(10, PredictionsModel::ExampleId);
        const QString id = p.data().toString();
        model.sort(PredictionsModel::ExampleId, Qt::AscendingOrder);
        QVERIFY(p.isValid());
        QCOMPARE(p.data().toString(), id);
        QCOMPARE(model.index(0, PredictionsModel::ExampleId).data().toString(), QStringLiteral("2401.10000"));

        QBuffer buffer;
        buffer.open(QIODevice::WriteOnly);
        QVERIFY(model.writeCsv(&buffer, "val", 40));
        QCOMPARE(buffer.data().count('\n'), 1001);
        // The columns of `lbk export --what predictions` (found by a review: the two wrote different ones).
        QVERIFY(buffer.data().startsWith("split,step,id,title,truth,predicted,probability,correct,p_true\nval,40,"));
        QCOMPARE(model.toTsv({0, 1}).count(QLatin1Char('\n')), 3);

        // A title with a tab, a carriage return and a line break (arXiv's titles wrap): quoted in the CSV, a space in
        // the clipboard's tab-separated rows, so neither splits a row or shifts a column.
        lbk::PredictionRow wrapped{"2401.1", "A title\twith\r\n  a wrap", {"cs.LG", "stat.ML"},
                                   {{"cs.LG", 0.9}, {"stat.ML", 0.6}, {"cs.CV", 0.2}}, true, std::nan("")};
        model.setRows({wrapped}, true);
        QBuffer one;
        one.open(QIODevice::WriteOnly);
        QVERIFY(model.writeCsv(&one, "test", 7));
        QCOMPARE(one.data().split('\n').at(1),
                 QByteArray("test,7,2401.1,\"A title\twith\r"));
        QVERIFY2(one.data().endsWith("a wrap\",cs.LG stat.ML,cs.LG stat.ML,0.9,1,\n"), one.data().constData());
        const QString tsv = model.toTsv({0});
        QCOMPARE(tsv.count(QLatin1Char('\n')), 2);
        QVERIFY2(tsv.contains(QStringLiteral("A title with    a wrap\tcs.LG, stat.ML\tcs.LG, stat.ML\t")),
                 qPrintable(tsv));
    }

    void confusionModel()
    {
        ConfusionModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSummary({{"labels", {"a", "b", "c"}}, {"confusion", {{5, 1, 0}, {2, 8, 0}, {0, 0, 3}}}});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.columnCount(), 3);
        QCOMPARE(model.index(1, 0).data().toString(), QStringLiteral("2"));
        QCOMPARE(model.index(1, 0).data(ConfusionModel::TrueLabelRole).toString(), QStringLiteral("b"));
        QCOMPARE(model.index(1, 0).data(ConfusionModel::PredictedLabelRole).toString(), QStringLiteral("a"));
        QCOMPARE(model.index(1, 1).data(ConfusionModel::RowShareRole).toDouble(), 0.8);
        QVERIFY(!model.index(0, 2).data(Qt::BackgroundRole).isValid()); // empty cells stay plain
        QCOMPARE(model.headerData(2, Qt::Horizontal).toString(), QStringLiteral("3")); // numbered columns
        QCOMPARE(model.headerData(2, Qt::Vertical).toString(), QStringLiteral("3  c")); // rows say which is which
        model.setSummary(nlohmann::json::object());                     // multilabel: no matrix
        QCOMPARE(model.rowCount(), 0);
    }

    void countsHaveDigitGrouping()
    {
        QCOMPARE(formatCount(19837), QStringLiteral("19,837"));
        QCOMPARE(formatMetric(19837.0), QStringLiteral("19,837")); // an "examples" figure, not 1.984e+04
        QCOMPARE(formatMetric(0.61234), QStringLiteral("0.6123"));
        QCOMPARE(formatMetric(12.0), QStringLiteral("12"));
        QCOMPARE(formatMetric(0.843), QStringLiteral("0.8430")); // lines up with 0.6672 in a column
        QCOMPARE(formatMetric(0.0525), QStringLiteral("0.05250"));
        // A score column: an F1 of exactly 0 or an accuracy of 1 lines up with 0.6672, not as a count.
        QCOMPARE(formatScore(0.0), QStringLiteral("0.0000"));
        QCOMPARE(formatScore(1.0), QStringLiteral("1.0000"));
        QCOMPARE(formatScore(0.843), QStringLiteral("0.8430"));
        QCOMPARE(formatMetric(1234.5), QStringLiteral("1235")); // a throughput: no dangling point
        QCOMPARE(formatMetric(999.96), QStringLiteral("1000"));
        QCOMPARE(formatMetric(12.5), QStringLiteral("12.50"));
        useDigitGrouping();
        QCOMPARE(QStringLiteral("%L1").arg(1234567), QStringLiteral("1,234,567"));
    }

    void curvesKeepOnlyTheUsersZoom()
    {
        CurvesPlot plot;
        plot.resize(800, 400);
        CurveSeries s;
        s.name = QStringLiteral("train/loss");
        s.color = Qt::blue;
        s.x << 5;
        s.y << 1.5;
        plot.setSeries({s}); // a live run's first point
        plot.appendPoints(0, {10, 2172}, {1.0, 0.2});
        QVERIFY(plot.xAxis->range().contains(5) && plot.xAxis->range().contains(2172));
        QVERIFY(plot.yAxis->range().contains(0.2) && plot.yAxis->range().contains(1.5));
        // The user zooms with the wheel: live points no longer move the view...
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        const QPoint centre = plot.axisRect()->rect().center();
        QWheelEvent wheel(centre, plot.mapToGlobal(centre), {}, {0, 120}, Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(&plot, &wheel);
        QVERIFY(plot.userZoomed());
        const QCPRange zoomed = plot.xAxis->range();
        plot.appendPoints(0, {3000}, {0.1});
        QCOMPARE(plot.xAxis->range(), zoomed);
        // ...until another run's curves come (same metric name) or the user resets the view.
        plot.setSeries({});
        plot.setSeries({s});
        QVERIFY(!plot.userZoomed());
        QVERIFY(plot.xAxis->range().contains(5));
        plot.resetView();
        QVERIFY(plot.xAxis->range().contains(5));
    }

    void perClassModel()
    {
        PerClassModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSummary({{"per_class",
                           {{{"label", "cs.CV"}, {"precision", 0.9}, {"recall", 0.5}, {"f1", 0.643}, {"support", 120}},
                            {{"label", "cs.LG"}, {"precision", 0.4}, {"recall", 0.8}, {"f1", 0.533}, {"support", 80}}}}});
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.index(0, PerClassModel::Precision).data().toString(), QStringLiteral("0.900"));
        QCOMPARE(model.index(1, PerClassModel::Support).data(PerClassModel::SortRole).toDouble(), 80.0);
        // A script's evaluation gives a figure it could not compute as null (NaN in JSON): a dash, not an abort.
        model.setSummary({{"per_class", {{{"label", "pos"}, {"precision", nullptr}, {"recall", 0.0}, {"f1", nullptr},
                                          {"support", 0}}}}});
        QCOMPARE(model.index(0, PerClassModel::Precision).data().toString(), QStringLiteral("-"));
        QVERIFY(!model.index(0, PerClassModel::F1).data(Qt::BackgroundRole).isValid());
    }

    void configDiffModel()
    {
        ConfigDiffModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        nlohmann::json a = {{"name", "x"}, {"optimizer", {{"lr", 0.01}, {"type", "adamw"}}}, {"model", {{"type", "bag"}}}};
        nlohmann::json b = a;
        b["optimizer"]["lr"] = 0.02;
        model.setConfigs({QStringLiteral("#1"), QStringLiteral("#2")}, {a, b});
        QCOMPARE(model.differingCount(), 1);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.index(0, 0).data().toString(), QStringLiteral("optimizer.lr"));
        QCOMPARE(model.index(0, 2).data().toString(), QStringLiteral("0.02"));
        model.setShowIdentical(true);
        QCOMPARE(model.rowCount(), 4);
        QVERIFY(model.index(0, 0).data(ConfigDiffModel::DiffersRole).toBool());
        QVERIFY(!model.index(3, 0).data(ConfigDiffModel::DiffersRole).toBool());
    }

    void compareMetricsModel()
    {
        CompareMetricsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setRuns({makeRun(1, "a", lbk::RunStatus::Finished, 0.6), makeRun(2, "b", lbk::RunStatus::Finished, 0.7)});
        QVERIFY(model.rowCount() >= 3);
        bool sawF1 = false, sawLoss = false;
        for (int r = 0; r < model.rowCount(); ++r) {
            const QString label = model.index(r, 0).data().toString();
            if (label == QLatin1String("val/macro_f1 (final)")) {
                sawF1 = true;
                QCOMPARE(model.bestColumn(r), 1); // higher is better
                QVERIFY(model.index(r, 2).data(CompareMetricsModel::IsBestRole).toBool());
            }
            if (label == QLatin1String("val/loss (final)")) {
                sawLoss = true;
                QCOMPARE(model.bestColumn(r), 1); // run b has the lower loss
            }
        }
        QVERIFY(sawF1 && sawLoss);

        // Runs measured against other labels (lbk::distinctLabelings) are not ranked. The test split's best is not
        // listed (only its final figure).
        auto binary = makeRun(2, "b", lbk::RunStatus::Finished, 0.7, "binary");
        auto multi = makeRun(1, "a", lbk::RunStatus::Finished, 0.6);
        multi.summary["best"]["test/accuracy"] = 0.5;
        multi.summary["final"]["test/accuracy"] = 0.5;
        model.setRuns({multi, binary}, false);
        for (int r = 0; r < model.rowCount(); ++r) {
            QCOMPARE(model.bestColumn(r), -1);
            QVERIFY(model.index(r, 0).data().toString() != QLatin1String("test/accuracy (best)"));
        }
    }

    void comparePredictionsModel()
    {
        ComparePredictionsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        auto a = makePredictions(200);
        auto b = makePredictions(150); // b evaluated fewer papers: the join keeps the common ones
        for (auto &row : b)
            row.correct = !row.correct;
        model.setRuns({QStringLiteral("A"), QStringLiteral("B")}, {a, b});
        QCOMPARE(model.joinedCount(), 150);
        model.setOutcome(ComparePredictionsModel::Outcome::FirstRightSecondWrong);
        QVERIFY(model.rowCount() > 0);
        for (int r = 0; r < model.rowCount(); ++r) {
            QVERIFY(model.index(r, 3).data(ComparePredictionsModel::CorrectRole).toBool());
            QVERIFY(!model.index(r, 4).data(ComparePredictionsModel::CorrectRole).toBool());
        }
        model.setOutcome(ComparePredictionsModel::Outcome::BothWrong);
        QCOMPARE(model.rowCount(), 0); // b is right exactly where a is wrong
        model.setOutcome(ComparePredictionsModel::Outcome::All);
        model.setText(QStringLiteral("neural"));
        QVERIFY(model.rowCount() > 0 && model.rowCount() < 150);

        // A multilabel row with one true label predicts its whole set (every label at 0.5 or above), in the run
        // page's table and in Compare: cs.AI alone read as if the model had said only that.
        lbk::PredictionRow multi;
        multi.exampleId = "2604.05533";
        multi.title = "Agents that plan";
        multi.truth = {"cs.AI"};
        multi.top = {{"cs.AI", 0.98}, {"cs.LG", 0.84}};
        multi.correct = false;
        model.setText({});
        model.setRuns({QStringLiteral("A")}, {{multi}}, true);
        QCOMPARE(model.index(0, 3).data().toString(), QStringLiteral("\u2717 cs.AI, cs.LG (0.98)"));
        PredictionsModel rows;
        rows.setRows({multi}, true);
        QCOMPARE(rows.index(0, PredictionsModel::Predicted).data().toString(), QStringLiteral("cs.AI, cs.LG"));
        // Filtered by a predicted label, the row is listed for any label of its set (it was its top one only).
        PredictionQuery second;
        second.predictedLabel = QStringLiteral("cs.LG");
        rows.setQuery(second);
        QCOMPARE(rows.rowCount(), 1);
        second.predictedLabel = QStringLiteral("cs.CV");
        rows.setQuery(second);
        QCOMPARE(rows.rowCount(), 0);
        rows.setQuery({});
        // No label at 0.5: the set is empty, as the evaluation counted it (not the most probable label).
        multi.top = {{"cs.AI", 0.31}};
        rows.setRows({multi}, true);
        QCOMPARE(rows.index(0, PredictionsModel::Predicted).data().toString(), QStringLiteral("(none)"));
        // A binary row at exactly 0.5 lists both classes and predicts one.
        multi.top = {{"cs.CV", 0.5}, {"not cs.CV", 0.5}};
        rows.setRows({multi}, false);
        QCOMPARE(rows.index(0, PredictionsModel::Predicted).data().toString(), QStringLiteral("cs.CV"));
    }

    void downsamplingKeepsSpikes()
    {
        QVector<double> x, y;
        for (int i = 0; i < 100000; ++i) {
            x << i;
            y << std::sin(i / 1000.0);
        }
        y[54321] = 50;  // one spike up
        y[77777] = -50; // one down
        const XY d = downsampleMinMax(x, y, 500);
        QVERIFY(d.x.size() <= 2000);
        QVERIFY(d.x.size() >= 500);
        QVERIFY(d.y.contains(50.0));
        QVERIFY(d.y.contains(-50.0));
        QCOMPARE(d.x.first(), 0.0);
        QCOMPARE(d.x.last(), 99999.0);
        for (qsizetype i = 1; i < d.x.size(); ++i)
            QVERIFY(d.x[i] > d.x[i - 1]);
        const XY small = downsampleMinMax(x.mid(0, 100), y.mid(0, 100), 500);
        QCOMPARE(small.x.size(), 100);
        y[33333] = std::nan(""); // a break in the line survives the downsampling
        QVERIFY(std::isnan(downsampleMinMax(x, y, 500).y[downsampleMinMax(x, y, 500).x.indexOf(33333.0)]));
    }

    // A wall-time series breaks where the run sat stopped (a straight line crossed the stop), not between the
    // ordinary gaps of its logging.
    void wallTimeBreaksAtAStop()
    {
        QVector<double> x, y;
        for (int i = 0; i < 50; ++i) { // logged every 0.5 s, stopped for 35 s after the 20th point
            x << i * 0.5 + (i >= 20 ? 35 : 0);
            y << 1.0 / (i + 1);
        }
        const XY b = breakAtStops(x, y);
        QCOMPARE(b.x.size(), x.size() + 1);
        QVERIFY(std::isnan(b.y[20]));
        QVERIFY(b.x[20] > x[19] && b.x[20] < x[20]);
        QCOMPARE(breakAtStops(x.mid(0, 20), y.mid(0, 20)).x.size(), 20); // no stop, no break
        CurvesPlot plot; // as the curves draw it, smoothed: looked at in the screenshot
        plot.resize(640, 320);
        plot.setSeries({CurveSeries{QStringLiteral("train/loss"), Qt::blue, b.x, b.y}});
        plot.setXLabel(QStringLiteral("wall time since the run started (s)"));
        plot.show();
        QCoreApplication::processEvents();
        QDir().mkpath(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots"));
        QVERIFY(plot.grab().save(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots/curves-wall-time-stop.png")));
    }

    void smoothingIsDebiased()
    {
        const QVector<double> y = {10, 10, 10, std::nan(""), 10, 20};
        const QVector<double> s = smoothEma(y, 0.9);
        QCOMPARE(s[0], 10.0); // debiased: no pull towards 0 at the start
        QCOMPARE(s[2], 10.0);
        QVERIFY(std::isnan(s[3]));
        QVERIFY(s[5] > 10.0 && s[5] < 20.0);
        QCOMPARE(smoothEma(y, 0).size(), y.size());
    }

    // The engine marks a fill's masked token between U+27E6 and U+27E7; the GUI splits it out to highlight it.
    void maskedContextSplitsAroundTheToken()
    {
        const QString text = QStringLiteral("\u2026of the \u27e6quantum\u27e7 Hall <effect>");
        const MaskedContext c = splitMaskedContext(text);
        QVERIFY(c.marked);
        QCOMPARE(c.before, QStringLiteral("\u2026of the "));
        QCOMPARE(c.target, QStringLiteral("quantum"));
        QCOMPARE(c.after, QStringLiteral(" Hall <effect>"));
        const QString html = maskedContextHtml(text, QPalette());
        QVERIFY2(html.contains(QLatin1String("&nbsp;quantum&nbsp;</b>")) && html.contains(QLatin1String("&lt;effect&gt;")),
                 qPrintable(html));
        const MaskedContext plain = splitMaskedContext(QStringLiteral("A title without marks"));
        QVERIFY(!plain.marked);
        QCOMPARE(plain.before, QStringLiteral("A title without marks"));
        QVERIFY(!splitMaskedContext(QStringLiteral("an \u27e6open mark only")).marked);
    }

    // A handful of evaluations is drawn as recorded; a dense training series is smoothed.
    void sparseSeriesAreNotSmoothed()
    {
        CurvesPlot plot;
        plot.resize(800, 400);
        CurveSeries val, train;
        val.name = QStringLiteral("val/loss");
        train.name = QStringLiteral("train/loss");
        for (int i = 0; i < 6; ++i) {
            val.x << i * 100;
            val.y << (i == 5 ? 1.0 : 2.0);
        }
        for (int i = 0; i < 500; ++i) {
            train.x << i;
            train.y << (i < 499 ? 2.0 : 1.0);
        }
        plot.setSeries({val, train});
        plot.setSmoothing(0.9);
        const QString readout = plot.readoutAt(499);
        QVERIFY2(readout.contains(QLatin1String("val/loss: 1  @")), qPrintable(readout)); // no "(smoothed ...)"
        QVERIFY2(readout.contains(QLatin1String("train/loss: 1 (smoothed 1.9")), qPrintable(readout));
        QCOMPARE(smoothingFor(kMinPointsToSmooth - 1, 0.9), 0.0);
        QCOMPARE(smoothingFor(kMinPointsToSmooth, 0.9), 0.9);
    }

    // The legend goes to a corner no line crosses: here the top right holds no point but a falling segment of the
    // last evaluations, the bottom right nothing at all.
    void legendAvoidsLinesNotOnlyPoints()
    {
        CurvesPlot plot;
        plot.resize(800, 400);
        CurveSeries val, start;
        val.name = QStringLiteral("val/accuracy");
        val.x << 0 << 75 << 100;
        val.y << 0.0 << 1.0 << 0.5;
        start.name = QStringLiteral("val/macro_f1");
        start.x << 0;
        start.y << 1.0;
        plot.setSeries({val, start});
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        plot.replot(); // lays the axis rect out
        plot.requestReplot();
        QTRY_COMPARE(plot.axisRect()->insetLayout()->insetAlignment(0), Qt::AlignBottom | Qt::AlignRight);
    }

    void curvesPlotDrawsFewPoints()
    {
        CurvesPlot plot;
        plot.resize(800, 400);
        CurveSeries s;
        s.name = QStringLiteral("train/loss");
        s.color = Qt::blue;
        for (int i = 0; i < 100000; ++i) {
            s.x << i;
            s.y << 1.0 / (1 + i);
        }
        plot.setSeries({s});
        QVERIFY(plot.drawnPointCount(0) > 100);
        QVERIFY(plot.drawnPointCount(0) <= 4 * 800);
        plot.setSmoothing(0.9);
        QVERIFY(plot.readoutAt(500).contains(QLatin1String("train/loss")));
        QVERIFY(plot.readoutAt(500).contains(QLatin1String("smoothed")));
        plot.setLogY(true);
        QCOMPARE(plot.yAxis->scaleType(), QCPAxis::stLogarithmic);
        QTemporaryDir dir;
        for (const char *ext : {"png", "pdf", "svg"}) {
            const QString path = dir.filePath(QStringLiteral("curves.") + QLatin1String(ext));
            QString error;
            QVERIFY2(plot.exportTo(path, &error), qPrintable(error));
            QVERIFY(QFileInfo(path).size() > 1000);
        }
        QString error;
        QVERIFY(!plot.exportTo(dir.filePath(QStringLiteral("x.bmpx")), &error));
        QVERIFY(error.contains(QLatin1String("png")));
    }

    // One row per sweep: a sweep's runs fold into its best trial as the sweep names it (lbk::sweepBests), named
    // after the sweep, with the sweep's status; the others hide; unfolding shows them all again. Found by an audit:
    // the row took the highest macro F1, a pruned trial's, and said "pruned" where the sweep's best is finished.
    void runsFoldIntoOneRowPerSweep()
    {
        RunsModel model;
        QAbstractItemModelTester tester(&model);
        std::vector<lbk::RunSummary> runs;
        for (int i = 1; i <= 4; ++i) {
            auto r = makeRun(i, "debug-sweep-" + std::to_string(i), lbk::RunStatus::Finished, 0.5 + 0.01 * (i % 3));
            r.tags = {"sweep:debug-sweep"};
            runs.push_back(r);
        }
        runs[1].status = lbk::RunStatus::Cancelled; // the highest macro F1, pruned early
        runs[1].tags.push_back(lbk::kPrunedTag);
        runs.push_back(makeRun(5, "alone-1", lbk::RunStatus::Finished, 0.7));
        lbk::SweepBest sweep{7, "debug-sweep", lbk::SweepStatus::Running, "val/loss", false, 6, lbk::TrialRecord{}};
        sweep.best->trial = 3;
        sweep.best->run = 3; // its lowest finished val/loss, by the sweep's own rule
        sweep.best->state = lbk::TrialState::Finished;
        sweep.best->value = 0.5;
        model.setSweeps({sweep});
        model.setRuns(runs);
        RunsFilterProxy proxy;
        proxy.setSourceModel(&model);
        QCOMPARE(proxy.rowCount(), 5);
        proxy.setFoldSweeps(true);
        QCOMPARE(proxy.rowCount(), 2);
        QStringList names;
        for (int r = 0; r < proxy.rowCount(); ++r)
            names << proxy.index(r, RunsModel::Name).data().toString();
        names.sort();
        QCOMPARE(names, (QStringList{QStringLiteral("alone-1"),
                                     QStringLiteral("debug-sweep: best of 4, trial 3 (debug-sweep-3)")}));
        QVERIFY(!model.foldedAway(model.rowOf(3)));
        const QModelIndex row = model.index(model.rowOf(3), 0);
        QCOMPARE(row.siblingAtColumn(RunsModel::Status).data().toString(), QStringLiteral("running")); // the sweep's
        const QString tip = row.siblingAtColumn(RunsModel::Name).data(Qt::ToolTipRole).toString();
        QVERIFY2(tip.contains(QLatin1String("lowest val/loss")), qPrintable(tip));
        QCOMPARE(model.comparedRuns(3), std::vector<qint64>{3}); // a sweep's row is compared as its best trial
        model.updateRuns(runs); // a refresh keeps the fold
        QCOMPARE(proxy.rowCount(), 2);
        // Found by an audit: a search for a trial that is not the one shown found nothing while folded. The row
        // stands for every trial; a search for one of them, or for the sweep, finds the sweep's row.
        for (const char *text : {"debug-sweep-2", "DEBUG-SWEEP"}) {
            proxy.setText(QString::fromLatin1(text));
            QCOMPARE(proxy.rowCount(), 1);
            QCOMPARE(proxy.index(0, 0).data(RunsModel::RunIdRole).toLongLong(), qint64(3));
        }
        proxy.setText(QStringLiteral("alone"));
        QCOMPARE(proxy.index(0, 0).data(RunsModel::RunIdRole).toLongLong(), qint64(5));
        QCOMPARE(proxy.rowCount(), 1);
        proxy.setText({});
        // A store without the sweep's record (or a best not yet finished): the newest run, not called the best.
        model.setSweeps({});
        model.updateRuns(runs);
        QCOMPARE(proxy.rowCount(), 2);
        QCOMPARE(model.index(model.rowOf(4), RunsModel::Name).data().toString(),
                 QStringLiteral("debug-sweep: 4 runs (debug-sweep-4)"));
        proxy.setFoldSweeps(false);
        QCOMPARE(proxy.rowCount(), 5);
    }

    // A run group (the same config over seeds, tagged "group:...") folds into one row whose metric columns are
    // the mean and sample deviation across its runs; a sweep's other group folds into a row of its own.
    void aRunGroupFoldsIntoItsMean()
    {
        RunsModel model;
        QAbstractItemModelTester tester(&model);
        std::vector<lbk::RunSummary> runs;
        const double f1[] = {0.60, 0.62, 0.64};
        for (int i = 1; i <= 3; ++i) {
            auto r = makeRun(i, "top20-seeds-" + std::to_string(i), lbk::RunStatus::Finished, f1[i - 1]);
            r.tags = {"sweep:top20-seeds", "group:top20-seeds"};
            runs.push_back(r);
        }
        auto other = makeRun(4, "top20-seeds-4", lbk::RunStatus::Finished, 0.5);
        other.tags = {"sweep:top20-seeds", "group:top20-seeds (optimizer.lr=0.01)"};
        runs.push_back(other);
        model.setRuns(runs);
        RunsFilterProxy proxy;
        proxy.setSourceModel(&model);
        proxy.setFoldSweeps(true);
        QCOMPARE(proxy.rowCount(), 2);
        QModelIndex group;
        for (int r = 0; r < proxy.rowCount(); ++r)
            if (proxy.index(r, RunsModel::Name).data().toString() == QStringLiteral("top20-seeds: mean of 3"))
                group = proxy.index(r, 0);
        QVERIFY(group.isValid());
        // best macro F1 is f1 + 0.01: mean 0.63, sample deviation 0.02
        const QModelIndex f1Cell = group.siblingAtColumn(RunsModel::BestF1);
        QCOMPARE(f1Cell.data().toString(), QStringLiteral("0.6300 \u00b1 0.0200"));
        QCOMPARE(f1Cell.data(RunsModel::SortRole).toDouble(), 0.63);
        QVERIFY(f1Cell.data(Qt::ToolTipRole).toString().contains(QLatin1String("3 runs")));
        // Compared, the row is every run of the group, not the one it opens.
        QCOMPARE(model.comparedRuns(group.data(RunsModel::RunIdRole).toLongLong()), (std::vector<qint64>{1, 2, 3}));
        // final val/loss is 1 - f1: mean 0.38
        QVERIFY(group.siblingAtColumn(RunsModel::FinalLoss).data().toString().startsWith(QStringLiteral("0.3800 \u00b1")));
        bool single = false;
        for (int r = 0; r < proxy.rowCount(); ++r)
            single |= proxy.index(r, RunsModel::Name).data().toString() ==
                      QStringLiteral("top20-seeds (optimizer.lr=0.01): mean of 1");
        QVERIFY(single);
        proxy.setFoldSweeps(false);
        QCOMPARE(proxy.index(0, RunsModel::BestF1).data().toString().contains(QChar(0x00b1)), false);
    }
};

QTEST_MAIN(TestModels)
#include "tst_models.moc"
