// The step loop. It knows nothing of what a batch holds: the objective builds batches, losses and evaluations;
// this file owns the order of the data, the schedule, data-parallel control and averaging, checkpoints, early
// stopping and resume.
#include "engine/trainer.h"

#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "engine/checkpoint.h"
#include "engine/distributed.h"
#include "engine/objective.h"
#include "engine/optim.h"
#include "engine/runcontext.h"
#include "engine/threads.h"
#include "metrics/metrics.h"
#include "store/runfiles.h"
#include "train/schedule.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<size_t> permutation(size_t n, uint64_t seed)
{
    std::vector<size_t> p(n);
    std::iota(p.begin(), p.end(), 0);
    std::mt19937_64 rng(seed);
    for (size_t i = n; i > 1; --i)
        std::swap(p[i - 1], p[size_t(rng() % i)]);
    return p;
}

std::vector<size_t> permuted(const std::vector<size_t> &examples, uint64_t seed)
{
    const auto perm = permutation(examples.size(), seed);
    std::vector<size_t> order(examples.size());
    for (size_t i = 0; i < perm.size(); ++i)
        order[i] = examples[perm[i]];
    return order;
}

namespace {

// LABBOOK_INJECT_NAN_STEP=N makes the loss of step N NaN, so tests can prove a diverging run fails cleanly.
int64_t injectNanAtStep()
{
    static const int64_t step = [] {
        const char *v = std::getenv("LABBOOK_INJECT_NAN_STEP");
        return v ? std::atoll(v) : int64_t(-1);
    }();
    return step;
}

class StepLoop {
public:
    StepLoop(RunContext &context, Objective &objective);
    int run();

private:
    Status setUp();
    Status joinRanks();
    // What every rank does next, the same on all: 2 cancel (any rank was signalled), 1 stop early, 0 go on.
    int control();
    int cancel();
    Status step();
    double accumulate(size_t lo, size_t hi, double scale);
    void applyGradients();
    void logMetrics(double lr, double lossValue, size_t examples);
    void evaluateAndCheckpoint();
    int finish();
    void saveLast();
    // The resumable checkpoint when training.checkpoint_minutes have passed since the last one.
    void saveLastWhenDue();
    // A finished run keeps what scoring and export need, not the resumable state.
    void keepFinalCheckpoint();

