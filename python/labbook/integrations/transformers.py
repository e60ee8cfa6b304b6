"""Hugging Face Trainer into Labbook: a TrainerCallback that records the Trainer's logs as Labbook's series,
and at each evaluation of the eval set the per-example predictions of Trainer.predict on it (with the summary,
per-class figures, confusion matrix and probability histograms Labbook's own evaluations have). The run stays
open after training, for trainer.evaluate(test_set, metric_key_prefix="test") and the like, and is recorded
finished when the script ends (or by run.finish()).

    from labbook.integrations.transformers import LabbookCallback
    callback = LabbookCallback(name="bert-arxiv", tags=["tpu"])
    trainer = Trainer(model, args, train_dataset=train, eval_dataset=val, callbacks=[callback])
    callback.attach(trainer)      # for predictions at each evaluation (else: metrics only)
    trainer.train()

transformers is imported when LabbookCallback is first used, so importing this module costs nothing."""
import math

from .. import init as _init
from .._report import warn
from .._values import config_object
from ._names import labbook_key


def _base():
    try:
        from transformers import TrainerCallback
    except ImportError as e:
        raise ImportError("labbook.integrations.transformers needs the transformers package "
                          "(pip install transformers)") from e
    return TrainerCallback


class _Recorder:
    """What the callback does, apart from the framework's base class (so it can be tested without it)."""

    def __init__(self, run=None, *, predictions=True, ids="id", titles="title", task=None, top_k=3, **init_kwargs):
        self.run, self.trainer, self.predictions = run, None, predictions
        self.id_column, self.title_column, self.task, self.top_k = ids, titles, task, top_k
        self.init_kwargs = init_kwargs

    def attach(self, trainer):
        """Lets the callback call trainer.predict on the eval set at each evaluation."""
        self.trainer = trainer
        return self

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if self.run is None:
            config = config_object(self.init_kwargs.pop("config", None))  # the script's own settings first
            config["training_args"] = args.to_dict() if hasattr(args, "to_dict") else vars(args)
            if model is not None and hasattr(getattr(model, "config", None), "to_dict"):
                config["model"] = model.config.to_dict()
            self.init_kwargs.setdefault("total_steps", getattr(state, "max_steps", None) or None)
            task = "multilabel" if _multilabel(getattr(model, "config", None)) else self.task
            if task:
                self.init_kwargs.setdefault("task", task)
            self.run = _init(config=config, graceful_cancel=True, **self.init_kwargs)
        return control

    def on_step_end(self, args, state, control, **kwargs):
        if self.run is not None and self.run.cancel_requested:
            control.should_training_stop = True  # `lbk cancel`: stop at this step, as Labbook's worker does
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.run is not None and logs:
            values = {labbook_key(k): v for k, v in logs.items() if k not in ("total_flos", "step")}
            if "train_runtime" in logs and "train/loss" in values:  # the Trainer's closing summary: a mean
                values["train/loss_mean"] = values.pop("train/loss")
            self.run.log(values, step=state.global_step)
        return control

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        if self.run is None or not self.predictions or self.trainer is None:
            return control
        metrics = metrics or {}
        prefix = _metric_prefix(metrics)
        dataset = self._evaluated_set(prefix, kwargs.get("eval_dataloader"))
        if dataset is None:  # another set (a test set): its metrics came through on_log, as test/...
            return control
        # Every process calls predict (it is a collective under DDP and XLA); only the main one records.
        out = self.trainer.predict(dataset, metric_key_prefix="labbook")
        self._record(out, dataset, model or getattr(self.trainer, "model", None), metrics.get(f"{prefix}_loss"),
                     _split(prefix), state.global_step)
        return control

    def _evaluated_set(self, prefix, dataloader):
        """The eval set the Trainer just evaluated, or None when it evaluated another one: predictions are
        made on the eval set only, and what Trainer.evaluate(other_set) scored is not at hand here."""
        dataset = getattr(self.trainer, "eval_dataset", None)
        if isinstance(dataset, dict):  # evaluated one by one, as metric_key_prefix "eval_<name>"
            dataset = dataset.get(prefix[len("eval_"):]) if prefix.startswith("eval_") else None
        elif prefix != "eval":
            return None
        if dataset is None:
            warn("LabbookCallback: per-example predictions are made on the Trainer's eval_dataset, and it has none "
                 "for this evaluation")
            return None
        scored, ours = _length(getattr(dataloader, "dataset", None)), _length(dataset)
        if scored is not None and ours is not None and scored != ours:
            warn(f"LabbookCallback: Trainer.evaluate scored {scored} examples under the prefix {prefix!r}, the eval "
                 f"set has {ours}; no per-example predictions for it (give metric_key_prefix='test' or another name "
                 "for another set)", key=f"evaluated-set:{prefix}:{scored}")
            return None
        return dataset

    def _record(self, out, dataset, model, loss, split, step):
        config = getattr(model, "config", None)
        logits = out.predictions[0] if isinstance(out.predictions, tuple) else out.predictions
        multilabel = _multilabel(config) or self.task == "multilabel"
        probs = _sigmoid(logits) if multilabel else _softmax(logits)
        names = _label_names(config, len(probs[0]) if probs else 0)
        truth = _truth(out.label_ids, multilabel)
        task = "multilabel" if multilabel else (self.task or "multiclass")
        if task == "binary":
            probs = [row[1] for row in probs]
        self.run.evaluation(split, step=step, labels=names, truth=truth, probs=probs, task=task, loss=loss,
                            ids=_column(dataset, self.id_column, len(truth)),
                            titles=_column(dataset, self.title_column, None), top_k=self.top_k)

    def on_train_end(self, args, state, control, **kwargs):
        # The run stays open: trainer.evaluate() on a test set may follow; the script's end records it finished.
        # A cancelled training ends it now, as the worker's cancelled runs end.
        if self.run is not None and not self.run.ended and self.run.cancel_requested:
            self.run.finish(step=state.global_step)
        return control


