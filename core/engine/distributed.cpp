// c10d process groups for data-parallel training: the only translation unit that includes the c10d headers.
#include "engine/distributed.h"
#include "engine/torchversion.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
// 2.0 split the collective backends (Gloo, NCCL) from ProcessGroup; the engine holds the backend itself.
#if LABBOOK_TORCH_AT_LEAST(2, 0)
#include <torch/csrc/distributed/c10d/Backend.hpp>
using CollectiveBackendGroup = ::c10d::Backend;
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
using CollectiveBackendGroup = ::c10d::ProcessGroup;
#endif
// Gloo's headers come with libgloo-dev on Debian; a PyTorch wheel (a GPU machine's LibTorch) has none, and there
// the engine trains in one process (or with NCCL where the build enables it).
#if __has_include(<gloo/algorithm.h>)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO // Debian's TorchConfig defines it; a wheel's may not
#endif
#define LABBOOK_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace lbk {

struct Collective::Group {
    c10::intrusive_ptr<::c10d::Store> store;
    c10::intrusive_ptr<CollectiveBackendGroup> pg;
};

Collective::~Collective() = default;

std::unique_ptr<Collective> Collective::open(const CollectiveOptions &o)
{
    std::unique_ptr<Collective> c(new Collective());
    c->m_rank = o.rank;
    c->m_world = o.world;
    c->m_device = o.device;
    c->m_loopback = o.loopback;
    c->m_timeout = o.timeout;
#ifdef USE_C10D_NCCL
    const bool nccl = true;
#else
    const bool nccl = false; // Debian's LibTorch: Gloo only, which also runs collectives on CUDA tensors
#endif
    c->m_backend = o.backend == CollectiveBackend::Auto
                       ? (o.device.is_cuda() && nccl ? CollectiveBackend::Nccl : CollectiveBackend::Gloo)
                       : o.backend;
    c->m_group = std::make_unique<Group>();
    c->m_group->store = c10::make_intrusive<::c10d::FileStore>(o.rendezvous.string(), o.world);
    return c;
}

void Collective::announce(const std::string &key, const std::string &status)
{
    m_group->store->set("labbook/" + key, std::vector<uint8_t>(status.begin(), status.end()));
}

std::string Collective::awaitAnnouncement(const std::string &key, std::chrono::milliseconds timeout)
{
    m_group->store->wait({"labbook/" + key}, timeout);
    const auto v = m_group->store->get("labbook/" + key);
    return std::string(v.begin(), v.end());
}

std::optional<std::string> Collective::announcement(const std::string &key)
{
    if (!m_group->store->check({"labbook/" + key}))
        return std::nullopt;
    const auto v = m_group->store->get("labbook/" + key);
    return std::string(v.begin(), v.end());
}

void Collective::connect()
{
    if (m_backend == CollectiveBackend::Nccl) {
#ifdef USE_C10D_NCCL
        auto opts = ::c10d::ProcessGroupNCCL::Options::create();
        opts->timeout = m_timeout;
        m_group->pg = c10::make_intrusive<::c10d::ProcessGroupNCCL>(m_group->store, m_rank, m_world, opts);
#else
        TORCH_CHECK(false, "training.backend \"nccl\": this LibTorch was built without NCCL; use \"gloo\"");
#endif
        return;
    }
#ifdef LABBOOK_HAVE_GLOO
    auto opts = ::c10d::ProcessGroupGloo::Options::create(m_timeout);
    opts->devices.push_back(m_loopback ? ::c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                       : ::c10d::ProcessGroupGloo::createDefaultDevice());
    opts->threads = 2;
    m_group->pg = c10::make_intrusive<::c10d::ProcessGroupGloo>(m_group->store, m_rank, m_world, opts);
#else
    TORCH_CHECK(false, "training.processes > 1: this engine was built without Gloo's headers (libgloo-dev); "
                       "train in one process, or build against a LibTorch that has them");
#endif
}

void Collective::broadcast(const std::vector<torch::Tensor> &tensors)
{
    torch::NoGradGuard noGrad;
    for (const auto &t : tensors) {
        std::vector<at::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
        m_group->pg->broadcast(one)->wait();
        if (!one[0].is_same(t))
            t.copy_(one[0]);
    }
}

void Collective::sum(torch::Tensor &t)
{
    std::vector<at::Tensor> one{t};
    m_group->pg->allreduce(one)->wait();
}

int64_t Collective::max(int64_t value)
{
    std::vector<at::Tensor> one{torch::tensor({value}, torch::kLong).to(m_device)};
    ::c10d::AllreduceOptions opts;
    opts.reduceOp = ::c10d::ReduceOp::MAX;
    m_group->pg->allreduce(one, opts)->wait();
    return one[0].item<int64_t>();
}

bool Collective::agree(const std::vector<int64_t> &values)
{
    auto mine = torch::tensor(values, torch::kLong).to(m_device);
    auto theirs = mine.clone();
    broadcast({theirs});
    return max(torch::equal(mine, theirs) ? 0 : 1) == 0;
}

void Collective::averageGradients(const std::vector<torch::Tensor> &params, const torch::Tensor &sparseParam)
{
    torch::NoGradGuard noGrad;
    const double scale = 1.0 / double(m_world);
    std::vector<torch::Tensor> dense;
    for (const auto &p : params) {
        if (sparseParam.defined() && p.is_same(sparseParam)) {
            auto local = p.grad().defined()
                             ? p.grad().coalesce()
                             : torch::sparse_coo_tensor(torch::empty({1, 0}, torch::kLong).to(p.device()),
                                                        torch::empty({0, p.size(1)}, p.options()), p.sizes());
            std::vector<at::Tensor> one{local};
            auto work = m_group->pg->allreduce(one);
            work->wait();
            auto result = work->result();
            auto reduced = (result.empty() ? one[0] : result[0]).coalesce();
            p.mutable_grad() = torch::sparse_coo_tensor(reduced._indices(), reduced._values() * scale, p.sizes())
                                   .coalesce();
            continue;
        }
        if (!p.requires_grad())
            continue;
        if (!p.grad().defined())
            p.mutable_grad() = torch::zeros_like(p);
        dense.push_back(p.grad());
    }
    if (dense.empty())
        return;
    std::vector<torch::Tensor> flat;
    flat.reserve(dense.size());
    for (const auto &g : dense)
        flat.push_back(g.reshape({-1}));
    std::vector<at::Tensor> one{torch::cat(flat)};
    m_group->pg->allreduce(one)->wait();
    one[0].mul_(scale);
    int64_t offset = 0;
    for (auto &g : dense) {
        const int64_t n = g.numel();
        g.copy_(one[0].narrow(0, offset, n).view_as(g));
        offset += n;
    }
}

} // namespace lbk
