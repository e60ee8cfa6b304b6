#!/usr/bin/env python3
"""An MLM run's learning curve, reproduced in plain PyTorch: does Labbook's pre-training learn as fast as
transformers' BertForMaskedLM does on the same data with the same recipe?

Trains reference/hf_encoder.py's MaskedLM (transformers' BertForMaskedLM, initialised as transformers does) on the
very sequences a Labbook MLM run trained on (the packed `.ids`/`.idx` files in Labbook's cache,
~/.cache/labbook/tokenizers/mlm-corpus/KEY-train.*, and KEY-heldout.* for evaluation), with the experiment file's
recipe: sizes, dropout, batch, AdamW (no decay on biases and norms), linear warm-up and decay over
training.max_steps, gradient clipping, 15% masking 80/10/10 drawn afresh per batch. Every `--eval-every` steps it
scores `--eval-sequences` held-out sequences, spread evenly, under one fixed masking, as Labbook's evaluation does,
and prints a JSON line per evaluation (step, val loss, val masked-token accuracy, mean train loss since the last).

  mlm_curve_reference.py EXPERIMENT.json CACHE/KEY --first-special N [--steps S] [--eval-every E] [--threads T]

Debian's python3-torch is enough (run with /usr/bin/python3).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_encoder  # noqa: E402
from bench_mlm_reference import adamw, bert_config, init_like_transformers, mask_batch  # noqa: E402


class Packed:
    """A packed corpus as Labbook writes it: KEY.ids (int32 ids) and KEY.idx (32-byte header, count + 1 offsets)."""

    def __init__(self, base):
        self.ids = np.fromfile(base + ".ids", dtype="<i4")
        self.offsets = np.fromfile(base + ".idx", dtype="<i8", offset=32)
        self.window = int(np.fromfile(base + ".idx", dtype="<i4", count=1, offset=8)[0])

    def __len__(self):
        return len(self.offsets) - 1

    def batch(self, rows):
        """Padded ids [len(rows), window] and the attention mask."""
        ids = torch.zeros((len(rows), self.window), dtype=torch.long)
        for r, i in enumerate(rows):
            seq = self.ids[self.offsets[i]:self.offsets[i + 1]]
            ids[r, :len(seq)] = torch.from_numpy(seq.astype(np.int64))
        return ids, (ids != 0).long()


def linear_schedule(step, total, warmup_share):
    warmup = int(warmup_share * total)
    if warmup and step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def evaluate(model, held, rows, special, vocab, batch):
    model.eval()
    gen = torch.Generator().manual_seed(5)
    loss, right, count = 0.0, 0, 0
    with torch.no_grad():
        for begin in range(0, len(rows), batch):
            ids, attention = held.batch(rows[begin:begin + batch])
            inputs, chosen = mask_batch(ids, (ids > 0) & (ids < special), special + 2, vocab, gen)
            logits = model(inputs, attention)[1][chosen]
            loss += F.cross_entropy(logits, ids[chosen], reduction="sum").item()
            right += int((logits.argmax(1) == ids[chosen]).sum())
            count += int(chosen.sum())
    model.train()
    return loss / count, right / count


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment")
    ap.add_argument("corpus", help="the cache entry's path without -train.ids (CACHE/KEY)")
    ap.add_argument("--first-special", type=int, required=True, help="[CLS]'s row; [SEP] and [MASK] follow")
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (default: max_steps)")
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--eval-sequences", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    e = json.load(open(a.experiment))
    m, opt_cfg, tr = e["model"], e["optimizer"], e["training"]
    total, batch = tr["max_steps"], tr["batch_size"]
    special = a.first_special
    vocab = special + 3

    train, held = Packed(a.corpus + "-train"), Packed(a.corpus + "-heldout")
    eval_rows = np.linspace(0, len(held) - 1, min(a.eval_sequences, len(held))).astype(int).tolist()
    torch.manual_seed(a.seed)
    model = hf_encoder.MaskedLM(bert_config(vocab, m["embedding_dim"], m["layers"], m["heads"], m["hidden"],
                                            m.get("dropout", 0.1), train.window))
    init_like_transformers(model)
    model.train()
    opt = adamw(model, opt_cfg["lr"], opt_cfg.get("weight_decay", 0.0))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: linear_schedule(s, total, e.get("schedule", {}).get("warmup", 0.0)))

    gen = torch.Generator().manual_seed(a.seed + 1)
    order = torch.randperm(len(train), generator=gen).tolist()
    losses = []
    for step in range(a.steps or total):
        ids, attention = train.batch([order[(step * batch + r) % len(order)] for r in range(batch)])
        inputs, chosen = mask_batch(ids, (ids > 0) & (ids < special), special + 2, vocab, gen)
        loss = F.cross_entropy(model(inputs, attention)[1][chosen], ids[chosen])
        opt.zero_grad()
        loss.backward()
        if opt_cfg.get("grad_clip"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), opt_cfg["grad_clip"])
        opt.step()
        sched.step()
        losses.append(loss.item())
        if (step + 1) % a.eval_every == 0:
            val_loss, val_acc = evaluate(model, held, eval_rows, special, vocab, 64)
            print(json.dumps({"step": step + 1, "val_loss": round(val_loss, 4), "val_accuracy": round(val_acc, 4),
                              "train_loss": round(sum(losses) / len(losses), 4)}), flush=True)
            losses = []


if __name__ == "__main__":
    main()
