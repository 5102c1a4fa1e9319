"""Mean and covariance of feature activations, one-shot or streamed, in float64.

The statistics are those of TTUR ``fid.py`` ``calculate_activation_statistics``:
``mu = mean(act, axis=0)`` and ``sigma = np.cov(act, rowvar=False)``, i.e. the *unbiased* (N - 1)
covariance. ``StreamingStatistics`` gives the same numbers without holding all activations in memory
(O(d^2) memory), using the pairwise update of Chan, Golub & LeVeque (1979) for the mean and the
centred sum of outer products, which stays accurate when the features have a large mean.
"""

import warnings

import numpy as np
from absl import logging

from repro.errors import UsageError


class SampleCountWarning(UserWarning):
  """Fewer samples than feature dimensions: the covariance is singular (TTUR README)."""


def check_sample_count(n, d):
  """Checks that n samples of d-dimensional features give a usable covariance.

  Raises UsageError for n < 2 (no unbiased covariance exists). Warns (``SampleCountWarning`` and an
  absl log line) for n < d: the covariance then has rank < d, and TTUR's README asks for more samples
  than the 2048 Inception features (it recommends >= 10,000; the papers use 50,000).
  """
  n = int(n)
  d = int(d)
  if n < 2:
    raise UsageError(f"need at least 2 samples to estimate a covariance, got {n}: "
                     f"feed more images")
  if n < d:
    msg = (f"only {n} samples for {d}-dimensional features: the covariance is singular and the "
           f"FID is biased; use at least {d} (TTUR recommends 10,000)")
    logging.warning(msg)
    warnings.warn(msg, SampleCountWarning, stacklevel=2)


def as_activations(activations, name="activations"):
  """Returns `activations` as a finite float64 array [N, d]; UsageError otherwise."""
  try:
    a = np.asarray(activations, dtype=np.float64)
  except (TypeError, ValueError) as e:
    raise UsageError(f"{name} must be a numeric array [N, d]: {e}") from None
  if a.ndim != 2:
    raise UsageError(f"{name} must be a 2-D array [N, d], got shape {a.shape}")
  if a.shape[1] < 1:
    raise UsageError(f"{name} has no feature columns (shape {a.shape})")
  if not np.all(np.isfinite(a)):
    raise UsageError(f"{name} contains NaN or Inf values: check the images and the feature extractor")
  return a


def activation_statistics(activations):
  """Returns (mu [d], sigma [d, d]) in float64, as TTUR's ``calculate_activation_statistics``.

  ``sigma`` is the unbiased covariance (``np.cov(act, rowvar=False)`` semantics) and always 2-D,
  also for d = 1.
  """
  a = as_activations(activations)
  check_sample_count(a.shape[0], a.shape[1])
  mu = a.mean(axis=0)
  centred = a - mu
  sigma = centred.T @ centred / (a.shape[0] - 1)
  return mu, sigma


class StreamingStatistics:
  """Accumulates mean and unbiased covariance over batches in float64 with O(d^2) memory.

  Each batch is centred on its own mean and merged with the running totals by Chan et al.'s
  pairwise formula::

      n = n_a + n_b,   delta = mean_b - mean_a
      mean = mean_a + delta * n_b / n
      M2 = M2_a + M2_b + outer(delta, delta) * n_a * n_b / n

  where M2 is the centred sum of outer products; ``sigma = M2 / (n - 1)``. The result matches
  ``activation_statistics`` on the concatenated batches to ~1e-12 relative.

  Usage::

      stats = StreamingStatistics()
      for batch in batches:
        stats.update(features(batch))
      mu, sigma = stats.result()
  """

  # Small batches are buffered (float64) and merged together once at least this many bytes of
  # rows are held: each merge makes several passes over the d x d matrix (for d = 2048 a rank-50
  # update is memory-bound: 50 000 rows in batches of 50 took 85 s, in batches of 500 15 s).
  BUFFER_BYTES = 8 << 20

  def __init__(self, dim=None):
    self._dim = None if dim is None else int(dim)
    self._n = 0
    self._mean = None
    self._m2 = None
    self._pending, self._pending_rows = [], 0

  @property
  def count(self):
    """Number of rows seen so far."""
    return self._n + self._pending_rows

  @property
  def dim(self):
    """Feature dimension (None before the first batch unless given)."""
    return self._dim

  def update(self, batch):
    """Adds a batch of activations [n, d] (n may be 0)."""
    b = as_activations(batch, "batch")
    if self._dim is None:
      self._dim = b.shape[1]
    elif b.shape[1] != self._dim:
      raise UsageError(f"batch has {b.shape[1]} features, earlier batches had {self._dim}: "
                       f"use one feature extractor for all batches")
    if b.shape[0] == 0:
      return self
    if isinstance(batch, np.ndarray) and np.may_share_memory(b, batch):
      b = b.copy()   # held until the next merge: the caller may reuse its array
    self._pending.append(b)
    self._pending_rows += b.shape[0]
    if self._pending_rows * self._dim * 8 >= self.BUFFER_BYTES:
      self._flush()
    return self

  def _flush(self):
    if not self._pending:
      return
    b = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
    self._pending, self._pending_rows = [], 0
    nb = b.shape[0]
    mean_b = b.mean(axis=0)
    centred = b - mean_b
    del b
    m2_b = centred.T @ centred
    del centred
    self._merge(nb, mean_b, m2_b)

  def merge(self, other):
    """Adds the rows accumulated by another StreamingStatistics (e.g. from another worker)."""
    if not isinstance(other, StreamingStatistics):
      raise UsageError("merge() takes another StreamingStatistics")
    other._flush()
    self._flush()
    if other._n == 0:
      return self
    if self._dim is not None and other._dim != self._dim:
      raise UsageError(f"cannot merge statistics of {other._dim}-d features into {self._dim}-d ones")
    self._dim = other._dim
    self._merge(other._n, other._mean, other._m2)
    return self

  def _merge(self, nb, mean_b, m2_b):
    if self._n == 0:
      self._n, self._mean, self._m2 = nb, mean_b.copy(), m2_b.copy()
      return
    na = self._n
    n = na + nb
    delta = mean_b - self._mean
    self._mean = self._mean + delta * (nb / n)
    self._m2 += m2_b                                   # in place: no new d x d arrays but the
    self._m2 += np.outer(delta, delta * (na * nb / n))  # outer product itself
    self._n = n

  def result(self):
    """Returns (mu [d], sigma [d, d]) float64; UsageError if fewer than 2 rows were seen."""
    self._flush()
    if self._n == 0:
      raise UsageError("no activations were accumulated: feed at least 2 samples")
    check_sample_count(self._n, self._dim)
    sigma = self._m2 / (self._n - 1)
    return self._mean.copy(), 0.5 * (sigma + sigma.T)
