// bench_engine: Labbook's engine side by side with the PyTorch reference (reference/bench_reference.py, Debian's
// python3-torch 1.13.1: the same kernels), on the same data file, tokenizer, batch size and thread count.
// For each model it starts one child process per implementation (so peak memory is each one's own) and prints:
// tokenization examples/s; one training epoch end to end (read, parse, label, tokenize, batch, forward,
// backward, step) in examples/s; inference examples/s (texts to probabilities); peak RSS. Also the machine's
// fp32 matmul peak, the share of it the sequence models' training and inference reach, and the cost of recording
// a metrics event per step. Models: the bag, the sequence models (bidirectional GRU, Transformer) and the encoder
// (transformers' BERT layout, trained from scratch at BERT-mini's size; the reference: reference/hf_encoder.py).
// With the encoder it also times masked-language-model pre-training on both sides (mlmbench.h) in tokens/s.
// See docs/BENCHMARKS.md.
//
//   bench_engine [--data FILE.jsonl] [--limit N] [--threads T] [--batch B] [--models bag,gru,transformer,encoder]
//                [--precision fp32|bf16] [--python /usr/bin/python3] [--no-reference] [--skip-training]
//                [--no-dense] [--repeat R] [--mlm-steps S] [--mlm-batch B]
// --precision bf16: bfloat16 autocast around every forward pass on both sides (training.precision "bf16" and
// `lbk predict --precision bf16` in Labbook, torch.autocast in the reference);
// --skip-training: tokenization and inference only (on the initial weights: same cost), for large inputs;
// --no-dense: for the bag, leave out PyTorch's dense AdamW (very slow on every paper), keep SparseAdam;
// --repeat R: tokenization passes per side, each from scratch (a fresh word cache); the median is reported.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "data/dataset.h"
#include "engine/models.h"
#include "engine/optim.h"
#include "engine/threads.h"
#include "engine/tokenizer.h"
#include "mlmbench.h"
#include "protocol/journal.h"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

double peakRssMb()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}

struct Options {
    fs::path data;
    fs::path tokenizer;
    int64_t limit = 0;
    int threads = 2;
    int batch = 64;
    std::vector<std::string> models = {"bag", "gru", "transformer"};
    std::string python = "/usr/bin/python3";
    std::string precision = "fp32"; // or bf16: autocast around the forward pass, on both sides
    bool reference = true;
    bool training = true;
    bool dense = true;
    int repeat = 3;
    int mlmSteps = 40; // the encoder's MLM pre-training: timed steps
    int mlmBatch = 32; // and sequences of 128 per step
    std::string child; // model to run as a child process ("mlm": the encoder's MLM pre-training)
    fs::path work = fs::temp_directory_path() / "lbk-bench";
};

// The models both implementations build, as one JSON (also handed to the Python reference).
json modelConfig(const std::string &type, int vocab, int outputs)
{
    if (type == "bag")
        return {{"type", "bag"}, {"embedding_dim", 64}, {"ngrams", 2}, {"ngram_buckets", 2000000}, {"dropout", 0.2},
                {"vocab_rows", vocab}, {"outputs", outputs}, {"embedding_rows", vocab + 2000000}, {"max_tokens", 48},
                {"lr", 0.002}};
    if (type == "gru")
        return {{"type", "gru"}, {"embedding_dim", 128}, {"hidden", 128}, {"layers", 1}, {"pooling", "mean"},
                {"dropout", 0.1}, {"vocab_rows", vocab}, {"outputs", outputs}, {"max_tokens", 48}, {"lr", 0.002}};
    if (type == "encoder") // BERT's layout at BERT-mini's size (4 layers, hidden 256)
        return {{"type", "encoder"}, {"embedding_dim", 256}, {"hidden", 1024}, {"layers", 4}, {"heads", 4},
                {"pooling", "pooler"}, {"dropout", 0.1}, {"vocab_rows", vocab}, {"outputs", outputs},
                {"max_tokens", 48}, {"cls_id", -1}, {"lr", 0.0001}};
    return {{"type", "transformer"}, {"embedding_dim", 128}, {"hidden", 512}, {"layers", 2}, {"heads", 4},
            {"pooling", "mean"}, {"dropout", 0.1}, {"vocab_rows", vocab}, {"outputs", outputs}, {"max_tokens", 48},
            {"cls_id", -1}, {"lr", 0.001}};
}

