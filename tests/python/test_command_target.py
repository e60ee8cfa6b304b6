"""The issue's proof: a plain PyTorch training loop on the 5k sample (examples/plain_pytorch.py), recorded
with the library and started through a `command` target on this machine, leaves in the store what a run that
Labbook trained leaves: curves, evaluations with per-class figures and confusion matrices, histograms,
predictions, an LR-finder curve and its suggestion, an artifact. lbk cancel gives `cancelled`, a killed
script `interrupted`."""
import json
import os
import shlex
import signal
import unittest

from support import (DATA, LBK, PYTHON, SOURCE, events, lbk, lbk_json, needs_lbk, needs_torch, query, temp_dir,
                     wait_for)

EXAMPLE = os.path.join(SOURCE, "examples", "plain_pytorch.py")


@needs_lbk
@needs_torch
class CommandTargetTest(unittest.TestCase):
    def setUp(self):
        root = temp_dir(self)
        self.store = os.path.join(root, "store.db")
        self.targets = os.path.join(root, "targets.json")
        worker = [PYTHON, EXAMPLE, "--experiment", "{experiment}", "--data-root", "{data_root}", "--lbk", "{lbk}",
                  "--epochs", "2", "--lr-find", "40", "--step-sleep", "{sleep}"]
        here = {"type": "command", "command": ["sh", "-c", "{cmd}"], "work_dir": os.path.join(root, "remote"),
                "lbk": LBK, "data_root": DATA, "worker": worker}
        slow = dict(here, worker=[w.replace("{sleep}", "0.05") for w in worker])
        # A launcher (accelerate launch, torchrun) in miniature: a shell that starts the script and waits for it.
        launcher = dict(here, worker=["sh", "-c", " ".join(shlex.quote(w) for w in slow["worker"]) + " & wait"])
        here["worker"] = [w.replace("{sleep}", "0") for w in worker]
        # A script of one's own that reads nothing of the experiment (as the TPU example's Trainer script).
        own_script = os.path.join(root, "own.py")
        with open(own_script, "w") as f:
            f.write(f"import sys\nsys.path.insert(0, {os.path.join(SOURCE, 'python')!r})\nimport labbook\n"
                    "run = labbook.init(config={'lr': 0.5, 'model': 'linear'})\n"
                    "run.log({'train/loss': 1.0}, step=1)\nrun.finish()\n")
        own = dict(here, worker=[PYTHON, own_script])
        with open(self.targets, "w") as f:
            json.dump({"targets": {"here": here, "slow": slow, "launcher": launcher, "own": own}}, f)
        with open(os.path.join(SOURCE, "experiments", "debug.json")) as f:
            experiment = json.load(f)
        experiment["name"] = "plain-pytorch"
        self.experiment = os.path.join(root, "plain-pytorch.json")
        with open(self.experiment, "w") as f:
            json.dump(experiment, f)

    def lbk(self, *args, **kw):
        return lbk(self.store, "--targets", self.targets, *args, **kw)

    def show(self, ref):
        return json.loads(self.lbk("--json", "show", str(ref)).stdout)

    def count(self, sql, run_id):
        return query(self.store, sql, run_id)[0][0]

    def test_the_store_holds_what_a_labbook_run_holds(self):
        done = self.lbk("run", self.experiment, "--target", "here")
        self.assertIn("finished", done.stdout + done.stderr)
        run = self.show("plain-pytorch")
        self.assertEqual((run["status"], run["target"]), ("finished", "here"))
        rid = run["id"]
        final = run["summary"]["final"]
        for key in ("val/accuracy", "val/macro_f1", "val/loss", "test/accuracy", "test/macro_f1"):
            self.assertIn(key, final)
        self.assertGreater(final["test/accuracy"], 0.5)  # five classes: chance is about 0.2
        self.assertEqual(run["summary"]["run"]["version"], "labbook-python 0.1.0")
        # The script's own settings (its config=) merged into the experiment it was given: compare diffs them.
        self.assertEqual(run["config"]["args"]["epochs"], 2)
        self.assertEqual(run["config"]["model"]["type"], "bag")
        self.assertNotIn("script", run["config"])  # nothing of the experiment's did the script set otherwise
        # Found by an audit: a script's run was said to keep a checkpoint at its best step, as Labbook's worker does.
        self.assertNotIn("kept checkpoint", self.lbk("show", str(rid)).stdout)
        self.assertEqual(run["summary"]["lr_suggestion"]["method"], "steepest")
        keys = {k for (k,) in query(self.store, "SELECT DISTINCT key FROM metrics WHERE run = ?", rid)}
        self.assertLessEqual({"train/loss", "lr", "train/examples_per_s", "val/accuracy", "val/loss"}, keys)
        self.assertEqual(self.count("SELECT count(*) FROM metrics WHERE run = ? AND key = 'train/loss'", rid), 22)
        evaluations = query(self.store, "SELECT split, summary FROM evaluations WHERE run = ? "
                                        "ORDER BY step, split = 'test'", rid)
        self.assertEqual([s for s, _ in evaluations], ["val"] * 3 + ["test"])
        summary, last_val = json.loads(evaluations[-1][1]), json.loads(evaluations[-2][1])
        self.assertEqual(len(summary["confusion"]), 5)
        self.assertEqual(sum(map(sum, summary["confusion"])), summary["examples"])
        self.assertEqual([c["label"] for c in summary["per_class"]], summary["labels"])
        self.assertEqual(self.count("SELECT count(*) FROM histograms WHERE run = ? AND name IN ('p_true', "
                                    "'p_predicted')", rid), 8)
        self.assertEqual(self.count("SELECT count(*) FROM predictions WHERE run = ? AND split = 'val' AND step = "
                                    "(SELECT max(step) FROM predictions WHERE run = ?1 AND split = 'val')", rid),
                         last_val["examples"])
        remote = os.path.join(os.path.dirname(self.store), "remote", "runs", run["uid"], "journal.jsonl")
        lr_points = [e for e in events(remote) if e["type"] == "lr_point"]
        self.assertTrue(10 <= len(lr_points) <= 40)  # 40 rates at most; it stops once the loss diverges
        self.assertEqual(self.count("SELECT count(*) FROM lr_points WHERE run = ?", rid), len(lr_points))
        self.assertEqual(query(self.store, "SELECT kind, path FROM artifacts WHERE run = ?", rid),
                         [("model", "model.pt")])
        wrong = json.loads(self.lbk("--json", "predictions", str(rid), "--misclassified", "--limit", "3").stdout)
        self.assertEqual(len(wrong), 3)
        self.assertFalse(any(row["correct"] for row in wrong))
        # The local mirror is the remote journal byte for byte, and every line was stored.
        with open(remote, "rb") as a, open(os.path.join(run["run_dir"], "journal.jsonl"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertEqual(query(self.store, "SELECT seq FROM ingest_cursor WHERE run = ?", rid)[0][0],
                         events(remote)[-1]["seq"])

    def test_a_scripts_run_records_what_the_file_gave_not_labbooks_defaults(self):
        # Found by an audit: the stored config was the experiment with every Labbook default filled in (a bag model,
        # its learning rate), which the script never used; compare listed them as differences.
        given = os.path.join(os.path.dirname(self.store), "own.json")
        with open(self.experiment) as f:
            data = json.load(f)["data"]
        with open(given, "w") as f:
            json.dump({"name": "own-script", "tags": ["mine"], "data": data}, f)
        done = self.lbk("run", given, "--target", "own")
        self.assertIn("finished", done.stdout + done.stderr)
        config = self.show("own-script")["config"]
        self.assertEqual((config["lr"], config["model"], config["data"]), (0.5, "linear", data))
        self.assertNotIn("optimizer", config)
        self.assertNotIn("script", config)

    def start_slow(self, target="slow"):
        self.lbk("run", self.experiment, "--target", target, "--detach")
        run = self.show("plain-pytorch")
        wait_for(lambda: self.show(run["id"])["last_step"] > 10, timeout=120, what="the run's first steps")
        return run

    def test_lbk_cancel_gives_cancelled(self):
        run = self.start_slow()
        asked = self.lbk("cancel", str(run["id"]))
        self.assertIn("the script gets SIGTERM", asked.stdout + asked.stderr)  # not "it saves a checkpoint"
        status = wait_for(lambda: self.show(run["id"])["status"] not in ("queued", "running") and
                          self.show(run["id"])["status"], timeout=120, what="the run to end")
        self.assertEqual(status, "cancelled")

    def test_lbk_cancel_reaches_the_processes_a_launcher_started(self):
        # Found by an audit: the SIGTERM went to the launcher alone (the PID the target started), and the script it
        # had started trained on, unfollowed; the worker now leads a process group, which cancel signals.
        run = self.start_slow("launcher")
        self.lbk("cancel", str(run["id"]))
        status = wait_for(lambda: self.show(run["id"])["status"] not in ("queued", "running") and
                          self.show(run["id"])["status"], timeout=120, what="the run to end")
        self.assertEqual(status, "cancelled")

    def test_a_killed_script_is_interrupted(self):
        run = self.start_slow()
        remote = os.path.join(os.path.dirname(self.store), "remote", "runs", run["uid"])
        with open(os.path.join(remote, "worker.pid")) as f:
            os.kill(int(f.read()), signal.SIGKILL)
        status = wait_for(lambda: self.show(run["id"])["status"] not in ("queued", "running") and
                          self.show(run["id"])["status"], timeout=120, what="the run to end")
        self.assertEqual(status, "interrupted")
        error = self.show(run["id"])["error"]
        self.assertIn("ended without reporting how the run ended", error)
        self.assertIn(f"`lbk resume {run['id']}` starts the target's script again with LABBOOK_RESUME=1", error)
        self.assertNotIn("from the last checkpoint", self.lbk("show", str(run["id"])).stdout)  # it keeps none
        # lbk resume starts the script again and tells it so; the library marks the new start as a resume.
        resumed = self.lbk("resume", str(run["id"]), "--detach")
        # Found by an audit: it said "from its last checkpoint" for a script that keeps none.
        self.assertIn("starts the target's script again with LABBOOK_RESUME=1", resumed.stderr)
        status = wait_for(lambda: self.show(run["id"])["status"] not in ("queued", "running") and
                          self.show(run["id"])["status"], timeout=180, what="the resumed run to end")
        self.assertEqual(status, "finished")
        started = [e for e in events(os.path.join(remote, "journal.jsonl")) if e["type"] == "run_started"]
        self.assertEqual([e.get("resumed", False) for e in started], [False, True])


if __name__ == "__main__":
    unittest.main()
