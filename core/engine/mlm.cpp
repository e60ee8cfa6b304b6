// Masked-language-model pre-training (training.objective "mlm"): an encoder learns the texts alone. Documents
// are read as a stream, split into training and held-out ones, tokenized whole with the run's tokenizer and
// packed into sequences of tokenizer.max_tokens ids in files of a cache (data/mlmcorpus.h), which training maps
// back, so memory does not grow with the corpus; they are masked afresh for every batch (engine/mlm.h).
// Evaluation scores the held-out sequences under one fixed masking: loss, accuracy and perplexity of the
// masked tokens.
#include "engine/mlm.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <thread>
#include <tuple>

#include "data/dataset.h"
#include "data/mlmcorpus.h"
#include "data/packing.h"
#include "engine/checkpoint.h"
#include "engine/encoder.h"
#include "engine/hfweights.h"
#include "engine/objective.h"
#include "engine/optim.h"
#include "engine/runcontext.h"
#include "engine/tokenizer.h"
#include "experiment/schema.h"
#include "store/runfiles.h"
#include "util/filebytes.h"
#include "util/stablehash.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

MaskedTokens maskTokens(const torch::Tensor &ids, const torch::Tensor &maskable, const MaskingOptions &o,
                        torch::Generator &gen)
{
    const auto draw = [&](double p) {
        return torch::bernoulli(torch::full(ids.sizes(), p, torch::kFloat), gen).to(torch::kBool);
    };
    const auto chosen = draw(o.probability).logical_and(maskable);
    const auto replaced = draw(0.8).logical_and(chosen);
    const auto randomised = draw(0.5).logical_and(chosen).logical_and(replaced.logical_not());
    const auto randomIds = torch::randint(o.vocab, ids.sizes(), gen, torch::TensorOptions(torch::kLong));
    auto inputs = torch::where(replaced, torch::full_like(ids, o.maskId), ids);
    inputs = torch::where(randomised, randomIds, inputs);
    return {inputs, torch::where(chosen, ids, torch::full_like(ids, -100))};
}

// A pre-training run's model from scratch: the experiment's sizes, and its decoder tied or not (mlm.tied_decoder).
static hf::EncoderConfig scratchMlmConfig(const Experiment &e, int rows)
{
    hf::EncoderConfig c = scratchEncoderConfig(e.model, rows, e.tokenizer.maxTokens);
    c.tieWordEmbeddings = e.mlm.tiedDecoder;
    return c;
}

Result<PretrainedMlm> loadMlmRun(const fs::path &runDir, int64_t step)
{
    auto config = readJsonFile(runDir / runfiles::kExperiment);
    if (!config)
        return config.error();
    auto exp = experimentFromRecorded(*config);
    if (!exp)
        return exp.error();
    if (exp->training.objective != TrainingObjective::Mlm)
        return Error{runDir.string() + ": not a masked-language-model pre-training run"};
    PretrainedMlm out;
    out.exp = std::move(*exp);
    if (out.exp.model.pretrained()) { // continued pre-training: the checkpoint's config and tokenizer, copied into the run
        auto hf = readRunPretrained(runHfDir(runDir));
        if (!hf)
            return hf.error();
        out.hf = std::move(*hf);
        out.special = mlmSpecialIds(*out.hf->tokenizer, out.hf->config.vocabSize);
        out.model = EncoderMaskedLM(out.hf->config).ptr();
    } else {
        auto tok = Tokenizer::load(runDir / runfiles::kTokenizer, out.exp.tokenizer);
        if (!tok)
            return tok.error();
        out.tokenizer = std::move(*tok);
        out.special = mlmSpecialIds(out.tokenizer->vocabSize());
        out.model = EncoderMaskedLM(scratchMlmConfig(out.exp, out.special.rows)).ptr();
    }
    out.model->eval();
    const std::vector<std::string> kinds =
        step >= 0 ? std::vector<std::string>{runfiles::keptName(step)} : std::vector<std::string>{"best", "last"};
    for (const auto &kind : kinds) {
        CheckpointCounters counters;
        if (loadCheckpoint(runfiles::checkpoint(runDir, kind), *out.model, torch::kCPU, nullptr, &counters)) {
            out.checkpoint = kind;
            out.step = counters.step;
            return out;
        }
    }
    if (step >= 0)
        return Error{runDir.string() + ": no " + runfiles::checkpointEntry(runfiles::keptName(step))};
    return Error{runDir.string() + ": the pre-training run has no checkpoint yet (checkpoints/best.pt or last.pt)"};
}

fs::path initRunDir(const fs::path &runDir, const Experiment &e)
{
    return runDir.parent_path() / e.model.initRun().ref;
}

