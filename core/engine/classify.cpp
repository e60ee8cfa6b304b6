// Classification: papers to labels (multiclass, binary, multilabel), the task every Labbook model trains on.
// The objective reads and splits the data, tokenizes it, builds the classifier and scores evaluations.
#include <fstream>
#include <map>

#include "data/dataset.h"
#include "data/papercache.h"
#include "data/tokencache.h"
#include "engine/checkpoint.h"
#include "engine/evaluation.h"
#include "engine/fusedbag.h"
#include "engine/hfweights.h"
#include "engine/mlm.h"
#include "engine/models.h"
#include "engine/objective.h"
#include "engine/optim.h"
#include "engine/pretrained.h"
#include "engine/runcontext.h"
#include "engine/tokenizer.h"
#include "hf/headlabels.h"
#include "store/runfiles.h"
#include "util/cacheentry.h"
#include "util/filebytes.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class ClassifyObjective : public Objective {
public:
    explicit ClassifyObjective(RunContext &context) : m_ctx(context) {}

    Status prepare() override;
    json dataSummary() const override;
    std::vector<int64_t> shape() const override
    {
        return {int64_t(m_data.paper.size()), int64_t(m_split.train.size()), int64_t(m_rows.vocab), int64_t(m_outputs)};
    }
    Status createModel() override;
    torch::nn::Module &model() override { return *m_model; }
    std::function<ParamGroup(const std::string &)> paramGroupOf() const override
    {
        return [model = m_model](const std::string &name) { return model->paramGroup(name); };
    }
    torch::Tensor sparseTable() override { return m_sparse ? m_model->bag()->embeddingWeight() : torch::Tensor(); }
    const std::vector<size_t> &trainExamples() const override { return m_split.train; }
    StepLoss trainingLoss(const std::vector<size_t> &examples, size_t begin, size_t end) override;
    double lossWeight(const std::vector<size_t> &examples, size_t begin, size_t end) const override;
    bool hasManualStep() const override { return m_fused != nullptr; }
    double manualLoss(const std::vector<size_t> &examples, size_t begin, size_t end) override
    {
        return m_fused->loss(makeBatch(examples, begin, end));
    }
    void manualApply(double lr) override { m_fused->apply(lr); }
    json evaluate(EvalSplit split, int64_t step) override;
    void reportArtifacts() override
    {
        m_ctx.emit("artifact", {{"kind", "tokenizer"}, {"path", runfiles::tokenizerEntry(m_pretrained.has_value())}});
    }

private:
    Status readData();
    Status prepareTokenizer(const std::vector<std::string> &texts);
    Status preparePretrained();
    Status loadPretrainedWeights();
    Status prepareFromRun();
    Status loadRunWeights();
    void setClassWeights();
    std::vector<std::vector<int>> encodeExamples(const std::vector<std::string> &texts);
    Batch makeBatch(const std::vector<size_t> &examples, size_t begin, size_t end) const;
    // training: the loss a step minimises (label smoothing, training.balanced's class weights); else the plain
    // cross-entropy evaluations record, comparable between runs and with lbk eval's.
    torch::Tensor lossOf(const torch::Tensor &logits, const Batch &batch, bool training) const;
    EvalOutput score(const std::vector<size_t> &examples);
    void report(const std::vector<size_t> &examples, const EvalOutput &out, int64_t step, const std::string &split);

    RunContext &m_ctx;
    fs::path m_dataFile;
    ReadReport m_report;
    std::vector<Paper> m_papers;
    LabeledData m_data;
    DataSplit m_split;
    std::unique_ptr<TextEncoder> m_tokenizer;
    bool m_tokenizerFromCache = false;
    std::optional<PretrainedEncoder> m_pretrained; // model.init_from
    std::vector<std::vector<int>> m_tokens; // per example
    TokenRows m_rows;
    int m_outputs = 0;

    std::shared_ptr<ClassifierImpl> m_model;
    InputSpec m_inputs;
    bool m_sparse = false;        // the bag model's table has row-sparse gradients and its own lazy AdamW
    std::unique_ptr<FusedBagStep> m_fused; // the bag's hand-written SGD step, when it applies
    torch::Tensor m_classWeights; // multiclass weights, or pos_weight for binary/multilabel (undefined: none)
    std::vector<float> m_classWeightsHost;
};

