"""repro.benchmark: six methods, one network and budget; metrics from two feature sets."""

import json
import subprocess
import sys

import numpy as np
import pytest

from repro import benchmark


@pytest.mark.parametrize("method", sorted(benchmark.METHODS))
def test_each_method_keeps_its_objective_and_optimizers_on_the_shared_network(method):
  import importlib
  module, options = benchmark.METHODS[method]
  own = importlib.import_module(f"repro.papers.{module}").recipe("fashion_mnist", **options)
  r = benchmark.recipe(method, seed=2, steps=300)
  assert (r.objective, r.g_opt, r.d_opt, r.n_critic, r.real_batches) == (
      own.objective, own.g_opt, own.d_opt, own.n_critic, own.real_batches)
  assert (r.batch_size, r.z_dim, r.steps, r.seed, r.ema.decay) == (
      benchmark.SHARED["batch_size"], benchmark.SHARED["z_dim"], 300, 2, 0.0)
  arch, args = benchmark.ARCH.get(method, ("dcgan", benchmark.NETWORK))
  assert (r.model.arch, dict(r.model.args)) == (arch, args)


def test_every_method_builds_the_same_generator():
  from repro.registry import build_models
  counts = set()
  for method in benchmark.METHODS:
    g, _ = build_models(benchmark.recipe(method), (28, 28, 1))
    counts.add(g.count_params())
  assert len(counts) == 1, counts


def test_scores_on_fixed_features_match_closed_forms():
  rng = np.random.default_rng(0)
  real = rng.normal(size=(400, 8))
  same = benchmark.scores(real, real)
  assert same["fid"] == pytest.approx(0.0, abs=1e-6)
  assert same["precision"] == same["recall"] == same["coverage"] == 1.0
  shift = np.full(8, 0.5)
  moved = benchmark.scores(real, real + shift)
  assert moved["fid"] == pytest.approx(float(shift @ shift), rel=1e-6)   # equal covariances
  assert moved["kid"] > same["kid"]
  far = benchmark.scores(real, real + 3.0)
  assert far["precision"] < 0.5 and far["coverage"] < 0.5


def test_a_run_is_trained_evaluated_and_then_read_back(tmp_path, monkeypatch):
  real = benchmark.features(np.zeros((20, 28, 28, 1), np.uint8))
  workdir = str(tmp_path / "ttur_s0")
  first = benchmark.run_one("ttur", 0, workdir, steps=2, real_features=real, n_samples=20)
  assert first["steps"] == 2 and set(first["metrics"]) == {
      "fid", "kid", "precision", "recall", "density", "coverage"}
  with open(tmp_path / "ttur_s0" / "benchmark.json") as f:
    assert json.load(f)["metrics"] == first["metrics"]
  from repro.train import runner
  monkeypatch.setattr(runner, "Trainer", None)   # a recorded run is not trained again
  assert benchmark.run_one("ttur", 0, workdir, steps=2, real_features=real,
                           n_samples=20) == first


def test_table_and_figure(tmp_path):
  runs = [{"method": m, "seed": s, "train_wall_seconds": 60.0,
           "metrics": {k: float(s + 1) for k, *_ in benchmark.METRICS},
           "samples_preview": np.zeros((10, 28, 28)).tolist()}
          for m in ("ttur", "fogan") for s in range(3)]
  table = benchmark.summarize(runs)
  assert table["ttur"]["fid"] == (2.0, 1.0, 3)
  text = benchmark.markdown(table, 1000, 10000, "2 CPU cores")
  assert "| ttur | 3 | 2.00 ± 1.00 | 2.000 ± 1.000 |" in text
  assert benchmark.write_figure(runs, str(tmp_path / "grid.png")) == ["ttur", "fogan"]
  assert (tmp_path / "grid.png").stat().st_size > 0


def test_unknown_method_is_a_one_line_usage_error():
  out = subprocess.run([sys.executable, "-m", "repro.benchmark", "--methods=wgan_gp,nope"],
                       capture_output=True, text=True, timeout=120)
  assert out.returncode == 2
  assert out.stderr.strip().splitlines()[-1].startswith("error: unknown method(s) nope")


def _git_status(root):
  return subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=all"],
                        capture_output=True, text=True, timeout=60)


def test_defaults_write_under_runs_of_the_current_directory_not_the_source_tree(tmp_path):
  import os  # pylint: disable=g-import-not-at-top
  from repro import data  # pylint: disable=g-import-not-at-top
  from repro.errors import DataUnavailableError  # pylint: disable=g-import-not-at-top
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  before = _git_status(root)
  if before.returncode != 0:
    pytest.skip("not a git checkout (e.g. Bazel's runfiles)")
  try:
    data.check_prepared("fashion_mnist")
  except DataUnavailableError:
    pytest.skip("Fashion-MNIST not installed (make data)")
  env = dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3")
  command = [sys.executable, "-m", "repro.benchmark"]
  assert subprocess.run(command + ["--help"], cwd=tmp_path, env=env, capture_output=True,
                        timeout=120).returncode == 0
  proc = subprocess.run(command + ["--methods=ttur", "--seeds=1", "--steps=2", "--n_samples=20"],
                        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-2000:]
  out = tmp_path / "runs" / "benchmark"
  assert (out / "benchmark_fashion_mnist.json").is_file(), proc.stdout
  assert (out / "benchmark_fashion_mnist.png").is_file() and (out / "ttur_s0").is_dir()
  assert _git_status(root).stdout == before.stdout   # nothing in the source tree changed
