"""The framework integrations' own logic (name mapping, evaluations from Trainer.predict, cancel, Lightning's
statuses, LR range tests) against stand-ins for the frameworks' objects, so it is tested everywhere;
test_frameworks.py runs them with the real frameworks where those are installed."""
import io
import os
import subprocess
import sys
import types
import unittest
from contextlib import redirect_stderr
from types import SimpleNamespace
from unittest import mock

import support  # noqa: F401
from support import PYTHON, env, events, has_torch, script, temp_dir

import labbook
from labbook.integrations import lr_range
from labbook.integrations import lightning as lbl
from labbook.integrations import transformers as lbt
from labbook.integrations._names import labbook_key



def journal(test):
    return os.path.join(temp_dir(test), "journal.jsonl")


def stand_in_lightning(test):
    """A folder with a `lightning` package holding just the Logger base class, for a child's sys.path."""
    root = temp_dir(test)
    package = os.path.join(root, "lightning", "pytorch", "loggers")
    os.makedirs(package)
    for folder in ("lightning", os.path.join("lightning", "pytorch")):
        open(os.path.join(root, folder, "__init__.py"), "w").close()
    with open(os.path.join(package, "__init__.py"), "w") as f:
        f.write("class Logger:\n    def __init__(self):\n        pass\n")
    return root


def trainer_parts(labels=("neg", "pos"), eval_set=("a", "b")):
    """A model, a Trainer whose predict() is remembered, and the arguments every callback hook gets."""
    model = SimpleNamespace(config=SimpleNamespace(id2label=dict(enumerate(labels)), problem_type=None,
                                                   to_dict=lambda: {}))
    out = SimpleNamespace(predictions=[[2.0, 0.0], [0.0, 1.0]], label_ids=[0, 1])
    predicted = []
    trainer = SimpleNamespace(eval_dataset=list(eval_set), model=model,
                              predict=lambda ds, metric_key_prefix: predicted.append(ds) or out)
    hook = (SimpleNamespace(to_dict=lambda: {}), SimpleNamespace(global_step=0, max_steps=4),
            SimpleNamespace(should_training_stop=False))
    return model, trainer, predicted, hook


class NamesTest(unittest.TestCase):
    def test_framework_names_become_labbooks(self):
        for key, want in (("loss", "train/loss"), ("eval_loss", "val/loss"), ("eval_accuracy", "val/accuracy"),
                          ("learning_rate", "lr"), ("grad_norm", "train/grad_norm"), ("val_acc", "val/acc"),
                          ("train_loss_step", "train/loss_step"), ("lr-AdamW", "lr"), ("lr-AdamW/pg2", "lr/AdamW/pg2"),
                          ("val/f1", "val/f1"), ("epoch", "epoch"), ("custom", "train/custom"),
                          # found by an audit: eval_runtime became val/runtime, a figure with a "best"
                          ("eval_runtime", "speed/val_runtime"), ("test_runtime", "speed/test_runtime"),
                          ("eval_samples_per_second", "speed/val_samples_per_second"),
                          ("train_steps_per_second", "speed/train_steps_per_second")):
            self.assertEqual(labbook_key(key), want)