lbk::ModelSpec specOf(const json &c)
{
    lbk::ModelSpec s;
    s.type = lbk::fromWord<lbk::ModelType>(c["type"].get<std::string>()).value_or(lbk::ModelType::Bag);
    s.embeddingDim = c["embedding_dim"];
    s.dropout = c["dropout"];
    if (s.type == lbk::ModelType::Bag) {
        s.ngrams = c["ngrams"];
        s.ngramBuckets = c["ngram_buckets"];
    } else {
        s.hidden = c["hidden"];
        s.layers = c["layers"];
        s.pooling = lbk::fromWord<lbk::Pooling>(c["pooling"].get<std::string>()).value();
        if (c.contains("heads"))
            s.heads = c["heads"];
    }
    return s;
}

// Training FLOPs of one transformer batch (forward matmuls x 3 for backward), over padded tokens as computed.
double transformerFlops(const json &c, int64_t batch, int64_t len)
{
    const double d = c["embedding_dim"], ff = c["hidden"], layers = c["layers"];
    const double tokens = double(batch) * double(len);
    const double perLayer = 2 * tokens * (4 * d * d + 2 * d * ff) + 2 * 2 * double(batch) * double(len) * len * d;
    return 3 * layers * perLayer;
}

// Training FLOPs of one GRU batch: both directions of every layer, input and recurrent matmuls, over the real
// tokens (both sides pack the batch), x 3 for backward. Labbook's scoring computes the recurrent half only
// (the first layer's input gates come from a per-token table, engine/fusedgru.h), but the share printed counts
// the same FLOPs for both sides, so that it compares speeds.
double gruFlops(const json &c, double tokens, bool firstInputGates = true)
{
    const double h = c["hidden"], d = c["embedding_dim"];
    double f = 0;
    for (int layer = 0; layer < c["layers"].get<int>(); ++layer)
        f += 2 * 2 * tokens * 3 * h * ((layer == 0 ? (firstInputGates ? d : 0) : 2 * h) + h);
    return 3 * f;
}

// The child: everything one implementation does, timed.
// The papers of --data (the first --limit), or nothing after saying why.
std::optional<std::vector<lbk::Paper>> readBenchPapers(const Options &o)
{
    lbk::DataSpec ds;
    ds.limit = o.limit;
    auto papers = lbk::readPapers(o.data, ds);
    if (!papers) {
        std::fprintf(stderr, "bench_engine: %s\n", papers.message().c_str());
        return std::nullopt;
    }
    return std::move(*papers);
}

