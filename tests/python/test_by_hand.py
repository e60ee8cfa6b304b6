"""A script started by hand: labbook.init() asks `lbk record` for a run, which the store then follows like a
local worker (the same ingest, the script's process for liveness). lbk cancel ends it `cancelled`, a kill
`interrupted`; without lbk the journal lands in a folder and `lbk record --journal` stores it later."""
import json
import os
import re
import shutil
import signal
import subprocess
import unittest

from support import PYTHON, env, events, lbk, lbk_json, needs_lbk, query, script, temp_dir, wait_for

LOOP = """
import labbook, sys, time
run = labbook.init(config={"lr": 0.1, "model": "bag"}, name="by-hand", tags=["a", "b"], task="binary",
                   store=sys.argv[1])
print(run.store_id, run.uid, flush=True)
for step in range(1, int(sys.argv[2]) + 1):
    run.log({"train/loss": 1.0 / step}, step=step)
    time.sleep(float(sys.argv[3]))
run.finish({"note": "done"})
"""


@needs_lbk
class ByHandTest(unittest.TestCase):
    def start(self, steps, sleep, **extra_env):
        self.store = os.path.join(temp_dir(self), "store.db")
        proc = subprocess.Popen([PYTHON, script(self, LOOP), self.store, str(steps), str(sleep)], env=env(**extra_env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        run_id, uid = proc.stdout.readline().split()
        return proc, int(run_id), uid

    def show(self, run_id):
        return lbk_json(self.store, "show", str(run_id))

    def test_a_finished_run_is_in_the_store(self):
        proc, run_id, uid = self.start(5, 0)
        _, said = proc.communicate(timeout=60)
        # Found by an audit: init() said nothing of where the run went.
        self.assertIn(f"labbook: run {run_id} (by-hand) is recorded into {self.store}; `lbk show {run_id}`", said)
        run = self.show(run_id)
        self.assertEqual((run["status"], run["name"], run["uid"], run["task"]), ("finished", "by-hand", uid, "binary"))
        self.assertEqual(run["tags"], ["a", "b"])
        self.assertEqual(run["config"], {"lr": 0.1, "model": "bag"})
        self.assertEqual(run["target"], "local")
        self.assertEqual(run["summary"]["final"]["steps"], 5)
        self.assertEqual(run["summary"]["note"], "done")
        self.assertEqual(query(self.store, "SELECT count(*) FROM metrics WHERE run = ? AND key = 'train/loss'",
                               run_id), [(5,)])
        listed = lbk(self.store, "runs").stdout
        self.assertIn("by-hand", listed)
        shown = lbk(self.store, "show", str(run_id)).stdout  # the script's count as it gave it, not 5.0000
        self.assertRegex(shown, r"\nsteps +5 ")

    def test_lbk_cancel_records_cancelled(self):
        proc, run_id, _ = self.start(100000, 0.02)
        wait_for(lambda: self.show(run_id)["last_step"] > 3, what="the run's first steps in the store")
        said = lbk(self.store, "cancel", str(run_id)).stdout
        self.assertIn("asked run", said)
        proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 3)
        run = self.show(run_id)
        self.assertEqual(run["status"], "cancelled")

    def test_a_killed_script_is_interrupted(self):
        proc, run_id, _ = self.start(100000, 0.02)
        wait_for(lambda: self.show(run_id)["last_step"] > 3, what="the run's first steps in the store")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        run = self.show(run_id)
        self.assertEqual(run["status"], "interrupted")
        self.assertIn(f"the worker process {proc.pid}", run["error"])
        self.assertIn("start the script again to train more.", run["error"])  # not `lbk resume`: Labbook cannot
        self.assertGreater(run["last_step"], 3)
        refused = lbk(self.store, "resume", str(run_id), check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("was recorded by a script Labbook did not start", refused.stderr)

    def test_without_lbk_the_journal_waits_in_a_folder_to_be_imported(self):
        folder = temp_dir(self)
        code = ("import labbook\nrun = labbook.init(config={'x': 1}, name='offline', task='multiclass', tags=['tpu'])\n"
                "run.log({'train/loss': 0.5}, step=1)\nrun.finish()\nprint(run.journal_path)\n")
        done = subprocess.run([PYTHON, script(self, code)], env=env(LABBOOK_LBK="", PATH="/nonexistent"), cwd=folder,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("lbk was not found", done.stderr)
        journal = done.stdout.strip()
        self.assertTrue(journal.startswith(os.path.join(folder, "labbook-runs")) or journal.startswith("labbook-runs"))
        journal = os.path.join(folder, journal)
        self.assertEqual(events(journal)[-1]["type"], "finished")
        store = os.path.join(temp_dir(self), "store.db")
        out = lbk_json(store, "record", "--journal", journal)  # the name, task and tags come from the journal
        run = lbk_json(store, "show", str(out["id"]))
        self.assertEqual((run["status"], run["config"]), ("finished", {"x": 1}))
        self.assertEqual((run["name"], run["task"], run["tags"]), ("offline", "multiclass", ["tpu"]))
        self.assertEqual(run["uid"], events(journal)[0]["run"])  # the journal's own run
        self.assertEqual(query(store, "SELECT value FROM metrics WHERE run = ?", out["id"]), [(0.5,)])
        # The same journal again (a longer copy brought back from the VM): the same run takes the new events only
        # (it made a second run of the same events).
        with open(journal, "a", encoding="utf-8") as f:
            last = events(journal)[-1]
            f.write(json.dumps({"seq": last["seq"] + 1, "t": last["t"] + 1, "type": "log", "level": "info",
                                "message": "copied back later"}) + "\n")
        again = lbk_json(store, "record", "--journal", journal)
        self.assertEqual((again["id"], again["new_events"]), (out["id"], 1))
        self.assertEqual(len(lbk_json(store, "runs")), 1)
        self.assertEqual(lbk_json(store, "show", str(out["id"]))["status"], "finished")
        self.assertEqual(lbk_json(store, "record", "--journal", journal)["new_events"], 0)
        lbk_json(store, "record", "--name", "second-look", "--tag", "vm", "--journal", journal)  # options again
        run = lbk_json(store, "show", str(out["id"]))
        self.assertEqual((run["name"], "vm" in run["tags"]), ("second-look", True))
        # A cut copy is refused before it replaces the run's own journal (found by an audit: it was copied first).
        held = os.path.join(run["run_dir"], "journal.jsonl")
        before = open(held, "rb").read()
        cut = os.path.join(temp_dir(self), "cut.jsonl")
        with open(cut, "wb") as f:
            f.write(before[:-20])
        refused = lbk(store, "record", "--journal", cut, check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("shorter than the journal run", refused.stderr)
        self.assertEqual(open(held, "rb").read(), before)
        # Without its end event, the imported run ends at its last metrics, not when it was imported.
        unended = os.path.join(temp_dir(self), "unended.jsonl")
        with open(unended, "w", encoding="utf-8") as f:
            for e in events(journal):
                if e["type"] != "finished":
                    e["run"] = "0123456789ab" if e["type"] == "run_started" else e.get("run")
                    e["t"] -= 3600  # written an hour ago
                    f.write(json.dumps(e) + "\n")
        late = lbk_json(store, "record", "--journal", unended)
        ended = query(store, "SELECT status, ended_at FROM runs WHERE id = ?", late["id"])[0]
        last_metric = query(store, "SELECT max(wall) FROM metrics WHERE run = ?", late["id"])[0][0]
        self.assertEqual((ended[0], ended[1]), ("interrupted", last_metric))
        other = os.path.join(temp_dir(self), "other.db")
        again = lbk_json(other, "record", "--name", "renamed", "--tag", "copy", "--journal", journal)
        run = lbk_json(other, "show", str(again["id"]))
        self.assertEqual((run["name"], run["tags"]), ("renamed", ["copy"]))  # options override the journal

    def test_a_namespace_config_is_the_runs_config(self):
        # Found by an audit: config=args became its str(), which lbk record refused: the run was lost.
        self.store = os.path.join(temp_dir(self), "store.db")
        code = ("import argparse, labbook, sys\nargs = argparse.Namespace(lr=0.1, layers=(2, 3))\n"
                "run = labbook.init(config=args, store=sys.argv[1])\nrun.finish()\nprint(run.store_id)\n")
        done = subprocess.run([PYTHON, script(self, code), self.store], env=env(), capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.show(int(done.stdout))["config"], {"lr": 0.1, "layers": [2, 3]})

    def test_a_failing_lbk_record_writes_the_journal_to_a_folder(self):
        # Found by an audit: the run was lost, and run.main turned false, so rank-0 work gated on it was skipped.
        not_a_store = os.path.join(temp_dir(self), "notes.txt")
        with open(not_a_store, "w") as f:
            f.write("not a database\n")
        code = ("import labbook, sys\nrun = labbook.init(config={'x': 1}, name='fallback', store=sys.argv[1] or None)\n"
                "run.log({'train/loss': 0.5}, step=1)\nrun.finish()\nprint(run.main, run.journal_path)\n")
        for store, extra, said in (("/proc/nope/x.db", {}, "record failed"),
                                   (not_a_store, {}, "record failed"),
                                   ("", {"LABBOOK_LBK": "/nonexistent/lbk"}, "/nonexistent/lbk record")):
            with self.subTest(said=said, store=store):
                folder = temp_dir(self)
                done = subprocess.run([PYTHON, script(self, code), store], env=env(**extra), cwd=folder,
                                      capture_output=True, text=True, timeout=60)
                self.assertEqual(done.returncode, 0, done.stderr)
                main, journal = done.stdout.split()
                self.assertEqual(main, "True")
                self.assertIn(said, done.stderr)
                self.assertIn("the run is written to a folder instead", done.stderr)
                journal = os.path.join(folder, journal)
                # The store the script named, where lbk record failed; not lbk's default store.
                store_option = f"--store {store} " if store else ""
                self.assertIn(f"store it later with `lbk {store_option}record --journal {journal}`", done.stderr)
                self.assertTrue(journal.startswith(os.path.join(folder, "labbook-runs")))
                stored = lbk_json(os.path.join(folder, "store.db"), "record", "--journal", journal)
                self.assertEqual(lbk_json(os.path.join(folder, "store.db"), "show", str(stored["id"]))["status"],
                                 "finished")

    def test_refusals_name_the_problem(self):
        store = os.path.join(temp_dir(self), "store.db")
        for args, message in ((["--pid", "999999999"], "--pid 999999999: no such process"),
                              (["--task", "regression"], "--task regression: allowed are"),
                              (["--journal", "/no/such.jsonl"], "--journal /no/such.jsonl: no such file")):
            with self.subTest(message=message):
                done = lbk(store, "record", *args, check=False)
                self.assertEqual(done.returncode, 2)
                self.assertIn(message, done.stderr)


    def test_what_is_no_journal_or_not_this_runs_is_refused(self):
        # Found by an audit: a file of no events became an interrupted run named "python", and another run's
        # journal with the same uid replaced the one the store held.
        folder = temp_dir(self)
        store = os.path.join(folder, "store.db")
        files = {}
        for name, lines in (("garbage", ["garbage"]), ("empty", []),
                            ("a", ['{"seq":1,"type":"run_started","run":"abcdef012345","name":"a"}',
                                   '{"seq":2,"type":"metrics","step":1,"values":{"val/accuracy":0.5}}',
                                   "this is not json", '{"seq":3,"type":"finished","step":1}']),
                            ("b", ['{"seq":1,"type":"run_started","run":"abcdef012345","name":"b"}',
                                   '{"seq":2,"type":"metrics","step":1,"values":{"val/accuracy":0.9}}',
                                   '{"seq":3,"type":"log","message":"a line that makes this copy the longer one"}',
                                   '{"seq":4,"type":"finished","step":1}'])):
            files[name] = os.path.join(folder, name + ".jsonl")
            with open(files[name], "w") as f:
                f.write("".join(line + "\n" for line in lines))
        for name in ("garbage", "empty"):
            done = lbk(store, "record", "--journal", files[name], check=False)
            self.assertEqual(done.returncode, 2)
            self.assertIn("none of its first lines is a Labbook event", done.stderr)
        done = lbk(store, "record", "--journal", files["a"])
        self.assertIn("1 line of", done.stderr)
        self.assertIn("is not a JSON object (bad JSON at column 2", done.stderr)
        self.assertIn("this is not json", done.stderr)  # the skipped line, where a user looks
        self.assertEqual(len(lbk_json(store, "runs")), 1)
        held = os.path.join(folder, "store.runs", "abcdef012345", "journal.jsonl")
        with open(held) as f:
            before = f.read()
        done = lbk(store, "record", "--journal", files["b"], check=False)
        self.assertEqual(done.returncode, 2)
        self.assertIn("does not continue the journal run 1 holds", done.stderr)
        with open(held) as f:
            self.assertEqual(f.read(), before)
        shown = lbk_json(store, "show", "1")
        self.assertEqual(shown["name"], "a")
        self.assertEqual(len(shown["warnings"]), 1)  # the skipped line, where show's reader looks later
        self.assertIn("this is not json", shown["warnings"][0])
        self.assertIn("1 warning\n", lbk(store, "show", "1").stdout)
        self.assertEqual(shown["summary"]["best"]["val/accuracy"], 0.5)  # a logged val metric makes the summary

    def test_a_journal_without_run_started_recorded_twice_is_one_run(self):
        # Found in a review: a journal that names no run uid (a trainer writing no run_started) became a new run at
        # each `lbk record --journal`, its curve twice in the list and in every comparison.
        folder = temp_dir(self)
        store, journal = os.path.join(folder, "store.db"), os.path.join(folder, "plain.jsonl")
        with open(journal, "w") as f:
            f.write('{"seq":1,"type":"metrics","step":1,"values":{"train/loss":2.0}}\n')
        first = lbk_json(store, "record", "--journal", journal)
        with open(journal, "a") as f:
            f.write('{"seq":2,"type":"metrics","step":2,"values":{"train/loss":1.5}}\n')
        again = lbk(store, "record", "--journal", journal)
        self.assertIn(f"run {first['id']} (", again.stdout)
        self.assertIn("holds this journal already: 1 new events stored", again.stdout)
        self.assertEqual(len(lbk_json(store, "runs")), 1)
        elsewhere = os.path.join(folder, "other.jsonl")  # another file is another run, whatever it holds
        shutil.copy(journal, elsewhere)
        self.assertNotEqual(lbk_json(store, "record", "--journal", elsewhere)["id"], first["id"])


    def test_a_multilabel_runs_predictions_list_every_predicted_label(self):
        # Found by an audit: lbk predictions showed the first of a multi-label row's predicted labels only.
        folder = temp_dir(self)
        journal, store = os.path.join(folder, "ml.jsonl"), os.path.join(folder, "store.db")
        code = ("import labbook, sys\nrun = labbook.init(journal=sys.argv[1], name='ml', task='multilabel')\n"
                "run.evaluation('val', step=1, labels=['a', 'b', 'c'], task='multilabel', truth=[[0, 1], [2]],\n"
                "               probs=[[0.9, 0.8, 0.1], [0.6, 0.2, 0.3]], ids=['w', 'z'], titles=['W', 'Z'])\n"
                "run.finish()\n")
        done = subprocess.run([PYTHON, script(self, code), journal], env=env(), capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        stored = lbk_json(store, "record", "--journal", journal)
        table = lbk(store, "predictions", str(stored["id"])).stdout
        rows = {line.split()[1]: line.split() for line in table.splitlines()[2:]}
        self.assertEqual(rows["w"][:5], ["ok", "w", "a", "b", "a"])  # truth a b, predicted a b
        self.assertEqual(rows["w"][5], "b")
        self.assertEqual(rows["z"][:4], ["XX", "z", "c", "a"])


    def test_show_gives_a_scripts_rate_suggestion_and_says_what_it_did_not_record(self):
        folder = temp_dir(self)
        journal, store = os.path.join(folder, "lr.jsonl"), os.path.join(folder, "store.db")
        with open(journal, "w") as f:
            f.write('{"seq":1,"type":"run_started","run":"0123456789ab","name":"lr"}\n'
                    '{"seq":2,"type":"lr_suggestion","lr":0.0125,"index":3,"method":"steepest"}\n'
                    '{"seq":3,"type":"finished","step":4}\n')
        run = str(lbk_json(store, "record", "--journal", journal)["id"])
        self.assertIn("suggested learning rate (its LR range test): 0.0125", lbk(store, "show", run).stdout)
        done = lbk(store, "predictions", run, "--split", "test", check=False)
        self.assertIn(f"run {run} recorded no test predictions", done.stderr)  # not "yet": it has ended


    def test_an_unnamed_run_is_named_after_its_script_and_show_lists_what_it_left(self):
        store = os.path.join(temp_dir(self), "store.db")
        code = ("import labbook, sys\n"
                "run = labbook.init(config={'lr': 0.1}, store=sys.argv[1], data={'examples': 40, 'classes': 2})\n"
                "run.log({'train/loss': 0.5}, step=1)\n"
                "run.artifact(__file__, kind='model')\n"
                "run.finish({'best_model': 'resnet', 'epochs_run': 3})\n")
        path = script(self, code)  # script.py
        subprocess.run([PYTHON, path, store], env=env(), check=True, capture_output=True, timeout=120)
        run = lbk_json(store, "show", "1")
        self.assertEqual((run["name"], run["experiment"]), ("script", "script"))
        shown = lbk(store, "show", "1").stdout
        self.assertIn("data: 40 examples in 2 classes", shown)
        self.assertRegex(shown, r"\nOther summary values\nKEY +VALUE\nbest_model +resnet\n")
        self.assertRegex(shown, r"\nepochs_run +3 ")  # a number is a final metric
        self.assertRegex(shown, r"\nArtifacts .*\nKIND +STEP +PATH\nmodel +1 +" + re.escape(path) + "\n")

    def test_lbk_edit_renames_tags_and_notes_a_run(self):
        proc, run_id, _ = self.start(2, 0)
        proc.communicate(timeout=60)
        said = lbk(self.store, "edit", str(run_id), "--name", " tried ", "--tag", "c, a", "--tag", "d",
                   "--notes", "lr from the range test").stdout
        self.assertIn(f"run {run_id}: tried   tags: a,b,c,d", said)
        lbk(self.store, "edit", "tried", "--untag", "a, d")
        run = self.show(run_id)
        self.assertEqual((run["name"], run["tags"], run["notes"]), ("tried", ["b", "c"], "lr from the range test"))
        lbk(self.store, "edit", str(run_id), "--notes", "")
        self.assertEqual(self.show(run_id)["notes"], "")
        for args, message in (([], "say what to change"), (["--name", " "], "--name cannot be blank"),
                              (["--name", "12"], "lbk reads as a run's id")):
            done = lbk(self.store, "edit", str(run_id), *args, check=False)
            self.assertEqual((done.returncode, message in done.stderr), (2, True), done.stderr)

    def test_a_name_several_runs_have_picks_the_latest_and_says_so(self):
        folder = temp_dir(self)
        store = os.path.join(folder, "store.db")
        for uid in ("0123456789aa", "0123456789bb"):  # a sweep run again under its name gives its trials' names twice
            journal = os.path.join(folder, uid + ".jsonl")
            with open(journal, "w") as f:
                f.write(f'{{"seq":1,"type":"run_started","run":"{uid}","name":"twin"}}\n'
                        '{"seq":2,"type":"finished","step":1}\n')
            lbk(store, "record", "--journal", journal)
        shown = lbk(store, "show", "twin")
        self.assertTrue(shown.stdout.startswith("Run 2 "), shown.stdout)
        self.assertIn("twin: the latest training run of that name, run 2 (also 1: give an id for another)", shown.stderr)
        self.assertNotIn("note", lbk(store, "show", "2").stderr)  # an id is that run

    def test_compare_tells_a_missing_key_from_a_null(self):
        folder = temp_dir(self)
        store = os.path.join(folder, "store.db")
        ids = []
        for uid, config in (("0123456789aa", '{"note": null, "batch": 3}'), ("0123456789bb", '{"note": "x"}')):
            journal = os.path.join(folder, uid + ".jsonl")
            with open(journal, "w") as f:
                f.write(f'{{"seq":1,"type":"run_started","run":"{uid}","config":{config}}}\n'
                        '{"seq":2,"type":"finished","step":1}\n')
            ids.append(str(lbk_json(store, "record", "--journal", journal)["id"]))
        table = lbk(store, "compare", *ids).stdout
        rows = {line.split()[0]: line.split()[1:] for line in table.splitlines() if line.strip()}
        self.assertEqual(rows["note"], ["null", "x"])
        self.assertEqual(rows["batch"], ["3", "(absent)"])


if __name__ == "__main__":
    unittest.main()
