#include "metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>

namespace lbk {

using nlohmann::json;

namespace {

json finite(double v)
{
    return std::isfinite(v) ? json(v) : json();
}

json perClassJson(const std::vector<ClassCounts> &counts, const std::vector<int64_t> &support,
                  const std::vector<std::string> &labels, double *macroF1)
{
    // Macro-F1 over the labels present in the truth or the predictions, as scikit-learn averages it: a class
    // absent from a split and never predicted says nothing about the model.
    json per = json::array();
    double sum = 0;
    size_t present = 0;
    for (size_t c = 0; c < counts.size(); ++c) {
        per.push_back({{"label", labels[c]},
                       {"precision", counts[c].precision()},
                       {"recall", counts[c].recall()},
                       {"f1", counts[c].f1()},
                       {"support", support[c]}});
        if (counts[c].tp + counts[c].fp + counts[c].fn > 0) {
            sum += counts[c].f1();
            ++present;
        }
    }
    *macroF1 = present == 0 ? 0.0 : sum / double(present);
    return per;
}

// Indices sorted by descending score (stable, so ties keep input order).
std::vector<size_t> byScoreDesc(const std::vector<float> &scores)
{
    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    return order;
}

json thin(std::vector<std::pair<double, double>> pts, size_t maxPoints)
{
    json out = json::array();
    if (pts.empty())
        return out;
    const size_t n = pts.size();
    const size_t step = std::max<size_t>(1, (n + maxPoints - 1) / maxPoints);
    for (size_t i = 0; i < n; i += step)
        out.push_back({pts[i].first, pts[i].second});
    if ((n - 1) % step != 0)
        out.push_back({pts.back().first, pts.back().second});
    return out;
}

} // namespace

namespace {
// Shared by the multiclass and binary summaries; predicted[i] is example i's predicted class.
json classSummary(const std::vector<int> &predicted, const std::vector<int> &truth, const std::vector<std::string> &labels,
                  double loss);
} // namespace

json multiclassSummary(const std::vector<float> &probs, const std::vector<int> &truth,
                       const std::vector<std::string> &labels, double loss)
{
    const size_t n = truth.size(), k = labels.size();
    std::vector<int> predicted(n);
    for (size_t i = 0; i < n; ++i) {
        const float *row = probs.data() + i * k;
        predicted[i] = int(std::max_element(row, row + k) - row);
    }
    return classSummary(predicted, truth, labels, loss);
}

namespace {
json classSummary(const std::vector<int> &predicted, const std::vector<int> &truth, const std::vector<std::string> &labels,
                  double loss)
{
    const size_t n = truth.size(), k = labels.size();
    std::vector<std::vector<int64_t>> confusion(k, std::vector<int64_t>(k, 0));
    std::vector<ClassCounts> counts(k);
    std::vector<int64_t> support(k, 0);
    int64_t correct = 0;
    for (size_t i = 0; i < n; ++i) {
        const int pred = predicted[i];
        const int t = truth[i];
        confusion[t][pred]++;
        support[t]++;
        if (pred == t) {
            correct++;
            counts[t].tp++;
        } else {
            counts[pred].fp++;
            counts[t].fn++;
        }
    }
    double macro = 0;
    json s;
    s["examples"] = n;
    s["loss"] = finite(loss);
    s["accuracy"] = n ? double(correct) / double(n) : 0.0;
    s["per_class"] = perClassJson(counts, support, labels, &macro);
    s["macro_f1"] = macro;
    s["confusion"] = confusion;
    s["labels"] = labels;
    return s;
}
} // namespace

std::vector<size_t> predictedEntries(const std::vector<std::pair<std::string, double>> &top, bool multiLabel)
{
    if (!multiLabel)
        return top.empty() ? std::vector<size_t>{} : std::vector<size_t>{0};
    std::vector<size_t> out;
    for (size_t i = 0; i < top.size(); ++i)
        if (top[i].second >= kPredictedFrom)
            out.push_back(i);
    return out;
}

json binarySummary(const std::vector<float> &pPositive, const std::vector<int> &truth,
                   const std::vector<std::string> &labels, double loss)
{
    std::vector<int> predicted(pPositive.size());
    for (size_t i = 0; i < pPositive.size(); ++i)
        predicted[i] = pPositive[i] >= kPredictedFrom ? 1 : 0;
    json s = classSummary(predicted, truth, labels, loss);
    s["f1"] = s["per_class"][1]["f1"];
    // A rare positive class makes an all-negative model look skilled by accuracy: both counts kept, and said.
    const auto positives = std::count(truth.begin(), truth.end(), 1);
    const auto predictedPositive = std::count(predicted.begin(), predicted.end(), 1);
    s["positives"] = {{"true", positives}, {"predicted", predictedPositive}}; // counts, not metric series
    if (!truth.empty() && predictedPositive == 0 && positives > 0) {
        char said[256];
        std::snprintf(said, sizeof said, "no paper is predicted positive (p >= %.1f): accuracy %.4f is the share of "
                      "negative papers, not skill; ROC-AUC and PR-AUC say how it ranks them",
                      double(kPredictedFrom), s["accuracy"].get<double>());
        s["cautions"] = json::array({said});
    }
    s["roc_auc"] = finite(rocAuc(pPositive, truth));
    s["pr_auc"] = finite(averagePrecision(pPositive, truth));
    s["roc"] = rocCurve(pPositive, truth);
    s["pr"] = prCurve(pPositive, truth);
    s["best_f1"] = bestF1Threshold(pPositive, truth);
    return s;
}

json multilabelSummary(const std::vector<float> &probs, const std::vector<std::vector<int>> &truth,
                       const std::vector<std::string> &labels, double loss)
{
    const size_t n = truth.size(), k = labels.size();
    std::vector<ClassCounts> counts(k);
    std::vector<int64_t> support(k, 0);
    ClassCounts micro;
    int64_t exact = 0;
    std::vector<char> isTrue(k);
    for (size_t i = 0; i < n; ++i) {
        std::fill(isTrue.begin(), isTrue.end(), 0);
        for (int t : truth[i]) {
            isTrue[size_t(t)] = 1;
            support[size_t(t)]++;
        }
        bool allRight = true;
        for (size_t c = 0; c < k; ++c) {
            const bool pred = probs[i * k + c] >= kPredictedFrom;
            if (pred && isTrue[c])
                counts[c].tp++;
            else if (pred)
                counts[c].fp++;
            else if (isTrue[c])
                counts[c].fn++;
            allRight = allRight && (pred == bool(isTrue[c]));
        }
        exact += allRight;
    }
    for (const auto &c : counts) {
        micro.tp += c.tp;
        micro.fp += c.fp;
        micro.fn += c.fn;
    }
    double macro = 0;
    json s;
    s["examples"] = n;
    s["loss"] = finite(loss);
    s["accuracy"] = n ? double(exact) / double(n) : 0.0; // exact match (subset accuracy)
    s["per_class"] = perClassJson(counts, support, labels, &macro);
    s["macro_f1"] = macro;
    s["micro_f1"] = micro.f1();
    s["labels"] = labels;
    // Labels of the split that no paper is predicted with count 0 in macro-F1: said, as a binary run's "no paper is
    // predicted positive" is (found by an audit: 28 of 34 labels at 0.000, and nothing said why macro-F1 was 0.07).
    const auto never = std::count_if(counts.begin(), counts.end(), [](const ClassCounts &c) {
        return c.tp + c.fp == 0 && c.fn > 0;
    });
    if (never > 0) {
        char said[256];
        std::snprintf(said, sizeof said, "%lld of the %zu labels are never predicted (p >= %.1f) though papers have "
                      "them: each counts as F1 0 in macro-F1 (%.4f); micro-F1 (%.4f) weighs labels by their papers",
                      static_cast<long long>(never), k, double(kPredictedFrom), macro, micro.f1());
        s["cautions"] = json::array({said});
    }
    return s;
}

double rocAuc(const std::vector<float> &scores, const std::vector<int> &positive)
{
    // Mann-Whitney U with average ranks for ties.
    const size_t n = scores.size();
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
    double rankSumPos = 0;
    int64_t pos = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && scores[order[j + 1]] == scores[order[i]])
            ++j;
        const double avgRank = (double(i) + double(j)) / 2.0 + 1.0;
        for (size_t t = i; t <= j; ++t)
            if (positive[order[t]]) {
                rankSumPos += avgRank;
                ++pos;
            }
        i = j + 1;
    }
    const int64_t neg = int64_t(n) - pos;
    if (pos == 0 || neg == 0)
        return std::nan("");
    return (rankSumPos - double(pos) * double(pos + 1) / 2.0) / (double(pos) * double(neg));
}

