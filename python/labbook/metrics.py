"""Evaluation summaries, histograms and prediction rows with the shapes and definitions of Labbook's own
evaluations (core/metrics/metrics.cpp, core/engine/evaluation.cpp), so a run recorded from Python and one
trained by Labbook are read, plotted and compared alike. Pure Python: lists in, JSON-ready dicts out."""
import math

# A label is predicted from this probability up (a binary task's positive class, each label of a multilabel
# task), as the engine's kPredictedFrom (core/metrics/metrics.h).
PREDICTED_FROM = 0.5

# The scalar keys an evaluation summary may hold, headline first (scalarMetricKeys() in core/metrics/metrics.h).
SCALAR_KEYS = ("accuracy", "macro_f1", "micro_f1", "f1", "roc_auc", "pr_auc", "loss", "perplexity")
TASKS = ("multiclass", "binary", "multilabel")


def _finite(v):
    return v if v is not None and math.isfinite(v) else None


class _Counts:
    __slots__ = ("tp", "fp", "fn")

    def __init__(self):
        self.tp = self.fp = self.fn = 0

    def precision(self):
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    def recall(self):
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    def f1(self):
        p, r = self.precision(), self.recall()
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _per_class(counts, support, labels):
    """per_class rows, and macro-F1 over the classes present in the truth or the predictions (scikit-learn's)."""
    rows, f1s = [], []
    for c, label in enumerate(labels):
        n = counts[c]
        rows.append({"label": label, "precision": n.precision(), "recall": n.recall(), "f1": n.f1(),
                     "support": support[c]})
        if n.tp + n.fp + n.fn > 0:
            f1s.append(n.f1())
    return rows, (sum(f1s) / len(f1s) if f1s else 0.0)


def _class_summary(predicted, truth, labels, loss):
    k = len(labels)
    confusion = [[0] * k for _ in range(k)]
    counts = [_Counts() for _ in range(k)]
    support = [0] * k
    correct = 0
    for pred, t in zip(predicted, truth):
        confusion[t][pred] += 1
        support[t] += 1
        if pred == t:
            correct += 1
            counts[t].tp += 1
        else:
            counts[pred].fp += 1
            counts[t].fn += 1
    per_class, macro = _per_class(counts, support, labels)
    n = len(truth)
    return {"examples": n, "loss": _finite(loss), "accuracy": correct / n if n else 0.0, "per_class": per_class,
            "macro_f1": macro, "confusion": confusion, "labels": list(labels)}


def argmax(row):
    best = 0
    for i in range(1, len(row)):
        if row[i] > row[best]:
            best = i
    return best


def multiclass_summary(probs, truth, labels, loss=None):
    """probs: n rows of len(labels) probabilities; truth: n class indices."""
    return _class_summary([argmax(row) for row in probs], truth, labels, loss)


def binary_summary(p_positive, truth, labels, loss=None):
    """p_positive: n probabilities of labels[1]; truth: n indices (1 positive). Positive from 0.5 up."""
    s = _class_summary([1 if p >= PREDICTED_FROM else 0 for p in p_positive], truth, labels, loss)
    positive = [1 if t == 1 else 0 for t in truth]
    s["f1"] = s["per_class"][1]["f1"]
    s["roc_auc"] = _finite(roc_auc(p_positive, positive))
    s["pr_auc"] = _finite(average_precision(p_positive, positive))
    s["roc"] = roc_curve(p_positive, positive)
    s["pr"] = pr_curve(p_positive, positive)
    s["best_f1"] = best_f1_threshold(p_positive, positive)
    # A rare positive class makes an all-negative model look skilled by accuracy: both counts kept, and said.
    predicted_positive = sum(1 for p in p_positive if p >= PREDICTED_FROM)
    s["positives"] = {"true": sum(positive), "predicted": predicted_positive}
    if truth and predicted_positive == 0 and sum(positive) > 0:
        s["cautions"] = [f"no paper is predicted positive (p >= {PREDICTED_FROM:.1f}): accuracy {s['accuracy']:.4f} "
                         "is the share of negative papers, not skill; ROC-AUC and PR-AUC say how it ranks them"]
    return s


def multilabel_summary(probs, truth, labels, loss=None):
    """probs: n rows of len(labels); truth: each example's list of positive label indices; predicted at p >= 0.5."""
    k = len(labels)
    counts = [_Counts() for _ in range(k)]
    support = [0] * k
    exact = 0
    for row, true_set in zip(probs, truth):
        is_true = [False] * k
        for t in true_set:
            is_true[t] = True
            support[t] += 1
        all_right = True
        for c in range(k):
            pred = row[c] >= PREDICTED_FROM
            if pred and is_true[c]:
                counts[c].tp += 1
            elif pred:
                counts[c].fp += 1
            elif is_true[c]:
                counts[c].fn += 1
            all_right = all_right and pred == is_true[c]
        exact += all_right
    micro = _Counts()
    for c in counts:
        micro.tp, micro.fp, micro.fn = micro.tp + c.tp, micro.fp + c.fp, micro.fn + c.fn
    per_class, macro = _per_class(counts, support, labels)
    n = len(truth)
    s = {"examples": n, "loss": _finite(loss), "accuracy": exact / n if n else 0.0, "per_class": per_class,
         "macro_f1": macro, "micro_f1": micro.f1(), "labels": list(labels)}
    never = sum(1 for c in counts if c.tp + c.fp == 0 and c.fn > 0)
    if never:
        s["cautions"] = [f"{never} of the {k} labels are never predicted (p >= {PREDICTED_FROM:.1f}) though papers "
                         f"have them: each counts as F1 0 in macro-F1 ({macro:.4f}); micro-F1 ({micro.f1():.4f}) "
                         "weighs labels by their papers"]
    return s


