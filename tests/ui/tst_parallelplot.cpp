// The parallel coordinates' numeric axes as a person reads them: the trials' extent at the ends and round values
// between, 1, 2 or 5 x 10^k apart over the whole axis (decades on a log axis, whole numbers for an integer key), each
// label at its own value; a list of numbers labelled value by value. Writes screenshots/parallel-ticks.png.
#include <QtTest>

#include <QDir>

#include <algorithm>
#include <cmath>
#include <map>

#include "plots/parallelplot.h"
#include "sweep/overview.h"

using nlohmann::json;

namespace {

// A swept key and its trials' values.
struct Key {
    lbk::ParamSpec param;
    std::vector<double> values;
};

json number(double v)
{
    return v == std::round(v) ? json(int64_t(v)) : json(v);
}

lbk::SweepAxis axisOf(const Key &k)
{
    lbk::SweepAxis a;
    a.key = k.param.key;
    a.log = k.param.kind == lbk::ParamKind::LogUniform;
    const auto [lo, hi] = std::minmax_element(k.values.begin(), k.values.end());
    a.lo = a.log ? std::log10(*lo) : *lo;
    a.hi = a.log ? std::log10(*hi) : *hi;
    return a;
}

// A finished sweep over keys, trial i with the i-th value of every key and metric i (all of them the same length).
lbk::SweepOverview overview(const std::vector<Key> &keys, const std::vector<double> &metrics, bool maximize = true)
{
    lbk::SweepOverview o;
    o.spec.metric = "val/macro_f1";
    o.spec.maximize = maximize;
    for (const Key &k : keys) {
        o.spec.parameters.push_back(k.param);
        o.axes.push_back(axisOf(k));
    }
    for (size_t i = 0; i < metrics.size(); ++i) {
        lbk::TrialRow row;
        row.trial.trial = int(i) + 1;
        row.trial.state = lbk::TrialState::Finished;
        row.trial.value = metrics[i];
        for (const Key &k : keys)
            row.trial.params[k.param.key] = number(k.values[i % k.values.size()]);
        o.trials.push_back(row);
    }
    return o;
}

Key key(const std::string &name, lbk::ParamKind kind, const std::vector<double> &values)
{
    Key k{{name, kind}, values};
    if (kind == lbk::ParamKind::Values)
        for (double v : values)
            if (std::find(k.param.values.begin(), k.param.values.end(), number(v)) == k.param.values.end())
                k.param.values.push_back(number(v)); // as a sweep lists them: each once
    k.param.low = *std::min_element(values.begin(), values.end());
    k.param.high = *std::max_element(values.begin(), values.end());
    return k;
}

// Axis i's labels, bottom first, as (position 0..1 along the axis, text).
QList<QPair<double, QString>> labelsOf(labbook::ParallelPlot &plot, int axis)
{
    plot.replot(); // lays the items out
    QList<QPair<double, QString>> out;
    for (auto *t : plot.findChildren<QCPItemText *>()) {
        const double x = plot.xAxis->pixelToCoord(t->position->pixelPosition().x() - 4); // 4 px right of the line
        if (t->objectName() == QLatin1String("tick") && std::abs(x - axis) < 0.1)
            out.append({t->position->coords().y(), t->text()});
    }
    std::sort(out.begin(), out.end());
    return out;
}

QStringList texts(const QList<QPair<double, QString>> &labels)
{
    QStringList out;
    for (const auto &l : labels)
        out << l.second;
    return out;
}

} // namespace

Q_DECLARE_METATYPE(lbk::ParamKind)

