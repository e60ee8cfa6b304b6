// The worker: prepares data, trains, evaluates, checkpoints and runs the LR range test, reporting every figure
// as a journal event. One translation unit on purpose: each file that includes LibTorch costs ~30 s to build.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <thread>
#include <csignal>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <torch/torch.h>

#include "data/dataset.h"
#include "engine/distributed.h"
#include "engine/engine.h"
#include "engine/evaluation.h"
#include "engine/models.h"
#include "engine/optim.h"
#include "engine/threads.h"
#include "engine/tokenizer.h"
#include "experiment/schema.h"
#include "metrics/metrics.h"
#include "protocol/journal.h"
#include "train/lrfinder.h"
#include "train/schedule.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
std::atomic<bool> g_cancel{false};

std::string hostName()
{
    char buf[256] = {0};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
}

// LABBOOK_INJECT_NAN_STEP=N makes the loss of step N NaN, so tests can prove a diverging run fails cleanly.
int64_t injectNanAtStep()
{
    static const int64_t step = [] {
        const char *v = std::getenv("LABBOOK_INJECT_NAN_STEP");
        return v ? std::atoll(v) : int64_t(-1);
    }();
    return step;
}

// A permutation that is the same on every machine and standard library: Fisher-Yates driven by mt19937_64,
// whose output the C++ standard fixes (std::shuffle's algorithm is not fixed).
std::vector<size_t> permutation(size_t n, uint64_t seed)
{
    std::vector<size_t> p(n);
    std::iota(p.begin(), p.end(), 0);
    std::mt19937_64 rng(seed);
    for (size_t i = n; i > 1; --i)
        std::swap(p[i - 1], p[size_t(rng() % i)]);
    return p;
}

struct Prepared {
    Experiment exp;
    fs::path dataFile;
    ReadReport report;
    std::vector<Paper> papers;
    LabeledData data;
    DataSplit split;
    std::unique_ptr<Tokenizer> tokenizer;
    bool tokenizerFromCache = false;
    std::vector<std::vector<int>> tokens; // per example
    int vocab = 0;   // embedding rows for tokens (tokenizer pieces, plus one for CLS when used)
    int clsId = -1;
    int outputs = 0;
};

class Worker {
public:
    explicit Worker(WorkerOptions options) : m_opt(std::move(options)), m_device(torch::kCPU) {}
    int run();

private:
    Result<Unit> prepare();
    Batch makeBatch(const std::vector<size_t> &examples, size_t begin, size_t end) const;
    torch::Tensor lossOf(const torch::Tensor &logits, const Batch &batch, bool smoothing) const;
    std::unique_ptr<TrainerOptimizer> makeOptimizer(double lr) const;
    torch::Tensor forwardLogits(const Batch &batch);
    // The training loss of a batch: with an ensemble, the sum of its members' losses (each member's gradient is
    // its own loss's); value() is their mean, the logged train/loss, on a single model's scale.
    struct TrainingLoss {
        torch::Tensor sum;
        size_t terms = 1;
        double value() const { return sum.item<double>() / double(terms); }
    };
    TrainingLoss trainingLoss(const Batch &batch);
    EvalOutput evaluate(const std::vector<size_t> &examples);
    void report(const std::vector<size_t> &examples, const EvalOutput &out, int64_t step, const std::string &split);
    // opt null: the weights and counters only (the best checkpoint, which is only ever scored, never resumed).
    void saveCheckpoint(const fs::path &file, TrainerOptimizer *opt, int64_t step, double best, int badEvals);
    bool loadCheckpoint(const fs::path &file, TrainerOptimizer *opt, int64_t *step, double *best, int *badEvals);
    bool readCheckpoint(const fs::path &file, TrainerOptimizer *opt, int64_t *step, double *best, int *badEvals);
    void createModel();
    int train();
    int lrFind();
    int fail(const std::string &reason);
    // What the mean loss over examples[begin, end) divides by: their number, or the sum of their class weights.
    double lossWeight(const std::vector<size_t> &examples, size_t begin, size_t end) const
    {
        if (m_p.data.kind != TaskKind::MultiClass || m_classWeightsHost.empty())
            return double(end - begin);
        double w = 0;
        for (size_t i = begin; i < end; ++i)
            w += m_classWeightsHost[size_t(m_p.data.labels[examples[i]][0])];
        return w;
    }
    // Only rank 0 reports: the other processes of a data-parallel run have no journal.
    void emit(const std::string &type, const json &fields)
    {
        if (m_journal)
            m_journal->emit(type, fields);
    }
    void log(const std::string &level, const std::string &message) { emit("log", {{"level", level}, {"message", message}}); }
    Result<Unit> loadExperiment();
    Status joinProcesses();
    Status spawnPeers(const fs::path &rendezvous);
    void reapPeers(bool success);
    Status awaitPeers();
    int runStages();
    std::string deadPeer(std::chrono::milliseconds grace);
    // An error of a run with several processes says which rank saw it, and, when one of the ranks this process
    // started has died (its death surfaces here as a collective's connection error), which and how.
    int failWithPeers(const std::string &error)
    {
        if (!m_dist)
            return fail(error);
        const std::string dead = deadPeer(std::chrono::milliseconds(500));
        const std::string where = "training process " + std::to_string(m_rank) + " of " + std::to_string(m_world) +
                                  " (" + m_dist->backend() + ")";
        if (!dead.empty())
            return fail(dead + " at step " + std::to_string(m_step) + "; " + where + " stopped: " + error);
        return fail(where + ": " + error);
    }
    json runStartedFields(const std::string &kind, int64_t totalSteps, int64_t resumedFrom) const;

    WorkerOptions m_opt;
    std::unique_ptr<JournalWriter> m_journal;
    Prepared m_p;
    torch::Device m_device;
    std::shared_ptr<ClassifierImpl> m_model;
    torch::Tensor m_classWeights; // multiclass weights, or pos_weight for binary/multilabel (undefined: none)
    std::vector<float> m_classWeightsHost;
    InputSpec m_inputs;
    bool m_sparse = false;  // the bag model's table has row-sparse gradients and its own lazy AdamW
    bool m_bf16 = false;    // autocast to bfloat16 (training.precision)
    std::string m_precision = "fp32";
    int64_t m_step = 0;
    int m_rank = 0, m_world = 1; // data-parallel processes (training.processes)
    std::unique_ptr<Collective> m_dist;
    std::vector<pid_t> m_peers; // ranks 1.. started by this process (rank 0 outside Slurm)
    fs::path m_rendezvous;
};

int Worker::fail(const std::string &reason)
{
    emit("failed", {{"step", m_step}, {"reason", reason}});
    if (m_world > 1)
        std::fprintf(stderr, "lbk worker (rank %d of %d): %s\n", m_rank, m_world, reason.c_str());
    else
        std::fprintf(stderr, "lbk worker: %s\n", reason.c_str());
    return kWorkerFailed;
}

Result<Unit> Worker::loadExperiment()
{
    auto cfg = readJsonFile(m_opt.runDir / "experiment.json");
    if (!cfg)
        return cfg.error();
    auto exp = experimentFromRecorded(*cfg);
    if (!exp)
        return Error{(m_opt.runDir / "experiment.json").string() + ": " + exp.message()};
    m_p.exp = std::move(*exp);
    return Unit{};
}

