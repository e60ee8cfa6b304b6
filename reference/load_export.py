#!/usr/bin/python3
"""A real client of `lbk export RUN --format model`: rebuilds the architecture in PyTorch, loads the export,
and classifies JSON lines with exactly Labbook's input rules.

  /usr/bin/python3 reference/load_export.py EXPORT --data papers.jsonl [--limit 1000] [--out probs.jsonl]
  /usr/bin/python3 reference/load_export.py EXPORT --data papers.jsonl --limit 1000 --compare lbk-predict.jsonl

With --compare (the JSON lines output of `lbk predict EXPORT --data papers.jsonl --out FILE`), it checks that
the probabilities agree with Labbook's on every row (max absolute difference below --tolerance, 1e-5) and
exits 1 when they do not. Needs Debian's python3-torch and python3-sentencepiece.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbkmodels  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("export", help="folder written by lbk export --format model")
    ap.add_argument("--data", required=True, help="JSON lines with the model's text fields")
    ap.add_argument("--limit", type=int, default=0, help="only the first N rows (0: all)")
    ap.add_argument("--out", help="write {id, probs} JSON lines here")
    ap.add_argument("--compare", help="lbk predict output (JSON lines) to check against")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args()

    torch.set_num_threads(1)  # summation order as close to one LibTorch thread as possible; small batches anyway
    try:
        model, tokenizer, card = lbkmodels.load_export(args.export)
    except (OSError, ValueError) as e:  # a folder that is not an export, or one this client cannot read
        print(f"load_export.py: {e}", file=sys.stderr)
        return 2
    except KeyError as e:  # a card or weights file without a key this client reads
        print(f"load_export.py: {args.export}: model.json or weights.pt has no {e}: not an export this client reads "
              "(written by another Labbook version?)", file=sys.stderr)
        return 2
    columns = card["experiment"].get("data", {}).get("columns", {})
    field = card["input"]["text"]
    id_col = columns.get("id", "id")
    ids, tokens = [], []
    with open(args.data, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            ids.append(str(row.get(id_col, "")))
            tokens.append(tokenizer.encode(lbkmodels.paper_text(row, field, columns)))
            if args.limit and len(ids) >= args.limit:
                break
    probs = []
    for b in range(0, len(tokens), args.batch_size):
        probs.append(lbkmodels.probabilities(model, card, tokens[b:b + args.batch_size]))
    probs = torch.cat(probs) if probs else torch.zeros(0, len(card["labels"]))

    if args.out:
        with open(args.out, "w") as f:
            for i, p in zip(ids, probs.tolist()):
                f.write(json.dumps({"id": i, "probs": p}) + "\n")
    print(f"{len(ids)} rows, {card['task']} over {len(card['labels'])} labels, model {card['architecture']['type']}")
    if args.compare:
        theirs = []
        with open(args.compare) as f:
            for line in f:
                row = json.loads(line)
                theirs.append((row["id"], row["probs"]))
                if len(theirs) == len(ids):
                    break
        if len(theirs) != len(ids) or any(a != b[0] for a, b in zip(ids, theirs)):
            print("FAIL: the compared file does not hold the same rows in the same order", file=sys.stderr)
            return 1
        diff = (probs.double() - torch.tensor([p for _, p in theirs], dtype=torch.double)).abs().max().item()
        agree = (probs.argmax(1) == torch.tensor([p for _, p in theirs]).argmax(1)).float().mean().item()
        print(f"max |p_python - p_labbook| = {diff:.3g} over {len(ids)} rows; top-1 agreement {agree:.4f}")
        if not diff < args.tolerance:
            print(f"FAIL: difference above {args.tolerance:g}", file=sys.stderr)
            return 1
        print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
