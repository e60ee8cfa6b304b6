"""The package installs with pip into a virtual environment from the checkout alone (no package index: the
build backend is the package's own), and the installed copy records a run."""
import os
import subprocess
import unittest

from support import PYTHON, SOURCE, events, temp_dir


class InstallTest(unittest.TestCase):
    def venv_with(self, *pip_args):
        venv = os.path.join(temp_dir(self), "venv")
        made = subprocess.run([PYTHON, "-m", "venv", venv], capture_output=True, text=True, timeout=120)
        if made.returncode != 0:
            self.skipTest(f"this Python cannot make a venv with pip: {made.stderr.strip()[-200:]}")
        pip = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--no-index", *pip_args,
                              os.path.join(SOURCE, "python")], capture_output=True, text=True, timeout=300)
        self.assertEqual(pip.returncode, 0, pip.stdout + pip.stderr)
        return venv

    # Found by an audit: `pip install -e python/` failed ("build backend is missing the 'build_editable' hook").
    def test_pip_install_editable(self):
        venv = self.venv_with("-e")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run([os.path.join(venv, "bin", "python"), "-c", "import labbook; print(labbook.__file__)"],
                              capture_output=True, text=True, cwd=venv, env=env, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(os.path.realpath(done.stdout.strip()),
                         os.path.realpath(os.path.join(SOURCE, "python", "labbook", "__init__.py")))

    def test_pip_install_offline_into_a_venv(self):
        venv = self.venv_with()
        journal = os.path.join(temp_dir(self), "journal.jsonl")
        code = ("import labbook, sys; run = labbook.init(journal=sys.argv[1]); run.log({'x': 1.0}, step=1); "
                "run.finish(); print(labbook.__file__)")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run([os.path.join(venv, "bin", "python"), "-c", code, journal], capture_output=True,
                              text=True, cwd=venv, env=env, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(done.stdout.strip().startswith(venv), done.stdout)
        self.assertEqual([e["type"] for e in events(journal)], ["run_started", "metrics", "finished"])


if __name__ == "__main__":
    unittest.main()