int runChild(const Options &o)
{
    if (o.child == "mlm") {
        const json out = lbkbench::runMlmBench({o.data, o.tokenizer, o.limit, o.threads, o.mlmBatch, o.mlmSteps});
        std::printf("%s\n", out.dump().c_str());
        return out.contains("error") ? 1 : 0;
    }
    lbk::setComputeThreads(o.threads);
    json out = {{"impl", "labbook"}, {"model", o.child}, {"threads", o.threads}, {"batch", o.batch},
                {"precision", o.precision}};
    const bool bf16 = o.precision == "bf16";
    const auto t0 = Clock::now();
    auto papers = readBenchPapers(o);
    if (!papers)
        return 1;
    lbk::LabelSpec ls;
    ls.topN = 20;
    auto labels = lbk::buildLabels(*papers, ls);
    if (!labels)
        return 1;
    std::vector<std::string> texts(labels->paper.size());
    for (size_t i = 0; i < texts.size(); ++i)
        texts[i] = (*papers)[labels->paper[i]].title;
    const double tRead = since(t0);

    lbk::TokenizerSpec ts;
    ts.maxTokens = 48;
    auto tok = lbk::Tokenizer::load(o.tokenizer, ts);
    if (!tok)
        return 1;
    // Every pass starts from nothing (encodeAll makes fresh word caches): the cold cost, R times for the median.
    std::vector<std::vector<int>> tokens;
    std::vector<double> passes;
    for (int r = 0; r < std::max(1, o.repeat); ++r) {
        auto t1 = Clock::now();
        tokens = (*tok)->encodeAll(texts, o.threads);
        passes.push_back(since(t1));
    }
    const double tTokFirst = passes.front();
    std::sort(passes.begin(), passes.end());
    const double tTok = passes[passes.size() / 2];

    const int vocab = (*tok)->vocabSize();
    const int outputs = int(labels->labelNames.size());
    const json cfg = modelConfig(o.child, vocab, outputs);
    torch::manual_seed(1);
    const bool sparse = o.child == "bag";
    auto model = lbk::makeModel(specOf(cfg), vocab, outputs, 48, sparse);
    model->train();
    const auto spec = lbk::inputSpecFor(specOf(cfg), vocab, -1);
    lbk::OptimizerSpec os;
    os.lr = cfg["lr"];
    os.weightDecay = 0;
    torch::Tensor table;
    if (sparse)
        table = std::dynamic_pointer_cast<lbk::BagModelImpl>(model)->embeddingWeight();
    // The trainer's own optimizer; none without training, as in PyTorch (whose AdamW allocates at step 1).
    std::unique_ptr<lbk::TrainerOptimizer> opt;
    if (o.training)
        opt = lbk::makeOptimizer(*model, nullptr, table, os, os.lr);

    // One epoch in a shuffled order, as the trainer runs it.
    const size_t n = tokens.size();
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(7);
    std::shuffle(order.begin(), order.end(), rng);
    double flops = 0, lossSum = 0;
    int64_t steps = 0;
    auto t2 = Clock::now();
    for (size_t b = 0; o.training && b < n; b += size_t(o.batch)) {
        const size_t e = std::min(n, b + size_t(o.batch));
        std::vector<const std::vector<int> *> part;
        std::vector<int64_t> y;
        for (size_t i = b; i < e; ++i) {
            part.push_back(&tokens[order[i]]);
            y.push_back(labels->labels[order[i]][0]);
        }
        lbk::Batch batch = lbk::makeInputs(part, spec, torch::kCPU);
        auto target = torch::tensor(y);
        opt->zero_grad();
        torch::Tensor logits;
        {
            lbk::AutocastGuard autocast(bf16, /*cuda=*/false); // as the trainer's forward (Worker::trainingLoss)
            logits = model->forward(batch).to(torch::kFloat);
        }
        auto loss = torch::nn::functional::cross_entropy(logits, target);
        loss.backward();
        if (sparse && table.grad().defined())
            table.mutable_grad() = table.grad().coalesce();
        opt->step();
        lossSum += loss.item<double>();
        if (o.child == "transformer" || o.child == "encoder")
            flops += transformerFlops(cfg, int64_t(e - b), batch.tokens.size(1));
        else if (o.child == "gru")
            flops += gruFlops(cfg, batch.lengths.sum().item<double>());
        ++steps;
    }
    const double tTrain = since(t2);

    // Inference: texts to probabilities (tokenize, batch, forward, softmax), batches of 512. One small batch
    // first, untimed: LibTorch's one-time set-up belongs to neither figure (training has paid it, unless skipped).
    model->eval();
    {
        torch::NoGradGuard noGrad;
        std::vector<const std::vector<int> *> few;
        for (size_t i = 0; i < std::min<size_t>(n, 8); ++i)
            few.push_back(&tokens[i]);
        lbk::AutocastGuard autocast(bf16, /*cuda=*/false);
        if (!few.empty())
            model->forward(lbk::makeInputs(few, spec, torch::kCPU));
    }
    double inferFlops = 0, computedFlops = 0;
    // Scoring in fp32 on the CPU, the GRU's first layer takes its input gates from a per-token table
    // (engine/fusedgru.h) and computes only the recurrent matmuls: what it computes, next to the model's FLOPs.
    auto *gru = dynamic_cast<lbk::GruModelImpl *>(model.get());
    auto t3 = Clock::now();
    {
        torch::NoGradGuard noGrad;
        const auto again = (*tok)->encodeAll(texts, o.threads);
        // As `lbk predict` and `lbk eval` score: batches of 512 taken in order of length (scoreInBatches).
        std::vector<const std::vector<int> *> all(n);
        for (size_t i = 0; i < n; ++i)
            all[i] = &again[i];
        const size_t width = size_t(model->forward(lbk::makeInputs({all.front()}, spec, torch::kCPU)).size(1));
        const auto probs = lbk::scoreInBatches(all, 512, width, [&](const std::vector<const std::vector<int> *> &part) {
            const lbk::Batch in = lbk::makeInputs(part, spec, torch::kCPU);
            torch::Tensor logits;
            bool folds = false;
            {
                lbk::AutocastGuard autocast(bf16, /*cuda=*/false); // as `lbk predict --precision bf16`
                folds = gru && gru->foldsFirstLayer();
                logits = model->forward(in).to(torch::kFloat);
            }
            if (o.child == "transformer" || o.child == "encoder") // forward only: a third of transformerFlops
                inferFlops += transformerFlops(cfg, int64_t(part.size()), in.tokens.size(1)) / 3;
            else if (o.child == "gru") {
                const double tokens = in.lengths.sum().item<double>();
                inferFlops += gruFlops(cfg, tokens) / 3;
                computedFlops += gruFlops(cfg, tokens, !folds) / 3;
            }
            auto p = torch::softmax(logits, 1).contiguous();
            return std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
        });
        double checksum = 0;
        for (size_t i = 0; i < n; ++i)
            checksum += probs[i * width];
        out["inference_checksum"] = checksum;
    }
    const double tInfer = since(t3);

    // Cost of recording a metrics event every step, against this model's mean step time.
    double emitUs = 0;
    {
        const fs::path j = o.work / ("journal-" + o.child + ".jsonl");
        auto w = lbk::JournalWriter::open(j);
        const int k = 5000;
        auto t = Clock::now();
        for (int s = 1; s <= k; ++s)
            (*w)->emit("metrics", {{"step", s},
                                   {"values", {{"train/loss", 1.0 / s}, {"lr", 0.001}, {"epoch", s / 1e3},
                                               {"train/examples_per_s", 1234.5}}}});
        emitUs = since(t) / k * 1e6;
        std::error_code ec;
        fs::remove(j, ec);
    }
    out["examples"] = n;
    out["steps"] = steps;
    out["seconds"] = {{"read", tRead}, {"tokenize", tTok}, {"train", tTrain}, {"inference", tInfer}};
    out["tokenize_per_s"] = double(n) / tTok;
    out["inference_per_s"] = double(n) / tInfer;
    out["record_us"] = emitUs;
    if (steps > 0) {
        out["train_e2e_per_s"] = double(n) / (tRead + tTokFirst + tTrain);
        out["train_loop_per_s"] = double(n) / tTrain;
        out["step_ms"] = tTrain / double(steps) * 1e3;
        out["mean_loss"] = lossSum / double(steps);
        out["record_share"] = emitUs * 1e-3 / (tTrain / double(steps) * 1e3);
    }
    if (flops > 0)
        out["train_gflops"] = flops / tTrain / 1e9;
    if (inferFlops > 0)
        out["infer_gflops"] = inferFlops / tInfer / 1e9;
    if (computedFlops > 0 && computedFlops < inferFlops)
        out["infer_computed_gflops"] = computedFlops / tInfer / 1e9;
    out["peak_rss_mb"] = peakRssMb();
    std::printf("%s\n", out.dump().c_str());
    return 0;
}