Result<std::unique_ptr<Tokenizer>> tokenizerFromRun(const fs::path &runDir, const Experiment &e,
                                                    const TokenizerSpec &spec, bool keepOwnCopy)
{
    const std::string ref = e.model.initRun().ref;
    if (fs::exists(runHfDir(initRunDir(runDir, e)) / "config.json"))
        return badInput(continuedPretrainingRefusal(ref));
    const fs::path own = runDir / runfiles::kTokenizer;
    if (!(keepOwnCopy && fs::exists(own))) {
        const fs::path theirs = initRunDir(runDir, e) / runfiles::kTokenizer;
        std::error_code ec;
        fs::copy_file(theirs, own, fs::copy_options::overwrite_existing, ec);
        if (ec)
            return Error{"model.init_from: " + theirs.string() + ": cannot copy the pre-training run's tokenizer (" +
                         ec.message() + "); is the run's folder on this machine?"};
    }
    return Tokenizer::load(own, spec);
}

Result<std::string> weightsFromRun(const fs::path &runDir, const Experiment &e, torch::nn::Module &model,
                                   const std::string &prefix)
{
    const std::string ref = e.model.initRun().ref;
    auto pre = loadMlmRun(initRunDir(runDir, e), e.model.initRun().step);
    if (!pre)
        return Error{"model.init_from: " + pre.message()};
    std::map<std::string, torch::Tensor> theirs;
    for (const auto &p : pre->model->named_parameters())
        theirs.emplace(p.key(), p.value());
    torch::NoGradGuard noGrad;
    size_t loaded = 0;
    for (auto &p : model.named_parameters()) {
        if (p.key().rfind(prefix, 0) != 0)
            continue;
        const auto it = theirs.find(p.key());
        if (it == theirs.end())
            return Error{"model.init_from: run " + ref + " has no " + p.key()};
        torch::Tensor t = it->second;
        if (p.key().find("position_embeddings") != std::string::npos && t.size(0) >= p.value().size(0))
            t = t.narrow(0, 0, p.value().size(0));
        if (t.sizes() != p.value().sizes())
            return Error{"model.init_from: " + p.key() + " is " + shapeText(t.sizes()) + " in run " + ref + " but " +
                         shapeText(p.value().sizes()) +
                         " here: the sizes must be the pre-training run's, tokenizer.max_tokens within its windows"};
        p.value().copy_(t);
        ++loaded;
    }
    return "loaded " + std::to_string(loaded) + " tensors from " + initRunDir(runDir, e).string() + "/checkpoints/" +
           pre->checkpoint + ".pt (step " + std::to_string(pre->step) + ")";
}

MlmSpecialIds mlmSpecialIds(const hf::HfTokenizer &tokenizer, int rows)
{
    const hf::SpecialTokens &t = tokenizer.special();
    return {t.pad, t.cls, t.sep, t.mask, rows};
}

torch::Tensor mlmMaskable(const torch::Tensor &ids, const MlmSpecialIds &special)
{
    return ids.ne(special.pad).logical_and(ids.ne(special.cls)).logical_and(ids.ne(special.sep));
}

ParamGroup mlmParamGroup(const std::string &name)
{
    const bool decay = decaysWeight(name);
    return ParamGroup{decay ? "" : "no_decay", 1.0, decay, false};
}

std::vector<std::string> mlmPieceNames(std::vector<std::string> pieces, const MlmSpecialIds &special)
{
    pieces.resize(size_t(special.rows));
    pieces[size_t(special.pad)] = "[PAD]";
    pieces[size_t(special.cls)] = "[CLS]";
    pieces[size_t(special.sep)] = "[SEP]";
    pieces[size_t(special.mask)] = "[MASK]";
    return pieces;
}

namespace {

// Pieces [from, to) of a sequence as text, the chosen position `at` between brackets as the model saw it. A word
// starts where sentencepiece's mark is, on the original piece where a token was replaced; [CLS] and [SEP] stand
// apart.
std::string contextText(const FillSample &s, int64_t row, int64_t from, int64_t to, int64_t at,
                        const std::vector<std::string> &names)
{
    static const std::string kMark = "\u2581";
    const int64_t width = s.inputs.size(1);
    const int64_t *ids = s.inputs.data_ptr<int64_t>() + row * width;
    const int64_t *labels = s.labels.data_ptr<int64_t>() + row * width;
    const auto name = [&](int64_t id) { return size_t(id) < names.size() ? names[size_t(id)] : std::string("?"); };
    std::string text = from > 0 ? "\u2026" : "";
    bool afterSeparate = false;
    for (int64_t k = from; k < to; ++k) {
        std::string piece = name(ids[k]);
        const bool separate = ids[k] == s.special.cls || ids[k] == s.special.sep;
        const bool word = separate || afterSeparate || (labels[k] >= 0 ? name(labels[k]) : piece).starts_with(kMark);
        // The mark is the space before a word; alone at the chosen position it stays, or its brackets hold nothing.
        if (piece.starts_with(kMark) && !(k == at && piece == kMark))
            piece.erase(0, kMark.size());
        if (word && !text.empty() && text.back() != ' ')
            text += ' ';
        text += k == at ? "\u27e6" + piece + "\u27e7" : piece;
        afterSeparate = separate;
    }
    return text;
}

} // namespace

