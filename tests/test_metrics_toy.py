"""Tests for repro.metrics.toy (mode coverage, KL-WGAN MMD, KDE) and repro.metrics.ngram."""

import math

import numpy as np
import pytest

from repro.errors import UsageError
from repro.metrics import ngram, toy


def _eight_gaussians(n, rng, std=0.02):
  # WGAN-GP gan_toy.py '8gaussians': radius 2 on axes and diagonals, std 0.02, then / 1.414.
  s = 1.0 / math.sqrt(2)
  centers = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)]) * 2
  idx = rng.integers(0, 8, size=n)
  return (centers[idx] + rng.normal(size=(n, 2)) * std) / 1.414, centers / 1.414


def test_mode_coverage_full_and_collapsed():
  rng = np.random.default_rng(0)
  samples, centers = _eight_gaussians(4000, rng)
  std = 0.02 / 1.414
  cov = toy.mode_coverage(samples, centers, std)
  assert cov.modes_covered == 8 and cov.n_modes == 8
  # chi(2) CDF at 3 = 1 - exp(-4.5) = 0.9889.
  assert abs(cov.high_quality_fraction - (1 - math.exp(-4.5))) < 0.01
  assert cov.min_count == int(0.2 * 4000 / 8) and sum(cov.counts) == round(
      cov.high_quality_fraction * 4000)
  # Collapse onto 3 modes, plus far-away junk that is never high quality.
  collapsed = np.concatenate([samples[np.isin(np.argmin(
      ((samples[:, None] - centers[None]) ** 2).sum(-1), axis=1), [0, 3, 5])],
                              rng.uniform(-3, 3, size=(200, 2)) * 10 + 40])
  cov = toy.mode_coverage(collapsed, centers, std, min_count=10)
  assert cov.modes_covered == 3
  assert cov.high_quality_fraction < 0.9
  with pytest.raises(UsageError, match="dimension"):
    toy.mode_coverage(np.zeros((5, 3)), centers, std)


def _f_wgan_mmd_reference(x, y):
  """ermongroup/f-wgan synthetic/kl_wgan.py mmd(), with scipy's cdist for the distances."""
  from scipy.spatial.distance import cdist
  dxy = cdist(x, y) / x.shape[1]
  dxx = cdist(x, x) / x.shape[1]
  dyy = cdist(y, y) / x.shape[1]
  return np.exp(-dxx ** 2).mean() + np.exp(-dyy ** 2).mean() - 2 * np.exp(-dxy ** 2).mean()


def test_mmd_matches_f_wgan():
  pytest.importorskip("scipy")
  rng = np.random.default_rng(1)
  x = rng.normal(size=(1500, 2)) * [0.5, 0.5] + [4, 0]
  y = rng.normal(size=(1300, 2)) * 0.7 + [3.5, 0.2]
  assert abs(toy.mmd_klwgan(x, y) - _f_wgan_mmd_reference(x, y)) < 1e-10
  z = rng.normal(size=(40, 5))
  w = rng.normal(size=(30, 5)) + 1
  assert abs(toy.mmd_klwgan(z, w) - _f_wgan_mmd_reference(z, w)) < 1e-12
  assert abs(toy.mmd_klwgan(z, z)) < 1e-12


def test_mmd_rbf_unbiased_by_hand():
  # x = {0, 1}, y = {0, 2} on a line, h = 1: k(d) = exp(-d^2 / 2).
  x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [2.0]])
  k = lambda d: np.exp(-d * d / 2.0)
  xy = (k(0) + k(2) + k(1) + k(1)) / 4
  assert abs(toy.mmd_rbf_unbiased(x, y, 1.0) - (k(1) + k(2) - 2 * xy)) < 1e-14
  rng = np.random.default_rng(3)
  a, b = rng.normal(size=(700, 2)), rng.normal(size=(600, 2))
  d2 = lambda p, q: ((p[:, None] - q[None]) ** 2).sum(-1)
  kaa, kbb = np.exp(-d2(a, a) / 0.02), np.exp(-d2(b, b) / 0.02)
  loop = ((kaa.sum() - 700) / (700 * 699) + (kbb.sum() - 600) / (600 * 599)
          - 2 * np.exp(-d2(a, b) / 0.02).mean())
  assert abs(toy.mmd_rbf_unbiased(a, b, 0.1) - loop) < 1e-12
  assert abs(toy.mmd_rbf_unbiased(a, b, 0.1)) < 0.001 < toy.mmd_rbf_unbiased(a, b + 1.0, 0.1)


