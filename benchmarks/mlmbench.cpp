#include "mlmbench.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <numeric>
#include <random>
#include <sys/resource.h>

#include <torch/torch.h>

#include "data/dataset.h"
#include "data/packing.h"
#include "engine/encoder.h"
#include "engine/mlm.h"
#include "engine/models.h"
#include "engine/optim.h"
#include "engine/threads.h"
#include "engine/tokenizer.h"

namespace lbkbench {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double since(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// Batch `b` of the shuffled sequences as ids [B, L] and lengths [B].
std::pair<torch::Tensor, torch::Tensor> batchAt(const lbk::PackedSequences &packed, const std::vector<size_t> &order,
                                                size_t b, size_t batch, int pad)
{
    const size_t begin = (b * batch) % order.size();
    auto ids = torch::full({int64_t(batch), int64_t(packed.window())}, int64_t(pad), torch::kLong);
    auto lengths = torch::empty({int64_t(batch)}, torch::kLong);
    auto a = ids.accessor<int64_t, 2>();
    for (size_t r = 0; r < batch; ++r) {
        const size_t s = order[(begin + r) % order.size()];
        for (int k = 0; k < packed.length(s); ++k)
            a[int64_t(r)][k] = packed.begin(s)[k];
        lengths[int64_t(r)] = packed.length(s);
    }
    return {ids, lengths};
}

} // namespace

json runMlmBench(const MlmBenchOptions &o)
{
    lbk::setComputeThreads(o.threads);
    lbk::DataSpec ds;
    ds.limit = o.limit;
    auto papers = lbk::readPapers(o.data, ds);
    if (!papers)
        return {{"error", papers.message()}};
    std::vector<std::string> abstracts;
    for (const auto &p : *papers)
        abstracts.push_back(p.abstract);
    lbk::TokenizerSpec ts;
    ts.maxTokens = std::numeric_limits<int>::max() / 2; // documents whole: the packing makes the sequences
    auto tok = lbk::Tokenizer::load(o.tokenizer, ts);
    if (!tok)
        return {{"error", tok.message()}};
    const auto special = lbk::mlmSpecialIds((*tok)->vocabSize());
    lbk::PackingOptions po;
    po.window = 128;
    po.cls = special.cls;
    po.sep = special.sep;
    const auto packed = lbk::packSequences((*tok)->encodeAll(abstracts, o.threads), po);

    lbk::ModelSpec spec;
    spec.type = lbk::ModelType::Encoder;
    spec.embeddingDim = 256;
    spec.hidden = 1024;
    spec.layers = 4;
    spec.heads = 4;
    spec.dropout = 0.1;
    torch::manual_seed(1);
    auto model = lbk::EncoderMaskedLM(lbk::scratchEncoderConfig(spec, special.rows, 128));
    model->train();
    lbk::OptimizerSpec os;
    os.lr = 1e-4;
    os.weightDecay = 0.01;
    auto opt = lbk::makeOptimizer(*model, lbk::mlmParamGroup, {}, os, os.lr);

    std::vector<size_t> order(packed.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::mt19937_64 rng(7);
    std::shuffle(order.begin(), order.end(), rng);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
    const lbk::MaskingOptions mo{0.15, special.mask, special.rows};
    double lossSum = 0, seconds = 0;
    int64_t tokens = 0;
    const int warmup = 3;
    for (int step = 0; step < warmup + o.steps; ++step) {
        const auto t = Clock::now();
        const auto [ids, lengths] = batchAt(packed, order, size_t(step), size_t(o.batch), special.pad);
        const auto m = lbk::maskTokens(ids, lbk::mlmMaskable(ids, special), mo, gen);
        opt->zero_grad();
        const auto [logits, labels] = model->maskedLogits(m.inputs, lengths, m.labels);
        const auto loss = torch::nn::functional::cross_entropy(logits, labels);
        loss.backward();
        opt->step();
        const double value = loss.item<double>();
        if (step < warmup)
            continue;
        seconds += since(t);
        lossSum += value;
        tokens += lengths.sum().item<int64_t>();
    }
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return {{"impl", "labbook"},
            {"sequences", packed.size()},
            {"steps", o.steps},
            {"train_tokens_per_s", double(tokens) / seconds},
            {"step_ms", seconds / o.steps * 1e3},
            {"mean_loss", lossSum / o.steps},
            {"peak_rss_mb", double(u.ru_maxrss) / 1024.0}};
}

} // namespace lbkbench