class TrainerCallbackStandInTest(unittest.TestCase):
    def test_logs_evaluations_and_the_end(self):
        path = journal(self)
        recorder = lbt._Recorder(journal=path, name="hf", config={"labels": ["cs.CV", "cs.CL"]})
        args = SimpleNamespace(to_dict=lambda: {"learning_rate": 5e-5, "per_device_train_batch_size": 8})
        model = SimpleNamespace(config=SimpleNamespace(id2label={0: "cs.CV", 1: "cs.CL"}, problem_type=None,
                                                       to_dict=lambda: {"model_type": "bert"}))
        state, control = SimpleNamespace(global_step=0, max_steps=20), SimpleNamespace(should_training_stop=False)
        rows = {"id": ["p1", "p2", "p3"], "title": ["A", "B", "C"]}
        dataset = type("DS", (), {"column_names": ["id", "title", "label"], "__getitem__": lambda s, k: rows[k]})()
        out = SimpleNamespace(predictions=[[2.0, 0.0], [0.0, 1.0], [1.0, 0.5]], label_ids=[0, 1, 1])
        recorder.attach(SimpleNamespace(eval_dataset=dataset, predict=lambda ds, metric_key_prefix: out, model=model))
        recorder.on_train_begin(args, state, control, model=model)
        state.global_step = 10
        recorder.on_log(args, state, control, logs={"loss": 0.7, "learning_rate": 4e-5, "epoch": 0.5})
        recorder.on_log(args, state, control, logs={"eval_loss": 0.6, "eval_accuracy": 0.5})
        recorder.on_evaluate(args, state, control, metrics={"eval_loss": 0.6}, model=model)
        state.global_step = 20
        recorder.on_train_end(args, state, control)
        self.assertIsNone(recorder.run.ended)  # open for an evaluation after training; the script's end finishes it
        recorder.run.finish()
        got = events(path)
        self.assertEqual(got[0]["config"]["model"], {"model_type": "bert"})
        self.assertEqual(got[0]["config"]["labels"], ["cs.CV", "cs.CL"])
        self.assertEqual(got[0]["config"]["training_args"]["learning_rate"], 5e-5)
        self.assertEqual(got[0]["total_steps"], 20)
        self.assertEqual(got[1]["values"], {"train/loss": 0.7, "lr": 4e-5, "epoch": 0.5})
        self.assertEqual(got[2]["values"], {"val/loss": 0.6, "val/accuracy": 0.5})
        evaluation = next(e for e in got if e["type"] == "evaluation")
        self.assertEqual(evaluation["summary"]["labels"], ["cs.CV", "cs.CL"])
        self.assertAlmostEqual(evaluation["summary"]["accuracy"], 2 / 3)
        self.assertEqual(evaluation["summary"]["loss"], 0.6)
        rows_event = next(e for e in got if e["type"] == "predictions")
        self.assertEqual([(r["id"], r["title"]) for r in rows_event["rows"]], [("p1", "A"), ("p2", "B"), ("p3", "C")])
        self.assertEqual(got[-1]["type"], "finished")

    def test_cancel_asks_the_trainer_to_stop(self):
        recorder = lbt._Recorder(labbook.init(journal=journal(self)))
        control = SimpleNamespace(should_training_stop=False)
        recorder.run.cancel_requested = True
        recorder.on_step_end(None, SimpleNamespace(global_step=3), control)
        self.assertTrue(control.should_training_stop)
        recorder.on_train_end(None, SimpleNamespace(global_step=3), control)
        self.assertEqual(events(recorder.run.journal_path)[-1]["type"], "cancelled")


