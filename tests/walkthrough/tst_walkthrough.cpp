// A researcher's first session, clicked through the real window on a real X server (Xvfb, never offscreen):
// every step is a mouse click or key press delivered to the top-level window at the position of a widget found
// by name, as a person's input arrives. On an empty store: open experiments/debug.json from the first-run hint,
// launch it; make a longer variant in the form and launch it, watching its curve grow; check the finished curves
// are in view; read the misclassified titles and a confusion cell; compare the two runs. A screenshot of the
// screen after each step goes to <build>/screenshots/walkthrough-*.png.
#include <algorithm>
#include <cmath>

#include <QAbstractItemView>
#include <QCheckBox>
#include <QDir>
#include <QGuiApplication>
#include <QHeaderView>
#include <QLineEdit>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QTabBar>
#include <QTabWidget>
#include <QTableView>
#include <QTextBrowser>
#include <QtTest>

#include "format.h"
#include "mainwindow.h"
#include "models/comparemetricsmodel.h"
#include "models/confusionmodel.h"
#include "models/predictionsmodel.h"
#include "models/runsfilterproxy.h"
#include "models/runsmodel.h"
#include "paperabstracts.h"
#include "plots/curvesplot.h"
#include "storeservice.h"
#include "views/compareview.h"
#include "views/curvespage.h"
#include "views/experimentform.h"
#include "views/firstrunhint.h"
#include "views/predictionspage.h"
#include "views/runsbrowser.h"
#include "views/runview.h"

using namespace labbook;

class TestWalkthrough : public QObject {
    Q_OBJECT
    QString m_dir, m_shots;
    std::unique_ptr<MainWindow> m_window;
    int m_shot = 0;
    qint64 m_first = 0, m_second = 0;

    QWindow *top() const { return m_window->windowHandle(); }

    // The point of w (its centre by default) in the top-level window's coordinates.
    QPoint at(QWidget *w, QPoint local = {-1, -1}) const
    {
        return w->mapTo(m_window.get(), local.x() < 0 ? w->rect().center() : local);
    }

    // What a person waits for before aiming: the page laid out. A page shown again lays itself out from posted
    // layout requests (each posts its parent's), and a field read before that is where it was drawn last time.
    static void settle()
    {
        for (int i = 0; i < 8; ++i)
            QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
        QCoreApplication::processEvents();
    }

    void click(QWidget *w, QPoint local = {-1, -1}, Qt::KeyboardModifiers mods = {})
    {
        settle();
        QVERIFY2(w->isVisible(), qPrintable(w->objectName() + QStringLiteral(" is not visible")));
        const QPoint p = at(w, local);
        QVERIFY2(m_window->rect().contains(p), qPrintable(w->objectName() + QStringLiteral(" is outside the window")));
        QTest::mouseMove(top(), p);
        QTest::mouseClick(top(), Qt::LeftButton, mods, p);
        QCoreApplication::processEvents();
    }

    void clickTab(QTabWidget *tabs, int index)
    {
        click(tabs->tabBar(), tabs->tabBar()->tabRect(index).center());
        QCOMPARE(tabs->currentIndex(), index);
        settle();
    }

    void clickCell(QAbstractItemView *view, const QModelIndex &index, Qt::KeyboardModifiers mods = {})
    {
        view->scrollTo(index);
        click(view->viewport(), view->visualRect(index).center(), mods);
    }

    void type(const QString &text)
    {
        for (const QChar c : text)
            QTest::keyClick(top(), c.toLatin1());
    }

    // The screen as a person sees it (popups included), cropped to the window.
    void shoot(const QString &name)
    {
        QTest::qWait(250); // queued replots
        QScreen *screen = QGuiApplication::primaryScreen();
        const QRect g = m_window->frameGeometry();
        const QPixmap shot = screen->grabWindow(0, g.x(), g.y(), g.width(), g.height());
        QVERIFY(!shot.isNull());
        const QString file = QDir(m_shots).filePath(QStringLiteral("walkthrough-%1-%2.png").arg(++m_shot, 2, 10, QLatin1Char('0')).arg(name));
        QVERIFY(shot.save(file));
    }

    const lbk::RunSummary *run(qint64 id) const
    {
        for (const auto &r : m_window->store()->runs())
            if (r.id == id)
                return &r;
        return nullptr;
    }

    bool finished(qint64 id) const
    {
        const auto *r = run(id);
        return r && r->status == lbk::RunStatus::Finished;
    }

