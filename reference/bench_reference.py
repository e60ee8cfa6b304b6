#!/usr/bin/python3
"""The PyTorch reference for bench_engine (benchmarks only, never used by Labbook).

The same pipeline as Labbook's engine, written as a PyTorch user would: read JSON lines, label the 20 most
common primary categories, tokenize titles with the same sentencepiece model (num_threads = --threads), build
batches, train one epoch (forward, cross-entropy, backward, AdamW step), then classify every text (tokenize,
batch, forward, softmax). Prints one JSON line of figures. Run by bench_engine with Debian's /usr/bin/python3
(python3-torch 1.13.1, python3-sentencepiece 0.1.97).

  /usr/bin/python3 reference/bench_reference.py --model bag|gru|transformer|encoder --data FILE.jsonl --tokenizer M.model
      [--threads 2] [--batch 64] [--limit N] [--sparse] [--skip-training] [--repeat R] [--precision fp32|bf16]
--sparse: the bag model with sparse=True gradients, SparseAdam on the table and AdamW on the rest (the closest
PyTorch has to Labbook's lazy AdamW); without it, dense AdamW on every parameter (PyTorch's default).
--skip-training: tokenization and inference only (on the initial weights). --repeat R: tokenization passes, the
median is reported (as bench_engine does for Labbook).
"""
import argparse
import collections
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbkmodels  # noqa: E402

BUCKETS = 2000000


def config(model, vocab, outputs):
    # Keep in step with modelConfig() in benchmarks/bench_engine.cpp.
    if model == "bag":
        return dict(type="bag", embedding_dim=64, ngrams=2, ngram_buckets=BUCKETS, ngram_hash="mix", dropout=0.2, vocab_rows=vocab,
                    outputs=outputs, embedding_rows=vocab + BUCKETS, max_tokens=48, lr=0.002)
    if model == "gru":
        return dict(type="gru", embedding_dim=128, hidden=128, layers=1, pooling="mean", dropout=0.1,
                    vocab_rows=vocab, outputs=outputs, max_tokens=48, lr=0.002)
    if model == "encoder":
        return dict(type="encoder", embedding_dim=256, hidden=1024, layers=4, heads=4, pooling="pooler", dropout=0.1,
                    vocab_rows=vocab, outputs=outputs, max_tokens=48, cls_id=-1, lr=0.0001)
    return dict(type="transformer", embedding_dim=128, hidden=512, layers=2, heads=4, pooling="mean", dropout=0.1,
                vocab_rows=vocab, outputs=outputs, max_tokens=48, cls_id=-1, lr=0.001)


def transformer_flops(c, batch, length):
    d, ff, layers = c["embedding_dim"], c["hidden"], c["layers"]
    tokens = batch * length
    per_layer = 2 * tokens * (4 * d * d + 2 * d * ff) + 2 * 2 * batch * length * length * d
    return 3 * layers * per_layer


