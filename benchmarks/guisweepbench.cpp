// Sweeps multiply runs, and trackers' interfaces slow down past a few hundred of them. This measures Labbook's over
// a store of 100 sweeps of 100 trials each (10,000 runs) holding 100M metric points (per run: val/macro_f1 at 100
// evaluations and train/loss at 9,900 steps): the window's first paint, a 100-trial sweep page (table, parallel
// coordinates, scatter, importance), and the curves across seeds of ten 10-run groups.
#include "guisweepbench.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QSignalSpy>
#include <QTabWidget>

#include <sqlite3.h>

#include "mainwindow.h"
#include "models/runsmodel.h"
#include "models/trialsmodel.h"
#include "plots/groupcurvesplot.h"
#include "sweep/groups.h"
#include "plots/parallelplot.h"
#include "plots/sweepscatter.h"
#include "storeservice.h"
#include "store/store.h"
#include "views/runsbrowser.h"
#include "views/sweeppage.h"

using nlohmann::json;

namespace {

constexpr int kSweeps = 100, kTrials = 100, kEvals = 100, kSteps = 9900;

double ms(const QElapsedTimer &t) { return double(t.nsecsElapsed()) / 1e6; }

json baseExperiment()
{
    std::ifstream in(LABBOOK_SOURCE_DIR "/experiments/debug.json");
    return json::parse(in);
}

bool build(const QString &path)
{
    for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")})
        QFile::remove(path + suffix);
    auto opened = lbk::Store::open(path.toStdString());
    if (!opened) {
        std::fprintf(stderr, "%s\n", opened.message().c_str());
        return false;
    }
    lbk::Store &store = **opened;
    std::printf("building %s (100 sweeps x 100 trials, 100M metric points)...\n", qPrintable(path));
    std::fflush(stdout);
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> u(0, 1);
    const json base = baseExperiment();
    sqlite3 *db = store.handle();
    sqlite3_stmt *st = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO metrics (run, key, step, wall, value) VALUES (?, ?, ?, ?, ?)", -1, &st, nullptr);
    for (int s = 0; s < kSweeps; ++s) {
        // Sweep 1 runs ten rates over ten seeds each: ten groups of ten runs. The others vary three keys.
        const bool seeds = s == 0;
        json spec = {{"name", "bench-sweep-" + std::to_string(s + 1)}, {"experiment", base}, {"trials", kTrials}};
        spec["parameters"] = seeds ? json{{"optimizer.lr", {{"values", {0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064,
                                                                        0.128, 0.256, 0.512}}}},
                                          {"training.seed", {{"values", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}}}}
                                   : json{{"optimizer.lr", {{"log_uniform", {1e-4, 1.0}}}},
                                          {"model.dropout", {{"uniform", {0.0, 0.5}}}},
                                          {"model.embedding_dim", {{"values", {32, 64, 128, 256}}}}};
        std::vector<json> params;
        for (int t = 0; t < kTrials; ++t)
            params.push_back(seeds ? json{{"optimizer.lr", spec["parameters"]["optimizer.lr"]["values"][size_t(t / 10)]},
                                          {"training.seed", t % 10 + 1}}
                                   : json{{"optimizer.lr", std::pow(10.0, -4 + 4 * u(rng))},
                                          {"model.dropout", std::round(u(rng) * 50) / 100},
                                          {"model.embedding_dim", 32 << (rng() % 4)}});
        auto sweep = store.createSweep(spec["name"], spec, params);
        if (!sweep) {
            std::fprintf(stderr, "%s\n", sweep.message().c_str());
            return false;
        }
        sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
        for (auto t : store.trials(sweep->id)) {
            lbk::NewRun nr;
            nr.name = sweep->name + "-" + std::to_string(t.trial);
            nr.experiment = "debug";
            nr.task = "multiclass";
            nr.tags = {"sweep:" + sweep->name};
            auto run = store.createRun(nr);
            if (!run)
                return false;
            const double quality = 0.4 + 0.4 * u(rng);
            for (int e = 1; e <= kEvals; ++e) {
                sqlite3_bind_int64(st, 1, run->id);
                sqlite3_bind_text(st, 2, "val/macro_f1", -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 3, e * 100);
                sqlite3_bind_double(st, 4, 1.75e9 + e);
                sqlite3_bind_double(st, 5, quality * (1 - std::exp(-e / 20.0)) + 0.01 * u(rng));
                sqlite3_step(st);
                sqlite3_reset(st);
            }
            for (int step = 1; step <= kSteps; ++step) {
                sqlite3_bind_int64(st, 1, run->id);
                sqlite3_bind_text(st, 2, "train/loss", -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 3, step);
                sqlite3_bind_double(st, 4, 1.75e9 + step * 0.1);
                sqlite3_bind_double(st, 5, 2.0 / std::sqrt(double(step)) + 0.05 * u(rng));
                sqlite3_step(st);
                sqlite3_reset(st);
            }
            t.run = run->id;
            t.state = u(rng) < 0.6 ? lbk::TrialState::Pruned : lbk::TrialState::Finished;
            t.value = quality;
            if (!store.updateTrial(t) || !store.setStatus(run->id, lbk::RunStatus::Finished))
                return false;
        }
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
        (void)store.setSweepStatus(sweep->id, lbk::SweepStatus::Finished);
        if ((s + 1) % 10 == 0) {
            std::printf("  %d sweeps\n", s + 1);
            std::fflush(stdout);
        }
    }
    sqlite3_finalize(st);
    return true;
}

template <class Pred> bool waitFor(Pred pred, int timeoutMs = 60000)
{
    QElapsedTimer t;
    t.start();
    while (!pred() && t.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 2);
    return pred();
}

} // namespace

