// Compare as a user audit met it, in the main window on a store of records written as workers and the sweep
// scheduler write them: runs of other labels said in words, wrapped inside the window; a folded sweep row that is
// the sweep's own best trial with the sweep's status; a folded run group compared as all its seeds. Writes
// screenshots/compare-labels-differ.png, runs-folded-sweep.png and compare-folded-group.png; another pair compared
// opens its Curves on the metric it is selected by (compare-curves-own-metric.png).
#include <QtTest>

#include <algorithm>

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QLabel>
#include <QTableView>

#include <fstream>
#include <tuple>

#include "mainwindow.h"
#include "models/comparemetricsmodel.h"
#include "models/comparepredictionsmodel.h"
#include "models/runsmodel.h"
#include "storeservice.h"
#include "store/store.h"
#include "sweep/groups.h"
#include "views/compareview.h"
#include "views/curvespage.h"
#include "views/runsbrowser.h"

using nlohmann::json;
using namespace labbook;

namespace {

std::string evaluation(int64_t seq, double f1)
{
    return json{{"seq", seq}, {"t", 1763941000.0 + double(seq)}, {"type", "evaluation"}, {"step", 40 * seq},
                {"split", "val"}, {"summary", {{"macro_f1", f1}, {"accuracy", f1 + 0.1}, {"loss", 1.5 - f1}}}}
        .dump();
}

// A resolved labels section: every field is written, so two of them differing in one key are long JSON apart.
json labels(const std::string &kind, int minCount)
{
    return {{"kind", kind}, {"match", "any"}, {"min_count", minCount}, {"others", "drop"},
            {"positive", json::array()}, {"prefix", "cs."}, {"top_n", 10}};
}

class Records {
public:
    explicit Records(lbk::Store &store) : m_store(store) {}
    // A run that evaluated once, with that macro F1, and ended as `status`.
    int64_t run(const std::string &name, const std::string &task, const json &labels, double f1,
                std::vector<std::string> tags = {}, lbk::RunStatus status = lbk::RunStatus::Finished)
    {
        lbk::NewRun nr;
        nr.name = name;
        nr.task = task;
        nr.config = {{"labels", labels}, {"optimizer", {{"lr", 0.02}}}};
        nr.tags = std::move(tags);
        const int64_t id = m_store.createRun(nr)->id;
        const std::string line = evaluation(1, f1);
        const std::vector<std::string_view> lines = {line};
        (void)m_store.ingestLines(id, lines, 1000);
        (void)m_store.setStatus(id, status);
        return id;
    }

    // Validation predictions at the run's evaluation step: each paper with its truth and the top label predicted.
    void predictions(int64_t run, const std::vector<std::tuple<std::string, std::string, std::string>> &papers)
    {
        json rows = json::array();
        for (const auto &[id, truth, predicted] : papers)
            rows.push_back({{"id", id}, {"title", "Paper " + id}, {"truth", {truth}},
                            {"top", {{predicted, 0.8}}}, {"correct", truth == predicted}, {"p_true", 0.5}});
        const std::string line =
            json{{"seq", 2}, {"type", "predictions"}, {"step", 40}, {"split", "val"}, {"rows", rows}}.dump();
        const std::vector<std::string_view> lines = {line};
        (void)m_store.ingestLines(run, lines, 2000);
    }

private:
    lbk::Store &m_store;
};

} // namespace

class TestCompareView : public QObject {
    Q_OBJECT
    QString m_dir, m_shots, m_storePath;
    qint64 m_ml50 = 0, m_ml100 = 0, m_other = 0, m_sweepBest = 0;
    std::vector<qint64> m_seeds;
    std::unique_ptr<MainWindow> m_window;

    void shoot(const QString &name, QWidget *w)
    {
        QCoreApplication::processEvents();
        QTest::qWait(150); // queued replots
        QVERIFY(w->grab().save(QDir(m_shots).filePath(name + QStringLiteral(".png"))));
    }

