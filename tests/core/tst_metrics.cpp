// Metric functions against values computed by hand (and checked against scikit-learn's definitions).
#include <QtTest>

#include <algorithm>
#include <cmath>

#include "metrics/metrics.h"

class TestMetrics : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void multiclass()
    {
        // 3 classes, 6 examples. Predictions (argmax): 0,0,1,1,2,0 ; truth: 0,1,1,1,2,2
        const std::vector<float> probs = {0.7f, 0.2f, 0.1f, 0.5f, 0.4f, 0.1f, 0.1f, 0.8f, 0.1f,
                                          0.2f, 0.6f, 0.2f, 0.1f, 0.1f, 0.8f, 0.6f, 0.1f, 0.3f};
        const std::vector<int> truth = {0, 1, 1, 1, 2, 2};
        auto s = lbk::multiclassSummary(probs, truth, {"a", "b", "c"}, 0.5);
        QCOMPARE(s["accuracy"].get<double>(), 4.0 / 6.0);
        // class a: tp1 fp2 fn0 -> p 1/3 r 1 f1 0.5 ; b: tp2 fp0 fn1 -> p1 r 2/3 f1 0.8 ; c: tp1 fp0 fn1 -> f1 2/3
        QVERIFY(std::abs(s["per_class"][0]["f1"].get<double>() - 0.5) < 1e-12);
        QVERIFY(std::abs(s["per_class"][1]["f1"].get<double>() - 0.8) < 1e-12);
        QVERIFY(std::abs(s["per_class"][2]["f1"].get<double>() - 2.0 / 3.0) < 1e-12);
        QVERIFY(std::abs(s["macro_f1"].get<double>() - (0.5 + 0.8 + 2.0 / 3.0) / 3.0) < 1e-12);
        QCOMPARE(s["confusion"][1][0].get<int>(), 1);
        QCOMPARE(s["confusion"][2][0].get<int>(), 1);
        QCOMPARE(s["confusion"][1][1].get<int>(), 2);
        QCOMPARE(s["per_class"][1]["support"].get<int>(), 3);
    }

    void rocAucWithTies()
    {
        // sklearn.metrics.roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) == 0.75
        QCOMPARE(lbk::rocAuc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}), 0.75);
        // a tie between a positive and a negative counts half: [0,1] scores [0.5,0.5] -> 0.5
        QCOMPARE(lbk::rocAuc({0.5f, 0.5f}, {0, 1}), 0.5);
        QVERIFY(std::isnan(lbk::rocAuc({0.1f, 0.2f}, {1, 1})));
    }

    void averagePrecision()
    {
        // sklearn.metrics.average_precision_score([0,0,1,1], [0.1,0.4,0.35,0.8]) == 0.8333...
        QVERIFY(std::abs(lbk::averagePrecision({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}) - 5.0 / 6.0) < 1e-12);
    }

    void binarySummary()
    {
        auto s = lbk::binarySummary({0.9f, 0.2f, 0.6f, 0.4f}, {1, 0, 0, 1}, {"not x", "x"}, 0.3);
        QCOMPARE(s["accuracy"].get<double>(), 0.5);
        QCOMPARE(s["f1"].get<double>(), 0.5); // positive class: tp1 fp1 fn1
        QCOMPARE(s["roc_auc"].get<double>(), 0.75);
        QVERIFY(s["roc"].size() >= 2);
        QCOMPARE(s["roc"].back()[0].get<double>(), 1.0);
        // Where F1 peaks: predicting positive from 0.4 up finds both positives for one false one, F1 0.8.
        QCOMPARE(s["best_f1"]["f1"].get<double>(), 0.8);
        QCOMPARE(s["best_f1"]["threshold"].get<float>(), 0.4f);
        QVERIFY(lbk::binarySummary({0.9f}, {0}, {"not x", "x"}, 0.3)["best_f1"].is_null()); // no positive
        // As --threshold is told it: rounded down, so that the peak's papers stay in.
        QCOMPARE(lbk::thresholdArgument(0.23456), std::string("0.234"));
        QCOMPARE(lbk::thresholdArgument(0.9996), std::string("0.999"));
        QCOMPARE(lbk::thresholdArgument(0.4f), std::string("0.4"));
        QCOMPARE(lbk::thresholdArgument(0.000412345), std::string("0.000412"));
        // Read back, as lbk show and the Per-class page do: a peak above 0 advises; no peak or a malformed one not.
        const auto advice = lbk::thresholdAdvice(s["best_f1"]);
        QVERIFY(advice && advice->f1 == 0.8 && advice->threshold == "0.4");
        for (const char *bad : {R"(null)", R"({"f1": 0, "threshold": 0.3})", R"({"f1": null, "threshold": 0.3})",
                                R"({"f1": 0.5})", R"("0.5")"})
            QVERIFY2(!lbk::thresholdAdvice(nlohmann::json::parse(bad)), bad);
    }

    void binaryTieAtOneHalfIsPositive()
    {
        // sigmoid(0) is exactly 0.5: the summary must agree with the per-example rows (p >= 0.5 is positive).
        auto s = lbk::binarySummary({0.5f, 0.5f}, {1, 0}, {"not x", "x"}, 0.7);
        QCOMPARE(s["accuracy"].get<double>(), 0.5);
        QCOMPARE(s["confusion"][1][1].get<int>(), 1);
        QCOMPARE(s["confusion"][0][1].get<int>(), 1);
    }

    void macroF1SkipsAbsentClasses()
    {
        // Class c never occurs and is never predicted: the macro average is over a and b only (as sklearn).
        const std::vector<float> probs = {0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f};
        auto s = lbk::multiclassSummary(probs, {0, 1}, {"a", "b", "c"}, 0.1);
        QCOMPARE(s["macro_f1"].get<double>(), 1.0);
        QCOMPARE(s["per_class"].size(), size_t(3));
    }

    void multilabel()
    {
        // 2 examples, 3 labels. truth {0,2}, {1}; predicted (>=0.5) {0}, {1,2}
        auto s = lbk::multilabelSummary({0.9f, 0.1f, 0.4f, 0.2f, 0.7f, 0.6f}, {{0, 2}, {1}}, {"a", "b", "c"}, 0.1);
        // micro: tp 2, fp 1, fn 1 -> f1 = 2/3
        QVERIFY(std::abs(s["micro_f1"].get<double>() - 2.0 / 3.0) < 1e-12);
        // per label f1: a 1, b 1, c 0 -> macro 2/3
        QVERIFY(std::abs(s["macro_f1"].get<double>() - 2.0 / 3.0) < 1e-12);
        QCOMPARE(s["accuracy"].get<double>(), 0.0);
        QVERIFY(!s.contains("cautions")); // every label with papers is predicted somewhere
        // A label that papers have and no paper is predicted with is said (c here: true for the first, p 0.4).
        s = lbk::multilabelSummary({0.9f, 0.1f, 0.4f, 0.2f, 0.7f, 0.3f}, {{0, 2}, {1}}, {"a", "b", "c"}, 0.1);
        QCOMPARE(s["cautions"][0].get<std::string>(),
                 std::string("1 of the 3 labels are never predicted (p >= 0.5) though papers have them: each counts as "
                             "F1 0 in macro-F1 (0.6667); micro-F1 (0.8000) weighs labels by their papers"));
    }

    void scalarKeysCoverEverySummary()
    {
        // Every number a summary holds at its top level (but the example count) is a scalar metric key, so the
        // store keeps it as a series and a final/best value.
        const auto &keys = lbk::scalarMetricKeys();
        const auto isScalar = [&](const std::string &k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); };
        const std::vector<nlohmann::json> summaries = {
            lbk::multiclassSummary({0.7f, 0.3f, 0.2f, 0.8f}, {0, 1}, {"a", "b"}, 0.4),
            lbk::binarySummary({0.9f, 0.2f, 0.6f, 0.4f}, {1, 0, 0, 1}, {"not x", "x"}, 0.3),
            lbk::multilabelSummary({0.9f, 0.1f, 0.4f, 0.2f, 0.7f, 0.6f}, {{0, 2}, {1}}, {"a", "b", "c"}, 0.1)};
        for (const auto &s : summaries)
            for (const auto &[k, v] : s.items())
                if (v.is_number() && k != "examples")
                    QVERIFY2(isScalar(k), k.c_str());
        QVERIFY(isScalar("f1") && isScalar("micro_f1") && isScalar("loss"));
    }

    // A binary model that predicts no paper positive scores the share of negatives: its summary says so.
    void binarySummaryCountsPositives()
    {
        const auto some = lbk::binarySummary({0.9f, 0.2f, 0.6f, 0.4f}, {1, 0, 0, 1}, {"not x", "x"}, 0.3);
        QCOMPARE(some["positives"]["true"].get<int>(), 2);
        QCOMPARE(some["positives"]["predicted"].get<int>(), 2);
        QVERIFY(!some.contains("cautions"));
        const auto none = lbk::binarySummary({0.1f, 0.2f, 0.3f, 0.4f}, {1, 0, 0, 0}, {"not x", "x"}, 0.3);
        QCOMPARE(none["positives"]["predicted"].get<int>(), 0);
        QCOMPARE(none["accuracy"].get<double>(), 0.75);
        QVERIFY(none["cautions"].is_array() && none["cautions"].size() == 1);
        const std::string said = none["cautions"][0].get<std::string>();
        QVERIFY2(said.find("no paper is predicted positive") != std::string::npos &&
                     said.find("accuracy 0.7500 is the share of negative papers") != std::string::npos,
                 said.c_str());
    }

    void direction_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<bool>("higher");
        QTest::newRow("loss") << QStringLiteral("loss") << false;
        QTest::newRow("val/loss") << QStringLiteral("val/loss") << false;
        QTest::newRow("accuracy") << QStringLiteral("val/accuracy") << true;
        QTest::newRow("f1") << QStringLiteral("f1") << true;
        QTest::newRow("roc_auc") << QStringLiteral("test/roc_auc") << true;
        QTest::newRow("throughput") << QStringLiteral("train/examples_per_s") << true;
        // The compare view always ranked times low; lbk compare used to star the slowest run.
        QTest::newRow("time") << QStringLiteral("train/step_time") << false;
    }

    void direction()
    {
        QFETCH(QString, key);
        QFETCH(bool, higher);
        QCOMPARE(lbk::higherIsBetter(key.toStdString()), higher);
    }

    // The best of a comparison is marked only when its lead shows in the 4 decimals printed (two test losses of
    // 0.8532 had one starred).
    void bestRunLeadsVisibly()
    {
        QCOMPARE(lbk::bestRun("test/loss", {0.85322976, 0.85317486}), -1);
        QCOMPARE(lbk::bestRun("test/loss", {0.8532, 0.8421}), 1);
        QCOMPARE(lbk::bestRun("val/accuracy", {0.70, std::nan(""), 0.71}), 2);
        QCOMPARE(lbk::bestRun("val/accuracy", {0.70, 0.70}), -1);
        QCOMPARE(lbk::bestRun("steps", {10, 20}), -1);
        QCOMPARE(lbk::bestRun("val/f1", {std::nan(""), 0.7, std::nan("")}), -1); // a row one run has alone
    }

    void labelsReadAsPeopleWriteThem()
    {
        QCOMPARE(lbk::metricLabel("macro_f1"), std::string("macro-F1"));
        QCOMPARE(lbk::metricLabel("micro_f1"), std::string("micro-F1"));
        QCOMPARE(lbk::metricLabel("roc_auc"), std::string("ROC-AUC"));
        QCOMPARE(lbk::metricLabel("perplexity"), std::string("perplexity"));
    }

    void histogram()
    {
        const auto h = lbk::histogram({0.0f, 0.05f, 0.1f, 0.5f, 0.99f, 1.0f, NAN, -1.0f}, 10);
        QCOMPARE(h.size(), size_t(10));
        QCOMPARE(h[0], int64_t(3)); // 0.0, 0.05 and the clamped -1
        QCOMPARE(h[1], int64_t(1));
        QCOMPARE(h[5], int64_t(1));
        QCOMPARE(h[9], int64_t(2)); // 0.99 and 1.0 (the top edge belongs to the last bin)
    }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
