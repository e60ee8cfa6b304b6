#!/usr/bin/env python3
"""A plain PyTorch training loop that Labbook does not run itself, recorded with the labbook library
(python/labbook, docs/PYTHON.md): an LR range test, the loss and learning-rate curves, validation
evaluations with per-class figures, histograms and per-example predictions, a test evaluation and the model
file, all of which `lbk show` and the GUI then show like a run Labbook trained.

The data come from a Labbook experiment file through `lbk dataset`, so the examples, labels and split are the
ones Labbook's own runs of that experiment use. Run it by hand:

    python3 examples/plain_pytorch.py --experiment experiments/debug.json

or from a command target (docs/LAUNCH.md), whose worker template passes the run's files. The worker runs in the
run's own folder on the target, so give the script's absolute path there:

    "worker": ["python3", "/path/to/labbook/examples/plain_pytorch.py", "--experiment", "{experiment}",
               "--data-root", "{data_root}", "--lbk", "{lbk}"]
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))  # unless installed
import torch  # noqa: E402

import labbook  # noqa: E402
from labbook.integrations import lr_range  # noqa: E402


def read_dataset(args):
    """Labbook's examples of the experiment: (label names, {split: [example]}); an example has id, text, labels."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "dataset.jsonl")
        cmd = [args.lbk] + (["--data-root", args.data_root] if args.data_root else []) + [
            "dataset", args.experiment, "--out", out]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(out, encoding="utf-8") as f:
            header, *rows = [json.loads(line) for line in f]
    splits = {"train": [], "val": [], "test": []}
    for row in rows:
        splits[row["split"]].append(row)
    return header["label_names"], splits


def words(text):
    return re.findall(r"\w+", text.lower())


def encode(splits, max_words):
    counts = {}
    for ex in splits["train"]:
        for w in words(ex["text"]):
            counts[w] = counts.get(w, 0) + 1
    vocab = {w: i + 1 for i, w in enumerate(sorted(counts, key=lambda w: -counts[w])[:max_words])}  # 0: unknown
    for rows in splits.values():
        for ex in rows:
            ex["ids"] = [vocab.get(w, 0) for w in words(ex["text"])] or [0]
    return len(vocab) + 1


def batches(rows, size, rng=None):
    order = list(range(len(rows)))
    if rng:
        rng.shuffle(order)
    for start in range(0, len(order), size):
        chunk = [rows[i] for i in order[start:start + size]]
        ids = torch.tensor([t for ex in chunk for t in ex["ids"]])
        offsets = torch.tensor([0] + [len(ex["ids"]) for ex in chunk[:-1]]).cumsum(0)
        yield ids, offsets, torch.tensor([ex["labels"][0] for ex in chunk])


class Bag(torch.nn.Module):
    def __init__(self, vocab, dim, classes, dropout):
        super().__init__()
        self.embed = torch.nn.EmbeddingBag(vocab, dim, mode="mean")
        self.drop = torch.nn.Dropout(dropout)
        self.out = torch.nn.Linear(dim, classes)

    def forward(self, ids, offsets):
        return self.out(self.drop(self.embed(ids, offsets)))


def evaluate(model, rows, batch_size):
    model.eval()
    probs, loss = [], 0.0
    with torch.no_grad():
        for ids, offsets, y in batches(rows, batch_size):
            logits = model(ids, offsets)
            loss += torch.nn.functional.cross_entropy(logits, y, reduction="sum").item()
            probs.append(torch.softmax(logits, dim=1))
    model.train()
    return torch.cat(probs), loss / len(rows)


def record_evaluation(run, model, rows, names, split, step, batch_size):
    probs, loss = evaluate(model, rows, batch_size)
    return run.evaluation(split, step=step, labels=names, truth=[ex["labels"][0] for ex in rows], probs=probs,
                          loss=loss, ids=[ex["id"] for ex in rows], titles=[ex["text"][:300] for ex in rows])


def train(args, run, names, splits, model):
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    loss_of = lambda b: torch.nn.functional.cross_entropy(model(b[0], b[1]), b[2])  # noqa: E731
    if args.lr_find:
        found = lr_range.range_test(run, model, opt, loss_of, list(batches(splits["train"], args.batch_size)),
                                    min_lr=1e-4, max_lr=10.0, steps=args.lr_find)
        if found and found.get("lr") and not args.lr_fixed:
            for group in opt.param_groups:
                group["lr"] = found["lr"]
    base_lr = opt.param_groups[0]["lr"]
    steps_per_epoch = -(-len(splits["train"]) // args.batch_size)
    total, step, rng = args.epochs * steps_per_epoch, 0, random.Random(args.seed)
    for epoch in range(args.epochs):
        tick = time.perf_counter()
        for batch in batches(splits["train"], args.batch_size, rng):
            step += 1
            lr = base_lr * (1 - (step - 1) / total)
            for group in opt.param_groups:
                group["lr"] = lr
            opt.zero_grad()
            loss = loss_of(batch)
            loss.backward()
            opt.step()
            if step % args.log_every == 0:
                rate = args.log_every * args.batch_size / (time.perf_counter() - tick)
                run.log({"train/loss": loss.item(), "lr": lr, "train/examples_per_s": rate, "epoch": epoch + 1},
                        step=step)
                tick = time.perf_counter()
            if step % args.eval_every == 0 or step == total:
                record_evaluation(run, model, splits["val"], names, "val", step, 256)
            time.sleep(args.step_sleep)
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--experiment", required=True, help="Labbook experiment file (data, labels, split)")
    p.add_argument("--data-root", default="", help="folder relative data paths resolve against")
    p.add_argument("--lbk", default=os.environ.get("LABBOOK_LBK", "lbk"), help="the lbk program")
    p.add_argument("--name", help="run name when run by hand (default: the experiment's name)")
    p.add_argument("--store", help="store file when run by hand (default: lbk's)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--lr-find", type=int, default=60, help="steps of the LR range test first (0: none)")
    p.add_argument("--lr-fixed", action="store_true", help="keep --lr instead of the range test's suggestion")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--log-every", type=int, default=5)
    p.add_argument("--eval-every", type=int, default=40)
    p.add_argument("--step-sleep", type=float, default=0.0, help="seconds to wait after each step (tests)")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    with open(args.experiment, encoding="utf-8") as f:
        experiment = json.load(f)
    names, splits = read_dataset(args)
    model = Bag(encode(splits, 20000), args.dim, len(names), args.dropout)
    total_steps = args.epochs * -(-len(splits["train"]) // args.batch_size)
    # data= in the keys Labbook's own runs use, so `lbk run` prints "N examples in K classes (train, validation, test)".
    # The experiment's sections (its data, labels and split are this run's) and the script's own settings.
    run = labbook.init(config=dict(experiment, args=vars(args)), task="multiclass",
                       name=args.name or experiment.get("name"), store=args.store, tags=["python"],
                       total_steps=total_steps,
                       data={"examples": sum(map(len, splits.values())), "classes": len(names),
                             "train": len(splits["train"]), "validation": len(splits["val"]),
                             "test": len(splits["test"])})
    with run:
        step = train(args, run, names, splits, model)
        test = record_evaluation(run, model, splits["test"], names, "test", step, 256)
        if run.main:  # the job's main process saves the model; every process has the test summary
            path = os.path.join(run.run_dir or ".", "model.pt")
            torch.save(model.state_dict(), path)
            run.artifact(path, kind="model")
        run.finish({"test/accuracy": test["accuracy"], "test/macro_f1": test["macro_f1"]})


if __name__ == "__main__":
    main()
