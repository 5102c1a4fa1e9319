"""Golden and property tests for repro.metrics.fid (Fréchet distance, statistics, stats files)."""

import math
import os
import warnings
import zipfile

import numpy as np
import pytest

from repro.errors import DataUnavailableError, UsageError
from repro.metrics import fid
from repro.metrics.stats_io import read_statistics_file


def test_univariate_gaussians():
  # N(0, 1) vs N(1, 4): (0 - 1)^2 + 1 + 4 - 2 * sqrt(1 * 4) = 2.
  assert abs(fid.frechet_distance(0.0, 1.0, 1.0, 4.0) - 2.0) < 1e-12
  assert abs(fid.frechet_distance([0.0], [[1.0]], [1.0], [[4.0]]) - 2.0) < 1e-12


def test_two_by_two_closed_form():
  mu1, s1 = np.array([0.0, 1.0]), np.array([[2.0, 0.5], [0.5, 1.0]])
  mu2, s2 = np.array([1.0, -1.0]), np.array([[1.0, -0.3], [-0.3, 0.5]])
  # Written out by hand: M = s1 s2, Tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) for a 2x2 matrix
  # with non-negative eigenvalues.
  m11 = 2.0 * 1.0 + 0.5 * -0.3
  m22 = 0.5 * -0.3 + 1.0 * 0.5
  tr_m = m11 + m22                                    # 1.85 + 0.35 = 2.2
  det_m = (2.0 * 1.0 - 0.5 * 0.5) * (1.0 * 0.5 - 0.3 * 0.3)  # det s1 * det s2 = 1.75 * 0.41
  tr_sqrt = math.sqrt(tr_m + 2.0 * math.sqrt(det_m))
  expected = (1.0 + 4.0) + (3.0 + 1.5) - 2.0 * tr_sqrt
  assert abs(fid.frechet_distance(mu1, s1, mu2, s2) - expected) < 1e-12
  # Symmetric in its two arguments.
  assert abs(fid.frechet_distance(mu2, s2, mu1, s1) - expected) < 1e-12


def test_compare_gan_toy_activations():
  # google/compare_gan compare_gan/metrics/fid_score_test.py: asserts 89.091 within 1e-4.
  real_data = np.ones((100, 2))
  real_data[:50, 0] = 2
  gen_data = np.ones((100, 2)) * 9
  gen_data[50:, 0] = 2
  # |dmu|^2 = 4^2 + 8^2 = 80; the x-variances are 0.25 * 100/99 and 12.25 * 100/99, the y ones 0,
  # so the trace term is (sqrt(.25) - sqrt(12.25))^2 * 100/99 = 900/99.
  expected = 80.0 + 900.0 / 99.0
  assert abs(fid.fid_from_activations(gen_data, real_data) - expected) < 1e-9
  assert abs(fid.fid_from_activations(real_data, gen_data) - 89.0909090909) < 1e-9


def test_identity_covariances_give_squared_mean_distance():
  rng = np.random.default_rng(0)
  mu1, mu2 = rng.normal(size=32), rng.normal(size=32)
  eye = np.eye(32)
  expected = float(np.sum((mu1 - mu2) ** 2))
  assert abs(fid.frechet_distance(mu1, eye, mu2, eye) - expected) < 1e-9


def _ttur_reference(mu1, s1, mu2, s2):
  """TTUR fid.py's formula with scipy.linalg.sqrtm (without the deprecated `disp`)."""
  from scipy import linalg
  covmean = linalg.sqrtm(s1.dot(s2))
  if np.iscomplexobj(covmean):
    covmean = covmean.real
  diff = mu1 - mu2
  return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def test_agrees_with_scipy_sqrtm_on_random_stats():
  pytest.importorskip("scipy")
  rng = np.random.default_rng(1)
  d = 64
  a = np.maximum(rng.normal(size=(500, d)) @ rng.normal(size=(d, d)), 0)
  b = np.maximum(rng.normal(size=(400, d)) @ rng.normal(size=(d, d)) + 0.3, 0)
  mu1, s1 = fid.activation_statistics(a)
  mu2, s2 = fid.activation_statistics(b)
  ours = fid.frechet_distance(mu1, s1, mu2, s2)
  ref = _ttur_reference(mu1, s1, mu2, s2)
  assert abs(ours - ref) < 1e-6 * abs(ref)


