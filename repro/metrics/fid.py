"""Fréchet Inception Distance: the Fréchet distance between Gaussians fitted to features.

Reference implementation: TTUR ``fid.py`` (bioinf-jku/TTUR, ``calculate_frechet_distance``)::

    d^2 = ||mu1 - mu2||^2 + Tr(sigma1) + Tr(sigma2) - 2 Tr(sqrtm(sigma1 sigma2))

TTUR takes ``scipy.linalg.sqrtm`` of the non-symmetric product and, if the result is not finite,
retries with ``eps * I`` added to both covariances. Here the trace term is computed as in TF-GAN's
``classifier_metrics.trace_sqrt_product``: for any factor sigma1 = B B^T (Cholesky, or sqrt(sigma1)
from ``np.linalg.eigh`` when sigma1 is singular), sigma1 sigma2 has the same eigenvalues as the
symmetric PSD matrix B^T sigma2 B, so

    Tr sqrt(sigma1 sigma2) = sum_i sqrt(lambda_i(B^T sigma2 B)).

Only a Cholesky factorisation and a symmetric eigenvalue computation are needed (no eigenvectors,
no complex round-off; see ``bench/bench_fid.py`` for the speed against ``sqrtm``). Negative
eigenvalues from round-off are clipped to 0, and in the last step eigenvalues below ``max_eigenvalue * d * machine_eps`` (``np.linalg.matrix_rank``'s tolerance)
count as 0, so singular covariances (fewer samples than features) get no sqrt-of-round-off bias.
TTUR's ``eps`` fallback is kept for when the eigendecomposition fails or the result is not finite.

Run as a program (``python -m repro.metrics.fid A B``) it compares two image folders or statistics
files; see ``repro/metrics/fid_cli.py``.
"""

import warnings

import numpy as np
from absl import logging

from repro.errors import UsageError
from repro.metrics.statistics import (SampleCountWarning, StreamingStatistics,  # noqa: F401
                                      activation_statistics, check_sample_count)
from repro.metrics.stats_io import load_statistics, save_statistics  # noqa: F401

__all__ = [
    "activation_statistics", "StreamingStatistics", "check_sample_count", "SampleCountWarning",
    "frechet_distance", "trace_sqrt_product", "fid_from_activations", "save_statistics",
    "load_statistics",
]

# Negative eigenvalues below -_PSD_TOL * max|eigenvalue| mean the input is not a covariance.
_PSD_TOL = 1e-6
# Allowed asymmetry, relative to the largest entry.
_SYM_TOL = 1e-6


def _symmetric_sqrt(matrix):
  """Principal square root of a symmetric PSD matrix via eigh (negative round-off clipped)."""
  w, v = np.linalg.eigh(matrix)
  w = np.clip(w, 0.0, None)
  return (v * np.sqrt(w)) @ v.T


def _symmetrize(s, block=256):
  """(0.5 (s + s^T), max |s - s^T|), in cache-friendly blocks (a plain s.T pass is strided)."""
  d = s.shape[0]
  out = np.empty_like(s)
  asym = 0.0
  for i in range(0, d, block):
    for j in range(i, d, block):
      a, b = s[i:i + block, j:j + block], s[j:j + block, i:i + block].T
      if a.size:
        asym = max(asym, float(np.max(np.abs(a - b))))
      out[i:i + block, j:j + block] = 0.5 * (a + b)
      out[j:j + block, i:i + block] = out[i:i + block, j:j + block].T
  return out, asym


def _trace_sqrt_psd(m):
  """sum_i sqrt(lambda_i) of a symmetric PSD matrix (lower triangle read), round-off counted as 0."""
  eig = np.linalg.eigvalsh(m)
  # Eigenvalues below the numerical-rank tolerance of np.linalg.matrix_rank are round-off of exact
  # zeros (singular covariances, n < d); their square roots (~1e-8 each) would add up to a visible
  # bias, so they count as 0.
  tol = max(float(eig[-1]), 0.0) * m.shape[0] * np.finfo(np.float64).eps
  return float(np.sum(np.sqrt(np.where(eig > tol, eig, 0.0))))


def _upper_times_lower(u, l, block=256):
  """u @ l for upper-triangular u and lower-triangular l, skipping the zero blocks (~40% of gemm).

  (u l)[I, J] = u[I, k] l[k, J] summed over k >= max(I, J) only.
  """
  d = u.shape[0]
  out = np.empty((d, d), dtype=np.result_type(u, l))
  for i in range(0, d, block):
    for j in range(0, d, block):
      k = max(i, j)
      out[i:i + block, j:j + block] = u[i:i + block, k:] @ l[k:, j:j + block]
  return out


def _cholesky_or_none(matrix):
  """Lower Cholesky factor of a positive definite matrix, None if the factorisation fails."""
  try:
    return np.linalg.cholesky(matrix)
  except np.linalg.LinAlgError:
    return None


