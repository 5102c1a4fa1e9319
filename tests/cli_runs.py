"""Shared by the tests: run a `python -m` command of the suite the way a user would."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(module, *args, timeout=120):
  """Runs `python -m module args...` from the repository root; returns the CompletedProcess."""
  return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                        env=dict(os.environ, PYTHONPATH=ROOT), timeout=timeout, cwd=ROOT)


def assert_usage_error(proc):
  """Exit code 2 and exactly one `error:` line."""
  assert proc.returncode == 2, proc.stderr
  assert len([l for l in proc.stderr.splitlines() if l.startswith("error:")]) == 1, proc.stderr
