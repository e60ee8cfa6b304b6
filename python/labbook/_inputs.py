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


def _is_zero_one(value):
    return not isinstance(value, str) and value in (0, 1, 0.0, 1.0, True, False)


def multi_hot(truth, k):
    """Whether 2-D truth's rows of numbers are 0/1 rows, one value per label: every such row of length k holding
    only 0 and 1 (rows of label names are names either way). Decided for the whole call, so [[0, 1], [1]] with
    two labels is index lists in both rows, never a mix."""
    numbers = [t for t in truth if isinstance(t, (list, tuple)) and not any(isinstance(x, str) for x in t)]
    return bool(numbers) and all(len(t) == k and all(map(_is_zero_one, t)) for t in numbers)


def _one_hot_row(t, k):
    """A row of k values, all 0 or 1, exactly one of them 1."""
    return isinstance(t, (list, tuple)) and len(t) == k and all(map(_is_zero_one, t)) and sum(map(bool, t)) == 1


def _one_hot(truth, probs):
    """One-hot rows against probabilities that sum to 1: a softmax's one-hot targets."""
    k = len(probs[0]) if probs and isinstance(probs[0], (list, tuple)) else 0
    return (k > 0 and all(_one_hot_row(t, k) for t in truth)
            and all(isinstance(row, (list, tuple)) and abs(sum(row) - 1) < 1e-3 for row in probs))


def infer_task(task, probs, truth):
    if task is not None:
        if task not in TASKS:
            raise ValueError(f"task={task!r}: allowed are {', '.join(TASKS)}")
        return task
    if probs and not isinstance(probs[0], (list, tuple)):
        return "binary"
    if truth and isinstance(truth[0], (list, tuple)) and not _one_hot(truth, probs):
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


def _single_index(t, names, index_of, where):
    """A multiclass or binary example's label: a name, an index, or a one-hot row."""
    if isinstance(t, (list, tuple)):
        if _one_hot_row(t, len(names)):
            return [bool(x) for x in t].index(True)
        raise ValueError(f"truth{where} is {t!r:.60}; a single-label example's truth is a label name, an index, "
                         f"or a one-hot row of {len(names)}")
    return _index(t, names, index_of, where)


def truth_indices(task, truth, names):
    index_of = {n: i for i, n in enumerate(names)}
    if task != "multilabel":
        return [_single_index(t, names, index_of, f"[{i}]") for i, t in enumerate(truth)]
    hot = multi_hot(truth, len(names))
    out = []
    for i, t in enumerate(truth):
        if not isinstance(t, (list, tuple)):
            raise ValueError(f"truth[{i}] is {t!r}; multilabel truth is a list of labels per example")
        if hot and not any(isinstance(x, str) for x in t):
            out.append([c for c, x in enumerate(t) if x])
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
    if not truth:
        raise ValueError("truth and probs hold no example: nothing to evaluate")
    task = infer_task(task, probs, truth)
    k = 2 if task == "binary" else (len(probs[0]) if probs else len(as_list(labels) or []))
    names = label_names(labels, k)
    if task == "binary" and len(names) != 2:
        raise ValueError(f"labels: a binary evaluation has 2 labels (negative, positive), not {len(names)}")
    check_probs(task, probs, len(names))
    return task, names, truth_indices(task, truth, names), probs
