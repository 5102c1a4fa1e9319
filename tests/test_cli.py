"""The paper entry point as users call it: exit codes, fast failure without data, kill and resume,
the workdir's recipe.json (new and pre-recipe workdirs), each paper's own flags."""

import glob
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import cli_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, timeout=120, **kw):
  return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT,
                        timeout=timeout, **kw)


def test_missing_cifar10_fails_fast_with_one_line(tmp_path):
  start = time.time()
  result = run("repro.papers.wgan", "--dataset=cifar10", f"--data_dir={tmp_path}",
               f"--workdir={tmp_path / 'w'}", timeout=30)
  elapsed = time.time() - start
  assert result.returncode == 1
  assert elapsed < 5, elapsed
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1, result.stderr
  assert "cifar10" in lines[0] and str(tmp_path) in lines[0]
  assert "download_and_prepare" in lines[0] or "--download" in lines[0]


@pytest.mark.parametrize("args, message", [
    (["--dataset=imagenet"], "no settings for --dataset=imagenet"),
    (["--steps=0", "--dataset=8gaussians"], "flag --steps=0: 0 is not a positive integer"),
    (["--g_lr=-1"], "--g_lr must be positive"),
    (["--no_such_flag=1"], "no_such_flag"),
    (["--steps=ten"], "steps"),
    (["--variant=gp", "extra_argument"], "unexpected arguments"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, args, message):
  result = run("repro.papers.wgan", f"--workdir={tmp_path}", *args, timeout=60)
  assert result.returncode == 2, (result.stdout, result.stderr)
  assert message in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_unwritable_workdir_is_a_usage_error(tmp_path):
  blocker = tmp_path / "file"
  blocker.write_text("not a folder")
  result = run("repro.papers.wgan", "--dataset=8gaussians", f"--workdir={blocker / 'w'}",
               "--steps=2", timeout=120)
  assert result.returncode == 2
  assert "--workdir" in result.stderr


def _checkpoint_steps(workdir):
  return sorted(int(re.search(r"ckpt-(\d+)\.index$", p).group(1))
                for p in glob.glob(os.path.join(workdir, "checkpoints", "ckpt-*.index")))


def test_sigkill_mid_run_then_restart_finishes(tmp_path):
  workdir = str(tmp_path / "w")
  command = [sys.executable, "-m", "repro.papers.wgan", "--dataset=8gaussians", "--variant=gp",
             f"--workdir={workdir}", "--steps=150", "--save_every=25", "--log_every=25",
             '--net={"hidden": [64, 64, 64]}']   # small nets: the test is about kill and resume
  proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
  deadline = time.time() + 240
  while time.time() < deadline and not _checkpoint_steps(workdir) and proc.poll() is None:
    time.sleep(0.2)
  assert proc.poll() is None, "the run ended before it could be killed"
  assert _checkpoint_steps(workdir), "no checkpoint within 240 s"
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  killed_at = max(_checkpoint_steps(workdir))
  assert killed_at < 150
  result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert f"resumed from" in result.stdout and f"at step {killed_at}" in result.stdout, result.stdout
  assert "step 150/150" in result.stdout
  assert max(_checkpoint_steps(workdir)) == 150


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_saves_and_exits_128_plus_the_signal(tmp_path, signum, code):
  workdir = str(tmp_path / "w")
  command = [sys.executable, "-m", "repro.papers.wgan", "--dataset=25gaussians", "--variant=clip",
             f"--workdir={workdir}", "--steps=100000", "--save_every=100000", "--log_every=5",
             '--net={"hidden": [32, 32]}']
  proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
  for line in proc.stdout:  # wait until training is under way
    if line.startswith("step "):
      break
  proc.send_signal(signum)
  out, err = proc.communicate(timeout=120)
  assert proc.returncode == code, err[-2000:]
  steps = _checkpoint_steps(workdir)
  assert steps and 0 < steps[-1] < 100000
  assert (f"stopped at step {steps[-1]} of 100000 (checkpoint saved): run the same command to "
          f"resume") in out.splitlines(), out[-2000:]
  assert "final" not in out and "finished" not in out


# ---- the workdir's recipe (issue 16) ------------------------------------------------------------

TOY_RUN = ["repro.papers.wgan", "--dataset=8gaussians", "--steps=2", '--net={"hidden": [16, 16]}']


def _file_hashes(folder):
  """{relative path: sha256} of every file under `folder`."""
  out = {}
  for dirpath, _, names in os.walk(folder):
    for name in names:
      path = os.path.join(dirpath, name)
      with open(path, "rb") as f:
        out[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
  return out


def _error_line(proc):
  cli_runs.assert_usage_error(proc)
  assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
  return [l for l in proc.stderr.splitlines() if l.startswith("error:")][0]


def test_workdir_recipe_holds_the_objective_settings_and_refuses_others(tmp_path):
  workdir = str(tmp_path / "w")
  first = cli_runs.run_module(*TOY_RUN, f"--workdir={workdir}", timeout=600)
  assert first.returncode == 0, first.stderr[-3000:]
  with open(os.path.join(workdir, "recipe.json")) as f:
    recorded = json.load(f)
  # gan_toy.py λ; L77 interpolates alpha*real + (1-alpha)*fake
  assert recorded["objective"] == {"name": "wgan",
                                   "params": {"gp_weight": 0.1, "alpha_weights": "real"}}
  before = _file_hashes(workdir)
  again = cli_runs.run_module(*TOY_RUN, f"--workdir={workdir}", "--gp_weight=5", timeout=600)
  error = _error_line(again)
  assert "gp_weight" in error, error
  assert "objective.params.gp_weight: workdir 0.1, now 5.0" in error, error
  assert _file_hashes(workdir) == before


# What TrainConfig.to_json() wrote for `python -m repro.papers.wgan --dataset=8gaussians
# --steps=2 --net='{"hidden": [16, 16]}'` before recipes (gan_toy.py's wgan-gp settings).
# A pre-recipe config.json of the Coulomb toy run (its recipe uses Keras Adam, as every pre-recipe run
# did; the TF1-code recipes are adam_tf1 now and refuse such workdirs, naming the kind).
LEGACY_CONFIG = dict(
    dataset="8gaussians", arch="mlp", model={"hidden": [16, 16]}, z_dim=2, z_dist="normal",
    batch_size=256, steps=2, n_critic=1, n_critic_schedule="constant", optimizer="adam",
    g_lr=3e-4, d_lr=3e-4, g_beta1=0.0, g_beta2=0.9, d_beta1=0.0, d_beta2=0.9, lr_decay="linear",
    ema_decay=0.0, ema_start=0, seed=0, save_every=1000, eval_every=1000, log_every=100,
    keep_checkpoints=3, jit_compile=False, data_dir="", download=False, source="auto", text={})
LEGACY_RUN = ["repro.papers.coulomb", "--dataset=8gaussians", "--steps=2", '--net={"hidden": [16, 16]}']


def test_pre_recipe_workdir_resumes_with_its_settings_and_refuses_others(tmp_path):
  workdir = str(tmp_path / "w")
  # An old workdir: a 2-step run's checkpoints with config.json as the record (no recipe.json).
  first = cli_runs.run_module(*LEGACY_RUN, f"--workdir={workdir}", timeout=600)
  assert first.returncode == 0, first.stderr[-3000:]
  os.remove(os.path.join(workdir, "recipe.json"))
  with open(os.path.join(workdir, "config.json"), "w") as f:
    f.write(json.dumps(LEGACY_CONFIG, indent=2, sort_keys=True))
  before = _file_hashes(workdir)

  other = cli_runs.run_module(*LEGACY_RUN, f"--workdir={workdir}", "--seed=1", timeout=600)
  error = _error_line(other)
  assert "config.json" in error and "seed: workdir 0, now 1" in error, error
  assert len(other.stderr.strip().splitlines()) == 1, other.stderr[-3000:]
  assert _file_hashes(workdir) == before   # and no recipe.json

  same = cli_runs.run_module(*LEGACY_RUN[:2], "--steps=4", LEGACY_RUN[3], f"--workdir={workdir}",
                             timeout=600)
  assert same.returncode == 0, same.stderr[-3000:]
  assert re.search(r"resumed from \S+ckpt-2 at step 2", same.stdout), same.stdout
  assert "step 4/4" in same.stdout, same.stdout
  from repro.papers import coulomb  # pylint: disable=g-import-not-at-top
  from repro.recipe import Recipe  # pylint: disable=g-import-not-at-top
  with open(os.path.join(workdir, "recipe.json")) as f:
    gained = Recipe.from_json(f.read())
  assert gained == coulomb.recipe("8gaussians", steps=4, net={"hidden": [16, 16]})


def _flag_names(helpfull):
  return {m.group(1) for m in re.finditer(r"^\s+--(?:\[no\])?(\w+):", helpfull, re.M)}


FID_FLAGS = {"fid", "fid_samples", "fid_stats", "fid_extractor", "inception_graph"}


def test_helpfull_lists_only_the_papers_own_flags():
  fogan = cli_runs.run_module("repro.papers.fogan", "--helpfull", timeout=120)
  assert "Traceback" not in fogan.stderr, fogan.stderr[-3000:]
  names = _flag_names(fogan.stdout)
  assert "gan_method" in names and FID_FLAGS <= names, sorted(names)
  assert not names & {"model", "ttur", "saddle_steps"}, sorted(names)   # TTUR's own flags
  wgan = cli_runs.run_module("repro.papers.wgan", "--helpfull", timeout=120)
  assert "Traceback" not in wgan.stderr, wgan.stderr[-3000:]
  names = _flag_names(wgan.stdout)
  assert "gp_weight" in names and "steps" in names and FID_FLAGS <= names, sorted(names)  # issue 24
  klwgan = cli_runs.run_module("repro.papers.klwgan", "--helpfull", timeout=120)
  names = _flag_names(klwgan.stdout)
  assert "loss" in names and "steps" in names, sorted(names)
  assert not {n for n in names if n == "fid" or n.startswith("fid_")}, sorted(names)
  assert not names & FID_FLAGS, sorted(names)
