#!/usr/bin/env python3
"""The PyTorch side of bench_engine's MLM pre-training figures (benchmarks/mlmbench.h says what both sides run):
the abstracts of the papers read, encoded whole with the same sentencepiece model, packed into sequences of 128 ids
across documents, 15% masked afresh per batch (80% [MASK], 10% random, 10% kept), BERT-mini as transformers'
BertForMaskedLM (reference/hf_encoder.py), AdamW, the same number of steps. Prints one JSON object.

  bench_mlm_reference.py --data FILE.jsonl --tokenizer M.model [--limit N] [--threads T] [--batch B] [--steps S]
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_encoder  # noqa: E402
import lbkmodels  # noqa: E402

WINDOW = 128


def pack(documents, cls, sep):
    """[CLS] then documents each followed by [SEP]; a document that does not fit continues in the next sequence."""
    sequences, current = [], [cls]
    for doc in documents:
        if not doc:
            continue
        for token in doc + [sep]:
            if len(current) == WINDOW:
                sequences.append(current)
                current = [cls]
            current.append(token)
    if len(current) > 1:
        sequences.append(current)
    return sequences


def mask_batch(ids, maskable, mask, rows, gen):
    """BERT's masking, as transformers' DataCollatorForLanguageModeling: 15% of the maskable ids chosen, of those
    80% replaced by the mask id, 10% by a random id, 10% kept. Returns the inputs and the chosen positions."""
    chosen = torch.bernoulli(torch.full(ids.shape, 0.15), generator=gen).bool() & maskable
    replaced = torch.bernoulli(torch.full(ids.shape, 0.8), generator=gen).bool() & chosen
    randomised = torch.bernoulli(torch.full(ids.shape, 0.5), generator=gen).bool() & chosen & ~replaced
    inputs = torch.where(replaced, torch.full_like(ids, mask), ids)
    return torch.where(randomised, torch.randint(rows, ids.shape, generator=gen), inputs), chosen


def bert_config(rows, hidden=256, layers=4, heads=4, feed_forward=1024, dropout=0.1, window=WINDOW):
    """A transformers BertConfig (as a dict) of BERT-mini's sizes by default, for Labbook's id layout (0 pads)."""
    return {"model_type": "bert", "vocab_size": rows, "hidden_size": hidden, "num_hidden_layers": layers,
            "num_attention_heads": heads, "intermediate_size": feed_forward, "max_position_embeddings": window + 2,
            "hidden_act": "gelu", "layer_norm_eps": 1e-12, "type_vocab_size": 2, "pad_token_id": 0,
            "hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout}


def adamw(model, lr, weight_decay):
    """AdamW as BERT recipes (and Labbook) set it up: no weight decay on biases and layer norms."""
    named = list(model.named_parameters())
    exempt = lambda name: name.endswith("bias") or "LayerNorm" in name  # noqa: E731
    return torch.optim.AdamW([{"params": [p for n, p in named if not exempt(n)], "weight_decay": weight_decay},
                              {"params": [p for n, p in named if exempt(n)], "weight_decay": 0.0}], lr=lr)


def init_like_transformers(model):
    """BertPreTrainedModel._init_weights: normal(0, 0.02) matrices and embeddings, zero biases, unit norms."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                m.weight.normal_(0.0, 0.02)
            if isinstance(m, torch.nn.Linear) and m.bias is not None:
                m.bias.zero_()
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()
        model.cls.predictions.bias.zero_()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=40)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    abstracts = []
    with open(a.data, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                abstracts.append(json.loads(line).get("abstract") or "")
            if a.limit and len(abstracts) >= a.limit:
                break
    tok = lbkmodels.Tokenizer(a.tokenizer, lowercase=True, max_tokens=10**9)
    pieces = tok.vocab_size()
    pad, cls, sep, mask = 0, pieces, pieces + 1, pieces + 2
    rows = pieces + 3
    lowered = [t.translate(lbkmodels._ASCII_LOWER) for t in abstracts]
    sequences = pack(tok.sp.encode(lowered, num_threads=a.threads), cls, sep)

    config = bert_config(rows)
    torch.manual_seed(1)
    model = hf_encoder.MaskedLM(config)
    init_like_transformers(model)
    model.train()
    opt = adamw(model, 1e-4, 0.01)

    g = torch.Generator().manual_seed(7)
    order = torch.randperm(len(sequences), generator=g).tolist()
    gen = torch.Generator().manual_seed(11)
    warmup, seconds, loss_sum, tokens = 3, 0.0, 0.0, 0
    for step in range(warmup + a.steps):
        t = time.perf_counter()
        chosen_rows = [sequences[order[(step * a.batch + r) % len(order)]] for r in range(a.batch)]
        ids = torch.full((a.batch, WINDOW), pad, dtype=torch.long)
        lengths = torch.tensor([len(s) for s in chosen_rows])
        for r, s in enumerate(chosen_rows):
            ids[r, :len(s)] = torch.tensor(s)
        maskable = (ids != pad) & (ids != cls) & (ids != sep)
        inputs, chosen = mask_batch(ids, maskable, mask, rows, gen)
        attention = (torch.arange(WINDOW).unsqueeze(0) < lengths.unsqueeze(1)).long()
        opt.zero_grad()
        _, logits = model(inputs, attention)
        loss = F.cross_entropy(logits[chosen], ids[chosen])
        loss.backward()
        opt.step()
        value = loss.item()
        if step < warmup:
            continue
        seconds += time.perf_counter() - t
        loss_sum += value
        tokens += int(lengths.sum())
    print(json.dumps({"impl": "pytorch", "sequences": len(sequences), "steps": a.steps,
                      "train_tokens_per_s": tokens / seconds, "step_ms": seconds / a.steps * 1e3,
                      "mean_loss": loss_sum / a.steps,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
