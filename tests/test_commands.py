"""Every command's --help (exit 0, its own flags, absl's only with --helpfull), the repro-train
dispatcher of the console scripts, and the README's exit-code table against the code."""

import os
import re
import signal
import subprocess
import sys

import pytest

from repro import commands, errors, verify

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ABSL_ONLY = "logtostderr"   # one of absl's logging flags

# command -> flags its --help must list (its own, not absl's)
HELP = {
    "repro.papers.wgan": ["--dataset", "--steps", "--workdir", "--variant", "--fid", "--fid_samples"],
    "repro.papers.ttur": ["--dataset", "--steps", "--model", "--fid_extractor", "--saddle_steps"],
    "repro.papers.coulomb": ["--dataset", "--steps", "--workdir", "--fid"],
    "repro.papers.fogan": ["--dataset", "--steps", "--gan_method", "--fid"],
    "repro.papers.sinkhorn": ["--dataset", "--steps", "--solver", "--space"],
    "repro.papers.klwgan": ["--dataset", "--steps", "--loss", "--table"],
    "repro.verify": ["--paper", "--entry", "--all", "--strict", "--format"],
    "repro.metrics.fid": ["--extractor", "--save_stats", "--batch_size"],
    "repro.benchmark": ["--workdir", "--methods", "--seeds", "--results"],
    "repro.studies.whole_run": ["--study", "--seeds", "--workdir", "--official", "--results"],
    "repro.metrics.train_classifier": ["--out", "--epochs"],
}


def _run(*args, timeout=120):
  return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT,
                        env=dict(os.environ, PYTHONPATH=ROOT), timeout=timeout)


@pytest.mark.parametrize("command", sorted(HELP))
def test_help_exits_0_and_lists_the_commands_own_flags(command):
  proc = _run(command, "--help")
  assert proc.returncode == 0, proc.stderr[-2000:]
  listed = set(re.findall(r"^\s+--(?:\[no\])?(\w+)", proc.stdout, re.M))
  for flag in HELP[command]:
    assert flag[2:] in listed, (flag, proc.stdout[-3000:])
  assert ABSL_ONLY not in proc.stdout
  assert "--helpfull" in proc.stdout


def test_paper_help_spells_out_datasets_and_choices():
  out = _run("repro.papers.wgan", "--help").stdout
  dataset_help = re.search(r"--dataset: (.*?)\n  --", out, re.S).group(1)
  for name in ("fashion_mnist", "cifar10", "lsun_bedroom", "8gaussians"):
    assert name in dataset_help
  assert "(default fashion_mnist)" in " ".join(dataset_help.split())
  assert "<clip|gp|gp_resnet>" in out and "<auto|on|off>" in out


def test_helpfull_adds_absl_flags_and_exits_0():
  proc = _run("repro.papers.wgan", "--helpfull")
  assert proc.returncode == 0 and ABSL_ONLY in proc.stdout and "--variant" in proc.stdout


def test_checkpoints_help_exits_0():
  proc = _run("repro.checkpoints", "--help")
  assert proc.returncode == 0 and "evaluate" in proc.stdout
  proc = _run("repro.checkpoints", "evaluate", "--help")
  assert proc.returncode == 0 and "--data_dir" in proc.stdout


# ---- repro-train PAPER: the console script's dispatcher (in-process, no TensorFlow) ----------------

def test_repro_train_dispatches_to_the_paper_module(monkeypatch, capsys):
  assert commands.train(["repro-train"]) == 2
  assert "usage: repro-train PAPER" in capsys.readouterr().out
  assert commands.train(["repro-train", "--help"]) == 0
  assert commands.train(["repro-train", "wgan3"]) == 2
  assert "unknown paper 'wgan3'" in capsys.readouterr().err
  called = {}

  def fake_main():
    called["argv"] = list(sys.argv)
    return 0

  import repro.papers.fogan  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(repro.papers.fogan, "main", fake_main)
  monkeypatch.setattr(sys, "argv", list(sys.argv))
  assert commands.train(["repro-train", "fogan", "--dataset=8gaussians", "--steps=3"]) == 0
  assert called["argv"] == ["repro-train fogan", "--dataset=8gaussians", "--steps=3"]
  assert set(commands.PAPERS) == {f[:-3] for f in os.listdir(os.path.join(ROOT, "repro", "papers"))
                                  if f.endswith(".py") and f not in ("__init__.py", "evaluation.py")}