json fillRows(const FillSample &s, const std::vector<std::string> &names)
{
    // On the CPU before the accessors below read them (a CUDA run's logits live on the GPU).
    const auto probs = torch::softmax(s.logits.to(torch::kCPU, torch::kFloat), 1);
    const auto [topPs, topIds] = probs.topk(std::min<int64_t>(5, probs.size(1)), 1);
    const auto p = probs.accessor<float, 2>();
    const auto topP = topPs.accessor<float, 2>();
    const auto topId = topIds.accessor<int64_t, 2>();
    const int64_t width = s.inputs.size(1);
    const int64_t *lab = s.labels.data_ptr<int64_t>();
    const auto len = s.lengths.accessor<int64_t, 1>();
    const auto name = [&](int64_t id) { return size_t(id) < names.size() ? names[size_t(id)] : std::string("?"); };
    json rows = json::array();
    int64_t n = 0; // index into the chosen positions, row-major as maskedLogits returns them
    for (int64_t r = 0; r < s.inputs.size(0); ++r)
        for (int64_t k = 0; k < width; ++k) {
            if (lab[r * width + k] < 0)
                continue;
            if (r < s.sequences) {
                const int64_t truth = lab[r * width + k];
                json top = json::array();
                for (int64_t j = 0; j < topIds.size(1); ++j)
                    top.push_back(json::array({name(topId[n][j]), topP[n][j]}));
                char id[48];
                std::snprintf(id, sizeof id, "seq%03lld:%03lld", (long long)r, (long long)k);
                rows.push_back({{"id", id},
                                {"title", contextText(s, r, std::max<int64_t>(0, k - 12),
                                                      std::min<int64_t>(len[r], k + 13), k, names)},
                                {"truth", json::array({name(truth)})},
                                {"top", top},
                                {"correct", topId[n][0] == truth},
                                {"p_true", p[n][truth]}});
            }
            ++n;
        }
    return rows;
}

namespace {

class MlmObjective : public Objective {
public:
    explicit MlmObjective(RunContext &context) : m_ctx(context) {}

    Status prepare() override;
    json dataSummary() const override;
    std::vector<int64_t> shape() const override
    {
        return {int64_t(m_train.size()), int64_t(m_validation.size()), int64_t(m_special.rows)};
    }
    Status createModel() override;
    torch::nn::Module &model() override { return *m_model; }
    std::function<ParamGroup(const std::string &)> paramGroupOf() const override
    {
        return mlmParamGroup;
    }
    torch::Tensor sparseTable() override { return {}; }
    // train/accuracy (of the masked tokens since the last log), train/perplexity, train/tokens_per_s.
    void addTrainingMetrics(json &values, double meanLoss, double examplesPerSecond) override;
    const std::vector<size_t> &trainExamples() const override { return m_trainOrder; }
    StepLoss trainingLoss(const std::vector<size_t> &examples, size_t begin, size_t end) override;
    double lossWeight(const std::vector<size_t> &examples, size_t begin, size_t end) const override;
    json evaluate(EvalSplit split, int64_t step) override;
    void reportArtifacts() override
    {
        m_ctx.emit("artifact", {{"kind", "tokenizer"}, {"path", runfiles::tokenizerEntry(m_pretrained.has_value())}});
    }

private:
    // The documents and their roles, made once, when first asked for: with mlm.task_split that reads the papers'
    // ids and categories, which a run whose tokenizer and corpus are cached never needs.
    Result<MlmDocuments> documents();
    // The tokenizer: a sentencepiece model trained on the training documents, or (model.init_from) the checkpoint's.
    Status prepareTokenizer();
    Status preparePretrained();
    Status prepareFromRun(); // model.init_from "run:UID": pre-training continued from that run's tokenizer and weights
    Status prepareCorpus();
    void sayWhenTheCorpusChanged(const std::string &key) const;
    // The packed corpus's cache entry: everything the sequences depend on.
    fs::path corpusCacheBase() const;
    std::vector<std::vector<int>> encodeAll(const std::vector<std::string> &texts) const;
    std::vector<std::string> pieceNames() const;
    // Sequences [begin, end) of packed, in the order given, as ids [B, L] and lengths [B].
    std::pair<torch::Tensor, torch::Tensor> batchOf(const PackedSequences &packed, const std::vector<size_t> &order,
                                                    size_t begin, size_t end) const;
    MaskedTokens mask(const torch::Tensor &ids, torch::Generator &gen) const;
    // A training batch's masks (sequences examples[begin...] as ids and lengths from batchOf), drawn per sequence.
    MaskedTokens trainingMasks(const std::vector<size_t> &examples, size_t begin, const torch::Tensor &ids,
                               const torch::Tensor &lengths) const;
    // Sum of the masked tokens' losses, how many were right, and how many there were; logits, when asked for,
    // receives the chosen positions' logits [N, V] in row-major order.
    std::tuple<torch::Tensor, int64_t, int64_t> masked(const MaskedTokens &m, const torch::Tensor &lengths,
                                                       bool countCorrect, torch::Tensor *logitsOut = nullptr);
    // Prediction rows for the chosen tokens of the first sequences of an evaluation batch (fillRows).
    json fills(const MaskedTokens &m, const torch::Tensor &lengths, const torch::Tensor &logits) const;

