#include "engine/fusedbag.h"

#include <stdexcept>

#include <ATen/Parallel.h>

#include "engine/runcontext.h"

namespace lbk {

std::unique_ptr<FusedBagStep> FusedBagStep::forRun(ClassifierImpl &model, const RunContext &context,
                                                   bool multiclass, bool classWeights, std::string &whyNot)
{
    const Experiment &e = context.exp;
    auto *bag = dynamic_cast<BagModelImpl *>(&model);
    const OptimizerSpec &o = e.optimizer;
    if (!bag || bag->tfidf() || bag->dropout() > 0)
        whyNot = "the model is not a bag of n-grams with mean pooling and no dropout";
    else if (!multiclass || classWeights)
        whyNot = "the task is not multiclass without class weights";
    else if (o.type != OptimizerType::Sgd || o.momentum > 0 || o.weightDecay > 0 || o.gradClip > 0)
        whyNot = "the optimizer is not plain SGD (no momentum, weight decay or clipping)";
    else if (!context.device.is_cpu() || context.bf16 || context.world > 1 || e.training.accumulate > 1)
        whyNot = "the run is not one fp32 process on the CPU with one part per batch";
    else
        return std::unique_ptr<FusedBagStep>(new FusedBagStep(*bag, o.labelSmoothing));
    return nullptr;
}

bag::Parameters FusedBagStep::parameters() const
{
    const auto &out = m_bag.outputLayer();
    bag::Parameters p;
    p.table = m_bag.embeddingWeight().data_ptr<float>();
    p.weight = out->weight.data_ptr<float>();
    p.bias = out->bias.data_ptr<float>();
    p.dim = out->weight.size(1);
    p.classes = out->weight.size(0);
    return p;
}

double FusedBagStep::loss(Batch batch)
{
    m_batch = std::move(batch);
    bag::Inputs in;
    in.ids = m_batch.bagIds.data_ptr<int64_t>();
    in.offsets = m_batch.bagOffsets.data_ptr<int64_t>();
    in.targets = m_batch.targets.data_ptr<int64_t>();
    in.examples = m_batch.bagOffsets.size(0);
    in.idCount = m_batch.bagIds.size(0);
    const bag::Parameters p = parameters();
    // The checks embedding_bag and cross_entropy make, so that a bad id is an error and never a write outside the
    // table.
    const auto checkRange = [](const torch::Tensor &t, int64_t size, const char *what) {
        if (t.numel() == 0)
            return;
        const int64_t lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
        if (lo < 0 || hi >= size)
            throw std::out_of_range(std::string("the bag's fused training step got ") + what + " " +
                                    std::to_string(lo < 0 ? lo : hi) + ", outside [0, " + std::to_string(size) + ")");
    };
    checkRange(m_batch.bagIds, m_bag.embeddingWeight().size(0), "the table row");
    checkRange(m_batch.targets, p.classes, "the class");
    return m_step.loss(p, in, m_smoothing, at::get_num_threads());
}

// Writes the parameters through their data pointers, as torch's optimizers do under NoGradGuard: no autograd graph
// holds them between steps.
void FusedBagStep::apply(double lr)
{
    m_step.apply(parameters(), lr);
    m_batch = Batch{};
}

} // namespace lbk
