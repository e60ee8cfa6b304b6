#!/usr/bin/env python3
"""Issue 17's check that transformers itself loads Labbook's MLM export: for each folder written by
`lbk export RUN --format hf`, BertForMaskedLM.from_pretrained(FOLDER) and reference/hf_encoder.py (which
tst_pretrain holds equal to Labbook's own fills, probabilities within 1e-5) name the same five likeliest tokens at
three masked positions of a few sentences, with probabilities within --tolerance. Needs torch, transformers and
sentencepiece (the GPU machine's image has them; Debian's python3 here lacks transformers). Prints one line per
folder and exits 1 on a disagreement.

  hf_fills.py FOLDER [FOLDER ...] [--tolerance 1e-4]
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "reference"))
import hf_encoder  # noqa: E402
import lbkmodels  # noqa: E402

SENTENCES = ["we propose a new method for the detection of gravitational waves",
             "graph neural networks learn representations of molecules",
             "the quantum field theory of a scalar field on a curved background"]


def masked_inputs(folder, config):
    """The sentences as Labbook frames them ([CLS] pieces [SEP]), [MASK] at the 2nd, middle and last-but-one."""
    tok = config["labbook_tokenizer"]
    special = tok["special_ids"]
    sp = lbkmodels.Tokenizer(os.path.join(folder, tok["file"]), lowercase=tok["lowercase"], max_tokens=10**9)
    rows = []
    for text in SENTENCES:
        ids = [special["cls"]] + sp.encode(text) + [special["sep"]]
        at = sorted({2, len(ids) // 2, len(ids) - 2})
        for a in at:
            ids[a] = special["mask"]
        rows.append((ids, at))
    return rows


def check(folder, tolerance):
    from transformers import BertForMaskedLM
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    ours, _ = hf_encoder.load(folder)
    theirs = BertForMaskedLM.from_pretrained(folder).eval()
    worst, compared = 0.0, 0
    for ids, at in masked_inputs(folder, config):
        x = torch.tensor([ids])
        with torch.no_grad():
            _, ref_logits = ours(x, torch.ones_like(x))
            hf_logits = theirs(input_ids=x, attention_mask=torch.ones_like(x)).logits
        for a in at:
            p_ref, i_ref = torch.softmax(ref_logits[0, a], -1).topk(5)
            p_hf, i_hf = torch.softmax(hf_logits[0, a].float(), -1).topk(5)
            if i_ref.tolist() != i_hf.tolist():
                print(f"{folder}: position {a}: top-5 {i_hf.tolist()} from transformers, {i_ref.tolist()} from Labbook")
                return False
            worst = max(worst, (p_ref - p_hf).abs().max().item())
            compared += 1
    ok = worst <= tolerance
    tied = config.get("tie_word_embeddings", True)
    print(f"{folder}: {'agree' if ok else 'DISAGREE'}: top-5 fills equal at {compared} masked positions, "
          f"probabilities within {worst:.2g} (tie_word_embeddings {str(tied).lower()})")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    a = ap.parse_args()
    results = [check(folder, a.tolerance) for folder in a.folders]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
