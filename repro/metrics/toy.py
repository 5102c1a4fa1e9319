"""Metrics for low-dimensional toy data: mode coverage, KL-WGAN's MMD and KDE log-likelihood.

* ``mode_coverage``: for Gaussian-mixture targets (WGAN-GP ``gan_toy.py`` 8/25 Gaussians, ...).
  The WGAN-GP code reports no toy metric; this is the suite's definition (see the function).
* ``mmd_rbf_unbiased``: unbiased MMD² with a Gaussian kernel of bandwidth h (the toy whole-run scorer).
* ``mmd_klwgan``: exactly ``mmd(X, Y)`` of ermongroup/f-wgan ``synthetic/kl_wgan.py``: Euclidean
  distances divided by the data dimension D, Gaussian kernel k = exp(-(||a - b|| / D)^2), biased
  estimator ``mean(Kxx) + mean(Kyy) - 2 mean(Kxy)`` (diagonals included). The paper's table reports
  it x 1000.
* ``kde_log_likelihood``: ``kde(G_x, data)`` of the same file, i.e.
  ``scipy.stats.gaussian_kde(G_x.T, bw_method='scott').logpdf(data.T).mean()``: the generated samples
  define a Gaussian KDE (kernel covariance = unbiased sample covariance x n^(-2/(d+4))) and the data
  are scored under it. Implemented in NumPy with a log-sum-exp (no SciPy).

All computations are float64 and blocked over rows, so 5000 x 5000 pairs need little memory.
"""

import dataclasses

import numpy as np

from repro.errors import UsageError

_BLOCK = 1024


def _points(x, name, dim=None):
  try:
    a = np.asarray(x, dtype=np.float64)
  except (TypeError, ValueError) as e:
    raise UsageError(f"{name} must be a numeric array [N, d]: {e}") from None
  if a.ndim == 1:
    a = a[:, None]
  if a.ndim != 2 or a.shape[0] < 1:
    raise UsageError(f"{name} must be a non-empty array [N, d], got shape {a.shape}")
  if not np.all(np.isfinite(a)):
    raise UsageError(f"{name} contains NaN or Inf values")
  if dim is not None and a.shape[1] != dim:
    raise UsageError(f"{name} has dimension {a.shape[1]}, expected {dim}")
  return a


def _sq_distances(x, y):
  """Squared Euclidean distances (expanded form, clipped at 0 like sklearn)."""
  d = (np.sum(x * x, axis=1)[:, None] + np.sum(y * y, axis=1)[None, :] - 2.0 * (x @ y.T))
  return np.maximum(d, 0.0)


@dataclasses.dataclass
class ModeCoverage:
  """Result of ``mode_coverage``."""
  modes_covered: int        # modes with >= min_count high-quality samples
  n_modes: int
  high_quality_fraction: float  # fraction of samples within n_sigma * std of their nearest centre
  counts: np.ndarray        # high-quality samples per mode
  min_count: int
  n_sigma: float

  def as_dict(self):
    return {"modes_covered": self.modes_covered, "n_modes": self.n_modes,
            "high_quality_fraction": self.high_quality_fraction,
            "counts": [int(c) for c in self.counts], "min_count": self.min_count,
            "n_sigma": self.n_sigma}


def mode_coverage(samples, centers, std, n_sigma=3.0, min_count=None):
  """Mode coverage of samples from a Gaussian mixture with the given centres.

  Definitions (this suite's; the WGAN-GP toy code has no metric):
    * every sample is assigned to its nearest centre (Euclidean);
    * it is *high quality* if its distance to that centre is at most ``n_sigma * std`` (``std`` is
      the per-coordinate standard deviation of the mixture component, a scalar or one per centre);
    * a mode is *covered* if it holds at least ``min_count`` high-quality samples. The default
      ``min_count`` is 1/5 of the count expected per mode if all samples were high quality and
      spread evenly, ``max(1, floor(0.2 * N / n_modes))``, so it scales with the sample size
      (e.g. 20 of 2500 samples on 25 modes).

  Note that in d dimensions the fraction of a Gaussian's own mass within 3 std of its centre is
  the chi(d) CDF at 3 (98.9% for d = 2), so a perfect sampler scores slightly below 1.
  """
  c = _points(centers, "centers")
  x = _points(samples, "samples", dim=c.shape[1])
  k = c.shape[0]
  std = np.broadcast_to(np.asarray(std, dtype=np.float64), (k,))
  if not np.all(std > 0):
    raise UsageError("std must be positive")
  if min_count is None:
    min_count = max(1, int(0.2 * x.shape[0] / k))
  min_count = int(min_count)
  if min_count < 1:
    raise UsageError(f"min_count must be >= 1, got {min_count}")
  counts = np.zeros(k, dtype=np.int64)
  n_hq = 0
  for start in range(0, x.shape[0], _BLOCK):
    block = x[start:start + _BLOCK]
    d2 = _sq_distances(block, c)
    nearest = np.argmin(d2, axis=1)
    dist = np.sqrt(d2[np.arange(block.shape[0]), nearest])
    hq = dist <= n_sigma * std[nearest]
    n_hq += int(np.sum(hq))
    counts += np.bincount(nearest[hq], minlength=k)
  return ModeCoverage(modes_covered=int(np.sum(counts >= min_count)), n_modes=k,
                      high_quality_fraction=n_hq / x.shape[0], counts=counts,
                      min_count=min_count, n_sigma=float(n_sigma))