    RunContext &m_ctx;
    fs::path m_dataFile;
    std::vector<fs::path> m_files;
    std::optional<MlmDocuments> m_documents;
    MlmCorpusCounts m_counts;
    bool m_corpusFromCache = false;
    std::unique_ptr<Tokenizer> m_tokenizer;
    std::optional<PretrainedEncoder> m_pretrained; // model.init_from: continued pre-training of that checkpoint
    bool m_tokenizerFromCache = false;
    MlmSpecialIds m_special;
    PackedSequences m_train, m_validation;
    std::vector<size_t> m_trainOrder;
    std::shared_ptr<EncoderMaskedLMImpl> m_model;
    int64_t m_trainRight = 0, m_trainMasked = 0; // masked tokens guessed right, and trained on, since the last log
    int64_t m_trainSteps = 0, m_stepsMasking = 0; // training losses since the last log, and those that masked a token
};

// Which documents train and which are held out: by default by a hash of each paper's id (data/mlmcorpus.h). With
// mlm.task_split the documents fall as a classifier of this experiment's labels splits its papers, so pre-training
// never reads a paper that a classifier fine-tuned on that task validates or tests on.
Result<MlmDocuments> MlmObjective::documents()
{
    if (m_documents)
        return *m_documents;
    const Experiment &e = m_ctx.exp;
    MlmDocuments docs{m_files, e.data, DocumentSplit::byHash(e.split)};
    if (e.mlm.taskSplit) {
        std::string summary;
        auto split = DocumentSplit::byTask(m_files, e.data, e.labels, e.split, &summary);
        if (!split)
            return split.error();
        docs.split = std::move(*split);
        docs.needs.categories = true;
        m_ctx.log("info", summary);
    }
    m_documents = docs;
    return docs;
}

std::vector<std::vector<int>> MlmObjective::encodeAll(const std::vector<std::string> &texts) const
{
    if (!m_pretrained)
        return m_tokenizer->encodeAll(texts, m_ctx.threadsPerProcess());
    // Whole documents in the checkpoint's pieces, without special tokens (packing adds them), on the run's threads.
    std::vector<std::vector<int>> out(texts.size());
    const auto &tok = *m_pretrained->tokenizer;
    const size_t threads = size_t(std::max(1, m_ctx.threadsPerProcess()));
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (size_t i = t; i < texts.size(); i += threads)
                out[i] = tok.piecesToIds(tok.tokenize(texts[i]));
        });
    for (auto &th : pool)
        th.join();
    return out;
}

std::vector<std::string> MlmObjective::pieceNames() const
{
    return mlmPieceNames(m_pretrained ? m_pretrained->tokenizer->displayPieces() : m_tokenizer->pieceTexts(), m_special);
}

// Documents are encoded whole: the sequence length is the packing's, not a cut of each text.
static TokenizerSpec wholeDocuments(TokenizerSpec spec)
{
    spec.maxTokens = std::numeric_limits<int>::max() / 2;
    return spec;
}

Status MlmObjective::prepareTokenizer()
{
    const TokenizerSpec whole = wholeDocuments(m_ctx.exp.tokenizer);
    const RunTokenizerRequest request{m_ctx.options.runDir, m_ctx.options.cacheDir,
                                      m_ctx.options.resume || m_ctx.rank > 0, m_ctx.threadsPerProcess()};
    const TokenizerFeed feed = [&](TokenizerCorpus &corpus) -> Status {
        auto docs = documents();
        if (!docs)
            return docs.error();
        m_ctx.log("info", "reading " + m_dataFile.string() + " for the tokenizer's word counts");
        return docs->forEach([&](DocumentRole role, std::string &&text) {
            if (role == DocumentRole::Train)
                corpus.add(text);
            return true;
        });
    };
    auto tok = prepareRunTokenizer(request, feed, whole, &m_tokenizerFromCache);
    if (!tok)
        return tok.error();
    m_tokenizer = std::move(*tok);
    m_special = mlmSpecialIds(m_tokenizer->vocabSize());
    return Unit{};
}

