#pragma once
// Evaluation metrics and prediction histograms, computed from plain vectors of probabilities so they are
// testable against hand-computed values without LibTorch. Summaries are the JSON of docs/PROTOCOL.md.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lbk {

// A label is predicted from this probability up: a binary task's positive class, each label of a multilabel task
// (sigmoid(0) is exactly 0.5). One threshold for the metrics, the recorded predictions and `lbk predict`.
inline constexpr float kPredictedFrom = 0.5f;

// What a prediction row's ranked (label, probability) pairs predict, as indices into top: a multilabel row's set,
// those at kPredictedFrom or above (none when no label reaches it, as its evaluation counts it); else the most
// probable (a binary row at exactly 0.5 lists both classes at 0.5, and still predicts one).
std::vector<size_t> predictedEntries(const std::vector<std::pair<std::string, double>> &top, bool multiLabel);

struct ClassCounts {
    int64_t tp = 0, fp = 0, fn = 0;
    double precision() const { return tp + fp ? double(tp) / double(tp + fp) : 0.0; }
    double recall() const { return tp + fn ? double(tp) / double(tp + fn) : 0.0; }
    double f1() const
    {
        double p = precision(), r = recall();
        return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
    }
};

// probs: n x classes, row-major. truth: n class indices. The summary holds loss (when given), accuracy,
// macro_f1, per_class, confusion and labels.
nlohmann::json multiclassSummary(const std::vector<float> &probs, const std::vector<int> &truth,
                                 const std::vector<std::string> &labels, double loss);
// pPositive: n probabilities of the positive class (label index 1). Adds f1 (positive class), roc_auc,
// pr_auc (average precision), the curves roc and pr, positives ({"true": papers that are, "predicted": papers
// predicted so}) and cautions (sentences) when no paper is predicted positive, to the two-class summary.
nlohmann::json binarySummary(const std::vector<float> &pPositive, const std::vector<int> &truth,
                             const std::vector<std::string> &labels, double loss);
// probs: n x labels; truth: each example's positive label indices; a label is predicted at kPredictedFrom and up.
nlohmann::json multilabelSummary(const std::vector<float> &probs, const std::vector<std::vector<int>> &truth,
                                 const std::vector<std::string> &labels, double loss);

// Area under the ROC curve (ties count half) and average precision; NaN when only one class is present.
double rocAuc(const std::vector<float> &scores, const std::vector<int> &positive);
double averagePrecision(const std::vector<float> &scores, const std::vector<int> &positive);
// Curves as [x, y] points, at most maxPoints of them: ROC is (fpr, tpr), PR is (recall, precision).
nlohmann::json rocCurve(const std::vector<float> &scores, const std::vector<int> &positive, size_t maxPoints = 200);
nlohmann::json prCurve(const std::vector<float> &scores, const std::vector<int> &positive, size_t maxPoints = 200);
// The probability the positive class is best predicted from on these scores, by F1: {"threshold", "f1"} (the
// threshold is a score: everything at it or above is predicted positive); null without positives. What a binary
// evaluation records as "best_f1", for `lbk predict --threshold` (read off the validation split, not the test's).
nlohmann::json bestF1Threshold(const std::vector<float> &scores, const std::vector<int> &positive);
// A threshold as `--threshold` is told it: rounded down to 3 significant digits, so that no paper of the F1 peak is
// left out ("0.234" for 0.23456).
std::string thresholdArgument(double threshold);
// What a recorded best_f1 advises: its F1 and the --threshold to score by; nullopt when it is not a peak above 0
// (none, no positive, a script's malformed one). One rule for lbk show and the GUI's Per-class page.
struct ThresholdAdvice {
    double f1 = 0;
    std::string threshold; // thresholdArgument's
};
std::optional<ThresholdAdvice> thresholdAdvice(const nlohmann::json &bestF1);

// Equal-width bins over [lo, hi]; values outside are clamped into the end bins, NaN ignored.
std::vector<int64_t> histogram(const std::vector<float> &values, int bins, double lo = 0.0, double hi = 1.0);

// The scalar keys an evaluation summary may hold, in the order people read them (headline first, loss last):
// accuracy, macro_f1, micro_f1 (multi-label), f1, roc_auc, pr_auc (binary), loss, perplexity (MLM pre-training,
// where accuracy is the masked tokens'). Each becomes a metric series
// and a final/best entry of the run summary ("val/accuracy"); evaluation.metric names one of them.
const std::vector<std::string_view> &scalarMetricKeys();
// How a summary line names one of them: "macro-F1", "micro-F1", "ROC-AUC"; other keys as they are.
std::string metricLabel(std::string_view key);

// Which direction is better for a metric key: losses, perplexities and times ("val/loss", "train/step_time") lower, everything
// else (accuracy, F1, AUC, examples per second) higher.
bool higherIsBetter(const std::string &metric);

// Which of several runs' values of a metric is best (NaN: the run has none), to be marked in a comparison; -1
// when nothing should be: fewer than two values, another as good to the 4 decimals a comparison shows, or a count
// rather than a split's metric (steps).
int bestRun(const std::string &metric, const std::vector<double> &values);

} // namespace lbk