int runSweepBench(const QString &path, bool rebuild)
{
    if (rebuild || !QFile::exists(path)) {
        QElapsedTimer t;
        t.start();
        if (!build(path))
            return 1;
        std::printf("  built in %.1f s\n", ms(t) / 1000);
    }
    std::printf("Labbook GUI over sweeps (Qt %s, platform %s)\n", qVersion(), qPrintable(QApplication::platformName()));
    std::printf("%-62s %10s %10s\n", "what", "measured", "target");
    {
        QElapsedTimer t;
        t.start();
        labbook::MainWindow window(path);
        window.setConfirmOnClose(false);
        window.resize(1400, 900);
        window.show();
        auto *model = window.runsBrowser()->model();
        waitFor([&] { return model->rowCount() >= kSweeps * kTrials; });
        const QImage frame = window.grab().toImage();
        std::printf("%-62s %8.0f ms %10s\n", "first paint, 10,000 runs in 100 sweeps (100M metric points)", ms(t),
                    "< 500 ms");
        if (model->rowCount() != kSweeps * kTrials || frame.isNull())
            std::printf("  warning: %d runs listed\n", model->rowCount());
    }
    labbook::StoreService service;
    QSignalSpy opened(&service, &labbook::StoreService::storeOpened);
    service.open(path);
    opened.wait(30000);
    labbook::SweepPage page(&service);
    page.resize(1400, 900);
    page.show();
    QCoreApplication::processEvents();
    for (const int sweep : {2, 1}) { // a three-key sweep, then the seed sweep
        QSignalSpy loaded(&page, &labbook::SweepPage::loaded);
        page.views()->setCurrentIndex(0);
        QElapsedTimer t;
        t.start();
        page.showSweep(sweep);
        loaded.wait(30000);
        page.plot()->replot(QCustomPlot::rpImmediateRefresh);
        const QImage frame = page.grab().toImage();
        const double drawn = ms(t);
        std::printf("%-62s %8.1f ms %10s\n",
                    qPrintable(QStringLiteral("sweep page of a 100-trial sweep (%1 keys): table, parallel coordinates, "
                                              "importance").arg(page.plot()->axisCount() - 1)),
                    drawn, "< 200 ms");
        t.restart();
        page.views()->setCurrentIndex(1);
        page.scatter()->replot(QCustomPlot::rpImmediateRefresh);
        std::printf("%-62s %8.1f ms %10s\n", "  its metric against each key", ms(t), "");
        (void)frame;
    }
    for (const char *metric : {"val/macro_f1", "train/loss"}) {
        page.views()->setCurrentIndex(2);
        page.curveMetric()->setCurrentIndex(page.curveMetric()->findText(QString::fromLatin1(metric)));
        service.waitForIdle(); // the curves the page asked for when it opened the sweep are in
        QCoreApplication::processEvents();
        page.groupCurves()->setCurves({}, QString());
        QElapsedTimer t;
        t.start();
        QMetaObject::invokeMethod(page.curveMetric(), "activated", Q_ARG(int, page.curveMetric()->currentIndex()));
        waitFor([&] {
            return page.groupCurves()->yAxis->label() == QLatin1String(metric) && page.groupCurves()->groupCount() == 10;
        });
        page.groupCurves()->replot(QCustomPlot::rpImmediateRefresh);
        std::printf("%-62s %8.1f ms %10s\n",
                    qPrintable(QStringLiteral("ten 10-run groups' mean-and-band curves of %1 (%2 points each run)")
                                   .arg(QLatin1String(metric))
                                   .arg(std::string(metric) == "train/loss" ? kSteps : kEvals)),
                    ms(t), "< 200 ms");
    }
    {
        // One 10-run group read, averaged and drawn directly: the ten runs of the seed sweep's first rate.
        auto store = lbk::Store::open(path.toStdString());
        const auto trials = (*store)->trials(1);
        labbook::GroupCurvesPlot plot;
        plot.resize(1200, 600);
        plot.show();
        QCoreApplication::processEvents();
        QElapsedTimer t;
        t.start();
        std::vector<std::vector<lbk::MetricPoint>> series;
        for (int i = 0; i < 10; ++i)
            series.push_back((*store)->metric(trials[size_t(i)].run, "train/loss"));
        const double read = ms(t);
        plot.setCurves({{QStringLiteral("lr 0.001"), lbk::groupCurve(series)}}, QStringLiteral("train/loss"));
        plot.replot(QCustomPlot::rpImmediateRefresh);
        std::printf("%-62s %8.1f ms %10s\n", "one 10-run group's mean-and-band curve of train/loss (9,900 steps)", ms(t),
                    "< 200 ms");
        std::printf("%-62s %8.1f ms %10s\n", "  of which reading its 99,000 points from the store", read, "");
    }
    return 0;
}