class TestParallelPlot : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void labelsAKey_data()
    {
        QTest::addColumn<lbk::ParamKind>("kind");
        QTest::addColumn<QList<double>>("values");
        QTest::addColumn<QStringList>("expected");
        using K = lbk::ParamKind;
        const auto row = [](const char *name, K kind, const QList<double> &values, const QString &expected) {
            QTest::newRow(name) << kind << values << expected.split(QLatin1Char(' '));
        };
        // These were 13.15, 13.3, 13.45 (written 13.2, 13.3, 13.5), nothing above the middle: every hundredth
        // thinned to one in fifteen, from the first fifty only.
        row("uniform 13..14", K::Uniform, {13, 13.5, 14}, QStringLiteral("13 13.2 13.4 13.6 13.8 14"));
        row("int_uniform 13..14", K::IntUniform, {13, 14}, QStringLiteral("13 14"));
        row("int_uniform 0..100", K::IntUniform, {0, 37, 100}, QStringLiteral("0 20 40 60 80 100"));
        row("log_uniform 1e-4..0.1", K::LogUniform, {1e-4, 3e-3, 0.1}, QStringLiteral("0.0001 0.001 0.01 0.1"));
        row("log_uniform 0.002..0.05", K::LogUniform, {0.002, 0.05}, QStringLiteral("0.002 0.005 0.01 0.02 0.05"));
        row("uniform 0.6441..0.654", K::Uniform, {0.6441, 0.654},
            QStringLiteral("0.6441 0.646 0.648 0.65 0.652 0.654"));
        // A list gets a label per value (these were 30, 40, 50 between 16 and 64), round values where they crowd.
        row("values 16..64", K::Values, {16, 32, 48, 64}, QStringLiteral("16 32 48 64"));
        row("values 13, 14", K::Values, {13, 14}, QStringLiteral("13 14"));
        row("values crowded", K::Values, {1, 2, 3, 100}, QStringLiteral("1 20 40 60 80 100"));
    }

    void labelsAKey()
    {
        QFETCH(lbk::ParamKind, kind);
        QFETCH(QList<double>, values);
        QFETCH(QStringList, expected);
        labbook::ParallelPlot plot;
        plot.resize(600, 400);
        plot.show();
        const Key k = key("model.size", kind, {values.begin(), values.end()});
        plot.setOverview(overview({k}, std::vector<double>(values.size(), 0.5)));
        const auto labels = labelsOf(plot, 0);
        QCOMPARE(texts(labels), expected);
        const lbk::SweepAxis a = axisOf(k);
        for (const auto &[position, text] : labels) // each label at its value: the place its trials' lines pass
            QVERIFY2(std::abs(position - a.position(text.toDouble())) < 1e-9, qPrintable(text));
    }

    // The metric's axis: 0.6441, 0.6457, 0.6472, 0.6487, then nothing up to 0.654, before.
    void labelsTheMetric_data()
    {
        QTest::addColumn<bool>("maximize");
        QTest::newRow("maximized") << true;
        QTest::newRow("minimized") << false; // the best, the least, at the top
    }

    void labelsTheMetric()
    {
        QFETCH(bool, maximize);
        labbook::ParallelPlot plot;
        plot.resize(600, 400);
        plot.show();
        const std::vector<double> metrics{0.6441, 0.65, 0.654};
        plot.setOverview(overview({key("split.seed", lbk::ParamKind::Values, {13, 14, 15})}, metrics, maximize));
        auto labels = labelsOf(plot, 1);
        if (!maximize)
            std::reverse(labels.begin(), labels.end());
        QCOMPARE(texts(labels), QStringLiteral("0.6441 0.646 0.648 0.65 0.652 0.654").split(QLatin1Char(' ')));
        for (const auto &[position, text] : labels) {
            const double p = (text.toDouble() - 0.6441) / (0.654 - 0.6441);
            QVERIFY2(std::abs(position - (maximize ? p : 1 - p)) < 1e-9, qPrintable(text));
        }
    }

    // Found by an audit: a trial still running was drawn as if its metric were its last, and one without a metric
    // yet in the worst colour. Open trials are dotted; one without a metric is grey, and the caption says so.
    void openTrialsAreDottedAndNotRanked()
    {
        labbook::ParallelPlot plot;
        plot.resize(600, 400);
        lbk::SweepOverview o = overview({key("split.seed", lbk::ParamKind::Values, {13, 14, 15})}, {0.6, 0.7, 0.8});
        o.trials[1].trial.state = lbk::TrialState::Running; // an interim metric
        o.trials[2].trial.state = lbk::TrialState::Pending;
        o.trials[2].trial.value.reset();
        plot.setOverview(o);
        plot.show();
        std::map<QString, QPen> pens;
        for (auto *c : plot.findChildren<QCPCurve *>())
            pens[c->name()] = c->pen();
        QCOMPARE(pens.at(QStringLiteral("trial 1")).style(), Qt::SolidLine);
        QCOMPARE(pens.at(QStringLiteral("trial 2")).style(), Qt::DotLine);
        QCOMPARE(pens.at(QStringLiteral("trial 3")).style(), Qt::DotLine);
        QCOMPARE(pens.at(QStringLiteral("trial 3")).color().hsvSaturation(), 0);
        QVERIFY(pens.at(QStringLiteral("trial 2")).color().hsvSaturation() > 0);
        QString caption;
        for (auto *t : plot.findChildren<QCPItemText *>())
            if (t->objectName() == QLatin1String("caption"))
                caption = t->text();
        QVERIFY2(caption.contains(QLatin1String("dotted: not ended yet")), qPrintable(caption));
    }

    // Every kind of numeric axis side by side, to look at; a running trial dotted, one waiting grey.
    void screenshot()
    {
        labbook::ParallelPlot plot;
        plot.resize(900, 420);
        using K = lbk::ParamKind;
        const std::vector<Key> keys{key("model.embedding_dim", K::Values, {16, 32, 48, 64, 32, 16}),
                                    key("optimizer.lr", K::LogUniform, {1e-4, 3e-4, 2e-3, 0.01, 0.04, 0.1}),
                                    key("model.scale", K::Uniform, {13, 13.3, 13.9, 13.5, 14, 13.1}),
                                    key("split.seed", K::IntUniform, {13, 14, 13, 14, 13, 14})};
        lbk::SweepOverview o = overview(keys, {0.6441, 0.6462, 0.654, 0.6498, 0.6505, 0.6477, 0.0});
        o.trials[5].trial.state = lbk::TrialState::Running;
        o.trials[6].trial.state = lbk::TrialState::Pending;
        o.trials[6].trial.value.reset();
        plot.setOverview(o);
        QCOMPARE(plot.axisCount(), 5);
        plot.show();
        QCOMPARE(texts(labelsOf(plot, 0)), QStringLiteral("16 32 48 64").split(QLatin1Char(' ')));
        QCOMPARE(texts(labelsOf(plot, 3)), QStringLiteral("13 14").split(QLatin1Char(' ')));
        QDir().mkpath(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots"));
        QVERIFY(plot.grab().save(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots/parallel-ticks.png")));
    }
};

QTEST_MAIN(TestParallelPlot)
#include "tst_parallelplot.moc"