    RunContext &m_ctx;
    Objective &m_obj;
    const Experiment &m_e;
    std::unique_ptr<TrainerOptimizer> m_opt;
    torch::Tensor m_sparse;
    fs::path m_lastCkpt, m_bestCkpt;
    int64_t m_stepsPerEpoch = 1, m_totalSteps = 0, m_evalEvery = 1, m_resumedFrom = -1;
    bool m_higher = true;
    double m_best = 0;
    double m_bestLoss = INFINITY; // the validation loss of the best evaluation: a tie in the metric goes to a lower one
    int64_t m_bestStep = -1; // the step best.pt was written at by this process (-1: none, or before a resume)
    int m_badEvals = 0;
    bool m_stoppedEarly = false, m_stopPending = false;
    std::vector<size_t> m_order; // this epoch's permutation of the training examples
    int64_t m_orderEpoch = -1;
    // The window since the last metrics event.
    double m_lossSum = 0;
    int64_t m_lossCount = 0, m_examplesSinceLog = 0;
    std::chrono::steady_clock::time_point m_lastLog = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point m_lastSave = std::chrono::steady_clock::now();
};

StepLoop::StepLoop(RunContext &context, Objective &objective)
    : m_ctx(context), m_obj(objective), m_e(context.exp)
{
    const auto batch = size_t(m_e.training.batchSize);
    m_stepsPerEpoch = std::max<int64_t>(1, int64_t((m_obj.trainExamples().size() + batch - 1) / batch));
    m_totalSteps = m_e.training.maxSteps > 0 ? m_e.training.maxSteps : m_stepsPerEpoch * m_e.training.epochs;
    m_evalEvery = m_e.evaluation.everySteps > 0 ? m_e.evaluation.everySteps : m_stepsPerEpoch;
    m_higher = higherIsBetter(toString(m_e.evaluation.metric));
    m_best = m_higher ? -INFINITY : INFINITY;
    m_lastCkpt = resumableCheckpoint(m_ctx.options.runDir);
    m_bestCkpt = runfiles::checkpoint(m_ctx.options.runDir, "best");
}

// Every rank must train the same run: same data, split, vocabulary and starting step (a data file changed between
// the ranks' reads, or a stale view of a shared file system, would otherwise hang or skew it); and every rank starts
// from rank 0's weights (the same seed gives the same ones; this makes it a fact).
Status StepLoop::joinRanks()
{
    if (m_sparse.defined() && m_ctx.dist->backend() == CollectiveBackend::Nccl)
        return Error{"training.backend \"nccl\" has no all-reduce for the bag model's row-sparse table; use "
                     "\"gloo\", or optimizer.sparse_embeddings: false"};
    std::vector<int64_t> shape = m_obj.shape();
    shape.insert(shape.end(), {m_totalSteps, m_ctx.step});
    if (!m_ctx.dist->agree(shape))
        return Error{"the training processes disagree about the run (examples, split, vocabulary or step): rank " +
                     std::to_string(m_ctx.rank) + " has " + json(shape).dump() +
                     "; was the data file changed while they started?"};
    std::vector<torch::Tensor> state = m_obj.model().parameters();
    for (const auto &b : m_obj.model().buffers())
        state.push_back(b);
    m_ctx.dist->broadcast(state);
    return Unit{};
}

Status StepLoop::setUp()
{
    torch::manual_seed(m_e.training.seed);
    if (auto created = m_obj.createModel(); !created)
        return created;
    m_sparse = m_obj.sparseTable();
    m_opt = makeOptimizer(m_obj.model(), m_obj.paramGroupOf(), m_sparse, m_e.optimizer, m_e.optimizer.lr);
    fs::create_directories(m_lastCkpt.parent_path());
    if (m_ctx.options.resume) {
        CheckpointCounters c;
        bool loaded = false;
        try {
            loaded = loadCheckpoint(m_lastCkpt, m_obj.model(), m_ctx.device, m_opt.get(), &c);
        } catch (const std::runtime_error &err) {
            // What was recorded stays; best.pt (weights only, no optimizer state) still serves predict and export.
            return Error{std::string("cannot resume: ") + err.what() + ". Everything recorded is kept" +
                         (fs::exists(m_bestCkpt) ? "; best.pt still serves lbk predict and lbk export" : "") +
                         "; to train on, start the experiment again as a new run"};
        }
        if (loaded) {
            m_ctx.step = m_resumedFrom = c.step;
            m_best = c.best;
            m_bestLoss = c.bestLoss;
            m_badEvals = c.badEvals;
        } else {
            m_ctx.log("warning", "no last.pt in " + m_lastCkpt.parent_path().string() +
                                     " (it is written every training.checkpoint_minutes and at the end): the run "
                                     "starts again from step 0");
        }
    }
    if (m_ctx.dist)
        if (auto joined = joinRanks(); !joined)
            return joined;
    return Unit{};
}

int StepLoop::control()
{
    const int word = cancelRequested() ? 2 : m_stopPending ? 1 : 0;
    return m_ctx.dist ? int(m_ctx.dist->max(word)) : word;
}

void StepLoop::saveLast()
{
    saveCheckpoint(m_lastCkpt, m_obj.model(), m_opt.get(), {m_ctx.step, m_best, m_badEvals, m_bestLoss});
    m_ctx.emit("checkpoint", {{"step", m_ctx.step}, {"kind", "last"}, {"path", runfiles::checkpointEntry("last")}});
    m_lastSave = std::chrono::steady_clock::now();
}

void StepLoop::saveLastWhenDue()
{
    const double minutes = m_e.training.checkpointMinutes;
    if (minutes <= 0 || m_ctx.step >= m_totalSteps)
        return;
    const auto since = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_lastSave).count();
    if (since >= minutes * 60)
        saveLast();
}