    qint64 launchFromForm()
    {
        QSignalSpy launched(m_window.get(), &MainWindow::runLaunched);
        auto *launch = m_window->form()->findChild<QPushButton *>(QStringLiteral("launch"));
        [&] { click(launch); }();
        if (!launched.wait(30000) && launched.isEmpty())
            return 0;
        return launched.first().first().toLongLong();
    }

    // Every recorded point of every series lies inside the plot's axis ranges.
    void checkCurvesInView(CurvesPlot *plot)
    {
        QVERIFY(!plot->series().empty());
        for (const auto &s : plot->series()) {
            QVERIFY(!s.x.isEmpty());
            const auto [xmin, xmax] = std::minmax_element(s.x.begin(), s.x.end());
            const auto [ymin, ymax] = std::minmax_element(s.y.begin(), s.y.end());
            const QCPRange xr = plot->xAxis->range(), yr = plot->yAxis->range();
            QVERIFY2(xr.lower <= *xmin && *xmax <= xr.upper,
                     qPrintable(QStringLiteral("%1: steps %2-%3, x axis %4-%5").arg(s.name).arg(*xmin).arg(*xmax).arg(xr.lower).arg(xr.upper)));
            QVERIFY2(yr.lower <= *ymin && *ymax <= yr.upper,
                     qPrintable(QStringLiteral("%1: values %2-%3, y axis %4-%5").arg(s.name).arg(*ymin).arg(*ymax).arg(yr.lower).arg(yr.upper)));
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QCOMPARE(QGuiApplication::platformName(), QStringLiteral("xcb")); // a real X server, not offscreen
        QCoreApplication::setOrganizationName(QStringLiteral("labbook-walkthrough"));
        QSettings().clear(); // a first session: no remembered store, experiment or layout
        m_dir = QStringLiteral(LABBOOK_TEST_TMP "/walkthrough");
        QDir(m_dir).removeRecursively();
        QVERIFY(QDir().mkpath(m_dir));
        m_shots = QDir(QStringLiteral(LABBOOK_TEST_TMP "/..")).absoluteFilePath(QStringLiteral("screenshots"));
        QVERIFY(QDir().mkpath(m_shots));
        for (const auto &old : QDir(m_shots).entryList({QStringLiteral("walkthrough-*.png")}))
            QFile::remove(QDir(m_shots).filePath(old));
        qputenv("LABBOOK_LBK", LABBOOK_BIN_DIR "/lbk");
        QVERIFY2(QFileInfo::exists(QStringLiteral(LABBOOK_BIN_DIR "/lbk")), "build lbk first");
        m_window = std::make_unique<MainWindow>(QDir(m_dir).filePath(QStringLiteral("store.db")));
        m_window->setConfirmOnClose(false);
        m_window->move(0, 0);
        m_window->show(); // the size a first session gets
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        QTRY_VERIFY_WITH_TIMEOUT(m_window->store()->isOpen(), 10000);
    }

    void emptyStoreSaysWhatToDo()
    {
        QTRY_VERIFY_WITH_TIMEOUT(m_window->firstRunHint()->isVisible(), 5000);
        shoot(QStringLiteral("empty-store"));
        click(m_window->firstRunHint()->findChild<QPushButton *>(QStringLiteral("hintOpenDebug")));
        QTRY_VERIFY(m_window->form()->sourceFile().endsWith(QStringLiteral("experiments/debug.json")));
        QCOMPARE(m_window->pages()->currentIndex(), int(MainWindow::FormPage));
        QVERIFY(m_window->form()->isValid());
        shoot(QStringLiteral("debug-opened"));
    }

    void launchTheDebugExperiment()
    {
        m_first = launchFromForm();
        QVERIFY(m_first > 0);
        QTRY_VERIFY_WITH_TIMEOUT(finished(m_first), 120000);
        QTRY_VERIFY_WITH_TIMEOUT(!m_window->firstRunHint()->isVisible(), 5000);
    }

    void longerRunGrowsLive()
    {
        // A longer variant, edited in the form as a person does: click into epochs, replace the value, launch.
        clickTab(m_window->pages(), MainWindow::FormPage);
        auto *epochs = m_window->form()->findChild<QLineEdit *>(QStringLiteral("field:training.epochs"));
        QVERIFY(epochs);
        if (auto *scroll = m_window->form()->findChild<QScrollArea *>())
            scroll->ensureWidgetVisible(epochs); // the wheel a person would turn
        click(epochs);
        QTest::keyClick(top(), Qt::Key_A, Qt::ControlModifier);
        type(QStringLiteral("40"));
        QTRY_COMPARE(epochs->text(), QStringLiteral("40"));
        QVERIFY(m_window->form()->isValid());
        m_second = launchFromForm();
        QVERIFY(m_second > m_first);
        QCOMPARE(m_window->pages()->currentIndex(), int(MainWindow::RunPage));
        RunView *view = m_window->runView();
        clickTab(view->tabs(), RunView::Curves);
        CurvesPlot *plot = view->curves()->plot();
        // The curve grows while the run trains: at least two different lengths seen before it ends.
        QSet<int> lengths;
        QElapsedTimer clock;
        clock.start();
        bool shotLive = false;
        while (!finished(m_second) && clock.elapsed() < 180000) {
            QTest::qWait(200);
            if (!plot->series().empty() && !plot->series().front().x.isEmpty()) {
                lengths.insert(int(plot->series().front().x.size()));
                if (lengths.size() == 2 && !shotLive) {
                    checkCurvesInView(plot);
                    shoot(QStringLiteral("training-live"));
                    shotLive = true;
                }
            }
        }
        // What the page showed, to tell a slow machine (the run over between two polls) from a view that stopped.
        QVERIFY2(lengths.size() >= 2,
                 qPrintable(QStringLiteral("curve lengths seen while training: %1 in %2 ms; the view shows run %3 (this "
                                           "run: %4); metrics %5, ticked %6")
                                .arg(lengths.size())
                                .arg(clock.elapsed())
                                .arg(view->runId())
                                .arg(m_second)
                                .arg(view->curves()->availableKeys().join(QLatin1Char(',')),
                                     view->curves()->selectedKeys().join(QLatin1Char(',')))));
        QTRY_VERIFY_WITH_TIMEOUT(finished(m_second), 60000);
        // Finished: the whole curve, every recorded step and value, is in view.
        QTRY_VERIFY_WITH_TIMEOUT(!plot->series().empty() && plot->series().front().x.last() >= double(run(m_second)->lastStep) - 5, 10000);
        QTest::qWait(300);
        checkCurvesInView(plot);
        shoot(QStringLiteral("finished-curves"));
    }

    void misclassifiedTitlesAndAConfusionCell()
    {
        RunView *view = m_window->runView();
        clickTab(view->tabs(), RunView::Predictions);
        PredictionsPage *page = view->predictions();
        QTRY_VERIFY_WITH_TIMEOUT(!page->isLoading() && page->model()->totalCount() > 0, 20000);
        // The title gets the free width: forty characters at least, and twice any other column.
        QHeaderView *h = page->table()->horizontalHeader();
        const int title = h->sectionSize(PredictionsModel::Title);
        int widestOther = 0;
        QStringList sizes;
        for (int c = 1; c < h->count(); ++c) {
            widestOther = std::max(widestOther, h->isSectionHidden(c) ? 0 : h->sectionSize(c));
            sizes << QString::number(h->isSectionHidden(c) ? 0 : h->sectionSize(c));
        }
        QVERIFY2(title >= page->table()->fontMetrics().horizontalAdvance(QString(40, QLatin1Char('e'))) && title >= 2 * widestOther,
                 qPrintable(QStringLiteral("title %1 px of %2 px; the others %3").arg(title).arg(page->table()->viewport()->width()).arg(sizes.join(QLatin1Char(' ')))));
        // The whole confusion matrix is in view.
        QTableView *cv = page->confusionView();
        QVERIFY(page->confusion()->columnCount() >= 5);
        const QModelIndex lastCell = page->confusion()->index(0, page->confusion()->columnCount() - 1);
        QVERIFY(cv->viewport()->rect().contains(cv->visualRect(lastCell)));

        // Tick "Misclassified only": every row left is a mistake.
        const int all = page->model()->rowCount();
        click(page->misclassifiedBox());
        QVERIFY(page->misclassifiedBox()->isChecked());
        QVERIFY(page->model()->rowCount() > 0 && page->model()->rowCount() < all);
        for (int r = 0; r < page->model()->rowCount(); ++r)
            QVERIFY(!page->model()->index(r, 0).data(PredictionsModel::CorrectRole).toBool());
        click(page->misclassifiedBox());
        QCOMPARE(page->model()->rowCount(), all);
        // One click to the worst mistakes: misclassified, most confident first, the first one selected.
        click(page->findChild<QPushButton *>(QStringLiteral("confidentMistakes")));
        QVERIFY(page->misclassifiedBox()->isChecked());
        QVERIFY(page->model()->rowCount() > 0);
        double previous = 2;
        for (int r = 0; r < page->model()->rowCount(); ++r) {
            QVERIFY(!page->model()->index(r, 0).data(PredictionsModel::CorrectRole).toBool());
            const double c = page->model()->index(r, 0).data(PredictionsModel::ConfidenceRole).toDouble();
            QVERIFY(c <= previous);
            previous = c;
        }
        // The first mistake's full title and abstract in the detail pane.
        const auto *first = page->model()->rowAt(0);
        QTRY_VERIFY_WITH_TIMEOUT(!page->abstracts()->isLoading(), 20000);
        QTRY_VERIFY(page->detail()->toPlainText().contains(qs(first->title).left(40)));
        QVERIFY2(page->detail()->toPlainText().size() > qs(first->title).size() + 200,
                 qPrintable(page->detail()->toPlainText())); // the abstract is there
        shoot(QStringLiteral("confident-mistakes"));

        // The largest off-diagonal cell: the table lists exactly its papers.
        QModelIndex cell;
        qint64 most = 0;
        for (int t = 0; t < page->confusion()->rowCount(); ++t)
            for (int p = 0; p < page->confusion()->columnCount(); ++p)
                if (t != p && page->confusion()->count(t, p) > most) {
                    most = page->confusion()->count(t, p);
                    cell = page->confusion()->index(t, p);
                }
        QVERIFY(most > 0);
        clickCell(cv, cell);
        const QString truth = cell.data(ConfusionModel::TrueLabelRole).toString();
        const QString predicted = cell.data(ConfusionModel::PredictedLabelRole).toString();
        QCOMPARE(qint64(page->model()->rowCount()), most);
        for (int r = 0; r < page->model()->rowCount(); ++r) {
            QCOMPARE(page->model()->index(r, PredictionsModel::Truth).data().toString(), truth);
            QCOMPARE(page->model()->index(r, PredictionsModel::Predicted).data().toString(), predicted);
        }
        clickCell(page->table(), page->model()->index(0, PredictionsModel::Title));
        shoot(QStringLiteral("confusion-cell"));
    }

    void compareTheTwoRuns()
    {
        RunsBrowser *runs = m_window->runsBrowser();
        QTableView *list = runs->view();
        // The list shows status, name, the key metric and duration without scrolling.
        for (int c : {RunsModel::Status, RunsModel::Name, RunsModel::BestF1, RunsModel::Duration}) {
            const int right = list->horizontalHeader()->sectionViewportPosition(c) + list->horizontalHeader()->sectionSize(c);
            QVERIFY2(!list->isColumnHidden(c) && right <= list->viewport()->width(),
                     qPrintable(QStringLiteral("column %1 ends at %2 of %3 px").arg(c).arg(right).arg(list->viewport()->width())));
        }
        const auto rowOf = [&](qint64 id) {
            return runs->proxy()->mapFromSource(runs->model()->index(runs->model()->rowOf(id), RunsModel::Name));
        };
        clickCell(list, rowOf(m_second));
        clickCell(list, rowOf(m_first), Qt::ControlModifier);
        QCOMPARE(runs->selectedRunIds().size(), size_t(2));
        clickTab(m_window->pages(), MainWindow::ComparePage);
        CompareView *cmp = m_window->compareView();
        QTRY_VERIFY_WITH_TIMEOUT(cmp->runIds().size() == 2, 15000);
        QTRY_VERIFY_WITH_TIMEOUT(cmp->metricsModel()->rowCount() > 0, 15000);
        // Both columns filled: every run has a value in the metrics table and the differing epochs are listed.
        int filled[2] = {0, 0};
        for (int r = 0; r < cmp->metricsModel()->rowCount(); ++r)
            for (int c = 0; c < 2; ++c)
                filled[c] += std::isfinite(cmp->metricsModel()->index(r, c + 1).data(CompareMetricsModel::ValueRole).toDouble()) ? 1 : 0;
        QVERIFY2(filled[0] > 0 && filled[1] > 0, qPrintable(QStringLiteral("%1 / %2").arg(filled[0]).arg(filled[1])));
        QVERIFY(cmp->metricsModel()->columnCount() >= 3);
        shoot(QStringLiteral("compare"));
    }

    void cleanupTestCase()
    {
        m_window.reset();
    }
};

QTEST_MAIN(TestWalkthrough)
#include "tst_walkthrough.moc"
