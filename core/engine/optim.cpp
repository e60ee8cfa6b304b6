#include "engine/optim.h"

namespace lbk {

namespace {

std::unique_ptr<torch::optim::OptimizerOptions> groupOptions(const OptimizerSpec &o, double lr, bool decay)
{
    const double wd = decay ? o.weightDecay : 0.0;
    if (o.type == OptimizerType::Sgd)
        return std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(lr).momentum(o.momentum).weight_decay(wd));
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(lr).betas({o.beta1, o.beta2}).weight_decay(wd));
}

} // namespace

std::unique_ptr<TrainerOptimizer> makeOptimizer(const torch::nn::Module &model, const ParamGroupOf &groupOf,
                                                const torch::Tensor &sparseTable, const OptimizerSpec &o, double lr)
{
    auto opt = std::make_unique<TrainerOptimizer>();
    opt->groups.push_back(ParamGroup{});
    std::vector<std::vector<torch::Tensor>> params(1);
    for (const auto &p : model.named_parameters()) {
        if ((sparseTable.defined() && p.value().is_same(sparseTable)) || !p.value().requires_grad())
            continue;
        const ParamGroup g = groupOf ? groupOf(p.key()) : ParamGroup{};
        size_t i = 0;
        while (i < opt->groups.size() && opt->groups[i].name != g.name)
            ++i;
        if (i == opt->groups.size()) {
            opt->groups.push_back(g);
            params.emplace_back();
        }
        params[i].push_back(p.value());
    }
    std::vector<torch::optim::OptimizerParamGroup> groups;
    for (size_t i = 0; i < params.size(); ++i)
        groups.emplace_back(params[i], groupOptions(o, lr, opt->groups[i].decay));
    if (o.type == OptimizerType::Sgd)
        opt->dense = std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(lr));
    else
        opt->dense = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(lr));
    if (sparseTable.defined())
        opt->sparse = std::make_unique<SparseRowOptimizer>(sparseTable, o);
    opt->setLr(lr);
    return opt;
}

void clipGradients(const torch::nn::Module &model, double clip)
{
    if (clip > 0)
        torch::nn::utils::clip_grad_norm_(model.parameters(), clip);
}

void coalesceAndClip(const torch::nn::Module &model, torch::Tensor &sparseTable, double clip)
{
    if (sparseTable.defined() && sparseTable.grad().defined())
        sparseTable.mutable_grad() = sparseTable.grad().coalesce();
    clipGradients(model, clip);
}

} // namespace lbk
