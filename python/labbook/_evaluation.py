"""One evaluation from labels and probabilities, as Labbook's engine reports it (core/engine/evaluation.cpp):
the probability histograms and the per-example prediction rows that go with the summary."""
import heapq

from .metrics import PREDICTED_FROM


def probability_sets(task, probs, truth):
    """The histograms' values by name: how the probabilities spread away from 0.5 as the model learns."""
    if task == "binary":
        pos = [p for p, t in zip(probs, truth) if t == 1]
        neg = [p for p, t in zip(probs, truth) if t != 1]
        return {"p_positive:positive": pos, "p_positive:negative": neg}
    if task == "multiclass":
        return {"p_true": [row[t] for row, t in zip(probs, truth)], "p_predicted": [max(row) for row in probs]}
    pos, neg = [], []
    for row, true_set in zip(probs, truth):
        wanted = set(true_set)
        for c, p in enumerate(row):
            (pos if c in wanted else neg).append(p)
    return {"p_label:positive": pos, "p_label:negative": neg}


def binary_row(p, t, labels):
    """Binary: the positive label's probability and its complement, the likelier first."""
    top = [[labels[1], p], [labels[0], 1 - p]] if p >= PREDICTED_FROM else [[labels[0], 1 - p], [labels[1], p]]
    return {"truth": [labels[t]], "top": top, "correct": (p >= PREDICTED_FROM) == (t == 1),
            "p_true": p if t == 1 else 1 - p}


def ranked_row(row, true_set, task, top_k, labels):
    """Multiclass: the top-k labels. Multilabel: the top-k, every label at 0.5 or above and every true label, most
    probable first (a missed label's probability is there to see); correct when the labels at 0.5 or above are
    exactly the true ones, p_true the probability of the least probable true label."""
    truth = [labels[t] for t in true_set]
    if task == "multiclass":
        best = heapq.nlargest(min(top_k, len(row)), range(len(row)), key=row.__getitem__)
        return {"truth": truth, "top": [[labels[i], row[i]] for i in best], "correct": best[0] == true_set[0],
                "p_true": row[true_set[0]]}
    order = sorted(range(len(row)), key=lambda i: -row[i])
    wanted = set(true_set)
    chosen = [i for n, i in enumerate(order) if n < max(top_k, 1) or row[i] >= PREDICTED_FROM or i in wanted]
    predicted = sorted(i for i in chosen if row[i] >= PREDICTED_FROM)
    return {"truth": truth, "top": [[labels[i], row[i]] for i in chosen], "correct": predicted == sorted(true_set),
            "p_true": min((row[t] for t in true_set), default=None)}


def prediction_rows(task, probs, truth, labels, ids, titles, top_k=3, limit=0):
    """Rows of docs/PROTOCOL.md's predictions event, for the first `limit` examples (0: all)."""
    n = len(truth) if not limit else min(limit, len(truth))  # the examples that get a row
    for name, given in (("ids", ids), ("titles", titles)):
        if given is not None and not n <= len(given) <= len(truth):
            raise ValueError(f"{name} has {len(given)} entries for {len(truth)} examples ({n} get a row); give one "
                             "per example")
    rows = []
    for i in range(n):
        if task == "binary":
            row = binary_row(probs[i], truth[i], labels)
        else:
            true_set = truth[i] if task == "multilabel" else [truth[i]]
            row = ranked_row(probs[i], true_set, task, top_k, labels)
        rows.append({"id": str(ids[i]), "title": "" if titles is None else str(titles[i]), **row})
    return rows
