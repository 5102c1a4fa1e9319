"""Kill anywhere, lose nothing: SIGKILL a training run at random moments, restart it, compare.

    .venv/bin/python bench/fault_injection.py                      # 20 kills, the full report
    .venv/bin/python bench/fault_injection.py --kills=3 --steps=300 --out=/tmp/f.json

What it does:
  1. starts an uninterrupted reference run (`python -m repro.papers.wgan --dataset=8gaussians
     --variant=gp --deterministic`, a small MLP via --net) in its own workdir;
  2. at the same time runs the same command in a second workdir and SIGKILLs it `--kills` times,
     restarting it with the same --workdir after each kill. Kill moments alternate between
       random       a uniformly random moment in the first `--window` seconds after the process has
                    started training (or resumed), and
       during_save  the moment a checkpoint write is seen in progress (TensorFlow's `ckpt-N_temp/`
                    or `*.tempstate*` files appear), polled every ~0.5 ms;
  3. after every kill checks that every checkpoint in the folder reads back intact (every tensor,
     crc32c-checked) and counts kills that left an unfinished write behind (proof the kill landed
     inside a checkpoint write);
  4. checks that every restart resumes cleanly: "resumed from .../ckpt-M at step M" where M is the
     newest checkpoint on disk at the kill, and no traceback;
  5. lets the last restart finish and compares every tensor of its final checkpoint with the
     reference run's (bitwise; the iterator state, a variant, is compared through the weights it
     leads to).

Prints a summary and writes the JSON report (default bench/results/fault_injection.json).
tests/test_reliability_fault.py runs the same code with a few kills.
"""

import argparse
import glob
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from repro.errors import quiet_tensorflow_import  # pylint: disable=g-import-not-at-top,wrong-import-position

quiet_tensorflow_import()

MODEL = '{"hidden": [64, 64]}'
_RESUMED = re.compile(r"^resumed from (\S+) at step (\d+)", re.M)
_STEP_LINE = re.compile(r"^step (\d+)/(\d+)", re.M)


def command(workdir, steps, save_every, log_every):
  return [sys.executable, "-m", "repro.papers.wgan", "--dataset=8gaussians", "--variant=gp",
          "--deterministic", "--seed=0", f"--net={MODEL}", "--batch_size=64", "--n_critic=2",
          f"--steps={steps}", f"--save_every={save_every}", f"--log_every={log_every}",
          f"--eval_every={10 * steps}", f"--workdir={workdir}"]


def _env():
  env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
  env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
  return env


class Run:
  """One training process with its stdout/stderr in files."""

  def __init__(self, cmd, log_prefix):
    self.out_path, self.err_path = log_prefix + ".out", log_prefix + ".err"
    self._out, self._err = open(self.out_path, "w"), open(self.err_path, "w")
    self.started = time.time()
    self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._out, stderr=self._err, env=_env())

  def stdout(self):
    with open(self.out_path) as f:
      return f.read()

  def stderr(self):
    with open(self.err_path) as f:
      return f.read()

  def alive(self):
    return self.proc.poll() is None

  def kill(self):
    self.proc.send_signal(signal.SIGKILL)
    self.proc.wait()
    self.close()

  def wait(self, timeout):
    try:
      self.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
      self.proc.kill()
      self.proc.wait()
      raise
    finally:
      self.close()
    return self.proc.returncode

  def close(self):
    self._out.close()
    self._err.close()


def checkpoint_steps(ckpt_dir):
  return sorted(int(m.group(1)) for m in (re.search(r"ckpt-(\d+)\.index$", p) for p in
                                          glob.glob(os.path.join(ckpt_dir, "ckpt-*.index"))) if m)


def unfinished_writes(ckpt_dir):
  return sorted(os.path.basename(p) for p in glob.glob(os.path.join(ckpt_dir, "*_temp"))
                + glob.glob(os.path.join(ckpt_dir, "*.tempstate*")))


def _write_in_progress(ckpt_dir):
  try:
    names = os.listdir(ckpt_dir)
  except OSError:
    return False
  return any(n.endswith("_temp") or ".tempstate" in n for n in names)


def readable_checkpoints(ckpt_dir):
  """(steps that read back intact, {step: error} of those that do not)."""
  from repro.train.checkpoints import validate_checkpoint  # pylint: disable=g-import-not-at-top
  ok, bad = [], {}
  for step in checkpoint_steps(ckpt_dir):
    try:
      validate_checkpoint(os.path.join(ckpt_dir, f"ckpt-{step}"))
      ok.append(step)
    except Exception as e:  # pylint: disable=broad-except
      bad[step] = " ".join(str(e).split())[:200]
  return ok, bad