@pytest.mark.parametrize("zeros1,zeros2", [(0, 0), (3, 0), (0, 4), (3, 4), (5, 5)])
def test_commuting_covariances_closed_form(zeros1, zeros2):
  # sigma1 = Q diag(a) Q^T, sigma2 = Q diag(b) Q^T commute: Tr sqrt(sigma1 sigma2) = sum sqrt(a b).
  # Zeros in a or b make a covariance singular (every code path: Cholesky of sigma1, of sigma2,
  # or eigh when both are singular).
  rng = np.random.default_rng(7)
  d = 12
  q, _ = np.linalg.qr(rng.normal(size=(d, d)))
  a, b = rng.uniform(0.5, 3.0, d), rng.uniform(0.5, 3.0, d)
  a[:zeros1] = 0.0
  b[d - zeros2:] = 0.0
  s1, s2 = (q * a) @ q.T, (q * b) @ q.T
  s1, s2 = 0.5 * (s1 + s1.T), 0.5 * (s2 + s2.T)
  mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
  expected = float(np.sum((mu1 - mu2) ** 2) + a.sum() + b.sum() - 2 * np.sum(np.sqrt(a * b)))
  assert abs(fid.frechet_distance(mu1, s1, mu2, s2) - expected) < 1e-9 * expected


def test_zero_for_identical_statistics_and_singular_covariance():
  rng = np.random.default_rng(2)
  acts = rng.normal(size=(20, 50))  # rank-deficient covariance (n < d)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", fid.SampleCountWarning)
    mu, sigma = fid.activation_statistics(acts)
  assert abs(fid.frechet_distance(mu, sigma, mu, sigma)) < 1e-8


def test_activation_statistics_match_numpy_cov():
  rng = np.random.default_rng(3)
  acts = rng.normal(size=(300, 7)) * 5 + 100
  mu, sigma = fid.activation_statistics(acts)
  assert mu.dtype == np.float64 and sigma.dtype == np.float64
  np.testing.assert_allclose(mu, acts.mean(axis=0), rtol=0, atol=1e-12)
  np.testing.assert_allclose(sigma, np.cov(acts, rowvar=False), rtol=1e-12, atol=1e-12)
  _, s1 = fid.activation_statistics(acts[:, :1])
  assert s1.shape == (1, 1)


def test_streaming_matches_one_shot():
  rng = np.random.default_rng(4)
  # A large common offset makes naive sum-of-squares accumulation lose digits.
  acts = rng.normal(size=(1001, 16)) * 0.01 + 1e4 + rng.normal(size=16)
  mu, sigma = fid.activation_statistics(acts)
  stream = fid.StreamingStatistics()
  for start, stop in [(0, 1), (1, 50), (50, 50), (50, 777), (777, 1001)]:
    stream.update(acts[start:stop])
  assert stream.count == 1001
  mu_s, sigma_s = stream.result()
  np.testing.assert_allclose(mu_s, mu, rtol=1e-12)
  assert np.max(np.abs(sigma_s - sigma)) < 1e-10 * np.max(np.abs(sigma))
  # Merging two partial accumulators gives the same.
  left = fid.StreamingStatistics().update(acts[:400])
  right = fid.StreamingStatistics().update(acts[400:])
  mu_m, sigma_m = left.merge(right).result()
  assert np.max(np.abs(sigma_m - sigma)) < 1e-10 * np.max(np.abs(sigma))
  with pytest.raises(UsageError, match="features"):
    stream.update(np.zeros((3, 5)))


