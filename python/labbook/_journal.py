"""Appending events to a run's journal: one JSON object a line, each line handed to the kernel in one write.

The format is docs/PROTOCOL.md's. As the C++ worker's JournalWriter does, a journal that already holds events
continues their numbering (a resumed run), a torn last line is closed first, and a second writer on the same
journal is refused (an flock held while the file is open). A line this writer could only write in part (a full
disk) is cut off again, or, where the file cannot be cut, ended by the next line's leading newline: either way
the next event is a line of its own once the disk takes writes again.
"""
import errno
import json
import os
import threading
import time

try:
    import fcntl
except ImportError:  # Windows: no second-writer check there
    fcntl = None

FINAL_TYPES = ("finished", "failed", "cancelled")
# One encoder for every line: json.dumps with options builds a new one per call, a third of a log() call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class JournalError(Exception):
    """The journal cannot be opened for writing; the message names the file and what to do."""


def last_seq(path, tail=64 * 1024):
    """The highest seq among the journal's complete lines, reading only its end (0 for a missing file)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            while True:
                start = max(0, size - tail)
                f.seek(start)
                lines = f.read(size - start).split(b"\n")[:-1]  # the last piece is incomplete or empty
                if start > 0:
                    lines = lines[1:]  # may begin before this tail
                for line in reversed(lines):
                    try:
                        seq = json.loads(line).get("seq")
                    except (ValueError, AttributeError):
                        continue
                    if isinstance(seq, int):
                        return seq
                if start == 0:
                    return 0
                tail *= 4
    except FileNotFoundError:
        return 0


class Journal:
    """An open journal. emit() returns False (and remembers why in .error) when a write fails."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.error = None
        self._lock = threading.Lock()
        self._torn = False   # a partial line is left at the end: the next line starts with a newline
        # Set on a thread from before it takes the lock until after it lets it go: a signal handler that runs on it
        # meanwhile (Python runs handlers on the main thread between two steps) must not emit, as the lock is not
        # reentrant and the line being written would be cut in two.
        self._inside = threading.local()
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
            self._fd = os.open(self.path, flags, 0o600)
        except (FileExistsError, NotADirectoryError):
            raise JournalError(f"{self.path}: cannot open the run journal for writing: a file is in the way of its "
                               "folder (some part of the path is a file, not a folder)") from None
        except OSError as e:
            raise JournalError(f"{self.path}: cannot open the run journal for writing: {e.strerror}; "
                               "check that the folder exists and is writable") from None
        self._lock_file()
        self.seq = last_seq(self.path)
        self._close_torn_line()

    def _lock_file(self):
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(self._fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise JournalError(f"{self.path}: another process is writing this run's journal; is the run "
                                   "already running (a second labbook.init, or a second process of the job)?") from None
            raise JournalError(f"{self.path}: cannot lock the run journal: {e.strerror}") from None

    def _close_torn_line(self):
        # A writer killed mid-line leaves it without its newline; the first event closes it (a full disk here
        # must not fail the open), so it stays one bad line.
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        with open(self.path, "rb") as f:
            f.seek(size - 1)
            self._torn = f.read(1) != b"\n"

    def _write_line(self, data):
        """Writes one whole line or, failing, leaves none of it (see _cut) and raises."""
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, data[written:])
        except OSError:
            if written:
                self._cut(written)
            raise

    def _cut(self, count):
        """Removes the `count` bytes of a line written in part, so the journal ends with its last whole line."""
        try:
            os.ftruncate(self._fd, os.fstat(self._fd).st_size - count)
        except OSError:  # not a regular file, or not ours to cut: the next line closes this one instead
            self._torn = True

    def emit(self, type_, fields):
        """Writes {"seq", "t", "type", **fields}; final events are also fsync'ed. Values must be JSON already."""
        self._inside.emitting = True
        try:
            return self._emit_locked(type_, fields)
        finally:
            self._inside.emitting = False

    def _emit_locked(self, type_, fields):
        with self._lock:
            event = {"seq": self.seq + 1, "t": time.time(), "type": type_}
            event.update(fields)
            try:
                line = ("\n" if self._torn else "") + _ENCODER.encode(event) + "\n"
                self._write_line(line.encode("utf-8", "replace"))
                self._torn = False
                self.seq += 1  # the line is in the file; its seq is used even if the fsync below fails
                if type_ in FINAL_TYPES:
                    os.fsync(self._fd)
            except (OSError, ValueError, TypeError) as e:
                self.error = f"{self.path}: cannot write a {type_} event: {getattr(e, 'strerror', None) or e}"
                return False
            return True

    def writing_here(self):
        """True inside emit() on this thread (a signal handler that interrupted a write, or its wait for the lock)."""
        return getattr(self._inside, "emitting", False)

    def close(self):
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1