Result<Unit> Worker::prepare()
{
    const Experiment &e = m_p.exp;

    m_p.dataFile = resolveDataPath(e.data.path, m_opt.dataRoot);
    log("info", "reading " + m_p.dataFile.string());
    auto papers = readPapers(m_p.dataFile, e.data, &m_p.report);
    if (!papers)
        return papers.error();
    m_p.papers = std::move(*papers);
    if (m_p.report.bad > 0) {
        std::string msg = std::to_string(m_p.report.bad) + " of " + std::to_string(m_p.report.lines) +
                          " lines of " + m_p.dataFile.string() + " could not be read and were skipped";
        for (const auto &err : m_p.report.firstErrors)
            msg += "\n  " + err;
        log("warning", msg);
    }
    auto data = buildLabels(m_p.papers, e.labels, m_p.dataFile.string());
    if (!data)
        return data.error();
    m_p.data = std::move(*data);
    auto split = splitData(m_p.data, m_p.papers, e.split);
    if (!split)
        return split.error();
    m_p.split = std::move(*split);
    for (size_t c = 0; c < m_p.data.labelNames.size(); ++c)
        if (m_p.data.labelCounts[c] == 0)
            return Error{"labels: the class '" + m_p.data.labelNames[c] + "' has no examples in " +
                         m_p.dataFile.string()};
    if (m_p.split.train.empty())
        return Error{"split: the training split is empty; raise split.train or use more data"};

    const int threads = std::max(1, threadCount(e.training.threads) / m_world);
    std::vector<std::string> texts(m_p.data.paper.size());
    for (size_t i = 0; i < texts.size(); ++i)
        texts[i] = paperText(m_p.papers[m_p.data.paper[i]], e.data.text);
    const fs::path runTokenizer = m_opt.runDir / "tokenizer.model";
    // Resuming, or a further rank of a data-parallel run (rank 0 has trained or loaded it already).
    if ((m_opt.resume || m_rank > 0) && fs::exists(runTokenizer)) {
        auto tok = Tokenizer::load(runTokenizer, e.tokenizer);
        if (!tok)
            return tok.error();
        m_p.tokenizer = std::move(*tok);
        m_p.tokenizerFromCache = true;
    } else {
        std::vector<std::string> trainTexts;
        trainTexts.reserve(m_p.split.train.size());
        for (size_t i : m_p.split.train)
            trainTexts.push_back(texts[i]);
        const fs::path cache = m_opt.cacheDir.empty() ? Tokenizer::defaultCacheDir() : m_opt.cacheDir;
        auto tok = Tokenizer::trainOrLoad(trainTexts, e.tokenizer, cache, threads, &m_p.tokenizerFromCache);
        if (!tok)
            return tok.error();
        m_p.tokenizer = std::move(*tok);
        std::error_code ec;
        fs::copy_file(m_p.tokenizer->modelPath(), runTokenizer, fs::copy_options::overwrite_existing, ec);
        if (ec)
            return Error{runTokenizer.string() + ": cannot copy the tokenizer into the run folder: " + ec.message()};
    }
    m_p.tokens = m_p.tokenizer->encodeAll(texts, threads);
    m_p.vocab = m_p.tokenizer->vocabSize();
    if (e.model.type == "transformer" && e.model.pooling == "cls")
        m_p.clsId = m_p.vocab++;
    m_p.outputs = m_p.data.kind == TaskKind::Binary ? 1 : int(m_p.data.labelNames.size());

    if (m_rank == 0) {
        std::ofstream labels(m_opt.runDir / "labels.json");
        labels << json(m_p.data.labelNames).dump(2) << '\n';
    }
    return Unit{};
}

json Worker::runStartedFields(const std::string &kind, int64_t totalSteps, int64_t resumedFrom) const
{
    const Experiment &e = m_p.exp;
    json labels = json::array();
    for (size_t c = 0; c < m_p.data.labelNames.size(); ++c)
        labels.push_back({{"label", m_p.data.labelNames[c]}, {"count", m_p.data.labelCounts[c]}});
    json f = {{"run", m_opt.runUid},
              {"kind", kind},
              {"config", e.config},
              {"host", hostName()},
              {"pid", int64_t(::getpid())},
              {"device", m_device.str()},
              {"precision", m_precision},
              {"threads", at::get_num_threads()},
              {"processes", m_world},
              {"version", LABBOOK_VERSION},
              {"engine", engineDescription()},
              {"total_steps", totalSteps},
              {"data",
               {{"file", m_p.dataFile.string()},
                {"lines", m_p.report.lines},
                {"rows", m_p.report.rows},
                {"bad_lines", m_p.report.bad},
                {"examples", m_p.data.paper.size()},
                {"dropped", m_p.data.dropped},
                {"classes", m_p.data.labelNames.size()},
                {"labels", labels},
                {"train", m_p.split.train.size()},
                {"validation", m_p.split.validation.size()},
                {"test", m_p.split.test.size()},
                {"vocab", m_p.tokenizer->vocabSize()},
                {"tokenizer_cached", m_p.tokenizerFromCache}}}};
    if (resumedFrom >= 0)
        f["resumed_from_step"] = resumedFrom;
    if (m_dist)
        f["backend"] = m_dist->backend();
    return f;
}