Status MlmObjective::prepareFromRun()
{
    auto tok = tokenizerFromRun(m_ctx.options.runDir, m_ctx.exp, wholeDocuments(m_ctx.exp.tokenizer),
                                m_ctx.options.resume || m_ctx.rank > 0);
    if (!tok)
        return tok.error();
    m_tokenizer = std::move(*tok); // the run's, not trained here (and not from the cache either)
    m_special = mlmSpecialIds(m_tokenizer->vocabSize());
    m_ctx.log("info", "continued pre-training of run " + m_ctx.exp.model.initRun().ref + " (" +
                          initRunDir(m_ctx.options.runDir, m_ctx.exp).string() + "), with its tokenizer");
    return Unit{};
}

// model.init_from: the folder's config and tokenizer, or (resuming, further ranks) the run's own copy of them.
Status MlmObjective::preparePretrained()
{
    auto p = prepareRunPretrained(m_ctx.exp, m_ctx.options.dataRoot, m_ctx.options.runDir,
                                  continuesFromCheckpoint(m_ctx.options.resume, m_ctx.options.runDir) ||
                                      m_ctx.rank > 0);
    if (!p)
        return p.error();
    m_pretrained = std::move(*p); // openPretrained checked the sizes and max_tokens against the experiment
    m_special = mlmSpecialIds(*m_pretrained->tokenizer, m_pretrained->config.vocabSize);
    m_ctx.log("info", "continued pre-training of " + describeEncoder(*m_pretrained, m_ctx.exp.model.initFrom));
    return Unit{};
}

namespace {
// A hash of the files' bytes, in the order given (a tokenizer's: a few MB at most).
// The files' bytes, with their names when names tell them apart (a Hugging Face folder's vocab.txt, merges.txt);
// one sentencepiece model is its bytes alone, so the tokenizer cached under its hash and the run's own copy
// (tokenizer.model, which a resume loads) give the same key.
uint64_t contentHash(const std::vector<fs::path> &files, uint64_t h, bool withNames)
{
    for (const auto &f : files) {
        const auto bytes = readFileBytes(f); // one that cannot be read hashes as empty, as a missing one does
        h = stableHash((withNames ? f.filename().string() + ":" : std::string()) + (bytes ? *bytes : std::string()), h);
    }
    return h;
}
} // namespace

fs::path MlmObjective::corpusCacheBase() const
{
    const Experiment &e = m_ctx.exp;
    std::vector<fs::path> tokenizerFiles;
    if (m_pretrained) {
        for (const auto &entry : fs::directory_iterator(runHfDir(m_ctx.options.runDir)))
            if (entry.is_regular_file() && entry.path().filename() != "config.json")
                tokenizerFiles.push_back(entry.path());
        std::sort(tokenizerFiles.begin(), tokenizerFiles.end());
    } else {
        tokenizerFiles.push_back(m_tokenizer->modelPath());
    }
    const json &c = e.config;
    const std::string settings =
        "mlm-corpus-v2|" + c.value("data", json::object()).dump() + "|" + c.value("split", json::object()).dump() +
        "|" + c.value("tokenizer", json::object()).dump() +
        "|" + (e.mlm.taskSplit ? c.value("labels", json::object()).dump() : std::string("hash")) + "|window " +
        std::to_string(e.tokenizer.maxTokens) + "|one " + std::to_string(e.mlm.onePerDocument) + "|" +
        std::to_string(m_special.cls) + "," + std::to_string(m_special.sep);
    const uint64_t h = contentHash(tokenizerFiles, stableHash(settings, dataFilesStamp(m_files)), m_pretrained.has_value());
    return cacheRoot(m_ctx.options.cacheDir) / "mlm-corpus" / hexKey(h);
}

// The corpus key (data files' stamp, settings, tokenizer) a run started with is kept in its folder: a resume that
// finds another packs what the files hold now, with other held-out documents and data positions, so its curves
// do not continue the interrupted ones. Said as a warning (the files were changed or touched meanwhile).
void MlmObjective::sayWhenTheCorpusChanged(const std::string &key) const
{
    if (m_ctx.rank > 0)
        return;
    const fs::path file = m_ctx.options.runDir / runfiles::kCorpusKey;
    std::string before;
    if (std::ifstream in(file); in && m_ctx.options.resume)
        std::getline(in, before);
    if (!before.empty() && before != key)
        m_ctx.log("warning", "the corpus is not the one this run started on: its data files changed (or were touched) "
                             "since, so the held-out documents and the data position differ from the interrupted "
                             "run's, and its curves do not continue comparably from here");
    std::ofstream(file) << key << "\n";
}

