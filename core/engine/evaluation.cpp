// Reporting one evaluation as journal events. No LibTorch here (see evaluation.h): `lbk eval` and training share it.
#include "engine/evaluation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "metrics/metrics.h"

namespace lbk {

using nlohmann::json;

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

namespace {

// What one evaluation emits, gathered so each event is built by a short function of its own.
struct EvalEvents {
    JournalWriter &journal;
    const EvaluationSpec &spec;
    TaskKind kind;
    const std::vector<std::string> &names;
    const std::vector<const Paper *> &papers;
    const std::vector<const std::vector<int> *> &truth;
    const EvalOutput &out;
    int64_t step;
    const std::string &split;
};

// Histograms of predicted probabilities, which spread away from 0.5 as the model learns.
void emitHistograms(const EvalEvents &ev)
{
    auto emit = [&](const std::string &name, const std::vector<float> &v) {
        ev.journal.emit("histogram", {{"step", ev.step}, {"split", ev.split}, {"name", name}, {"lo", 0.0}, {"hi", 1.0},
                                      {"counts", histogram(v, ev.spec.histogramBins)}});
    };
    const size_t n = ev.papers.size(), k = ev.names.size();
    const auto &probs = ev.out.probs;
    if (ev.kind == TaskKind::Binary) {
        std::vector<float> pos, neg;
        for (size_t i = 0; i < n; ++i)
            ((*ev.truth[i])[0] ? pos : neg).push_back(probs[i]);
        emit("p_positive:positive", pos);
        emit("p_positive:negative", neg);
    } else if (ev.kind == TaskKind::MultiClass) {
        std::vector<float> pTrue(n), pPred(n);
        for (size_t i = 0; i < n; ++i) {
            const float *row = probs.data() + i * k;
            pTrue[i] = row[(*ev.truth[i])[0]];
            pPred[i] = *std::max_element(row, row + k);
        }
        emit("p_true", pTrue);
        emit("p_predicted", pPred);
    } else {
        std::vector<float> pos, neg;
        for (size_t i = 0; i < n; ++i) {
            std::vector<char> isTrue(k, 0);
            for (int l : *ev.truth[i])
                isTrue[size_t(l)] = 1;
            for (size_t c = 0; c < k; ++c)
                (isTrue[c] ? pos : neg).push_back(probs[i * k + c]);
        }
        emit("p_label:positive", pos);
        emit("p_label:negative", neg);
    }
}

struct PredictionRow {
    json truth = json::array();
    json top = json::array();
    bool correct = false;
    double pTrue = std::nan("");
};

PredictionRow binaryRow(double p, int truthIdx, const std::vector<std::string> &names)
{
    PredictionRow r;
    r.truth.push_back(names[size_t(truthIdx)]);
    if (p >= kPredictedFrom)
        r.top = json::array({json::array({names[1], p}), json::array({names[0], 1 - p})});
    else
        r.top = json::array({json::array({names[0], 1 - p}), json::array({names[1], p})});
    r.correct = (p >= kPredictedFrom) == (truthIdx == 1);
    r.pTrue = truthIdx == 1 ? p : 1 - p;
    return r;
}

// Multiclass: the top-k classes. Multilabel: the top-k, every class at kPredictedFrom or above and every true class,
// most probable first, so that a missed label's probability is there to see; correct when the predicted set is
// exactly the true one, p_true the probability of the least probable true label (found by an audit: only the
// predicted labels were kept, and a missed label's probability was nowhere).
PredictionRow rankedRow(const float *row, const std::vector<int> &truthIdx, TaskKind kind, size_t topK,
                        const std::vector<std::string> &names)
{
    PredictionRow r;
    const size_t k = names.size();
    std::vector<size_t> order(k);
    std::iota(order.begin(), order.end(), 0);
    // Ties in label order, as Python's stable sort keeps them (the library writes the same rows).
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    for (int t : truthIdx)
        r.truth.push_back(names[size_t(t)]);
    if (kind == TaskKind::MultiClass) {
        for (size_t i = 0; i < std::min(topK, k); ++i)
            r.top.push_back(json::array({names[order[i]], row[order[i]]}));
        r.correct = int(order[0]) == truthIdx[0];
        r.pTrue = row[truthIdx[0]];
        return r;
    }
    std::vector<int> predicted;
    const auto isTrue = [&](size_t c) { return std::find(truthIdx.begin(), truthIdx.end(), int(c)) != truthIdx.end(); };
    for (size_t i = 0; i < k; ++i) {
        const size_t c = order[i];
        if (i < std::max<size_t>(topK, 1) || row[c] >= kPredictedFrom || isTrue(c))
            r.top.push_back(json::array({names[c], row[c]}));
        if (row[c] >= kPredictedFrom)
            predicted.push_back(int(c));
        if (isTrue(c))
            r.pTrue = std::isnan(r.pTrue) ? double(row[c]) : std::min(r.pTrue, double(row[c]));
    }
    std::vector<int> sortedTruth = truthIdx;
    std::sort(sortedTruth.begin(), sortedTruth.end());
    std::sort(predicted.begin(), predicted.end());
    r.correct = predicted == sortedTruth;
    return r;
}

// Per-example predictions, in chunks so that no journal line grows beyond a few megabytes.
void emitPredictions(const EvalEvents &ev)
{
    const size_t n = ev.papers.size(), k = ev.names.size();
    const size_t limit = ev.spec.maxPredictions > 0 ? std::min<size_t>(n, size_t(ev.spec.maxPredictions)) : n;
    json rows = json::array();
    auto flush = [&] {
        if (!rows.empty())
            ev.journal.emit("predictions",
                            {{"step", ev.step}, {"split", ev.split}, {"labels", ev.names}, {"rows", std::move(rows)}});
        rows = json::array();
    };
    for (size_t i = 0; i < limit; ++i) {
        const auto &truthIdx = *ev.truth[i];
        const PredictionRow r =
            ev.kind == TaskKind::Binary
                ? binaryRow(ev.out.probs[i], truthIdx[0], ev.names)
                : rankedRow(ev.out.probs.data() + i * k, truthIdx, ev.kind, size_t(ev.spec.topK), ev.names);
        rows.push_back({{"id", ev.papers[i]->id}, {"title", ev.papers[i]->title}, {"truth", r.truth}, {"top", r.top},
                        {"correct", r.correct}, {"p_true", std::isfinite(r.pTrue) ? json(r.pTrue) : json()}});
        if (rows.size() == 2000)
            flush();
    }
    flush();
}

} // namespace

void reportEvaluation(JournalWriter &journal, const EvaluationSpec &spec, TaskKind kind,
                      const std::vector<std::string> &names, const std::vector<const Paper *> &papers,
                      const std::vector<const std::vector<int> *> &truth, const EvalOutput &out, int64_t step,
                      const std::string &split)
{
    journal.emit("evaluation", {{"step", step}, {"split", split}, {"summary", out.summary}});
    json values = json::object();
    for (const auto k : scalarMetricKeys())
        if (out.summary.contains(k))
            values[split + "/" + std::string(k)] = out.summary[std::string(k)];
    journal.emit("metrics", {{"step", step}, {"values", values}});
    const EvalEvents ev{journal, spec, kind, names, papers, truth, out, step, split};
    emitHistograms(ev);
    emitPredictions(ev);
}

} // namespace lbk
