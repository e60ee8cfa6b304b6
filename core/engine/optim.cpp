#include "engine/optim.h"

namespace lbk {

std::unique_ptr<TrainerOptimizer> makeOptimizer(const torch::nn::Module &model,
                                                std::vector<std::pair<std::string, double>> lrGroups,
                                                const torch::Tensor &sparseTable, const OptimizerSpec &o, double lr)
{
    auto opt = std::make_unique<TrainerOptimizer>();
    opt->lrGroups = std::move(lrGroups);
    std::vector<std::vector<torch::Tensor>> dense(opt->lrGroups.size() + 1);
    for (const auto &p : model.named_parameters()) {
        if (sparseTable.defined() && p.value().is_same(sparseTable))
            continue;
        size_t group = 0;
        for (size_t i = 0; i < opt->lrGroups.size() && group == 0; ++i)
            if (p.key().rfind(opt->lrGroups[i].first, 0) == 0)
                group = i + 1;
        dense[group].push_back(p.value());
    }
    std::vector<torch::optim::OptimizerParamGroup> groups(dense.begin(), dense.end());
    if (o.type == "sgd")
        opt->dense = std::make_unique<torch::optim::SGD>(
            groups, torch::optim::SGDOptions(lr).momentum(o.momentum).weight_decay(o.weightDecay));
    else
        opt->dense = std::make_unique<torch::optim::AdamW>(
            groups, torch::optim::AdamWOptions(lr).betas({o.beta1, o.beta2}).weight_decay(o.weightDecay));
    if (sparseTable.defined())
        opt->sparse = std::make_unique<SparseRowAdamW>(sparseTable, o);
    opt->setLr(lr);
    return opt;
}

} // namespace lbk
