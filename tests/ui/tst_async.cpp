// ui/async.h, the GUI's one way off its thread: values come back on the asking thread, later, in order, and not
// at all once the asker is gone.
#include <atomic>
#include <memory>
#include <vector>

#include <QCoreApplication>
#include <QSemaphore>
#include <QThread>
#include <QThreadPool>
#include <QtTest>

#include "async.h"

using namespace labbook;

class TestAsync : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void valueComesBackLaterOnTheAskingThread()
    {
        QThreadPool pool;
        QObject context;
        QThread *jobThread = nullptr;
        QThread *doneThread = nullptr;
        int value = 0;
        auto future = async::run(
            &pool, &context,
            [&jobThread] {
                jobThread = QThread::currentThread();
                return 42;
            },
            [&](int v) {
                doneThread = QThread::currentThread();
                value = v;
            });
        pool.waitForDone();
        QVERIFY(future.isFinished());
        QCOMPARE(value, 0); // the job is over, but done() waits for the event loop
        QTRY_COMPARE(value, 42);
        QVERIFY(jobThread != QThread::currentThread());
        QCOMPARE(doneThread, QThread::currentThread());
    }

    void aLaneOfOneThreadKeepsTheOrder()
    {
        QThreadPool lane;
        lane.setMaxThreadCount(1);
        QObject context;
        std::vector<int> ran;      // written by the lane only
        std::vector<int> received; // on this thread
        for (int i = 0; i < 200; ++i)
            async::run(
                &lane, &context,
                [&ran, i] {
                    ran.push_back(i);
                    return i;
                },
                [&received](int i) { received.push_back(i); });
        async::waitForQueued(&lane);
        QCOMPARE(ran.size(), size_t(200));
        QTRY_COMPARE(received.size(), size_t(200));
        for (int i = 0; i < 200; ++i) {
            QCOMPARE(ran[size_t(i)], i);
            QCOMPARE(received[size_t(i)], i);
        }
    }

    void nothingComesBackOnceTheContextIsGone()
    {
        QThreadPool pool;
        auto context = std::make_unique<QObject>();
        QSemaphore go;
        bool called = false;
        bool voidCalled = false;
        async::run(
            &pool, context.get(),
            [&go] {
                go.acquire();
                return 1;
            },
            [&called](int) { called = true; });
        async::run(&pool, context.get(), [] {}, [&voidCalled] { voidCalled = true; });
        context.reset();
        go.release();
        pool.waitForDone();
        QCoreApplication::processEvents();
        QTest::qWait(20);
        QVERIFY(!called);
        QVERIFY(!voidCalled);
    }

    void withoutAContextTheJobStillRuns()
    {
        QThreadPool pool;
        std::atomic<bool> ran{false};
        bool called = false;
        async::run(&pool, nullptr, [&ran] { ran = true; }, [&called] { called = true; });
        pool.waitForDone();
        QTest::qWait(20);
        QVERIFY(ran);
        QVERIFY(!called);
    }

    void postIsNeverInsideTheCaller()
    {
        QObject context;
        bool called = false;
        async::post(&context, [&called] { called = true; });
        QVERIFY(!called);
        QTRY_VERIFY(called);

        auto gone = std::make_unique<QObject>();
        bool late = false;
        async::post(gone.get(), [&late] { late = true; });
        gone.reset();
        QTest::qWait(20);
        QVERIFY(!late);
    }

    void waitForQueuedWaitsForTheJobsBefore()
    {
        QThreadPool lane;
        lane.setMaxThreadCount(1);
        std::atomic<int> done{0};
        for (int i = 0; i < 3; ++i)
            async::run(
                &lane, nullptr,
                [&done] {
                    QThread::msleep(30);
                    ++done;
                },
                [] {});
        async::waitForQueued(&lane);
        QCOMPARE(done.load(), 3);
    }
};

QTEST_GUILESS_MAIN(TestAsync)
#include "tst_async.moc"
