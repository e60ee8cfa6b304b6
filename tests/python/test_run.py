"""The Run API writes the events Labbook's own worker writes, and a script's end, failure, Ctrl-C and SIGTERM
are recorded as the worker records them; processes other than the job's main one write nothing."""
import argparse
import collections
import dataclasses
import io
import os
import pathlib
import signal
import subprocess
import time
import types as pytypes
import unittest
from contextlib import redirect_stderr

import support
from support import PYTHON, env, events, needs_torch, script, temp_dir, wait_for

import labbook


def journal_in(test):
    return os.path.join(temp_dir(test), "run", "journal.jsonl")


def types(path):
    return [e["type"] for e in events(path)]


def child(test, body, **extra_env):
    """Runs `body` as a script that records to a journal; returns (journal, process)."""
    path = journal_in(test)
    code = f"import labbook, os, sys, time\nrun = labbook.init(journal={path!r}, config={{'lr': 0.1}})\n{body}\n"
    proc = subprocess.Popen([PYTHON, script(test, code)], env=env(**extra_env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return path, proc


class RunApiTest(unittest.TestCase):
    def test_started_metrics_and_steps(self):
        path = journal_in(self)
        run = labbook.init(journal=path, config={"lr": 0.1, "nan": float("nan")}, total_steps=10)
        run.log({"train/loss": 1.0})
        run.log({"train/loss": 0.9})
        run.log({"train/loss": 0.5, "lr": 0.1}, step=10)
        run.log({"epoch": 1})
        run.finish()
        got = events(path)
        started = got[0]
        self.assertEqual(started["type"], "run_started")
        self.assertEqual(started["config"], {"lr": 0.1, "nan": None})
        self.assertEqual((started["pid"], started["kind"], started["total_steps"]), (os.getpid(), "train", 10))
        with open("/proc/self/stat") as f:  # the start that tells this process from a later one of its pid
            self.assertEqual(started["pid_start"], int(f.read().rsplit(")", 1)[1].split()[19]))
        self.assertEqual([e["step"] for e in got if e["type"] == "metrics"], [1, 2, 10, 10])
        self.assertEqual(got[-1]["type"], "finished")
        self.assertEqual(got[-1]["summary"], {"steps": 10})

    def test_a_journal_that_holds_a_run_is_continued_and_said_so(self):
        # Found by an audit: a script started again with the same journal= silently went on as the first run.
        path = journal_in(self)
        first = labbook.init(journal=path, config={"lr": 0.1})
        first.finish()
        said = io.StringIO()
        with redirect_stderr(said):
            second = labbook.init(journal=path, config={"lr": 0.2})
            second.finish()
        self.assertEqual(second.uid, first.uid)
        self.assertIn(f"{path} holds run {first.uid} already: this run is appended to it", said.getvalue())

    def test_a_summary_value_that_is_no_finite_number_is_said(self):
        path = journal_in(self)
        run = labbook.init(journal=path)
        said = io.StringIO()
        with redirect_stderr(said):
            run.finish({"test/accuracy": float("nan"), "note": None})
        self.assertIn("run.finish(): 'test/accuracy' is nan, not a finite number", said.getvalue())
        self.assertNotIn("'note'", said.getvalue())
        self.assertIsNone(events(path)[-1]["summary"]["test/accuracy"])

    def test_store_and_folder_do_not_override_a_target(self):
        # Found by an audit: store= or folder= in the script sent a target's run elsewhere.
        run_dir, elsewhere = temp_dir(self), temp_dir(self)
        code = ("import labbook, sys\nrun = labbook.init(store=sys.argv[1] + '/store.db', folder=sys.argv[1])\n"
                "run.log({'x': 1.0}, step=1)\nrun.finish()\n")
        done = subprocess.run([PYTHON, script(self, code), elsewhere], env=env(LABBOOK_RUN_DIR=run_dir,
                              LABBOOK_RUN_UID="abc"), capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(types(os.path.join(run_dir, "journal.jsonl")), ["run_started", "metrics", "finished"])
        self.assertEqual(os.listdir(elsewhere), [])
        self.assertIn("store= and folder= are ignored under a Labbook target", done.stderr)

    def test_a_targets_journal_keeps_the_scripts_config_in_run_started(self):
        # Under a target the store merges the script's config into the experiment it holds (tst_journal); the
        # journal carries it in run_started, with no log line, by hand as under a target.
        for extra in ({"LABBOOK_RUN_DIR": temp_dir(self)}, {}):
            path, proc = child(self, "run.finish()", **extra)
            proc.communicate(timeout=60)
            self.assertEqual(events(path)[0]["config"], {"lr": 0.1})
            self.assertFalse([e for e in events(path) if e["type"] == "log"])

    @needs_torch
    def test_tensors_and_numpy_values(self):
        import numpy
        import torch
        path = journal_in(self)
        run = labbook.init(journal=path)
        run.log({"a": torch.tensor(0.25), "b": numpy.float32(0.5), "c": 3, "d": True}, step=1)
        probs = torch.softmax(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), dim=1)
        run.evaluation("val", labels=["x", "y"], truth=torch.tensor([0, 0]), probs=probs, loss=torch.tensor(0.7))
        run.finish()
        got = events(path)
        self.assertEqual(got[1]["values"], {"a": 0.25, "b": 0.5, "c": 3, "d": 1})
        self.assertEqual(got[2]["summary"]["accuracy"], 0.5)
        self.assertAlmostEqual(got[2]["summary"]["loss"], 0.7, places=6)

    def test_bad_values_are_warned_once_and_left_out(self):
        path = journal_in(self)
        run = labbook.init(journal=path)
        err = io.StringIO()
        with redirect_stderr(err):
            for step in range(1, 4):
                run.log({"train/loss": float("nan"), "note": "text", "ok": 1.0}, step=step)
            run.log({"x": 1.0}, step="ten")
        run.finish()
        metrics = [e for e in events(path) if e["type"] == "metrics"]
        self.assertEqual(metrics[0]["values"], {"train/loss": None, "ok": 1.0})
        self.assertEqual(len(metrics), 3)  # the call with a bad step recorded nothing
        text = err.getvalue()
        self.assertEqual(text.count("'train/loss' is nan at step 1"), 1)
        self.assertEqual(text.count("'note' at step 1 is str"), 1)
        self.assertIn("step='ten': give the optimizer step as a whole number", text)
        logs = [e["message"] for e in events(path) if e["type"] == "log"]
        self.assertEqual(len(logs), 3)  # the same warnings, once each, in the run's own log

    def test_evaluation_events_match_the_engine(self):
        path = journal_in(self)
        run = labbook.init(journal=path)
        names = ["cs.CV", "cs.CL", "cs.LG"]
        run.evaluation("val", step=5, labels=names, truth=["cs.CV", "cs.LG"], probs=[[.6, .3, .1], [.2, .5, .3]],
                       loss=0.9, ids=["2601.1", "2601.2"], titles=["A", "B"], top_k=2, histogram_bins=4)
        run.finish()
        got = events(path)
        self.assertEqual([e["type"] for e in got[1:6]], ["evaluation", "metrics", "histogram", "histogram",
                                                          "predictions"])
        self.assertEqual(got[2]["values"], {"val/accuracy": 0.5, "val/macro_f1": 1 / 3, "val/loss": 0.9})
        self.assertEqual((got[3]["name"], got[3]["counts"]), ("p_true", [0, 1, 1, 0]))
        self.assertEqual((got[4]["name"], got[4]["counts"]), ("p_predicted", [0, 0, 2, 0]))
        rows = got[5]["rows"]
        self.assertEqual(rows[1], {"id": "2601.2", "title": "B", "truth": ["cs.LG"],
                                   "top": [["cs.CL", .5], ["cs.LG", .3]], "correct": False, "p_true": .3})
        self.assertEqual(got[5]["labels"], names)

    def test_predictions_rows_are_completed_and_checked(self):
        path = journal_in(self)
        run = labbook.init(journal=path)
        err = io.StringIO()
        with redirect_stderr(err):
            run.predictions([{"id": 7, "title": "T", "truth": "a", "top": [("a", 0.7), ("b", 0.3)]}], step=3)
            run.predictions([{"id": 8, "top": [("a",)]}], step=3)
        run.finish()
        rows = [e for e in events(path) if e["type"] == "predictions"]
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["rows"][0], {"id": "7", "title": "T", "truth": ["a"], "top": [["a", .7], ["b", .3]],
                                              "correct": True, "p_true": .7})
        self.assertIn("rows[0].top: ('a',) is not a [label, probability] pair", err.getvalue())

    def test_histograms_from_values_or_counts(self):
        class Index:  # what numpy's integers are to operator.index
            def __init__(self, n):
                self.n = n

            def __index__(self):
                return self.n

        path = journal_in(self)
        run = labbook.init(journal=path)
        run.histogram("grad_norm", [0.5, 1.5, 2.5, 9.0], lo=0, hi=3, bins=3, split="train", step=2)
        run.histogram("p_true", counts=[1, 2], step=2)
        with redirect_stderr(io.StringIO()) as err:
            run.histogram("bad", [1.0], lo=1, hi=1)
            # Found by an audit: a million bins were written (a 2 MB line) and then dropped by the store unseen.
            self.assertFalse(run.histogram("many", [0.5], bins=1_000_000))
            self.assertFalse(run.histogram("many", counts=[1] * 10001))
        run.histogram("numpy_bins", [0.5], bins=Index(2))  # an integer type of another library (numpy.int64)
        run.finish()
        h = [e for e in events(path) if e["type"] == "histogram"]
        self.assertEqual([(e["name"], e["counts"], e["split"]) for e in h],
                         [("grad_norm", [1, 1, 2], "train"), ("p_true", [1, 2], "val"), ("numpy_bins", [0, 1], "val")])
        self.assertIn("need finite lo < hi", err.getvalue())
        self.assertIn("bins=1000000; give a whole number from 1 to 10000", err.getvalue())
        self.assertIn("10001 counts; the store keeps at most 10000 bins", err.getvalue())

    def test_lr_finder_from_pairs_dicts_and_a_given_rate(self):
        path = journal_in(self)
        run = labbook.init(journal=path)
        lrs = [10 ** (-5 + i / 10) for i in range(50)]
        losses = [2.0 - i * 0.02 if i < 40 else 2.0 + (i - 40) for i in range(50)]
        computed = run.lr_finder(list(zip(lrs, losses)))
        given = run.lr_finder({"lr": lrs, "loss": losses}, suggestion=lrs[20] * 1.01, method="valley")
        run.finish()
        self.assertEqual(computed["method"], "steepest")
        self.assertIsNotNone(computed["lr"])
        self.assertEqual(given, {"lr": lrs[20] * 1.01, "index": 20, "method": "valley"})
        points = [e for e in events(path) if e["type"] == "lr_point"]
        self.assertEqual(len(points), 100)
        self.assertAlmostEqual(points[0]["smoothed"], 2.0)
        self.assertEqual([e["type"] for e in events(path)].count("lr_suggestion"), 2)

    def test_artifacts_relative_to_the_run_folder(self):
        path = journal_in(self)
        run = labbook.init(journal=path)
        model = os.path.join(os.path.dirname(path), "model.bin")
        with open(model, "wb") as f:
            f.write(b"abc")
        run.artifact(model, kind="model")
        run.checkpoint(model, kind="best", step=4, metric={"val/accuracy": 0.8})
        with redirect_stderr(io.StringIO()) as err:
            run.artifact("/no/such/file")
            run.artifact(os.path.dirname(path))  # a save_pretrained folder
        run.finish()
        got = [e for e in events(path) if e["type"] in ("artifact", "checkpoint")]
        self.assertEqual(got[0]["path"], "model.bin")
        self.assertEqual(got[0]["sha256"], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        self.assertEqual((got[1]["kind"], got[1]["step"], got[1]["metric"]), ("best", 4, {"val/accuracy": 0.8}))
        self.assertIn("/no/such/file: no such file", err.getvalue())
        self.assertIn(" is a folder; record a file (an archive of the folder", err.getvalue())

    def test_calls_after_the_end_are_not_recorded(self):
        path = journal_in(self)
        run = labbook.init(journal=path)
        run.finish()
        with redirect_stderr(io.StringIO()) as err:
            run.log({"x": 1.0}, step=1)
            run.finish()
        self.assertEqual(types(path), ["run_started", "finished"])
        self.assertIn("run.log() after the run ended (finished)", err.getvalue())

    def test_mistakes_are_named(self):
        # Found by a walkthrough: each message says what was given and what to give, and nothing is recorded twice.
        path = journal_in(self)
        run = labbook.init(journal=path)
        with redirect_stderr(io.StringIO()) as err:
            run.log("train/loss", 0.5)
            run.log(None)
            run.lr_finder("abc")
            run.evaluation("val", labels=["a", "b"], truth=[0, 1], probs=[[0.9, 0.1], [0.2, 0.8]], ids=["x"])
            run.log({"train/loss": "high"}, step=1)
            run.log({"train/loss": [1, 2]}, step=2)
            run.log({"train/loss": 0.5}, step=-1)
        said = err.getvalue()
        self.assertIn("step=-1: give the optimizer step as a whole number, 0 or more", said)
        self.assertIn("values='train/loss' is str; give a dict of metric name -> number", said)
        self.assertIn("values=None is NoneType", said)
        self.assertIn("points='abc' is str; give (lr, loss) pairs", said)
        self.assertIn("ids has 1 entries for 2 examples (2 get a row); give one per example", said)
        self.assertEqual(said.count("not a number; left out (said once per key)"), 1)
        run.evaluation("val", labels=["a", "b"], truth=[0, 1], probs=[[0.9, 0.1], [0.2, 0.8]], step=3)
        with redirect_stderr(io.StringIO()) as err:  # ids for just the examples that get a row: fine
            run.evaluation("val", labels=["a", "b"], truth=[0, 1], probs=[[0.9, 0.1], [0.2, 0.8]], step=4,
                           ids=["x"], max_predictions=1)
        self.assertEqual(err.getvalue(), "")
        run.finish()
        got = events(path)
        self.assertFalse([e for e in got if e["type"] == "metrics" and not e["values"]])  # no empty metrics events
        self.assertEqual([len(e["rows"]) for e in got if e["type"] == "predictions"], [1])
        evaluation = [e for e in got if e["type"] == "evaluation" and e["step"] == 3][-1]
        self.assertNotIn("loss", evaluation["summary"])  # no loss given: no val/loss of gaps
        self.assertEqual(evaluation["summary"]["accuracy"], 1.0)

    def test_a_journal_under_a_file_names_the_obstacle(self):
        blocker = os.path.join(temp_dir(self), "file")
        open(blocker, "w").close()
        with self.assertRaises(labbook.JournalError) as caught:
            labbook.init(journal=os.path.join(blocker, "run", "journal.jsonl"), strict=True)
        self.assertIn("a file is in the way of its folder", str(caught.exception))

    def test_configs_of_every_usual_kind_are_recorded_as_objects(self):
        # Found by an audit: an argparse Namespace (wandb takes config=args), a dataclass or any mapping became
        # its str(), which lbk record refused as a config: the whole run was lost.
        @dataclasses.dataclass
        class Optim:
            lr: float = 0.1
            betas: tuple = (0.9, 0.99)

        @dataclasses.dataclass
        class Settings:
            optim: Optim
            out: pathlib.Path
            tags: set
            args: argparse.Namespace

        settings = Settings(Optim(), pathlib.Path("/tmp/out"), {"b", "a"}, argparse.Namespace(seed=1, nan=float("nan")))
        want = {"optim": {"lr": 0.1, "betas": [0.9, 0.99]}, "out": "/tmp/out", "tags": ["a", "b"],
                "args": {"seed": 1, "nan": None}}
        for config, expected in ((argparse.Namespace(lr=0.1, layers=(2, 3)), {"lr": 0.1, "layers": [2, 3]}),
                                 (settings, want),
                                 (pytypes.MappingProxyType({"lr": 0.1}), {"lr": 0.1}),
                                 (collections.UserDict({"lr": 0.1, "sub": collections.UserDict(a=1)}),
                                  {"lr": 0.1, "sub": {"a": 1}})):
            with self.subTest(config=type(config).__name__):
                path = journal_in(self)
                labbook.init(journal=path, config=config).finish()
                self.assertEqual(events(path)[0]["config"], expected)

    def test_a_config_that_is_no_object_is_kept_under_value(self):
        path = journal_in(self)
        with redirect_stderr(io.StringIO()) as err:
            labbook.init(journal=path, config=[1, 2]).finish()
        self.assertEqual(events(path)[0]["config"], {"value": [1, 2]})
        self.assertIn("labbook.init(config=...): a list is not a set of named settings; recorded as {\"value\": ...}",
                      err.getvalue())

    @needs_torch
    def test_arrays_and_tensors_in_a_config_are_lists(self):
        import numpy
        import torch
        path = journal_in(self)
        labbook.init(journal=path, config={"mean": numpy.array([0.5, 0.25]), "w": torch.tensor([[1, 2]]),
                                           "flag": numpy.bool_(True), "n": numpy.int64(3)}).finish()
        self.assertEqual(events(path)[0]["config"], {"mean": [0.5, 0.25], "w": [[1, 2]], "flag": True, "n": 3})

    def test_step_less_logs_go_on_counting_after_a_given_evaluation_step(self):
        # Found by an audit: one evaluation(step=0) put every later step-less log() on step 0, one point.
        path = journal_in(self)
        run = labbook.init(journal=path)
        run.evaluation("val", step=0, summary={"accuracy": 0.5})
        for _ in range(3):
            run.log({"train/loss": 1.0})
        run.histogram("p_true", counts=[1, 2], step=40)
        run.log({"train/loss": 0.5})
        run.finish()
        steps = [e["step"] for e in events(path) if e["type"] == "metrics" and "train/loss" in e["values"]]
        self.assertEqual(steps, [1, 2, 3, 4])

    def test_steps_that_go_back_or_collapse_are_said_once_per_key(self):
        path = journal_in(self)
        run = labbook.init(journal=path)
        with redirect_stderr(io.StringIO()) as err:
            run.log({"train/loss": 1.0}, step=10)
            run.log({"train/loss": 0.9}, step=5)
            run.log({"train/loss": 0.8}, step=4)
            run.log({"epoch": 1})  # the step given last: a new key there is fine
            run.log({"lr": 0.1}, step=6)
            run.log({"lr": 0.1})
            run.log({"lr": 0.1})
            run.log({"val/loss": 0.7, "epoch": 2.0}, step=20)
            run.log({"val/loss": 0.6}, step=20)  # found by an audit: replaced silently
            run.log({"val/loss": 0.5}, step=20)
            run.log({"epoch": 2.0}, step=20)  # the same value again (the Trainer's logs of a step): no news
        said = err.getvalue()
        self.assertEqual(said.count("'train/loss' at step 5 after step 10: its curve goes back"), 1)
        self.assertNotIn("step 4", said)
        self.assertEqual(said.count("'lr' again at step 6 without step=: it replaces the value"), 1)
        self.assertNotIn("'epoch'", said)
        self.assertEqual(said.count("'val/loss' given twice at step 20 (0.7, then 0.6): the later value replaces"), 1)
        run.finish()

    def test_a_second_run_in_the_process_says_its_own_warnings(self):
        # Found by an audit: what the first run had said was never said for the second.
        for _ in range(2):
            run = labbook.init(journal=journal_in(self))
            with redirect_stderr(io.StringIO()) as err:
                run.log({"train/loss": float("nan")}, step=1)
            run.finish()
            self.assertIn("'train/loss' is nan at step 1", err.getvalue())

    @needs_torch
    def test_evaluation_takes_numpy_and_tensor_elements(self):
        # Found by an audit: each of these was refused with a misleading message.
        import numpy
        import torch
        path = journal_in(self)
        run = labbook.init(journal=path)
        names = ["a", "b", "c"]
        rows = [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]]
        with redirect_stderr(io.StringIO()) as err:
            run.evaluation("val", step=1, labels=names, truth=[numpy.int64(0), numpy.int64(2)], probs=rows)
            run.evaluation("val", step=2, labels=names, truth=list(torch.tensor([0, 2])), probs=rows)
            run.evaluation("val", step=3, labels=names, truth=[0, 2], probs=[numpy.array(r) for r in rows])
            run.evaluation("val", step=4, labels=names, truth=[0, 2],
                           probs=[[numpy.float32(p) for p in r] for r in rows], ids=["x", "y"])
            run.log({"flag": numpy.bool_(True)}, step=4)
        self.assertEqual(err.getvalue(), "")
        run.finish()
        got = events(path)
        self.assertEqual([e["summary"]["accuracy"] for e in got if e["type"] == "evaluation"], [0.5] * 4)
        self.assertAlmostEqual(next(e for e in got if e["type"] == "predictions")["rows"][0]["p_true"], 0.7, places=6)
        self.assertEqual([e["values"] for e in got if e["type"] == "metrics" and "flag" in e["values"]], [{"flag": 1}])

    def test_top_k_below_one_is_named(self):
        path = journal_in(self)
        run = labbook.init(journal=path)
        with redirect_stderr(io.StringIO()) as err:
            run.evaluation("val", step=1, labels=["a", "b"], truth=[0, 1], probs=[[.6, .4], [.3, .7]], ids=["x", "y"],
                           top_k=0)
        self.assertIn("top_k=0: give how many labels each prediction row lists, 1 or more", err.getvalue())
        run.finish()
        self.assertEqual(types(path), ["run_started", "log", "finished"])  # nothing of it half-written

    def test_arguments_a_script_gets_wrong_are_read_or_left_out(self):
        # Found by an audit: each of these raised out of init(), split a tag into letters, or wrote half a call.
        path = journal_in(self)
        with redirect_stderr(io.StringIO()) as err:
            run = labbook.init(journal=path, tags="tpu", total_steps="abc")
        self.assertIn("total_steps='abc' is not a whole number of at least 0; left out", err.getvalue())
        started = events(path)[0]
        self.assertEqual(started["tags"], ["tpu"])
        self.assertNotIn("total_steps", started)
        self.assertTrue(started["run"])  # a journal given by hand gets a uid: recorded twice, it is one run
        names, two = ["a", "b"], [[0.9, 0.1], [0.2, 0.8]]
        with redirect_stderr(io.StringIO()) as err:
            self.assertIsNone(run.evaluation("val", step=1, labels=names, truth=[0, 1], probs=two, ids=["x"]))
            self.assertIsNone(run.evaluation("val", step=2, labels=names, truth=[], probs=[]))
            self.assertIsNone(run.predictions([{"id": "p", "truth": "a", "top": [["a", float("nan")]]}], step=3))
            # Found by an audit: a logit as a probability was taken.
            self.assertIsNone(run.predictions([{"id": "q", "truth": "a", "top": [["a", 1.7]]}], step=3))
        said = err.getvalue()
        self.assertIn("truth and probs hold no example: nothing to evaluate", said)
        self.assertIn("rows[0].top: the probability of 'a' is nan; give probabilities from 0 to 1", said)
        self.assertIn("rows[0].top: the probability of 'a' is 1.7; give probabilities from 0 to 1", said)
        self.assertEqual(types(path), ["run_started", "log", "log", "log", "log"])  # warnings, nothing half-written
        run.predictions([{"id": "p", "truth": None, "top": [["a", 0.7]]}], step=4)
        self.assertEqual(events(path)[-1]["rows"][0]["truth"], [])
        # One-hot targets against a softmax are single-label; index lists of varying length are index lists.
        onehot = run.evaluation("val", step=5, labels=names, truth=[[1, 0], [0, 1]], probs=two)
        self.assertEqual((onehot["accuracy"], "confusion" in onehot), (1.0, True))
        lists = run.evaluation("val", step=6, labels=names, task="multilabel", truth=[[0, 1], [1]],
                               probs=[[0.9, 0.8], [0.2, 0.7]])
        self.assertEqual(lists["accuracy"], 1.0)
        run.finish()
        again = labbook.init(journal=path)  # the same journal started again keeps its run
        self.assertEqual(again.uid, started["run"])
        again.finish()

    def test_counts_steps_and_rates_that_cannot_be_right_are_refused(self):
        path = journal_in(self)
        run = labbook.init(journal=path)
        run.log({"train/loss": 1.0}, step=100)
        with redirect_stderr(io.StringIO()) as err:
            run.histogram("h", counts=[1.7, 2.2])
            run.histogram("h", values=[0.1], bins=0)
            run.lr_finder({"lr": [1e-5, 1e-4, 1e-3], "loss": [2.0, 1.0]})
            run.log({"x": 1.0}, step=2**63)
            run.log({"x": 1.0}, step=True)
        said = err.getvalue()
        self.assertIn("counts must be whole numbers, 0 or more", said)
        self.assertIn("bins=0; give a whole number from 1 to 10000", said)
        self.assertIn("points has 3 learning rates but 2 losses", said)
        self.assertEqual(said.count("give the optimizer step as a whole number"), 2)
        run.evaluation("val", step=22, labels=["a", "b"], truth=[0], probs=[[0.9, 0.1]])
        run.finish()
        self.assertEqual(events(path)[-1]["summary"]["steps"], 100)  # the highest step, not the last named
        self.assertEqual([e for e in events(path) if e["type"] == "lr_point" or e.get("name") == "h"], [])

    def test_evaluation_returns_its_summary_on_every_process(self):
        run = labbook.init(main_process=False)
        summary = run.evaluation("test", labels=["a", "b"], truth=[0, 1], probs=[[0.9, 0.1], [0.4, 0.6]])
        self.assertEqual(summary["accuracy"], 1.0)  # what examples/plain_pytorch.py prints on every rank

    def test_a_second_init_finishes_the_first_run(self):
        first_path, second_path = journal_in(self), journal_in(self)
        first = labbook.init(journal=first_path)
        first.log({"train/loss": 1.0}, step=5)
        with redirect_stderr(io.StringIO()) as err:
            second = labbook.init(journal=second_path)
        self.assertIn("is recorded as finished now", err.getvalue())
        self.assertEqual((first.ended, types(first_path)[-1]), ("finished", "finished"))
        second.fail("stopped")
        self.assertEqual(types(second_path)[-1], "failed")


class EndingTest(unittest.TestCase):
    def test_script_end_without_finish_is_finished(self):
        path, proc = child(self, "run.log({'train/loss': 1.0}, step=3)")
        proc.communicate(timeout=60)
        self.assertEqual(types(path)[-1], "finished")
        self.assertEqual(events(path)[-1]["step"], 3)

    def test_uncaught_exception_is_failed_with_where(self):
        path, proc = child(self, "run.log({'train/loss': 1.0}, step=7)\nraise RuntimeError('CUDA out of memory')")
        _, err = proc.communicate(timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("RuntimeError: CUDA out of memory", err)  # the script's own traceback is still printed
        last = events(path)[-1]
        self.assertEqual((last["type"], last["step"]), ("failed", 7))
        self.assertRegex(last["reason"], r"^RuntimeError: CUDA out of memory \(script\.py:4, step 7\)$")

    def test_an_exception_in_the_thread_that_started_the_run_fails_it(self):
        path = journal_in(self)
        code = ("import labbook, threading\n"
                "def train():\n"
                f"    run = labbook.init(journal={path!r})\n"
                "    run.log({'train/loss': 1.0}, step=3)\n"
                "    raise ValueError('bad batch')\n"
                "t = threading.Thread(target=train)\nt.start()\nt.join()\n")
        proc = subprocess.run([PYTHON, script(self, code)], env=env(), capture_output=True, text=True, timeout=60)
        self.assertIn("ValueError: bad batch", proc.stderr)  # the thread's own traceback is still printed
        last = events(path)[-1]
        self.assertEqual((last["type"], last["step"]), ("failed", 3))
        self.assertRegex(last["reason"], r"^ValueError: bad batch \(script\.py:5, step 3\)$")

    def test_context_manager_records_failure_and_exit_codes(self):
        path, proc = child(self, "with run:\n    run.log({'x': 1.0}, step=2)\n    sys.exit(4)")
        proc.communicate(timeout=60)
        last = events(path)[-1]
        self.assertEqual((last["type"], last["reason"]), ("failed", "the script exited with code 4 at step 2"))
        path, proc = child(self, "with run:\n    run.log({'x': 1.0}, step=2)\n    sys.exit('config missing')")
        proc.communicate(timeout=60)
        self.assertEqual(events(path)[-1]["reason"], "the script exited: config missing (step 2)")

    def test_a_failure_is_recorded_when_another_hook_replaced_ours(self):
        # Found by an audit: rich.traceback.install() after init replaces sys.excepthook, and the crash was
        # recorded as finished.
        body = ("sys.excepthook = lambda kind, error, tb: print('fancy', error, file=sys.stderr)\n"
                "run.log({'x': 1.0}, step=7)\nraise RuntimeError('CUDA out of memory')")
        path, proc = child(self, body)
        _, err = proc.communicate(timeout=60)
        self.assertIn("fancy CUDA out of memory", err)
        last = events(path)[-1]
        self.assertEqual(last["type"], "failed")
        self.assertRegex(last["reason"], r"^RuntimeError: CUDA out of memory \(script\.py:5, step 7\)$")

    def test_an_exception_the_script_handled_does_not_fail_the_run(self):
        path, proc = child(self, "try:\n    raise ValueError('handled')\nexcept ValueError:\n    pass\n"
                                 "sys.excepthook = lambda *a: None\nrun.log({'x': 1.0}, step=2)")
        proc.communicate(timeout=60)
        self.assertEqual(types(path)[-1], "finished")

    def test_ctrl_c_is_cancelled(self):
        path, proc = child(self, "run.log({'x': 1.0}, step=2)\nraise KeyboardInterrupt")
        proc.communicate(timeout=60)
        self.assertEqual(types(path)[-1], "cancelled")

    def test_sigterm_is_cancelled_with_the_workers_exit_code(self):
        path, proc = child(self, "for s in range(1, 100000):\n    run.log({'x': 1.0}, step=s)\n    time.sleep(0.01)")
        wait_for(lambda: os.path.exists(path) and len(events(path)) > 5, what="metrics in the journal")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 3)
        got = events(path)
        self.assertEqual(got[-1]["type"], "cancelled")
        self.assertEqual(got[-1]["step"], got[-2]["step"])
        self.assertEqual([e["seq"] for e in got], list(range(1, len(got) + 1)))

    def test_graceful_cancel_lets_the_loop_stop_and_save(self):
        body = ("run.graceful_cancel = True\nfor s in range(1, 100000):\n    run.log({'x': 1.0}, step=s)\n"
                "    time.sleep(0.01)\n    if run.cancel_requested:\n        run.message('saved checkpoint')\n"
                "        break\nrun.finish()")
        path, proc = child(self, body)
        wait_for(lambda: os.path.exists(path) and len(events(path)) > 5, what="metrics in the journal")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(types(path)[-3:], ["log", "log", "cancelled"])
        self.assertEqual(events(path)[-2]["message"], "saved checkpoint")

    def test_a_sigterm_during_a_write_is_acted_on_after_its_line(self):
        # A SIGTERM whose handler ran while the main thread held the journal's lock (between two bytecodes of its
        # write): a graceful cancel's note waited on that lock for ever (python_test_run timed out so once).
        for graceful in (True, False):
            body = (f"import signal\nrun.graceful_cancel = {graceful}\nwrite_line = run._journal._write_line\n"
                    "def write(data):\n    if b'\"x\"' in data and not hasattr(write, 'done'):\n"
                    "        write.done = True\n        os.kill(os.getpid(), signal.SIGTERM)\n"
                    "    write_line(data)\nrun._journal._write_line = write\n"
                    "for s in range(1, 1000):\n    run.log({'x': 1.0}, step=s)\n"
                    "    if run.cancel_requested:\n        break\nrun.finish()")
            path, proc = child(self, body)
            proc.communicate(timeout=60)
            got = events(path)
            self.assertEqual([e["type"] for e in got][-3:], ["metrics", "log", "cancelled"] if graceful
                             else ["run_started", "metrics", "cancelled"])
            self.assertEqual(proc.returncode, 0 if graceful else 3)
            self.assertEqual([e["seq"] for e in got], list(range(1, len(got) + 1)))
            if graceful:
                self.assertIn("SIGTERM received", got[-2]["message"])

    def test_an_error_after_a_graceful_cancel_is_cancelled(self):
        # Under a launcher every process gets lbk cancel's SIGTERM: the others end, and the main process's next
        # collective fails; that error is the cancel's doing, not a failure of the run.
        loop = ("for s in range(1, 100000):\n    run.log({'x': 1.0}, step=s)\n    time.sleep(0.01)\n"
                "    if run.cancel_requested:\n        raise RuntimeError('Connection closed by peer')")
        within = "with run:\n" + "".join("    " + line + "\n" for line in loop.splitlines())
        for body in ("run.graceful_cancel = True\n" + loop, "run.graceful_cancel = True\n" + within):
            with self.subTest(within=body.count("with run")):  # the hook, and the with-block
                path, proc = child(self, body)
                wait_for(lambda: os.path.exists(path) and len(events(path)) > 5, what="metrics in the journal")
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=60)
                got = events(path)
                self.assertEqual(got[-1]["type"], "cancelled")
                self.assertIn("after the SIGTERM: RuntimeError: Connection closed by peer", got[-2]["message"])

    def test_sigterm_reaches_the_scripts_own_handler_after_recording(self):
        path = journal_in(self)
        code = ("import labbook, os, signal, time\n"
                "signal.signal(signal.SIGTERM, lambda s, f: (print('own handler'), os._exit(9)))\n"
                f"run = labbook.init(journal={path!r})\nrun.log({{'x': 1.0}}, step=1)\n"
                "os.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(30)\n")
        done = subprocess.run([PYTHON, script(self, code)], env=env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 9)
        self.assertIn("own handler", done.stdout)
        self.assertEqual(types(path)[-1], "cancelled")


