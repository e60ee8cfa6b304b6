#include "engine/fusedgru.h"

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>

#include "engine/grukernels.h"
#include "engine/precision.h"
#include "engine/threads.h"

#include <algorithm>
#include <exception>
#include <mutex>

namespace lbk {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Rows per task when the gates of a step are split over threads.
constexpr int64_t kRowGrain = 32;

std::vector<int64_t> offsetsOf(const std::vector<int64_t> &batchSizes)
{
    std::vector<int64_t> offsets(batchSizes.size(), 0);
    for (size_t t = 1; t < batchSizes.size(); ++t)
        offsets[t] = offsets[t - 1] + batchSizes[t - 1];
    return offsets;
}

// Runs fn(0) and fn(1), one per direction. With two or more threads allowed, on two threads at once: the
// directions' recurrences are independent, while splitting each step's small matmul and gate pass over cores
// costs a synchronisation per step, which on this 2-vCPU VM made two threads 4x slower than one. The BLAS runs
// single-threaded meanwhile (each thread calls it on its own).
bool directionsInParallel()
{
    return at::get_num_threads() >= 2 && !at::in_parallel_region() && blasThreads() >= 0;
}

template <typename Fn>
void forBothDirections(Fn fn)
{
    if (!directionsInParallel()) {
        fn(0);
        fn(1);
        return;
    }
    const int blas = blasThreads();
    setBlasThreads(1);
    // On LibTorch's own (OpenMP) threads: a thread of our own would compete with its workers, which spin a
    // while after every parallel kernel. Grad mode and autocast are thread-local: carried over.
    const at::ThreadLocalState state;
    std::exception_ptr failure;
    std::mutex failureMutex;
    at::parallel_for(0, 2, 1, [&](int64_t b, int64_t e) {
        at::ThreadLocalStateGuard guard(state);
        for (int64_t dir = b; dir < e; ++dir) {
            try {
                fn(int(dir));
            } catch (...) {
                std::lock_guard<std::mutex> lock(failureMutex);
                failure = std::current_exception();
            }
        }
    });
    setBlasThreads(blas);
    if (failure)
        std::rethrow_exception(failure);
}

// The gate pass of rows [0, n) of a step: split over LibTorch's threads when it runs alone, in the calling
// thread inside forBothDirections' threads.
template <typename Fn>
void overRows(int64_t n, bool split, Fn fn)
{
    if (split)
        at::parallel_for(0, n, kRowGrain, fn);
    else
        fn(0, n);
}

struct LayerState {
    torch::Tensor out;                  // [N, 2H]
    torch::Tensor gates[2], hprev[2];   // per direction, kept for the backward pass: [N, 4H], [N, H]
};

// gx: both directions' input gates, row r at gxBase + r * 6H; packed row i reads row gxRows[i] (a token's row
// of a table) or row i when gxRows is undefined.
LayerState runForward(const torch::Tensor &gx, const torch::Tensor &gxRows, const std::vector<int64_t> &batchSizes,
                      const std::vector<torch::Tensor> &w, bool keep)
{
    const int64_t H = w[1].size(1), T = int64_t(batchSizes.size());
    const auto offsets = offsetsOf(batchSizes);
    const int64_t N = T ? offsets.back() + batchSizes.back() : 0;
    const auto options = gx.options();
    LayerState s;
    s.out = torch::empty({N, 2 * H}, options);
    const int64_t rows = T ? batchSizes[0] : 0;
    const int64_t *rowIds = gxRows.defined() ? gxRows.data_ptr<int64_t>() : nullptr;
    const bool split = !directionsInParallel();
    forBothDirections([&](int dir) {
        const auto &whh = w[4 * dir + 1];
        const auto &bhh = w[4 * dir + 3];
        auto h = torch::zeros({rows, H}, options);
        auto gh = torch::empty({rows, 3 * H}, options);
        if (keep) {
            s.gates[dir] = torch::empty({N, 4 * H}, options);
            s.hprev[dir] = torch::empty({N, H}, options);
        }
        const float *gxp = gx.data_ptr<float>() + dir * 3 * H;
        float *outp = s.out.data_ptr<float>() + dir * H, *hp = h.data_ptr<float>(), *ghp = gh.data_ptr<float>();
        float *gatesp = keep ? s.gates[dir].data_ptr<float>() : nullptr;
        float *hprevp = keep ? s.hprev[dir].data_ptr<float>() : nullptr;
        for (int64_t step = 0; step < T; ++step) {
            // The reverse direction starts each text at its own last token: its row joins the prefix there,
            // with the zero state it has kept so far.
            const int64_t t = dir == 0 ? step : T - 1 - step;
            const int64_t n = batchSizes[t], off = offsets[t];
            auto ghView = gh.narrow(0, 0, n);
            at::addmm_out(ghView, bhh, h.narrow(0, 0, n), whh.t());
            overRows(n, split, [&](int64_t b, int64_t e) {
                const int64_t first = off + b;
                gru::stepForward(e - b, H, rowIds ? gxp : gxp + first * 6 * H, 6 * H, rowIds ? rowIds + first : nullptr,
                                 ghp + b * 3 * H, hp + b * H, outp + first * 2 * H, 2 * H,
                                 gatesp ? gatesp + first * 4 * H : nullptr, hprevp ? hprevp + first * H : nullptr);
            });
        }
    });
    return s;
}

// Both directions' input gates for every packed row in one matmul: [N, 6H].
torch::Tensor inputGates(const torch::Tensor &x, const std::vector<torch::Tensor> &w)
{
    return torch::addmm(torch::cat({w[2], w[6]}), x, torch::cat({w[0], w[4]}).t());
}

class BiGruFunction : public torch::autograd::Function<BiGruFunction> {
public:
    static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &x, const std::vector<int64_t> &batchSizes,
                                 const torch::Tensor &wihF, const torch::Tensor &whhF, const torch::Tensor &bihF,
                                 const torch::Tensor &bhhF, const torch::Tensor &wihB, const torch::Tensor &whhB,
                                 const torch::Tensor &bihB, const torch::Tensor &bhhB)
    {
        const std::vector<torch::Tensor> w = {wihF, whhF, bihF, bhhF, wihB, whhB, bihB, bhhB};
        auto s = runForward(inputGates(x, w), {}, batchSizes, w, true);
        ctx->save_for_backward({x, wihF, whhF, wihB, whhB});
        ctx->saved_data["batch_sizes"] = batchSizes;
        ctx->saved_data["gates0"] = s.gates[0];
        ctx->saved_data["gates1"] = s.gates[1];
        ctx->saved_data["hprev0"] = s.hprev[0];
        ctx->saved_data["hprev1"] = s.hprev[1];
        return s.out;
    }