def gru_flops(c, tokens):
    # Both directions of every layer, input and recurrent matmuls, over the real tokens (packed); x 3 for training.
    h, layers = c["hidden"], c["layers"]
    return 3 * sum(2 * 2 * tokens * 3 * h * ((c["embedding_dim"] if i == 0 else 2 * h) + h) for i in range(layers))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--sparse", action="store_true")
    ap.add_argument("--skip-training", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--work", default="")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)  # OpenBLAS's own threads: OPENBLAS_NUM_THREADS, set by bench_engine
    # --precision bf16: the forward pass under bfloat16 autocast, as a PyTorch user writes mixed precision.
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16")  # noqa: E731

    t0 = time.perf_counter()
    rows = []
    with open(a.data, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            cats = (r.get("categories") or "").split()
            if cats:
                rows.append((r.get("title") or "", cats[0]))
            if a.limit and len(rows) >= a.limit:
                break
    counts = collections.Counter(c for _, c in rows)
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    index = {c: i for i, (c, _) in enumerate(top)}
    texts = [t for t, c in rows if c in index]
    labels = [index[c] for t, c in rows if c in index]
    t_read = time.perf_counter() - t0

    tok = lbkmodels.Tokenizer(a.tokenizer, lowercase=True, max_tokens=48)

    def tokenize(batch_texts):
        lowered = [t.translate(lbkmodels._ASCII_LOWER) for t in batch_texts]
        return [ids[:48] for ids in tok.sp.encode(lowered, num_threads=a.threads)]

    passes = []
    for _ in range(max(1, a.repeat)):
        t1 = time.perf_counter()
        tokens = tokenize(texts)
        passes.append(time.perf_counter() - t1)
    t_tok_first = passes[0]
    t_tok = sorted(passes)[len(passes) // 2]

    cfg = config(a.model, tok.vocab_size(), len(index))
    torch.manual_seed(1)
    model = lbkmodels.make_model(cfg, sparse=a.sparse)
    model.train()
    if a.sparse and a.model == "bag":
        table = [model.embedding.weight]
        rest = [p for n, p in model.named_parameters() if n != "embedding.weight"]
        opts = [torch.optim.SparseAdam(table, lr=cfg["lr"]), torch.optim.AdamW(rest, lr=cfg["lr"], weight_decay=0)]
    else:
        opts = [torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0)]

    n = len(tokens)
    g = torch.Generator().manual_seed(7)
    order = torch.randperm(n, generator=g).tolist()
    y_all = torch.tensor(labels)
    flops, loss_sum, steps = 0.0, 0.0, 0
    t2 = time.perf_counter()
    for b in range(0, n if not a.skip_training else 0, a.batch):
        idx = order[b:b + a.batch]
        inputs = lbkmodels.make_inputs([tokens[i] for i in idx], cfg)
        target = y_all[idx]
        for o in opts:
            o.zero_grad()
        with autocast():
            logits = model(*inputs)
        loss = F.cross_entropy(logits.float(), target)
        loss.backward()
        for o in opts:
            o.step()
        loss_sum += loss.item()
        if a.model in ("transformer", "encoder"):
            flops += transformer_flops(cfg, len(idx), inputs[0].size(1))
        elif a.model == "gru":
            flops += gru_flops(cfg, inputs[1].sum().item())
        steps += 1
    t_train = time.perf_counter() - t2

    model.eval()
    with torch.no_grad(), autocast():  # one small batch first, untimed, as bench_engine does
        if n:
            model(*lbkmodels.make_inputs(tokens[:8], cfg))
    t3 = time.perf_counter()
    checksum, flops_inf = 0.0, 0.0
    with torch.no_grad():
        again = tokenize(texts)
        # Batches of 512 in order of length, as Labbook's predict and eval take them (a stable sort).
        order = sorted(range(n), key=lambda i: len(again[i]))
        for b in range(0, n, 512):
            inputs = lbkmodels.make_inputs([again[i] for i in order[b:b + 512]], cfg)
            with autocast():
                logits = model(*inputs)
            if a.model in ("transformer", "encoder"):  # forward only: a third of transformer_flops
                flops_inf += transformer_flops(cfg, inputs[0].size(0), inputs[0].size(1)) / 3
            elif a.model == "gru":
                flops_inf += gru_flops(cfg, inputs[1].sum().item()) / 3
            p = torch.softmax(logits.float(), 1)
            checksum += p[:, 0].sum().item()
    t_inf = time.perf_counter() - t3

    out = {
        "impl": "pytorch" + ("-sparse" if a.sparse else ""), "model": a.model, "threads": a.threads,
        "precision": a.precision,
        "batch": a.batch, "examples": n, "steps": steps,
        "seconds": {"read": t_read, "tokenize": t_tok, "train": t_train, "inference": t_inf},
        "tokenize_per_s": n / t_tok, "inference_per_s": n / t_inf,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "inference_checksum": checksum,
    }
    if steps:
        out.update({"mean_loss": loss_sum / steps, "train_e2e_per_s": n / (t_read + t_tok_first + t_train),
                    "train_loop_per_s": n / t_train, "step_ms": t_train / steps * 1e3})
    if flops:
        out["train_gflops"] = flops / t_train / 1e9
    if flops_inf:
        out["infer_gflops"] = flops_inf / t_inf / 1e9
    print(json.dumps(out))


if __name__ == "__main__":
    main()
