"""`make demo` shows a number: WGAN-GP on Fashion-MNIST evaluates the classifier FID by default, the
last line names its protocol, and a rerun of the finished run reports its last recorded metric."""

import json
import os
import re
import subprocess
import sys
import types

import pytest

from repro.errors import UsageError
from repro.papers import wgan
from repro.train import cli
from repro.train import runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FINAL = re.compile(r"^final FID (\d+(?:\.\d+)?) \(fashion_mnist_cnn features, (\d+) samples vs the "
                   r"60000 training images\) at step (\d+)", re.M)


def test_fashion_mnist_wgan_gp_evaluates_the_classifier_fid_by_default():
  ev = wgan.recipe("fashion_mnist").eval
  assert (ev.metric, ev.n_samples, ev.best) == ("fid", 10000, "fid")
  assert ev.params["extractor"] == "fashion_mnist_cnn" and ev.params["mode"] == "auto"
  assert not ev.params["n_real"] and ev.params["quantize"] == "none"
  assert runner.metric_protocol(wgan.recipe("fashion_mnist")) == (
      "fashion_mnist_cnn features, 10000 samples vs the 60000 training images")
  # the paper's own settings keep the official code's evaluation
  assert wgan.recipe("mnist").eval.metric == "none"
  assert wgan.recipe("cifar10").eval.metric == "inception_score"


def test_fid_flags_turn_fid_on_where_nothing_is_evaluated_and_refuse_elsewhere():
  mnist = wgan.recipe("mnist", fid="on", fid_samples=500).eval
  assert (mnist.metric, mnist.n_samples, mnist.params["extractor"], mnist.params["mode"]) == (
      "fid", 500, "inception_2015", "on")
  assert wgan.recipe("fashion_mnist", fid="off").eval.params["mode"] == "off"
  for dataset, options, message in [
      ("cifar10", {}, "evaluates the inception score"),
      ("8gaussians", {}, "apply to image datasets"),
      ("fashion_mnist", {"variant": "clip"}, "64-px images")]:
    with pytest.raises(UsageError, match=message):
      wgan.recipe(dataset, fid="on", **options)


def _fake_trainer(workdir, step, recipe):
  return types.SimpleNamespace(chief=True, workdir=str(workdir), recipe=recipe,
                               step=types.SimpleNamespace(numpy=lambda: step))


def test_summary_names_the_protocol_and_reads_back_a_finished_run(tmp_path, capsys):
  recipe = wgan.recipe("fashion_mnist")
  cli.summary(_fake_trainer(tmp_path, 500, recipe), {"fid": 123.44, "critic/loss": 1.0})
  line = capsys.readouterr().out.splitlines()[0]
  assert FINAL.match(line) and line.endswith("at step 500"), line
  # a rerun (nothing logged): the last record of eval.jsonl
  with open(tmp_path / "eval.jsonl", "w", encoding="utf-8") as f:
    f.write(json.dumps({"step": 400, "fid": 130.0}) + "\n" + json.dumps({"step": 500, "fid": 123.44})
            + "\n")
  cli.summary(_fake_trainer(tmp_path, 500, recipe), {})
  line = capsys.readouterr().out.splitlines()[0]
  assert FINAL.match(line) and "(recorded in" in line, line
  cli.summary(_fake_trainer(tmp_path, 600, recipe), {})
  assert capsys.readouterr().out.startswith("finished at step 600; last metric FID 123.4 (")


def test_a_short_fashion_mnist_run_ends_with_the_labelled_fid_line(tmp_path):
  from repro import data  # pylint: disable=g-import-not-at-top
  from repro.errors import DataUnavailableError  # pylint: disable=g-import-not-at-top
  try:
    data.check_prepared("fashion_mnist")
  except DataUnavailableError:
    pytest.skip("Fashion-MNIST not installed (make data)")
  workdir = tmp_path / "demo"
  command = [sys.executable, "-m", "repro.papers.wgan", "--dataset=fashion_mnist", "--variant=gp",
             f"--workdir={workdir}", "--steps=4", "--eval_every=2", "--save_every=2",
             "--fid_samples=200", '--net={"width": 8}']
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3",
             REPRO_CACHE_DIR=str(tmp_path / "cache"))
  proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-2000:]
  match = FINAL.search(proc.stdout)
  assert match and match.group(2) == "200" and match.group(3) == "4", proc.stdout[-2000:]
  with open(workdir / "eval.jsonl", encoding="utf-8") as f:
    records = [json.loads(l) for l in f]
  assert [r["step"] for r in records] == [2, 4]
  best = [l for l in proc.stdout.splitlines() if l.startswith("new best")]
  assert best and all("[fashion_mnist_cnn features, 200 samples vs the 60000 training images]" in l
                      for l in best), proc.stdout[-2000:]
  assert float(match.group(1)) == pytest.approx(records[-1]["fid"], abs=0.05)
  assert os.listdir(workdir / "tensorboard")
  rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
  assert rerun.returncode == 0 and FINAL.search(rerun.stdout), rerun.stdout[-2000:]
  assert "(recorded in" in rerun.stdout


def test_readme_quick_start_shows_the_labelled_fid_line():
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    text = f.read()
  quick = text[text.index("## Quick start"):text.index("\n## ", text.index("## Quick start") + 5)]
  match = FINAL.search(quick)
  assert match and match.group(2) == "10000" and match.group(3) == "500", quick
  with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
    makefile = f.read()
  assert "DEMO_STEPS ?= 500" in makefile and "--dataset=fashion_mnist --variant=gp" in makefile
