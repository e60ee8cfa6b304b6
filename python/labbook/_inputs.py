"""Checking and normalising what a script passes to run.evaluation(): label names, true labels and
probabilities in any of the usual shapes (lists, tensors, arrays; indices, names or multi-hot rows). Every
error names the argument and the row, so a bad call is fixed from the message alone."""
import math

from ._values import as_list, scalar
from .metrics import TASKS


def plain(values):
    """Python lists and numbers all the way down: a list of arrays, of tensors (list(tensor) gives 0-d ones),
    or of numpy scalars is read as the lists and numbers it holds, as a whole tensor or array is."""
    if isinstance(values, (list, tuple)):
        return [v if type(v) in (float, int, str) else plain(v) for v in values]
    if callable(getattr(values, "tolist", None)):
        return as_list(values)
    return values


def label_names(labels, k):
    if labels is None:
        return ["negative", "positive"] if k == 2 else [str(i) for i in range(k)]
    names = [str(x) for x in as_list(labels)]
    if len(set(names)) != len(names):
        raise ValueError(f"labels: {names} holds a name twice; each class needs its own name")
    return names


def infer_task(task, probs, truth):
    if task is not None:
        if task not in TASKS:
            raise ValueError(f"task={task!r}: allowed are {', '.join(TASKS)}")
        return task
    if probs and not isinstance(probs[0], (list, tuple)):
        return "binary"
    if truth and isinstance(truth[0], (list, tuple)):
        return "multilabel"
    return "multiclass"


def _check_probability(p, where):
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not math.isfinite(p):
        raise ValueError(f"probs{where} is {p!r}; give finite probabilities")
    if p < -1e-6 or p > 1 + 1e-6:
        raise ValueError(f"probs{where} is {p}: not a probability; pass softmax (multiclass) or sigmoid "
                         "(binary, multilabel) of the logits, not the logits")


def check_probs(task, probs, k):
    for i, row in enumerate(probs):
        if task == "binary":
            _check_probability(row, f"[{i}]")
            continue
        if not isinstance(row, (list, tuple)) or len(row) != k:
            size = len(row) if isinstance(row, (list, tuple)) else "not a list of"
            raise ValueError(f"probs[{i}] has {size} values; labels has {k} names")
        for c, p in enumerate(row):
            _check_probability(p, f"[{i}][{c}]")


def _index(value, names, index_of, where):
    if isinstance(value, str):
        if value not in index_of:
            raise ValueError(f"truth{where} is {value!r}, which is not among labels {names}")
        return index_of[value]
    number = scalar(value)
    if number is not None and (isinstance(number, int) or number.is_integer()):
        value = int(number)
    if not isinstance(value, int) or not 0 <= value < len(names):
        raise ValueError(f"truth{where} is {value!r}; give a label name or an index from 0 to {len(names) - 1}")
    return value


def truth_indices(task, truth, names):
    index_of = {n: i for i, n in enumerate(names)}
    out = []
    for i, t in enumerate(truth):
        if task != "multilabel":
            out.append(_index(t, names, index_of, f"[{i}]"))
            continue
        if not isinstance(t, (list, tuple)):
            raise ValueError(f"truth[{i}] is {t!r}; multilabel truth is a list of labels per example")
        if len(t) == len(names) and all(x in (0, 1, 0.0, 1.0, True, False) for x in t) and not any(
                isinstance(x, str) for x in t):
            out.append([c for c, x in enumerate(t) if x])  # a multi-hot row
        else:
            out.append(sorted({_index(x, names, index_of, f"[{i}]") for x in t}))
    return out


def evaluation_inputs(task, labels, truth, probs):
    """(task, label names, truth as indices, probs as lists) or ValueError saying what is wrong."""
    probs, truth = plain(probs), plain(truth)
    if probs is None or truth is None:
        raise ValueError("give truth= and probs= (or summary=) to record an evaluation")
    if len(probs) != len(truth):
        raise ValueError(f"truth has {len(truth)} examples but probs has {len(probs)}")
    task = infer_task(task, probs, truth)
    k = 2 if task == "binary" else (len(probs[0]) if probs else len(as_list(labels) or []))
    names = label_names(labels, k)
    if task == "binary" and len(names) != 2:
        raise ValueError(f"labels: a binary evaluation has 2 labels (negative, positive), not {len(names)}")
    check_probs(task, probs, len(names))
    return task, names, truth_indices(task, truth, names), probs
