"""Summaries, histograms and the LR finder's rule agree with Labbook's C++ (the cases of tests/core/
tst_metrics.cpp and tst_lrfinder.cpp, same inputs, same expected values); bad inputs get messages that say
what and where."""
import math
import unittest

import support  # noqa: F401

from labbook import lr_finder, metrics
from labbook._evaluation import ranked_row
from labbook._inputs import evaluation_inputs


class SummaryTest(unittest.TestCase):
    def test_multiclass(self):
        probs = [[.7, .2, .1], [.5, .4, .1], [.1, .8, .1], [.2, .6, .2], [.1, .1, .8], [.6, .1, .3]]
        s = metrics.multiclass_summary(probs, [0, 1, 1, 1, 2, 2], ["a", "b", "c"], 0.5)
        self.assertEqual(s["accuracy"], 4 / 6)
        f1 = [c["f1"] for c in s["per_class"]]
        for got, want in zip(f1, [0.5, 0.8, 2 / 3]):
            self.assertAlmostEqual(got, want, places=12)
        self.assertAlmostEqual(s["macro_f1"], (0.5 + 0.8 + 2 / 3) / 3, places=12)
        self.assertEqual(s["confusion"][1][0], 1)
        self.assertEqual(s["confusion"][2][0], 1)
        self.assertEqual(s["confusion"][1][1], 2)
        self.assertEqual(s["per_class"][1]["support"], 3)
        self.assertEqual(sorted(s), sorted(["examples", "loss", "accuracy", "per_class", "macro_f1", "confusion",
                                            "labels"]))

    def test_roc_auc_with_ties_and_average_precision(self):
        self.assertEqual(metrics.roc_auc([.1, .4, .35, .8], [0, 0, 1, 1]), 0.75)
        self.assertEqual(metrics.roc_auc([.5, .5], [0, 1]), 0.5)
        self.assertTrue(math.isnan(metrics.roc_auc([.1, .2], [1, 1])))
        self.assertAlmostEqual(metrics.average_precision([.1, .4, .35, .8], [0, 0, 1, 1]), 5 / 6, places=12)

    def test_binary(self):
        s = metrics.binary_summary([.9, .2, .6, .4], [1, 0, 0, 1], ["not x", "x"], 0.3)
        self.assertEqual(s["accuracy"], 0.5)
        self.assertEqual(s["f1"], 0.5)
        self.assertEqual(s["roc_auc"], 0.75)
        self.assertGreaterEqual(len(s["roc"]), 2)
        self.assertEqual(s["roc"][-1][0], 1.0)
        self.assertEqual(s["best_f1"], {"threshold": .4, "f1": .8})  # as tst_metrics: both positives, one false
        tie = metrics.binary_summary([.5, .5], [1, 0], ["not x", "x"], 0.7)
        self.assertEqual((tie["accuracy"], tie["confusion"][1][1], tie["confusion"][0][1]), (0.5, 1, 1))
        self.assertEqual(s["positives"], {"true": 2, "predicted": 2})
        self.assertNotIn("cautions", s)
        # Nothing predicted positive: accuracy is the negatives' share, and the summary says so (as the engine's).
        none = metrics.binary_summary([.1, .2, .3, .4], [1, 0, 0, 0], ["not x", "x"], 0.3)
        self.assertEqual(none["positives"], {"true": 1, "predicted": 0})
        self.assertIn("accuracy 0.7500 is the share of negative papers", none["cautions"][0])

    def test_macro_f1_skips_absent_classes(self):
        s = metrics.multiclass_summary([[.8, .1, .1], [.1, .8, .1]], [0, 1], ["a", "b", "c"], 0.1)
        self.assertEqual(s["macro_f1"], 1.0)
        self.assertEqual(len(s["per_class"]), 3)

    def test_multilabel(self):
        s = metrics.multilabel_summary([[.9, .1, .4], [.2, .7, .6]], [[0, 2], [1]], ["a", "b", "c"], 0.1)
        self.assertAlmostEqual(s["micro_f1"], 2 / 3, places=12)
        self.assertAlmostEqual(s["macro_f1"], 2 / 3, places=12)
        self.assertEqual(s["accuracy"], 0.0)
        self.assertNotIn("confusion", s)
        self.assertNotIn("cautions", s)
        s = metrics.multilabel_summary([[.9, .1, .4], [.2, .7, .3]], [[0, 2], [1]], ["a", "b", "c"], 0.1)
        self.assertEqual(s["cautions"], ["1 of the 3 labels are never predicted (p >= 0.5) though papers have them: "
                                         "each counts as F1 0 in macro-F1 (0.6667); micro-F1 (0.8000) weighs labels "
                                         "by their papers"])

    def test_a_multilabel_row_keeps_its_missed_labels_probability(self):
        # Found by an audit: only the labels at 0.5 or above were kept, so a missed label's probability was nowhere.
        labels = ["a", "b", "c", "d", "e"]
        row = ranked_row([.9, .05, .4, .3, .02], [0, 4], "multilabel", 2, labels)
        self.assertEqual([label for label, _ in row["top"]], ["a", "c", "e"])  # the top 2, and the true e
        self.assertEqual((row["correct"], row["p_true"]), (False, .02))
        self.assertEqual(ranked_row([.9, .05, .4, .3, .7], [0, 4], "multilabel", 1, labels)["correct"], True)

    def test_histogram_clamps_and_skips_nan(self):
        h = metrics.histogram([0.0, 0.05, 0.1, 0.5, 0.99, 1.0, math.nan, -1.0], 10)
        self.assertEqual(len(h), 10)
        self.assertEqual((h[0], h[1], h[5], h[9]), (3, 1, 1, 2))

    def test_curves_are_thinned_to_at_most_200_points_plus_the_last(self):
        scores = [i / 1000 for i in range(1000)]
        roc = metrics.roc_curve(scores, [i % 2 for i in range(1000)])
        self.assertLessEqual(len(roc), 201)
        self.assertEqual(roc[-1], [1.0, 1.0])