Status ClassifyObjective::readData()
{
    const Experiment &e = m_ctx.exp;
    auto papers = readRunPapers(m_ctx, m_dataFile, m_report);
    if (!papers)
        return papers.error();
    m_papers = std::move(*papers);
    auto data = buildLabels(m_papers, e.labels, m_dataFile.string());
    if (!data)
        return data.error();
    m_data = std::move(*data);
    // labels.top_n above what the data has keeps every category, which is what a user meant, but said: a top_n
    // of 5,000 on 120 categories is usually a mistake for another field. (Fewer categories than top_n pool nothing
    // into "other", so the labels are then exactly the categories.)
    const auto labels = int64_t(m_data.labelNames.size());
    if (e.labels.kind == TaskKind::MultiClass && e.labels.topN > labels)
        m_ctx.log("warning", "labels.top_n is " + std::to_string(e.labels.topN) + " but " + m_dataFile.string() +
                                 " has " + std::to_string(labels) + " primary categories; all of them are the labels");
    auto split = splitData(m_data, m_papers, e.split);
    if (!split)
        return split.error();
    m_split = std::move(*split);
    for (size_t c = 0; c < m_data.labelNames.size(); ++c)
        if (m_data.labelCounts[c] == 0)
            return Error{"labels: the class '" + m_data.labelNames[c] + "' has no examples in " + m_dataFile.string()};
    if (m_split.train.empty())
        return Error{"split: the training split is empty; raise split.train or use more data"};
    return Unit{};
}

Status ClassifyObjective::prepareTokenizer(const std::vector<std::string> &texts)
{
    std::vector<std::string> trainTexts;
    trainTexts.reserve(m_split.train.size());
    for (size_t i : m_split.train)
        trainTexts.push_back(texts[i]);
    const RunTokenizerRequest request{m_ctx.options.runDir, m_ctx.options.cacheDir,
                                      m_ctx.options.resume || m_ctx.rank > 0, m_ctx.threadsPerProcess()};
    auto tok = prepareRunTokenizer(request, trainTexts, m_ctx.exp.tokenizer, &m_tokenizerFromCache);
    if (!tok)
        return tok.error();
    m_tokenizer = std::move(*tok);
    return Unit{};
}

// model.init_from: the folder's config and tokenizer, or (resuming, further ranks) the run's own copy of them.
Status ClassifyObjective::preparePretrained()
{
    auto p = prepareRunPretrained(m_ctx.exp, m_ctx.options.dataRoot, m_ctx.options.runDir,
                                  continuesFromCheckpoint(m_ctx.options.resume, m_ctx.options.runDir) ||
                                      m_ctx.rank > 0);
    if (!p)
        return p.error();
    m_pretrained = std::move(*p);
    m_tokenizer = hfTextEncoder(m_pretrained->tokenizer, m_ctx.exp.tokenizer.maxTokens);
    m_ctx.log("info", "encoder " + describeEncoder(*m_pretrained, m_ctx.exp.model.initFrom));
    return Unit{};
}

// The folder's weights into the new model (a resumed run's come from its checkpoint instead).
Status ClassifyObjective::loadPretrainedWeights()
{
    if (!m_pretrained || !m_pretrained->folder)
        return Unit{};
    auto *encoder = dynamic_cast<EncoderClassifierImpl *>(m_model.get());
    const auto head = hf::planHead(m_pretrained->config.id2label, m_data.labelNames);
    const bool fresh = head.action == hf::HeadPlan::Action::Fresh;
    auto report = loadEncoderWeights(*encoder, *m_pretrained->folder, m_ctx.exp.model.allowMissingWeights, !fresh);
    if (!report)
        return report.error();
    for (const auto &msg : report->messages(m_pretrained->folder->weightsPath.string()))
        m_ctx.log(report->missing.empty() ? "info" : "warning", msg);
    const bool headLoaded = std::none_of(report->newlyInitialized.begin(), report->newlyInitialized.end(),
                                         [&](const std::string &name) { return encoder->isLogits(name); });
    if (headLoaded && head.action == hf::HeadPlan::Action::Reorder)
        encoder->reorderLogits(head.rows);
    if (!head.message.empty() && (headLoaded || fresh))
        m_ctx.log(head.warn ? "warning" : "info", head.message);
    return Unit{};
}

