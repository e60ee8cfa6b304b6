"""Where a run's journal goes.

- Started by a Labbook target (docs/LAUNCH.md): the worker's environment holds LABBOOK_RUN_DIR (the run folder,
  also the working directory), LABBOOK_RUN_UID and LABBOOK_RUN_NAME; the journal is the folder's journal.jsonl,
  which lbk mirrors and ingests.
- Started by hand: `lbk record` creates the run in the store (the same ingest then follows it, with this process
  for liveness) and says where its journal goes. Without lbk the journal is written under ./labbook-runs/, and
  `lbk record --journal FILE` stores it later.
"""
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass


class LocateError(Exception):
    """No journal could be set up; the message says what was tried."""


@dataclass
class Place:
    journal: str
    uid: str
    name: str
    run_dir: str
    origin: str           # "target", "store", "folder" or "given"
    store_id: int = 0     # the store's run id when lbk record created it
    resumed: bool = False  # a target's `lbk resume` started the script again (LABBOOK_RESUME=1)
    appended: bool = False  # journal= named a file that holds a run already: this one continues it
    store: str = ""        # the store: lbk record's, or the store= given (the hint of a run written to a folder)


def default_name():
    """A run started without name=: the script's file name without .py (`python train.py` gives "train", as under
    accelerate launch or torchrun); "python" for code typed at a prompt or in a notebook."""
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    stem, ext = os.path.splitext(script)
    return stem if ext == ".py" and stem and not stem.startswith("ipykernel") else "python"


def from_target(name):
    run_dir = os.environ.get("LABBOOK_RUN_DIR", "")
    if not run_dir:
        return None
    uid = os.environ.get("LABBOOK_RUN_UID", "")
    return Place(os.path.join(run_dir, "journal.jsonl"), uid, os.environ.get("LABBOOK_RUN_NAME", "") or name or "",
                 run_dir, "target", resumed=_resumed())


def lbk_program(explicit=None):
    """The lbk to call: the argument, $LABBOOK_LBK (as lbk and the GUI use it), else lbk on PATH."""
    for candidate in (explicit, os.environ.get("LABBOOK_LBK")):
        if candidate:
            return candidate
    return shutil.which("lbk")


def from_store(lbk, name, config, tags, task, store=None, experiment=None):
    """Asks `lbk record` for a run; raises LocateError with lbk's own message when it refuses."""
    name = name or default_name()
    args = [lbk] + (["--store", os.fspath(store)] if store else []) + ["--json", "record", "--config", "-",
                                                                    "--pid", str(os.getpid())]
    for flag, value in (("--name", name), ("--experiment", experiment), ("--task", task)):
        if value:
            args += [flag, value]
    for tag in tags or ():
        args += ["--tag", tag]
    try:
        done = subprocess.run(args, input=json.dumps(config), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LocateError(f"{lbk} record: {e}") from None
    if done.returncode != 0:
        raise LocateError(f"{lbk} record failed: {done.stderr.strip() or 'exit code ' + str(done.returncode)}")
    try:
        out = json.loads(done.stdout)
        return Place(out["journal"], out["uid"], name, out["run_dir"], "store", int(out["id"]),
                     store=out.get("store", ""))
    except (ValueError, KeyError, TypeError):
        raise LocateError(f"{lbk} record printed no run: {done.stdout.strip()!r}") from None


def in_folder(folder, name):
    uid = secrets.token_hex(6)
    run_dir = os.path.join(folder or "labbook-runs", uid)
    return Place(os.path.join(run_dir, "journal.jsonl"), uid, name or default_name(), run_dir, "folder")


def given(journal, name):
    """A journal path given by the script: the target's run uid when a target started it, else the uid of the run
    the journal already holds (a script started again appends to it), else a new one, so that `lbk record
    --journal` of the same file twice goes into one run."""
    journal = os.fspath(journal)
    held = "" if os.environ.get("LABBOOK_RUN_UID") else _journal_uid(journal)
    uid = os.environ.get("LABBOOK_RUN_UID", "") or held or secrets.token_hex(6)
    return Place(journal, uid, name or os.environ.get("LABBOOK_RUN_NAME", "") or default_name(),
                 os.path.dirname(os.path.abspath(journal)), "given", resumed=_resumed(), appended=bool(held))


def _journal_uid(journal):
    """The run uid of the journal's first event (run_started), or "" when there is none to read."""
    if not os.path.isfile(journal):  # nothing yet, or a device such as /dev/full that reads without end
        return ""
    try:
        with open(journal, encoding="utf-8", errors="replace") as f:
            first = json.loads(f.readline(1 << 20) or "{}")
        return str(first.get("run") or "") if isinstance(first, dict) else ""
    except (OSError, ValueError):
        return ""


def _resumed():
    return bool(os.environ.get("LABBOOK_RUN_DIR")) and os.environ.get("LABBOOK_RESUME") == "1"
