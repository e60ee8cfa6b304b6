"""The integrations with the real frameworks: a tiny BERT made from a config trained by the Hugging Face
Trainer with LabbookCallback, and a tiny Lightning module trained with LabbookLogger, each recorded. Where a
framework is not installed its test is skipped with that reason (CTest shows the file as skipped)."""
import importlib.util
import os
import unittest

import support  # noqa: F401
from support import events, has_torch, temp_dir

from labbook.integrations import lightning as lbl
from labbook.integrations import transformers as lbt


def installed(name):
    return importlib.util.find_spec(name) is not None


needs_transformers = unittest.skipUnless(installed("transformers") and has_torch(),
                                         "transformers is not installed for this Python")
needs_lightning = unittest.skipUnless((installed("lightning") or installed("pytorch_lightning")) and has_torch(),
                                      "lightning is not installed for this Python")


def journal(test):
    return os.path.join(temp_dir(test), "journal.jsonl")


@needs_transformers
class RealTrainerTest(unittest.TestCase):
    def test_a_tiny_bert_trains_and_is_recorded(self):
        import torch
        from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
        config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=32, num_labels=3, id2label={0: "a", 1: "b", 2: "c"},
                            label2id={"a": 0, "b": 1, "c": 2})
        torch.manual_seed(0)
        rows = [{"input_ids": torch.randint(5, 50, (8,)), "labels": i % 3} for i in range(48)]
        folder = temp_dir(self)
        args = TrainingArguments(output_dir=folder, max_steps=12, per_device_train_batch_size=8, logging_steps=4,
                                 eval_strategy="steps", eval_steps=6, save_strategy="no", report_to=[],
                                 use_cpu=True)
        callback = lbt.LabbookCallback(journal=os.path.join(folder, "journal.jsonl"), name="tiny-bert")
        trainer = Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=rows,
                          eval_dataset=rows[:12], callbacks=[callback])
        callback.attach(trainer)
        trainer.train()
        self.assertIsNone(callback.run.ended)  # open for what follows training
        trainer.evaluate(rows[12:24], metric_key_prefix="test")
        callback.run.finish()  # as the script's end would
        got = events(os.path.join(folder, "journal.jsonl"))
        types = [e["type"] for e in got]
        self.assertEqual(types.count("evaluation"), 2)  # the eval set's; the test set's metrics are series
        self.assertEqual(types.count("predictions"), 2)
        keys = {k for e in got if e["type"] == "metrics" for k in e["values"]}
        self.assertTrue({"train/loss", "test/loss"} <= keys, keys)
        self.assertEqual(got[-1]["type"], "finished")


@needs_lightning
class RealLightningTest(unittest.TestCase):
    def test_a_tiny_module_trains_and_is_recorded(self):
        import torch
        try:
            import lightning.pytorch as pl
        except ImportError:
            import pytorch_lightning as pl

        class Tiny(pl.LightningModule):
            def __init__(self):
                super().__init__()
                self.save_hyperparameters({"hidden": 4})
                self.layer = torch.nn.Linear(4, 2)

            def training_step(self, batch, _):
                loss = torch.nn.functional.cross_entropy(self.layer(batch[0]), batch[1])
                self.log("train_loss", loss)
                return loss

            def test_step(self, batch, _):
                self.log("test_loss", torch.nn.functional.cross_entropy(self.layer(batch[0]), batch[1]))

            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=0.1)

        data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 4),
                                                                          torch.randint(0, 2, (32,))), batch_size=8)
        path = journal(self)
        logger = lbl.LabbookLogger(journal=path)
        trainer = pl.Trainer(max_steps=8, logger=logger, log_every_n_steps=2, enable_checkpointing=False,
                             enable_progress_bar=False, accelerator="cpu")
        module = Tiny()
        trainer.fit(module, data)
        trainer.test(module, data)  # after fit's finalize("success"): still recorded
        logger.experiment.finish()  # as the script's end would
        got = events(path)
        self.assertEqual(got[0]["config"].get("hidden"), 4)  # logged after Lightning first read the experiment
        keys = {k for e in got if e["type"] == "metrics" for k in e["values"]}
        self.assertTrue({"train/loss", "test/loss"} <= keys, keys)
        self.assertEqual(got[-1]["type"], "finished")


if __name__ == "__main__":
    unittest.main()
