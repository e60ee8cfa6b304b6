"""The journal writer: docs/PROTOCOL.md's lines, the C++ writer's rules for resumed and torn journals, one
writer at a time, and a write failure that never reaches the training script."""
import io
import json
import os
import unittest
from contextlib import redirect_stderr

import support  # noqa: F401  (puts python/ on the path)
from support import events, temp_dir

import labbook
from labbook._journal import Journal, JournalError, last_seq


class JournalTest(unittest.TestCase):
    def test_lines_are_events_numbered_from_one(self):
        path = os.path.join(temp_dir(self), "j.jsonl")
        j = Journal(path)
        self.assertTrue(j.emit("metrics", {"step": 1, "values": {"train/loss": 0.5}}))
        self.assertTrue(j.emit("finished", {"step": 1, "summary": {}}))
        j.close()
        got = events(path)
        self.assertEqual([e["seq"] for e in got], [1, 2])
        self.assertEqual(got[0]["type"], "metrics")
        self.assertIsInstance(got[0]["t"], float)
        self.assertEqual(oct(os.stat(path).st_mode & 0o777), "0o600")

    def test_reopened_journal_continues_numbering_and_closes_a_torn_line(self):
        path = os.path.join(temp_dir(self), "j.jsonl")
        with open(path, "w") as f:
            f.write('{"seq": 1, "t": 1, "type": "log"}\n{"seq": 2, "t": 1, "type": "log"}\n{"seq": 3, "t"')
        self.assertEqual(last_seq(path), 2)
        j = Journal(path)
        j.emit("log", {"level": "info", "message": "again"})
        j.close()
        lines = open(path).read().splitlines()
        self.assertEqual(lines[2], '{"seq": 3, "t"')  # stays one malformed line
        self.assertEqual(json.loads(lines[3])["seq"], 3)

    def test_second_writer_is_refused_with_a_reason(self):
        path = os.path.join(temp_dir(self), "j.jsonl")
        first = Journal(path)
        with self.assertRaises(JournalError) as caught:
            Journal(path)
        self.assertIn("another process is writing", str(caught.exception))
        self.assertIn(path, str(caught.exception))
        first.close()
        Journal(path).close()  # free again

    def test_unwritable_place_is_a_warning_and_a_silent_run(self):
        not_a_folder = os.path.join(temp_dir(self), "file")
        open(not_a_folder, "w").close()
        journal = os.path.join(not_a_folder, "journal.jsonl")
        err = io.StringIO()
        with redirect_stderr(err):
            run = labbook.init(journal=journal)
            run.log({"train/loss": 1.0}, step=1)
            run.finish()
        self.assertFalse(run.main)
        self.assertIn(f"{journal}: cannot open the run journal for writing", err.getvalue())
        self.assertIn("the training goes on", err.getvalue())

    def test_a_full_disk_stops_the_record_not_the_training(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full here")
        err = io.StringIO()
        with redirect_stderr(err):
            run = labbook.init(journal="/dev/full", strict=True)
            for step in range(3):
                run.log({"train/loss": 1.0}, step=step)
        self.assertIn("/dev/full: cannot write a run_started event", err.getvalue())
        self.assertEqual(err.getvalue().count("labbook:"), 1)
        run._journal.close()

    def test_strict_init_raises_instead(self):
        with self.assertRaises(JournalError):
            labbook.init(journal="/proc/no/such/journal.jsonl", strict=True)


if __name__ == "__main__":
    unittest.main()
