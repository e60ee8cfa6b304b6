#pragma once
// The GUI's one way to work off its thread (after Qt Creator's utils/async.h): run(pool, context, job, done) runs
// job() on a thread pool and hands its value to done() on the GUI thread, unless context is gone by then. The
// store service (its pool of one thread is the ordered store lane), the run service, the data preview and the
// target check all use it.
// - done() runs from the event loop, never inside the caller, even when the job is already over.
// - Values come back in the order the jobs finished, so a pool of one thread keeps its jobs' order end to end.
// - The guard is a QFutureWatcher that is a child of context: it dies with context, and Qt drops what it had not
//   delivered. No QPointer crosses threads. context lives on the GUI thread; without one nothing is delivered.
// - run() returns the job's future, to ask whether it still runs or to wait for it. Waiting on a job still queued
//   runs it on the waiting thread (Qt takes it off the pool), so an ordered lane waits with waitForQueued().
// - Jobs do not throw (no exception crosses a thread): one that does ends the program, as it did before this
//   helper, rather than leave a done() that never comes.
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <QFuture>
#include <QFutureWatcher>
#include <QMetaObject>
#include <QObject>
#include <QSemaphore>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>

namespace labbook::async {

// fn() on context's thread from its event loop, unless context is gone by then. From a pool's job this needs a
// context that outlives the job (an owner that waits for its pool before it dies).
template <typename Fn>
void post(QObject *context, Fn &&fn)
{
    if (context)
        QMetaObject::invokeMethod(context, std::forward<Fn>(fn), Qt::QueuedConnection);
}

// done() once future has finished, as run() delivers.
template <typename Done>
void whenFinished(const QFuture<void> &future, QObject *context, Done &&done)
{
    if (!context)
        return;
    auto *watcher = new QFutureWatcher<void>(context);
    QObject::connect(watcher, &QFutureWatcherBase::finished, watcher,
                     [watcher, done = std::forward<Done>(done)]() mutable {
                         watcher->deleteLater();
                         done();
                     });
    watcher->setFuture(future);
}

// job() on pool; then done(value), or done() for a job without one, on context's thread unless context is gone.
template <typename Job, typename Done>
QFuture<void> run(QThreadPool *pool, QObject *context, Job &&job, Done &&done)
{
    using R = std::invoke_result_t<std::decay_t<Job> &>;
    if constexpr (std::is_void_v<R>) {
        QFuture<void> future = QtConcurrent::run(pool, [job = std::forward<Job>(job)]() mutable noexcept { job(); });
        whenFinished(future, context, std::forward<Done>(done));
        return future;
    } else {
        // The value waits here rather than in QFuture's result store, so done() can take it by move.
        auto value = std::make_shared<std::optional<R>>();
        QFuture<void> future = QtConcurrent::run(
            pool, [value, job = std::forward<Job>(job)]() mutable noexcept { value->emplace(job()); });
        whenFinished(future, context,
                     [value, done = std::forward<Done>(done)]() mutable { done(std::move(**value)); });
        return future;
    }
}

// Blocks until every job queued on pool so far has run, in order: for a pool of one thread (an ordered lane).
inline void waitForQueued(QThreadPool *pool)
{
    auto passed = std::make_shared<QSemaphore>(); // the job may still be inside release() when acquire() returns
    pool->start([passed] { passed->release(); });
    passed->acquire();
}

} // namespace labbook::async