    static variable_list backward(AutogradContext *ctx, variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const auto &x = saved[0];
        const torch::Tensor wih[2] = {saved[1], saved[3]}, whh[2] = {saved[2], saved[4]};
        const auto batchSizes = ctx->saved_data["batch_sizes"].toIntVector();
        const auto offsets = offsetsOf(batchSizes);
        const torch::Tensor gates[2] = {ctx->saved_data["gates0"].toTensor(), ctx->saved_data["gates1"].toTensor()};
        const torch::Tensor hprev[2] = {ctx->saved_data["hprev0"].toTensor(), ctx->saved_data["hprev1"].toTensor()};
        const auto dout = grads[0].contiguous();
        const int64_t H = whh[0].size(1), N = x.size(0), T = int64_t(batchSizes.size());
        const int64_t rows = T ? batchSizes[0] : 0;

        auto dgx = torch::empty({N, 6 * H}, x.options());
        torch::Tensor dwhh[2], dbhh[2];
        const bool split = !directionsInParallel();
        forBothDirections([&](int dir) {
            auto dgh = torch::empty({N, 3 * H}, x.options());
            auto dh = torch::zeros({rows, H}, x.options());
            const float *doutp = dout.data_ptr<float>() + dir * H;
            const float *gatesp = gates[dir].data_ptr<float>(), *hprevp = hprev[dir].data_ptr<float>();
            float *dhp = dh.data_ptr<float>(), *dgxp = dgx.data_ptr<float>() + dir * 3 * H,
                  *dghp = dgh.data_ptr<float>();
            for (int64_t step = 0; step < T; ++step) {
                // Steps in the opposite order of the forward pass; rows that were not running yet carry zero.
                const int64_t t = dir == 0 ? T - 1 - step : step;
                const int64_t n = batchSizes[t], off = offsets[t];
                overRows(n, split, [&](int64_t b, int64_t e) {
                    gru::stepBackward(e - b, H, doutp + (off + b) * 2 * H, 2 * H, dhp + b * H,
                                      gatesp + (off + b) * 4 * H, hprevp + (off + b) * H,
                                      dgxp + (off + b) * 6 * H, 6 * H, dghp + (off + b) * 3 * H);
                });
                dh.narrow(0, 0, n).addmm_(dgh.narrow(0, off, n), whh[dir]);
            }
            dwhh[dir] = torch::mm(dgh.t(), hprev[dir]);
            dbhh[dir] = dgh.sum(0);
        });
        const auto dwih = torch::mm(dgx.t(), x);  // [6H, D]
        const auto dbih = dgx.sum(0);
        const auto dx = torch::mm(dgx, torch::cat({wih[0], wih[1]}));
        return {dx,
                torch::Tensor(),
                dwih.narrow(0, 0, 3 * H),
                dwhh[0],
                dbih.narrow(0, 0, 3 * H),
                dbhh[0],
                dwih.narrow(0, 3 * H, 3 * H),
                dwhh[1],
                dbih.narrow(0, 3 * H, 3 * H),
                dbhh[1]};
    }
};

} // namespace

