"""Lightning into Labbook: a Logger whose metrics become Labbook's series (train/..., val/..., lr), whose
hyper-parameters become the run's config and whose end (failure, interruption, or the script's end after its
last stage) ends the run as Labbook's own runs end. Per-example evaluations go through logger.experiment, the
labbook Run:

    from labbook.integrations.lightning import LabbookLogger
    logger = LabbookLogger(name="cnn-arxiv", tags=["colab"])
    trainer = lightning.Trainer(logger=logger, ...)
    ...  # in on_validation_epoch_end: logger.experiment.evaluation("val", step=self.global_step, ...)

lightning (or pytorch_lightning) is imported when LabbookLogger is first called."""
import sys

from .. import init as _init
from .._values import config_object
from ._names import labbook_key


def _base():
    for module in ("lightning.pytorch.loggers", "pytorch_lightning.loggers"):
        try:
            return __import__(module, fromlist=["Logger"]).Logger
        except ImportError:
            continue
    raise ImportError("labbook.integrations.lightning needs the lightning package (pip install lightning)")


class _Pending:
    """logger.experiment before the run has started. Lightning 2 reads logger.experiment (in its setup hook)
    before it logs the hyper-parameters, which are to be the run's config; so the run starts at the first real
    use: a method or attribute of the Run, a metric, a checkpoint, the end."""

    def __init__(self, logger):
        self._logger = logger

    def __getattr__(self, name):
        if name.startswith("__") or name == "_logger":  # copy and pickle probing a half-made object
            raise AttributeError(name)
        return getattr(self._logger._start(), name)


class _Recorder:
    """What the logger does, apart from Lightning's base class (so it can be tested without it)."""

    def __init__(self, run=None, **init_kwargs):
        super().__init__()
        self._config = config_object(init_kwargs.pop("config", None))  # the script's own settings first
        self._run, self._init_kwargs, self._pending = run, init_kwargs, _Pending(self)

    @property
    def name(self):
        return "labbook"

    @property
    def version(self):
        return self._start().uid or "0"

    @property
    def experiment(self):
        """The labbook Run (until it starts, a stand-in that starts it when used), with the hyper-parameters
        logged before its first use as its config."""
        return self._pending if self._run is None else self._run

    def _start(self):
        if self._run is None:
            self._run = _init(config=self._config, graceful_cancel=True, **self._init_kwargs)
        return self._run

    def log_hyperparams(self, params, *args, **kwargs):
        params = config_object(params, "LabbookLogger.log_hyperparams()")
        if self._run is None:
            self._config.update(params)
            return
        # Lightning logs them again at each stage (trainer.test() after fit): only new ones are news. The
        # journal has no event that changes a started run's config, so those go to the run's log.
        new = {k: v for k, v in params.items() if k not in self._config or self._config[k] != v}
        if new:
            self._config.update(new)
            self._run.message("hyper-parameters logged after the run started: " +
                              ", ".join(f"{k}={v}" for k, v in new.items()))

    def log_metrics(self, metrics, step=None):
        values = {labbook_key(k): v for k, v in metrics.items() if k != "step"}
        self._start().log(values, step=step)

    def after_save_checkpoint(self, checkpoint_callback):
        best = getattr(checkpoint_callback, "best_model_path", "")
        if best:
            score = getattr(checkpoint_callback, "best_model_score", None)
            monitor = getattr(checkpoint_callback, "monitor", None)
            metric = {labbook_key(monitor): score} if monitor and score is not None else None
            self._start().checkpoint(best, kind="best", metric=metric)

    def save(self):
        pass  # every event is on disk as it is logged

    def finalize(self, status):
        """Lightning calls this after every stage (fit, validate, test, predict), "success" each time one ends
        well, so a success leaves the run open for the next stage (trainer.test() after trainer.fit()): it is
        recorded finished when the script ends, or by run.finish(). A failure or an interruption ends it now."""
        run = self._start()
        if run.ended or status == "success":
            return
        kind, error, tb = sys.exc_info()  # Lightning finalizes inside its handler of the exception
        if "interrupt" in str(status):
            run._end("cancelled", step=run.step)
        elif error is not None:
            run._end_by_exception(kind, error, tb)
        else:
            run.fail(f"Lightning ended the run with status {status!r} at step {run.step}")


def LabbookLogger(run=None, **kwargs):  # noqa: N802 - a class to its users
    """A Lightning Logger recording into `run`, or into a run started (with `kwargs` for labbook.init) when
    Lightning first logs, its hyper-parameters (with `config`, when given) as the config."""
    cls = type("LabbookLogger", (_Recorder, _base()), {})
    return cls(run, **kwargs)