def summarize(task, probs, truth, labels, loss=None):
    """The summary of one evaluation; truth holds index lists for multilabel, indices otherwise. Without a loss
    the summary has no "loss" key (an empty one would show as a val/loss curve of gaps)."""
    summary = {"binary": binary_summary, "multilabel": multilabel_summary}.get(task, multiclass_summary)(
        probs, truth, labels, loss)
    if summary.get("loss") is None:
        summary.pop("loss", None)
    return summary


def roc_auc(scores, positive):
    """Mann-Whitney U with average ranks for ties; NaN when only one class is present."""
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum, pos, i, n = 0.0, 0, 0, len(scores)
    while i < n:
        j = i
        while j + 1 < n and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        avg_rank = (i + j) / 2.0 + 1.0
        for t in range(i, j + 1):
            if positive[order[t]]:
                rank_sum += avg_rank
                pos += 1
        i = j + 1
    neg = n - pos
    if pos == 0 or neg == 0:
        return math.nan
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)


def _desc(scores):
    return sorted(range(len(scores)), key=lambda i: -scores[i])  # stable: ties keep input order


def _threshold_points(scores, positive):
    """(tp, fp, score) after each distinct score, highest first."""
    order = _desc(scores)
    tp = fp = 0
    for i, idx in enumerate(order):
        if positive[idx]:
            tp += 1
        else:
            fp += 1
        if i + 1 < len(order) and scores[order[i + 1]] == scores[idx]:
            continue
        yield tp, fp, scores[idx]


def average_precision(scores, positive):
    """scikit-learn's: the sum over thresholds of (R_n - R_n-1) * P_n."""
    total_pos = sum(1 for p in positive if p)
    if total_pos == 0 or total_pos == len(scores):
        return math.nan if total_pos == 0 else 1.0
    ap = prev_recall = 0.0
    for tp, fp, _ in _threshold_points(scores, positive):
        recall = tp / total_pos
        ap += (recall - prev_recall) * (tp / (tp + fp))
        prev_recall = recall
    return ap


def _thin(points, max_points):
    if not points:
        return []
    n = len(points)
    step = max(1, (n + max_points - 1) // max_points)
    out = [list(points[i]) for i in range(0, n, step)]
    if (n - 1) % step != 0:
        out.append(list(points[-1]))
    return out


def roc_curve(scores, positive, max_points=200):
    """[fpr, tpr] points from (0, 0), at most max_points of them."""
    total_pos = sum(1 for p in positive if p)
    total_neg = len(scores) - total_pos
    if total_pos == 0 or total_neg == 0:
        return []
    pts = [(0.0, 0.0)] + [(fp / total_neg, tp / total_pos) for tp, fp, _ in _threshold_points(scores, positive)]
    return _thin(pts, max_points)


def pr_curve(scores, positive, max_points=200):
    """[recall, precision] points, at most max_points of them."""
    total_pos = sum(1 for p in positive if p)
    if total_pos == 0:
        return []
    pts = [(tp / total_pos, tp / (tp + fp)) for tp, fp, _ in _threshold_points(scores, positive)]
    return _thin(pts, max_points)


def best_f1_threshold(scores, positive):
    """{"threshold", "f1"}: the score from which predicting positive gives the best F1 (None without positives),
    as core/metrics' bestF1Threshold: what `lbk predict --threshold` takes."""
    total_pos = sum(1 for p in positive if p)
    if total_pos == 0:
        return None
    best, at = -1.0, 1.0
    for tp, fp, score in _threshold_points(scores, positive):
        f1 = 2 * tp / (tp + fp + total_pos)  # 2tp / (2tp + fp + fn)
        if f1 > best:
            best, at = f1, score
    return {"threshold": at, "f1": best}


def histogram(values, bins=20, lo=0.0, hi=1.0):
    """Equal-width bins over [lo, hi]; values outside go to the end bins, NaN is left out."""
    bins = max(int(bins), 1)
    counts = [0] * bins
    width = (hi - lo) / bins
    for v in values:
        if v != v:  # NaN
            continue
        b = math.floor((v - lo) / width) if math.isfinite(v) else (bins - 1 if v > 0 else 0)
        counts[min(max(b, 0), bins - 1)] += 1
    return counts
