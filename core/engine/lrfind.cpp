// The LR range test: the learning rate grows exponentially, one batch per rate, from lr_finder.min_lr towards
// max_lr, until the running smoothed loss diverges; every point and a suggested rate (read off the loss smoothed
// without lag once the test is over) are reported. The model is left as
// it was found. The maths (rates, smoothing, divergence, suggestion) is train/lrfinder.h.
#include <cmath>

#include "engine/objective.h"
#include "engine/optim.h"
#include "engine/runcontext.h"
#include "engine/trainer.h"
#include "train/lrfinder.h"

namespace lbk {

using nlohmann::json;

namespace {

struct RangeTestPoints {
    std::vector<double> lrs, losses;
    std::string stopReason = "swept every rate";
};

// Emits the suggestion and the finished event of a completed range test.
int reportSuggestion(RunContext &ctx, const RangeTestPoints &points)
{
    const auto suggestion = suggestLearningRate(points.lrs, points.losses);
    json sug = {{"lr", suggestion.lr ? json(*suggestion.lr) : json()}, {"index", suggestion.index},
                {"method", suggestion.method}};
    if (!suggestion.lr)
        sug["reason"] = suggestion.reason;
    ctx.emit("lr_suggestion", sug);
    ctx.log("info", "LR range test stopped after " + std::to_string(points.lrs.size()) + " steps: " + points.stopReason);
    json summary = {{"points", points.lrs.size()}, {"stop_reason", points.stopReason}};
    if (suggestion.lr)
        summary["suggested_lr"] = *suggestion.lr;
    ctx.emit("finished", {{"step", ctx.step}, {"summary", summary}});
    return kWorkerFinished;
}

} // namespace

int lrRangeTest(RunContext &ctx, Objective &objective)
{
    const Experiment &e = ctx.exp;
    const auto &lf = e.lrFinder;
    torch::manual_seed(e.training.seed);
    if (auto created = objective.createModel(); !created)
        return ctx.fail(created.message());
    torch::Tensor sparse = objective.sparseTable();
    auto optimizer = makeOptimizer(objective.model(), objective.paramGroupOf(), sparse, e.optimizer, lf.minLr);
    // The range test must leave the model as it found it: keep a copy of every parameter to restore.
    std::vector<torch::Tensor> saved;
    for (const auto &p : objective.model().parameters())
        saved.push_back(p.detach().clone());
    ctx.started("lr_find", lf.steps, -1, objective.dataSummary());

    const auto &train = objective.trainExamples();
    const auto batchSize = size_t(e.training.batchSize);
    RangeTestPoints points;
    DebiasedEma ema(lf.beta);
    double bestSmoothed = INFINITY;
    std::vector<size_t> order;
    size_t cursor = train.size();
    int epoch = 0;
    for (int i = 0; i < lf.steps; ++i) {
        if (cancelRequested()) {
            ctx.emit("cancelled", {{"step", i}});
            return kWorkerCancelled;
        }
        if (cursor + batchSize > train.size()) {
            order = permuted(train, e.training.seed * 7919ULL + uint64_t(epoch++));
            cursor = 0;
        }
        const double lr = lrFinderRate(lf.minLr, lf.maxLr, lf.steps, i);
        optimizer->setLr(lr);
        optimizer->zero_grad();
        // The gradient as the training step takes it: in training.accumulate parts, clipped to optimizer.grad_clip.
        const double value = accumulateGradients(objective, order, cursor, std::min(order.size(), cursor + batchSize),
                                                 e.training.accumulate, 1.0);
        cursor += batchSize;
        if (std::isfinite(value)) {
            coalesceAndClip(objective.model(), sparse, e.optimizer.gradClip);
            optimizer->step();
        }
        const double s = ema.add(value);
        points.lrs.push_back(lr);
        points.losses.push_back(value);
        ctx.emit("lr_point",
                 {{"index", i}, {"lr", lr}, {"loss", value}, {"smoothed", std::isfinite(value) ? s : std::nan("")}});
        ctx.step = i + 1;
        if (std::isfinite(s))
            bestSmoothed = std::min(bestSmoothed, s);
        if (i >= 5 && (!std::isfinite(value) || lrFinderDiverged(s, bestSmoothed, lf.stopFactor))) {
            points.stopReason = !std::isfinite(value) ? "the loss became non-finite"
                                                      : "the smoothed loss passed " + json(lf.stopFactor).dump() +
                                                            " times its best";
            break;
        }
    }
    {
        torch::NoGradGuard noGrad;
        auto params = objective.model().parameters();
        for (size_t k = 0; k < params.size(); ++k)
            params[k].copy_(saved[k]);
    }
    return reportSuggestion(ctx, points);
}

} // namespace lbk
