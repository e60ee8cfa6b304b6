"""What the Python tests share: where things are (set by tests/python/CMakeLists.txt, with fallbacks for a run
by hand from the checkout), running lbk, reading journals and stores, waiting for a condition."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("LABBOOK_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("LABBOOK_BIN_DIR") or os.path.join(SOURCE, "build", "bin")
# LABBOOK_TEST_LBK: another lbk than the build's (one built elsewhere while build/ is busy).
LBK = os.environ.get("LABBOOK_TEST_LBK") or os.environ.get("LABBOOK_LBK") or os.path.join(BIN, "lbk")
DATA = os.environ.get("LABBOOK_DATA") or os.path.abspath(os.path.join(SOURCE, "..", "shared", "data"))
PYTHON = sys.executable
sys.path.insert(0, os.path.join(SOURCE, "python"))


def has_torch():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


needs_torch = unittest.skipUnless(has_torch(), "torch is not installed for this Python (Debian: python3-torch)")
needs_lbk = unittest.skipUnless(os.access(LBK, os.X_OK), f"no lbk at {LBK} (build it first)")


def env(**extra):
    e = dict(os.environ)
    e["PYTHONPATH"] = os.path.join(SOURCE, "python") + os.pathsep + e.get("PYTHONPATH", "")
    e["LABBOOK_LBK"] = LBK
    e["LABBOOK_DATA"] = DATA
    if os.access(os.path.join(BIN, "lbk-engine"), os.X_OK):  # the build's, whichever lbk runs
        e.setdefault("LABBOOK_ENGINE", os.path.join(BIN, "lbk-engine"))
    for k in ("LABBOOK_RUN_DIR", "LABBOOK_RUN_UID", "LABBOOK_RUN_NAME", "RANK", "LOCAL_RANK", "SLURM_PROCID"):
        e.pop(k, None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def temp_dir(test):
    base = os.environ.get("LABBOOK_TEST_TMP")
    if base:
        os.makedirs(base, exist_ok=True)
    d = tempfile.TemporaryDirectory(prefix="py-", dir=base)
    test.addCleanup(d.cleanup)
    return d.name


def lbk(store, *args, check=True, **kw):
    done = subprocess.run([LBK, "--store", store, *args], capture_output=True, text=True, env=env(), timeout=300,
                          **kw)
    if check and done.returncode != 0:
        raise AssertionError(f"lbk {' '.join(args)} exited {done.returncode}: {done.stderr}{done.stdout}")
    return done


def lbk_json(store, *args):
    return json.loads(lbk(store, "--json", *args).stdout)


def events(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def query(store, sql, *params):
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return db.execute(sql, params).fetchall()


def wait_for(condition, timeout=60, every=0.1, what="the condition"):
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def script(test, text):
    """A Python script file in a temp folder, for a child process."""
    path = os.path.join(temp_dir(test), "script.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path