def compare_checkpoints(a, b):
  """Bitwise comparison of every numeric tensor of two checkpoints (save_counter excepted)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  ra, rb = tf.train.load_checkpoint(a), tf.train.load_checkpoint(b)
  da, db = ra.get_variable_to_dtype_map(), rb.get_variable_to_dtype_map()
  keys = sorted(k for k, d in da.items() if d not in (tf.string, tf.variant)
                and not k.startswith("save_counter") and k != "_CHECKPOINTABLE_OBJECT_GRAPH")
  missing = sorted(set(keys) - set(db))
  max_diff, differing = 0.0, []
  for k in keys:
    if k in missing:
      continue
    x, y = ra.get_tensor(k), rb.get_tensor(k)
    if x.shape != y.shape:
      differing.append(k)
      continue
    same = np.array_equal(x, y, equal_nan=True)
    if not same:
      differing.append(k)
      if x.dtype.kind == "f":
        max_diff = max(max_diff, float(np.nanmax(np.abs(x.astype(np.float64) - y))))
  return {"tensors_compared": len(keys) - len(missing), "missing": missing,
          "differing": differing, "max_abs_diff": max_diff,
          "identical": not missing and not differing}


def _wait_until_training(run, resumed_before, timeout):
  """Waits until `run` has resumed (or, on a fresh start, logged a step). Returns the resume step
  it printed (None for a fresh start), or raises TimeoutError / RuntimeError if it ended."""
  deadline = time.time() + timeout
  while time.time() < deadline:
    out = run.stdout()
    m = _RESUMED.search(out)
    if m:
      return int(m.group(2))
    if resumed_before is None and _STEP_LINE.search(out):
      return None
    if not run.alive():
      raise RuntimeError(f"exited with {run.proc.returncode} before training: {run.stderr()[-500:]}")
    time.sleep(0.02)
  raise TimeoutError(f"no progress within {timeout} s")


def run_trials(kills=20, steps=4000, save_every=5, log_every=5, window=3.0, seed=0,
               root=None, start_timeout=600, finish_timeout=1800, verbose=True):
  """Runs the experiment; returns the report dict."""
  rng = random.Random(seed)
  root = root or tempfile.mkdtemp(prefix="fault_injection_")
  ref_dir, chain_dir = os.path.join(root, "reference"), os.path.join(root, "killed")
  ckpt_dir = os.path.join(chain_dir, "checkpoints")
  logs = os.path.join(root, "logs")
  os.makedirs(logs, exist_ok=True)
  say = print if verbose else (lambda *a, **k: None)
  t0 = time.time()
  reference = Run(command(ref_dir, steps, save_every, log_every), os.path.join(logs, "reference"))
  trials, clean_resumes, expected_resume = [], 0, None
  i = 0
  while True:
    run = Run(command(chain_dir, steps, save_every, log_every), os.path.join(logs, f"run{i:02d}"))
    trial = {"run": i}
    if i > 0:   # the resume of the previous kill
      try:
        resumed_at = _wait_until_training(run, expected_resume, start_timeout)
      except (RuntimeError, TimeoutError) as e:
        trial["error"] = str(e)
        trials.append(trial)
        run.kill() if run.alive() else run.close()
        break
      ok = (resumed_at == expected_resume and "Traceback" not in run.stderr())
      clean_resumes += ok
      trials[-1].update(resumed_at=resumed_at, clean_resume=ok)
      if not ok:
        say(f"  restart {i}: resumed at {resumed_at}, expected {expected_resume}")
    else:
      try:
        _wait_until_training(run, None, start_timeout)
      except (RuntimeError, TimeoutError) as e:
        trial["error"] = str(e)
        trials.append(trial)
        break
    if len([t for t in trials if "killed_after_s" in t]) >= kills:
      break   # this run is the last one: let it finish
    mode = "during_save" if i % 2 else "random"
    trial["mode"] = mode
    ready = time.time()
    if mode == "random":
      deadline = ready + rng.uniform(0.0, window)
      while time.time() < deadline and run.alive():
        time.sleep(0.005)
    else:
      deadline = ready + 3 * window
      while time.time() < deadline and run.alive() and not _write_in_progress(ckpt_dir):
        time.sleep(0.0005)
    if not run.alive():
      trial["finished_before_kill"] = True
      trials.append(trial)
      run.close()
      say(f"  run {i} finished before its kill (raise --steps)")
      break
    run.kill()
    leftovers = unfinished_writes(ckpt_dir)
    ok_steps, bad = readable_checkpoints(ckpt_dir)
    trial.update(killed_after_s=round(time.time() - run.started, 2),
                 killed_after_ready_s=round(time.time() - ready, 3),
                 checkpoints=ok_steps, unreadable=bad, interrupted_write=leftovers,
                 landed_in_write=bool(leftovers))
    expected_resume = max(ok_steps) if ok_steps else None
    trials.append(trial)
    say(f"kill {len(trials):2d} ({mode:11s}) after {trial['killed_after_s']:6.2f} s: checkpoints "
        f"{ok_steps[-3:]}, unreadable {len(bad)}, unfinished write {leftovers or '-'}")
    i += 1
  # the last run finishes
  final = {}
  last = run
  if last.proc.returncode is None and last.alive():
    try:
      final["returncode"] = last.wait(finish_timeout)
    except subprocess.TimeoutExpired:
      final["returncode"] = "timeout"
  else:
    final["returncode"] = last.proc.returncode
  final["reached_last_step"] = f"step {steps}/{steps}" in last.stdout()
  final["traceback"] = "Traceback" in last.stderr()
  try:
    ref_rc = reference.wait(finish_timeout)
  except subprocess.TimeoutExpired:
    ref_rc = "timeout"
  comparison = {}
  if final["returncode"] == 0 and ref_rc == 0:
    comparison = compare_checkpoints(os.path.join(ref_dir, "checkpoints", f"ckpt-{steps}"),
                                     os.path.join(ckpt_dir, f"ckpt-{steps}"))
  ok_steps, bad = readable_checkpoints(ckpt_dir)
  killed = [t for t in trials if "killed_after_s" in t]
  report = {
      "command": " ".join(command("W", steps, save_every, log_every)[1:]),
      "kills": len(killed),
      "kills_random": sum(t["mode"] == "random" for t in killed),
      "kills_during_save_attempted": sum(t["mode"] == "during_save" for t in killed),
      "kills_that_interrupted_a_checkpoint_write": sum(t["landed_in_write"] for t in killed),
      "clean_resumes": clean_resumes,
      "unreadable_checkpoints_after_any_kill": sum(len(t["unreadable"]) for t in killed),
      "final_run": final,
      "reference_returncode": ref_rc,
      "final_checkpoints_readable": ok_steps, "final_checkpoints_unreadable": bad,
      "final_weights_identical_to_uninterrupted_run": bool(comparison.get("identical")),
      "comparison": comparison,
      "steps": steps, "save_every": save_every, "kill_window_s": window, "seed": seed,
      "wall_seconds": round(time.time() - t0, 1),
      "machine": {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()],
                  "python": platform.python_version()},
      "trials": trials,
      "logs": logs,
  }
  report["passed"] = bool(
      report["kills"] >= kills and report["clean_resumes"] >= kills
      and report["unreadable_checkpoints_after_any_kill"] == 0 and final["returncode"] == 0
      and final["reached_last_step"] and not final["traceback"] and not bad
      and report["final_weights_identical_to_uninterrupted_run"])
  return report


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--kills", type=int, default=20)
  parser.add_argument("--steps", type=int, default=4000)
  parser.add_argument("--save_every", type=int, default=5)
  parser.add_argument("--window", type=float, default=3.0,
                      help="random kills land within this many seconds after training (re)starts")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--root", default=None, help="work folder (default: a new temp folder)")
  parser.add_argument("--keep", action="store_true", help="keep the work folder")
  parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "fault_injection.json"))
  args = parser.parse_args()
  root = args.root or tempfile.mkdtemp(prefix="fault_injection_")
  report = run_trials(args.kills, args.steps, args.save_every, window=args.window, seed=args.seed,
                      root=root)
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  with open(args.out, "w") as f:
    json.dump(report, f, indent=1)
  print(f"\nkills {report['kills']} (random {report['kills_random']}, aimed at a checkpoint write "
        f"{report['kills_during_save_attempted']}, of which {report['kills_that_interrupted_a_checkpoint_write']} "
        f"left an unfinished write behind); clean resumes {report['clean_resumes']}; unreadable "
        f"checkpoints after any kill {report['unreadable_checkpoints_after_any_kill']}; final run exit "
        f"{report['final_run']['returncode']}; final weights identical to the uninterrupted run: "
        f"{report['final_weights_identical_to_uninterrupted_run']} "
        f"({report['comparison'].get('tensors_compared', 0)} tensors, max |diff| "
        f"{report['comparison'].get('max_abs_diff')}); {report['wall_seconds']} s")
  print(f"report: {args.out}; {'PASSED' if report['passed'] else 'FAILED'}")
  if not args.keep and not args.root:
    shutil.rmtree(root, ignore_errors=True)
  sys.exit(0 if report["passed"] else 1)


if __name__ == "__main__":
  main()
