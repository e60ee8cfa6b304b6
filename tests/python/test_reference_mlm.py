"""The MLM yardsticks of reference/ (docs/PRETRAINING.md, "How far from what the data offer"), on a packed corpus
written here in Labbook's format: a corpus where each token follows from its left neighbour (1, 2, ..., 9, 1, ...
from random starts), so the count models' answers are known, and the curve reference trains on it."""
import json
import os
import struct
import subprocess
import unittest

from support import PYTHON, SOURCE, needs_torch, temp_dir

REFERENCE = os.path.join(SOURCE, "reference")
FIRST_SPECIAL = 10  # ids 1..9 are pieces; 10, 11, 12 are [CLS], [SEP], [MASK]


def write_packed(base, sequences, window):
    """KEY.ids (int32 ids back to back) and KEY.idx (header, then count + 1 offsets), as core/data/packedfile.cpp."""
    offsets = [0]
    with open(base + ".ids", "wb") as f:
        for seq in sequences:
            f.write(struct.pack(f"<{len(seq)}i", *seq))
            offsets.append(offsets[-1] + len(seq))
    with open(base + ".idx", "wb") as f:
        f.write(b"LBKPACK1" + struct.pack("<iiqq", window, 0, len(sequences), offsets[-1]))
        f.write(struct.pack(f"<{len(offsets)}q", *offsets))


def successor_corpus(count, window, seed):
    state, sequences = seed, []
    for _ in range(count):
        state = (state * 1103515245 + 12345) % 2**31
        start = state % 9
        sequences.append([FIRST_SPECIAL] + [1 + (start + i) % 9 for i in range(window - 2)] + [FIRST_SPECIAL + 1])
    return sequences


class CountBaselinesTest(unittest.TestCase):
    def test_neighbours_decide_a_successor_corpus(self):
        try:
            import numpy  # noqa: F401
        except ImportError:
            self.skipTest("numpy is not installed for this Python (Debian: python3-numpy)")
        folder = temp_dir(self)
        write_packed(os.path.join(folder, "c-train"), successor_corpus(200, 16, 1), 16)
        write_packed(os.path.join(folder, "c-heldout"), successor_corpus(50, 16, 2), 16)
        out = subprocess.run([PYTHON, os.path.join(REFERENCE, "mlm_count_baselines.py"),
                              os.path.join(folder, "c-train.ids"), os.path.join(folder, "c-heldout.ids"),
                              "--first-special", str(FIRST_SPECIAL), "--smoothing", "1"],
                             capture_output=True, text=True, check=True)
        report = json.loads(out.stdout)
        models = {m["model"]: m for m in report["models"]}
        self.assertEqual(report["heldout_targets"], 50 * 14)
        self.assertAlmostEqual(models["unigram"]["cross_entropy"], 2.197, places=2)  # ln 9: every piece as often
        self.assertLess(models["unigram"]["accuracy"], 0.2)
        # One neighbour decides every piece but the one beside [CLS] (or [SEP]): 13 of 14 at least.
        for name in ("bigram (left neighbour)", "bigram (right neighbour)"):
            self.assertGreaterEqual(models[name]["accuracy"], 13 / 14, name)
        self.assertEqual(models["two-sided (both neighbours)"]["accuracy"], 1.0)
        self.assertLess(models["two-sided (both neighbours)"]["cross_entropy"], 0.1)


@needs_torch
class CurveReferenceTest(unittest.TestCase):
    def test_trains_on_a_packed_corpus_and_evaluates_on_schedule(self):
        folder = temp_dir(self)
        base = os.path.join(folder, "c")
        write_packed(base + "-train", successor_corpus(400, 16, 1), 16)
        write_packed(base + "-heldout", successor_corpus(40, 16, 2), 16)
        experiment = {"model": {"embedding_dim": 32, "hidden": 64, "layers": 1, "heads": 2, "dropout": 0.0},
                      "optimizer": {"lr": 0.003, "weight_decay": 0.01, "grad_clip": 1.0},
                      "schedule": {"warmup": 0.1}, "training": {"batch_size": 16, "max_steps": 40}}
        path = os.path.join(folder, "e.json")
        with open(path, "w") as f:
            json.dump(experiment, f)
        out = subprocess.run([PYTHON, os.path.join(REFERENCE, "mlm_curve_reference.py"), path, base,
                              "--first-special", str(FIRST_SPECIAL), "--eval-every", "20", "--threads", "1"],
                             capture_output=True, text=True, check=True)
        points = [json.loads(line) for line in out.stdout.splitlines()]
        self.assertEqual([p["step"] for p in points], [20, 40])
        # 13 rows start near ln 13 = 2.56; 40 steps learn at least the nine pieces' share.
        self.assertLess(points[-1]["val_loss"], 2.4)
        self.assertLess(points[-1]["train_loss"], points[0]["train_loss"])


if __name__ == "__main__":
    unittest.main()
