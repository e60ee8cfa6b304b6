#!/usr/bin/env python3
"""How much the labbook Python library costs a training loop: the time of one run.log() call (a few finite
floats, the common case; and with 0-d tensors, which cost an .item() each), of one evaluation with predictions,
and, beside them, the time of one optimizer step of a small PyTorch model, so the share of a step is read off
directly. Prints figures; measurements belong in docs/BENCHMARKS.md.

    /usr/bin/python3 benchmarks/python_recorder_bench.py [--calls 20000]
"""
import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import labbook  # noqa: E402


_STEPS = itertools.count(1)  # every timed call gets a later step than the one before, across repeats and
                             # benchmarks, so no call pays (or skips) the "step goes back" warning path


def per_call(fn, calls, repeats=5):
    """The median over repeats of the mean time of one call, in microseconds; fn gets the call's step."""
    times = []
    for _ in range(repeats):
        steps = [next(_STEPS) for _ in range(calls)]
        start = time.perf_counter()
        for i in steps:
            fn(i)
        times.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(times)


def bench_log(run, calls):
    values = {"train/loss": 0.6931, "lr": 3e-4, "train/examples_per_s": 1234.5, "epoch": 1.25}
    return per_call(lambda i: run.log(values, step=i), calls)


def bench_tensor_log(run, calls):
    import torch
    values = {"train/loss": torch.tensor(0.6931), "lr": 3e-4, "train/grad_norm": torch.tensor(1.5)}
    return per_call(lambda i: run.log(values, step=i), calls)


def bench_evaluation(run, n=385, k=5):
    rng = random.Random(1)
    probs = []
    for _ in range(n):
        row = [rng.random() for _ in range(k)]
        total = sum(row)
        probs.append([x / total for x in row])
    truth = [rng.randrange(k) for _ in range(n)]
    labels, ids = [f"c{i}" for i in range(k)], [f"id{i}" for i in range(n)]
    titles = ["A title of a paper about something" for _ in range(n)]
    return per_call(lambda i: run.evaluation("val", step=i, labels=labels, truth=truth, probs=probs, ids=ids,
                                             titles=titles), 20, repeats=3) / 1000


def bench_step(calls=200):
    """One AdamW step of a bag-of-words classifier (examples/plain_pytorch.py's model, batch 32) and of a
    2-layer MLP (batch 64, 512 wide), on this CPU."""
    import torch
    torch.manual_seed(0)
    out = {}
    embed, head = torch.nn.EmbeddingBag(20000, 64, mode="mean"), torch.nn.Linear(64, 5)
    opt = torch.optim.AdamW(list(embed.parameters()) + list(head.parameters()), lr=0.02)
    ids, offsets = torch.randint(0, 20000, (32 * 12,)), torch.arange(0, 32 * 12, 12)
    y = torch.randint(0, 5, (32,))

    def bag_step(_):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(head(embed(ids, offsets)), y).backward()
        opt.step()
    out["bag, batch 32"] = per_call(bag_step, calls, repeats=3) / 1000
    mlp = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    opt2 = torch.optim.AdamW(mlp.parameters())
    x, y2 = torch.randn(64, 512), torch.randint(0, 10, (64,))

    def mlp_step(_):
        opt2.zero_grad()
        torch.nn.functional.cross_entropy(mlp(x), y2).backward()
        opt2.step()
    out["MLP 512x512, batch 64"] = per_call(mlp_step, calls, repeats=3) / 1000
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=20000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = labbook.init(journal=os.path.join(tmp, "journal.jsonl"))
        log_us = bench_log(run, args.calls)
        print(f"run.log, 4 floats:               {log_us:8.2f} us per call")
        try:
            tensor_us = bench_tensor_log(run, args.calls)
            print(f"run.log, 2 tensors + 1 float:    {tensor_us:8.2f} us per call")
        except ImportError:
            tensor_us = None
        eval_ms = bench_evaluation(run)
        print(f"run.evaluation, 385 x 5 classes,  {eval_ms:8.2f} ms per call "
              "(summary, histograms, 385 prediction rows)")
        size = os.path.getsize(os.path.join(tmp, "journal.jsonl"))
        run.finish()
    print(f"journal written: {size / 1e6:.1f} MB")
    try:
        steps = bench_step()
    except ImportError:
        print("torch not installed: no training step to compare with")
        return
    worst = max(log_us, tensor_us or 0)
    for name, ms in steps.items():
        print(f"training step, {name}: {ms:8.3f} ms; one run.log per step is {worst / (ms * 1000) * 100:.2f}% of it")


if __name__ == "__main__":
    main()
