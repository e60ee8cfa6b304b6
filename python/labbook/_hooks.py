"""How a recorded run ends when the script does not say: as Labbook's own worker does (core/engine/worker.cpp).

- SIGTERM (`lbk cancel`, scancel, a time limit): `cancelled` is written and the process exits with code 3, the
  worker's; with graceful_cancel the first SIGTERM only sets run.cancel_requested, so the loop (or an
  integration) can save a checkpoint and stop, and finish() then writes `cancelled`.
- An uncaught exception: `failed`, with the exception and where it was raised (also in a thread that called
  init(), a script training off the main thread); Ctrl-C: `cancelled`. Also when
  another library (rich.traceback.install()) replaced sys.excepthook after init: Python keeps the exception in
  sys.last_exc / sys.last_value whichever hook it calls, and the exit handler reads it there.
- The script's normal end without finish(): `finished`.
- Killed outright (SIGKILL, the machine gone): nothing is written, and Labbook sets the run `interrupted`.
Only the process that called labbook.init() acts: forked children (DataLoader workers) inherit nothing.
"""
import atexit
import os
import signal
import sys
import threading

_state = {"run": None, "pid": 0, "previous_term": None, "previous_hook": None, "atexit": False,
          "earlier_error": None, "thread": None, "previous_thread_hook": None}


def install(run):
    _state["run"], _state["pid"] = run, os.getpid()
    _state["earlier_error"] = _last_error()  # one from before this run (a REPL's) is not this run's end
    if not _state["atexit"]:
        atexit.register(_at_exit)
        if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
            os.register_at_fork(after_in_child=_forget)
        _state["atexit"] = True
    if sys.excepthook is not _excepthook:
        _state["previous_hook"], sys.excepthook = sys.excepthook, _excepthook
    # A script that trains in a thread of its own: that thread's uncaught exception is the run's end too.
    _state["thread"] = threading.get_ident()
    if threading.excepthook is not _thread_excepthook:
        _state["previous_thread_hook"], threading.excepthook = threading.excepthook, _thread_excepthook
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGTERM)
        if previous is not _on_term:
            _state["previous_term"] = previous
            signal.signal(signal.SIGTERM, _on_term)


def release(run):
    """The run has ended: the script's own handlers are back."""
    if _state["run"] is not run:
        return
    _state["run"] = None
    if sys.excepthook is _excepthook and _state["previous_hook"] is not None:
        sys.excepthook = _state["previous_hook"]
    if threading.excepthook is _thread_excepthook and _state["previous_thread_hook"] is not None:
        threading.excepthook = _state["previous_thread_hook"]
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is _on_term:
        signal.signal(signal.SIGTERM, _state["previous_term"] or signal.SIG_DFL)


def _forget():
    run, _state["run"] = _state["run"], None
    if run is not None:
        run._journal, run._main = None, False  # the child's copy only


def active_run():
    """The run this process is recording and has not ended, if any."""
    run = _state["run"]
    if run is None or run.ended or os.getpid() != _state["pid"]:
        return None
    return run


def _on_term(signum, frame):
    run = active_run()
    previous = _state["previous_term"]
    if run is None:
        return _chain(previous, signum, frame)
    writing = run._journal is not None and run._journal.writing_here()
    if run.graceful_cancel and not run.cancel_requested:
        run.cancel_requested = True
        note = "SIGTERM received: the run stops at the end of this step and records itself cancelled"
        if writing:  # emitting here would wait for the lock this thread holds: said after its line instead
            run._pending_note = note
        else:
            run.message(note)
        return None
    if writing:
        run._pending_signal = signum  # finish the line being written first; _emit calls cancel_now after it
        return None
    cancel_now(run, previous, frame)


def cancel_now(run, previous=None, frame=None):
    previous = previous or _state["previous_term"]
    run._pending_signal = None
    run._end("cancelled", step=run.step)
    if callable(previous) and previous not in (signal.SIG_DFL, signal.SIG_IGN):
        return previous(signal.SIGTERM, frame)  # the script's (or its framework's) own handler decides
    raise SystemExit(3)  # as Labbook's worker ends when cancelled


def _chain(previous, signum, frame):
    if callable(previous):
        return previous(signum, frame)
    if previous == signal.SIG_IGN:
        return None
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
    return None


def _excepthook(kind, error, tb):
    run = active_run()
    if run is not None:
        _record_uncaught(run, kind, error, tb)
    (_state["previous_hook"] or sys.__excepthook__)(kind, error, tb)


def _thread_excepthook(args):
    run = active_run()
    if (run is not None and args.thread is not None and args.thread.ident == _state["thread"]
            and args.exc_type is not SystemExit):
        _record_uncaught(run, args.exc_type, args.exc_value, args.exc_traceback)
    (_state["previous_thread_hook"] or threading.__excepthook__)(args)


def _record_uncaught(run, kind, error, tb):
    run._end_by_exception(kind, error, tb)


def _at_exit():
    run = active_run()
    if run is None:
        return
    error = _uncaught()
    if error is None:
        run.finish()
    else:  # the script died of it, but a hook installed after ours printed it and did not call ours
        _record_uncaught(run, type(error), error, error.__traceback__)


def _last_error():
    return getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)  # last_exc: Python 3.12 on


def _uncaught():
    """The exception that ended the script, if one did: Python sets sys.last_exc / sys.last_value before it
    calls whatever sys.excepthook is installed. An interactive session sets them for every error and goes on,
    so there they say nothing about how the script ended."""
    error = _last_error()
    if error is None or error is _state["earlier_error"] or _interactive():
        return None
    return error


def _interactive():
    if hasattr(sys, "ps1") or sys.flags.interactive:
        return True
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return callable(get_ipython) and get_ipython() is not None