// The best checkpoint is what the test split was scored with and what export, predict and eval read; the
// resumable last.pt (for the bag, the table's two AdamW moments: three times the weights) is removed. Without a
// best checkpoint (no validation value), the final weights are kept as last.pt, without the optimizer's state.
void StepLoop::keepFinalCheckpoint()
{
    std::error_code ec;
    if (fs::exists(m_bestCkpt)) {
        if (fs::remove(m_lastCkpt, ec))
            m_ctx.emit("checkpoint", {{"step", m_ctx.step}, {"kind", "last"},
                                      {"path", runfiles::checkpointEntry("last")}, {"removed", true}});
        return;
    }
    saveCheckpoint(m_lastCkpt, m_obj.model(), nullptr, {m_ctx.step, m_best, m_badEvals, m_bestLoss});
    m_ctx.emit("checkpoint", {{"step", m_ctx.step}, {"kind", "last"}, {"path", runfiles::checkpointEntry("last")}});
}

int StepLoop::cancel()
{
    if (m_ctx.rank == 0) {
        saveLast();
        m_ctx.emit("cancelled", {{"step", m_ctx.step}});
    }
    return kWorkerCancelled;
}

// One optimizer step on this epoch's next batch. With several processes each trains on its share of the global
// batch; its mean loss is scaled by its share's weight, so the average of the ranks' gradients is the global
// batch's mean gradient.
Status StepLoop::step()
{
    const int64_t epoch = m_ctx.step / m_stepsPerEpoch;
    if (epoch != m_orderEpoch) {
        m_order = permuted(m_obj.trainExamples(), m_e.training.seed * 1000003ULL + uint64_t(epoch));
        m_orderEpoch = epoch;
    }
    const size_t begin = size_t(m_ctx.step % m_stepsPerEpoch) * size_t(m_e.training.batchSize);
    const size_t end = std::min(m_order.size(), begin + size_t(m_e.training.batchSize));
    const double lr = scheduledLr(m_e.schedule, m_e.optimizer.lr, m_ctx.step, m_totalSteps);
    m_opt->setLr(lr);
    auto *dist = m_ctx.dist;
    const auto [lo, hi] = dist ? rankShare(begin, end, m_ctx.rank, m_ctx.world) : std::pair{begin, end};
    const double shareWeight = dist ? m_obj.lossWeight(m_order, lo, hi) : 1.0;
    const double batchWeight = dist ? m_obj.lossWeight(m_order, begin, end) : 1.0;
    const bool manual = m_obj.hasManualStep();
    if (!manual)
        m_opt->zero_grad();
    double lossValue = hi <= lo ? 0.0
                       : manual ? m_obj.manualLoss(m_order, lo, hi)
                                : accumulate(lo, hi, dist ? shareWeight * double(m_ctx.world) / batchWeight : 1.0);
    if (m_ctx.step + 1 == injectNanAtStep())
        lossValue = std::nan(""); // nothing is applied: the check below fails the run
    if (dist) {
        auto total = torch::tensor({lossValue * shareWeight}, torch::TensorOptions(torch::kDouble).device(m_ctx.device));
        dist->sum(total);
        lossValue = total.item<double>() / batchWeight;
    }
    if (!std::isfinite(lossValue)) {
        m_ctx.emit("metrics", {{"step", m_ctx.step + 1}, {"values", {{"train/loss", lossValue}, {"lr", lr}}}});
        return Error{"the training loss became " + std::string(std::isnan(lossValue) ? "NaN" : "infinite") +
                     " at step " + std::to_string(m_ctx.step + 1) + " (learning rate " + std::to_string(lr) +
                     "); lower optimizer.lr (`lbk lr-find EXPERIMENT.json` suggests one) or set optimizer.grad_clip"};
    }
    if (!manual)
        applyGradients();
    else if (hi > lo)
        m_obj.manualApply(lr);
    ++m_ctx.step;
    logMetrics(lr, lossValue, end - begin);
    return Unit{};
}

// The optimizer's step from the gradients backward left: averaged over the processes, clipped when asked.
void StepLoop::applyGradients()
{
    if (m_ctx.dist) {
        m_ctx.dist->averageGradients(m_obj.model().parameters(), m_sparse);
        clipGradients(m_obj.model(), m_e.optimizer.gradClip);
    } else {
        coalesceAndClip(m_obj.model(), m_sparse, m_e.optimizer.gradClip);
    }
    m_opt->step();
}

