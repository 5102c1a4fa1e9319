"""Tests for repro.metrics.prdc: precision/recall (Kynkäänniemi et al. 2019), density/coverage
(Naeem et al. 2020).

References: a brute-force NumPy version of the definitions (differences, not the |x|^2 + |y|^2 - 2xy
expansion; the self-distance dropped by index), hand-computed cases, and the ``prdc`` package
(clovaai/generative-evaluation-prdc, ``compute_prdc``; test-only, requirements-test.txt).
"""

import contextlib
import io

import numpy as np
import pytest

from repro.errors import UsageError
from repro.metrics import prdc

KEYS = ("precision", "recall", "density", "coverage")


def _brute_force(real, fake, k):
  """The four metrics straight from their definitions (open balls, as compute_prdc)."""
  def radii(x):
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    others = d[~np.eye(len(x), dtype=bool)].reshape(len(x), len(x) - 1)
    return np.sort(others, axis=1)[:, k - 1]

  r, s = radii(real), radii(fake)
  d = np.linalg.norm(real[:, None] - fake[None], axis=-1)
  in_real_ball = d < r[:, None]
  return {"precision": in_real_ball.any(axis=0).mean(),
          "recall": (d < s[None, :]).any(axis=1).mean(),
          "density": in_real_ball.sum() / (k * len(fake)),
          "coverage": in_real_ball.any(axis=1).mean()}


def _sets(dim, seed, n=150, m=120):
  rng = np.random.default_rng(seed)
  return rng.normal(size=(n, dim)), rng.normal(size=(m, dim)) * 1.2 + 0.3


def _integer_sets(seed):
  """2-D points on a 5 x 5 grid: duplicates, and many distances exactly equal to a radius."""
  rng = np.random.default_rng(seed)
  return (rng.integers(0, 5, size=(40, 2)).astype(np.float64),
          rng.integers(1, 6, size=(35, 2)).astype(np.float64))


def _reference(real, fake, k):
  import prdc as reference  # pylint: disable=g-import-not-at-top
  with contextlib.redirect_stdout(io.StringIO()):
    return {key: float(v) for key, v in reference.compute_prdc(real, fake, k).items()}


@pytest.mark.parametrize("dim", [2, 3, 17, 64])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_matches_brute_force(dim, k):
  real, fake = _sets(dim, seed=dim * 10 + k)
  expected = _brute_force(real, fake, k)
  got = prdc.prdc(real, fake, k_pr=k, k_dc=k)
  for key in KEYS:
    assert got[key] == pytest.approx(expected[key], abs=1e-6), key
  assert prdc.precision_recall(real, fake, k=k) == (got["precision"], got["recall"])
  assert prdc.density_coverage(real, fake, k=k) == (got["density"], got["coverage"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ties_and_duplicates_match_brute_force(seed):
  real, fake = _integer_sets(seed)
  for k in (1, 3, 5):
    expected = _brute_force(real, fake, k)
    assert prdc.prdc(real, fake, k, k) == pytest.approx(expected, abs=0), k


def test_mixed_k_equals_separate_calls():
  real, fake = _sets(5, seed=7)
  got = prdc.prdc(real, fake)
  assert (got["precision"], got["recall"]) == prdc.precision_recall(real, fake, k=3)
  assert (got["density"], got["coverage"]) == prdc.density_coverage(real, fake, k=5)
  assert got["density"] == pytest.approx(_brute_force(real, fake, 5)["density"], abs=1e-12)
  assert got["precision"] == pytest.approx(_brute_force(real, fake, 3)["precision"], abs=1e-12)


def test_hand_computed_line():
  # Real points on a line; k = 1 radii are the gaps to the nearest other point: 1, 1, 2, 4.
  real = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [7.0, 0.0]])
  np.testing.assert_array_equal(prdc.nearest_neighbour_radii(real, 1), [1.0, 1.0, 2.0, 4.0])
  np.testing.assert_array_equal(prdc.nearest_neighbour_radii(real, 2), [3.0, 2.0, 3.0, 6.0])
  # (0.5, 0) lies in the balls of (0, 0) and (1, 0); (5, 0) in the ball of (7, 0) and exactly on
  # the sphere of (3, 0) (distance 2 = radius: outside, the balls are open); (20, 0) in none;
  # (7, 3.5) in the ball of (7, 0).
  fake = np.array([[0.5, 0.0], [5.0, 0.0], [20.0, 0.0], [7.0, 3.5]])
  got = prdc.prdc(real, fake, k_pr=1, k_dc=1)
  assert got["precision"] == 3 / 4
  assert got["density"] == (2 + 1 + 0 + 1) / (1 * 4)
  assert got["coverage"] == 3 / 4   # the ball of (3, 0) holds no fake point
  # Fake k = 1 radii: 4.5, sqrt(16.25), sqrt(181.25), sqrt(16.25); every real point is inside one.
  assert got["recall"] == 1.0
  assert got == _brute_force(real, fake, 1)


