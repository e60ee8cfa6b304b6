"""A run as a training script records it: metrics, evaluations, histograms, predictions, an LR range test,
artifacts, and how it ended, written as docs/PROTOCOL.md's events to the run's journal. Every method returns
quickly and never raises on bad input or a failing disk: what cannot be recorded is said once on stderr (and,
where the journal still works, as a warning in the run's log), and the training goes on."""
import functools
import hashlib
import math
import operator
import os
import traceback

from . import _evaluation, lr_finder as _lr, metrics as _metrics
from ._inputs import evaluation_inputs
from ._report import warn
from ._values import as_list, finite_or_none, jsonable, scalar

PREDICTION_CHUNK = 2000  # rows per predictions event, so that no journal line grows beyond a few megabytes
MAX_HISTOGRAM_BINS = 10000  # what the store keeps of one histogram (kMaxBins in core/store/ingest.cpp)


def _guarded(method, computes=False):
    """Runs a recording method; an error in it becomes a warning naming the call, never the script's exception.
    A method that `computes` a result the script uses (evaluation's summary) runs on every process and after the
    end as well, writing nothing there (_emit writes only while the run records)."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        if self._journal is None and not computes:
            return None
        if self.ended:
            warn(f"run.{method.__name__}() after the run ended ({self.ended}); not recorded",
                 key=f"after-end:{method.__name__}")
            if not computes:
                return None
        try:
            return method(self, *args, **kwargs)
        except Exception as e:  # noqa: BLE001 - the recorder must not stop the training
            self._problem(f"run.{method.__name__}(): {e}; not recorded, the training goes on",
                          key=f"{method.__name__}:{type(e).__name__}:{e}")
            return None
    return call


class Run:
    """Created by labbook.init(). On processes other than the job's main one every method does nothing."""

    def __init__(self, place=None, journal=None, graceful_cancel=False, main=None, task=None):
        self._journal = journal
        self.task = task  # init(task=...): how evaluation() reads its truth when not told
        self._main = journal is not None if main is None else main
        self.uid = place.uid if place else ""
        self.name = place.name if place else ""
        self.run_dir = place.run_dir if place else ""
        self.journal_path = place.journal if place else ""
        self.store_id = place.store_id if place else 0
        # `lbk resume` started the script again under its target: load your last checkpoint and go on from it.
        self.resumed = place.resumed if place else False
        self.step = 0
        self.graceful_cancel = graceful_cancel
        self.cancel_requested = False  # set by SIGTERM when graceful_cancel: finish() then records `cancelled`
        self.ended = None              # "finished", "failed" or "cancelled" once written
        self._log_steps_given = False  # log() was given a step: a step-less log() then goes to the step given last
        self._log_calls = 0            # else step-less log() calls count themselves
        self._highest_step = 0         # the run's "steps" at finish(): a last call may name an earlier step
        self._key_steps = {}           # metric -> (highest step, its value): says when one goes back or is replaced
        self._lost = 0                 # events not written since the journal last took one (a full disk)
        self._pending_signal = None    # a SIGTERM that came while this thread wrote: acted on after the line
        self._pending_note = None      # a graceful cancel's log line, held back likewise
        self._problems = set()

    @property
    def main(self):
        """Whether this is the job's main process, the one that records (true even when its journal could not
        be opened: the script's rank-0 work does not depend on the record)."""
        return self._main

    # ----- writing -----

    def _emit(self, type_, **fields):
        if self._journal is None or self.ended:
            return False
        ok = self._journal.emit(type_, fields)
        if not ok:
            self._lost += 1
            if self._lost == 1:
                warn(f"{self._journal.error}; events are left out of the run's record until the journal takes "
                     "writes again, the training goes on", key=f"write:{self._journal.error}")
        elif self._lost:
            self._say_lost()
        if self._pending_note is not None:
            note, self._pending_note = self._pending_note, None
            self._emit("log", level="info", message=note)
        if self._pending_signal is not None:
            from ._hooks import cancel_now
            cancel_now(self)
        return ok

    def _say_lost(self):
        """The journal takes writes again (space freed): the record goes on, and says what it is missing."""
        lost, self._lost = self._lost, 0
        message = (f"the journal takes writes again; {lost} earlier event(s) could not be written "
                   f"({self._journal.error}) and are missing from the record")
        warn(message, key=f"lost:{self._journal.seq}")
        self._emit("log", level="warning", message=message)

    def _problem(self, message, key):
        """Said once per kind of problem: on stderr, and as a warning in the run's own log."""
        if key in self._problems:
            return
        self._problems.add(key)
        warn(message, key)
        if not self._lost:
            self._emit("log", level="warning", message=message)

    def _step_for(self, step):
        """The step of an evaluation, histogram or checkpoint: the one given (it becomes the run's step), else
        the run's current step."""
        if step is None:
            return self.step
        value = None if isinstance(step, bool) else scalar(step)  # step=True is a mistake, not step 1
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if not whole or not 0 <= value < 2**63:
            raise ValueError(f"step={step!r}: give the optimizer step as a whole number, 0 or more")
        self.step = int(value)
        self._highest_step = max(self._highest_step, self.step)
        return self.step

    def _log_step(self, step):
        """log()'s step: the one given; without one, the step given last once log() has been given one, else
        the count of log() calls. Steps given to evaluation() and the like move the run's step, not that count,
        so one evaluation at step 0 does not gather every later log() on step 0."""
        if step is not None:
            self._log_steps_given = True
            return self._step_for(step)
        if not self._log_steps_given:
            self._log_calls += 1
            self.step = self._log_calls
            self._highest_step = max(self._highest_step, self.step)
        return self.step

    def _check_order(self, values, step, given):
        """Says (once per key, then the key is no longer followed) when a metric's step goes back, or when it lands
        again on the step it has a value at with another value (the later one replaces the earlier one; the same
        value again, as the Trainer's "epoch" in its training and evaluation logs of a step, is no news)."""
        steps = self._key_steps
        for key, value in values.items():
            last, before = steps.get(key, (-1, None))
            if last is None:  # said already
                continue
            if step > last or (step == last and given and value == before):
                steps[key] = (step, value)
                continue
            steps[key] = (None, None)
            if step < last:
                said = f"{key!r} at step {step} after step {last}: its curve goes back in steps"
            elif given:
                said = (f"{key!r} given twice at step {step} ({before!r}, then {value!r}): the later value replaces "
                        "the earlier one")
            else:
                said = f"{key!r} again at step {step} without step=: it replaces the value logged there; give step="
            self._problem(f"run.log(): {said} (said once per key)", key=f"log-order:{key}")

    # ----- metrics -----

    @_guarded
    def log(self, values, step=None):
        """Metric values by key ("train/loss", "lr", "val/accuracy"), at `step` (default: the step given last
        to log(); a script that never gives log() one counts its log() calls, whatever steps its evaluations
        name). NaN and infinities are kept as gaps."""
        if not hasattr(values, "items"):
            raise TypeError(f"values={values!r:.60} is {type(values).__name__}; give a dict of metric name -> number, "
                            "e.g. run.log({'train/loss': 0.5}, step=10)")
        given = step is not None
        step = self._log_step(step)
        clean = {}
        for key, value in values.items():
            if type(value) is float and value - value == 0.0:  # the common case: a finite float
                clean[key if type(key) is str else str(key)] = value
            else:
                self._slow_value(clean, str(key), value, step)
        if not clean:
            return False
        self._check_order(clean, step, given)
        return self._emit("metrics", step=step, values=clean)

    def _slow_value(self, clean, key, value, step):
        number = scalar(value)
        if number is None:
            self._problem(f"run.log(): {key!r} at step {step} is {type(value).__name__} {value!r:.60}, not a "
                          "number; left out (said once per key)", key=f"log-type:{key}")
            return
        if isinstance(number, float) and not math.isfinite(number):
            self._problem(f"run.log(): {key!r} is {number} at step {step}; stored as a gap (said once per "
                          "key)", key=f"log-nan:{key}")
            number = None
        clean[key] = number

    # ----- evaluations -----

    @functools.partial(_guarded, computes=True)
    def evaluation(self, split="val", *, step=None, labels=None, truth=None, probs=None, loss=None, task=None,
                   summary=None, ids=None, titles=None, top_k=3, histogram_bins=20, max_predictions=0):
        """One evaluation of `split` at `step`: from truth and probabilities (the summary, metrics, probability
        histograms and, with ids, per-example predictions, as Labbook's own evaluations), or a ready summary.
        Returns the summary (on every process, recorded or not), or None when the inputs are refused."""
        step = self._step_for(step)
        if summary is not None:
            summary = jsonable(summary)
            if loss is not None:
                summary.setdefault("loss", _loss(loss))
            self._emit_summary(split, step, summary)
            return summary
        if ids is not None and not (scalar(top_k) or 0) >= 1:  # before anything is written: all or nothing
            raise ValueError(f"top_k={top_k!r}: give how many labels each prediction row lists, 1 or more")
        task, names, truth, probs = evaluation_inputs(task or self.task, labels, truth, probs)
        summary = _metrics.summarize(task, probs, truth, names, _loss(loss))
        rows = None  # made before anything is written, so ids or titles of the wrong length write nothing
        if ids is not None:
            rows = _evaluation.prediction_rows(task, probs, truth, names, as_list(ids), as_list(titles),
                                               int(top_k), int(max_predictions))
        self._emit_summary(split, step, summary)
        for name, values in _evaluation.probability_sets(task, probs, truth).items():
            self._emit_histogram(name, _metrics.histogram(values, histogram_bins), 0.0, 1.0, split, step)
        if rows is not None:
            self._emit_rows(rows, names, split, step)
        return summary

    def _emit_summary(self, split, step, summary):
        self._emit("evaluation", step=step, split=split, summary=summary)
        values = {f"{split}/{k}": summary[k] for k in _metrics.SCALAR_KEYS if summary.get(k) is not None}
        if values:
            self._emit("metrics", step=step, values=values)

    # ----- histograms and predictions -----

    @_guarded
    def histogram(self, name, values=None, *, counts=None, lo=0.0, hi=1.0, bins=20, split="val", step=None):
        """Equal-width bins over [lo, hi]: from raw values (NaN left out, outliers in the end bins) or ready counts."""
        step = self._step_for(step)
        if (values is None) == (counts is None):
            raise ValueError(f"histogram {name!r}: give either values= or counts=")
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ValueError(f"histogram {name!r}: lo={lo}, hi={hi}; need finite lo < hi")
        if counts is None:
            try:
                bins = operator.index(bins)  # an int, or numpy's
            except TypeError:
                bins = None
            if bins is None or not 1 <= bins <= MAX_HISTOGRAM_BINS:
                raise ValueError(f"histogram {name!r}: bins={bins!r}; give a whole number from 1 to "
                                 f"{MAX_HISTOGRAM_BINS} (the most the store keeps)")
            counts = _metrics.histogram([float(v) for v in as_list(values)], bins, lo, hi)
        counts = [scalar(c) for c in as_list(counts)]
        if not counts or any(not (isinstance(c, (int, float)) and float(c).is_integer() and c >= 0) for c in counts):
            raise ValueError(f"histogram {name!r}: counts must be whole numbers, 0 or more (one per bin)")
        if len(counts) > MAX_HISTOGRAM_BINS:
            raise ValueError(f"histogram {name!r}: {len(counts)} counts; the store keeps at most "
                             f"{MAX_HISTOGRAM_BINS} bins")
        counts = [int(c) for c in counts]
        return self._emit_histogram(str(name), counts, float(lo), float(hi), split, step)

    def _emit_histogram(self, name, counts, lo, hi, split, step):
        return self._emit("histogram", step=step, split=split, name=name, lo=lo, hi=hi, counts=counts)

    @_guarded
    def predictions(self, rows, *, split="val", step=None, labels=None):
        """Per-example rows: {"id", "title", "truth": [labels], "top": [[label, p], ...]}; "correct" and
        "p_true" are filled in when left out (p_true: the least probable true label's, when top gives them all)."""
        step = self._step_for(step)
        checked = [_prediction_row(i, row) for i, row in enumerate(rows)]
        if labels is None:
            labels = sorted({t for r in checked for t in r["truth"]} | {p[0] for r in checked for p in r["top"]})
        return self._emit_rows(checked, [str(x) for x in labels], split, step)

    def _emit_rows(self, rows, labels, split, step):
        for start in range(0, len(rows), PREDICTION_CHUNK):
            self._emit("predictions", step=step, split=split, labels=labels,
                       rows=rows[start:start + PREDICTION_CHUNK])
        return True

    # ----- LR range test -----

    @_guarded
    def lr_finder(self, points, suggestion=None, *, beta=0.98, method=None):
        """An LR range test's curve: (lr, loss) pairs, {"lr", "loss"[, "smoothed"]} dicts, or {"lr": [...],
        "loss": [...]}. Unsmoothed losses get Labbook's debiased EMA; without a suggestion, Labbook's steepest-
        descent rule (on the losses smoothed without lag) picks one. Returns the suggestion."""
        lrs, losses, smoothed = _lr_points(points, beta)
        for i, (lr, loss, sm) in enumerate(zip(lrs, losses, smoothed)):
            self._emit("lr_point", index=i, lr=lr, loss=finite_or_none(loss), smoothed=finite_or_none(sm))
        chosen = _lr_suggestion(suggestion, lrs, losses, method)
        self._emit("lr_suggestion", **chosen)
        return chosen

    # ----- files and messages -----

    @_guarded
    def artifact(self, path, kind="file", sha256=True):
        """A file the run leaves (a model, an export); path recorded relative to the run folder when inside it."""
        return self._emit("artifact", **self._file_fields(path, sha256), kind=str(kind))

    @_guarded
    def checkpoint(self, path, kind="last", step=None, metric=None):
        """A checkpoint file (kind "last" or "best"), with the metric it was chosen by."""
        fields = self._file_fields(path, False)
        if metric is not None:
            fields["metric"] = jsonable(metric)
        return self._emit("checkpoint", step=self._step_for(step), kind=str(kind), **fields)

    def _file_fields(self, path, sha256):
        path = os.path.abspath(os.fspath(path))
        if os.path.isdir(path):
            raise ValueError(f"{path} is a folder; record a file (an archive of the folder, or each file in it)")
        if not os.path.isfile(path):
            raise ValueError(f"{path}: no such file")
        folder = os.path.abspath(self.run_dir) if self.run_dir else ""
        inside = folder and os.path.commonpath([path, folder]) == folder
        fields = {"path": os.path.relpath(path, self.run_dir) if inside else path}
        if sha256:
            fields["sha256"] = _sha256(path)
        return fields

    @_guarded
    def message(self, text, level="info"):
        """A line in the run's log (level info, warning or error)."""
        if level not in ("info", "warning", "error"):
            raise ValueError(f"level={level!r}: allowed are info, warning and error")
        return self._emit("log", level=level, message=str(text))

    # ----- the end -----

    @_guarded
    def finish(self, summary=None, step=None):
        """Records the end: `finished` with the summary (final figures), or `cancelled` when a SIGTERM asked the
        run to stop and the script stopped gracefully (graceful_cancel)."""
        step = self._step_for(step)
        if self.cancel_requested:
            return self._end("cancelled", step=step)
        given = summary or {}
        summary = jsonable(given)
        for key, value in (summary.items() if isinstance(given, dict) else ()):
            if value is None and given.get(key) is not None:  # NaN or infinity, as log() says of its values
                warn(f"run.finish(): {key!r} is {given[key]!r:.20}, not a finite number; the summary has no value "
                     "for it", key=f"finish-nan:{key}")
        return self._end("finished", step=step, summary={"steps": max(step, self._highest_step), **summary})

    @_guarded
    def fail(self, reason, step=None):
        """Records the run as failed with `reason` (shown as its error)."""
        return self._end("failed", step=self._step_for(step), reason=str(reason))

    def _end(self, type_, **fields):
        ok = self._emit(type_, **fields)
        self.ended = type_
        if self._journal is not None:
            self._journal.close()  # its lock goes with it: this process may record the same journal again
        from ._hooks import release
        release(self)
        return ok

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if self._journal is None or self.ended:
            return False
        if kind is None or (kind is SystemExit and error.code in (None, 0)):
            self.finish()
        else:
            self._end_by_exception(kind, error, tb)
        return False

    def _end_by_exception(self, kind, error, tb):
        """The end an exception gives (the with-block, the uncaught-exception hook and the Lightning logger ask
        this): Ctrl-C is `cancelled`; so is an error after a graceful cancel's SIGTERM (under a launcher the same
        cancel stops the other processes, and the main one's next collective fails: the cancel's doing, not the
        run's failure; the error goes to the log); anything else is `failed` with what went wrong and where."""
        if issubclass(kind, KeyboardInterrupt):
            return self._end("cancelled", step=self.step)
        if self.cancel_requested:
            self.message("after the SIGTERM: " + describe_exception(kind, error, tb, self.step), level="warning")
            return self._end("cancelled", step=self.step)
        return self.fail(describe_exception(kind, error, tb, self.step))



