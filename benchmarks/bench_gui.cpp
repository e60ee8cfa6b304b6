// GUI benchmarks: prints (does not assert) how long the window takes to first paint over a store of 1,000
// runs and 10M metric points, how long drawing a 100k-step series takes, and how long filtering 100k
// prediction rows takes. Targets: < 1 s, < 200 ms, < 100 ms. The store is built once (about half a minute)
// and reused; pass --rebuild to build it again, --store PATH to use another. --sweeps measures sweeps' scale
// instead (guisweepbench.h).
//
//   QT_QPA_PLATFORM=offscreen build/bin/bench_gui
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTableView>

#include <sqlite3.h>

#include "guisweepbench.h"
#include "mainwindow.h"
#include "models/predictionsmodel.h"
#include "models/runsmodel.h"
#include "plots/curvesplot.h"
#include "storeservice.h"
#include "views/runsbrowser.h"

namespace {

constexpr int kRuns = 1000;
constexpr int kKeys = 4;
constexpr int64_t kPointsPerSeries = 2500;   // 1000 runs x 4 keys x 2500 = 10M
constexpr int64_t kLongSeries = 100000;      // run 1's train/loss: 100k steps (on top of the 10M)

double ms(const QElapsedTimer &t)
{
    return double(t.nsecsElapsed()) / 1e6;
}

bool buildStore(const QString &path)
{
    QFile::remove(path);
    QFile::remove(path + QStringLiteral("-wal"));
    QFile::remove(path + QStringLiteral("-shm"));
    auto opened = lbk::Store::open(path.toStdString());
    if (!opened) {
        std::fprintf(stderr, "%s\n", opened.message().c_str());
        return false;
    }
    auto &store = *opened.value();
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(0, 1);
    const char *experiments[] = {"debug", "top20-title", "binary-cv", "multilabel-cs", "gru-debug"};
    std::printf("building the benchmark store %s (1,000 runs, 10M metric points)...\n", qPrintable(path));
    std::fflush(stdout);
    for (int i = 0; i < kRuns; ++i) {
        lbk::NewRun nr;
        nr.name = std::string(experiments[i % 5]) + "-" + std::to_string(i);
        nr.experiment = experiments[i % 5];
        nr.task = i % 5 == 2 ? "binary" : i % 5 == 3 ? "multilabel" : "multiclass";
        nr.config = {{"name", nr.experiment}, {"optimizer", {{"lr", 0.001 * (1 + i % 10)}}}};
        nr.tags = {"bench", i % 2 ? "odd" : "even"};
        auto run = store.createRun(nr);
        if (!run)
            return false;
        const double t0 = 1.75e9 + i * 600.0;
        const double f1 = 0.4 + 0.5 * u(rng);
        nlohmann::json started = {{"seq", 1}, {"t", t0}, {"type", "run_started"}, {"run", run->uid},
                                  {"config", nr.config}, {"host", "bench"}, {"pid", 1}, {"kind", "train"}};
        nlohmann::json finished = {{"seq", 2}, {"t", t0 + 300}, {"type", "finished"}, {"step", kPointsPerSeries},
                                   {"summary", {{"final", {{"val/macro_f1", f1}, {"val/accuracy", f1 + 0.05}, {"val/loss", 1.2 - f1}}},
                                                {"best", {{"val/macro_f1", f1 + 0.01}}}}}};
        const std::string a = started.dump(), b = finished.dump();
        if (!store.ingestLines(run->id, {a, b}, 0))
            return false;
    }
    sqlite3 *db = store.handle();
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    sqlite3_stmt *st = nullptr;
    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO metrics (run, key, step, wall, value) VALUES (?, ?, ?, ?, ?)", -1, &st,
                       nullptr);
    const char *keys[kKeys] = {"train/loss", "lr", "train/examples_per_s", "val/loss"};
    for (int run = 1; run <= kRuns; ++run) {
        for (int k = 0; k < kKeys; ++k) {
            const int64_t n = run == 1 && k == 0 ? kLongSeries : kPointsPerSeries;
            for (int64_t step = 1; step <= n; ++step) {
                sqlite3_bind_int64(st, 1, run);
                sqlite3_bind_text(st, 2, keys[k], -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 3, step);
                sqlite3_bind_double(st, 4, 1.75e9 + double(step) * 0.1);
                sqlite3_bind_double(st, 5, 2.0 / std::sqrt(double(step)) + 0.05 * u(rng));
                sqlite3_step(st);
                sqlite3_reset(st);
            }
        }
    }
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    return true;
}