    // An 8-trial sweep of debug.json by macro F1: trial 1 finished best (0.6540); trial 2 pruned at 0.6567, before
    // it was stopped; the other six pruned lower.
    void writeSweep(lbk::Store &store, Records &records)
    {
        std::ifstream in(LABBOOK_SOURCE_DIR "/experiments/debug.json");
        const json spec = {{"name", "debug-sweep-2"}, {"experiment", json::parse(in)}, {"trials", 8},
                           {"metric", "val/macro_f1"},
                           {"parameters", {{"optimizer.lr", {{"log_uniform", {0.001, 0.3}}}}}}};
        std::vector<json> params;
        for (int i = 0; i < 8; ++i)
            params.push_back({{"optimizer.lr", 0.001 * (i + 1)}});
        auto sweep = store.createSweep("debug-sweep-2", spec, params);
        QVERIFY(sweep);
        for (auto t : store.trials(sweep->id)) {
            const bool best = t.trial == 1;
            const double value = best ? 0.654 : t.trial == 2 ? 0.6567 : 0.5 + 0.01 * t.trial;
            t.run = records.run("debug-sweep-2-" + std::to_string(t.trial), "multiclass", labels("multiclass", 1),
                                value, {lbk::kSweepTagPrefix + std::string("debug-sweep-2")},
                                best ? lbk::RunStatus::Finished : lbk::RunStatus::Cancelled);
            if (!best)
                (void)store.setTags(t.run, {lbk::kSweepTagPrefix + std::string("debug-sweep-2"), lbk::kPrunedTag});
            t.state = best ? lbk::TrialState::Finished : lbk::TrialState::Pruned;
            t.value = value;
            QVERIFY(store.updateTrial(t));
            if (best)
                m_sweepBest = t.run;
        }
        QVERIFY(store.setSweepStatus(sweep->id, lbk::SweepStatus::Finished));
    }

    QModelIndex listedRow(const QString &nameStart) const
    {
        const QAbstractItemModel *list = m_window->runsBrowser()->view()->model();
        for (int r = 0; r < list->rowCount(); ++r)
            if (list->index(r, RunsModel::Name).data().toString().startsWith(nameStart))
                return list->index(r, 0);
        return {};
    }