// model.init_from "run:UID": the pre-training run's sentencepiece model, copied into this run; its [CLS] row
// follows the pieces as in the MLM run.
Status ClassifyObjective::prepareFromRun()
{
    auto tok = tokenizerFromRun(m_ctx.options.runDir, m_ctx.exp, m_ctx.exp.tokenizer,
                                m_ctx.options.resume || m_ctx.rank > 0);
    if (!tok)
        return tok.error();
    m_tokenizer = std::move(*tok);
    m_ctx.log("info", "encoder pre-trained by run " + m_ctx.exp.model.initRun().ref + " (" +
                          initRunDir(m_ctx.options.runDir, m_ctx.exp).string() + ")");
    return Unit{};
}

// The pre-training run's encoder weights into this classifier's encoder. The head is new.
Status ClassifyObjective::loadRunWeights()
{
    auto loaded = weightsFromRun(m_ctx.options.runDir, m_ctx.exp, *m_model, "bert.");
    if (!loaded)
        return loaded.error();
    m_ctx.log("info", *loaded + "; the classification head is newly initialized");
    return Unit{};
}

Status ClassifyObjective::prepare()
{
    if (auto read = readData(); !read)
        return read;
    std::vector<std::string> texts(m_data.paper.size());
    for (size_t i = 0; i < texts.size(); ++i)
        texts[i] = paperText(m_papers[m_data.paper[i]], m_ctx.exp.data.text);
    const ModelSpec &m = m_ctx.exp.model;
    if (auto tok = m.initFromRun() ? prepareFromRun() : m.pretrained() ? preparePretrained() : prepareTokenizer(texts);
        !tok)
        return tok;
    m_tokens = encodeExamples(texts);
    m_rows = tokenRowsFor(m_ctx.exp.model, m_tokenizer->vocabSize());
    m_outputs = m_data.kind == TaskKind::Binary ? 1 : int(m_data.labelNames.size());
    // Replaced whole: a predict reading it meanwhile (a resume's setup) never sees it cut, and a full disk fails here.
    const std::string labels = json(m_data.labelNames).dump(2) + "\n";
    if (m_ctx.rank == 0)
        if (auto written = writeFileReplacing(m_ctx.options.runDir / runfiles::kLabels, labels); !written)
            return written;
    return Unit{};
}

// The examples' token ids, from the token cache when a run of the same texts and tokenizer wrote them, else encoded
// and cached. Only a sentencepiece tokenizer has a model file that names it; a Hugging Face one encodes every time.
std::vector<std::vector<int>> ClassifyObjective::encodeExamples(const std::vector<std::string> &texts)
{
    const auto *sentencepiece = dynamic_cast<const Tokenizer *>(m_tokenizer.get());
    const fs::path entry =
        sentencepiece ? tokenCachePath(cacheRoot(m_ctx.options.cacheDir), sentencepiece->modelPath(),
                                       m_ctx.exp.config.value("tokenizer", json::object()).dump(), texts)
                      : fs::path();
    std::error_code ec;
    if (!entry.empty() && fs::exists(entry, ec)) {
        auto cached = loadTokenCache(entry, texts.size());
        if (cached) {
            touchCacheEntry(entry);
            m_ctx.log("info", "token ids of " + std::to_string(texts.size()) + " texts from the cache (" +
                                  entry.string() + ")");
            return std::move(*cached);
        }
        m_ctx.log("warning", cached.message() + "; the texts were encoded anew");
    }
    auto tokens = m_tokenizer->encodeAll(texts, m_ctx.threadsPerProcess());
    if (!entry.empty() && m_ctx.rank == 0)
        if (auto saved = saveTokenCache(entry, tokens); !saved)
            m_ctx.log("warning", saved.message() + "; the next run encodes the texts again");
    return tokens;
}