Status MlmObjective::prepareCorpus()
{
    MlmCorpusRequest r;
    r.documents = [&] { return documents(); };
    r.packing.window = m_ctx.exp.tokenizer.maxTokens;
    r.packing.cls = m_special.cls;
    r.packing.sep = m_special.sep;
    r.packing.onePerDocument = m_ctx.exp.mlm.onePerDocument;
    r.encode = [&](const std::vector<std::string> &texts) { return encodeAll(texts); };
    r.vocabRows = m_special.rows;
    r.cacheBase = corpusCacheBase();
    sayWhenTheCorpusChanged(r.cacheBase.filename().string());
    auto corpus = openMlmCorpus(r);
    if (!corpus)
        return corpus.error();
    if (!corpus->cacheProblem.empty())
        m_ctx.log("warning", corpus->cacheProblem + "; the corpus was packed anew");
    m_train = std::move(corpus->train);
    m_validation = std::move(corpus->heldOut);
    m_counts = corpus->counts;
    m_corpusFromCache = corpus->fromCache;
    if (m_corpusFromCache) {
        m_ctx.log("info", "packed sequences of " + m_dataFile.string() + " from the cache: " + r.cacheBase.string());
        if (m_counts.report.bad > 0 || m_counts.report.duplicates > 0)
            m_ctx.log("warning", "when it was packed, " + std::to_string(m_counts.report.bad) + " lines of " +
                                     m_dataFile.string() + " could not be read and " +
                                     std::to_string(m_counts.report.duplicates) + " repeated a paper; they were skipped");
    } else {
        logReadReport(m_ctx, m_dataFile, m_counts.report);
        m_ctx.log("info", "packed sequences of " + m_dataFile.string() + " kept in the cache: " + r.cacheBase.string());
    }
    return Unit{};
}

Status MlmObjective::prepare()
{
    m_dataFile = dataSourcePath(m_ctx.exp.data, m_ctx.options.dataRoot);
    auto files = resolveDataFiles(m_ctx.exp.data.paths, m_ctx.options.dataRoot);
    if (!files)
        return files.error();
    m_files = std::move(*files);
    const Experiment &e = m_ctx.exp;
    if (auto tok = e.model.initFromRun() ? prepareFromRun() : e.model.pretrained() ? preparePretrained()
                                                                                   : prepareTokenizer();
        !tok)
        return tok;
    if (auto corpus = prepareCorpus(); !corpus)
        return corpus;
    if (m_train.size() == 0)
        return badInput(m_dataFile.string() + ": no training sequences: " + std::to_string(m_counts.train) +
                        " training documents of " + std::to_string(m_counts.documents) +
                        " gave no tokens. Check data.text and the column it reads (data.columns), and split.validation");
    const double perBatch = m_ctx.exp.mlm.probability * double(m_ctx.exp.training.batchSize) *
                            double(m_train.tokens()) / double(m_train.size());
    if (perBatch < 4) {
        char text[200];
        std::snprintf(text, sizeof text, "mlm.probability %g masks about %.1f tokens per batch of %d sequences; a step "
                      "that masks none trains nothing. Raise mlm.probability or training.batch_size",
                      m_ctx.exp.mlm.probability, perBatch, m_ctx.exp.training.batchSize);
        m_ctx.log("warning", text);
    }
    m_trainOrder.resize(m_train.size());
    std::iota(m_trainOrder.begin(), m_trainOrder.end(), size_t(0));
    return Unit{};
}

json MlmObjective::dataSummary() const
{
    return {{"file", m_dataFile.string()},
            {"lines", m_counts.report.lines},
            {"rows", m_counts.report.rows},
            {"bad_lines", m_counts.report.bad},
            {"duplicates", m_counts.report.duplicates},
            {"objective", "mlm"},
            {"documents", m_counts.documents},
            {"train_documents", m_counts.train},
            {"validation_documents", m_counts.heldOut},
            {"train", m_train.size()},
            {"validation", m_validation.size()},
            {"test", 0},
            {"train_tokens", m_train.tokens()},
            {"validation_tokens", m_validation.tokens()},
            {"sequence_length", m_train.window()},
            {"corpus_cached", m_corpusFromCache},
            {"vocab", m_special.rows},
            {"special_ids", {{"pad", m_special.pad}, {"cls", m_special.cls}, {"sep", m_special.sep},
                             {"mask", m_special.mask}}},
            {"tokenizer_cached", m_tokenizerFromCache},
            {"tokenizer", m_pretrained ? m_pretrained->tokenizer->kind() : "sentencepiece"}};
}