class MainProcessTest(unittest.TestCase):
    def test_other_ranks_write_nothing(self):
        for var, value in (("RANK", "1"), ("LOCAL_RANK", "2"), ("SLURM_PROCID", "3")):
            with self.subTest(var=var):
                path, proc = child(self, "run.log({'x': 1.0}, step=1)\nrun.finish()", **{var: value})
                proc.communicate(timeout=60)
                self.assertEqual(proc.returncode, 0)
                self.assertFalse(os.path.exists(path))
        path, proc = child(self, "run.finish()", RANK="0", LOCAL_RANK="0")
        proc.communicate(timeout=60)
        self.assertEqual(types(path), ["run_started", "finished"])
        path, proc = child(self, "run.finish()", LOCAL_RANK="-1")  # Hugging Face's "not distributed"
        proc.communicate(timeout=60)
        self.assertEqual(types(path), ["run_started", "finished"])

    def test_forked_children_do_not_write(self):
        path, proc = child(self, "pid = os.fork()\nif pid == 0:\n    run.log({'child': 1.0}, step=9)\n"
                                 "    os._exit(0)\nos.waitpid(pid, 0)\nrun.log({'parent': 1.0}, step=2)")
        proc.communicate(timeout=60)
        self.assertEqual([e["values"] for e in events(path) if e["type"] == "metrics"], [{"parent": 1.0}])


if __name__ == "__main__":
    unittest.main()