def _mean_kernel(x, y, scale):
  total = 0.0
  for start in range(0, x.shape[0], _BLOCK):
    d2 = _sq_distances(x[start:start + _BLOCK], y)
    total += float(np.sum(np.exp(-d2 / scale)))
  return total / (x.shape[0] * y.shape[0])


def mmd_klwgan(x, y):
  """Biased MMD^2 of f-wgan ``synthetic/kl_wgan.py``: k(a, b) = exp(-(||a - b|| / D)^2).

  D is the data dimension (``X.shape[1]``). Multiply by 1000 to compare with the KL-WGAN table.
  """
  x = _points(x, "x")
  y = _points(y, "y", dim=x.shape[1])
  scale = float(x.shape[1]) ** 2
  return _mean_kernel(x, x, scale) + _mean_kernel(y, y, scale) - 2.0 * _mean_kernel(x, y, scale)


def mmd_rbf_unbiased(x, y, bandwidth=0.1):
  """Unbiased MMD^2 with the Gaussian kernel k(a, b) = exp(-||a - b||^2 / (2 h^2)), h = bandwidth:
  the means of k over distinct pairs within x and within y (diagonals left out) minus twice the
  mean over x-y pairs. The whole-run toy comparisons (README, "Whole runs") use h = 0.1 against
  4000 fresh real points."""
  x = _points(x, "x")
  y = _points(y, "y", dim=x.shape[1])
  if x.shape[0] < 2 or y.shape[0] < 2:
    raise UsageError("the unbiased MMD needs at least 2 points on each side")
  scale = 2.0 * float(bandwidth) ** 2

  def within(a):   # mean over pairs i != j; k(a_i, a_i) = 1
    n = a.shape[0]
    return (_mean_kernel(a, a, scale) * n * n - n) / (n * (n - 1))

  return within(x) + within(y) - 2.0 * _mean_kernel(x, y, scale)


def energy_distance(x, y):
  """Energy distance 2 E||X - Y|| - E||X - X'|| - E||Y - Y'|| with every mean over all pairs (V
  statistics, as scipy.stats.energy_distance, which returns its square root for 1-D samples)."""
  x = _points(x, "x")
  y = _points(y, "y", dim=x.shape[1])

  def mean_distance(a, b):
    total = 0.0
    for start in range(0, a.shape[0], _BLOCK):
      total += float(np.sum(np.sqrt(_sq_distances(a[start:start + _BLOCK], b))))
    return total / (a.shape[0] * b.shape[0])

  return 2.0 * mean_distance(x, y) - mean_distance(x, x) - mean_distance(y, y)


def mixture_run_scores(samples, real, centers, std, radius=0.1, mode_share=0.02, bandwidth=0.1):
  """The whole-run toy scores of issue 27: `near`, the fraction of samples within `radius` of their
  nearest centre; `modes`, the centres holding at least `mode_share` of the near samples;
  `mmd2`, `mmd_rbf_unbiased(samples, real, bandwidth)`; `energy`, `energy_distance(samples, real)`."""
  coverage = mode_coverage(samples, centers, std, n_sigma=radius / float(np.max(std)), min_count=1)
  n_near = int(np.sum(coverage.counts))
  modes = int(np.sum(coverage.counts >= mode_share * n_near)) if n_near else 0
  return {"near": coverage.high_quality_fraction, "modes": modes,
          "counts": [int(c) for c in coverage.counts],
          "mmd2": mmd_rbf_unbiased(samples, real, bandwidth),
          "energy": energy_distance(samples, real)}


def scott_factor(n, d):
  """Scott's bandwidth factor n^(-1/(d+4)) (scipy ``gaussian_kde.scotts_factor``, equal weights)."""
  return float(n) ** (-1.0 / (d + 4))


def kde_log_density(kernel_points, query):
  """Per-point log density of `query` under a Gaussian KDE on `kernel_points` (Scott's rule).

  Matches ``scipy.stats.gaussian_kde(kernel_points.T, bw_method='scott').logpdf(query.T)``.
  """
  g = _points(kernel_points, "kernel_points")
  q = _points(query, "query", dim=g.shape[1])
  n, d = g.shape
  if n < 2:
    raise UsageError("a KDE needs at least 2 kernel points")
  centred = g - g.mean(axis=0)
  cov = centred.T @ centred / (n - 1) * scott_factor(n, d) ** 2
  try:
    chol = np.linalg.cholesky(cov)
  except np.linalg.LinAlgError:
    raise UsageError(f"the {n} kernel points have a singular covariance (degenerate samples, "
                     f"e.g. all equal or on a line): the KDE is undefined") from None
  # Whiten both sets with L^-1 so the Mahalanobis distance becomes Euclidean.
  inv_chol = np.linalg.inv(chol)
  gw = g @ inv_chol.T
  qw = q @ inv_chol.T
  log_norm = -np.log(n) - 0.5 * d * np.log(2.0 * np.pi) - np.sum(np.log(np.diag(chol)))
  out = np.empty(q.shape[0])
  for start in range(0, q.shape[0], _BLOCK):
    e = -0.5 * _sq_distances(qw[start:start + _BLOCK], gw)
    m = np.max(e, axis=1, keepdims=True)
    out[start:start + _BLOCK] = m[:, 0] + np.log(np.sum(np.exp(e - m), axis=1))
  return out + log_norm


def kde_log_likelihood(generated, data):
  """Mean log-likelihood of `data` under a Gaussian KDE of the `generated` samples.

  f-wgan ``kde(G_x, data)``: ``gaussian_kde(G_x.T, 'scott').logpdf(data.T).mean()``.
  """
  return float(np.mean(kde_log_density(generated, data)))