def test_sample_count_checks():
  with pytest.raises(UsageError, match="at least 2"):
    fid.check_sample_count(1, 3)
  with pytest.raises(UsageError):
    fid.StreamingStatistics().result()
  with pytest.warns(fid.SampleCountWarning, match="singular"):
    fid.check_sample_count(10, 2048)
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    fid.check_sample_count(3000, 2048)


def test_input_errors():
  eye = np.eye(3)
  with pytest.raises(UsageError, match="different lengths"):
    fid.frechet_distance(np.zeros(3), eye, np.zeros(4), np.eye(4))
  with pytest.raises(UsageError, match="shape"):
    fid.frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), eye)
  with pytest.raises(UsageError, match="NaN or Inf"):
    fid.frechet_distance(np.array([0, np.nan, 0]), eye, np.zeros(3), eye)
  with pytest.raises(UsageError, match="NaN or Inf"):
    fid.activation_statistics(np.array([[1.0, np.inf], [0.0, 1.0]]))
  with pytest.raises(UsageError, match="symmetric"):
    fid.frechet_distance(np.zeros(2), [[1, 0.5], [0, 1]], np.zeros(2), np.eye(2))
  with pytest.raises(UsageError, match="positive semi-definite"):
    fid.frechet_distance(np.zeros(2), [[1, 2], [2, 1]], np.zeros(2), np.eye(2))
  # sigma2 not PSD, found through the eigenvalues of L1^T sigma2 L1 (sigma1 positive definite,
  # ill-conditioned) and, with a singular sigma1, by its own check.
  for sigma1 in (np.diag([1.0, 1e-4, 3.0]), np.diag([1.0, 0.0, 3.0])):
    with pytest.raises(UsageError, match=r"sigma2 is not positive semi-definite \(smallest eigenvalue -0.5"):
      fid.frechet_distance(np.zeros(3), sigma1, np.zeros(3), np.diag([1.0, 2.0, -0.5]))
  # Round-off-level negative eigenvalues are accepted (a singular covariance from np.cov).
  x = np.random.default_rng(0).normal(size=(3, 5))
  assert np.isfinite(fid.frechet_distance(np.zeros(5), np.eye(5), np.zeros(5), np.cov(x, rowvar=False)))
  with pytest.raises(UsageError, match="2-D"):
    fid.activation_statistics(np.zeros((2, 2, 2)))


def test_eps_fallback(monkeypatch):
  calls = []
  real = fid._product_eigenvalues  # pylint: disable=protected-access

  def flaky(s1, s2, factors):
    calls.append((s1.copy(), s2.copy()))
    if len(calls) == 1:
      raise np.linalg.LinAlgError("Eigenvalues did not converge")
    return real(s1, s2, factors)

  monkeypatch.setattr(fid, "_product_eigenvalues", flaky)
  with pytest.warns(RuntimeWarning, match="adding 0.001"):
    value = fid.frechet_distance(0.0, 1.0, 1.0, 4.0, eps=1e-3)
  # Second call used sigma + eps * I on both sides.
  assert abs(calls[1][0][0, 0] - 1.001) < 1e-15 and abs(calls[1][1][0, 0] - 4.001) < 1e-15
  assert abs(value - (1 + 5 - 2 * math.sqrt(1.001 * 4.001))) < 1e-12


def test_npz_round_trip(tmp_path):
  rng = np.random.default_rng(5)
  mu = rng.normal(size=6)
  sigma = np.cov(rng.normal(size=(50, 6)), rowvar=False)
  path = tmp_path / "sub" / "stats.npz"
  fid.save_statistics(path, mu, sigma, count=50, protocol={"extractor": "fake"})
  mu2, sigma2 = fid.load_statistics(path)
  np.testing.assert_array_equal(mu2, mu)
  np.testing.assert_array_equal(sigma2, sigma)
  info = read_statistics_file(path)
  assert info["count"] == 50 and info["protocol"] == {"extractor": "fake"}
  # A TTUR-style file: only mu and sigma, float32, written with np.savez (name gets .npz).
  np.savez(tmp_path / "fid_stats_toy", mu=mu.astype(np.float32), sigma=sigma.astype(np.float32))
  mu3, sigma3 = fid.load_statistics(tmp_path / "fid_stats_toy.npz")
  assert mu3.dtype == np.float64 and sigma3.shape == (6, 6)
  assert read_statistics_file(tmp_path / "fid_stats_toy.npz")["count"] is None


