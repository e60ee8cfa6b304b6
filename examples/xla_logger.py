#!/usr/bin/env python3
"""Report a PyTorch/XLA (or any Python) training script into Labbook: now a thin wrapper of the labbook
library (python/labbook, docs/PYTHON.md), kept so that targets whose worker template names this file go on
working. New scripts use the library directly:

    import labbook
    run = labbook.init(journal=args.labbook_journal, config=vars(args))   # only the main process writes
    for step, batch in enumerate(loader, 1):
        loss = train_step(batch)
        if step % 10 == 0:
            run.log({"train/loss": loss.item(), "lr": scheduler.get_last_lr()[0]}, step=step)
    run.finish()

`python3 xla_logger.py --demo --journal FILE [--experiment FILE]` writes a short fake run without PyTorch, to
try a target.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))  # unless installed
import labbook  # noqa: E402


class LabbookLogger:
    """The old interface over labbook.Run, for scripts written against it."""

    def __init__(self, journal, run_uid=None, enabled=None):
        self.run = None
        self.journal, self.enabled = journal, enabled

    def started(self, config=None, device="xla", kind="train", **extra):
        self.run = labbook.init(config=config, journal=self.journal, device=device, kind=kind,
                                main_process=self.enabled, data=extra.get("data"))

    def metrics(self, step, **values):
        self.run.log(values, step=step)

    def log(self, message, level="info"):
        self.run.message(message, level)

    def checkpoint(self, step, path, kind="last"):
        self.run.checkpoint(path, kind=kind, step=step)

    def finished(self, step=None, **summary):
        self.run.finish(summary, step=step)

    def failed(self, reason, step=None):
        self.run.fail(reason, step=step)


def demo(args):
    config = {}
    if args.experiment and os.path.exists(args.experiment):
        with open(args.experiment, encoding="utf-8") as f:
            config = json.load(f)
    run = labbook.init(config=config, journal=args.journal, device="cpu (demo)")
    loss = 2.0
    for step in range(1, args.steps + 1):
        loss *= 0.97
        run.log({"train/loss": loss, "lr": 0.01}, step=step)
        time.sleep(args.sleep)
    run.finish({"train/loss": loss})


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--demo", action="store_true", help="write a short fake run (no PyTorch needed)")
    p.add_argument("--journal", required=True, help="the run's journal file ({journal} in a worker template)")
    p.add_argument("--experiment", help="the run's experiment.json ({experiment}), recorded as its config")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--sleep", type=float, default=0.05)
    a = p.parse_args()
    if not a.demo:
        p.error("import labbook from your training script (docs/PYTHON.md), or pass --demo")
    demo(a)