double averagePrecision(const std::vector<float> &scores, const std::vector<int> &positive)
{
    // sklearn's definition: sum over thresholds of (R_n - R_{n-1}) * P_n, thresholds at distinct scores.
    const auto order = byScoreDesc(scores);
    const int64_t totalPos = std::count_if(positive.begin(), positive.end(), [](int p) { return p != 0; });
    if (totalPos == 0 || totalPos == int64_t(scores.size()))
        return totalPos == 0 ? std::nan("") : 1.0;
    int64_t tp = 0, fp = 0;
    double ap = 0, prevRecall = 0;
    for (size_t i = 0; i < order.size(); ++i) {
        positive[order[i]] ? ++tp : ++fp;
        if (i + 1 < order.size() && scores[order[i + 1]] == scores[order[i]])
            continue; // same threshold
        const double recall = double(tp) / double(totalPos);
        const double precision = double(tp) / double(tp + fp);
        ap += (recall - prevRecall) * precision;
        prevRecall = recall;
    }
    return ap;
}

json rocCurve(const std::vector<float> &scores, const std::vector<int> &positive, size_t maxPoints)
{
    const auto order = byScoreDesc(scores);
    const int64_t totalPos = std::count_if(positive.begin(), positive.end(), [](int p) { return p != 0; });
    const int64_t totalNeg = int64_t(scores.size()) - totalPos;
    if (totalPos == 0 || totalNeg == 0)
        return json::array();
    std::vector<std::pair<double, double>> pts{{0.0, 0.0}};
    int64_t tp = 0, fp = 0;
    for (size_t i = 0; i < order.size(); ++i) {
        positive[order[i]] ? ++tp : ++fp;
        if (i + 1 < order.size() && scores[order[i + 1]] == scores[order[i]])
            continue;
        pts.emplace_back(double(fp) / double(totalNeg), double(tp) / double(totalPos));
    }
    return thin(std::move(pts), maxPoints);
}