Batch Worker::makeBatch(const std::vector<size_t> &examples, size_t begin, size_t end) const
{
    const auto n = int64_t(end - begin);
    std::vector<const std::vector<int> *> tokens(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        tokens[size_t(i)] = &m_p.tokens[examples[begin + size_t(i)]];
    Batch b = makeInputs(tokens, m_inputs, m_device);

    if (m_p.data.kind == TaskKind::MultiClass) {
        std::vector<int64_t> y(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i)
            y[size_t(i)] = m_p.data.labels[examples[begin + size_t(i)]][0];
        b.targets = torch::from_blob(y.data(), {n}, torch::kLong).clone().to(m_device);
    } else if (m_p.data.kind == TaskKind::Binary) {
        std::vector<float> y(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i)
            y[size_t(i)] = float(m_p.data.labels[examples[begin + size_t(i)]][0]);
        b.targets = torch::from_blob(y.data(), {n}, torch::kFloat).clone().to(m_device);
    } else {
        auto y = torch::zeros({n, int64_t(m_p.outputs)}, torch::kFloat);
        auto acc = y.accessor<float, 2>();
        for (int64_t i = 0; i < n; ++i)
            for (int l : m_p.data.labels[examples[begin + size_t(i)]])
                acc[i][l] = 1.0f;
        b.targets = y.to(m_device);
    }
    return b;
}

torch::Tensor Worker::lossOf(const torch::Tensor &logits, const Batch &batch, bool smoothing) const
{
    namespace F = torch::nn::functional;
    if (m_p.data.kind == TaskKind::MultiClass) {
        auto opts = F::CrossEntropyFuncOptions().label_smoothing(smoothing ? m_p.exp.optimizer.labelSmoothing : 0.0);
        if (m_classWeights.defined())
            opts.weight(m_classWeights);
        return F::cross_entropy(logits, batch.targets, opts);
    }
    auto opts = F::BinaryCrossEntropyWithLogitsFuncOptions();
    if (m_classWeights.defined())
        opts.pos_weight(m_classWeights);
    const auto input = m_p.data.kind == TaskKind::Binary ? logits.squeeze(1) : logits;
    return F::binary_cross_entropy_with_logits(input, batch.targets, opts);
}

std::unique_ptr<TrainerOptimizer> Worker::makeOptimizer(double lr) const
{
    const auto &o = m_p.exp.optimizer;
    auto opt = std::make_unique<TrainerOptimizer>();
    // Dense parameters in groups: the model's lrGroups (by name prefix), after the rest.
    opt->lrGroups = m_model->lrGroups();
    const auto &lrGroups = opt->lrGroups;
    std::vector<std::vector<torch::Tensor>> dense(lrGroups.size() + 1);
    torch::Tensor table;
    if (m_sparse)
        table = m_model->bag()->embeddingWeight();
    for (const auto &p : m_model->named_parameters()) {
        if (table.defined() && p.value().is_same(table))
            continue;
        size_t group = 0;
        for (size_t i = 0; i < lrGroups.size() && group == 0; ++i)
            if (p.key().rfind(lrGroups[i].first, 0) == 0)
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
    if (table.defined())
        opt->sparse = std::make_unique<SparseRowAdamW>(table, o);
    opt->setLr(lr);
    return opt;
}

void Worker::createModel()
{
    const Experiment &e = m_p.exp;
    // Row-sparse updates pay off for the bag model's big table with AdamW; `optimizer.sparse_embeddings`
    // turns them off (dense AdamW, PyTorch's default behaviour).
    m_sparse = e.model.hasBag() && e.optimizer.type == "adamw" &&
               e.config.value("optimizer", json::object()).value("sparse_embeddings", true);
    m_model = makeModel(e.model, m_p.vocab, m_p.outputs, e.tokenizer.maxTokens, m_sparse);
    m_model->to(m_device);
    m_model->train();
    m_inputs = inputSpecFor(e.model, m_p.vocab, m_p.clsId, m_p.tokenizer->pieceTexts());
    if (auto *bag = m_model->bag(); bag && bag->tfidf()) {
        std::vector<const std::vector<int> *> train;
        for (size_t i : m_p.split.train)
            train.push_back(&m_p.tokens[i]);
        bag->setIdf(train, m_inputs); // a resumed run reads the same values back from its checkpoint
    }
}

torch::Tensor Worker::forwardLogits(const Batch &batch)
{
    AutocastGuard autocast(m_bf16, m_device.is_cuda());
    return m_model->forward(batch).to(torch::kFloat);
}

Worker::TrainingLoss Worker::trainingLoss(const Batch &batch)
{
    std::vector<torch::Tensor> logits;
    {
        AutocastGuard autocast(m_bf16, m_device.is_cuda());
        logits = m_model->trainingLogits(batch);
    }
    TrainingLoss loss;
    loss.terms = logits.size();
    for (const auto &l : logits) {
        auto part = lossOf(l.to(torch::kFloat), batch, true);
        loss.sum = loss.sum.defined() ? loss.sum + part : part;
    }
    return loss;
}

EvalOutput Worker::evaluate(const std::vector<size_t> &examples)
{
    torch::NoGradGuard noGrad;
    m_model->eval();
    EvalOutput out;
    const size_t outputs = m_p.data.kind == TaskKind::Binary ? 1 : size_t(m_p.outputs);
    out.probs.resize(examples.size() * outputs);
    // Batches taken in order of length (a sequence model pads little), probabilities put back in order.
    std::vector<const std::vector<int> *> tokens(examples.size());
    for (size_t i = 0; i < examples.size(); ++i)
        tokens[i] = &m_p.tokens[examples[i]];
    const auto order = lengthOrder(tokens);
    std::vector<size_t> sorted(examples.size());
    for (size_t i = 0; i < order.size(); ++i)
        sorted[i] = examples[order[i]];
    double lossSum = 0;
    const size_t chunk = 512;
    for (size_t begin = 0; begin < sorted.size(); begin += chunk) {
        const size_t end = std::min(sorted.size(), begin + chunk);
        Batch b = makeBatch(sorted, begin, end);
        auto logits = forwardLogits(b);
        lossSum += lossOf(logits, b, false).item<double>() * double(end - begin);
        auto probs = (m_p.data.kind == TaskKind::MultiClass ? torch::softmax(logits, 1) : torch::sigmoid(logits))
                         .to(torch::kCPU, torch::kFloat)
                         .contiguous();
        const float *p = probs.data_ptr<float>();
        for (size_t i = begin; i < end; ++i)
            std::copy_n(p + (i - begin) * outputs, outputs, out.probs.begin() + std::ptrdiff_t(order[i] * outputs));
    }
    m_model->train();
    out.loss = examples.empty() ? std::nan("") : lossSum / double(examples.size());
    std::vector<const std::vector<int> *> truth(examples.size());
    for (size_t i = 0; i < examples.size(); ++i)
        truth[i] = &m_p.data.labels[examples[i]];
    out.summary = summarizeEvaluation(m_p.data.kind, out.probs, truth, m_p.data.labelNames, out.loss);
    return out;
}

void Worker::report(const std::vector<size_t> &examples, const EvalOutput &out, int64_t step, const std::string &split)
{
    std::vector<const Paper *> papers(examples.size());
    std::vector<const std::vector<int> *> truth(examples.size());
    for (size_t i = 0; i < examples.size(); ++i) {
        papers[i] = &m_p.papers[m_p.data.paper[examples[i]]];
        truth[i] = &m_p.data.labels[examples[i]];
    }
    lbk::reportEvaluation(*m_journal, m_p.exp.evaluation, m_p.data.kind, m_p.data.labelNames, papers, truth, out, step,
                          split);
}

} // namespace

json summarizeEvaluation(TaskKind kind, const std::vector<float> &probs, const std::vector<const std::vector<int> *> &truth,
                         const std::vector<std::string> &names, double loss)
{
    if (kind == TaskKind::MultiClass || kind == TaskKind::Binary) {
        std::vector<int> t(truth.size());
        for (size_t i = 0; i < truth.size(); ++i)
            t[i] = (*truth[i])[0];
        return kind == TaskKind::Binary ? binarySummary(probs, t, names, loss) : multiclassSummary(probs, t, names, loss);
    }
    std::vector<std::vector<int>> t(truth.size());
    for (size_t i = 0; i < truth.size(); ++i)
        t[i] = *truth[i];
    return multilabelSummary(probs, t, names, loss);
}

void reportEvaluation(JournalWriter &journal, const EvaluationSpec &spec, TaskKind kind,
                      const std::vector<std::string> &names, const std::vector<const Paper *> &papers,
                      const std::vector<const std::vector<int> *> &truthOf, const EvalOutput &out, int64_t step,
                      const std::string &split)
{
    const size_t n = papers.size();
    journal.emit("evaluation", {{"step", step}, {"split", split}, {"summary", out.summary}});
    json values = json::object();
    for (const char *k : {"loss", "accuracy", "macro_f1", "micro_f1", "f1", "roc_auc", "pr_auc"})
        if (out.summary.contains(k))
            values[split + "/" + k] = out.summary[k];
    journal.emit("metrics", {{"step", step}, {"values", values}});

    // Histograms of predicted probabilities, which spread away from 0.5 as the model learns.
    const int bins = spec.histogramBins;
    auto emitHist = [&](const std::string &name, const std::vector<float> &v) {
        journal.emit("histogram", {{"step", step}, {"split", split}, {"name", name}, {"lo", 0.0}, {"hi", 1.0},
                                      {"counts", histogram(v, bins)}});
    };
    const size_t k = names.size();
    if (kind == TaskKind::Binary) {
        std::vector<float> pos, neg;
        for (size_t i = 0; i < n; ++i)
            ((*truthOf[i])[0] ? pos : neg).push_back(out.probs[i]);
        emitHist("p_positive:positive", pos);
        emitHist("p_positive:negative", neg);
    } else if (kind == TaskKind::MultiClass) {
        std::vector<float> pTrue(n), pPred(n);
        for (size_t i = 0; i < n; ++i) {
            const float *row = out.probs.data() + i * k;
            pTrue[i] = row[(*truthOf[i])[0]];
            pPred[i] = *std::max_element(row, row + k);
        }
        emitHist("p_true", pTrue);
        emitHist("p_predicted", pPred);
    } else {
        std::vector<float> pos, neg;
        for (size_t i = 0; i < n; ++i) {
            std::vector<char> isTrue(k, 0);
            for (int l : (*truthOf[i]))
                isTrue[size_t(l)] = 1;
            for (size_t c = 0; c < k; ++c)
                (isTrue[c] ? pos : neg).push_back(out.probs[i * k + c]);
        }
        emitHist("p_label:positive", pos);
        emitHist("p_label:negative", neg);
    }

    // Per-example predictions, in chunks so that no journal line grows beyond a few megabytes.
    const size_t limit = spec.maxPredictions > 0 ? std::min<size_t>(n, size_t(spec.maxPredictions)) : n;
    const size_t topK = size_t(spec.topK);
    json rows = json::array();
    auto flush = [&] {
        if (!rows.empty())
            journal.emit("predictions", {{"step", step}, {"split", split}, {"labels", names}, {"rows", std::move(rows)}});
        rows = json::array();
    };
    for (size_t i = 0; i < limit; ++i) {
        const Paper &paper = *papers[i];
        const auto &truthIdx = (*truthOf[i]);
        json truth = json::array();
        json top = json::array();
        bool correct = false;
        double pTrue = std::nan("");
        if (kind == TaskKind::Binary) {
            const double p = out.probs[i];
            truth.push_back(names[size_t(truthIdx[0])]);
            if (p >= 0.5)
                top = json::array({json::array({names[1], p}), json::array({names[0], 1 - p})});
            else
                top = json::array({json::array({names[0], 1 - p}), json::array({names[1], p})});
            correct = (p >= 0.5) == (truthIdx[0] == 1);
            pTrue = truthIdx[0] == 1 ? p : 1 - p;
        } else {
            const float *row = out.probs.data() + i * k;
            std::vector<size_t> order(k);
            std::iota(order.begin(), order.end(), 0);
            std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return row[a] > row[b]; });
            for (int t : truthIdx)
                truth.push_back(names[size_t(t)]);
            if (kind == TaskKind::MultiClass) {
                for (size_t r = 0; r < std::min(topK, k); ++r)
                    top.push_back(json::array({names[order[r]], row[order[r]]}));
                correct = int(order[0]) == truthIdx[0];
                pTrue = row[truthIdx[0]];
            } else {
                std::vector<int> predicted;
                for (size_t r = 0; r < k && (r == 0 || row[order[r]] >= 0.5f); ++r) {
                    top.push_back(json::array({names[order[r]], row[order[r]]}));
                    if (row[order[r]] >= 0.5f)
                        predicted.push_back(int(order[r]));
                }
                std::vector<int> sortedTruth = truthIdx;
                std::sort(sortedTruth.begin(), sortedTruth.end());
                std::sort(predicted.begin(), predicted.end());
                correct = predicted == sortedTruth;
            }
        }
        rows.push_back({{"id", paper.id}, {"title", paper.title}, {"truth", truth}, {"top", top},
                        {"correct", correct}, {"p_true", std::isfinite(pTrue) ? json(pTrue) : json()}});
        if (rows.size() == 2000)
            flush();
    }
    flush();
}