@pytest.mark.parametrize("dim", [2, 32, 300])
def test_identical_sets(dim):
  # Y = X: every point is in its own ball, so precision = recall = coverage = 1. Density: ball i
  # holds the point itself and its k - 1 nearer neighbours (the k-th lies on the sphere), k points
  # each, so sum_j sum_i 1[...] = N k and density = 1 exactly (no tied distances in random data).
  real, _ = _sets(dim, seed=3)
  ones = {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}
  assert prdc.prdc(real, real.copy()) == ones
  assert prdc.prdc(real, real) == ones
  assert prdc.prdc(real, real, block_rows=16) == ones


@pytest.mark.parametrize("dim", [2, 64])
def test_far_apart_sets_score_zero(dim):
  real, fake = _sets(dim, seed=4)
  got = prdc.prdc(real, fake + 1000.0)
  assert got == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


@pytest.mark.parametrize("dim,k", [(2, 3), (8, 5), (64, 3), (256, 5)])
def test_matches_prdc_package(dim, k):
  real, fake = _sets(dim, seed=100 + dim, n=300, m=250)
  expected = _reference(real, fake, k)
  got = prdc.prdc(real, fake, k_pr=k, k_dc=k)
  for key in KEYS:
    assert got[key] == pytest.approx(expected[key], abs=1e-6), key


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_prdc_package_on_ties_and_duplicates(seed):
  real, fake = _integer_sets(seed)
  for k in (1, 3):
    assert prdc.prdc(real, fake, k, k) == pytest.approx(_reference(real, fake, k), abs=1e-6), k


def test_float32_features_are_computed_in_float64():
  real, fake = _sets(16, seed=5)
  real32, fake32 = real.astype(np.float32), fake.astype(np.float32)
  assert prdc.prdc(real32, fake32) == prdc.prdc(real32.astype(np.float64),
                                               fake32.astype(np.float64))


@pytest.mark.parametrize("block_rows", [1, 7, 64])
def test_blocks_equal_one_block(block_rows):
  # BLAS sums the dot products of blocks of other shapes in another order, so distances may differ
  # in the last bits (radii to 1e-13); the counts are equal unless a distance is that close to a
  # radius, which random data never is.
  real, fake = _sets(12, seed=6, n=130, m=97)
  whole = prdc.prdc(real, fake)
  assert prdc.prdc(real, fake, block_rows=block_rows) == whole
  assert prdc.precision_recall(real, fake, block_rows=block_rows) == (whole["precision"],
                                                                      whole["recall"])
  assert prdc.density_coverage(real, fake, block_rows=block_rows) == (whole["density"],
                                                                      whole["coverage"])
  np.testing.assert_allclose(prdc.nearest_neighbour_radii(real, 3, block_rows=block_rows),
                             prdc.nearest_neighbour_radii(real, 3), rtol=1e-13)


def test_default_block_stays_under_budget(monkeypatch):
  real, fake = _sets(4, seed=8, n=90, m=70)
  whole = prdc.prdc(real, fake)
  monkeypatch.setattr(prdc, "_BLOCK_BYTES", 8 * 90 * 5)
  assert prdc._block_rows(90, None) == 5
  assert prdc.prdc(real, fake) == whole


@pytest.mark.parametrize("call,match", [
    (lambda r, f: prdc.prdc(r[:, 0], f), "real must be a 2-D array"),
    (lambda r, f: prdc.prdc(r, f[None]), "fake must be a 2-D array"),
    (lambda r, f: prdc.prdc(r, f[:, :3]), "different dimensions"),
    (lambda r, f: prdc.prdc(np.where(r > 1, np.nan, r), f), "real contains NaN or Inf"),
    (lambda r, f: prdc.prdc(r, np.where(f > 1, np.inf, f)), "fake contains NaN or Inf"),
    (lambda r, f: prdc.prdc([["a", "b"]] * 9, f), "numeric"),
    (lambda r, f: prdc.prdc(r[:5], f), "real has 5 rows.*k=5"),
    (lambda r, f: prdc.precision_recall(r, f[:3], k=3), "fake has 3 rows.*k=3"),
    (lambda r, f: prdc.precision_recall(r[:3], f, k=3), "real has 3 rows.*k=3"),
    (lambda r, f: prdc.density_coverage(r, f[:0]), "fake has no rows"),
    (lambda r, f: prdc.precision_recall(r, f, k=0), "k must be a positive integer"),
    (lambda r, f: prdc.precision_recall(r, f, k=2.5), "k must be a positive integer"),
    (lambda r, f: prdc.density_coverage(r, f, k=True), "k must be a positive integer"),
    (lambda r, f: prdc.prdc(r, f, k_dc=-1), "k_dc must be a positive integer"),
    (lambda r, f: prdc.prdc(r, f, block_rows=0), "block_rows must be a positive integer"),
    (lambda r, f: prdc.nearest_neighbour_radii(r[:2], 2), "features has 2 rows"),
])
def test_bad_input_is_one_line_usage_error(call, match):
  real, fake = _sets(4, seed=9, n=20, m=20)
  with pytest.raises(UsageError, match=match) as info:
    call(real, fake)
  assert "\n" not in str(info.value)
