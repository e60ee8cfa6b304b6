"""The journal writer: docs/PROTOCOL.md's lines, the C++ writer's rules for resumed and torn journals, one
writer at a time, and a write failure that never reaches the training script."""
import errno
import io
import json
import os
import unittest
from contextlib import nullcontext, redirect_stderr
from unittest import mock

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
        self.assertTrue(run.main)  # still the job's main process: rank-0 work gated on it goes on
        self.assertIsNone(run._journal)
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

    def full_disk_mid_line(self, cut_fails=False):
        """A journal whose next event's line is cut short by a full disk, then one written after space returns."""
        path = os.path.join(temp_dir(self), "j.jsonl")
        err = io.StringIO()
        with redirect_stderr(err):
            run = labbook.init(journal=path)
            run.log({"train/loss": 1.0}, step=1)
            real_write, written = os.write, []

            def disk_fills(fd, data):  # the first write goes half way, as on a disk that fills during it
                if written:
                    raise OSError(errno.ENOSPC, "No space left on device")
                written.append(len(data))
                return real_write(fd, bytes(data[:len(data) // 2]))

            cut = mock.patch("os.ftruncate", side_effect=OSError(errno.EINVAL, "Invalid argument"))
            with mock.patch("os.write", disk_fills), cut if cut_fails else nullcontext():
                run.log({"train/loss": 0.9}, step=2)
                run.log({"train/loss": 0.8}, step=3)
            run.log({"train/loss": 0.7}, step=4)
            run.finish()
        return path, err.getvalue()

    def test_a_line_cut_short_by_a_full_disk_is_cut_off(self):
        # Found by an audit: the torn line stayed, the next event was glued to it and lost with it.
        path, said = self.full_disk_mid_line()
        got = events(path)  # every line is whole JSON
        self.assertEqual([e["step"] for e in got if e["type"] == "metrics"], [1, 4])
        self.assertEqual([e["seq"] for e in got], list(range(1, len(got) + 1)))
        self.assertIn("j.jsonl: cannot write a metrics event: No space left on device; events are left out of the "
                      "run's record until the journal takes writes again", said)
        self.assertNotIn("stops here", said)
        logs = [e["message"] for e in got if e["type"] == "log"]
        self.assertEqual(len(logs), 1)
        self.assertIn("the journal takes writes again; 2 earlier event(s) could not be written", logs[0])

    def test_a_torn_line_that_cannot_be_cut_stays_one_bad_line(self):
        path, _ = self.full_disk_mid_line(cut_fails=True)
        lines = open(path, encoding="utf-8").read().splitlines()
        bad = [line for line in lines if not line.endswith("}")]
        self.assertEqual(len(bad), 1)  # the half line, alone
        steps = [json.loads(line).get("step") for line in lines if line not in bad]
        self.assertIn(4, steps)

    def test_a_full_disk_when_a_torn_journal_is_reopened_is_no_exception(self):
        # Closing the torn line at open wrote a newline there, and its ENOSPC escaped labbook.init().
        path = os.path.join(temp_dir(self), "j.jsonl")
        with open(path, "w") as f:
            f.write('{"seq": 1, "t": 1, "type": "log"}\n{"seq": 2, "t"')
        with redirect_stderr(io.StringIO()) as err, \
                mock.patch("os.write", side_effect=OSError(errno.ENOSPC, "No space left on device")):
            run = labbook.init(journal=path)
        self.assertIn("cannot write a run_started event: No space left on device", err.getvalue())
        with redirect_stderr(io.StringIO()):
            run.log({"train/loss": 0.5}, step=1)  # space again
        run.finish()
        lines = open(path).read().splitlines()
        self.assertEqual(lines[1], '{"seq": 2, "t"')  # one bad line of its own
        self.assertEqual([json.loads(line)["type"] for line in lines[2:]], ["metrics", "log", "finished"])

    def test_strict_init_raises_instead(self):
        with self.assertRaises(JournalError):
            labbook.init(journal="/proc/no/such/journal.jsonl", strict=True)


if __name__ == "__main__":
    unittest.main()
