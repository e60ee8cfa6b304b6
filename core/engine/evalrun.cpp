// `lbk eval RUN --data FILE`: a finished run scored on another labelled file, recorded into the run as an
// evaluation of its own split (metrics, histograms, predictions), through the run's journal and the store's ingest.
#include <cmath>
#include <optional>
#include <unordered_set>

#include "data/dataset.h"
#include "data/datasetdump.h"
#include "engine/engine.h"
#include "engine/guarded.h"
#include "engine/evaluation.h"
#include "engine/loadedmodel.h"
#include "engine/tokenizer.h"
#include "engine/threads.h"
#include "protocol/journal.h"
#include "store/runfiles.h"
#include "store/store.h"
#include "util/text.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Mean unweighted loss (no label smoothing or class weights), so it compares across datasets.
double meanLoss(TaskKind kind, const std::vector<float> &probs, const std::vector<std::vector<int>> &labels, size_t k)
{
    auto nll = [](double p) { return -std::log(std::max(1e-12, p)); };
    double loss = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
        const auto &t = labels[i];
        if (kind == TaskKind::MultiClass) {
            loss += nll(probs[i * k + size_t(t[0])]);
        } else if (kind == TaskKind::Binary) {
            loss += nll(t[0] ? probs[i] : 1 - probs[i]);
        } else {
            double l = 0;
            for (size_t c = 0; c < k; ++c)
                l += nll(std::find(t.begin(), t.end(), int(c)) != t.end() ? probs[i * k + c] : 1 - probs[i * k + c]);
            loss += l / double(k);
        }
    }
    return loss / double(labels.size());
}

// Probabilities, loss and metrics summary of the run's model on the labelled examples.
EvalOutput scoreExamples(const LoadedModel &lm, const std::vector<Paper> &papers, const LabeledData &data, int threads)
{
    std::vector<std::string> texts(data.paper.size());
    for (size_t i = 0; i < texts.size(); ++i)
        texts[i] = paperText(papers[data.paper[i]], lm.exp.data.text);
    const auto tokens = lm.tokenizer->encodeAll(texts, threads);
    std::vector<const std::vector<int> *> all(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i)
        all[i] = &tokens[i];
    EvalOutput out;
    out.probs = scoreInBatches(all, 512, lm.width(), [&](const auto &part) { return lm.probabilities(part); });
    out.loss = meanLoss(lm.kind, out.probs, data.labels, lm.width());
    std::vector<const std::vector<int> *> truth(data.labels.size());
    for (size_t i = 0; i < truth.size(); ++i)
        truth[i] = &data.labels[i];
    out.summary = summarizeEvaluation(lm.kind, out.probs, truth, lm.labels, out.loss);
    return out;
}

// The evaluation's events appended to the run's journal, then ingested into the store.
Status record(Store &store, const RunDetail &run, const LoadedModel &lm, const std::vector<Paper> &papers,
              const LabeledData &data, const EvalOutput &out, const std::string &split, const std::string &file)
{
    const fs::path journalPath = fs::path(run.runDir) / runfiles::kJournal;
    auto journal = JournalWriter::open(journalPath);
    if (!journal)
        return journal.error();
    std::vector<const Paper *> kept(data.paper.size());
    std::vector<const std::vector<int> *> truth(data.paper.size());
    for (size_t i = 0; i < kept.size(); ++i) {
        kept[i] = &papers[data.paper[i]];
        truth[i] = &data.labels[i];
    }
    (*journal)->emit("log", {{"level", "info"},
                             {"message", "lbk eval: " + std::to_string(kept.size()) + " examples of " + file +
                                             " scored with the " + lm.checkpoint + " checkpoint in " + lm.precision() +
                                             ", recorded as split '" + split + "'"}});
    const int64_t step = std::max(run.lastStep, lm.step);
    reportEvaluation(**journal, lm.exp.evaluation, lm.kind, lm.labels, kept, truth, out, step, split);
    journal->reset();
    auto ingested = ingestJournal(store, run.id, journalPath);
    if (!ingested)
        return ingested.error();
    return Unit{};
}

// The splits a run records by itself: an evaluation of another file under one of these names would replace them.
Status checkSplitName(const std::string &split)
{
    for (const char *own : {"train", "val", "test"})
        if (split == own)
            return badInput("--split " + split + ": the run's own " + split + " figures are stored under that name; "
                            "give the evaluation another (the default is eval:<file name>)");
    return okStatus();
}

// A paper as the overlap check knows it: its id and its title (a paper without an id is named by its line number,
// which another file's line may share; the title tells them apart).
std::string paperKey(const Paper &p)
{
    return canonicalPaperId(p.id) + '\n' + p.title;
}

