#!/usr/bin/python3
"""The classic baseline: TF-IDF over word uni- and bigrams with a linear SVM (scikit-learn).

It reads the exact examples, labels and split of a Labbook experiment (`lbk dataset EXPERIMENT --out FILE`),
picks the SVM's C on the validation split, and reports test accuracy and macro-F1 (binary: F1 of the
positive class), so its numbers sit beside Labbook's in docs/RESULTS.md.

Run with Debian's interpreter (python3-sklearn): /usr/bin/python3 reference/tfidf_svm.py experiments/X.json
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC


def load(path):
    with open(path, encoding="utf-8") as f:
        header = json.loads(f.readline())
        rows = [json.loads(line) for line in f]
    return header, rows


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment", help="Labbook experiment file (its data, labels and split are used)")
    ap.add_argument("--lbk", default=os.path.join(root, "build", "bin", "lbk"), help="lbk binary")
    ap.add_argument("--dataset", help="an existing `lbk dataset` output instead of running lbk")
    ap.add_argument("--c", type=float, nargs="*", default=[0.1, 0.25, 0.5, 1.0], help="C values tried on val")
    ap.add_argument("--json", help="write the results here as JSON")
    args = ap.parse_args()

    t0 = time.time()
    tmp = None
    path = args.dataset
    if not path:
        tmp = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False)
        tmp.close()
        path = tmp.name
        subprocess.run([args.lbk, "dataset", args.experiment, "--out", path], check=True)
    header, rows = load(path)
    if tmp:
        os.unlink(tmp.name)
    binary = header["task"] == "binary"
    if header["task"] == "multilabel":
        sys.exit("tfidf_svm.py: multilabel tasks are not supported")
    parts = {s: ([r["text"] for r in rows if r["split"] == s], [r["labels"][0] for r in rows if r["split"] == s])
             for s in ("train", "val", "test")}
    t_load = time.time() - t0

    t1 = time.time()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, lowercase=True)
    xtr = vec.fit_transform(parts["train"][0])
    xva = vec.transform(parts["val"][0])
    xte = vec.transform(parts["test"][0])

    def score(y, p):
        if binary:
            return accuracy_score(y, p), f1_score(y, p, pos_label=1, average="binary")
        return accuracy_score(y, p), f1_score(y, p, average="macro")

    best = None
    for c in args.c:
        clf = LinearSVC(C=c)
        clf.fit(xtr, parts["train"][1])
        acc, f1 = score(parts["val"][1], clf.predict(xva))
        print(f"  C={c:g}: val accuracy {acc:.4f}, val {'F1' if binary else 'macro-F1'} {f1:.4f}", file=sys.stderr)
        if best is None or f1 > best[0]:
            best = (f1, c, clf)
    _, c, clf = best
    acc, f1 = score(parts["test"][1], clf.predict(xte))
    t_fit = time.time() - t1
    result = {
        "experiment": os.path.basename(args.experiment),
        "task": header["task"],
        "train": len(parts["train"][0]), "val": len(parts["val"][0]), "test": len(parts["test"][0]),
        "features": len(vec.vocabulary_), "C": c,
        "test_accuracy": acc, ("test_f1" if binary else "test_macro_f1"): f1,
        "seconds_load": round(t_load, 1), "seconds_fit_all_C": round(t_fit, 1),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
