"""The paper entry point as users call it: exit codes, fast failure without data, kill and resume."""

import glob
import os
import re
import signal
import subprocess
import sys
import time

import pytest

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


def test_sigterm_saves_and_resumes(tmp_path):
  workdir = str(tmp_path / "w")
  command = [sys.executable, "-m", "repro.papers.wgan", "--dataset=25gaussians", "--variant=clip",
             f"--workdir={workdir}", "--steps=100000", "--save_every=100000", "--log_every=5"]
  proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
  for line in proc.stdout:  # wait until training is under way
    if line.startswith("step "):
      break
  proc.send_signal(signal.SIGTERM)
  out, err = proc.communicate(timeout=120)
  assert proc.returncode == 0, err[-2000:]
  assert "stopped by signal" in out
  steps = _checkpoint_steps(workdir)
  assert steps and 0 < steps[-1] < 100000