// The gradient of the mean loss over examples [lo, hi) times `scale`, in training.accumulate parts; returns that
// mean loss (NaN or infinite: nothing was applied).
double StepLoop::accumulate(size_t lo, size_t hi, double scale)
{
    return accumulateGradients(m_obj, m_order, lo, hi, m_e.training.accumulate, scale);
}

void StepLoop::logMetrics(double lr, double lossValue, size_t examples)
{
    m_lossSum += lossValue;
    ++m_lossCount;
    m_examplesSinceLog += int64_t(examples);
    if (m_ctx.step % m_e.training.logEvery != 0 && m_ctx.step != m_totalSteps)
        return;
    const auto now = std::chrono::steady_clock::now();
    const double secs = std::chrono::duration<double>(now - m_lastLog).count();
    json values = {{"train/loss", m_lossSum / double(m_lossCount)},
                   {"lr", lr},
                   {"epoch", double(m_ctx.step) / double(m_stepsPerEpoch)},
                   {"train/examples_per_s", secs > 0 ? double(m_examplesSinceLog) / secs : 0.0}};
    m_obj.addTrainingMetrics(values, values["train/loss"].get<double>(), values["train/examples_per_s"].get<double>());
    // A parameter group with a rate of its own (bag_cnn's "cnn", an encoder's "head"): the rate its optimizer
    // group holds, as "lr/cnn".
    const auto &groups = m_opt->dense->param_groups();
    for (size_t g = 1; g < groups.size() && g < m_opt->groups.size(); ++g)
        if (m_opt->groups[g].logged)
            values["lr/" + m_opt->groups[g].name] = groups[g].options().get_lr();
    m_ctx.emit("metrics", {{"step", m_ctx.step}, {"values", std::move(values)}});
    m_lossSum = 0;
    m_lossCount = m_examplesSinceLog = 0;
    m_lastLog = now;
}

// Rank 0 evaluates on the validation split (the other ranks wait meanwhile, so it uses every thread the run was
// given), keeps the best checkpoint and the last one, and decides on early stopping.
void StepLoop::evaluateAndCheckpoint()
{
    const int stepThreads = at::get_num_threads();
    if (m_ctx.dist)
        setComputeThreads(threadCount(m_e.training.threads));
    const std::string metric = toString(m_e.evaluation.metric);
    const json summary = m_obj.evaluate(EvalSplit::Validation, m_ctx.step);
    if (!summary.is_null()) {
        const json v = summary.value(metric, json()), l = summary.value("loss", json());
        const double value = v.is_number() ? v.get<double>() : std::nan("");
        const double loss = l.is_number() ? l.get<double>() : std::nan("");
        // A tie goes to the lower loss: a binary F1 stays 0 while no paper is predicted positive yet, and the
        // first of those evaluations, the least trained, would be kept (and scored, and exported).
        const bool tieWon = value == m_best && std::isfinite(loss) && loss < m_bestLoss;
        const bool improved = std::isfinite(value) && (m_higher ? value > m_best : value < m_best);
        if (improved || tieWon) {
            m_best = value;
            m_bestLoss = std::isfinite(loss) ? loss : INFINITY;
            m_badEvals = improved ? 0 : m_badEvals + 1; // early stopping waits for the metric itself to improve
            // Without the optimizer's moments (for the bag, two more copies of its n-gram table): the best
            // checkpoint is scored and exported, while resuming starts from the last one.
            saveCheckpoint(m_bestCkpt, m_obj.model(), nullptr, {m_ctx.step, m_best, m_badEvals, m_bestLoss});
            m_bestStep = m_ctx.step;
            m_ctx.emit("checkpoint", {{"step", m_ctx.step}, {"kind", "best"},
                                      {"path", runfiles::checkpointEntry("best")},
                                      {"metric", {{"val/" + metric, value}}}});
        } else {
            ++m_badEvals;
        }
    }
    if (m_e.evaluation.keepCheckpoints) {
        const std::string name = runfiles::keptName(m_ctx.step);
        saveCheckpoint(runfiles::checkpoint(m_ctx.options.runDir, name), m_obj.model(), nullptr,
                       {m_ctx.step, m_best, m_badEvals, m_bestLoss});
        m_ctx.emit("checkpoint", {{"step", m_ctx.step}, {"kind", "kept"}, {"path", runfiles::checkpointEntry(name)}});
    }
    // Every evaluation saves the resumable state when asked to (checkpoint_minutes 0); the last step never does:
    // the run is about to finish.
    if (m_e.training.checkpointMinutes <= 0 && m_ctx.step < m_totalSteps)
        saveLast();
    if (m_e.evaluation.earlyStopping > 0 && m_badEvals >= m_e.evaluation.earlyStopping && m_ctx.step < m_totalSteps) {
        m_ctx.log("info", "early stopping at step " + std::to_string(m_ctx.step) + ": val/" + metric + " has not " +
                              "improved for " + std::to_string(m_badEvals) + " evaluations");
        m_stopPending = true;
    }
    setComputeThreads(stepThreads);
}

