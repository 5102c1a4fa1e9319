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
  from repro.metrics import evaluate
  images = np.random.default_rng(0).integers(0, 256, (20, 28, 28, 1), dtype=np.uint8)
  real = benchmark.features(images)
  stats = str(tmp_path / "reference.npz")
  evaluate.save_reference_statistics(stats, images, "fashion_mnist_cnn")
  workdir = str(tmp_path / "ttur_s0")
  first = benchmark.run_one("ttur", 0, workdir, steps=4, real_features=real, n_samples=20,
                            curve_stats=stats)
  assert first["steps"] == 4 and set(first["metrics"]) == {
      "fid", "kid", "precision", "recall", "density", "coverage"}
  # the in-run curve: FID against the same reference at steps/4 ... steps, the last one on the
  # same kind of samples as the final metrics (inference mode, the recipe's noise distribution)
  assert [step for step, _ in first["curve"]] == [1, 2, 3, 4]
  assert first["curve"][-1][1] == pytest.approx(first["metrics"]["fid"], rel=0.5)
  assert first["recipe"]["eval"]["params"]["stats"] == stats
  with open(tmp_path / "ttur_s0" / "benchmark.json") as f:
    assert json.load(f)["metrics"] == first["metrics"]
  from repro.train import runner
  monkeypatch.setattr(runner, "Trainer", None)   # a recorded run is not trained again
  assert benchmark.run_one("ttur", 0, workdir, steps=4, real_features=real, n_samples=20,
                           curve_stats=stats) == first


def test_samples_are_drawn_in_the_recipes_noise_distribution(tmp_path, monkeypatch):
  """TTUR's DCGAN is trained on z ~ U(-1, 1): the benchmark's final samples use that, not N(0, 1)
  (the cause of issue 28's TTUR mismatch: FID 57.78 recorded with normal noise, 66.55 with its
  own)."""
  from repro.train import streams
  seen = []
  original = streams.noise

  def spy(n, z_dim, z_dist, seed):
    seen.append((n, z_dim, z_dist, seed))
    return original(n, z_dim, z_dist, seed)
  monkeypatch.setattr(streams, "noise", spy)
  real = benchmark.features(np.zeros((20, 28, 28, 1), np.uint8))
  benchmark.run_one("ttur", 0, str(tmp_path / "ttur"), steps=1, real_features=real, n_samples=20)
  assert (20, benchmark.SHARED["z_dim"], "uniform", benchmark.NOISE_SEED) in seen
  z = streams.noise(1000, 4, "uniform", 0)
  assert z.min() >= -1 and z.max() <= 1 and abs(z.std() - 1 / np.sqrt(3)) < 0.02


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
  assert benchmark.write_curves(runs, str(tmp_path / "curves.png")) is None   # no curves recorded
  for r in runs:
    r["curve"] = [[250, 100.0 + r["seed"]], [500, 80.0 + r["seed"]]]
    r["recipe"] = {"eval": {"n_samples": 10000}}
  curves = benchmark.mean_curves(runs)
  assert curves["ttur"] == ([250, 500], [101.0, 81.0])
  text = benchmark.markdown(table, 1000, 10000, "2 CPU cores", curves)
  assert "FID at step 250 / 500 |" in text and "| 101.0 / 81.0 |" in text
  assert benchmark.write_curves(runs, str(tmp_path / "curves.png")) == ["ttur", "fogan"]
  assert (tmp_path / "curves.png").stat().st_size > 0


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
