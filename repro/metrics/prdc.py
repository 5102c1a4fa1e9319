"""k-NN precision/recall and density/coverage of two feature sets.

* Precision and recall: Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing
  Generative Models", NeurIPS 2019 (arXiv:1904.06991); the paper uses k = 3.
* Density and coverage: Naeem et al., "Reliable Fidelity and Diversity Metrics for Generative
  Models", ICML 2020 (arXiv:2002.09797); the paper recommends k = 5.

For real features X_1..X_N and fake features Y_1..Y_M, NND_k(X_i) is the Euclidean distance from
X_i to its k-th nearest neighbour in its own set, itself excluded, and B(x, r) is the open ball
{y: |y - x| < r}:

    precision = (1/M) sum_j 1[exists i: Y_j in B(X_i, NND_k(X_i))]
    recall    = (1/N) sum_i 1[exists j: X_i in B(Y_j, NND_k(Y_j))]
    density   = 1/(kM) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]
    coverage  = (1/N) sum_i 1[exists j: Y_j in B(X_i, NND_k(X_i))]

Reference implementation: clovaai/generative-evaluation-prdc ``prdc/prdc.py`` ``compute_prdc``
(PyPI ``prdc`` 0.2). Its balls are open, ``distance_real_fake <
np.expand_dims(real_nearest_neighbour_distances, axis=1)``, and so are these; Kynkäänniemi's own
code (kynkaat/improved-precision-and-recall-metric) tests ``<=``, which differs only for points
exactly on a sphere. Distances are computed as prdc's ``sklearn.metrics.pairwise_distances`` does
for float64 features, sqrt(max(-2 x.y + |x|^2 + |y|^2, 0)) with the distance of a point to itself
set to 0, so the counts agree with prdc's exactly unless a distance lies within round-off of a
radius. Float32 features are converted to float64 first (prdc, through sklearn, rounds their
distances to float32).

All distances are computed in blocks of rows (a block of distances stays under ``_BLOCK_BYTES``), so
50,000 x 2048 features per side need the two float64 feature arrays and a few hundred MB, never an
N x N matrix.
"""

import numbers

import numpy as np

from repro.errors import UsageError
from repro.metrics.statistics import as_activations

__all__ = ["nearest_neighbour_radii", "precision_recall", "density_coverage", "prdc"]

_BLOCK_BYTES = 256 << 20


def _check_k(k, name="k"):
  if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
    raise UsageError(f"{name} must be a positive integer, got {k!r}")
  return int(k)


def _check_count(name, x, k):
  if x.shape[0] <= k:
    raise UsageError(f"{name} has {x.shape[0]} rows: the k-th nearest neighbour with k={k} needs "
                     f"at least {k + 1}")


def _pair(real, fake):
  x = as_activations(real, "real")
  y = as_activations(fake, "fake")
  if x.shape[1] != y.shape[1]:
    raise UsageError(f"real and fake features have different dimensions ({x.shape[1]} vs "
                     f"{y.shape[1]}): use the same extractor for both sets")
  return x, y