class TrainerCallbackAfterTrainingTest(unittest.TestCase):
    """Found by an audit: the run ended at on_train_end, so trainer.evaluate(test_set) was dropped; task= never
    reached the run; every evaluation was predicted on the eval set and recorded as "val"."""

    def setUp(self):
        stand_in = types.ModuleType("transformers")
        stand_in.TrainerCallback = type("TrainerCallback", (), {})
        patcher = mock.patch.dict(sys.modules, {"transformers": stand_in})
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_a_test_set_evaluated_after_training_is_recorded_as_test(self):
        path = journal(self)
        callback = lbt.LabbookCallback(journal=path, task="binary")
        model, trainer, predicted, (args, state, control) = trainer_parts()
        callback.attach(trainer)
        callback.on_train_begin(args, state, control, model=model)
        state.global_step = 4
        callback.on_evaluate(args, state, control, metrics={"eval_loss": 0.5, "eval_runtime": 0.1}, model=model,
                             eval_dataloader=SimpleNamespace(dataset=trainer.eval_dataset))
        callback.on_train_end(args, state, control)
        # trainer.evaluate(test_set, metric_key_prefix="test"):
        callback.on_log(args, state, control, logs={"test_loss": 0.4, "test_accuracy": 0.9, "epoch": 1.0})
        callback.on_evaluate(args, state, control, metrics={"test_loss": 0.4, "test_runtime": 0.1}, model=model,
                             eval_dataloader=SimpleNamespace(dataset=[1, 2, 3]))
        # trainer.evaluate(test_set) without a prefix: its metrics look like the eval set's, its size does not
        with redirect_stderr(io.StringIO()) as err:
            callback.on_evaluate(args, state, control, metrics={"eval_loss": 0.4, "eval_runtime": 0.1}, model=model,
                                 eval_dataloader=SimpleNamespace(dataset=[1, 2, 3]))
        callback.run.finish()
        got = events(path)
        self.assertEqual(got[0]["task"], "binary")
        self.assertEqual(predicted, [trainer.eval_dataset])
        evaluations = [e for e in got if e["type"] == "evaluation"]
        self.assertEqual([(e["split"], e["step"], e["summary"]["loss"]) for e in evaluations], [("val", 4, 0.5)])
        self.assertIn({"test/loss": 0.4, "test/accuracy": 0.9, "epoch": 1.0},
                      [e["values"] for e in got if e["type"] == "metrics"])
        self.assertIn("Trainer.evaluate scored 3 examples under the prefix 'eval', the eval set has 2",
                      err.getvalue())
        self.assertEqual(got[-1]["type"], "finished")

    def test_each_named_eval_set_is_its_own_split(self):
        path = journal(self)
        callback = lbt.LabbookCallback(journal=path)
        model, trainer, predicted, (args, state, control) = trainer_parts()
        ood = ["c", "d"]
        trainer.eval_dataset = {"ood": ood}
        callback.attach(trainer)
        callback.on_train_begin(args, state, control, model=model)
        callback.on_evaluate(args, state, control, metrics={"eval_ood_loss": 0.3, "eval_ood_runtime": 0.1},
                             model=model)
        callback.run.finish()
        self.assertEqual(predicted, [ood])
        evaluation = next(e for e in events(path) if e["type"] == "evaluation")
        self.assertEqual((evaluation["split"], evaluation["summary"]["loss"]), ("ood", 0.3))
        self.assertNotIn("task", events(path)[0])


