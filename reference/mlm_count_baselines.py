#!/usr/bin/env python3
"""How well do counts alone predict a masked token? The yardstick for an MLM run's held-out loss and accuracy.

Reads the packed corpus an MLM run trained on (the `.ids` files Labbook keeps in its cache,
~/.cache/labbook/tokenizers/mlm-corpus/KEY-train.ids and KEY-heldout.ids: int32 ids, sequences back to back),
counts the training tokens, and scores every held-out token that is not padding or a special row with three
count models, each smoothed towards the one before it:

  unigram    p(token)                       the frequent-token guess an MLM run starts from
  bigram     p(token | left neighbour)      (and, printed beside it, the right neighbour)
  two-sided  p(token | left and right neighbours), what a masked position's unmasked neighbours tell

Prints, per model, the cross-entropy in nats (comparable to the run's val/loss) and the accuracy of its likeliest
token (comparable to val/accuracy, which also counts the 10% of chosen tokens left unchanged, so reads a little
high against these). Needs numpy (Debian's python3-numpy); a 22M-token corpus takes about a minute.

  mlm_count_baselines.py TRAIN.ids HELDOUT.ids --first-special N   (N: the run's first special row, e.g. 16000)
"""
import argparse
import json

import numpy as np


def read_ids(path):
    return np.fromfile(path, dtype="<i4").astype(np.int64)


def counts_of(keys):
    """Sorted distinct keys and how often each occurs."""
    return np.unique(keys, return_counts=True)


def lookup(table, keys):
    """Counts of keys in a (sorted keys, counts) table, 0 where absent."""
    known, n = table
    at = np.searchsorted(known, keys)
    at[at >= len(known)] = 0
    return np.where(known[at] == keys, n[at], 0)


def best_per_context(table, vocab):
    """For each context (key // vocab), the token (key % vocab) it was seen with most often: {context: token}."""
    known, n = table
    order = np.lexsort((-n, known // vocab))
    contexts, tokens = known[order] // vocab, known[order] % vocab
    first = np.r_[True, contexts[1:] != contexts[:-1]]
    return dict(zip(contexts[first].tolist(), tokens[first].tolist()))


def score(name, prob, guess, truth):
    return {"model": name, "cross_entropy": float(-np.log(prob).mean()), "accuracy": float((guess == truth).mean())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("train")
    ap.add_argument("heldout")
    ap.add_argument("--first-special", type=int, required=True, help="rows from here on are [CLS], [SEP], [MASK]")
    ap.add_argument("--smoothing", type=float, default=1000.0, help="weight of the backed-off model (default 1000)")
    args = ap.parse_args()

    train, held = read_ids(args.train), read_ids(args.heldout)
    vocab = int(max(train.max(), held.max())) + 1
    ordinary = lambda ids: (ids > 0) & (ids < args.first_special)  # noqa: E731

    # Unigram over the ordinary training tokens (a small floor so unseen pieces keep a probability).
    unigram = np.bincount(train[ordinary(train)], minlength=vocab).astype(np.float64) + 0.01
    unigram[~ordinary(np.arange(vocab))] = 0
    unigram /= unigram.sum()

    # Held-out targets: ordinary tokens with a neighbour on both sides.
    mid = np.arange(1, len(held) - 1)
    mid = mid[ordinary(held[mid])]
    left, truth, right = held[mid - 1], held[mid], held[mid + 1]
    t_mid = np.arange(1, len(train) - 1)
    t_mid = t_mid[ordinary(train[t_mid])]
    t_left, t_tok, t_right = train[t_mid - 1], train[t_mid], train[t_mid + 1]
    lam = args.smoothing
    rows = [score("unigram", unigram[truth], np.full_like(truth, int(unigram.argmax())), truth)]

    bigram = {}
    for side, t_ctx, ctx in (("left", t_left, left), ("right", t_right, right)):
        table = counts_of(t_ctx * vocab + t_tok)
        context_n = np.bincount(t_ctx, minlength=vocab).astype(np.float64)
        prob = (lookup(table, ctx * vocab + truth) + lam * unigram[truth]) / (context_n[ctx] + lam)
        best = best_per_context(table, vocab)
        guess = np.array([best.get(c, int(unigram.argmax())) for c in ctx.tolist()])
        rows.append(score(f"bigram ({side} neighbour)", prob, guess, truth))
        bigram[side] = (prob, guess)

    pair_t = t_left * vocab + t_right
    table = counts_of(pair_t * vocab + t_tok)
    context_n = lookup(counts_of(pair_t), left * vocab + right).astype(np.float64)
    prob = (lookup(table, (left * vocab + right) * vocab + truth) + lam * bigram["left"][0]) / (context_n + lam)
    best = best_per_context(table, vocab)
    pair = (left * vocab + right).tolist()
    guess = np.array([best.get(p, g) for p, g in zip(pair, bigram["left"][1].tolist())])
    rows.append(score("two-sided (both neighbours)", prob, guess, truth))

    print(json.dumps({"train_tokens": int(ordinary(train).sum()), "heldout_targets": int(len(truth)),
                      "models": rows}, indent=1))


if __name__ == "__main__":
    main()