def test_mixture_run_scores_by_hand():
  centers = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
  samples = np.concatenate([np.tile(centers[0] + [0.09, 0.0], (100, 1)), np.tile(centers[1], (100, 1)),
                            np.tile(centers[2], (5, 1)), np.tile([0.0, -3.0], (95, 1))])
  real = np.tile(centers, (10, 1))
  scores = toy.mixture_run_scores(samples, real, centers, std=0.05)
  # near: within 0.1 (0.09 counts); a mode needs 2 % of the 205 near samples (4.1): the third
  # centre's 5 count (they would not as 2 % of all 300 samples)
  assert scores["near"] == 205 / 300 and scores["counts"] == [100, 100, 5] and scores["modes"] == 3
  fewer = toy.mixture_run_scores(samples[:-95 - 2], real, centers, std=0.05)   # 3 of 203 < 4.06
  assert fewer["counts"] == [100, 100, 3] and fewer["modes"] == 2
  assert scores["mmd2"] == toy.mmd_rbf_unbiased(samples, real, 0.1)
  assert scores["energy"] == toy.energy_distance(samples, real)


def test_energy_distance_matches_scipy_in_one_dimension():
  stats = pytest.importorskip("scipy.stats")
  rng = np.random.default_rng(3)
  u, v = rng.normal(size=1500), rng.normal(0.3, 1.4, size=1100)   # more than one block
  expected = stats.energy_distance(u, v) ** 2
  assert abs(toy.energy_distance(u[:, None], v[:, None]) - expected) < 1e-10 * max(1.0, expected)
  x = rng.normal(size=(300, 2))
  assert abs(toy.energy_distance(x, x)) < 1e-12


def test_kde_matches_scipy():
  pytest.importorskip("scipy")
  from scipy.stats import gaussian_kde
  rng = np.random.default_rng(2)
  generated = rng.normal(size=(2000, 2)) @ np.array([[1.0, 0.4], [0.0, 0.6]]) + [0.5, -1]
  data = rng.normal(size=(1500, 2)) * 1.3
  expected = gaussian_kde(generated.T, bw_method="scott").logpdf(data.T).mean()
  assert abs(toy.kde_log_likelihood(generated, data) - expected) < 1e-10
  g3 = rng.normal(size=(300, 3))
  d3 = rng.normal(size=(50, 3)) + 0.5
  np.testing.assert_allclose(toy.kde_log_density(g3, d3),
                             gaussian_kde(g3.T, bw_method="scott").logpdf(d3.T), rtol=1e-10)
  g1 = rng.normal(size=100)
  d1 = np.linspace(-3, 3, 7)
  np.testing.assert_allclose(toy.kde_log_density(g1, d1),
                             gaussian_kde(g1, bw_method="scott").logpdf(d1), rtol=1e-10)
  # Far outliers: the log-sum-exp keeps the log density finite where the pdf underflows.
  assert np.isfinite(toy.kde_log_density(generated, np.array([[60.0, 60.0]]))).all()
  with pytest.raises(UsageError, match="singular"):
    toy.kde_log_likelihood(np.ones((10, 2)), data)


def test_ngram_jsd_self_and_disjoint():
  corpus = ["the cat sat on the mat", "a dog ate the hat", "hello world"]
  for n in range(1, 5):
    assert abs(ngram.ngram_jsd(corpus, corpus, n)) < 1e-12
    assert abs(ngram.ngram_jsd(["abcabc", "cab"], ["xyzzy", "zyx"], n) - 1.0) < 1e-12
  # Padded tuples of characters, as in gan_language.py, behave the same way.
  padded = [tuple("ab``"), tuple("ba``")]
  assert abs(ngram.ngram_jsd(padded, padded, 2)) < 1e-12


def test_ngram_jsd_hand_computed():
  # Unigrams: P = {a: 1/2, b: 1/2}, Q = {a: 1}; M = {a: 3/4, b: 1/4}.
  # KL(P||M) = .5 log(.5/.75) + .5 log(.5/.25); KL(Q||M) = log(1/.75).
  expected = 0.5 * (0.5 * math.log(2 / 3) + 0.5 * math.log(2) + math.log(4 / 3)) / math.log(2)
  assert abs(ngram.ngram_jsd(["ab"], ["aa"], 1) - expected) < 1e-12
  assert abs(ngram.ngram_jsd(["aa"], ["ab"], 1) - expected) < 1e-12
  lm = ngram.NgramLanguageModel(2, ["abab"])
  assert lm.counts == {"ab": 2, "ba": 1} and lm.total == 3
  assert lm.log_likelihood("zz") == -np.inf
  with pytest.raises(UsageError, match="no 3-grams"):
    ngram.ngram_jsd(["ab"], ["abc"], 3)
