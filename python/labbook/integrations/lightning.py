"""Lightning into Labbook: a Logger whose metrics become Labbook's series (train/..., val/..., lr), whose
hyper-parameters become the run's config and whose end (success, failure, interruption) ends the run as
Labbook's own runs end. Per-example evaluations go through logger.experiment, the labbook Run:

    from labbook.integrations.lightning import LabbookLogger
    logger = LabbookLogger(name="cnn-arxiv", tags=["colab"])
    trainer = lightning.Trainer(logger=logger, ...)
    ...  # in on_validation_epoch_end: logger.experiment.evaluation("val", step=self.global_step, ...)

lightning (or pytorch_lightning) is imported when LabbookLogger is first called."""
from .. import init as _init
from ._names import labbook_key


def _base():
    for module in ("lightning.pytorch.loggers", "pytorch_lightning.loggers"):
        try:
            return __import__(module, fromlist=["Logger"]).Logger
        except ImportError:
            continue
    raise ImportError("labbook.integrations.lightning needs the lightning package (pip install lightning)")


class _Recorder:
    """What the logger does, apart from Lightning's base class (so it can be tested without it)."""

    def __init__(self, run=None, **init_kwargs):
        super().__init__()
        self._run, self._init_kwargs, self._config = run, init_kwargs, {}

    @property
    def name(self):
        return "labbook"

    @property
    def version(self):
        return self.experiment.uid or "0"

    @property
    def experiment(self):
        """The labbook Run, started on first use with the hyper-parameters logged so far."""
        if self._run is None:
            self._run = _init(config=self._config, graceful_cancel=True, **self._init_kwargs)
        return self._run

    def log_hyperparams(self, params, *args, **kwargs):
        params = vars(params) if hasattr(params, "__dict__") and not isinstance(params, dict) else dict(params)
        if self._run is None:
            self._config.update(params)
        else:
            self._run.message("hyper-parameters: " + ", ".join(f"{k}={v}" for k, v in params.items()))

    def log_metrics(self, metrics, step=None):
        values = {labbook_key(k): v for k, v in metrics.items() if k != "step"}
        self.experiment.log(values, step=step)

    def after_save_checkpoint(self, checkpoint_callback):
        best = getattr(checkpoint_callback, "best_model_path", "")
        if best:
            score = getattr(checkpoint_callback, "best_model_score", None)
            monitor = getattr(checkpoint_callback, "monitor", None)
            metric = {labbook_key(monitor): score} if monitor and score is not None else None
            self.experiment.checkpoint(best, kind="best", metric=metric)

    def save(self):
        pass  # every event is on disk as it is logged

    def finalize(self, status):
        run = self.experiment
        if run.ended:
            return
        if status == "success":
            run.finish()
        elif "interrupt" in str(status):
            run._end("cancelled", step=run.step)
        else:
            run.fail(f"Lightning ended the run with status {status!r} at step {run.step}")


def LabbookLogger(run=None, **kwargs):  # noqa: N802 - a class to its users
    """A Lightning Logger recording into `run`, or into a run started (with `kwargs` for labbook.init) when
    Lightning first logs, its hyper-parameters as the config."""
    cls = type("LabbookLogger", (_Recorder, _base()), {})
    return cls(run, **kwargs)
