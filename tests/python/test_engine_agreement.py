"""The library's evaluation summaries and histograms equal the engine's: a short Labbook run of the debug
experiment (top_k = every class, so each prediction row holds the full probability vector) is recomputed from
its own prediction rows with the library, evaluation by evaluation, multiclass and binary. Its LR range test's
suggestion is the library's on the same points."""
import json
import math
import os
import unittest

from support import BIN, SOURCE, events, lbk, needs_lbk, temp_dir

from labbook import lr_finder, metrics
from labbook._evaluation import probability_sets

ENGINE = os.path.join(BIN, "lbk-engine")


def close(a, b, path=""):
    """Differences between two JSON values, numbers within 1e-9 (the engine's sums run in another order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b):
            return [f"{path}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in close(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in close(x, y, f"{path}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return [] if abs(a - b) <= 1e-9 else [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@needs_lbk
@unittest.skipUnless(os.access(ENGINE, os.X_OK), f"no lbk-engine at {ENGINE} (build it first)")
class EngineAgreementTest(unittest.TestCase):
    def journal_of(self, changes, command="run"):
        with open(os.path.join(SOURCE, "experiments", "debug.json")) as f:
            experiment = json.load(f)
        for section, values in changes.items():
            experiment.setdefault(section, {}).update(values)
        experiment["training"].update({"epochs": 1, "threads": 1})
        folder = temp_dir(self)
        path = os.path.join(folder, "experiment.json")
        with open(path, "w") as f:
            json.dump(experiment, f)
        store = os.path.join(folder, "store.db")
        lbk(store, command, path, "--quiet")
        run = json.loads(lbk(store, "--json", "show", "1").stdout)
        return events(os.path.join(run["run_dir"], "journal.jsonl"))

    def recompute(self, got, task):
        checked = 0
        for e in got:
            if e["type"] != "evaluation":
                continue
            rows = [r for p in got if p["type"] == "predictions" and (p["step"], p["split"]) == (e["step"], e["split"])
                    for r in p["rows"]]
            labels = e["summary"]["labels"]
            truth = [labels.index(r["truth"][0]) for r in rows]
            if task == "binary":
                probs = [dict(r["top"])[labels[1]] for r in rows]
            else:
                probs = [[dict(r["top"])[label] for label in labels] for r in rows]
            mine = metrics.summarize(task, probs, truth, labels, e["summary"]["loss"])
            self.assertEqual(close(mine, e["summary"]), [], f"{e['split']} at step {e['step']}")
            engine = {h["name"]: h["counts"] for h in got if h["type"] == "histogram" and
                      (h["step"], h["split"]) == (e["step"], e["split"])}
            ours = {k: metrics.histogram(v, 20) for k, v in probability_sets(task, probs, truth).items()}
            self.assertEqual(ours, engine)
            checked += 1
        self.assertGreaterEqual(checked, 2)

    def test_multiclass(self):
        got = self.journal_of({"evaluation": {"top_k": 5}})
        self.recompute(got, "multiclass")

    def test_binary(self):
        got = self.journal_of({"labels": {"kind": "binary", "positive": ["cs.CV"]}})
        self.recompute(got, "binary")

    def test_lr_finder_suggestion(self):
        got = self.journal_of({}, "lr-find")
        points = [e for e in got if e["type"] == "lr_point"]
        engine = next(e for e in got if e["type"] == "lr_suggestion")
        losses = [math.nan if p["loss"] is None else p["loss"] for p in points]
        mine = lr_finder.suggest([p["lr"] for p in points], losses)
        self.assertIsNotNone(engine["lr"])
        self.assertEqual((mine["index"], mine["lr"]), (engine["index"], engine["lr"]))


if __name__ == "__main__":
    unittest.main()
