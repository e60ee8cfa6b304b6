// The LR range test's arithmetic on synthetic curves, and the learning-rate schedules.
#include <QtTest>

#include <cmath>

#include "train/lrfinder.h"
#include "train/schedule.h"

namespace {
// A loss curve shaped like a real range test: flat, a steep descent around 1e-3, a minimum near 1e-2,
// then divergence.
double syntheticLoss(double lr)
{
    const double x = std::log10(lr);
    return 2.0 - 1.5 / (1.0 + std::exp(-3.0 * (x + 3.0))) + (x > -2 ? std::pow(10.0, 2.0 * (x + 2)) - 1 : 0.0);
}

void sweep(std::vector<double> &lrs, std::vector<double> &smoothed, double spikeAtStart, bool nanTail)
{
    lbk::DebiasedEma ema(0.9);
    const int steps = 100;
    for (int i = 0; i < steps; ++i) {
        const double lr = lbk::lrFinderRate(1e-6, 1.0, steps, i);
        double loss = syntheticLoss(lr);
        if (i < 3)
            loss += spikeAtStart; // early spikes fooled the steepest pick in Lightning (#1767)
        if (nanTail && i > 85)
            loss = NAN;
        lrs.push_back(lr);
        const double s = ema.add(loss);
        smoothed.push_back(std::isfinite(loss) ? s : NAN);
    }
}
} // namespace

class TestLrFinder : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rates()
    {
        QCOMPARE(lbk::lrFinderRate(1e-7, 10, 100, 0), 1e-7);
        QVERIFY(std::abs(lbk::lrFinderRate(1e-7, 10, 100, 99) - 10) < 1e-9);
        QVERIFY(std::abs(lbk::lrFinderRate(1e-4, 1, 5, 2) - 1e-2) < 1e-12); // geometric midpoint
    }

    void emaIsDebiased()
    {
        lbk::DebiasedEma ema(0.98);
        QCOMPARE(ema.add(5.0), 5.0); // the first value is not pulled towards 0
        QVERIFY(std::abs(ema.add(5.0) - 5.0) < 1e-12);
        QVERIFY(std::isnan(lbk::DebiasedEma(0.9).add(NAN)));
    }

    void divergence()
    {
        QVERIFY(lbk::lrFinderDiverged(NAN, 1.0, 4));
        QVERIFY(lbk::lrFinderDiverged(4.1, 1.0, 4));
        QVERIFY(!lbk::lrFinderDiverged(3.9, 1.0, 4));
    }

    void suggestion_data()
    {
        QTest::addColumn<double>("spike");
        QTest::addColumn<bool>("nanTail");
        QTest::newRow("clean") << 0.0 << false;
        QTest::newRow("spiky start") << 50.0 << false;
        QTest::newRow("nan tail") << 0.0 << true;
        QTest::newRow("spiky start and nan tail") << 50.0 << true;
    }

    void suggestion()
    {
        QFETCH(double, spike);
        QFETCH(bool, nanTail);
        std::vector<double> lrs, smoothed;
        sweep(lrs, smoothed, spike, nanTail);
        const auto s = lbk::suggestLearningRate(lrs, smoothed);
        QVERIFY2(s.lr.has_value(), s.reason.c_str());
        // The steepest descent of the (smoothed, so slightly delayed) curve lies between 1e-4 and 1e-2.
        QVERIFY2(*s.lr > 1e-4 && *s.lr < 1e-2, qPrintable(QString::number(*s.lr)));
        QVERIFY(std::isfinite(smoothed[size_t(s.index)]));
    }

    void noSuggestionWhenFlatOrTooShort()
    {
        std::vector<double> lrs, flat;
        for (int i = 0; i < 50; ++i) {
            lrs.push_back(lbk::lrFinderRate(1e-6, 1, 50, i));
            flat.push_back(1.0 + 0.01 * i); // only rising
        }
        auto s = lbk::suggestLearningRate(lrs, flat);
        QVERIFY(!s.lr);
        QVERIFY(!s.reason.empty());
        auto shortRun = lbk::suggestLearningRate({1e-3, 1e-2}, {1.0, 0.5});
        QVERIFY(!shortRun.lr);
        QVERIFY(QString::fromStdString(shortRun.reason).contains(QStringLiteral("too few")));
    }

    void schedules()
    {
        lbk::ScheduleSpec s;
        s.type = lbk::ScheduleType::Constant;
        QCOMPARE(lbk::scheduledLr(s, 0.1, 50, 100), 0.1);
        s.type = lbk::ScheduleType::Linear;
        s.warmup = 0.1;
        QVERIFY(std::abs(lbk::scheduledLr(s, 0.1, 0, 100) - 0.01) < 1e-12);  // first warm-up step
        QVERIFY(std::abs(lbk::scheduledLr(s, 0.1, 9, 100) - 0.1) < 1e-12);   // end of warm-up: the peak
        QVERIFY(std::abs(lbk::scheduledLr(s, 0.1, 99, 100) - 0.0) < 1e-12);  // last step: final factor 0
        s.type = lbk::ScheduleType::Cosine;
        s.finalLrFactor = 0.1;
        QVERIFY(std::abs(lbk::scheduledLr(s, 0.1, 99, 100) - 0.01) < 1e-12);
        const double mid = lbk::scheduledLr(s, 0.1, 10 + 89 / 2, 100);
        QVERIFY(mid > 0.05 && mid < 0.06);
        s.type = lbk::ScheduleType::OneCycle;
        s.warmup = 0.3;
        s.finalLrFactor = 0;
        QVERIFY(std::abs(lbk::scheduledLr(s, 0.1, 0, 100) - 0.004) < 1e-12); // peak / 25
        QVERIFY(std::abs(lbk::scheduledLr(s, 0.1, 30, 100) - 0.1) < 1e-12);
        QVERIFY(lbk::scheduledLr(s, 0.1, 99, 100) < 1e-4);
    }
};

QTEST_GUILESS_MAIN(TestLrFinder)
#include "tst_lrfinder.moc"