# ---- the README's exit-code table ----------------------------------------------------------------

def test_readme_exit_code_table_matches_the_code():
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    text = f.read()
  block = re.search(r"<!-- exit-codes -->\n(.*?)<!-- /exit-codes -->", text, re.S).group(1)
  documented = {int(m) for m in re.findall(r"^\| (\d+) \|", block, re.M)}
  used = ({0} | {code for _, code in errors.EXIT_CODES} | {verify.NOT_REPRODUCED_EXIT}
          | {128 + signal.SIGINT, 128 + signal.SIGTERM})
  assert documented == used == {0, 1, 2, 3, 4, 5, 130, 143}


# ---- what a run says it will do ------------------------------------------------------------------

def test_start_line_names_the_devices_and_a_long_run_says_so(tmp_path, monkeypatch, capsys):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from repro.recipe import make  # pylint: disable=g-import-not-at-top
  from repro.train import distribute, runner  # pylint: disable=g-import-not-at-top
  gpus = len(tf.config.list_logical_devices("GPU"))
  assert distribute.describe(tf.distribute.get_strategy()) == ("1×GPU" if gpus else "CPU")
  recipe = make("test", "8gaussians", "mlp", model=dict(hidden=(16,)), z_dim=2, batch_size=16,
                objective=("wgan", dict(gp_weight=0.1)),
                steps=6, n_critic=1, save_every=6, eval_every=1000, log_every=2)
  runner.Trainer(recipe, str(tmp_path / "short")).train()
  assert "a long run" not in capsys.readouterr().out
  monkeypatch.setattr(runner, "LONG_RUN_SECONDS", 0.0)   # any remaining time is "long" now
  runner.Trainer(recipe, str(tmp_path / "long")).train()
  lines = capsys.readouterr().out.splitlines()
  long_lines = [l for l in lines if l.startswith("a long run: 2 steps left at the measured ")]
  assert len(long_lines) == 1 and "(--steps shortens it)" in long_lines[0], lines
  assert lines.index(long_lines[0]) == 2   # after the second progress line (step 4/6)


# ---- every printed metric names its protocol -----------------------------------------------------

def test_metric_labels_name_extractor_reference_and_sample_count(capsys):
  from repro import checkpoints  # pylint: disable=g-import-not-at-top
  from repro.metrics import labels  # pylint: disable=g-import-not-at-top
  entry = checkpoints.generator_entries()["wgan_gp_fashion_mnist"]
  assert labels.from_protocol("fid", entry["protocol"]) == (
      "FID[fashion_mnist_cnn, train 60k, 10k samples]")
  assert labels.from_protocol("inception_score", entry["protocol"]) == (
      "IS[fashion_mnist_cnn, 10k samples, 10 splits]")
  assert labels.kid("inception_2015", 50000, labels.reference("train", 50000), scale=1000) == (
      "KID×10³[inception_2015, train 50k, 50k samples]")
  assert labels.fid("inception_2015", 2500, labels.reference(stats="/x/fid_stats_cifar10.npz")) == (
      "FID[inception_2015, fid_stats_cifar10.npz, 2500 samples]")
  checkpoints._print_list()  # pylint: disable=protected-access
  row = [l for l in capsys.readouterr().out.splitlines() if l.startswith("wgan_gp_fashion_mnist ")]
  assert "FID[fashion_mnist_cnn, train 60k, 10k samples] 67.22" in row[0], row
  assert " fid " not in row[0]


def test_verify_takes_the_paper_of_a_workdir(tmp_path):
  from repro.verify import __main__ as verify_main  # pylint: disable=g-import-not-at-top
  (tmp_path / "recipe.json").write_text('{"paper": "wgan", "dataset": "fashion_mnist"}')
  assert verify_main._paper_of_workdir(str(tmp_path)) == "wgan"  # pylint: disable=protected-access
  assert verify_main._paper_of_workdir(str(tmp_path / "nothing")) is None  # pylint: disable=protected-access