def trace_sqrt_product(sigma1, sigma2, factors=None):
  """Tr sqrt(sigma1 sigma2) for symmetric PSD matrices (TF-GAN's ``trace_sqrt_product`` idea).

  sigma1 sigma2 = B (B^T sigma2 B) B^-1 for any factor sigma1 = B B^T, so its eigenvalues are those
  of the symmetric PSD matrix B^T sigma2 B. B is the Cholesky factor of whichever covariance is
  positive definite (one Cholesky, two products, one ``eigvalsh``: no eigenvectors, no
  non-symmetric algebra; if both are, with sigma2 = L2 L2^T, B^T sigma2 B = K^T K for
  K = L2^T L1); if both are singular (fewer samples than features), B = sqrt(sigma1)
  from ``eigh``. `factors` may pass the Cholesky factors (or None) already computed. May raise
  ``np.linalg.LinAlgError`` if an eigendecomposition does not converge.
  """
  f1, f2 = factors if factors is not None else (_cholesky_or_none(sigma1), None)
  if f1 is None and f2 is None and factors is None:
    f2 = _cholesky_or_none(sigma2)
  if f1 is not None and f2 is not None:
    # B^T sigma2 B = K^T K with K = L2^T L1 (numpy computes K.T @ K with syrk: exactly symmetric).
    k = _upper_times_lower(f2.T, f1)
    return _trace_sqrt_psd(k.T @ k)
  if f1 is not None:
    return _trace_sqrt_psd(f1.T @ sigma2 @ f1)
  if f2 is not None:
    return _trace_sqrt_psd(f2.T @ sigma1 @ f2)
  root = _symmetric_sqrt(sigma1)
  return _trace_sqrt_psd(root @ sigma2 @ root)


def _validate(mu1, sigma1, mu2, sigma2):
  arrays = []
  for name, value, ndim in (("mu1", mu1, 1), ("sigma1", sigma1, 2), ("mu2", mu2, 1),
                            ("sigma2", sigma2, 2)):
    try:
      arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
      raise UsageError(f"{name} must be a numeric array: {e}") from None
    arr = np.atleast_1d(arr) if ndim == 1 else np.atleast_2d(arr)
    if arr.ndim != ndim:
      raise UsageError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not np.isfinite(arr.sum()) and not np.all(np.isfinite(arr)):
      raise UsageError(f"{name} contains NaN or Inf values: recompute the statistics")
    arrays.append(arr)
  mu1, sigma1, mu2, sigma2 = arrays
  if mu1.shape != mu2.shape:
    raise UsageError(f"mean vectors have different lengths ({mu1.shape[0]} vs {mu2.shape[0]}): "
                     f"both statistics must come from the same feature extractor")
  d = mu1.shape[0]
  for name, s in (("sigma1", sigma1), ("sigma2", sigma2)):
    if s.shape != (d, d):
      raise UsageError(f"{name} has shape {s.shape}, expected {(d, d)} to match the means")
  symmetric = []
  for name, s in (("sigma1", sigma1), ("sigma2", sigma2)):
    sym, asym = _symmetrize(s)
    scale = max(float(np.max(np.abs(s))), np.finfo(np.float64).tiny)
    if asym > _SYM_TOL * scale:
      raise UsageError(f"{name} is not symmetric: pass a covariance matrix")
    symmetric.append(sym)
  return mu1, symmetric[0], mu2, symmetric[1]


def _check_psd(name, sigma):
  """UsageError unless sigma's smallest eigenvalue is >= -_PSD_TOL * its largest diagonal entry.

  Tested with one Cholesky factorisation of sigma + tol * I (which exists iff sigma + tol * I is
  positive definite); the eigenvalues are computed only for the error message.
  """
  scale = max(float(np.max(np.diag(sigma))), 0.0)
  try:
    if scale == 0.0:
      if np.any(sigma != 0.0):
        raise np.linalg.LinAlgError("zero diagonal, non-zero entries")
      return
    np.linalg.cholesky(sigma + np.eye(sigma.shape[0]) * (_PSD_TOL * scale))
  except np.linalg.LinAlgError:
    w = np.linalg.eigvalsh(sigma)
    raise UsageError(f"{name} is not positive semi-definite (smallest eigenvalue {w[0]:.3g}): "
                     f"pass a covariance matrix") from None


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6, check_psd=True):
  """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) as a Python float.

  Same value as TTUR's ``calculate_frechet_distance`` (to round-off), computed with symmetric
  eigendecompositions (see module docstring). ``eps`` is TTUR's fallback offset: if the trace term
  is not finite (or the eigendecomposition fails), ``eps * I`` is added to both covariances, with a
  warning. Scalars are accepted for 1-D Gaussians: ``frechet_distance(0, 1, 1, 4) == 2``.

  Raises UsageError for mismatched shapes, non-finite inputs, asymmetric or (if ``check_psd``)
  clearly non-PSD covariances.
  """
  mu1, sigma1, mu2, sigma2 = _validate(mu1, sigma1, mu2, sigma2)
  # A successful Cholesky proves a covariance positive definite; only the others need the check.
  f1 = _cholesky_or_none(sigma1)
  f2 = _cholesky_or_none(sigma2) if (f1 is None or check_psd) else None
  if check_psd:
    for name, sigma, factor in (("sigma1", sigma1, f1), ("sigma2", sigma2, f2)):
      if factor is None:
        _check_psd(name, sigma)
  diff = mu1 - mu2
  try:
    tr_covmean = trace_sqrt_product(sigma1, sigma2, factors=(f1, f2))
  except np.linalg.LinAlgError:
    tr_covmean = float("nan")
  if not np.isfinite(tr_covmean):
    msg = (f"Fréchet distance: singular product; adding {eps} to the diagonal of both "
           f"covariances (TTUR fallback)")
    logging.warning(msg)
    warnings.warn(msg, RuntimeWarning, stacklevel=2)
    offset = np.eye(sigma1.shape[0]) * eps
    tr_covmean = trace_sqrt_product(sigma1 + offset, sigma2 + offset)
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def fid_from_activations(activations1, activations2, eps=1e-6):
  """FID between two activation arrays [N, d] (statistics as TTUR: mean and unbiased cov)."""
  mu1, sigma1 = activation_statistics(activations1)
  mu2, sigma2 = activation_statistics(activations2)
  return frechet_distance(mu1, sigma1, mu2, sigma2, eps=eps)


if __name__ == "__main__":
  from repro.metrics import fid_cli

  fid_cli.run()