// How many of the examples the run trained on: their papers among its training split's, the run's own data read
// (through the paper cache its run left) and split again as it was (found by an audit: a file of its training papers
// under another name was scored without a caution). The reason when that data cannot be read here.
Result<size_t> trainedOn(const LoadedModel &lm, const std::vector<Paper> &papers, const LabeledData &data,
                         const std::string &dataRoot)
{
    auto examples = splitExamples(lm.exp, dataRoot, cacheRoot({}));
    if (!examples)
        return examples.error();
    std::unordered_set<std::string> train;
    for (size_t i : examples->split.train)
        train.insert(paperKey(examples->papers[examples->data.paper[i]]));
    size_t n = 0;
    for (size_t p : data.paper)
        n += train.count(paperKey(papers[p]));
    return n;
}

// Why an evaluation's figures may mislead, each a sentence: papers the run trained on among these, or so few papers
// carrying the run's labels that the figures say little.
std::vector<std::string> evalCautions(const LoadedModel &lm, const fs::path &file, const EvalRunResult &r,
                                      const std::vector<Paper> &papers, const LabeledData &data,
                                      const std::string &dataRoot)
{
    std::vector<std::string> cautions;
    const auto trained = trainedOn(lm, papers, data, dataRoot);
    if (trained && *trained > 0)
        cautions.push_back(std::to_string(*trained) + " of the " + counted(r.examples, "paper") + " of " +
                           file.filename().string() + " are in the run's training split, so the figures overstate "
                           "how it does on new papers");
    else if (!trained)
        cautions.push_back("whether the run trained on some of these papers is not checked: its own data cannot be "
                           "read here (" + clipped(trained.message(), 200) + ")");
    constexpr int64_t kFew = 100;
    if (r.examples < kFew)
        cautions.push_back(file.filename().string() + ": " + counted(r.examples, "paper") + " with one of the "
                           "run's labels (" + std::to_string(r.dropped) + " left out): figures on so few say little");
    return cautions;
}

Result<EvalRunResult> evaluateAndRecord(Store &store, const RunDetail &run, const EvalRunOptions &o)
{
    if (auto named = checkSplitName(o.split); !named)
        return named.error();
    const int threads = threadCount(o.threads);
    setComputeThreads(threads);
    auto m = loadModel(run.runDir);
    if (!m)
        return m.error();
    LoadedModel &lm = **m;
    lm.choosePrecision(o.precision, o.warn);
    DataSpec ds = lm.exp.data;
    ds.paths = {o.data};
    ds.limit = 0;
    // A path typed on the command line is the user's: the working directory's file where there is one, else (as in
    // experiment files) under the data root.
    std::error_code ec;
    const fs::path file = fs::exists(o.data, ec) ? fs::path(o.data) : resolveDataPath(o.data, o.dataRoot);
    ReadNeeds needs;
    needs.givenFile = true;
    auto papers = readPaperFiles({file}, ds, nullptr, needs);
    if (!papers)
        return badInput(papers.message());
    // The run's labels, applied to the new papers: examples whose categories map to none are left out.
    const LabeledData data = applyLabels(*papers, lm.exp.labels, lm.labels);
    if (data.paper.empty())
        return badInput(file.string() + ": no paper carries one of the run's labels (" +
                        std::to_string(lm.labels.size()) + " labels, e.g. " + lm.labels.front() + ")");
    EvalRunResult r;
    r.split = o.split.empty() ? "eval:" + file.filename().string() : o.split;
    r.file = file.string();
    r.examples = int64_t(data.paper.size());
    r.dropped = data.dropped;
    r.cautions = evalCautions(lm, file, r, *papers, data, o.dataRoot);
    EvalOutput out = scoreExamples(lm, *papers, data, threads);
    out.summary["data"] = r.file;
    if (const json said = out.summary.value("cautions", json()); said.is_array()) // the metrics' own (binary)
        for (const auto &c : said)
            r.cautions.push_back(c.get<std::string>());
    if (!r.cautions.empty())
        out.summary["cautions"] = r.cautions; // kept with the figures they qualify
    out.summary["checkpoint"] = lm.checkpoint;
    out.summary["precision"] = lm.precision();
    out.summary["dropped"] = r.dropped;
    if (auto recorded = record(store, run, lm, *papers, data, out, r.split, r.file); !recorded)
        return recorded.error();
    r.summary = out.summary;
    return r;
}

} // namespace

Result<EvalRunResult> evalRun(Store &store, const RunDetail &run, const EvalRunOptions &o)
{
    return guarded<EvalRunResult>([&] { return evaluateAndRecord(store, run, o); });
}

} // namespace lbk
