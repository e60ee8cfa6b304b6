#!/usr/bin/env python3
"""Report a PyTorch/XLA (or any Python) training script into Labbook.

Labbook follows any program that appends the event protocol (docs/PROTOCOL.md) to a journal file. Run your
script through a `command` target whose "worker" template passes the journal path, e.g. in targets.json:

    "tpu": {"type": "command",
            "command": ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "{name}", "--zone", "{zone}",
                        "--command", "{cmd}"],
            "vars": {"name": "my-v4", "zone": "us-central2-b"},
            "worker": ["accelerate", "launch", "train.py", "--labbook-journal", "{journal}"]}

and in train.py:

    from xla_logger import LabbookLogger
    log = LabbookLogger(args.labbook_journal)          # only the main process writes
    log.started(config=vars(args), device="xla")
    for step, batch in enumerate(loader, 1):
        loss = train_step(batch)
        if step % 10 == 0:
            log.metrics(step, **{"train/loss": loss.item(), "lr": scheduler.get_last_lr()[0]})
    log.finished(step)

Labbook sets LABBOOK_RUN_UID, LABBOOK_RUN_NAME and LABBOOK_RUN_DIR in the worker's environment. A SIGTERM
(lbk cancel, scancel, a Slurm time limit) is recorded as `cancelled` before the process ends.

`python3 xla_logger.py --demo --journal FILE` writes a short fake run without PyTorch, to try a target.
"""
import argparse
import json
import math
import os
import signal
import socket
import sys
import time


def _is_main_process():
    # torch_xla's own notion first (one writer per job), then the launchers' environment variables.
    try:
        import torch_xla.core.xla_model as xm  # noqa: F401  (only present on XLA hosts)
        return xm.is_master_ordinal()
    except Exception:
        pass
    for var in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        if os.environ.get(var, "0") != "0":
            return False
    return True


class LabbookLogger:
    """Appends one JSON event per line to the journal and flushes each line, as docs/PROTOCOL.md asks."""

    def __init__(self, journal, run_uid=None, enabled=None):
        self.enabled = _is_main_process() if enabled is None else enabled
        self.run_uid = run_uid or os.environ.get("LABBOOK_RUN_UID", "")
        self.seq = 0
        self.step = 0
        self.f = None
        if not self.enabled:
            return
        # Continue the journal's numbering when it already holds events (a resumed run).
        if os.path.exists(journal):
            with open(journal, "rb") as old:
                for line in old:
                    try:
                        self.seq = max(self.seq, json.loads(line)["seq"])
                    except (ValueError, KeyError):
                        pass
        self.f = open(journal, "a", buffering=1, encoding="utf-8")
        signal.signal(signal.SIGTERM, self._on_term)

    def emit(self, type_, **fields):
        if not self.enabled:
            return
        self.seq += 1
        event = {"seq": self.seq, "t": time.time(), "type": type_}
        event.update(fields)
        self.f.write(json.dumps(event, allow_nan=False, default=str) + "\n")
        self.f.flush()
        if type_ in ("finished", "failed", "cancelled"):
            os.fsync(self.f.fileno())

    def started(self, config=None, device="xla", kind="train", **extra):
        self.emit("run_started", run=self.run_uid, config=config or {}, host=socket.gethostname(),
                  pid=os.getpid(), device=device, kind=kind, **extra)

    def metrics(self, step, **values):
        self.step = step
        clean = {k: (v if isinstance(v, (int, float)) and math.isfinite(v) else None) for k, v in values.items()}
        self.emit("metrics", step=step, values=clean)

    def log(self, message, level="info"):
        self.emit("log", level=level, message=message)

    def checkpoint(self, step, path, kind="last"):
        self.emit("checkpoint", step=step, kind=kind, path=path)

    def finished(self, step=None, **summary):
        self.emit("finished", step=self.step if step is None else step, summary=summary)

    def failed(self, reason, step=None):
        self.emit("failed", step=self.step if step is None else step, reason=reason)

    def _on_term(self, signum, frame):
        self.emit("cancelled", step=self.step)
        sys.exit(3)


def _demo(args):
    config = {}
    if args.experiment and os.path.exists(args.experiment):
        with open(args.experiment, encoding="utf-8") as f:
            config = json.load(f)
    log = LabbookLogger(args.journal)
    log.started(config=config, device="cpu (demo)")
    loss = 2.0
    for step in range(1, args.steps + 1):
        loss *= 0.97
        log.metrics(step, **{"train/loss": loss, "lr": 0.01})
        time.sleep(args.sleep)
    log.finished(args.steps, **{"train/loss": loss})


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--demo", action="store_true", help="write a short fake run (no PyTorch needed)")
    p.add_argument("--journal", required=True, help="the run's journal file ({journal} in a worker template)")
    p.add_argument("--experiment", help="the run's experiment.json ({experiment}), recorded as its config")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--sleep", type=float, default=0.05)
    a = p.parse_args()
    if not a.demo:
        p.error("import LabbookLogger from your training script, or pass --demo")
    _demo(a)