    // In one change, as a Shift+click makes it: a run selected alone on the way would open on the Run page.
    void select(const std::vector<QModelIndex> &rows)
    {
        QItemSelection chosen;
        for (const auto &row : rows)
            chosen.select(row, row);
        m_window->runsBrowser()->view()->selectionModel()->select(
            chosen, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    }

    // Ctrl+D, as the Run menu's action that the shortcut triggers.
    void compareSelected()
    {
        CompareView *cmp = m_window->compareView();
        QSignalSpy loaded(cmp, &CompareView::loaded);
        for (auto *action : m_window->findChildren<QAction *>())
            if (action->shortcut() == QKeySequence(QStringLiteral("Ctrl+D")))
                action->trigger();
        QVERIFY(loaded.wait(5000));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName(QStringLiteral("labbook-tests"));
        m_dir = QStringLiteral(LABBOOK_TEST_TMP "/gui-compareview");
        QDir(m_dir).removeRecursively();
        QVERIFY(QDir().mkpath(m_dir));
        m_shots = QDir(QStringLiteral(LABBOOK_TEST_TMP "/..")).absoluteFilePath(QStringLiteral("screenshots"));
        QVERIFY(QDir().mkpath(m_shots));
        m_storePath = QDir(m_dir).filePath(QStringLiteral("store.db"));
        {
            auto store = lbk::Store::open(m_storePath.toStdString());
            QVERIFY(store);
            Records records(**store);
            m_ml50 = records.run("multilabel-min50", "multilabel", labels("multilabel", 50), 0.41);
            m_ml100 = records.run("multilabel-min100", "multilabel", labels("multilabel", 100), 0.47);
            const double seedF1[] = {0.6459, 0.6559, 0.6359};
            for (int i = 0; i < 3; ++i)
                m_seeds.push_back(records.run("debug-seeds-" + std::to_string(i + 1), "multiclass",
                                              labels("multiclass", 1), seedF1[i],
                                              {"sweep:debug-seeds", "group:debug-seeds #1"}));
            writeSweep(**store, records);
            m_other = records.run("other", "multiclass", labels("multiclass", 1), 0.62);
            records.predictions(m_seeds[0], {{"p1", "cs.CV", "cs.CV"}, {"p2", "cs.CL", "cs.AI"}});
            records.predictions(m_other, {{"p1", "cs.CV", "cs.LG"}, {"p2", "cs.CL", "cs.CL"}});
            records.predictions(m_ml50, {{"p1", "cs.CV", "cs.CV"}});
        }
        m_window = std::make_unique<MainWindow>(m_storePath);
        m_window->setConfirmOnClose(false);
        m_window->resize(1400, 900);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        QTRY_VERIFY_WITH_TIMEOUT(m_window->store()->isOpen(), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(m_window->runsBrowser()->model()->rowCount(), 14, 5000);
    }

    // Found by an audit: "...different labels (multilabel {"kind":"multilabel","match":"any","min_count":50,..."
    // unwrapped made the window 2618 px wide on a 1600 px screen, and the run list's dock stayed squeezed.
    void labelsThatDifferAreSaidInWordsAndWrap()
    {
        auto *dock = m_window->findChild<QDockWidget *>(QStringLiteral("runsDock"));
        const int width = m_window->width(), dockWidth = dock->width();
        m_window->compareRuns({m_ml50, m_ml100});
        CompareView *cmp = m_window->compareView();
        auto *info = cmp->findChild<QLabel *>(QStringLiteral("compareConfigInfo"));
        QTRY_VERIFY_WITH_TIMEOUT(info->text().contains(QLatin1String("not ranked")), 5000);
        QVERIFY2(info->text().contains(QLatin1String("predict different labels (labels.min_count 50 vs 100)")),
                 qPrintable(info->text()));
        QVERIFY2(!info->text().contains(QLatin1Char('{')), qPrintable(info->text()));
        // Nothing is highlighted, and the metrics' heading does not say it is.
        auto *metricsTitle = cmp->findChild<QLabel *>(QStringLiteral("compareMetricsTitle"));
        QVERIFY2(metricsTitle->text().contains(QLatin1String("not ranked")), qPrintable(metricsTitle->text()));
        for (int row = 0; row < cmp->metricsModel()->rowCount(); ++row)
            QCOMPARE(cmp->metricsModel()->bestColumn(row), -1);
        QTest::qWait(100); // the layout's resize, had it grown
        QVERIFY2(m_window->width() <= width, qPrintable(QString::number(m_window->width())));
        const int least = m_window->minimumSizeHint().width();
        QVERIFY2(least < width, qPrintable(QString::number(least)));
        QCOMPARE(dock->width(), dockWidth);
        QVERIFY(info->wordWrap());
        shoot(QStringLiteral("compare-labels-differ"), m_window.get());
    }

    // Found by an audit: the folded row of a sweep whose trials were mostly pruned named a pruned trial (its macro
    // F1 before it was stopped beat the finished best) and said "pruned", where lbk sweeps and the Sweeps tab say
    // "best: trial 1, 0.6540".
    void aFoldedSweepRowIsTheSweepsBest()
    {
        m_window->runsBrowser()->findChild<QCheckBox *>(QStringLiteral("foldSweeps"))->setChecked(true);
        const QModelIndex row = listedRow(QStringLiteral("debug-sweep-2:"));
        QVERIFY(row.isValid());
        QCOMPARE(row.siblingAtColumn(RunsModel::Name).data().toString(),
                 QStringLiteral("debug-sweep-2: best of 8, trial 1 (debug-sweep-2-1)"));
        QCOMPARE(row.data(RunsModel::RunIdRole).toLongLong(), m_sweepBest);
        QCOMPARE(row.siblingAtColumn(RunsModel::Status).data().toString(), QStringLiteral("finished"));
        QCOMPARE(row.siblingAtColumn(RunsModel::BestF1).data().toString(), QStringLiteral("0.6540"));
        QVERIFY(!listedRow(QStringLiteral("debug-sweep-2-2")).isValid()); // the pruned trial folded away
        shoot(QStringLiteral("runs-folded-sweep"), m_window->runsBrowser());
    }

    // Found by an audit: a seed group's row and another run compared the group's best seed alone (0.6559 of a
    // mean of 0.6459), without a word. A group's row stands for every seed, a sweep's for its best trial, and the
    // header says so.
    void comparingAFoldedGroupTakesEverySeed()
    {
        m_window->runsBrowser()->findChild<QCheckBox *>(QStringLiteral("foldSweeps"))->setChecked(true);
        select({listedRow(QStringLiteral("debug-seeds #1: mean of 3")), listedRow(QStringLiteral("other"))});
        compareSelected();
        CompareView *cmp = m_window->compareView();
        std::vector<qint64> expected = m_seeds;
        expected.push_back(m_other);
        std::vector<qint64> compared = cmp->runIds();
        std::sort(compared.begin(), compared.end());
        std::sort(expected.begin(), expected.end());
        QCOMPARE(compared, expected);
        QCOMPARE(cmp->metricsModel()->columnCount(), 5); // the metric, then each run
        QVERIFY2(cmp->findChild<QLabel *>(QStringLiteral("compareMetricsTitle"))->text().contains(
                     QLatin1String("best value per row highlighted")),
                 "runs of one labelling are ranked");
        QVERIFY2(cmp->title()->text().contains(QLatin1String("debug-seeds #1: its 3 runs, one per seed")),
                 qPrintable(cmp->title()->text()));
        QCOMPARE(m_window->pages()->currentWidget(), cmp);
        shoot(QStringLiteral("compare-folded-group"), m_window.get());

        select({listedRow(QStringLiteral("debug-sweep-2:")), listedRow(QStringLiteral("other"))});
        QTRY_COMPARE_WITH_TIMEOUT(cmp->runIds(), (std::vector<qint64>{m_sweepBest, m_other}), 5000);
        QVERIFY2(cmp->title()->text().contains(QLatin1String("debug-sweep-2: its best trial, trial 1")),
                 qPrintable(cmp->title()->text()));
        // One group row alone is a comparison of its seeds.
        select({listedRow(QStringLiteral("debug-seeds #1: mean of 3"))});
        compareSelected();
        QCOMPARE(cmp->runIds().size(), size_t(3));
    }

    // Found by an audit: with one run of other labels among those selected, the Predictions tab joined nothing,
    // not even two runs that share their labels. Now A and B are joined when they share a labelling.
    void aPairOfOneLabellingIsJoinedAmongOthers()
    {
        m_window->compareRuns({m_seeds[0], m_other, m_ml50});
        CompareView *cmp = m_window->compareView();
        auto *info = cmp->findChild<QLabel *>(QStringLiteral("comparePredictionsInfo"));
        const auto combos = cmp->findChildren<QComboBox *>();
        QTRY_VERIFY_WITH_TIMEOUT(cmp->runIds().size() == 3, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(cmp->predictionsModel()->joinedCount(), 2, 5000); // A #seed-1, B other: p1, p2
        QVERIFY2(info->text().contains(QLatin1String("of A and B, which predict the same labels")),
                 qPrintable(info->text()));
        cmp->setOutcome(1); // right in A, wrong in B
        QCOMPARE(cmp->predictionsModel()->rowCount(), 1);
        cmp->tabs()->setCurrentIndex(2);
        shoot(QStringLiteral("compare-predictions-pair"), m_window.get());
        QComboBox *second = nullptr;
        for (auto *c : combos)
            if (c->count() == 3 && c->currentIndex() == 1)
                second = c;
        QVERIFY(second);
        second->setCurrentIndex(2); // the multilabel run: other labels, nothing joined, said
        QCOMPARE(cmp->predictionsModel()->joinedCount(), 0);
        QVERIFY2(info->text().contains(QLatin1String("A and B predict different labels")), qPrintable(info->text()));
        cmp->setOutcome(0);
    }

    // Found by an audit: with Curves in view, comparing another pair kept the last pair's ticks (or fell back to the
    // losses) instead of opening on the metric the runs are selected by.
    void anotherComparisonOpensOnItsMetric()
    {
        qint64 byAccuracy[2] = {0, 0};
        {
            auto store = lbk::Store::open(m_storePath.toStdString());
            QVERIFY(store);
            for (int i = 0; i < 2; ++i) {
                lbk::NewRun nr;
                nr.name = "by-accuracy-" + std::to_string(i);
                nr.task = "multiclass";
                nr.config = {{"labels", labels("multiclass", 1)}, {"evaluation", {{"metric", "accuracy"}}}};
                byAccuracy[i] = (*store)->createRun(nr)->id;
                const std::string line = evaluation(1, 0.5 + 0.1 * i);
                const std::vector<std::string_view> lines = {line};
                QVERIFY((*store)->ingestLines(byAccuracy[i], lines, 1000).ok());
                QVERIFY((*store)->setStatus(byAccuracy[i], lbk::RunStatus::Finished).ok());
            }
        }
        const auto known = [this](qint64 id) {
            const auto &runs = m_window->store()->runs();
            return std::any_of(runs.begin(), runs.end(), [id](const lbk::RunSummary &r) { return r.id == id; });
        };
        QTRY_VERIFY_WITH_TIMEOUT(known(byAccuracy[0]) && known(byAccuracy[1]), 5000);
        m_window->compareRuns({m_seeds[0], m_other});
        CompareView *cmp = m_window->compareView();
        cmp->tabs()->setCurrentIndex(1); // Curves
        QTRY_COMPARE_WITH_TIMEOUT(cmp->curves()->selectedKeys(), QStringList{QStringLiteral("val/macro_f1")}, 5000);
        m_window->compareRuns({byAccuracy[0], byAccuracy[1]});
        QTRY_COMPARE_WITH_TIMEOUT(cmp->curves()->selectedKeys(), QStringList{QStringLiteral("val/accuracy")}, 5000);
        shoot(QStringLiteral("compare-curves-own-metric"), m_window.get());
        auto store = lbk::Store::open(m_storePath.toStdString()); // the run list as the other tests count it
        QVERIFY(store && (*store)->deleteRun(byAccuracy[0]).ok() && (*store)->deleteRun(byAccuracy[1]).ok());
        QTRY_VERIFY_WITH_TIMEOUT(!known(byAccuracy[0]) && !known(byAccuracy[1]), 5000);
    }

    void cleanupTestCase() { m_window.reset(); }
};

QTEST_MAIN(TestCompareView)
#include "tst_compareview.moc"
