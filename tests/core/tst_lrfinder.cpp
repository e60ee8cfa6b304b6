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

// The losses a range test records over 100 rates from 1e-6 to 1, with a deterministic wobble of +-0.15 (the
// batch-to-batch noise the smoothing is for).
void sweep(std::vector<double> &lrs, std::vector<double> &losses, double spikeAtStart, bool nanTail)
{
    const int steps = 100;
    for (int i = 0; i < steps; ++i) {
        const double lr = lbk::lrFinderRate(1e-6, 1.0, steps, i);
        double loss = syntheticLoss(lr) + 0.15 * std::sin(2.3 * i);
        if (i < 3)
            loss += spikeAtStart; // early spikes fooled the steepest pick in Lightning (#1767)
        if (nanTail && i > 85)
            loss = NAN;
        lrs.push_back(lr);
        losses.push_back(loss);
    }
}

// Where the steepest descent of a running debiased EMA of the losses falls (what the suggestion read before).
double steepestOfEma(const std::vector<double> &lrs, const std::vector<double> &losses, double beta)
{
    lbk::DebiasedEma ema(beta);
    std::vector<double> s;
    for (double l : losses)
        s.push_back(ema.add(l));
    double best = 0, at = 0;
    for (size_t i = 11; i + 1 < s.size(); ++i) {
        const double slope = (s[i + 1] - s[i - 1]) / (std::log10(lrs[i + 1]) - std::log10(lrs[i - 1]));
        if (std::isfinite(slope) && slope < best) {
            best = slope;
            at = lrs[i];
        }
    }
    return at;
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
        std::vector<double> lrs, losses;
        sweep(lrs, losses, spike, nanTail);
        const auto s = lbk::suggestLearningRate(lrs, losses);
        QVERIFY2(s.lr.has_value(), s.reason.c_str());
        // The loss falls fastest at 1e-3: the centred curve finds it within a factor of two.
        QVERIFY2(*s.lr > 5e-4 && *s.lr < 2e-3, qPrintable(QString::number(*s.lr)));
        QVERIFY(std::isfinite(losses[size_t(s.index)]));
    }

    // The running EMA of beta 0.98 (Lightning's and fastai's smoothing) puts the steepest descent of the same
    // curve at more than three times the rate where the loss falls fastest; the suggestion, read off the centred
    // curve, is more than three times below it.
    void runningAverageLagsTheDescent()
    {
        std::vector<double> lrs, losses;
        sweep(lrs, losses, 0.0, false);
        const double lagged = steepestOfEma(lrs, losses, 0.98);
        QVERIFY2(lagged > 3e-3, qPrintable(QString::number(lagged)));
        const auto s = lbk::suggestLearningRate(lrs, losses);
        QVERIFY(s.lr.has_value());
        QVERIFY2(*s.lr * 3 < lagged, qPrintable(QStringLiteral("%1 vs %2").arg(*s.lr).arg(lagged)));
    }

    // Centred: a straight line comes back unchanged, at the ends too (no lag, no pull towards the middle); a
    // non-finite loss stays non-finite and is left out of its neighbours' means.
    void curveIsCentred()
    {
        std::vector<double> line;
        for (int i = 0; i < 40; ++i)
            line.push_back(3.0 - 0.05 * i);
        const auto curve = lbk::lrFinderCurve(line);
        for (size_t i = 0; i < line.size(); ++i)
            QVERIFY2(std::abs(curve[i] - line[i]) < 1e-12, qPrintable(QString::number(i)));
        line[20] = NAN;
        line[21] = INFINITY;
        const auto masked = lbk::lrFinderCurve(line);
        QVERIFY(std::isnan(masked[20]));
        QVERIFY(std::isnan(masked[21]));
        QVERIFY(std::isfinite(masked[19]) && std::isfinite(masked[22]));
        QVERIFY(masked[19] > 1.0 && masked[19] < 3.0);
    }

    // The fast curve is the weighted mean it is defined as (brute force here), with gaps, and with a huge loss
    // that must not spoil the means after it.
    void curveMatchesItsDefinition()
    {
        std::vector<double> losses;
        uint32_t state = 7;
        for (int i = 0; i < 601; ++i) {
            state = state * 1664525u + 1013904223u;
            losses.push_back(2.0 + double(state >> 8) / double(1u << 24));
        }
        losses[0] = NAN, losses[33] = INFINITY, losses[34] = NAN, losses[300] = 1e30, losses[600] = NAN;
        const int n = int(losses.size()), half = lbk::lrFinderHalfWidth(losses.size());
        const auto curve = lbk::lrFinderCurve(losses);
        for (int i = 0; i < n; ++i) {
            if (!std::isfinite(losses[size_t(i)])) {
                QVERIFY(std::isnan(curve[size_t(i)]));
                continue;
            }
            double sum = 0, weights = 0;
            const int reach = std::min({half, i, n - 1 - i});
            for (int d = -reach; d <= reach; ++d)
                if (const double v = losses[size_t(i + d)]; std::isfinite(v))
                    sum += (half + 1 - std::abs(d)) * v, weights += half + 1 - std::abs(d);
            const double want = sum / weights;
            QVERIFY2(std::abs(curve[size_t(i)] - want) <= 1e-12 * std::abs(want),
                     qPrintable(QStringLiteral("point %1: %2, want %3").arg(i).arg(curve[size_t(i)]).arg(want)));
        }
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
        // A test over a decade where nothing trained (an audit's, 30 steps from 1e-5 to 1e-4): the loss wobbled
        // around 1.61, and a suggestion would start a sweep that learns nothing.
        const std::vector<double> noise = {
            1.6045, 1.6340, 1.6495, 1.6418, 1.6341, 1.6179, 1.6209, 1.6414, 1.6120, 1.6165, 1.6220, 1.6045, 1.6157,
            1.6382, 1.6431, 1.6217, 1.6094, 1.6153, 1.6227, 1.5949, 1.6305, 1.6016, 1.6194, 1.6292, 1.6209, 1.5856,
            1.6321, 1.6531, 1.6017, 1.6178};
        std::vector<double> decade;
        for (int i = 0; i < int(noise.size()); ++i)
            decade.push_back(lbk::lrFinderRate(1e-5, 1e-4, int(noise.size()), i));
        s = lbk::suggestLearningRate(decade, noise);
        QVERIFY2(!s.lr && s.reason.find("did not clearly go down") != std::string::npos, s.reason.c_str());
        // The same over 100 steps of a deterministic wobble, and a real descent under it still gets its rate.
        std::vector<double> wobble, descent;
        for (int i = 0; i < 50; ++i) {
            wobble.push_back(1.6 + 0.02 * std::sin(2.3 * i) + 0.01 * std::sin(0.7 * i));
            descent.push_back(wobble.back() - 0.4 / (1.0 + std::exp(-(i - 25.0) / 3.0)));
        }
        QVERIFY(!lbk::suggestLearningRate(lrs, wobble).lr);
        QVERIFY(lbk::suggestLearningRate(lrs, descent).lr);
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
