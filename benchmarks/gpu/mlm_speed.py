#!/usr/bin/env python3
"""Issue 17's GPU speed check: pre-trains pretrain-arxiv-mini's BERT-mini (4 layers, hidden 256, sequences of 128)
with the engine built by build-engine.sh, on the 5k sample's abstracts, for a few hundred steps per setting, and
prints MLM training tokens/s (the median of the run's logged `train/tokens_per_s`, the first log left out) beside
the CPU figure of docs/PRETRAINING.md. The bf16 CUDA run is exported (--format hf) for hf_fills.py.

  mlm_speed.py --lbk build-gpu/bin/lbk --data .gpu-carry --out DIR [--steps 300] [--settings cuda-bf16-32,...]
               [--json FILE]

A setting is DEVICE-PRECISION-BATCH. Standard library only; the GPU machine's python3 runs it.
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CPU_TOKENS_PER_S = 4019  # pretrain-arxiv-mini on two cores, OpenBLAS's OpenMP build (docs/PRETRAINING.md)
DEFAULT_SETTINGS = "cuda-bf16-32,cuda-fp32-32,cuda-bf16-256,cuda-fp32-256,cpu-fp32-32"


def experiment(name, device, precision, batch, steps):
    with open(os.path.join(ROOT, "experiments", "pretrain-arxiv-mini.json")) as f:
        e = json.load(f)
    e["name"] = name
    e["data"]["path"] = "arxiv-sample-5k.jsonl.zst"
    e["training"].update({"device": device, "precision": precision, "batch_size": batch, "epochs": 100,
                          "max_steps": steps, "log_every": max(5, steps // 12)})
    e["evaluation"] = {"every_steps": steps, "metric": "loss"}
    e["mlm"]["eval_sequences"] = 200
    return e


def journal(run_dir):
    """The run's metrics rows, what it says it ran on (the started event), and its warnings."""
    rows, started, warnings = [], {}, []
    with open(os.path.join(run_dir, "journal.jsonl")) as f:
        for line in f:
            event = json.loads(line)
            if event.get("type") == "metrics":
                rows.append(event.get("values", {}))
            elif event.get("type") == "run_started":
                started = event
            elif event.get("type") == "log" and event.get("level") in ("warning", "error"):
                warnings.append(event.get("message", ""))
    ran_on = " ".join(f"{k}={started.get(k)}" for k in ("device", "precision", "threads", "engine"))
    return rows, ran_on, warnings


def run_setting(args, setting):
    device, precision, batch = setting.split("-")
    steps = args.steps if device != "cpu" else max(30, args.steps // 10)
    if int(batch) >= 128:  # as many tokens as the batch-32 runs take in a third of the steps
        steps = max(50, steps // 3)
    name = "gpu-speed-" + setting
    store = os.path.join(args.out, name, "store.db")
    shutil.rmtree(os.path.dirname(store), ignore_errors=True)  # a rerun reads its own run, never the last one
    os.makedirs(os.path.dirname(store))
    exp_path = os.path.join(args.out, name, "experiment.json")
    with open(exp_path, "w") as f:
        json.dump(experiment(name, device, precision, int(batch), steps), f, indent=1)
    start = time.time()
    try:
        done = subprocess.run([args.lbk, "--store", store, "--data-root", args.data, "run", exp_path],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired as e:
        print(f"{setting}: stopped after {args.timeout} s\n{(e.stdout or '')[-2000:]}", flush=True)
        return None
    wall = time.time() - start
    runs = os.path.join(args.out, name, "store.runs")
    run_dirs = [os.path.join(runs, d) for d in os.listdir(runs)] if os.path.isdir(runs) else []
    if done.returncode != 0 or not run_dirs:
        print(f"{setting}: lbk run exited {done.returncode}\n{done.stdout[-3000:]}", flush=True)
        return None
    metrics, ran_on, warnings = journal(run_dirs[0])
    speeds = [m["train/tokens_per_s"] for m in metrics if "train/tokens_per_s" in m][1:]
    held_out = [m for m in metrics if "val/accuracy" in m]
    return {"setting": setting, "store": store, "name": name, "steps": steps, "wall_s": wall,
            "tokens_per_s": statistics.median(speeds) if speeds else float("nan"),
            "val_accuracy": held_out[-1]["val/accuracy"] if held_out else float("nan"),
            "ran_on": ran_on, "warnings": warnings}


def export_hf(args, r):
    """The run as a BertForMaskedLM folder, for hf_fills.py."""
    folder = os.path.join(args.out, "export-" + r["setting"])
    shutil.rmtree(folder, ignore_errors=True)
    done = subprocess.run([args.lbk, "--store", r["store"], "export", r["name"], "--format", "hf", "--out", folder],
                          check=False)
    return done.returncode == 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lbk", required=True)
    p.add_argument("--data", required=True, help="folder holding arxiv-sample-5k.jsonl.zst")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--settings", default=DEFAULT_SETTINGS)
    p.add_argument("--json", help="also write the results here (after each setting)")
    p.add_argument("--timeout", type=int, default=180, help="seconds one setting may take")
    args = p.parse_args()
    args.lbk, args.data, args.out = (os.path.abspath(x) for x in (args.lbk, args.data, args.out))
    os.makedirs(args.out, exist_ok=True)
    print(f"MLM pre-training, BERT-mini, sequences of 128 (CPU figure: {CPU_TOKENS_PER_S} tokens/s on two cores)")
    print(f"{'setting':<16}{'steps':>7}{'tokens/s':>12}{'x CPU':>8}{'wall s':>9}{'held-out acc':>14}", flush=True)
    for old in glob.glob(os.path.join(args.out, "export-*")):  # hf_fills.py must never find an earlier call's
        shutil.rmtree(old)
    results, exported = [], False
    for setting in args.settings.split(","):  # each row as soon as it is known: a stopped call keeps the earlier
        r = run_setting(args, setting)
        if not r:
            continue
        results.append(r)
        print(f"{r['setting']:<16}{r['steps']:>7}{r['tokens_per_s']:>12.0f}{r['tokens_per_s'] / CPU_TOKENS_PER_S:>8.1f}"
              f"{r['wall_s']:>9.1f}{r['val_accuracy']:>14.4f}  {r['ran_on']}", flush=True)
        for w in r["warnings"][:3]:
            print(f"  warning: {w}", flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"cpu_tokens_per_s": CPU_TOKENS_PER_S, "results": results}, f, indent=1)
        if setting.startswith("cuda-bf16") and not exported:
            exported = export_hf(args, r)
    return 0 if len(results) == len(args.settings.split(",")) else 1


if __name__ == "__main__":
    sys.exit(main())