json ClassifyObjective::dataSummary() const
{
    json labels = json::array();
    for (size_t c = 0; c < m_data.labelNames.size(); ++c)
        labels.push_back({{"label", m_data.labelNames[c]}, {"count", m_data.labelCounts[c]}});
    return {{"file", m_dataFile.string()},
            {"lines", m_report.lines},
            {"rows", m_report.rows},
            {"bad_lines", m_report.bad},
            {"duplicates", m_report.duplicates},
            {"examples", m_data.paper.size()},
            {"dropped", m_data.dropped},
            {"classes", m_data.labelNames.size()},
            {"labels", labels},
            {"train", m_split.train.size()},
            {"validation", m_split.validation.size()},
            {"test", m_split.test.size()},
            {"vocab", m_tokenizer->vocabSize()},
            {"encoder", m_pretrained ? json{{"family", hf::familyName(m_pretrained->config.family)},
                                            {"layers", m_pretrained->config.layers},
                                            {"hidden", m_pretrained->config.hiddenSize},
                                            {"heads", m_pretrained->config.heads},
                                            {"init_from", m_ctx.exp.model.initFrom}}
                                      : json()},
            {"tokenizer_cached", m_tokenizerFromCache}};
}

// training.balanced: inverse-frequency class weights (multiclass), or negatives/positives per label (binary,
// multilabel).
void ClassifyObjective::setClassWeights()
{
    const auto &counts = m_data.labelCounts;
    const double total = double(m_data.paper.size());
    std::vector<float> w;
    if (m_data.kind == TaskKind::MultiClass) {
        for (auto c : counts)
            w.push_back(float(total / (double(counts.size()) * double(std::max<int64_t>(1, c)))));
    } else {
        for (size_t c = m_data.kind == TaskKind::Binary ? 1 : 0; c < counts.size(); ++c)
            w.push_back(float((total - double(counts[c])) / double(std::max<int64_t>(1, counts[c]))));
    }
    m_classWeights = torch::tensor(w).to(m_ctx.device);
    m_classWeightsHost = w;
}

Status ClassifyObjective::createModel()
{
    const Experiment &e = m_ctx.exp;
    // Row-sparse updates pay off for the bag model's big table (engine/optim.h, SparseRowOptimizer);
    // `optimizer.sparse_embeddings` turns them off (a dense optimizer on every row, PyTorch's default behaviour).
    m_sparse = e.model.hasBag() && e.config.value("optimizer", json::object()).value("sparse_embeddings", true);
    m_model = makeModel(e.model, m_rows.vocab, m_outputs, e.tokenizer.maxTokens, m_sparse,
                        m_pretrained ? &m_pretrained->config : nullptr);
    // A resumed run's weights come from its checkpoint; one resumed before it wrote any starts as a new run does.
    if (!continuesFromCheckpoint(m_ctx.options.resume, m_ctx.options.runDir))
        if (auto loaded = e.model.initFromRun() ? loadRunWeights() : loadPretrainedWeights(); !loaded)
            return loaded;
    m_model->to(m_ctx.device);
    m_model->train();
    m_inputs = inputSpecFor(e.model, m_rows, m_tokenizer->pieceTexts());
    if (auto *bag = m_model->bag(); bag && bag->tfidf()) {
        std::vector<const std::vector<int> *> train;
        for (size_t i : m_split.train)
            train.push_back(&m_tokens[i]);
        bag->setIdf(train, m_inputs); // a resumed run reads the same values back from its checkpoint
    }
    if (e.training.balanced)
        setClassWeights();
    std::string whyNot;
    m_fused.reset();
    if (m_ctx.options.lrFind) // the LR range test trains through autograd (engine/lrfind.cpp)
        return Unit{};
    m_fused = FusedBagStep::forRun(*m_model, m_ctx, m_data.kind == TaskKind::MultiClass, m_classWeights.defined(), whyNot);
    if (m_fused)
        m_ctx.log("info", "training step: the bag model's fused SGD step (fastText's, without autograd)");
    else if (e.model.type == ModelType::Bag)
        m_ctx.log("info", "training step: autograd, as usual (fastText's faster fused step does not apply: " +
                              whyNot + ")");
    return Unit{};
}