def describe_exception(kind, error, tb, step):
    """"ValueError: bad shape (train.py:42, step 120)": what went wrong and where, for the run's error."""
    if kind is SystemExit:
        if isinstance(error.code, str):  # sys.exit("message") prints the message and exits with 1
            return f"the script exited: {error.code} (step {step})"
        return f"the script exited with code {error.code} at step {step}"
    where = ""
    frames = traceback.extract_tb(tb) if tb is not None else []
    if frames:
        last = frames[-1]
        where = f"{os.path.basename(last.filename)}:{last.lineno}, "
    return f"{kind.__name__}: {error} ({where}step {step})"


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _loss(loss):
    """evaluation()'s loss: a number, or None (a NaN loss is a gap, as log() keeps it, and said)."""
    if loss is None:
        return None
    value = scalar(loss)
    if value is None or isinstance(value, bool):
        raise ValueError(f"loss={loss!r:.40} is not a number")
    value = float(value)
    if not math.isfinite(value):
        warn(f"run.evaluation(): loss={value}; the summary has no loss", key="evaluation-loss-nan")
        return None
    return value


def _prediction_row(i, row):
    if not isinstance(row, dict) or "id" not in row or "top" not in row:
        raise ValueError(f"rows[{i}]: a prediction row is a dict with at least \"id\" and \"top\" (and \"truth\")")
    truth = row.get("truth")
    truth = [str(t) for t in (truth if isinstance(truth, (list, tuple)) else [] if truth is None else [truth])]
    top = []
    for entry in row["top"]:
        if not isinstance(entry, (list, tuple)) or len(entry) != 2 or scalar(entry[1]) is None:
            raise ValueError(f"rows[{i}].top: {entry!r} is not a [label, probability] pair")
        p = float(scalar(entry[1]))
        if not (math.isfinite(p) and 0 <= p <= 1):
            raise ValueError(f"rows[{i}].top: the probability of {entry[0]!r} is {p}; give probabilities from 0 to 1 "
                             "(softmax or sigmoid outputs, not logits)")
        top.append([str(entry[0]), p])
    out = {"id": str(row["id"]), "title": str(row.get("title", "")), "truth": truth, "top": top}
    probs = dict((label, p) for label, p in top)
    single = bool(top) and len(truth) == 1 and top[0][0] == truth[0]
    out["correct"] = bool(row["correct"]) if "correct" in row else single
    # Left out: the probability of the least probable true label, when top gives every true label's.
    known = [probs[t] for t in truth if t in probs]
    p_true = row.get("p_true", min(known) if truth and len(known) == len(truth) else None)
    out["p_true"] = None if p_true is None else finite_or_none(float(scalar(p_true)))
    return out


