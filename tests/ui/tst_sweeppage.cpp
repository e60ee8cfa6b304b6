// The sweep page on a store holding a finished sweep of eight trials (records written as the scheduler writes
// them): the trials best first, one line per trial in the parallel coordinates, brushing filters the table, the
// key that drives the metric ranks first, "Open best as experiment" gives the best trial's experiment. Writes
// screenshots/sweep-page.png.
#include <QtTest>
#include <QTableWidget>

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>

#include <fstream>

#include "models/runsmodel.h"
#include "models/trialsmodel.h"
#include "plots/groupcurvesplot.h"
#include "plots/parallelplot.h"
#include "plots/sweepscatter.h"
#include "storeservice.h"
#include "store/store.h"
#include "sweep/groups.h"
#include "sweep/sweepspec.h"
#include "views/runsbrowser.h"
#include "views/sweepdialog.h"
#include "views/sweeppage.h"

using nlohmann::json;

namespace {

std::string line(int64_t seq, const std::string &type, json fields)
{
    fields["seq"] = seq;
    fields["t"] = 1763941000.0 + double(seq);
    fields["type"] = type;
    return fields.dump();
}

} // namespace

class TestSweepPage : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir{QStringLiteral(LABBOOK_TEST_TMP "/sweeppage-XXXXXX")};
    QString m_store;
    int64_t m_sweep = 0;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_store = m_dir.filePath(QStringLiteral("s.db"));
        auto store = lbk::Store::open(m_store.toStdString());
        QVERIFY(store);
        std::ifstream in(LABBOOK_SOURCE_DIR "/experiments/debug.json");
        json spec = {{"name", "page-sweep"},
                     {"experiment", json::parse(in)},
                     {"trials", 8},
                     {"parameters",
                      {{"optimizer.lr", {{"log_uniform", {0.001, 0.3}}}}, {"model.type", {{"values", {"bag", "cnn"}}}}}}};
        // The rate drives the metric; the model type barely does. Trial 2 is pruned early.
        const double lrs[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.3};
        std::vector<json> params;
        for (int i = 0; i < 8; ++i)
            params.push_back({{"optimizer.lr", lrs[i]}, {"model.type", i % 2 ? "cnn" : "bag"}});
        auto sweep = (*store)->createSweep("page-sweep", spec, params);
        QVERIFY(sweep);
        m_sweep = sweep->id;
        for (auto t : (*store)->trials(m_sweep)) {
            lbk::NewRun nr;
            nr.name = "page-sweep-" + std::to_string(t.trial);
            nr.uid = sweep->uid + "-t" + std::to_string(t.trial);
            nr.tags = {lbk::kSweepTagPrefix + std::string("page-sweep")}; // as the scheduler tags a trial's run
            auto run = (*store)->createRun(nr);
            QVERIFY(run);
            std::vector<std::string> lines;
            const int evaluations = t.trial == 2 ? 1 : 3;
            double best = 0;
            for (int e = 1; e <= evaluations; ++e) {
                best = 0.3 + 0.05 * t.trial + 0.02 * e;
                lines.push_back(line(e, "evaluation", {{"step", 40 * e}, {"split", "val"}, {"summary", {{"macro_f1", best}}}}));
            }
            std::vector<std::string_view> views(lines.begin(), lines.end());
            QVERIFY((*store)->ingestLines(run->id, views, 1000));
            QVERIFY((*store)->setStatus(run->id, t.trial == 2 ? lbk::RunStatus::Cancelled : lbk::RunStatus::Finished));
            t.run = run->id;
            t.state = t.trial == 2 ? lbk::TrialState::Pruned : lbk::TrialState::Finished;
            t.reason = t.trial == 2 ? "asha: rung 1: 0.42 ranks 2 of 2 trials there; the best 1 continue (eta 3)" : "";
            t.value = best;
            QVERIFY((*store)->updateTrial(t));
        }
        QVERIFY((*store)->setSweepStatus(m_sweep, lbk::SweepStatus::Finished));
    }

    void showsTheSweep()
    {
        labbook::StoreService service;
        QSignalSpy opened(&service, &labbook::StoreService::storeOpened);
        service.open(m_store);
        QVERIFY(opened.wait(5000));
        labbook::SweepPage page(&service);
        page.resize(1200, 820);
        page.show();
        QSignalSpy loaded(&page, &labbook::SweepPage::loaded);
        page.reload();
        QVERIFY(loaded.wait(5000));
        QAbstractItemModelTester tester(page.trials());
        QCOMPARE(page.sweepId(), qint64(m_sweep));
        QCOMPARE(page.chooser()->count(), 1);
        QCOMPARE(page.trials()->rowCount(), 8);
        // Best first: trial 8 (0.76), and the pruned trial 2 in its place by value.
        const auto *visible = page.visibleTrials();
        QCOMPARE(visible->index(0, labbook::TrialsModel::Trial).data().toInt(), 8);
        QCOMPARE(visible->index(0, labbook::TrialsModel::Value).data().toString(), QStringLiteral("0.7600"));
        // The swept keys come right after the metric (they were after Step and Run, off-screen at 1280).
        QCOMPARE(page.trials()->headerData(labbook::TrialsModel::FirstKey, Qt::Horizontal).toString(),
                 QStringLiteral("model.type"));
        QCOMPARE(page.trials()->headerData(page.trials()->stepColumn(), Qt::Horizontal).toString(), QStringLiteral("Step"));
        QCOMPARE(page.plot()->lineCount(), 8);
        QCOMPARE(page.plot()->axisCount(), 3); // model.type, optimizer.lr, the metric
        // Each numeric axis reads its extent at the ends and round values between (decades on the log axis).
        QStringList ticks;
        for (const auto *t : page.plot()->findChildren<QCPItemText *>())
            if (t->objectName() == QLatin1String("tick"))
                ticks << t->text();
        for (const char *tick : {"bag", "cnn", "0.001", "0.01", "0.1", "0.3", "0.41", "0.5", "0.6", "0.7", "0.76"})
            QVERIFY2(ticks.contains(QLatin1String(tick)), qPrintable(ticks.join(QLatin1Char(' '))));
        QCOMPARE(ticks.size(), 11);
        // The rate drives the metric: it ranks first, with a perfect rank correlation and most of the forest's share.
        QVERIFY2(page.importance()->text().indexOf(QStringLiteral("optimizer.lr")) <
                     page.importance()->text().indexOf(QStringLiteral("model.type")),
                 qPrintable(page.importance()->text()));
        QVERIFY(page.importance()->text().contains(QStringLiteral("1.00")));

        // Brushing the metric's upper half keeps the trials whose value is there.
        page.plot()->setBrush(2, 0.5, 1.0);
        QCOMPARE(visible->rowCount(), 4); // trials 5 to 8: 0.61 .. 0.76 of a range 0.41 .. 0.76
        page.plot()->setBrush(0, 0.9, 1.0);  // and model.type "cnn" (the second category, at the top)
        QCOMPARE(visible->rowCount(), 2);    // trials 6 and 8
        QDir().mkpath(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots"));
        page.plot()->replot(); // not the throttled one: the grab comes at once
        QVERIFY(page.grab().save(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots/sweep-page-brushed.png")));
        page.plot()->clearBrushes();
        QCOMPARE(visible->rowCount(), 8);

        QSignalSpy experiment(&page, &labbook::SweepPage::openExperimentRequested);
        QMetaObject::invokeMethod(page.findChild<QObject *>(QStringLiteral("openBest")), "click");
        QCOMPARE(experiment.count(), 1);
        const json e = experiment.takeFirst().at(0).value<json>();
        QCOMPARE(e["optimizer"]["lr"].get<double>(), 0.3);
        QCOMPARE(e["model"]["type"].get<std::string>(), std::string("cnn"));
        QCOMPARE(e["name"].get<std::string>(), std::string("page-sweep-8"));
        page.plot()->replot();
        QVERIFY(page.grab().save(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots/sweep-page.png")));
        QCOMPARE(page.scatter()->panelCount(), 2);
        page.views()->setCurrentWidget(page.scatter()->parentWidget()); // its tab holds it with a caption
        QCOMPARE(page.views()->currentIndex(), 1);
        page.scatter()->replot();
        QTest::qWait(50); // the tab's caption is laid out and painted (the grab showed a black strip without)
        QVERIFY(page.grab().save(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots/sweep-page-scatter.png")));
    }

    // A sweep over seeds and two rates: two groups, each drawn as its mean with a band.
    void drawsGroupsAcrossSeeds()
    {
        auto store = lbk::Store::open(m_store.toStdString());
        QVERIFY(store);
        std::ifstream in(LABBOOK_SOURCE_DIR "/experiments/debug.json");
        const json spec = {{"name", "seed-sweep"},
                           {"experiment", json::parse(in)},
                           {"method", "grid"},
                           {"parameters",
                            {{"optimizer.lr", {{"values", {0.01, 0.1}}}}, {"training.seed", {{"values", {13, 14, 15}}}}}}};
        std::vector<json> params;
        for (double lr : {0.01, 0.1})
            for (int seed : {13, 14, 15})
                params.push_back({{"optimizer.lr", lr}, {"training.seed", seed}});
        auto sweep = (*store)->createSweep("seed-sweep", spec, params);
        QVERIFY(sweep);
        const auto parsed = lbk::sweepFromJson(spec, ".");
        QVERIFY(parsed);
        for (auto t : (*store)->trials(sweep->id)) {
            lbk::NewRun nr;
            nr.name = "seed-sweep-" + std::to_string(t.trial);
            nr.tags = {lbk::kSweepTagPrefix + std::string("seed-sweep"), lbk::groupTag(*parsed, sweep->id, t.params)};
            auto run = (*store)->createRun(nr);
            QVERIFY(run);
            const double lr = t.params["optimizer.lr"].get<double>(), seed = t.params["training.seed"].get<double>();
            std::vector<std::string> lines;
            double best = 0;
            for (int e = 1; e <= 6; ++e) {
                const double v = (lr > 0.05 ? 0.6 : 0.45) + 0.03 * e - 0.002 * e * e + 0.004 * (seed - 14) * e / 6;
                best = std::max(best, v);
                // evaluations, as a worker writes them: the curve and the run's best and final values
                lines.push_back(line(e, "evaluation", {{"step", 40 * e}, {"split", "val"}, {"summary", {{"macro_f1", v}}}}));
            }
            std::vector<std::string_view> views(lines.begin(), lines.end());
            QVERIFY((*store)->ingestLines(run->id, views, 1000));
            QVERIFY((*store)->setStatus(run->id, lbk::RunStatus::Finished));
            t.run = run->id;
            t.state = lbk::TrialState::Finished;
            t.value = best; // as the scheduler records it: the trial's best value of the metric
            QVERIFY((*store)->updateTrial(t));
        }
        QVERIFY((*store)->setSweepStatus(sweep->id, lbk::SweepStatus::Finished));

        labbook::StoreService service;
        QSignalSpy opened(&service, &labbook::StoreService::storeOpened);
        service.open(m_store);
        QVERIFY(opened.wait(5000));
        labbook::SweepPage page(&service);
        page.resize(1200, 820);
        page.show();
        QSignalSpy loaded(&page, &labbook::SweepPage::loaded);
        page.showSweep(sweep->id);
        QVERIFY(loaded.wait(5000));
        QVERIFY(page.views()->isTabEnabled(2));
        page.views()->setCurrentIndex(2);
        QTRY_COMPARE(page.groupCurves()->groupCount(), 2);
        page.groupCurves()->replot();
        QDir().mkpath(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots"));
        QVERIFY(page.grab().save(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots/sweep-page-groups.png")));

        // The run list folded: one row per rate, its metric the mean and deviation over the three seeds.
        labbook::RunsBrowser runs(&service);
        runs.resize(620, 240);
        runs.show();
        service.reloadRuns();
        auto *table = runs.findChild<QTableView *>(QStringLiteral("runsTable"));
        QTRY_COMPARE(table->model()->rowCount(), 14); // the first test's sweep of 8 trials is in this store too
        // Two runs selected, then folded: the fold leaves at most one of them selected, which opens nothing (it
        // used to open that run, so the Compare page jumped to the Run page).
        table->selectionModel()->select(table->model()->index(0, 0),
                                        QItemSelectionModel::Select | QItemSelectionModel::Rows);
        table->selectionModel()->select(table->model()->index(1, 0),
                                        QItemSelectionModel::Select | QItemSelectionModel::Rows);
        QCOMPARE(runs.selectedRunIds().size(), size_t(2));
        QSignalSpy activated(&runs, &labbook::RunsBrowser::runActivated);
        runs.findChild<QCheckBox *>(QStringLiteral("foldSweeps"))->setChecked(true);
        QVERIFY(runs.selectedRunIds().size() < 2);
        QCOMPARE(activated.count(), 0);
        table->clearSelection();
        // Two rows of means for the seed sweep's two rates, and the page sweep's best trial.
        QCOMPARE(table->model()->rowCount(), 3);
        bool bestOfEight = false;
        for (int r = 0; r < 3; ++r)
            bestOfEight |= table->model()->index(r, labbook::RunsModel::Name).data().toString().startsWith(
                QLatin1String("page-sweep: best of 8"));
        QVERIFY(bestOfEight);
        QStringList names;
        for (int r = 0; r < table->model()->rowCount(); ++r) {
            const QModelIndex name = table->model()->index(r, labbook::RunsModel::Name);
            if (!name.data().toString().contains(QLatin1String("mean of")))
                continue;
            names << name.data().toString();
            QVERIFY(name.siblingAtColumn(labbook::RunsModel::BestF1).data().toString().contains(QChar(0x00b1)));
        }
        names.sort();
        const QString id = QString::number(sweep->id);
        QCOMPARE(names, (QStringList{QStringLiteral("seed-sweep #%1 (optimizer.lr=0.01): mean of 3").arg(id),
                                     QStringLiteral("seed-sweep #%1 (optimizer.lr=0.1): mean of 3").arg(id)}));
        QVERIFY(runs.grab().save(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots/runs-folded-groups.png")));
    }

    // The sweep dialog: nothing ticked is not a sweep; around a rate is; a range beyond the schema's limits names the
    // key and disables Start; Start gives a sweep that reads as a sweep file does.
    void dialogBuildsASweep()
    {
        std::ifstream in(LABBOOK_SOURCE_DIR "/experiments/debug.json");
        const json debug = json::parse(in);
        labbook::SweepDialog dialog(debug, {QStringLiteral("local")}, QStringLiteral("local"));
        dialog.show();
        QVERIFY(!dialog.problems().isEmpty());
        QVERIFY(!dialog.startButton()->isEnabled());
        // A key starts where sweeps of it search: beta2 near 1 (halving and doubling 0.999 gave 0.5 to 1), label
        // smoothing and dropout below 0.2 and 0.5 (from 0 the range was 0 to 1).
        auto *keys = dialog.findChild<QTableWidget *>(QStringLiteral("sweepKeys"));
        QVERIFY(keys);
        const auto rangeOf = [keys](const QString &key) -> QString {
            for (int r = 0; r < keys->rowCount(); ++r)
                if (keys->item(r, 0) && keys->item(r, 0)->text() == key)
                    return keys->item(r, 2)->text() + QStringLiteral("..") + keys->item(r, 3)->text();
            return QString();
        };
        QCOMPARE(rangeOf(QStringLiteral("optimizer.beta2")), QStringLiteral("0.98..0.9995"));
        QCOMPARE(rangeOf(QStringLiteral("optimizer.label_smoothing")), QStringLiteral("0..0.2"));
        QCOMPARE(rangeOf(QStringLiteral("model.dropout")), QStringLiteral("0..0.5"));
        // Found by an audit: how a run computes was offered as a hyperparameter (threads 0 to 1, a step cap of 0 to 1
        // steps), and so was what the experiment does not use (the shortest character n-gram without any).
        for (const char *notOffered : {"training.threads", "training.max_steps", "training.device", "training.log_every",
                                       "training.checkpoint_minutes", "model.char_ngrams_min"})
            QVERIFY2(rangeOf(QLatin1String(notOffered)).isEmpty(), notOffered);
        // A name the store's sweeps have is not proposed again.
        dialog.avoidNames({QStringLiteral("debug-sweep"), QStringLiteral("debug-sweep-2")});
        QCOMPARE(dialog.sweep()["name"], json("debug-sweep-3"));
        dialog.sweepAroundRate(0.02);
        QVERIFY2(dialog.problems().isEmpty(), qPrintable(dialog.problems()));
        QCOMPARE(dialog.sweep()["parameters"]["optimizer.lr"]["log_uniform"], json({0.002, 0.2}));
        QVERIFY(dialog.setParameter(QStringLiteral("model.dropout"), QStringLiteral("uniform"), QStringLiteral("0.1"),
                                    QStringLiteral("1.5")));
        QVERIFY2(dialog.problems().contains(QStringLiteral("parameters.model.dropout.uniform[1]")),
                 qPrintable(dialog.problems()));
        QVERIFY(!dialog.startButton()->isEnabled());
        QVERIFY(dialog.setParameter(QStringLiteral("model.dropout"), QStringLiteral("uniform"), QStringLiteral("0.1"),
                                    QStringLiteral("0.5")));
        QVERIFY(dialog.setParameter(QStringLiteral("model.embedding_dim"), QStringLiteral("values"),
                                    QStringLiteral("32, 64"), QString()));
        QVERIFY(dialog.startButton()->isEnabled());
        QDir().mkpath(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots"));
        QVERIFY(dialog.grab().save(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots/sweep-dialog.png")));
        QSignalSpy started(&dialog, &labbook::SweepDialog::startRequested);
        dialog.startButton()->click();
        QCOMPARE(started.count(), 1);
        const json sweep = started.takeFirst().at(0).value<json>();
        auto spec = lbk::sweepFromJson(sweep, ".");
        QVERIFY2(spec, spec ? "" : spec.message().c_str());
        QCOMPARE(spec->parameters.size(), size_t(3));
        QVERIFY(spec->earlyStopping.type == lbk::PrunerType::Asha);
        QCOMPARE(sweep["parameters"]["model.embedding_dim"]["values"], json({32, 64}));
    }

    // What the sweep will run is said under the form before Start: a grid with fewer combinations than the trials
    // asked for, a random sweep that must repeat some. Start stays enabled: these are notes, not problems.
    void dialogSaysWhatAShortGridRuns()
    {
        std::ifstream in(LABBOOK_SOURCE_DIR "/experiments/debug.json");
        labbook::SweepDialog dialog(json::parse(in), {QStringLiteral("local")}, QStringLiteral("local"));
        dialog.show();
        QVERIFY(dialog.setParameter(QStringLiteral("model.embedding_dim"), QStringLiteral("values"),
                                    QStringLiteral("32, 64, 128"), QString()));
        auto *label = dialog.findChild<QLabel *>(QStringLiteral("sweepProblems"));
        auto *method = dialog.findChild<QComboBox *>(QStringLiteral("sweepMethod"));
        auto *trials = dialog.findChild<QSpinBox *>(QStringLiteral("sweepTrials"));
        QVERIFY(label && method && trials);
        trials->setValue(12);
        QVERIFY2(label->text().contains(QStringLiteral("hold only 3 distinct combinations")), qPrintable(label->text()));
        method->setCurrentIndex(method->findData(QStringLiteral("grid")));
        QVERIFY2(label->text().contains(QStringLiteral("the grid holds only 3 combinations: the sweep runs 3 trials")),
                 qPrintable(label->text()));
        QVERIFY(dialog.startButton()->isEnabled());
        auto *seed = dialog.findChild<QSpinBox *>(QStringLiteral("sweepSeed"));
        QVERIFY(seed && !seed->isEnabled()); // a grid draws nothing
        QCoreApplication::processEvents(); // the layout makes room for the second line
        QVERIFY2(label->height() >= label->heightForWidth(label->width()), "the note is not cut");
        QVERIFY(dialog.grab().save(QStringLiteral(LABBOOK_TEST_TMP "/../screenshots/sweep-dialog-grid-note.png")));
        trials->setValue(3);
        QCOMPARE(label->text(), QStringLiteral("The sweep is valid."));
        method->setCurrentIndex(method->findData(QStringLiteral("random")));
        QVERIFY(seed->isEnabled());
    }
};

QTEST_MAIN(TestSweepPage)
#include "tst_sweeppage.moc"
