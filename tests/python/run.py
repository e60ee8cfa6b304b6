"""Runs one test file under CTest: exit 0 when its tests pass, 77 (CTest's SKIP_RETURN_CODE here) when every
test was skipped (a framework that is not installed; the reasons are printed), 1 when one failed."""
import importlib.util
import os
import sys
import unittest

path = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.dirname(path))
spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
suite = unittest.defaultTestLoader.loadTestsFromModule(module)
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
if not result.wasSuccessful():
    sys.exit(1)
if result.testsRun and len(result.skipped) == result.testsRun:
    for test, reason in result.skipped:
        print(f"SKIPPED {test.id()}: {reason}")
    sys.exit(77)