json prCurve(const std::vector<float> &scores, const std::vector<int> &positive, size_t maxPoints)
{
    const auto order = byScoreDesc(scores);
    const int64_t totalPos = std::count_if(positive.begin(), positive.end(), [](int p) { return p != 0; });
    if (totalPos == 0)
        return json::array();
    std::vector<std::pair<double, double>> pts;
    int64_t tp = 0, fp = 0;
    for (size_t i = 0; i < order.size(); ++i) {
        positive[order[i]] ? ++tp : ++fp;
        if (i + 1 < order.size() && scores[order[i + 1]] == scores[order[i]])
            continue;
        pts.emplace_back(double(tp) / double(totalPos), double(tp) / double(tp + fp));
    }
    return thin(std::move(pts), maxPoints);
}

json bestF1Threshold(const std::vector<float> &scores, const std::vector<int> &positive)
{
    const auto order = byScoreDesc(scores);
    const int64_t totalPos = std::count_if(positive.begin(), positive.end(), [](int p) { return p != 0; });
    if (totalPos == 0)
        return json();
    int64_t tp = 0, fp = 0;
    double best = -1, at = 1;
    for (size_t i = 0; i < order.size(); ++i) {
        positive[order[i]] ? ++tp : ++fp;
        if (i + 1 < order.size() && scores[order[i + 1]] == scores[order[i]])
            continue;
        const double f1 = 2.0 * double(tp) / double(tp + fp + totalPos); // 2tp / (2tp + fp + fn)
        if (f1 > best) {
            best = f1;
            at = scores[order[i]];
        }
    }
    return {{"threshold", at}, {"f1", best}};
}