double matmulPeak(int threads, const std::string &precision)
{
    lbk::setComputeThreads(threads);
    const int64_t n = 2048;
    const auto type = precision == "bf16" ? torch::kBFloat16 : torch::kFloat;
    auto a = torch::randn({n, n}).to(type), b = torch::randn({n, n}).to(type);
    auto c = torch::mm(a, b); // warm-up
    double best = 0;
    for (int r = 0; r < 5; ++r) {
        auto t = Clock::now();
        c = torch::mm(a, b);
        best = std::max(best, 2.0 * n * n * n / since(t) / 1e9);
    }
    return best;
}

json runProcess(const std::string &cmd)
{
    std::FILE *p = ::popen(cmd.c_str(), "r");
    if (!p)
        return json();
    std::string text;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p))
        text += buf;
    const int rc = ::pclose(p);
    // The figures are the last line that is a JSON object.
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    const auto nl = text.rfind('\n');
    const std::string last = nl == std::string::npos ? text : text.substr(nl + 1);
    json j = json::parse(last, nullptr, false);
    if (rc != 0 || j.is_discarded() || !j.is_object()) {
        std::fprintf(stderr, "bench_engine: `%s` failed (%d)\n%s\n", cmd.c_str(), rc, text.c_str());
        return json::object();
    }
    return j;
}

