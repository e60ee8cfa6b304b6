"""The framework integrations' own logic (name mapping, evaluations from Trainer.predict, cancel, Lightning's
statuses, LR range tests) against stand-ins for the frameworks' objects, so it is tested everywhere;
test_frameworks.py runs them with the real frameworks where those are installed."""
import os
import unittest
from types import SimpleNamespace

import support  # noqa: F401
from support import events, has_torch, temp_dir

import labbook
from labbook.integrations import lr_range
from labbook.integrations import lightning as lbl
from labbook.integrations import transformers as lbt
from labbook.integrations._names import labbook_key



def journal(test):
    return os.path.join(temp_dir(test), "journal.jsonl")


class NamesTest(unittest.TestCase):
    def test_framework_names_become_labbooks(self):
        for key, want in (("loss", "train/loss"), ("eval_loss", "val/loss"), ("eval_accuracy", "val/accuracy"),
                          ("learning_rate", "lr"), ("grad_norm", "train/grad_norm"), ("val_acc", "val/acc"),
                          ("train_loss_step", "train/loss_step"), ("lr-AdamW", "lr"), ("lr-AdamW/pg2", "lr/AdamW/pg2"),
                          ("val/f1", "val/f1"), ("epoch", "epoch"), ("custom", "train/custom")):
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


class LightningLoggerStandInTest(unittest.TestCase):
    def test_hyperparameters_metrics_and_statuses(self):
        for status, last in (("success", "finished"), ("failed", "failed"), ("interrupted", "cancelled")):
            with self.subTest(status=status):
                path = journal(self)
                logger = lbl._Recorder(journal=path)
                logger.log_hyperparams({"lr": 0.01, "hidden": 64})
                logger.log_metrics({"train_loss": 0.9, "val_acc": 0.4, "epoch": 0}, step=5)
                logger.finalize(status)
                got = events(path)
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
