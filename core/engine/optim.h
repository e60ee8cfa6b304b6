#pragma once
// The trainer's optimizer pieces and precision switch. LibTorch: include only from engine translation units
// (the trainer, and the engine benchmark, which must time exactly what the trainer runs).
#include <cmath>
#include <functional>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "engine/models.h"
#include "engine/precision.h"
#include "experiment/experiment.h"

namespace lbk {

// The optimizer of the bag model's embedding table (hundreds of thousands to millions of rows, of which a batch
// touches a few thousand): only the rows in the batch's row-sparse gradient are updated.
// - adamw: lazy AdamW, as PyTorch's SparseAdam and TensorFlow's LazyAdam do: the touched rows and their moments.
//   Bias correction uses the global step; decoupled weight decay applies to the touched rows. Its two moments are
//   two more copies of the table, in memory and in the resumable checkpoint.
// - sgd: fastText's rule, w -= lr * g on the touched rows (with optimizer.momentum, a velocity per row, updated
//   lazily likewise): no state beside the table unless momentum asks for one.
// A dense optimizer would read and write every row each step.
class SparseRowOptimizer {
public:
    SparseRowOptimizer(torch::Tensor weight, const OptimizerSpec &o)
        : m_w(std::move(weight)), m_o(o), m_sgd(o.type == OptimizerType::Sgd)
    {
        if (!m_sgd || m_o.momentum > 0)
            m_m = torch::zeros_like(m_w);
        if (!m_sgd)
            m_v = torch::zeros_like(m_w);
    }
    void setLr(double lr) { m_lr = lr; }
    void zeroGrad() { m_w.mutable_grad() = torch::Tensor(); }
    void step()
    {
        torch::NoGradGuard noGrad;
        const auto grad = m_w.grad();
        if (!grad.defined())
            return;
        ++m_t;
        const auto g = grad.is_coalesced() ? grad : grad.coalesce();
        const auto rows = g._indices().select(0, 0);
        const auto values = g._values();
        auto update = m_sgd ? sgdUpdate(rows, values) : adamUpdate(rows, values);
        if (m_o.weightDecay > 0)
            update.add_(m_w.index_select(0, rows), -m_lr * m_o.weightDecay);
        m_w.index_add_(0, rows, update);
    }
    void save(torch::serialize::OutputArchive &a) const
    {
        if (m_m.defined())
            a.write(m_sgd ? "momentum_buffer" : "exp_avg", m_m);
        if (m_v.defined())
            a.write("exp_avg_sq", m_v);
        a.write("step", torch::tensor(m_t));
    }
    void load(torch::serialize::InputArchive &a)
    {
        // A fresh tensor per read: reading into a defined tensor keeps its dtype and reinterprets the bytes (the
        // int64 step read into the float moments' tensor came back as 0, restarting bias correction).
        torch::Tensor m, v, step;
        if (m_m.defined()) {
            a.read(m_sgd ? "momentum_buffer" : "exp_avg", m);
            m_m.copy_(m);
        }
        if (m_v.defined()) {
            a.read("exp_avg_sq", v);
            m_v.copy_(v);
        }
        a.read("step", step);
        m_t = step.item<int64_t>();
    }

private:
    torch::Tensor adamUpdate(const torch::Tensor &rows, const torch::Tensor &values)
    {
        auto m = m_m.index_select(0, rows).mul_(m_o.beta1).add_(values, 1 - m_o.beta1);
        auto v = m_v.index_select(0, rows).mul_(m_o.beta2).addcmul_(values, values, 1 - m_o.beta2);
        m_m.index_copy_(0, rows, m);
        m_v.index_copy_(0, rows, v);
        const double c1 = 1 - std::pow(m_o.beta1, double(m_t)), c2 = 1 - std::pow(m_o.beta2, double(m_t));
        return m.div_(v.div_(c2).sqrt_().add_(1e-8)).mul_(-m_lr / c1);
    }
    torch::Tensor sgdUpdate(const torch::Tensor &rows, const torch::Tensor &values)
    {
        if (!m_m.defined())
            return values.mul(-m_lr);
        auto velocity = m_m.index_select(0, rows).mul_(m_o.momentum).add_(values);
        m_m.index_copy_(0, rows, velocity);
        return velocity.mul_(-m_lr);
    }

    torch::Tensor m_w, m_m, m_v; // m_m: AdamW's first moment or SGD's velocity; m_v: AdamW's second moment
    OptimizerSpec m_o;
    bool m_sgd = false;
    double m_lr = 0;
    int64_t m_t = 0;
};

// The dense optimizer over every parameter, plus the lazy one for a sparse embedding table when there is one.
class TrainerOptimizer {
public:
    std::unique_ptr<torch::optim::Optimizer> dense;
    std::unique_ptr<SparseRowOptimizer> sparse;
    // The dense optimizer's groups, in its order (group 0: the default one); see ClassifierImpl::paramGroup.
    std::vector<ParamGroup> groups;
    void zero_grad()
    {
        dense->zero_grad();
        if (sparse)
            sparse->zeroGrad();
    }
    void step()
    {
        dense->step();
        if (sparse)
            sparse->step();
    }
    void setLr(double lr)
    {
        auto &groups = dense->param_groups();
        for (size_t i = 0; i < groups.size(); ++i)
            groups[i].options().set_lr(lr * (i < this->groups.size() ? this->groups[i].lrFactor : 1.0));
        if (sparse)
            sparse->setLr(lr);
    }
    void save(torch::serialize::OutputArchive &a) const
    {
        dense->save(a);
        if (sparse) {
            torch::serialize::OutputArchive s;
            sparse->save(s);
            a.write("sparse_rows", s);
        }
    }
    void load(torch::serialize::InputArchive &a)
    {
        dense->load(a);
        if (sparse) {
            torch::serialize::InputArchive s;
            a.read("sparse_rows", s);
            sparse->load(s);
        }
    }
};

// The optimizer of a model's parameters (optimizer.type): dense groups by `groupOf` (the default group first, the
// others in the order their first parameter comes; parameters that do not train are left out), and the lazy
// row-sparse optimizer for `sparseTable` when it is defined (it is then left out of the dense one).
using ParamGroupOf = std::function<ParamGroup(const std::string &name)>;
std::unique_ptr<TrainerOptimizer> makeOptimizer(const torch::nn::Module &model, const ParamGroupOf &groupOf,
                                                const torch::Tensor &sparseTable, const OptimizerSpec &spec, double lr);

// The gradients before a step of one process: the sparse table's coalesced (so the clipping norm and the lazy
// update see each row once), then all clipped to a total norm of `clip` (optimizer.grad_clip) when it is > 0.
void coalesceAndClip(const torch::nn::Module &model, torch::Tensor &sparseTable, double clip);
// Every gradient clipped to a total norm of `clip` when it is > 0.
void clipGradients(const torch::nn::Module &model, double clip);

} // namespace lbk