class LightningLoggerStandInTest(unittest.TestCase):
    def test_hyperparameters_logged_after_lightning_reads_the_experiment_are_the_config(self):
        # Found by an audit: Lightning 2 reads logger.experiment before log_hyperparams, so the run started with
        # config {} and the hyper-parameters reached only a log line.
        path = journal(self)
        logger = lbl._Recorder(journal=path, config={"data": "arxiv"})
        experiment = logger.experiment  # Lightning's setup hook
        self.assertFalse(os.path.exists(path))
        logger.log_hyperparams(SimpleNamespace(lr=0.01, hidden=64))
        logger.log_metrics({"train_loss": 0.9}, step=5)
        self.assertEqual(experiment.uid, logger.experiment.uid)  # the stand-in is the run once it started
        logger.log_hyperparams({"lr": 0.01})  # again at the next stage: nothing new
        logger.log_hyperparams({"lr": 0.01, "dropout": 0.1})
        logger.experiment.finish()
        got = events(path)
        self.assertEqual(got[0]["config"], {"data": "arxiv", "lr": 0.01, "hidden": 64})
        self.assertEqual([e["message"] for e in got if e["type"] == "log"],
                         ["hyper-parameters logged after the run started: dropout=0.1"])

    def test_a_test_stage_after_fit_is_recorded_and_the_scripts_end_finishes_the_run(self):
        # Found by an audit: finalize("success") after fit ended the run, and trainer.test() was dropped.
        path = journal(self)
        code = ("import sys\nsys.path.insert(0, sys.argv[2])\n"
                "from labbook.integrations.lightning import LabbookLogger\n"
                "logger = LabbookLogger(journal=sys.argv[1])\n"
                "def stage(metrics):  # as Lightning 2 runs a stage: setup, hyper-parameters, logs, teardown\n"
                "    _ = logger.experiment\n    logger.log_hyperparams({'lr': 0.01})\n"
                "    logger.log_metrics(metrics, step=5)\n    logger.finalize('success')\n"
                "stage({'train_loss': 0.9})\nstage({'test_acc': 0.7})\n")
        done = subprocess.run([PYTHON, script(self, code), path, stand_in_lightning(self)], env=env(),
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr, "")
        got = events(path)
        self.assertEqual([e["type"] for e in got], ["run_started", "metrics", "metrics", "finished"])
        self.assertEqual(got[0]["config"], {"lr": 0.01})
        self.assertEqual(got[2]["values"], {"test/acc": 0.7})

    def test_a_failed_stage_is_recorded_with_its_exception(self):
        path = journal(self)
        logger = lbl._Recorder(journal=path)
        logger.log_metrics({"train_loss": 0.9}, step=5)
        try:
            raise RuntimeError("bad batch")
        except RuntimeError:  # Lightning finalizes inside its handler, then raises again
            logger.finalize("failed")
        last = events(path)[-1]
        self.assertEqual(last["type"], "failed")
        self.assertRegex(last["reason"], r"^RuntimeError: bad batch \(test_integrations\.py:\d+, step 5\)$")

    def test_hyperparameters_metrics_and_statuses(self):
        for status, last in (("success", "metrics"), ("failed", "failed"), ("interrupted", "cancelled")):
            with self.subTest(status=status):
                path = journal(self)
                logger = lbl._Recorder(journal=path)
                logger.log_hyperparams({"lr": 0.01, "hidden": 64})
                logger.log_metrics({"train_loss": 0.9, "val_acc": 0.4, "epoch": 0}, step=5)
                logger.finalize(status)  # a success leaves the run open for the next stage
                got = events(path)
                logger.experiment.finish()
                self.assertEqual(got[0]["config"], {"lr": 0.01, "hidden": 64})
                self.assertEqual(got[1]["values"], {"train/loss": 0.9, "val/acc": 0.4, "epoch": 0})
                self.assertEqual(got[-1]["type"], last)
                self.assertEqual(logger.name, "labbook")

    def test_lightning_lr_finder_result_is_recorded_with_its_suggestion(self):
        run = labbook.init(journal=journal(self))
        lrs = [10 ** (-6 + i / 10) for i in range(60)]
        finder = SimpleNamespace(results={"lr": lrs, "loss": [3 - i / 30 for i in range(60)]}, _optimal_idx=42,
                                 suggestion=lambda: lrs[42])
        chosen = lr_range.record(run, finder)
        self.assertEqual(chosen, {"lr": lrs[42], "index": 42, "method": "lightning"})
        points = [e for e in events(run.journal_path) if e["type"] == "lr_point"]
        self.assertEqual(points[5]["smoothed"], points[5]["loss"])  # Lightning's losses are smoothed already


@unittest.skipUnless(has_torch(), "torch is not installed for this Python")
class RangeTestTest(unittest.TestCase):
    def test_plain_pytorch_range_test_restores_the_model(self):
        import torch
        torch.manual_seed(0)
        model = torch.nn.Linear(8, 3)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        before = [p.detach().clone() for p in model.parameters()]
        x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
        batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
        run = labbook.init(journal=journal(self))
        chosen = lr_range.range_test(run, model, opt, lambda b: torch.nn.functional.cross_entropy(model(b[0]), b[1]),
                                     batches, min_lr=1e-4, max_lr=100, steps=50)
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(before, model.parameters())))
        self.assertEqual(opt.param_groups[0]["lr"], 0.1)
        points = [e for e in events(run.journal_path) if e["type"] == "lr_point"]
        self.assertTrue(6 <= len(points) <= 50)
        self.assertIn("lr", chosen)


if __name__ == "__main__":
    unittest.main()