// Rank 0 scores the test split once, with the best checkpoint (or the last weights when there was no
// validation), and reports the end.
int StepLoop::finish()
{
    if (m_ctx.dist)
        setComputeThreads(threadCount(m_e.training.threads)); // the other ranks have finished
    json summary = {{"steps", m_ctx.step}, {"stopped_early", m_stoppedEarly}};
    // The weights in memory are the best ones when the last evaluation was the best (a short run's only one):
    // reading best.pt back would cost its size in memory and time for nothing.
    const bool best = m_bestStep == m_ctx.step ||
                      loadCheckpoint(m_bestCkpt, m_obj.model(), m_ctx.device, nullptr, nullptr);
    summary["test_checkpoint"] = best ? "best" : "last";
    const json test = m_obj.evaluate(EvalSplit::Test, m_ctx.step);
    for (const auto k : scalarMetricKeys())
        if (test.is_object() && test.contains(k))
            summary["test/" + std::string(k)] = test[std::string(k)];
    if (std::isfinite(m_best))
        summary["best/val/" + std::string(toString(m_e.evaluation.metric))] = m_best;
    keepFinalCheckpoint();
    m_obj.reportArtifacts();
    m_ctx.emit("finished", {{"step", m_ctx.step}, {"summary", summary}});
    return kWorkerFinished;
}

int StepLoop::run()
{
    if (auto ready = setUp(); !ready)
        return m_ctx.fail(ready.message());
    m_ctx.started("train", m_totalSteps, m_resumedFrom, m_obj.dataSummary());
    while (m_ctx.step < m_totalSteps) {
        // Dropout's draws, like data order and schedule, depend on the step (and rank) alone: a resumed run trains
        // as the uninterrupted one did.
        torch::manual_seed(m_e.training.seed + uint64_t(m_ctx.step) + 1000003ULL * uint64_t(m_ctx.rank));
        const int word = control();
        if (word == 2)
            return cancel();
        if (word == 1) {
            m_stoppedEarly = true;
            break;
        }
        if (auto stepped = step(); !stepped)
            return m_ctx.fail(stepped.message());
        if (m_ctx.rank == 0 && (m_ctx.step % m_evalEvery == 0 || m_ctx.step == m_totalSteps))
            evaluateAndCheckpoint();
        if (m_ctx.rank == 0)
            saveLastWhenDue();
    }
    return m_ctx.rank > 0 ? kWorkerFinished : finish();
}

} // namespace

int trainRun(RunContext &context, Objective &objective)
{
    StepLoop loop(context, objective);
    return loop.run();
}

double accumulateGradients(Objective &objective, const std::vector<size_t> &examples, size_t lo, size_t hi, int parts,
                           double scale)
{
    const auto n = size_t(std::max(parts, 1));
    const double whole = n > 1 ? objective.lossWeight(examples, lo, hi) : 1.0;
    double value = 0;
    for (size_t k = 0; k < n; ++k) {
        const size_t a = lo + (hi - lo) * k / n, b = lo + (hi - lo) * (k + 1) / n;
        if (b <= a)
            continue;
        const auto loss = objective.trainingLoss(examples, a, b);
        const double share = n > 1 ? objective.lossWeight(examples, a, b) / whole : 1.0;
        value += loss.value() * share;
        if (!std::isfinite(value))
            return value;
        (loss.sum * (share * scale)).backward();
    }
    return value;
}

} // namespace lbk