std::vector<lbk::PredictionRow> makePredictions(int n)
{
    std::vector<std::string> labels;
    for (int i = 0; i < 20; ++i)
        labels.push_back("cs." + std::string(1, char('A' + i)) + "X");
    const char *words[] = {"Neural", "Graph", "Learning", "Robust", "Efficient", "Transformers", "Attention",
                           "Diffusion", "Bayesian", "Sparse", "Optimal", "Language", "Vision", "Models"};
    std::mt19937 rng(3);
    std::vector<lbk::PredictionRow> rows;
    rows.reserve(size_t(n));
    for (int i = 0; i < n; ++i) {
        lbk::PredictionRow r;
        r.exampleId = "2401." + std::to_string(100000 + i);
        for (int w = 0; w < 9; ++w)
            r.title += std::string(words[rng() % 14]) + (w < 8 ? " " : "");
        const auto &truth = labels[rng() % 20];
        const auto &pred = rng() % 3 ? truth : labels[rng() % 20];
        const double p = 0.05 + 0.95 * double(rng() % 1000) / 1000.0;
        r.truth = {truth};
        r.top = {{pred, p}, {labels[rng() % 20], (1 - p) / 2}, {labels[rng() % 20], (1 - p) / 4}};
        r.correct = truth == pred;
        r.pTrue = r.correct ? p : (1 - p) / 2;
        rows.push_back(std::move(r));
    }
    return rows;
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("labbook-bench"));
    QCommandLineParser cli; // an unknown option is refused, not taken as "run": the first run builds a large store
    cli.setApplicationDescription(QStringLiteral(
        "bench_gui: first paint over 1,000 runs and 10M metric points, drawing a 100k-step series, filtering 100k "
        "prediction rows (docs/BENCHMARKS.md). The store is built once (about half a minute, 170 MB) in " LABBOOK_BENCH_DATA_DIR));
    cli.addHelpOption();
    const QCommandLineOption sweeps(QStringLiteral("sweeps"), QStringLiteral("Measure sweeps' scale instead (a store of its own)."));
    const QCommandLineOption rebuild(QStringLiteral("rebuild"), QStringLiteral("Build the benchmark store again."));
    const QCommandLineOption storeOption(QStringLiteral("store"), QStringLiteral("Use this store instead."), QStringLiteral("PATH"));
    cli.addOptions({sweeps, rebuild, storeOption});
    cli.process(app);
    if (cli.isSet(sweeps))
        return runSweepBench(QStringLiteral(LABBOOK_BENCH_DATA_DIR "/bench-gui-sweeps.db"), cli.isSet(rebuild));
    const QString path = cli.isSet(storeOption) ? cli.value(storeOption)
                                                : QStringLiteral(LABBOOK_BENCH_DATA_DIR "/bench-gui.db");
    QDir().mkpath(QFileInfo(path).path());
    if (cli.isSet(rebuild) || !QFileInfo::exists(path)) {
        QElapsedTimer t;
        t.start();
        if (!buildStore(path))
            return 1;
        std::printf("  built in %.1f s\n", ms(t) / 1000);
    }
    std::printf("Labbook GUI benchmarks (Qt %s, platform %s)\n", qVersion(), qPrintable(QApplication::platformName()));
    std::printf("%-62s %10s %10s\n", "what", "measured", "target");

    // 1. Time to first paint: window constructed, store opened on its thread, 1,000 runs listed and painted.
    {
        QElapsedTimer t;
        t.start();
        labbook::MainWindow window(path);
        window.setConfirmOnClose(false);
        window.resize(1400, 900);
        window.show();
        auto *model = window.runsBrowser()->model();
        while (model->rowCount() < kRuns && t.elapsed() < 30000)
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
        const QImage frame = window.grab().toImage(); // paints every visible widget once
        const double first = ms(t);
        std::printf("%-62s %8.0f ms %10s\n", "first paint, 1,000 runs (10.1M metric points in the store)", first, "< 1000 ms");
        if (model->rowCount() != kRuns || frame.isNull())
            std::printf("  warning: %d runs listed\n", model->rowCount());
    }

    // 2. A 100k-step series: load from the store, then smooth + downsample + draw.
    {
        auto store = lbk::Store::open(path.toStdString());
        QElapsedTimer t;
        t.start();
        const auto points = store.value()->metric(1, "train/loss");
        const double load = ms(t);
        labbook::CurveSeries s;
        s.name = QStringLiteral("train/loss");
        s.color = Qt::blue;
        for (const auto &p : points) {
            s.x << double(p.step);
            s.y << p.value;
        }
        labbook::CurvesPlot plot;
        plot.resize(1200, 600);
        plot.show();
        QCoreApplication::processEvents();
        t.restart();
        plot.setSeries({s});
        plot.replot(QCustomPlot::rpImmediateRefresh);
        const double draw = ms(t);
        t.restart();
        plot.setSmoothing(0.9);
        plot.replot(QCustomPlot::rpImmediateRefresh);
        const double smooth = ms(t);
        std::printf("%-62s %8.1f ms %10s\n", "load a 100k-step series from the store", load, "");
        std::printf("%-62s %8.1f ms %10s\n", "draw a 100k-step series (downsample min/max + replot)", draw, "< 200 ms");
        std::printf("%-62s %8.1f ms %10s\n", "  the same with EMA smoothing 0.9 (raw + smoothed curves)", smooth, "< 200 ms");
        std::printf("%-62s %8d %10s\n", "  points handed to QCustomPlot", plot.drawnPointCount(0), "");
    }

    // 3. Filtering 100k prediction rows in memory.
    {
        labbook::PredictionsModel model;
        QElapsedTimer t;
        t.start();
        model.setRows(makePredictions(100000));
        const double load = ms(t);
        std::vector<std::pair<const char *, labbook::PredictionQuery>> queries;
        labbook::PredictionQuery q;
        q.misclassifiedOnly = true;
        queries.emplace_back("misclassified only", q);
        q = {};
        q.text = QStringLiteral("graph neural");
        queries.emplace_back("text search 'graph neural'", q);
        q = {};
        q.trueLabel = QStringLiteral("cs.CX");
        q.misclassifiedOnly = true;
        q.minConfidence = 0.8;
        queries.emplace_back("true class + misclassified + confidence >= 0.8", q);
        q = {};
        queries.emplace_back("clear all filters", q);
        std::printf("%-62s %8.1f ms %10s\n", "load 100k prediction rows into the model (once per step)", load, "");
        double worst = 0;
        for (const auto &[name, query] : queries) {
            t.restart();
            model.setQuery(query);
            const double f = ms(t);
            worst = std::max(worst, f);
            std::printf("%-62s %8.1f ms %10s\n", qPrintable(QStringLiteral("filter 100k rows: %1 (%2 rows)")
                                                               .arg(QLatin1String(name)).arg(model.rowCount())),
                        f, "< 100 ms");
        }
        t.restart();
        model.sort(labbook::PredictionsModel::Confidence, Qt::AscendingOrder);
        std::printf("%-62s %8.1f ms %10s\n", "sort 100k rows by confidence", ms(t), "");
        std::printf("%-62s %8.1f ms %10s\n", "worst filter", worst, "< 100 ms");
    }
    return 0;
}
