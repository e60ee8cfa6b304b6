#!/usr/bin/env python3
"""Issue 17's goal on a GPU: does pre-training with many more tokens than a CPU hour add 2 points of accuracy?

Pre-trains pretrain-arxiv-mini's BERT-mini on CUDA in bf16 (the task's training abstracts, batch 256, the
recipe otherwise the file's) for --steps steps or until --pretrain-seconds pass (then it is cancelled and the
fine-tunes start from its best checkpoint, kept at each of its evaluations), then runs finetune-top20-title.json
twice on the same device, from that run and from random initialisation, and prints test accuracy and macro-F1
of both beside the CPU table of docs/RESULTS.md. A JSON summary goes to --json after each step.

  goal.py --lbk build-gpu/bin/lbk --data-root .gpu-goal --out /tmp/gpu-goal [--steps 1700] [--json FILE]

--data-root holds arxiv/arxiv-dev.jsonl.zst (benchmarks/gpu/prepare.sh --goal puts it in .gpu-goal/). With
--device cpu and --limit it runs here in a few minutes, as a dry run. Standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CPU_TABLE = {"random": (0.7279, 0.6791), "pre-trained 58.5 min on two cores": (0.7193, 0.6624)}


def experiment(file, name, args, changes):
    with open(os.path.join(ROOT, "experiments", file)) as f:
        e = json.load(f)
    e["name"] = name
    e["training"].update({"device": args.device, "precision": args.precision})
    if args.limit:
        e["data"]["limit"] = args.limit
    for section, values in changes.items():
        e.setdefault(section, {}).update(values)
    path = os.path.join(args.out, name + ".json")
    with open(path, "w") as f:
        json.dump(e, f, indent=1)
    return path


def lbk_command(args, *command):
    return [args.lbk, "--store", os.path.join(args.out, "store.db"), "--data-root", args.data_root, *command]


def lbk(args, *command, timeout=None):
    return subprocess.run(lbk_command(args, *command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def run_limited(args, path, name, seconds):
    """`lbk run` of the file, stopped by `lbk cancel` (which keeps its best checkpoint) when it outlasts seconds.
    Returns the run's summary and the wall time."""
    start = time.time()
    proc = subprocess.Popen(lbk_command(args, "run", path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        print(f"{name}: {seconds} s passed, cancelling it", flush=True)
        lbk(args, "cancel", name, timeout=60)
        out, _ = proc.communicate(timeout=180)
    print(out[-1200:], flush=True)
    return show(args, name) | {"wall_s": round(time.time() - start, 1)}


def pretrain(args):
    """The pre-training run; cancelled after --pretrain-seconds, the fine-tunes start from its best checkpoint."""
    path = experiment("pretrain-arxiv-mini.json", "goal-pretrain", args, {
        "training": {"batch_size": args.batch, "max_steps": args.steps, "log_every": max(10, args.steps // 20)},
        "evaluation": {"every_steps": max(10, args.steps // 5), "keep_checkpoints": False}})
    return run_limited(args, path, "goal-pretrain", args.pretrain_seconds)


def show(args, name):
    done = lbk(args, "--json", "show", name, timeout=60)
    if done.returncode != 0:
        return {"error": done.stdout[-500:]}
    run = json.loads(done.stdout)
    best = run.get("summary", {}).get("best", {})
    keep = ("test/accuracy", "test/macro_f1", "val/accuracy", "val/loss")
    return {"status": run.get("status"), "last_step": run.get("last_step"),
            **{k: best[k] for k in keep if k in best}}


def finetune(args, name, init_from):
    changes = {"model": {"init_from": init_from}}
    if args.limit:  # the file's max_steps is one epoch of the whole corpus: a dry run trains one of its papers
        changes |= {"training": {"max_steps": 0}, "evaluation": {"every_steps": 0}}
    path = experiment("finetune-top20-title.json", name, args, changes)
    return run_limited(args, path, name, args.finetune_seconds)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lbk", required=True)
    p.add_argument("--data-root", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=1700, help="pre-training steps (1,700 of 256: 4x the CPU hour's)")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--pretrain-seconds", type=int, default=300)
    p.add_argument("--finetune-seconds", type=int, default=120)
    p.add_argument("--device", default="cuda")
    p.add_argument("--precision", default="bf16")
    p.add_argument("--limit", type=int, default=0, help="papers read (0: all; a dry run takes a few thousand)")
    p.add_argument("--json")
    args = p.parse_args()
    args.lbk, args.data_root, args.out = (os.path.abspath(x) for x in (args.lbk, args.data_root, args.out))
    os.makedirs(args.out, exist_ok=True)
    for stale in ("store.db", "store.runs"):  # a rerun reads its own runs, never the last call's
        subprocess.run(["rm", "-rf", os.path.join(args.out, stale)], check=True)
    results = {"settings": {k: getattr(args, k) for k in ("steps", "batch", "device", "precision", "limit")},
               "cpu_table": CPU_TABLE}

    def record(key, value):
        results[key] = value
        print(f"{key}: {json.dumps(value)}", flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)

    record("pretrain", pretrain(args))
    record("finetune_pretrained", finetune(args, "goal-finetune-pretrained", "run:goal-pretrain"))
    record("finetune_random", finetune(args, "goal-finetune-random", ""))
    a, b = results["finetune_pretrained"], results["finetune_random"]
    if "test/accuracy" in a and "test/accuracy" in b:
        gain = 100 * (a["test/accuracy"] - b["test/accuracy"])
        print(f"test accuracy: pre-trained {a['test/accuracy']:.4f}, random {b['test/accuracy']:.4f}: "
              f"{gain:+.2f} points (goal +2; on two CPU cores: -0.86)", flush=True)
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
