"""Kernel Inception Distance (Bińkowski et al. 2018, arXiv:1801.01401) with TF-GAN's block estimator.

Reference: tensorflow/gan ``tensorflow_gan/python/eval/classifier_metrics.py``,
``kernel_classifier_distance_and_std_from_activations``. With the cubic polynomial kernel
k(x, y) = (x.y / d + 1)^3, the samples are split into ``n_blocks = ceil(max(n1, n2) / block_size)``
blocks of nearly equal size (the first blocks get ``n // n_blocks`` rows, the last ``n % n_blocks``
blocks one more); in each block the unbiased MMD^2 estimate is

    mean_{i != j} k(x_i, x_j) + mean_{i != j} k(y_i, y_j) - 2 mean_{i, j} k(x_i, y_j)

and the result is the mean over blocks with standard error ``sqrt(var_ddof1(blocks) / n_blocks)``
(NaN for a single block, as in TF-GAN). Like TF-GAN this assumes the rows are in random order.
Computed in float64 NumPy.
"""

import math

import numpy as np

from repro.errors import UsageError
from repro.metrics.statistics import as_activations


def polynomial_kernel(x, y, dim=None):
  """k(x, y) = (x . y / d + 1)^3 for all pairs of rows."""
  dim = x.shape[1] if dim is None else dim
  return (x @ y.T / dim + 1.0) ** 3


def block_sizes(n, n_blocks):
  """TF-GAN's split of n rows into n_blocks blocks: the last n % n_blocks blocks get one more."""
  v = n // n_blocks
  n_plus_one = n - v * n_blocks
  return [v] * (n_blocks - n_plus_one) + [v + 1] * n_plus_one


def mmd2_unbiased(x, y):
  """Unbiased MMD^2 with the cubic polynomial kernel for one block (needs >= 2 rows each)."""
  m = x.shape[0]
  n = y.shape[0]
  k_xx = polynomial_kernel(x, x)
  k_yy = polynomial_kernel(y, y)
  k_xy = polynomial_kernel(x, y)
  return ((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1)) +
          (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1)) - 2.0 * k_xy.mean())


def kernel_inception_distance(features1, features2, block_size=1000):
  """Returns (KID, standard error) for activations [n1, d] and [n2, d] (TF-GAN block semantics).

  ``block_size`` is TF-GAN's ``max_block_size`` (TF-GAN's default is 1024). The standard error is
  NaN when there is only one block.
  """
  x = as_activations(features1, "features1")
  y = as_activations(features2, "features2")
  if x.shape[1] != y.shape[1]:
    raise UsageError(f"features have different dimensions ({x.shape[1]} vs {y.shape[1]}): use "
                     f"the same extractor for both sets")
  block_size = int(block_size)
  if block_size < 2:
    raise UsageError(f"block_size must be >= 2, got {block_size}")
  n1, n2 = x.shape[0], y.shape[0]
  n_blocks = int(math.ceil(max(n1, n2) / block_size))
  sizes1 = block_sizes(n1, n_blocks)
  sizes2 = block_sizes(n2, n_blocks)
  if min(sizes1) < 2 or min(sizes2) < 2:
    raise UsageError(f"KID with block_size={block_size} splits {n1} and {n2} samples into "
                     f"{n_blocks} blocks, leaving a block with fewer than 2 samples of one set: "
                     f"use more samples or balance the two sets")
  starts1 = np.concatenate([[0], np.cumsum(sizes1)])
  starts2 = np.concatenate([[0], np.cumsum(sizes2)])
  estimates = np.array([
      mmd2_unbiased(x[starts1[i]:starts1[i + 1]], y[starts2[i]:starts2[i + 1]])
      for i in range(n_blocks)
  ])
  mean = float(np.mean(estimates))
  if n_blocks <= 1:
    return mean, float("nan")
  var = float(np.sum((estimates - mean) ** 2) / (n_blocks - 1))
  return mean, float(math.sqrt(var / n_blocks))
