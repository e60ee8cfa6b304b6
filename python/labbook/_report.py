"""How the recorder tells the person running the script that something was not recorded: one line on
standard error, each distinct problem once per run, prefixed with "labbook:". The training itself always goes
on."""
import sys

_said = set()


def begin_run():
    """A new run starts: what an earlier run of this process said is said again, for this run's record."""
    _said.clear()


def warn(message, key=None):
    key = key or message
    if key in _said:
        return
    _said.add(key)
    try:
        print(f"labbook: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed: nothing left to tell
        pass