def _multilabel(config):
    return getattr(config, "problem_type", None) == "multi_label_classification"


def _metric_prefix(metrics):
    """Trainer.evaluate's metric_key_prefix, read back from its metrics ("eval_loss", "test_runtime")."""
    for suffix in ("_runtime", "_loss"):  # every evaluation has a runtime; a compute_metrics key may end in _loss
        for key in metrics:
            if key.endswith(suffix) and len(key) > len(suffix):
                return key[:-len(suffix)]
    return "eval"


def _split(prefix):
    """The evaluation's split: "eval" -> "val" (Labbook's name), "eval_<name>" -> "<name>", "test" stays."""
    if prefix == "eval":
        return "val"
    return prefix[len("eval_"):] if prefix.startswith("eval_") else prefix


def _length(dataset):
    try:
        return len(dataset)
    except TypeError:
        return None


def _rows(values):
    values = values.tolist() if hasattr(values, "tolist") else values
    return [list(map(float, row)) for row in values]


def _softmax(logits):
    out = []
    for row in _rows(logits):
        top = max(row)
        exp = [math.exp(x - top) for x in row]
        total = sum(exp)
        out.append([e / total for e in exp])
    return out


def _sigmoid(logits):
    return [[1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0 for x in row] for row in _rows(logits)]


def _label_names(config, k):
    id2label = getattr(config, "id2label", None) or {}
    return [str(id2label.get(i, id2label.get(str(i), i))) for i in range(k)]


def _truth(label_ids, multilabel):
    values = label_ids.tolist() if hasattr(label_ids, "tolist") else list(label_ids)
    if multilabel:
        return [[c for c, x in enumerate(row) if x >= 0.5] for row in values]
    return [int(v) for v in values]


def _column(dataset, name, fallback_count):
    names = getattr(dataset, "column_names", None) or []
    if name and name in names:
        return [str(x) for x in dataset[name]]
    return None if fallback_count is None else [str(i) for i in range(fallback_count)]


def LabbookCallback(run=None, **kwargs):  # noqa: N802 - a class to its users
    """A transformers.TrainerCallback recording into `run` (or a run started at on_train_begin with `kwargs`
    for labbook.init, the TrainingArguments and the model's config as its config). predictions=False records
    metrics only; ids=/titles= name the eval set's columns for the prediction rows; task="binary" records a
    two-label model as Labbook's binary task."""
    cls = type("LabbookCallback", (_Recorder, _base()), {})
    return cls(run, **kwargs)
