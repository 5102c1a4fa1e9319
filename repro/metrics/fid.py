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


def _asymmetry(s, block=256):
  """max |s - s^T|, read in cache-friendly blocks (a plain s.T pass is strided)."""
  d = s.shape[0]
  asym = 0.0
  for i in range(0, d, block):
    for j in range(i + block, d, block):
      asym = max(asym, float(np.max(np.abs(s[i:i + block, j:j + block] -
                                           s[j:j + block, i:i + block].T))))
    diag = s[i:i + block, i:i + block]
    asym = max(asym, float(np.max(np.abs(diag - diag.T))))
  return asym


def _symmetrize(s, block=256):
  """(0.5 (s + s^T), max |s - s^T|); s itself (no copy) when it is exactly symmetric."""
  asym = _asymmetry(s, block)
  if asym == 0.0:
    return s, 0.0
  d = s.shape[0]
  out = np.empty_like(s)
  for i in range(0, d, block):
    for j in range(i, d, block):
      out[i:i + block, j:j + block] = 0.5 * (s[i:i + block, j:j + block] +
                                             s[j:j + block, i:i + block].T)
      out[j:j + block, i:i + block] = out[i:i + block, j:j + block].T
  return out, asym


def _eigenvalue_tolerance(eig, d):
  """np.linalg.matrix_rank's tolerance: eigenvalues below it are round-off of exact zeros."""
  return max(float(eig[-1]), 0.0) * d * np.finfo(np.float64).eps


def _sum_sqrt(eig):
  """sum_i sqrt(lambda_i) of ascending eigenvalues of a PSD matrix, round-off counted as 0.

  Singular covariances (n < d) have exact zero eigenvalues; the square roots of their round-off
  (~1e-8 each) would add up to a visible bias.
  """
  tol = _eigenvalue_tolerance(eig, eig.shape[0])
  return float(np.sum(np.sqrt(np.where(eig > tol, eig, 0.0))))


def _congruence_lower(factor, s, block=256):
  """Lower block triangle of factor^T s factor for lower-triangular `factor` and symmetric `s`
  (the triangle eigvalsh reads; blocks above the diagonal band are left at 0).

  X^T = factor^T s skips the zero blocks of factor (X^T[J, :] = factor[k, J]^T s[k, :] over
  k >= J), and only the blocks I >= J of X^T factor are formed, one block row at a time:
  4/3 d^3 flops instead of 4 d^3, with contiguous row-block writes.
  """
  d = factor.shape[0]
  xt = np.empty((d, d), dtype=np.result_type(factor, s))
  for j in range(0, d, block):
    xt[j:j + block] = factor[j:, j:j + block].T @ s[j:, :]
  out = np.zeros_like(xt)
  for i in range(0, d, block):
    # (X^T factor)[I, J] = X^T[I, k] factor[k, J] = factor[k, I]^T X[k, J] summed over k >= I.
    out[i:i + block, :i + block] = factor[i:, i:i + block].T @ xt[:i + block, i:].T
  return out


def _cholesky_or_none(matrix):
  """Lower Cholesky factor of a positive definite matrix, None if the factorisation fails."""
  try:
    return np.linalg.cholesky(matrix)
  except np.linalg.LinAlgError:
    return None


def _cholesky_factors(sigma1, sigma2):
  """(L1, L2) as `_product_eigenvalues` uses them: L2 is only tried when sigma1 has no factor."""
  f1 = _cholesky_or_none(sigma1)
  return f1, (_cholesky_or_none(sigma2) if f1 is None else None)


def _product_eigenvalues(sigma1, sigma2, factors):
  """Ascending eigenvalues of sigma1 sigma2, as those of the symmetric B^T sigma_other B.

  `factors` = (L1, L2): Cholesky factors or None. With L1, B = L1 and the other matrix is sigma2;
  else with L2, B = L2 and sigma1; if neither exists, B = sqrt(sigma1) from ``eigh``.
  """
  f1, f2 = factors
  if f1 is not None:
    return np.linalg.eigvalsh(_congruence_lower(f1, sigma2))
  if f2 is not None:
    return np.linalg.eigvalsh(_congruence_lower(f2, sigma1))
  root = _symmetric_sqrt(sigma1)
  return np.linalg.eigvalsh(root @ sigma2 @ root)


def trace_sqrt_product(sigma1, sigma2, factors=None):
  """Tr sqrt(sigma1 sigma2) for symmetric PSD matrices (TF-GAN's ``trace_sqrt_product`` idea).

  sigma1 sigma2 = B (B^T sigma2 B) B^-1 for any factor sigma1 = B B^T, so its eigenvalues are those
  of the symmetric PSD matrix B^T sigma2 B. B is the Cholesky factor of whichever covariance is
  positive definite (one Cholesky, two triangular products, one ``eigvalsh``: no eigenvectors, no
  non-symmetric algebra); if both are singular (fewer samples than features), B = sqrt(sigma1)
  from ``eigh``. `factors` may pass the Cholesky factors (L1, L2), either None, already computed.
  May raise ``np.linalg.LinAlgError`` if an eigendecomposition does not converge.
  """
  if factors is None:
    factors = _cholesky_factors(sigma1, sigma2)
  return _sum_sqrt(_product_eigenvalues(sigma1, sigma2, factors))


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
    if asym > 0.0 and asym > _SYM_TOL * max(float(np.max(np.abs(s))), np.finfo(np.float64).tiny):
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
  # A successful Cholesky proves a covariance positive definite. If sigma1 is, sigma2 is checked
  # through the eigenvalues computed anyway: by Sylvester's law of inertia L1^T sigma2 L1 has as many
  # negative eigenvalues as sigma2, and only a negative one beyond round-off calls the full check.
  f1, f2 = _cholesky_factors(sigma1, sigma2)
  if check_psd and f1 is None:
    _check_psd("sigma1", sigma1)
    if f2 is None:
      _check_psd("sigma2", sigma2)
  diff = mu1 - mu2
  try:
    eig = _product_eigenvalues(sigma1, sigma2, (f1, f2))
  except np.linalg.LinAlgError:
    eig = np.array([float("nan")])
  if check_psd and f1 is not None and not eig[0] >= -_eigenvalue_tolerance(eig, eig.shape[0]):
    _check_psd("sigma2", sigma2)
  tr_covmean = _sum_sqrt(eig) if np.all(np.isfinite(eig)) else float("nan")
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

  __doc__ = fid_cli.__doc__   # the command's description for --help
  fid_cli.run()