def _block_rows(n_cols, block_rows):
  if block_rows is None:
    return max(1, _BLOCK_BYTES // (8 * max(n_cols, 1)))
  if isinstance(block_rows, bool) or not isinstance(block_rows, numbers.Integral) or block_rows < 1:
    raise UsageError(f"block_rows must be a positive integer, got {block_rows!r}")
  return int(block_rows)


def _sq_norms(x):
  return np.einsum("ij,ij->i", x, x)


def _distances(a, a_norms, b, b_norms):
  """|a_i - b_j| as sklearn's float64 ``euclidean_distances``: same operations, same order.

  `a` is copied when it shares memory with `b`: NumPy sends ``x @ x.T`` to BLAS syrk, which rounds
  differently from gemm, and fake = real must give the same distances in every pass.
  """
  d = (a.copy() if np.may_share_memory(a, b) else a) @ b.T
  d *= -2.0
  d += a_norms[:, None]
  d += b_norms[None, :]
  np.maximum(d, 0.0, out=d)
  return np.sqrt(d, out=d)


def _radii(x, ks, block_rows):
  """NND_k(x_i) for each k in ks: array [len(ks), N]."""
  n = x.shape[0]
  norms = _sq_norms(x)
  rows = _block_rows(n, block_rows)
  out = np.empty((len(ks), n))
  for start in range(0, n, rows):
    stop = min(start + rows, n)
    d = _distances(x[start:stop], norms[start:stop], x, norms)
    d[np.arange(stop - start), np.arange(start, stop)] = 0.0
    d.partition(ks, axis=1)
    out[:, start:stop] = d[:, ks].T
    del d   # before the next block is allocated
  return out


def nearest_neighbour_radii(features, k, block_rows=None):
  """Distance of each row of `features` [N, d] to its k-th nearest other row (needs N > k)."""
  k = _check_k(k)
  x = as_activations(features, "features")
  _check_count("features", x, k)
  return _radii(x, [k], block_rows)[0]


def _scan(x, y, real_radii, fake_radii, block_rows):
  """One pass over the real-fake distances, in blocks of real rows.

  For each row r of `real_radii` [R, N]: how many real balls B(X_i, r_i) hold each fake point
  (counts [R, M]) and whether each real ball holds a fake point (hit [R, N]); with `fake_radii`
  [M], whether each real point lies in a fake ball (in_fake [N], else None).
  """
  n, m = x.shape[0], y.shape[0]
  x_norms, y_norms = _sq_norms(x), _sq_norms(y)
  counts = np.zeros((len(real_radii), m), dtype=np.int64)
  hit = np.zeros((len(real_radii), n), dtype=bool)
  in_fake = None if fake_radii is None else np.zeros(n, dtype=bool)
  rows = _block_rows(m, block_rows)
  for start in range(0, n, rows):
    stop = min(start + rows, n)
    d = _distances(x[start:stop], x_norms[start:stop], y, y_norms)
    for r, count, h in zip(real_radii, counts, hit):
      inside = d < r[start:stop, None]
      count += np.count_nonzero(inside, axis=0)
      h[start:stop] = inside.any(axis=1)
    if in_fake is not None:
      in_fake[start:stop] = (d < fake_radii[None, :]).any(axis=1)
    del d, inside
  return counts, hit, in_fake


def _density(counts, k):
  """(1/k) mean_j counts_j, in prdc's order of operations (so equal to the last bit)."""
  return float((1.0 / k) * np.mean(counts))


def prdc(real, fake, k_pr=3, k_dc=5, block_rows=None):
  """{precision, recall, density, coverage} of fake features [M, d] against real ones [N, d].

  Precision and recall use k = `k_pr` (Kynkäänniemi et al.: 3), density and coverage k = `k_dc`
  (Naeem et al.: 5); ``prdc.compute_prdc(real, fake, k)`` equals ``prdc(real, fake, k, k)``.
  `block_rows` sets the rows per block of distances (default: a block stays under 256 MB).
  Three passes over pairs: real-real, fake-fake, real-fake.
  """
  k_pr, k_dc = _check_k(k_pr, "k_pr"), _check_k(k_dc, "k_dc")
  x, y = _pair(real, fake)
  _check_count("real", x, max(k_pr, k_dc))
  _check_count("fake", y, k_pr)
  ks = sorted({k_pr, k_dc})
  real_radii = _radii(x, ks, block_rows)
  fake_radii = _radii(y, [k_pr], block_rows)[0]
  counts, hit, in_fake = _scan(x, y, real_radii, fake_radii, block_rows)
  pr, dc = ks.index(k_pr), ks.index(k_dc)
  return {"precision": float(np.mean(counts[pr] > 0)), "recall": float(np.mean(in_fake)),
          "density": _density(counts[dc], k_dc), "coverage": float(np.mean(hit[dc]))}


def precision_recall(real, fake, k=3, block_rows=None):
  """(precision, recall) of Kynkäänniemi et al. 2019 for features [N, d] and [M, d] (N, M > k)."""
  k = _check_k(k)
  x, y = _pair(real, fake)
  _check_count("real", x, k)
  _check_count("fake", y, k)
  counts, _, in_fake = _scan(x, y, _radii(x, [k], block_rows), _radii(y, [k], block_rows)[0],
                             block_rows)
  return float(np.mean(counts[0] > 0)), float(np.mean(in_fake))


def density_coverage(real, fake, k=5, block_rows=None):
  """(density, coverage) of Naeem et al. 2020 for features [N, d] (N > k) and [M, d] (M >= 1).

  Needs only the real k-NN radii: two passes over pairs (real-real, real-fake).
  """
  k = _check_k(k)
  x, y = _pair(real, fake)
  _check_count("real", x, k)
  if y.shape[0] < 1:
    raise UsageError("fake has no rows: pass at least one fake feature vector")
  counts, hit, _ = _scan(x, y, _radii(x, [k], block_rows), None, block_rows)
  return _density(counts[0], k), float(np.mean(hit[0]))