std::string thresholdArgument(double threshold)
{
    if (!(threshold > 0))
        return "0";
    const double unit = std::pow(10.0, std::floor(std::log10(threshold)) - 2);
    char s[32];
    std::snprintf(s, sizeof s, "%.3g", std::floor(threshold / unit + 1e-9) * unit);
    return s;
}

std::optional<ThresholdAdvice> thresholdAdvice(const json &bestF1)
{
    if (!bestF1.is_object())
        return std::nullopt;
    const json f1 = bestF1.value("f1", json()), at = bestF1.value("threshold", json());
    if (!f1.is_number() || !at.is_number() || !(f1.get<double>() > 0))
        return std::nullopt;
    return ThresholdAdvice{f1.get<double>(), thresholdArgument(at.get<double>())};
}

std::vector<int64_t> histogram(const std::vector<float> &values, int bins, double lo, double hi)
{
    std::vector<int64_t> counts(size_t(std::max(bins, 1)), 0);
    const double width = (hi - lo) / double(counts.size());
    for (float v : values) {
        if (std::isnan(v))
            continue;
        auto b = int64_t(std::floor((double(v) - lo) / width));
        b = std::clamp<int64_t>(b, 0, int64_t(counts.size()) - 1);
        counts[size_t(b)]++;
    }
    return counts;
}

const std::vector<std::string_view> &scalarMetricKeys()
{
    static const std::vector<std::string_view> keys = {"accuracy", "macro_f1", "micro_f1", "f1",
                                                       "roc_auc",  "pr_auc",   "loss",     "perplexity"};
    return keys;
}

std::string metricLabel(std::string_view key)
{
    static const std::map<std::string_view, std::string_view> labels = {
        {"macro_f1", "macro-F1"}, {"micro_f1", "micro-F1"}, {"f1", "F1"}, {"roc_auc", "ROC-AUC"}, {"pr_auc", "PR-AUC"}};
    const auto it = labels.find(key);
    return std::string(it == labels.end() ? key : it->second);
}

bool higherIsBetter(const std::string &metric)
{
    return metric.find("loss") == std::string::npos && metric.find("time") == std::string::npos &&
           metric.find("perplexity") == std::string::npos;
}

int bestRun(const std::string &metric, const std::vector<double> &values)
{
    // A row one run has alone ranks nothing.
    if (std::count_if(values.begin(), values.end(), [](double v) { return std::isfinite(v); }) < 2 ||
        metric.find('/') == std::string::npos)
        return -1;
    const bool higher = higherIsBetter(metric);
    int best = -1;
    for (size_t i = 0; i < values.size(); ++i) {
        const double v = values[i];
        if (std::isfinite(v) && (best < 0 || (higher ? v > values[size_t(best)] : v < values[size_t(best)])))
            best = int(i);
    }
    // Comparisons show 4 decimals: a value that reads the same as the best leaves no lead a reader can see.
    const auto shown = [](double v) { return std::llround(v * 1e4); };
    for (size_t i = 0; best >= 0 && i < values.size(); ++i)
        if (int(i) != best && std::isfinite(values[i]) && shown(values[i]) == shown(values[size_t(best)]))
            return -1;
    return best;
}

} // namespace lbk