def test_bad_npz_files(tmp_path):
  with pytest.raises(DataUnavailableError, match="not found"):
    fid.load_statistics(tmp_path / "missing.npz")
  np.savez(tmp_path / "nokey.npz", mu=np.zeros(3))
  with pytest.raises(UsageError, match=r"nokey\.npz lacks key\(s\) sigma"):
    fid.load_statistics(tmp_path / "nokey.npz")
  np.savez(tmp_path / "dims.npz", mu=np.zeros(3), sigma=np.zeros((4, 4)))
  with pytest.raises(UsageError, match=r"dims\.npz.*sigma must be"):
    fid.load_statistics(tmp_path / "dims.npz")
  np.savez(tmp_path / "mu2d.npz", mu=np.zeros((3, 1)), sigma=np.zeros((3, 3)))
  with pytest.raises(UsageError, match="mu must be 1-D"):
    fid.load_statistics(tmp_path / "mu2d.npz")
  (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
  with pytest.raises(UsageError, match=r"corrupt\.npz"):
    fid.load_statistics(tmp_path / "corrupt.npz")
  with zipfile.ZipFile(tmp_path / "truncated.npz", "w") as z:
    z.writestr("mu.npy", b"\x93NUMPY garbage")
    z.writestr("sigma.npy", b"")
  with pytest.raises(UsageError, match=r"truncated\.npz"):
    fid.load_statistics(tmp_path / "truncated.npz")
  np.savez(tmp_path / "pickled.npz", mu=np.array([{"a": 1}], dtype=object), sigma=np.eye(1))
  with pytest.raises(UsageError, match=r"pickled\.npz"):
    fid.load_statistics(tmp_path / "pickled.npz")
  np.save(tmp_path / "single.npy", np.zeros(3))
  with pytest.raises(UsageError, match="single .npy"):
    fid.load_statistics(tmp_path / "single.npy")
  for path in ["nokey.npz", "dims.npz", "corrupt.npz", "truncated.npz", "pickled.npz"]:
    try:
      fid.load_statistics(tmp_path / path)
    except UsageError as e:
      assert "\n" not in str(e) and os.fspath(tmp_path / path) in str(e)


def test_blocked_triangular_product_and_trace_paths():
  rng = np.random.default_rng(8)
  for d, block in ((1, 4), (7, 4), (8, 4), (13, 4), (13, 256)):  # one block, several, ragged last
    l, s = np.tril(rng.normal(size=(d, d))), rng.normal(size=(d, d))
    lower = fid._congruence_lower(l, s + s.T, block)  # pylint: disable=protected-access
    np.testing.assert_allclose(np.tril(lower), np.tril(l.T @ (s + s.T) @ l), rtol=1e-12,
                               atol=1e-12)
  a = rng.normal(size=(13, 13))
  sym, asym = fid._symmetrize(a, block=4)  # pylint: disable=protected-access
  np.testing.assert_array_equal(sym, 0.5 * (a + a.T))
  assert asym == np.max(np.abs(a - a.T))
  b = a + a.T
  sym, asym = fid._symmetrize(b, block=4)  # pylint: disable=protected-access
  assert sym is b and asym == 0.0
  # All factorisation paths of trace_sqrt_product give the same value on full-rank input.
  x1, x2 = rng.normal(size=(80, 30)), rng.normal(size=(90, 30)) * 2 + 1
  s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
  f1, f2 = np.linalg.cholesky(s1), np.linalg.cholesky(s2)
  values = [fid.trace_sqrt_product(s1, s2, factors=f) for f in
            ((f1, f2), (f1, None), (None, f2), (None, None))]
  np.testing.assert_allclose(values, values[0], rtol=1e-12)