PackedRows packRows(const torch::Tensor &lengths, int64_t maxLength)
{
    const auto lens = lengths.to(torch::kCPU, torch::kLong).contiguous();
    const int64_t B = lens.size(0);
    const int64_t *l = lens.data_ptr<int64_t>();
    std::vector<int64_t> order(B);
    for (int64_t i = 0; i < B; ++i)
        order[i] = i;
    for (int64_t i = 0; i < B; ++i)
        TORCH_CHECK(l[i] >= 1 && l[i] <= maxLength, "text ", i, " of the batch has length ", l[i], ", not 1 to ",
                    maxLength, " tokens");
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return l[a] > l[b]; });
    PackedRows p;
    const int64_t longest = B ? l[order[0]] : 0;
    std::vector<int64_t> index;
    for (int64_t t = 0; t < longest; ++t) {
        int64_t n = 0;
        while (n < B && l[order[n]] > t)
            index.push_back(order[n++] * maxLength + t);
        p.batchSizes.push_back(n);
    }
    p.index = torch::tensor(index, torch::kLong).to(lengths.device());
    return p;
}

bool fusedGruApplies(const torch::Tensor &x)
{
    return x.device().is_cpu() && x.scalar_type() == torch::kFloat && !autocastActive();
}

torch::Tensor fusedBiGruLayer(const torch::Tensor &x, const std::vector<int64_t> &batchSizes,
                              const std::vector<torch::Tensor> &w)
{
    TORCH_CHECK(w.size() == 8, "fusedBiGruLayer: 8 weights");
    const auto xc = x.contiguous();
    const bool grad = torch::GradMode::is_enabled() &&
                      (xc.requires_grad() ||
                       std::any_of(w.begin(), w.end(), [](const torch::Tensor &t) { return t.requires_grad(); }));
    if (!grad)
        return runForward(inputGates(xc, w), {}, batchSizes, w, false).out;
    return BiGruFunction::apply(xc, batchSizes, w[0].contiguous(), w[1].contiguous(), w[2], w[3], w[4].contiguous(),
                                w[5].contiguous(), w[6], w[7]);
}

torch::Tensor FoldedInputGates::firstLayer(const torch::Tensor &tokens, const torch::Tensor &embedding,
                                           const std::vector<int64_t> &batchSizes,
                                           const std::vector<torch::Tensor> &w)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    // A weight that changed (an optimizer step, a loaded checkpoint) bumps its version: start the table again.
    std::vector<std::pair<const void *, int64_t>> stamp;
    for (const auto *t : {&embedding, &w[0], &w[2], &w[4], &w[6]})
        stamp.emplace_back(t->data_ptr(), t->_version());
    const int64_t vocab = embedding.size(0), H = w[1].size(1);
    if (stamp != m_stamp || !m_table.defined() || m_table.size(0) != vocab || m_table.size(1) != 6 * H) {
        m_table = torch::empty({vocab, 6 * H}, embedding.options());
        m_ready.assign(size_t(vocab), 0);
        m_stamp = stamp;
    }
    const auto ids = tokens.to(torch::kLong).contiguous();
    const int64_t *id = ids.data_ptr<int64_t>();
    // The embedding lookup this replaces would refuse an id outside the table; so must the table, before it
    // marks anything.
    for (int64_t i = 0; i < ids.numel(); ++i)
        TORCH_CHECK(id[i] >= 0 && id[i] < vocab, "token id ", id[i], " outside the embedding table of ", vocab, " rows");
    std::vector<int64_t> missing;
    for (int64_t i = 0; i < ids.numel(); ++i) {
        if (m_ready[size_t(id[i])] == 0) {
            m_ready[size_t(id[i])] = 2; // missing, listed once
            missing.push_back(id[i]);
        }
    }
    if (!missing.empty()) {
        // Rows become ready only once computed: a failure here leaves them to be computed next time.
        try {
            const auto rows = torch::tensor(missing, torch::kLong);
            m_table.index_copy_(0, rows, inputGates(embedding.index_select(0, rows), w));
        } catch (...) {
            for (const int64_t m : missing)
                m_ready[size_t(m)] = 0;
            throw;
        }
        for (const int64_t m : missing)
            m_ready[size_t(m)] = 1;
    }
    return runForward(m_table, ids, batchSizes, w, false).out;
}

void FoldedInputGates::release()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_table = torch::Tensor();
    m_ready.clear();
    m_stamp.clear();
}

bool FoldedInputGates::fits(int64_t vocab, int64_t hidden) { return vocab * 6 * hidden * 4 <= kMaxBytes; }

} // namespace lbk