std::string fmt(const json &v, const char *f = "%.0f")
{
    if (!v.is_number())
        return "-";
    char b[64];
    std::snprintf(b, sizeof b, f, v.get<double>());
    return b;
}

std::string ratio(const json &a, const json &b, bool lowerIsBetter = false)
{
    if (!a.is_number() || !b.is_number() || b.get<double>() == 0)
        return "-";
    char buf[32];
    const double r = lowerIsBetter ? b.get<double>() / a.get<double>() : a.get<double>() / b.get<double>();
    std::snprintf(buf, sizeof buf, "%.2fx", r);
    return buf;
}

// The encoder's MLM pre-training, Labbook against the PyTorch reference (mlmbench.h).
void printMlm(const Options &o, const std::string &self)
{
    const std::string args = " --data '" + o.data.string() + "' --tokenizer '" + o.tokenizer.string() +
                             "' --threads " + std::to_string(o.threads) +
                             (o.limit ? " --limit " + std::to_string(o.limit) : std::string());
    const json lb = runProcess("'" + self + "' --child mlm --mlm-steps " + std::to_string(o.mlmSteps) +
                               " --mlm-batch " + std::to_string(o.mlmBatch) + args);
    json py = json::object();
    if (o.reference)
        py = runProcess("OPENBLAS_NUM_THREADS=" + std::to_string(o.threads) + " " + o.python + " '" +
                        std::string(LABBOOK_SOURCE_DIR) + "/reference/bench_mlm_reference.py' --steps " +
                        std::to_string(o.mlmSteps) + " --batch " + std::to_string(o.mlmBatch) + args);
    std::printf("== encoder, MLM pre-training (BertForMaskedLM, %s sequences of 128 from the abstracts, batch %d, "
                "%d timed steps) ==\n",
                fmt(lb.value("sequences", json())).c_str(), o.mlmBatch, o.mlmSteps);
    std::printf("%-34s %14s %20s %9s\n", "", "Labbook (C++)", "PyTorch (Py)", "ratio");
    auto row = [&](const char *name, const char *key, const char *f, bool lower = false) {
        std::printf("%-34s %14s %20s %9s\n", name, fmt(lb.value(key, json()), f).c_str(),
                    fmt(py.value(key, json()), f).c_str(),
                    ratio(lb.value(key, json()), py.value(key, json()), lower).c_str());
    };
    row("training (tokens/s)", "train_tokens_per_s", "%.0f");
    row("  mean step (ms)", "step_ms", "%.1f", true);
    row("peak memory (MB RSS)", "peak_rss_mb", "%.0f", true);
    row("mean masked-token loss", "mean_loss", "%.3f", true);
    std::printf("\n");
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    Options o;
    std::string self = argv[0];
    CLI::App app{"bench_engine: Labbook's engine against the PyTorch reference (docs/BENCHMARKS.md)"};
    app.add_option("--data", o.data, "JSON lines file (default: the arXiv dump, decompressed once)");
    app.add_option("--tokenizer", o.tokenizer, "Sentencepiece model (children only)");
    app.add_option("--limit", o.limit, "Read only the first N papers (0: all)")->capture_default_str();
    app.add_option("--threads", o.threads, "Threads on both sides, BLAS included")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 30));
    app.add_option("--batch", o.batch, "Training batch size")->capture_default_str()->check(CLI::Range(1, 1 << 30));
    app.add_option("--models", o.models, "Models to run")
        ->delimiter(',')
        ->check(CLI::IsMember({"bag", "gru", "transformer", "encoder"}))
        ->capture_default_str();
    app.add_option("--precision", o.precision,
                   "fp32, or bf16: bfloat16 autocast around the forward pass on both sides (the trainer's "
                   "training.precision; torch.autocast in the reference)")
        ->check(CLI::IsMember({"fp32", "bf16"}))
        ->capture_default_str();
    app.add_option("--python", o.python, "Python with python3-torch")->capture_default_str();
    app.add_flag("!--no-reference", o.reference, "Leave out the PyTorch reference");
    app.add_flag("!--skip-training", o.training, "Tokenization and inference only (on the initial weights)");
    app.add_flag("!--no-dense", o.dense, "Bag: leave out PyTorch's dense AdamW (very slow on every paper)");
    app.add_option("--repeat", o.repeat, "Tokenization passes per side (median reported)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 30));
    app.add_option("--mlm-steps", o.mlmSteps, "Encoder: timed steps of MLM pre-training")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 30));
    app.add_option("--mlm-batch", o.mlmBatch, "Encoder: sequences of 128 per MLM step")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 30));
    app.add_option("--child", o.child, "Internal: run one model's Labbook side and print its figures as JSON");
    app.add_option("--work", o.work, "Scratch folder (decompressed data, tokenizers)")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    fs::create_directories(o.work);
    if (!o.child.empty()) {
        try {
            return runChild(o);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "bench_engine: %s\n", e.what());
            return 1;
        }
    }

    // Shared inputs: a plain JSON lines file (the arXiv dump, decompressed once) and one tokenizer.
    if (o.data.empty()) {
        o.data = o.work / "arxiv-dev.jsonl";
        if (!fs::exists(o.data)) {
            const auto src = lbk::resolveDataPath("arxiv/arxiv-dev.jsonl.zst");
            const std::string cmd = "zstd -dc '" + src.string() + "' > '" + o.data.string() + "'";
            if (std::system(cmd.c_str()) != 0) {
                std::fprintf(stderr, "bench_engine: cannot decompress %s (is zstd installed?)\n", src.c_str());
                return 1;
            }
        }
    }
    auto papers = readBenchPapers(o);
    if (!papers)
        return 1;
    std::vector<std::string> titles;
    for (const auto &p : *papers)
        titles.push_back(p.title);
    lbk::TokenizerSpec ts;
    ts.vocabSize = 16000;
    ts.maxTokens = 48;
    auto tok = lbk::Tokenizer::trainOrLoad(titles, ts, o.work / "tokenizers", o.threads);
    if (!tok) {
        std::fprintf(stderr, "bench_engine: %s\n", tok.message().c_str());
        return 1;
    }
    o.tokenizer = (*tok)->modelPath();
    // The word cache must give exactly sentencepiece's ids on this data.
    int64_t mismatches = 0;
    lbk::WordCache cache;
    for (const auto &t : titles)
        mismatches += (*tok)->encode(t, &cache) != (*tok)->encodeUncached(t);
    const auto &cs = cache.stats();

    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    std::printf("bench_engine: %s, %zu papers from %s, %d threads, batch %d, %s, LibTorch %s\n", host,
                papers->size(), o.data.c_str(), o.threads, o.batch, o.precision.c_str(), TORCH_VERSION);
    std::printf("tokenizer: %s\n", o.tokenizer.c_str());
    std::printf("word cache check: %lld of %zu titles differ from whole-text sentencepiece ids\n",
                static_cast<long long>(mismatches), titles.size());
    std::printf("word cache: %lld words looked up, %lld distinct; %lld of %lld titles (%.3f%%) encoded whole by "
                "sentencepiece (a word too near a tie)\n",
                static_cast<long long>(cs.lookups), static_cast<long long>(cs.misses),
                static_cast<long long>(cs.wholeTexts), static_cast<long long>(cs.texts),
                100.0 * double(cs.wholeTexts) / double(std::max<int64_t>(1, cs.texts)));
    const double peak = matmulPeak(o.threads, o.precision);
    std::printf("matmul peak (%s 2048x2048, best of 5, %d threads, BLAS threads %d): %.1f GFLOP/s\n\n",
                o.precision.c_str(), o.threads, lbk::blasThreads(), peak);
    std::fflush(stdout);

    const std::string common = " --data '" + o.data.string() + "' --tokenizer '" + o.tokenizer.string() +
                               "' --threads " + std::to_string(o.threads) + " --batch " + std::to_string(o.batch) +
                               " --repeat " + std::to_string(o.repeat) + " --precision " + o.precision +
                               (o.limit ? " --limit " + std::to_string(o.limit) : std::string()) +
                               (o.training ? "" : " --skip-training") + " --work '" + o.work.string() + "'";
    for (const auto &m : o.models) {
        const json lb = runProcess("'" + self + "' --child " + m + common);
        // The PyTorch columns: dense AdamW (PyTorch's default), and for the bag also sparse gradients with
        // SparseAdam; without training both would only repeat the same tokenization and inference.
        std::vector<std::pair<std::string, json>> refs;
        if (o.reference) {
            // torch.set_num_threads does not reach OpenBLAS's own threads; its environment variable does.
            const std::string ref = "OPENBLAS_NUM_THREADS=" + std::to_string(o.threads) + " " + o.python + " '" +
                                    std::string(LABBOOK_SOURCE_DIR) + "/reference/bench_reference.py'";
            if (m != "bag" || o.dense || !o.training)
                refs.emplace_back("PyTorch (Py)", runProcess(ref + " --model " + m + common));
            if (m == "bag" && o.training)
                refs.emplace_back("Py sparse+SparseAdam", runProcess(ref + " --model " + m + " --sparse" + common));
        }
        std::printf("== %s ==\n", m.c_str());
        std::printf("%-34s %14s", "", "Labbook (C++)");
        for (const auto &[name, r] : refs)
            std::printf(" %20s %9s", name.c_str(), "ratio");
        std::printf("\n");
        auto row = [&](const char *name, const char *key, const char *f, bool lower = false) {
            std::printf("%-34s %14s", name, fmt(lb.value(key, json()), f).c_str());
            for (const auto &[refName, r] : refs)
                std::printf(" %20s %9s", fmt(r.value(key, json()), f).c_str(),
                            ratio(lb.value(key, json()), r.value(key, json()), lower).c_str());
            std::printf("\n");
        };
        row("tokenization (examples/s)", "tokenize_per_s", "%.0f");
        if (o.training) {
            row("training, 1 epoch e2e (examples/s)", "train_e2e_per_s", "%.0f");
            row("  of which train loop (examples/s)", "train_loop_per_s", "%.0f");
            row("  mean step (ms)", "step_ms", "%.2f", true);
        }
        row("inference, texts->probs (ex/s)", "inference_per_s", "%.0f");
        row("peak memory (MB RSS)", "peak_rss_mb", "%.0f", true);
        if (o.training)
            row("mean training loss, epoch 1", "mean_loss", "%.3f");
        const json py = refs.empty() ? json::object() : refs.front().second;
        // The sequence model's matmul FLOPs per second against the peak: the Transformer's over padded tokens, as
        // both sides compute them; the GRU's over real tokens (gruFlops).
        auto share = [&](const char *what, const char *key) {
            if (!lb.contains(key))
                return;
            std::printf("sequence model %s, model FLOPs: %.1f GFLOP/s = %.1f%% of the matmul peak (Labbook)", what,
                        lb[key].get<double>(), 100 * lb[key].get<double>() / peak);
            if (py.contains(key))
                std::printf(", %.1f GFLOP/s = %.1f%% (PyTorch)", py[key].get<double>(),
                            100 * py[key].get<double>() / peak);
            std::printf("\n");
        };
        share("training", "train_gflops");
        share("inference", "infer_gflops");
        if (lb.contains("infer_computed_gflops"))
            std::printf("  Labbook's GRU scoring computes fewer FLOPs than the model has (the first layer's input gates "
                        "come from a per-token table), so more model FLOPs than the peak can be; FLOPs computed: "
                        "%.1f GFLOP/s = %.1f%% of the matmul peak\n",
                        lb["infer_computed_gflops"].get<double>(), 100 * lb["infer_computed_gflops"].get<double>() / peak);
        if (lb.contains("record_share"))
            std::printf("recording a metrics event every step: %.1f us = %.3f%% of a %.2f ms step\n",
                        lb["record_us"].get<double>(), 100 * lb["record_share"].get<double>(),
                        lb["step_ms"].get<double>());
        std::printf("\n");
        std::fflush(stdout);
        if (m == "encoder" && o.training)
            printMlm(o, self);
    }
    return 0;
}