class LrFinderTest(unittest.TestCase):
    def test_rates_are_exponential(self):
        self.assertAlmostEqual(lr_finder.rate(1e-5, 10, 100, 0), 1e-5)
        self.assertAlmostEqual(lr_finder.rate(1e-5, 10, 100, 99), 10)
        self.assertAlmostEqual(lr_finder.rate(1e-5, 10, 3, 1), math.sqrt(1e-5 * 10))

    def test_debiased_ema_starts_at_the_first_loss_and_skips_nan(self):
        ema = lr_finder.DebiasedEma(0.98)
        self.assertTrue(math.isnan(ema.add(math.nan)))
        self.assertAlmostEqual(ema.add(2.0), 2.0)
        self.assertAlmostEqual(ema.add(math.inf), 2.0)

    def test_suggestion_at_the_steepest_descent_before_the_minimum(self):
        lrs = [lr_finder.rate(1e-6, 1, 100, i) for i in range(100)]
        # flat, a steep fall centred at lr 1e-3 (index 50), then divergence
        losses = [2.0 - 1.5 / (1 + math.exp(-(math.log10(lr) + 3) * 4)) + (0 if i < 85 else (i - 85) * 0.5)
                  for i, lr in enumerate(lrs)]
        s = lr_finder.suggest(lrs, losses)
        self.assertEqual(s["method"], "steepest")
        self.assertTrue(45 <= s["index"] <= 55, s)
        self.assertEqual(s["lr"], lrs[s["index"]])

    def test_curve_is_centred_and_masks_non_finite_losses(self):
        line = [3.0 - 0.05 * i for i in range(40)]
        for a, b in zip(lr_finder.curve(line), line):
            self.assertAlmostEqual(a, b, places=12)  # no lag, at the ends too
        line[20], line[21] = math.nan, math.inf
        masked = lr_finder.curve(line)
        self.assertTrue(math.isnan(masked[20]) and math.isnan(masked[21]))
        self.assertTrue(1.0 < masked[19] < 3.0 and math.isfinite(masked[22]))

    def test_no_suggestion_says_why(self):
        self.assertIn("too few", lr_finder.suggest([1e-3, 1e-2], [1.0, 0.5])["reason"])
        rising = lr_finder.suggest([10 ** (-i / 10) for i in range(40, 0, -1)], [float(i) for i in range(40)])
        self.assertIsNone(rising["lr"])
        self.assertIn("never went down", rising["reason"])
        # An audit's test where nothing trained: the loss wobbled around 1.61 (as tst_lrfinder checks in C++).
        noise = [
            1.6045, 1.6340, 1.6495, 1.6418, 1.6341, 1.6179, 1.6209, 1.6414, 1.6120, 1.6165, 1.6220, 1.6045, 1.6157,
            1.6382, 1.6431, 1.6217, 1.6094, 1.6153, 1.6227, 1.5949, 1.6305, 1.6016, 1.6194, 1.6292, 1.6209, 1.5856,
            1.6321, 1.6531, 1.6017, 1.6178]
        flat = lr_finder.suggest([lr_finder.rate(1e-5, 1e-4, 30, i) for i in range(30)], noise)
        self.assertIsNone(flat["lr"])
        self.assertIn("did not clearly go down", flat["reason"])


class InputsTest(unittest.TestCase):
    def test_names_and_indices_and_multi_hot_rows(self):
        task, names, truth, _ = evaluation_inputs(None, ["a", "b"], ["b", "a"], [[.2, .8], [.6, .4]])
        self.assertEqual((task, names, truth), ("multiclass", ["a", "b"], [1, 0]))
        task, _, truth, _ = evaluation_inputs(None, None, [True, False], [.9, .1])
        self.assertEqual((task, truth), ("binary", [1, 0]))
        task, _, truth, _ = evaluation_inputs("multilabel", ["a", "b", "c"], [[1, 0, 1], ["b"]],
                                              [[.9, .1, .8], [.1, .9, .1]])
        self.assertEqual((task, truth), ("multilabel", [[0, 2], [1]]))

    def test_messages_name_the_argument_and_row(self):
        cases = [
            (("multiclass", ["a", "b"], [0, 1], [[.5, .5]]), "truth has 2 examples but probs has 1"),
            (("multiclass", ["a", "b"], [0, "z"], [[.5, .5], [.5, .5]]), "truth[1] is 'z'"),
            (("multiclass", ["a", "b"], [0, 1], [[.5, .5], [.2, .3, .5]]), "probs[1] has 3 values"),
            (("multiclass", ["a", "b"], [0, 1], [[.5, .5], [3.2, -1]]), "not the logits"),
            (("multiclass", ["a", "b"], [0, 1], [[.5, .5], [math.nan, .5]]), "probs[1][0] is nan"),
            (("binary", ["a", "b", "c"], [0, 1], [.5, .5]), "a binary evaluation has 2 labels"),
            (("regression", None, [0], [.5]), "task='regression'"),
        ]
        for args, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(ValueError) as caught:
                    evaluation_inputs(*args)
                self.assertIn(message, str(caught.exception))


if __name__ == "__main__":
    unittest.main()