Status MlmObjective::createModel()
{
    const Experiment &e = m_ctx.exp;
    m_model = EncoderMaskedLM(m_pretrained ? m_pretrained->config : scratchMlmConfig(e, m_special.rows)).ptr();
    if (m_pretrained && m_pretrained->folder) { // a fresh run: the checkpoint's weights (resuming: the run's own)
        auto report = loadEncoderWeights(*m_model, *m_pretrained->folder, e.model.allowMissingWeights);
        if (!report)
            return report.error();
        m_ctx.log("info", "loaded " + std::to_string(report->loaded) + " tensors from " +
                              m_pretrained->folder->weightsPath.string());
        for (const auto &msg : report->messages(m_pretrained->folder->weightsPath.string()))
            m_ctx.log(report->missing.empty() ? "info" : "warning", msg);
    }
    // A fresh run continuing a pre-training run: its weights, the prediction head too (resuming: the run's own).
    if (e.model.initFromRun() && !continuesFromCheckpoint(m_ctx.options.resume, m_ctx.options.runDir)) {
        auto loaded = weightsFromRun(m_ctx.options.runDir, e, *m_model, "");
        if (!loaded)
            return loaded.error();
        m_ctx.log("info", *loaded);
    }
    m_model->to(m_ctx.device);
    m_model->train();
    return Unit{};
}

std::pair<torch::Tensor, torch::Tensor> MlmObjective::batchOf(const PackedSequences &packed,
                                                              const std::vector<size_t> &order, size_t begin,
                                                              size_t end) const
{
    const auto n = int64_t(end - begin);
    int64_t width = 0;
    for (size_t i = begin; i < end; ++i)
        width = std::max<int64_t>(width, packed.length(order[i]));
    auto ids = torch::full({n, width}, int64_t(m_special.pad), torch::kLong);
    auto lengths = torch::empty({n}, torch::kLong);
    auto a = ids.accessor<int64_t, 2>();
    auto len = lengths.accessor<int64_t, 1>();
    for (int64_t r = 0; r < n; ++r) {
        const size_t s = order[begin + size_t(r)];
        const int32_t *p = packed.begin(s);
        const int n = packed.length(s);
        for (int k = 0; k < n; ++k)
            a[r][k] = p[k];
        len[r] = n;
    }
    return {ids, lengths};
}

MaskedTokens MlmObjective::mask(const torch::Tensor &ids, torch::Generator &gen) const
{
    return maskTokens(ids, mlmMaskable(ids, m_special), {m_ctx.exp.mlm.probability, m_special.mask, m_special.rows}, gen);
}

std::tuple<torch::Tensor, int64_t, int64_t> MlmObjective::masked(const MaskedTokens &m, const torch::Tensor &lengths,
                                                                 bool countCorrect, torch::Tensor *logitsOut)
{
    torch::Tensor logits, labels;
    {
        AutocastGuard autocast(m_ctx.bf16, m_ctx.device.is_cuda());
        std::tie(logits, labels) = m_model->maskedLogits(m.inputs.to(m_ctx.device), lengths.to(m_ctx.device),
                                                         m.labels.to(m_ctx.device));
    }
    logits = logits.to(torch::kFloat);
    if (logitsOut)
        *logitsOut = logits;
    const int64_t count = labels.size(0);
    if (count == 0) // nothing chosen (a tiny batch): a zero loss that still reaches every parameter
        return {logits.sum() * 0.0, 0, 0};
    const auto sum = torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    const int64_t right = countCorrect ? logits.argmax(1).eq(labels).sum().item<int64_t>() : 0;
    return {sum, right, count};
}

// Each sequence's masks come from the run's seed, the step and the sequence's index alone, over its own tokens:
// the same whichever batch, data-parallel share or accumulated part holds it, and again when a run resumes. So N
// processes, each weighing its share by its masked tokens (lossWeight), take exactly one process's step.
MaskedTokens MlmObjective::trainingMasks(const std::vector<size_t> &examples, size_t begin, const torch::Tensor &ids,
                                         const torch::Tensor &lengths) const
{
    MaskedTokens out{ids.clone(), torch::full_like(ids, -100)};
    const int64_t *length = lengths.data_ptr<int64_t>();
    for (int64_t b = 0; b < ids.size(0); ++b) {
        const uint64_t seed = stableHash(std::to_string(m_ctx.exp.training.seed) + ':' + std::to_string(m_ctx.step) +
                                         ':' + std::to_string(examples[begin + size_t(b)]));
        auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
        const auto row = mask(ids[b].narrow(0, 0, length[b]).unsqueeze(0), gen);
        out.inputs[b].narrow(0, 0, length[b]).copy_(row.inputs[0]);
        out.labels[b].narrow(0, 0, length[b]).copy_(row.labels[0]);
    }
    return out;
}

