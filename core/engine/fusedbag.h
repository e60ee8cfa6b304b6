#pragma once
// The bag model's hand-written training step (engine/bagkernels.h), for the runs it trains as autograd and the
// optimizer would: the plain bag model (mean pooling, no dropout) on a multiclass task without class weights,
// plain SGD (no momentum, weight decay or clipping), fp32 on the CPU, one process, one part per batch. That is
// fastText's configuration, and docs/BENCHMARKS.md's "fastText" comparison; every other run takes the autograd
// step. LibTorch: include only from engine translation units.
#include <memory>
#include <string>

#include "engine/bagkernels.h"
#include "engine/models.h"

namespace lbk {

struct RunContext;

class FusedBagStep {
public:
    // The fused step for this run, or null (with the reason in whyNot) when it needs the autograd step.
    static std::unique_ptr<FusedBagStep> forRun(ClassifierImpl &model, const RunContext &context, bool multiclass,
                                                bool classWeights, std::string &whyNot);
    // The batch's mean loss and its gradients; the batch is kept until apply().
    double loss(Batch batch);
    // The SGD update at rate lr, from the gradients of the last loss().
    void apply(double lr);

private:
    FusedBagStep(BagModelImpl &bag, double labelSmoothing) : m_bag(bag), m_smoothing(labelSmoothing) {}
    bag::Parameters parameters() const;

    BagModelImpl &m_bag;
    double m_smoothing;
    Batch m_batch;
    bag::SoftmaxSgdStep m_step;
};

} // namespace lbk
