"""Kill anywhere, lose nothing (bounded): bench/fault_injection.py with two SIGKILLs, one at a random
moment and one aimed at a checkpoint write. The full report (20 kills) comes from running the script
itself; see bench/results/fault_injection.json."""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fault_injection():
  spec = importlib.util.spec_from_file_location(
      "fault_injection", os.path.join(ROOT, "bench", "fault_injection.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_killed_runs_resume_and_end_with_the_uninterrupted_weights(tmp_path):
  report = _fault_injection().run_trials(kills=2, steps=100, save_every=5, log_every=5,
                                         window=0.5, seed=1, root=str(tmp_path), verbose=False)
  summary = {k: v for k, v in report.items() if k not in ("trials", "machine")}
  assert report["kills"] == 2, summary
  assert report["clean_resumes"] == 2, report["trials"]
  assert report["unreadable_checkpoints_after_any_kill"] == 0, report["trials"]
  assert report["final_run"] == {"returncode": 0, "reached_last_step": True, "traceback": False}
  assert report["final_checkpoints_unreadable"] == {}
  assert report["comparison"]["tensors_compared"] > 20, report["comparison"]
  assert report["final_weights_identical_to_uninterrupted_run"], report["comparison"]
  assert report["passed"]
