"""`python -m repro.metrics.fid A B`: folders and statistics files, bad input, one-line errors.

Runs the real command in subprocesses on tiny folders written here. The FID it prints is checked
against features recomputed in this process and TTUR's scipy.linalg.sqrtm formula.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from repro.metrics.fid import frechet_distance
from repro.metrics.stats_io import read_statistics_file, save_statistics

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_fid(*args, timeout=120):
  env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
  return subprocess.run([sys.executable, "-m", "repro.metrics.fid", *map(str, args)],
                        capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env)


def assert_one_line_error(proc, code, *fragments):
  assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
  errors = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
  assert len(errors) == 1, proc.stderr
  assert "Traceback" not in proc.stderr
  for fragment in fragments:
    assert fragment in errors[0], errors[0]


def write_pngs(folder, images):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  os.makedirs(folder, exist_ok=True)
  for i, img in enumerate(images):
    tf.io.write_file(os.path.join(folder, f"{i:03d}.png"), tf.io.encode_png(img))


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
  """Two folders of 28x28 grayscale PNGs: blobs and stripes, 40 each."""
  root = tmp_path_factory.mktemp("fid_cli")
  rng = np.random.default_rng(0)
  yy, xx = np.mgrid[:28, :28]
  a, b = [], []
  for _ in range(40):
    cy, cx, r = rng.uniform(8, 20), rng.uniform(8, 20), rng.uniform(4, 9)
    a.append(255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r)))
    b.append(127.5 * (1 + np.sin(xx * rng.uniform(0.3, 1.2) + rng.uniform(0, 6))))
  a = np.clip(np.round(np.stack(a)), 0, 255).astype(np.uint8)[..., None]
  b = np.clip(np.round(np.stack(b)), 0, 255).astype(np.uint8)[..., None]
  write_pngs(str(root / "a"), a)
  write_pngs(str(root / "b"), b)
  (root / "empty").mkdir()
  (root / "empty" / "notes.txt").write_text("no images here")
  return root, a, b


def _printed_fid(proc):
  assert proc.returncode == 0, proc.stderr
  lines = [l for l in proc.stdout.splitlines() if l.startswith("FID: ")]
  assert len(lines) == 1, proc.stdout
  return float(lines[0].split()[1])


def test_two_folders_with_the_fashion_classifier(folders):
  from repro.metrics.extractors import fashion_mnist_cnn  # pylint: disable=g-import-not-at-top
  if not os.path.exists(fashion_mnist_cnn.DEFAULT_WEIGHTS):
    pytest.skip("checkpoints/fashion_mnist_cnn.weights.h5 not present")
  root, a, b = folders
  stats = root / "a_stats.npz"
  proc = run_fid(root / "a", root / "b", "--extractor=fashion_mnist_cnn", f"--save_stats={stats}",
                 "--batch_size=16")
  value = _printed_fid(proc)
  assert any(l.startswith("protocol: ") and "fashion_mnist_cnn" in l
             for l in proc.stdout.splitlines())
  # The same pipeline by hand: 8-bit images -> [-1, 1] -> features -> mean, np.cov. With 40
  # samples of 128-d features the covariances are singular, where scipy's sqrtm is inaccurate, so
  # the distance itself (golden-tested in test_metrics_fid.py) is applied to these statistics.
  ext = fashion_mnist_cnn.FashionMnistCnnExtractor()
  fa = ext(a.astype(np.float32) / 127.5 - 1)["features"].astype(np.float64)
  fb = ext(b.astype(np.float32) / 127.5 - 1)["features"].astype(np.float64)
  expected = frechet_distance(fa.mean(0), np.cov(fa, rowvar=False), fb.mean(0),
                              np.cov(fb, rowvar=False))
  assert abs(value - expected) <= 1e-4 * expected + 1e-6  # the print has 6 decimals
  info = read_statistics_file(str(stats))
  assert info["count"] == 40 and info["protocol"]["extractor"]["name"] == "fashion_mnist_cnn"
  np.testing.assert_allclose(info["mu"], fa.mean(0), rtol=1e-5, atol=1e-6)
  # Statistics against themselves: 0, without loading any network.
  assert abs(_printed_fid(run_fid(stats, stats, "--extractor=fashion_mnist_cnn"))) < 1e-6
  # ... and refused with another extractor.
  assert_one_line_error(run_fid(stats, stats, "--extractor=fake"), 2, "fashion_mnist_cnn")


def test_ttur_style_statistics_files(tmp_path):
  rng = np.random.default_rng(1)
  f1, f2 = rng.normal(size=(50, 4)), rng.normal(1.0, 2.0, size=(60, 4))
  p1, p2 = tmp_path / "fid_stats_1.npz", tmp_path / "fid_stats_2.npz"
  np.savez(p1, mu=f1.mean(0), sigma=np.cov(f1, rowvar=False))
  np.savez(p2, mu=f2.mean(0).astype(np.float32), sigma=np.cov(f2, rowvar=False))
  linalg = pytest.importorskip("scipy.linalg")
  s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
  d = f1.mean(0) - f2.mean(0).astype(np.float32)
  expected = d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real)
  assert abs(_printed_fid(run_fid(p1, p2)) - expected) <= 1e-6 * expected


@pytest.mark.parametrize("case", ["missing", "empty", "no_mu", "extractor", "one_path", "flag",
                                  "not_npz"])
def test_bad_input_is_one_line_and_exit_2(case, folders, tmp_path):
  root = folders[0]
  good = root / "a"
  if case == "missing":
    proc, words = run_fid(tmp_path / "nope", good, "--extractor=fake"), ["nope", "not found"]
  elif case == "empty":
    proc, words = run_fid(root / "empty", good, "--extractor=fake"), ["no .png/.jpg images"]
  elif case == "no_mu":
    bad = tmp_path / "bad.npz"
    np.savez(bad, mean=np.zeros(3))
    proc, words = run_fid(bad, good, "--extractor=fake"), ["lacks key(s) mu, sigma"]
  elif case == "extractor":
    proc, words = run_fid(good, good, "--extractor=vgg"), ["unknown --extractor=vgg"]
  elif case == "one_path":
    proc, words = run_fid(good, "--extractor=fake"), ["--save_stats"]
  elif case == "flag":
    proc, words = run_fid(good, good, "--batch_sise=3"), ["batch_sise"]
  else:
    bad = tmp_path / "stats.txt"
    bad.write_text("mu sigma")
    proc, words = run_fid(bad, good, "--extractor=fake"), ["neither an image folder"]
  assert_one_line_error(proc, 2, *words)


def test_stats_with_wrong_shapes_are_refused(tmp_path):
  s1, s2 = tmp_path / "s1.npz", tmp_path / "s2.npz"
  save_statistics(str(s1), np.zeros(3), np.eye(3))
  save_statistics(str(s2), np.zeros(4), np.eye(4))
  assert_one_line_error(run_fid(s1, s2, "--extractor=fake"), 2, "3-d features")