Batch ClassifyObjective::makeBatch(const std::vector<size_t> &examples, size_t begin, size_t end) const
{
    const auto n = int64_t(end - begin);
    std::vector<const std::vector<int> *> tokens(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        tokens[size_t(i)] = &m_tokens[examples[begin + size_t(i)]];
    Batch b = makeInputs(tokens, m_inputs, m_ctx.device);
    auto labelsOf = [&](int64_t i) -> const std::vector<int> & { return m_data.labels[examples[begin + size_t(i)]]; };
    if (m_data.kind == TaskKind::MultiClass) {
        std::vector<int64_t> y(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i)
            y[size_t(i)] = labelsOf(i)[0];
        b.targets = torch::from_blob(y.data(), {n}, torch::kLong).clone().to(m_ctx.device);
    } else if (m_data.kind == TaskKind::Binary) {
        std::vector<float> y(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i)
            y[size_t(i)] = float(labelsOf(i)[0]);
        b.targets = torch::from_blob(y.data(), {n}, torch::kFloat).clone().to(m_ctx.device);
    } else {
        auto y = torch::zeros({n, int64_t(m_outputs)}, torch::kFloat);
        auto acc = y.accessor<float, 2>();
        for (int64_t i = 0; i < n; ++i)
            for (int l : labelsOf(i))
                acc[i][l] = 1.0f;
        b.targets = y.to(m_ctx.device);
    }
    return b;
}

torch::Tensor ClassifyObjective::lossOf(const torch::Tensor &logits, const Batch &batch, bool training) const
{
    namespace F = torch::nn::functional;
    const bool weighted = training && m_classWeights.defined();
    if (m_data.kind == TaskKind::MultiClass) {
        auto opts = F::CrossEntropyFuncOptions().label_smoothing(training ? m_ctx.exp.optimizer.labelSmoothing : 0.0);
        if (weighted)
            opts.weight(m_classWeights);
        return F::cross_entropy(logits, batch.targets, opts);
    }
    auto opts = F::BinaryCrossEntropyWithLogitsFuncOptions();
    if (weighted)
        opts.pos_weight(m_classWeights);
    const auto input = m_data.kind == TaskKind::Binary ? logits.squeeze(1) : logits;
    return F::binary_cross_entropy_with_logits(input, batch.targets, opts);
}

StepLoss ClassifyObjective::trainingLoss(const std::vector<size_t> &examples, size_t begin, size_t end)
{
    const Batch batch = makeBatch(examples, begin, end);
    std::vector<torch::Tensor> logits;
    {
        AutocastGuard autocast(m_ctx.bf16, m_ctx.device.is_cuda());
        logits = m_model->trainingLogits(batch);
    }
    StepLoss loss;
    loss.terms = logits.size();
    for (const auto &l : logits) {
        auto part = lossOf(l.to(torch::kFloat), batch, true);
        loss.sum = loss.sum.defined() ? loss.sum + part : part;
    }
    return loss;
}

// Multiclass with class weights: the weighted mean loss divides by the sum of the examples' weights.
double ClassifyObjective::lossWeight(const std::vector<size_t> &examples, size_t begin, size_t end) const
{
    if (m_data.kind != TaskKind::MultiClass || m_classWeightsHost.empty())
        return double(end - begin);
    double w = 0;
    for (size_t i = begin; i < end; ++i)
        w += m_classWeightsHost[size_t(m_data.labels[examples[i]][0])];
    return w;
}

// Probabilities of every example, scored in batches taken in order of length (a sequence model pads little)
// and put back in input order, with the mean loss and the metrics summary.
EvalOutput ClassifyObjective::score(const std::vector<size_t> &examples)
{
    torch::NoGradGuard noGrad;
    m_model->eval();
    EvalOutput out;
    const size_t outputs = size_t(m_outputs);
    out.probs.resize(examples.size() * outputs);
    std::vector<const std::vector<int> *> tokens(examples.size());
    for (size_t i = 0; i < examples.size(); ++i)
        tokens[i] = &m_tokens[examples[i]];
    const auto order = lengthOrder(tokens);
    std::vector<size_t> sorted(examples.size());
    for (size_t i = 0; i < order.size(); ++i)
        sorted[i] = examples[order[i]];
    double lossSum = 0;
    const size_t chunk = 512;
    for (size_t begin = 0; begin < sorted.size(); begin += chunk) {
        const size_t end = std::min(sorted.size(), begin + chunk);
        const Batch b = makeBatch(sorted, begin, end);
        torch::Tensor logits;
        {
            AutocastGuard autocast(m_ctx.bf16, m_ctx.device.is_cuda());
            logits = m_model->forward(b).to(torch::kFloat);
        }
        lossSum += lossOf(logits, b, false).item<double>() * double(end - begin);
        auto probs = (m_data.kind == TaskKind::MultiClass ? torch::softmax(logits, 1) : torch::sigmoid(logits))
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
        truth[i] = &m_data.labels[examples[i]];
    out.summary = summarizeEvaluation(m_data.kind, out.probs, truth, m_data.labelNames, out.loss);
    return out;
}

void ClassifyObjective::report(const std::vector<size_t> &examples, const EvalOutput &out, int64_t step,
                               const std::string &split)
{
    if (!m_ctx.journal)
        return;
    std::vector<const Paper *> papers(examples.size());
    std::vector<const std::vector<int> *> truth(examples.size());
    for (size_t i = 0; i < examples.size(); ++i) {
        papers[i] = &m_papers[m_data.paper[examples[i]]];
        truth[i] = &m_data.labels[examples[i]];
    }
    reportEvaluation(*m_ctx.journal, m_ctx.exp.evaluation, m_data.kind, m_data.labelNames, papers, truth, out, step,
                     split);
}

json ClassifyObjective::evaluate(EvalSplit split, int64_t step)
{
    const auto &examples = split == EvalSplit::Validation ? m_split.validation : m_split.test;
    if (examples.empty())
        return nullptr;
    const auto out = score(examples);
    report(examples, out, step, split == EvalSplit::Validation ? "val" : "test");
    return out.summary;
}

} // namespace

Result<std::vector<Paper>> readRunPapers(const RunContext &ctx, fs::path &dataFile, ReadReport &report,
                                         const ReadNeeds &needs)
{
    const Experiment &e = ctx.exp;
    dataFile = dataSourcePath(e.data, ctx.options.dataRoot);
    auto files = resolveDataFiles(e.data.paths, ctx.options.dataRoot);
    if (!files)
        return files.error();
    ctx.log("info", "reading " + dataFile.string() +
                        (files->size() > 1 ? " (" + std::to_string(files->size()) + " files)" : ""));
    ReadNeeds reading = needs;
    reading.abstracts = reading.abstracts && e.data.text != TextField::Title; // most of a paper's bytes
    PaperCacheUse cache;
    auto papers = readPaperFilesCached(*files, e.data, reading, cacheRoot(ctx.options.cacheDir), report, cache);
    if (!cache.problem.empty())
        ctx.log("warning", cache.problem);
    if (!papers)
        return papers.error();
    if (cache.hit)
        ctx.log("info",
                "read " + std::to_string(papers->size()) + " papers from the cache (" + cache.entry.string() + ")");
    logReadReport(ctx, dataFile, report);
    return papers;
}

void logReadReport(const RunContext &ctx, const fs::path &dataFile, const ReadReport &report)
{
    if (report.bad > 0) {
        std::string msg = std::to_string(report.bad) + " of " + std::to_string(report.lines) + " lines of " +
                          dataFile.string() + " could not be read and were skipped";
        for (const auto &err : report.firstErrors)
            msg += "\n  " + err;
        ctx.log("warning", msg);
    }
    if (report.duplicates > 0) {
        std::string msg = std::to_string(report.duplicates) + " papers of " + dataFile.string() +
                          " were listed more than once; each is kept once, in one split";
        for (const auto &dup : report.firstDuplicates)
            msg += "\n  " + dup;
        ctx.log("warning", msg);
    }
}

std::unique_ptr<Objective> makeObjective(RunContext &context)
{
    if (context.exp.training.objective == TrainingObjective::Mlm)
        return makeMlmObjective(context);
    return std::make_unique<ClassifyObjective>(context);
}

} // namespace lbk