namespace {

void Worker::saveCheckpoint(const fs::path &file, TrainerOptimizer *opt, int64_t step, double best, int badEvals)
{
    // LibTorch's archive writer cannot fail cleanly: when the disk fills mid-write its destructor throws again
    // while the first error unwinds, which ends the process before anything is recorded. So check first: the
    // checkpoint needs about its previous size, or the weights (and two optimizer moments) the first time.
    {
        std::error_code ec;
        uintmax_t need = fs::exists(file, ec) ? fs::file_size(file, ec) : 0;
        if (need == 0 || ec)
            for (const auto &p : m_model->parameters())
                need += uintmax_t(p.numel()) * uintmax_t(p.element_size()) * (opt ? 3 : 1);
        need += need / 20 + (16u << 20); // margin, and room left for the journal
        const auto space = fs::space(file.parent_path(), ec);
        if (!ec && space.available < need)
            throw std::runtime_error("not enough disk space for the checkpoint " + file.string() + ": it needs about " +
                                     std::to_string(need >> 20) + " MB and " + std::to_string(space.available >> 20) +
                                     " MB are free; free some space and `lbk resume` the run (smaller checkpoints: "
                                     "fewer model.ngram_buckets)");
    }
    torch::serialize::OutputArchive archive;
    for (const auto &p : m_model->named_parameters())
        archive.write("model." + p.key(), p.value().detach().cpu());
    for (const auto &b : m_model->named_buffers())
        archive.write("model." + b.key(), b.value().detach().cpu(), /*is_buffer=*/true);
    if (opt) {
        torch::serialize::OutputArchive optArchive;
        opt->save(optArchive);
        archive.write("optimizer", optArchive);
    }
    archive.write("step", torch::tensor(step));
    archive.write("best", torch::tensor(best, torch::kDouble));
    archive.write("bad_evals", torch::tensor(int64_t(badEvals)));
    // Written next to the target (named by pid, so two processes never share a temporary), flushed to disk and
    // renamed: a kill or a power cut mid-write leaves the previous checkpoint whole.
    const fs::path tmp = file.string() + "." + std::to_string(::getpid()) + ".tmp";
    archive.save_to(tmp.string());
    if (const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    fs::rename(tmp, file);
    if (const int dir = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
        ::fsync(dir); // the rename itself
        ::close(dir);
    }
}

bool Worker::loadCheckpoint(const fs::path &file, TrainerOptimizer *opt, int64_t *step, double *best, int *badEvals)
{
    if (!fs::exists(file))
        return false;
    try {
        return readCheckpoint(file, opt, step, best, badEvals);
    } catch (const c10::Error &err) {
        // A damaged file, or one another version wrote for a different model or optimizer layout (e.g. a bag_cnn
        // checkpoint from before its CNN had a parameter group of its own).
        throw std::runtime_error(file.string() + " cannot be loaded into this run's model and optimizer (" +
                                 err.what_without_backtrace() + "); start the experiment again as a new run");
    }
}

bool Worker::readCheckpoint(const fs::path &file, TrainerOptimizer *opt, int64_t *step, double *best, int *badEvals)
{
    torch::serialize::InputArchive archive;
    archive.load_from(file.string(), m_device);
    torch::NoGradGuard noGrad;
    for (auto &p : m_model->named_parameters()) {
        torch::Tensor t;
        archive.read("model." + p.key(), t);
        p.value().copy_(t);
    }
    for (auto &b : m_model->named_buffers()) {
        torch::Tensor t;
        archive.read("model." + b.key(), t, /*is_buffer=*/true);
        b.value().copy_(t);
    }
    if (opt) {
        torch::serialize::InputArchive optArchive;
        archive.read("optimizer", optArchive);
        opt->load(optArchive);
        // A fresh tensor for each read: InputArchive::read into a defined tensor keeps that tensor's dtype and
        // reinterprets the stored bytes (a double read into the step's int64 tensor came back as 4.6e18).
        torch::Tensor stepT, bestT, badT;
        archive.read("step", stepT);
        *step = stepT.item<int64_t>();
        archive.read("best", bestT);
        *best = bestT.item<double>();
        archive.read("bad_evals", badT);
        *badEvals = int(badT.item<int64_t>());
    }
    return true;
}

int Worker::train()
{
    const Experiment &e = m_p.exp;
    const auto &train = m_p.split.train;
    const auto batchSize = size_t(e.training.batchSize);
    const auto stepsPerEpoch = int64_t((train.size() + batchSize - 1) / batchSize);
    const int64_t totalSteps = e.training.maxSteps > 0 ? e.training.maxSteps : stepsPerEpoch * e.training.epochs;
    const int64_t evalEvery = e.evaluation.everySteps > 0 ? e.evaluation.everySteps : stepsPerEpoch;

    torch::manual_seed(e.training.seed);
    createModel();
    if (e.training.balanced) {
        // Inverse-frequency class weights (multiclass), or negatives/positives per label (binary, multilabel).
        const auto &counts = m_p.data.labelCounts;
        const double total = double(m_p.data.paper.size());
        std::vector<float> w;
        if (m_p.data.kind == TaskKind::MultiClass) {
            for (auto c : counts)
                w.push_back(float(total / (double(counts.size()) * double(std::max<int64_t>(1, c)))));
        } else {
            for (size_t c = m_p.data.kind == TaskKind::Binary ? 1 : 0; c < counts.size(); ++c)
                w.push_back(float((total - double(counts[c])) / double(std::max<int64_t>(1, counts[c]))));
        }
        m_classWeights = torch::tensor(w).to(m_device);
        m_classWeightsHost = w;
    }
    if (m_dist && m_sparse && m_dist->backend() == "nccl")
        return fail("training.backend \"nccl\" has no all-reduce for the bag model's row-sparse table; use "
                    "\"gloo\", or optimizer.sparse_embeddings: false");
    auto optimizer = makeOptimizer(e.optimizer.lr);
    torch::Tensor sparseTable;
    if (m_sparse)
        sparseTable = m_model->bag()->embeddingWeight();

    const fs::path ckptDir = m_opt.runDir / "checkpoints";
    fs::create_directories(ckptDir);
    const fs::path lastCkpt = ckptDir / "last.pt", bestCkpt = ckptDir / "best.pt";
    const bool higher = higherIsBetter(e.evaluation.metric);
    double best = higher ? -INFINITY : INFINITY;
    int badEvals = 0;
    int64_t resumedFrom = -1;
    if (m_opt.resume) {
        if (loadCheckpoint(lastCkpt, optimizer.get(), &m_step, &best, &badEvals))
            resumedFrom = m_step;
        else
            log("warning", "no checkpoint in " + ckptDir.string() + " yet: the run starts again from step 0");
    }
    if (m_dist) {
        // Every rank must train the same run: same data, split, vocabulary and starting step (a data file changed
        // between the ranks' reads, or a stale view of a shared file system, would otherwise hang or skew it).
        const std::vector<int64_t> shape = {int64_t(m_p.data.paper.size()), int64_t(train.size()), int64_t(m_p.vocab),
                                            int64_t(m_p.outputs), totalSteps, m_step};
        if (!m_dist->agree(shape))
            return fail("the training processes disagree about the run (examples, split, vocabulary or step): rank " +
                        std::to_string(m_rank) + " has " + json(shape).dump() +
                        "; was the data file changed while they started?");
        // Every rank starts from rank 0's weights (the same seed gives the same ones; this makes it a fact).
        std::vector<torch::Tensor> state = m_model->parameters();
        for (const auto &b : m_model->buffers())
            state.push_back(b);
        m_dist->broadcast(state);
    }
    emit("run_started", runStartedFields("train", totalSteps, resumedFrom));
    // Dropout differs per resume point (and per rank), but data order and schedule depend only on the step.
    torch::manual_seed(e.training.seed + uint64_t(m_step) + 1000003ULL * uint64_t(m_rank));

    const std::string metricKey = e.evaluation.metric;
    double lossSum = 0;
    int64_t lossCount = 0, examplesSinceLog = 0;
    auto lastLog = std::chrono::steady_clock::now();
    std::vector<size_t> order;
    int64_t orderEpoch = -1;
    bool stoppedEarly = false, stopPending = false;

    while (m_step < totalSteps) {
        bool cancel = cancelRequested(), stop = stopPending;
        if (m_dist) {
            // One control word per step, so every rank stops at the same step: 2 cancel (any rank was signalled),
            // 1 stop early (rank 0's evaluation decided), 0 go on.
            const int64_t word = m_dist->max(cancel ? 2 : stop ? 1 : 0);
            cancel = word == 2;
            stop = word == 1;
        }
        if (cancel) {
            if (m_rank == 0) {
                saveCheckpoint(lastCkpt, optimizer.get(), m_step, best, badEvals);
                emit("checkpoint", {{"step", m_step}, {"kind", "last"}, {"path", "checkpoints/last.pt"}});
                emit("cancelled", {{"step", m_step}});
            }
            return kWorkerCancelled;
        }
        if (stop) {
            stoppedEarly = true;
            break;
        }
        const int64_t epoch = m_step / stepsPerEpoch;
        if (epoch != orderEpoch) {
            const auto perm = permutation(train.size(), e.training.seed * 1000003ULL + uint64_t(epoch));
            order.resize(train.size());
            for (size_t i = 0; i < perm.size(); ++i)
                order[i] = train[perm[i]];
            orderEpoch = epoch;
        }
        const size_t begin = size_t(m_step % stepsPerEpoch) * batchSize;
        const size_t end = std::min(order.size(), begin + batchSize);
        const double lr = scheduledLr(e.schedule, e.optimizer.lr, m_step, totalSteps);
        optimizer->setLr(lr);

        // With several processes each trains on its share of the global batch; its mean loss is scaled by its
        // share, so the average of the ranks' gradients is the global batch's mean gradient.
        // A share's weight is its examples, or with class weights (multiclass) the sum of its examples' weights:
        // the weighted mean loss divides by that sum, and every rank can work out the whole batch's.
        const auto [lo, hi] = m_dist ? rankShare(begin, end, m_rank, m_world) : std::pair{begin, end};
        const double shareWeight = m_dist ? lossWeight(order, lo, hi) : 1.0;
        const double batchWeight = m_dist ? lossWeight(order, begin, end) : 1.0;
        optimizer->zero_grad();
        double lossValue = 0;
        if (hi > lo) {
            Batch b = makeBatch(order, lo, hi);
            const auto loss = trainingLoss(b);
            lossValue = loss.value();
            if (m_step + 1 == injectNanAtStep())
                lossValue = std::nan(""); // fault injection for the tests of the diverging-loss path
            if (std::isfinite(lossValue))
                (m_dist ? loss.sum * (shareWeight * double(m_world) / batchWeight) : loss.sum).backward();
        }
        if (m_dist) {
            auto total = torch::tensor({lossValue * shareWeight}, torch::TensorOptions(torch::kDouble).device(m_device));
            m_dist->sum(total);
            lossValue = total.item<double>() / batchWeight;
        }
        if (!std::isfinite(lossValue)) {
            emit("metrics", {{"step", m_step + 1}, {"values", {{"train/loss", lossValue}, {"lr", lr}}}});
            return fail("the training loss became " + std::string(std::isnan(lossValue) ? "NaN" : "infinite") +
                        " at step " + std::to_string(m_step + 1) + " (learning rate " + std::to_string(lr) +
                        "); lower optimizer.lr (run `lbk lr-find`) or set optimizer.grad_clip");
        }
        if (m_dist) {
            m_dist->averageGradients(m_model->parameters(), sparseTable);
        } else if (sparseTable.defined() && sparseTable.grad().defined()) {
            // Coalesced once here, so the clipping norm and the lazy update see each row once.
            sparseTable.mutable_grad() = sparseTable.grad().coalesce();
        }
        if (e.optimizer.gradClip > 0)
            torch::nn::utils::clip_grad_norm_(m_model->parameters(), e.optimizer.gradClip);
        optimizer->step();
        ++m_step;
        lossSum += lossValue;
        ++lossCount;
        examplesSinceLog += int64_t(end - begin);

        if (m_step % e.training.logEvery == 0 || m_step == totalSteps) {
            const auto now = std::chrono::steady_clock::now();
            const double secs = std::chrono::duration<double>(now - lastLog).count();
            json values = {{"train/loss", lossSum / double(lossCount)},
                           {"lr", lr},
                           {"epoch", double(m_step) / double(stepsPerEpoch)},
                           {"train/examples_per_s", secs > 0 ? double(examplesSinceLog) / secs : 0.0}};
            // A parameter group with a rate of its own (bag_cnn's "cnn."): the rate its optimizer group holds,
            // as "lr/cnn".
            const auto &groups = optimizer->dense->param_groups();
            for (size_t g = 1; g < groups.size() && g <= optimizer->lrGroups.size(); ++g) {
                const std::string &prefix = optimizer->lrGroups[g - 1].first;
                values["lr/" + prefix.substr(0, prefix.find('.'))] = groups[g].options().get_lr();
            }
            emit("metrics", {{"step", m_step}, {"values", std::move(values)}});
            lossSum = 0;
            lossCount = examplesSinceLog = 0;
            lastLog = now;
        }

        if (m_rank == 0 && (m_step % evalEvery == 0 || m_step == totalSteps)) {
            // The other ranks wait meanwhile: rank 0 evaluates with every thread the run was given.
            const int stepThreads = at::get_num_threads();
            if (m_dist)
                setComputeThreads(threadCount(e.training.threads));
            if (!m_p.split.validation.empty()) {
                const auto out = evaluate(m_p.split.validation);
                report(m_p.split.validation, out, m_step, "val");
                const json v = out.summary.value(metricKey, json());
                const double value = v.is_number() ? v.get<double>() : std::nan("");
                if (std::isfinite(value) && (higher ? value > best : value < best)) {
                    best = value;
                    badEvals = 0;
                    // Without the optimizer's moments (for the bag, two more copies of its n-gram table):
                    // the best checkpoint is scored and exported, while resuming starts from the last one.
                    saveCheckpoint(bestCkpt, nullptr, m_step, best, badEvals);
                    emit("checkpoint", {{"step", m_step}, {"kind", "best"}, {"path", "checkpoints/best.pt"},
                                                   {"metric", {{"val/" + metricKey, value}}}});
                } else {
                    ++badEvals;
                }
            }
            saveCheckpoint(lastCkpt, optimizer.get(), m_step, best, badEvals);
            emit("checkpoint", {{"step", m_step}, {"kind", "last"}, {"path", "checkpoints/last.pt"}});
            if (e.evaluation.earlyStopping > 0 && badEvals >= e.evaluation.earlyStopping && m_step < totalSteps) {
                log("info", "early stopping at step " + std::to_string(m_step) + ": val/" + metricKey + " has not " +
                                "improved for " + std::to_string(badEvals) + " evaluations");
                stopPending = true;
            }
            setComputeThreads(stepThreads);
        }
    }
    if (m_rank > 0)
        return kWorkerFinished; // rank 0 scores the test split and reports the end

    if (m_dist)
        setComputeThreads(threadCount(e.training.threads)); // the other ranks have finished
    // The test split is scored once, with the best checkpoint (or the last weights when there was no validation).
    json summary = {{"steps", m_step}, {"stopped_early", stoppedEarly}};
    if (loadCheckpoint(bestCkpt, nullptr, nullptr, nullptr, nullptr))
        summary["test_checkpoint"] = "best";
    else
        summary["test_checkpoint"] = "last";
    if (!m_p.split.test.empty()) {
        const auto out = evaluate(m_p.split.test);
        report(m_p.split.test, out, m_step, "test");
        for (const char *k : {"loss", "accuracy", "macro_f1", "micro_f1", "f1", "roc_auc", "pr_auc"})
            if (out.summary.contains(k))
                summary[std::string("test/") + k] = out.summary[k];
    }
    if (std::isfinite(best))
        summary["best/val/" + metricKey] = best;
    emit("artifact", {{"kind", "tokenizer"}, {"path", "tokenizer.model"}});
    emit("finished", {{"step", m_step}, {"summary", summary}});
    return kWorkerFinished;
}

int Worker::lrFind()
{
    const Experiment &e = m_p.exp;
    const auto &lf = e.lrFinder;
    torch::manual_seed(e.training.seed);
    createModel();
    auto optimizer = makeOptimizer(lf.minLr);
    // The range test must leave the model as it found it: keep a copy of every parameter to restore.
    std::vector<torch::Tensor> saved;
    for (const auto &p : m_model->parameters())
        saved.push_back(p.detach().clone());
    emit("run_started", runStartedFields("lr_find", lf.steps, -1));

    const auto &train = m_p.split.train;
    const auto batchSize = size_t(e.training.batchSize);
    std::vector<double> lrs, smoothed;
    DebiasedEma ema(lf.beta);
    double bestSmoothed = INFINITY;
    std::vector<size_t> order;
    size_t cursor = train.size();
    int epoch = 0;
    std::string stopReason = "swept every rate";
    for (int i = 0; i < lf.steps; ++i) {
        if (cancelRequested()) {
            emit("cancelled", {{"step", i}});
            return kWorkerCancelled;
        }
        if (cursor + batchSize > train.size()) {
            const auto perm = permutation(train.size(), e.training.seed * 7919ULL + uint64_t(epoch++));
            order.resize(train.size());
            for (size_t k = 0; k < perm.size(); ++k)
                order[k] = train[perm[k]];
            cursor = 0;
        }
        const double lr = lrFinderRate(lf.minLr, lf.maxLr, lf.steps, i);
        optimizer->setLr(lr);
        Batch b = makeBatch(order, cursor, std::min(order.size(), cursor + batchSize));
        cursor += batchSize;
        optimizer->zero_grad();
        const auto loss = trainingLoss(b);
        const double value = loss.value();
        if (std::isfinite(value)) {
            loss.sum.backward();
            optimizer->step();
        }
        const double s = ema.add(value);
        lrs.push_back(lr);
        smoothed.push_back(std::isfinite(value) ? s : std::nan(""));
        emit("lr_point", {{"index", i}, {"lr", lr}, {"loss", value}, {"smoothed", smoothed.back()}});
        m_step = i + 1;
        if (std::isfinite(s))
            bestSmoothed = std::min(bestSmoothed, s);
        if (i >= 5 && (!std::isfinite(value) || lrFinderDiverged(s, bestSmoothed, lf.stopFactor))) {
            stopReason = !std::isfinite(value) ? "the loss became non-finite" : "the smoothed loss passed " +
                                                                                  std::to_string(lf.stopFactor) +
                                                                                  "x its best";
            break;
        }
    }
    {
        torch::NoGradGuard noGrad;
        auto params = m_model->parameters();
        for (size_t k = 0; k < params.size(); ++k)
            params[k].copy_(saved[k]);
    }
    const auto suggestion = suggestLearningRate(lrs, smoothed);
    json sug = {{"lr", suggestion.lr ? json(*suggestion.lr) : json()}, {"index", suggestion.index},
                {"method", suggestion.method}};
    if (!suggestion.lr)
        sug["reason"] = suggestion.reason;
    emit("lr_suggestion", sug);
    log("info", "LR range test stopped after " + std::to_string(lrs.size()) + " steps: " + stopReason);
    json summary = {{"points", lrs.size()}, {"stop_reason", stopReason}};
    if (suggestion.lr)
        summary["suggested_lr"] = *suggestion.lr;
    emit("finished", {{"step", m_step}, {"summary", summary}});
    return kWorkerFinished;
}

// The rank of a task srun started in a step of several tasks, else -1. Needs srun's own variables, so a
// worker merely started inside an allocation (salloc -n 4, a batch script) is not taken for one.
static int slurmTaskRank()
{
    const char *tasks = std::getenv("SLURM_NTASKS"), *procId = std::getenv("SLURM_PROCID"),
               *step = std::getenv("SLURM_STEP_ID");
    if (!tasks || !procId || !step || std::atoi(tasks) <= 1)
        return -1;
    return std::atoi(procId);
}

Status Worker::joinProcesses()
{
    const Experiment &e = m_p.exp;
    const int processes = e.training.processes;
    CollectiveOptions co;
    co.backend = e.training.backend;
    co.device = m_device;
    if (m_opt.rank >= 0) {
        // A rank started by rank 0's worker (below).
        m_rank = m_opt.rank;
        m_world = m_opt.world;
        co.rendezvous = m_opt.rendezvous;
    } else if (slurmTaskRank() >= 0) {
        // One task of a multi-task step that srun started: Slurm started every rank.
        const char *tasks = std::getenv("SLURM_NTASKS");
        if (std::atoi(tasks) != processes || m_opt.lrFind)
            return Error{"the Slurm job step has " + std::string(tasks) + " tasks but the run needs " +
                         std::to_string(m_opt.lrFind ? 1 : processes) + " (training.processes)"};
        const char *job = std::getenv("SLURM_JOB_ID"), *jobStep = std::getenv("SLURM_STEP_ID"),
                   *restarts = std::getenv("SLURM_RESTART_COUNT"), *nodes = std::getenv("SLURM_NNODES");
        m_rank = slurmTaskRank();
        m_world = processes;
        // A requeued job keeps its id and step numbers: the restart count keeps the old file from being joined.
        co.rendezvous = m_opt.runDir / ("rendezvous-slurm-" + std::string(job ? job : "0") + "." +
                                        std::string(jobStep ? jobStep : "0") + "." +
                                        std::string(restarts ? restarts : "0"));
        co.loopback = !nodes || std::atoi(nodes) <= 1;
    } else if (processes > 1 && !m_opt.lrFind) {
        // Rank 0 starts the others on this machine. The rendezvous file is new for every launch: a FileStore
        // left by a killed run must never be joined.
        m_world = processes;
        std::error_code ec;
        for (const auto &f : fs::directory_iterator(m_opt.runDir, ec)) // left by launches that were killed
            if (f.path().filename().string().rfind("rendezvous-", 0) == 0)
                fs::remove(f.path(), ec);
        co.rendezvous = m_opt.runDir / ("rendezvous-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        if (auto started = spawnPeers(co.rendezvous); !started)
            return started.error();
    }
    if (m_world <= 1)
        return Unit{};
    if (m_rank < 0 || m_rank >= m_world)
        return Error{"rank " + std::to_string(m_rank) + " is outside 0.." + std::to_string(m_world - 1)};
    if (m_device.is_cuda())
    {
        const char *local = std::getenv("SLURM_LOCALID"); // the task's index on its node
        const int index = local && slurmTaskRank() >= 0 ? std::atoi(local) : m_rank;
        m_device = torch::Device(torch::kCUDA, torch::DeviceIndex(index % int(torch::cuda::device_count())));
    }
    co.rank = m_rank;
    co.world = m_world;
    co.device = m_device;
    m_dist = Collective::open(co);
    m_rendezvous = co.rendezvous;
    return Unit{};
}

Status Worker::spawnPeers(const fs::path &rendezvous)
{
    char exe[4096];
    const ssize_t len = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return Error{"cannot find this program (/proc/self/exe) to start the other training processes"};
    exe[len] = '\0';
    const pid_t parent = ::getpid();
    for (int r = 1; r < m_world; ++r) {
        std::vector<std::string> args = {exe,   "worker", "--run-dir",    m_opt.runDir.string(), "--run",
                                         m_opt.runUid, "--rank", std::to_string(r), "--world-size",
                                         std::to_string(m_world), "--rendezvous", rendezvous.string()};
        if (!m_opt.dataRoot.empty())
            args.insert(args.end(), {"--data-root", m_opt.dataRoot});
        if (!m_opt.cacheDir.empty())
            args.insert(args.end(), {"--cache-dir", m_opt.cacheDir.string()});
        if (m_opt.resume)
            args.push_back("--resume");
        std::vector<char *> argv;
        for (auto &a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid == 0) {
            // A rank has nothing of its own to save: it dies with rank 0, whatever kills rank 0.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent)
                ::_exit(127);
            ::execv("/proc/self/exe", argv.data()); // still this program if its file was rebuilt meanwhile
            ::_exit(127);
        }
        if (pid < 0)
            return Error{"cannot start training process " + std::to_string(r) + ": " + std::strerror(errno)};
        m_peers.push_back(pid);
    }
    return Unit{};
}

// Rank 0 waits for the ranks it started; after a failure it kills them first (they would wait for it).
void Worker::reapPeers(bool success)
{
    for (pid_t pid : m_peers) {
        if (pid <= 0)
            continue;
        if (!success)
            ::kill(pid, SIGKILL);
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    m_peers.clear();
}

// "training process 1 (pid 123) was killed by signal 9" for a rank this process started that has ended,
// waiting up to `grace` for one to end (a collective fails a moment before the peer's exit is reaped).
std::string Worker::deadPeer(std::chrono::milliseconds grace)
{
    const auto until = std::chrono::steady_clock::now() + grace;
    do {
        for (size_t i = 0; i < m_peers.size(); ++i) {
            int st = 0;
            if (m_peers[i] > 0 && ::waitpid(m_peers[i], &st, WNOHANG) == m_peers[i]) {
                const std::string what = "training process " + std::to_string(i + 1) + " (pid " +
                                         std::to_string(m_peers[i]) + ") " +
                                         (WIFEXITED(st) ? "exited with status " + std::to_string(WEXITSTATUS(st))
                                                        : "was killed by signal " + std::to_string(WTERMSIG(st)));
                m_peers[i] = -1; // reaped
                return what;
            }
        }
        if (!m_peers.empty() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (!m_peers.empty() && std::chrono::steady_clock::now() < until);
    return {};
}

// Rank 0 waits until every other rank has prepared its data, watching the ranks it started: one that exits
// (bad data, out of memory) fails the run at once with its exit status, instead of a collective's timeout.
Status Worker::awaitPeers()
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(30);
    for (int r = 1; r < m_world; ++r) {
        const std::string key = "prepared/" + std::to_string(r);
        for (;;) {
            if (auto status = m_dist->announcement(key)) {
                if (*status != "ok")
                    return Error{"training process " + std::to_string(r) + ": " + *status};
                break;
            }
            if (const std::string dead = deadPeer(std::chrono::milliseconds(0)); !dead.empty())
                return Error{dead + " before training began; its messages are in worker.log"};
            if (cancelRequested())
                return Error{"cancelled while the training processes were starting"};
            if (std::chrono::steady_clock::now() > deadline)
                return Error{"training process " + std::to_string(r) + " did not report within 30 minutes"};
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    return Unit{};
}

// Everything up to and including training; the caller reaps the peers and removes the rendezvous whatever
// happens here.
int Worker::runStages()
{
    auto loaded = loadExperiment();
    if (!loaded)
        return fail(loaded.message());
    const std::string dev = m_p.exp.training.device;
    if (dev == "cuda" && !torch::cuda::is_available())
        return fail("training.device: \"cuda\" was asked for, but no CUDA device is available on " + hostName() +
                    "; use \"auto\" or \"cpu\"");
    m_device = (dev != "cpu" && torch::cuda::is_available()) ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    if (auto joined = joinProcesses(); !joined)
        return fail(joined.message());
    if (m_dist && m_rank > 0) {
        // Wait for rank 0 to read the data and train (or load) the tokenizer, then use its tokenizer.
        if (m_dist->awaitAnnouncement("ready", std::chrono::hours(6)) != "ok")
            return kWorkerFailed; // rank 0 has reported why
    }
    auto ready = prepare();
    if (!ready)
        fail(ready.message()); // recorded before the other ranks hear of it
    if (m_dist)
        m_dist->announce(m_rank == 0 ? "ready" : "prepared/" + std::to_string(m_rank), ready ? "ok" : ready.message());
    if (!ready)
        return kWorkerFailed;
    if (m_dist && m_rank == 0)
        if (auto peers = awaitPeers(); !peers) {
            if (cancelRequested()) {
                emit("cancelled", {{"step", m_step}});
                return kWorkerCancelled;
            }
            return fail(peers.message());
        }
    if (m_dist)
        m_dist->connect();
    const int threads = std::max(1, threadCount(m_p.exp.training.threads) / m_world);
    setComputeThreads(threads);
    m_precision = m_p.exp.config.value("training", json::object()).value("precision", std::string("fp32"));
    if (m_precision == "bf16") {
        if (m_device.is_cuda() || cpuHasNativeBf16()) {
            m_bf16 = true;
        } else {
            m_precision = "fp32";
            log("warning", "training.precision \"bf16\": this CPU has no native bfloat16 arithmetic "
                           "(AVX512-BF16 or AMX), where emulated bf16 is slower than fp32; training in fp32");
        }
    }
    return m_opt.lrFind ? lrFind() : train();
}

int Worker::run()
{
    // Only rank 0 (or the only process) reports. A rank is known from --rank, or from Slurm for srun's tasks.
    if (m_opt.rank > 0)
        m_rank = m_opt.rank;
    else if (const int id = slurmTaskRank(); m_opt.rank < 0 && id > 0)
        m_rank = id;
    if (m_rank == 0) {
        const fs::path journal = m_opt.journal.empty() ? m_opt.runDir / "journal.jsonl" : m_opt.journal;
        auto writer = JournalWriter::open(journal);
        if (!writer) {
            std::fprintf(stderr, "lbk worker: %s\n", writer.message().c_str());
            return kWorkerFailed;
        }
        m_journal = std::move(*writer);
    }
    int code = kWorkerFailed;
    try {
        code = runStages();
    } catch (const c10::Error &err) {
        code = failWithPeers("LibTorch error at step " + std::to_string(m_step) + ": " + err.what_without_backtrace());
    } catch (const std::exception &err) {
        code = failWithPeers("error at step " + std::to_string(m_step) + ": " + err.what());
    }
    reapPeers(code != kWorkerFailed);
    m_dist.reset();
    if (m_rank == 0 && !m_rendezvous.empty()) {
        std::error_code ec;
        fs::remove(m_rendezvous, ec);
    }
    return code;
}

} // namespace

void requestCancel()
{
    g_cancel.store(true);
}

bool cancelRequested()
{
    return g_cancel.load(std::memory_order_relaxed);
}

std::string engineDescription()
{
    std::string s = "LibTorch " + std::string(TORCH_VERSION) + ", ";
    s += torch::cuda::is_available() ? "cuda (" + std::to_string(torch::cuda::device_count()) + " devices)" : "cpu";
    return s;
}

int runWorker(const WorkerOptions &options)
{
    Worker w(options);
    return w.run();
}

} // namespace lbk