def _lr_points(points, beta):
    if isinstance(points, (str, bytes)) or not hasattr(points, "__iter__"):
        raise TypeError(f"points={points!r:.60} is {type(points).__name__}; give (lr, loss) pairs, "
                        "{'lr', 'loss'} dicts, or {'lr': [...], 'loss': [...]}")
    if isinstance(points, dict):
        lrs, losses = as_list(points["lr"]), as_list(points["loss"])
        if len(lrs) != len(losses):
            raise ValueError(f"points has {len(lrs)} learning rates but {len(losses)} losses; give one loss per rate")
        pairs = list(zip(lrs, losses))
        pairs = [{"lr": lr, "loss": loss} for lr, loss in pairs]
    else:
        pairs = [p if isinstance(p, dict) else {"lr": p[0], "loss": p[1]} for p in points]
    lrs = [float(scalar(p["lr"])) for p in pairs]
    losses = [float(scalar(p["loss"])) if p["loss"] is not None else math.nan for p in pairs]
    if any(not (math.isfinite(lr) and lr > 0) for lr in lrs):
        raise ValueError("every learning rate of an LR range test must be a positive number")
    if all("smoothed" in p for p in pairs):
        smoothed = [math.nan if p["smoothed"] is None else float(scalar(p["smoothed"])) for p in pairs]
    else:
        smoothed = _lr.smooth(losses, beta)
    return lrs, losses, smoothed


def _lr_suggestion(suggestion, lrs, losses, method):
    if suggestion is None:
        chosen = _lr.suggest(lrs, losses)
    elif isinstance(suggestion, dict):
        chosen = {"lr": suggestion.get("lr"), "index": suggestion.get("index", -1),
                  "method": suggestion.get("method", method or "given")}
    else:
        lr = float(scalar(suggestion))
        index = min(range(len(lrs)), key=lambda i: abs(math.log(lrs[i] / lr))) if lrs and lr > 0 else -1
        chosen = {"lr": lr, "index": index, "method": method or "given"}
    if method:
        chosen["method"] = method
    return jsonable(chosen)
