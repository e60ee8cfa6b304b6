"""Record training scripts that Labbook does not run itself (Hugging Face's Trainer, Lightning, plain PyTorch
or PyTorch/XLA loops) as Labbook runs: the same journal events as Labbook's own worker (docs/PROTOCOL.md), so
the store, `lbk` and the GUI show them like any run. Standard library only; torch is used when the script has
it. docs/PYTHON.md has examples.

    import labbook
    run = labbook.init(config={"lr": 3e-4}, name="bert-base", tags=["tpu"])
    run.log({"train/loss": loss, "lr": lr}, step=step)
    run.evaluation("val", step=step, labels=names, truth=y, probs=p, ids=ids, titles=titles)
    run.finish()
"""
import os
import shlex
import socket
import sys

from . import _hooks, _locate, _report
from ._journal import Journal, JournalError
from ._ranks import process_rank
from ._report import warn
from ._values import config_object, jsonable
from .run import Run

__version__ = "0.1.0"
__all__ = ["init", "Run", "process_rank", "__version__"]


def init(config=None, *, name=None, tags=None, task=None, experiment=None, journal=None, store=None,
         folder=None, lbk=None, main_process=None, kind="train", total_steps=None, device=None, data=None,
         graceful_cancel=False, strict=False):
    """Starts recording a run and returns it.

    Where it goes: `journal` (a path, e.g. a target's {journal}); else the run folder a Labbook target gives
    the script ($LABBOOK_RUN_DIR; `store` and `folder` are then ignored); else, started by hand, a new run in
    the store through `lbk record` (`store` picks the store file, `lbk` or $LABBOOK_LBK the program); else,
    without lbk or when `lbk record` fails, a folder under `folder` (default ./labbook-runs) to import later.
    Only the job's main process records (torch.distributed rank, torch_xla ordinal, accelerate's process
    index, RANK/LOCAL_RANK/SLURM_PROCID), unless main_process says. `config` may be a dict or any mapping, an
    argparse.Namespace or a dataclass. A journal that cannot be opened is a warning and a run that records
    nothing (still `main` on the main process), or an error with strict=True.
    """
    if main_process is None:
        main_process = process_rank()[0] == 0
    if not main_process:
        return Run()
    tags, total_steps = _tags(tags), _whole("total_steps", total_steps)
    previous = _hooks.active_run()
    if previous is not None:  # one run at a time per process, as a script that trains twice expects
        warn(f"labbook.init() while run {previous.name or previous.uid} is still recording: it is recorded as "
             "finished now (call run.finish() or run.fail() first to end it otherwise)")
        previous.finish()
    _report.begin_run()
    config = config_object(config)
    try:
        place = _place(journal, name, config, tags, task, store, experiment, folder, lbk, strict)
        opened = Journal(place.journal)
    except (JournalError, _locate.LocateError) as e:
        if strict:
            raise
        warn(f"{e}; this run is not recorded, the training goes on")
        return Run(main=True, task=task)  # the job's main process all the same: its rank-0 work must still run
    run = Run(place, opened, graceful_cancel=graceful_cancel, task=task)
    _hooks.install(run)
    _started(run, place, config, kind, total_steps, device, data, tags, task)
    return run


def _tags(tags):
    """A list of tag strings: tags="tpu" is one tag, not three; a single non-string value one tag too."""
    if tags is None:
        return []
    if isinstance(tags, (str, bytes)) or not hasattr(tags, "__iter__"):
        return [tags.decode() if isinstance(tags, bytes) else str(tags)]
    return [str(t) for t in tags]


def _whole(name, value):
    """A whole number of at least 0, or None with a warning: a bad argument never stops the training."""
    if value is None:
        return None
    try:
        number = float(value)
        if number.is_integer() and number >= 0:
            return int(number)
    except (TypeError, ValueError, OverflowError):
        pass
    warn(f"labbook.init(): {name}={value!r:.40} is not a whole number of at least 0; left out")
    return None


def _place(journal, name, config, tags, task, store, experiment, folder, lbk, strict):
    if journal is not None:
        return _locate.given(journal, name)
    place = _locate.from_target(name)
    if place is not None:  # the target decides where its run goes, whatever the script says
        if store is not None or folder is not None:
            warn(f"labbook.init(): store= and folder= are ignored under a Labbook target; the run is recorded "
                 f"to the target's journal {place.journal}")
        return place
    if folder is None:
        program = _locate.lbk_program(lbk)
        if not program:
            warn("lbk was not found (set $LABBOOK_LBK or put lbk on PATH), so the run is written to a folder")
            return _locate.in_folder(None, name)
        try:
            return _locate.from_store(program, name, config, tags, task, store, experiment)
        except _locate.LocateError as e:
            if strict:
                raise
            warn(f"{e}; the run is written to a folder instead")
    place = _locate.in_folder(folder, name)
    place.store = os.fspath(store) if store else ""
    return place


def _started(run, place, config, kind, total_steps, device, data, tags, task):
    fields = {"run": place.uid, "config": config, "host": socket.gethostname(), "pid": os.getpid(),
              "device": device or _device(), "threads": _threads(), "version": f"labbook-python {__version__}",
              "kind": kind, "recorder": "python"}
    if _pid_start() is not None:
        fields["pid_start"] = _pid_start()
    if total_steps is not None:
        fields["total_steps"] = total_steps
    if data is not None:
        fields["data"] = jsonable(data)
    if tags:
        fields["tags"] = tags
    if place.name:  # read by `lbk record --journal` when the journal is stored later
        fields["name"] = place.name
    if task:
        fields["task"] = task
    if place.resumed:
        fields["resumed"] = True
    run._emit("run_started", **fields)  # under a target, the store merges config= into the experiment it was given
    if place.origin == "store":  # as a tracker says where a run went: `lbk show N` finds it
        warn(f"run {place.store_id} ({place.name}) is recorded into {place.store}; `lbk show {place.store_id}` and "
             "the GUI show it")
    if place.origin == "folder":
        journal = os.path.abspath(place.journal)
        store = f"--store {shlex.quote(place.store)} " if place.store else ""
        warn(f"recording to {journal}; store it later with `lbk {store}record --journal {shlex.quote(journal)}`")
    if place.appended:  # a script started again with the same journal= (its name and config may differ)
        warn(f"{place.journal} holds run {place.uid} already: this run is appended to it and recorded as that run "
             "(give another journal= path for a new run)")


def _device():
    if "torch_xla" in sys.modules:
        return "xla"
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available():
            return "cuda"
    except (AttributeError, RuntimeError):
        pass
    return "cpu"


def _pid_start():
    """This process's start in clock ticks since boot (/proc/self/stat's 22nd field): the store tells this process
    from a later one given the same pid by it. None where there is no /proc."""
    try:
        with open("/proc/self/stat") as f:
            stat = f.read()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _threads():
    torch = sys.modules.get("torch")
    try:
        return int(torch.get_num_threads()) if torch is not None else os.cpu_count()
    except (AttributeError, RuntimeError):
        return os.cpu_count()