double MlmObjective::lossWeight(const std::vector<size_t> &examples, size_t begin, size_t end) const
{
    const auto [ids, lengths] = batchOf(m_train, examples, begin, end);
    const int64_t chosen = trainingMasks(examples, begin, ids, lengths).labels.ne(-100).sum().item<int64_t>();
    return double(std::max<int64_t>(1, chosen)); // none chosen: a zero loss, weighed as one token
}

StepLoss MlmObjective::trainingLoss(const std::vector<size_t> &examples, size_t begin, size_t end)
{
    const auto [ids, lengths] = batchOf(m_train, examples, begin, end);
    auto [sum, right, count] = masked(trainingMasks(examples, begin, ids, lengths), lengths, true);
    m_trainRight += right;
    m_trainMasked += count;
    ++m_trainSteps;
    m_stepsMasking += count > 0;
    return {sum / double(std::max<int64_t>(1, count)), 1};
}

void MlmObjective::addTrainingMetrics(json &values, double meanLoss, double examplesPerSecond)
{
    // A step that masked no token (a tiny batch) trains nothing and adds a loss of 0 to the trainer's mean of the
    // steps' losses: one process, one part a step, leaves such steps out of the mean (none masked at all: no loss).
    // Several processes or parts see their share only, and keep the trainer's mean.
    if (!m_ctx.dist && m_ctx.exp.training.accumulate == 1 && m_stepsMasking < m_trainSteps) {
        if (m_stepsMasking == 0)
            values.erase("train/loss");
        else
            values["train/loss"] = meanLoss = meanLoss * double(m_trainSteps) / double(m_stepsMasking);
    }
    if (m_trainMasked > 0)
        values["train/accuracy"] = double(m_trainRight) / double(m_trainMasked);
    if (values.contains("train/loss"))
        values["train/perplexity"] = std::exp(meanLoss);
    values["train/tokens_per_s"] =
        examplesPerSecond * double(m_train.tokens()) / double(std::max<size_t>(1, m_train.size()));
    m_trainRight = m_trainMasked = 0;
    m_trainSteps = m_stepsMasking = 0;
}

json MlmObjective::evaluate(EvalSplit split, int64_t step)
{
    if (split == EvalSplit::Test || m_validation.size() == 0)
        return nullptr;
    torch::NoGradGuard noGrad;
    m_model->eval();
    // One fixed masking for every evaluation, so the curve compares like with like.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(m_ctx.exp.training.seed ^ 0x6d6c6d2d6576616cULL);
    // Spread evenly over the held-out sequences, which are in the files' order, so a capped evaluation samples
    // all of the corpus and not its first documents.
    const size_t n = m_validation.size(), cap = size_t(m_ctx.exp.mlm.evalSequences);
    std::vector<size_t> order(cap > 0 ? std::min(cap, n) : n);
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = size_t(uint64_t(i) * n / order.size());
    double lossSum = 0;
    int64_t right = 0, count = 0;
    const size_t chunk = 64;
    json rows;
    for (size_t begin = 0; begin < order.size(); begin += chunk) {
        const auto [ids, lengths] = batchOf(m_validation, order, begin, std::min(order.size(), begin + chunk));
        const auto m = mask(ids, gen);
        torch::Tensor logits;
        auto [sum, r, c] = masked(m, lengths, true, begin == 0 ? &logits : nullptr);
        if (begin == 0)
            rows = fills(m, lengths, logits);
        lossSum += sum.item<double>();
        right += r;
        count += c;
    }
    m_model->train();
    const double loss = count > 0 ? lossSum / double(count) : std::nan("");
    const json summary = {{"loss", loss},
                          {"accuracy", count > 0 ? double(right) / double(count) : std::nan("")},
                          {"perplexity", std::exp(loss)},
                          {"examples", order.size()},
                          {"masked_tokens", count}};
    m_ctx.emit("evaluation", {{"step", step}, {"split", "val"}, {"summary", summary}});
    m_ctx.emit("metrics", {{"step", step},
                           {"values", {{"val/loss", summary["loss"]},
                                       {"val/accuracy", summary["accuracy"]},
                                       {"val/perplexity", summary["perplexity"]}}}}); // for lbk run's progress
    m_ctx.emit("predictions", {{"step", step}, {"split", "val"}, {"labels", json::array()}, {"rows", std::move(rows)}});
    return summary;
}

json MlmObjective::fills(const MaskedTokens &m, const torch::Tensor &lengths, const torch::Tensor &logits) const
{
    FillSample sample;
    sample.inputs = m.inputs.contiguous();
    sample.labels = m.labels.contiguous();
    sample.lengths = lengths;
    sample.logits = logits;
    sample.special = m_special;
    sample.sequences = kFillSequences;
    return fillRows(sample, pieceNames());
}

} // namespace

std::unique_ptr<Objective> makeMlmObjective(RunContext &context)
{
    return std::make_unique<MlmObjective>(context);
}

} // namespace lbk
