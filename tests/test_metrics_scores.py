"""Tests for repro.metrics.inception_score and repro.metrics.kid against independent references."""

import math

import numpy as np
import pytest

from repro.errors import UsageError
from repro.metrics.inception_score import inception_score, split_scores
from repro.metrics.kid import block_sizes, kernel_inception_distance


def test_uniform_predictions_score_one():
  mean, std = inception_score(np.zeros((100, 1008)), splits=10)
  assert abs(mean - 1.0) < 1e-12 and abs(std) < 1e-12


def test_one_hot_distinct_classes_score_split_size():
  # 10 splits of 7 samples, each split predicting 7 different classes with certainty: IS = 7.
  labels = np.tile(np.arange(7), 10)
  logits = np.full((70, 20), -1e4)
  logits[np.arange(70), labels] = 1e4
  mean, std = inception_score(logits, splits=10)
  assert abs(mean - 7.0) < 1e-9 and abs(std) < 1e-9
  # A single split over all 70 samples (7 classes, equally often) also scores 7.
  assert abs(inception_score(logits, splits=1)[0] - 7.0) < 1e-9


def _improved_gan_reference(logits, splits):
  """openai/improved-gan inception_score/model.py on softmax probabilities."""
  e = np.exp(logits - logits.max(axis=1, keepdims=True))
  preds = e / e.sum(axis=1, keepdims=True)
  scores = []
  for i in range(splits):
    part = preds[(i * preds.shape[0] // splits):((i + 1) * preds.shape[0] // splits), :]
    kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
    kl = np.mean(np.sum(kl, 1))
    scores.append(np.exp(kl))
  return np.mean(scores), np.std(scores)


def test_matches_improved_gan_formula_with_uneven_splits():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(103, 12)) * 3
  mean, std = inception_score(logits, splits=10)
  ref_mean, ref_std = _improved_gan_reference(logits, 10)
  assert abs(mean - ref_mean) < 1e-10 and abs(std - ref_std) < 1e-10
  assert len(split_scores(logits, 4)) == 4


def test_inception_score_errors():
  with pytest.raises(UsageError, match="splits"):
    inception_score(np.zeros((5, 3)), splits=10)
  with pytest.raises(UsageError, match="NaN"):
    inception_score(np.array([[0.0, np.nan]]), splits=1)
  with pytest.raises(UsageError, match="classes"):
    inception_score(np.zeros(10), splits=1)


def _kid_reference(x, y, n_blocks):
  """Independent loop version of the TF-GAN block estimator."""
  d = x.shape[1]

  def k(a, b):
    return (np.dot(a, b) / d + 1.0) ** 3

  def split(n):
    base, extra = divmod(n, n_blocks)
    sizes = [base] * (n_blocks - extra) + [base + 1] * extra
    return np.split(np.arange(n), np.cumsum(sizes)[:-1])

  ests = []
  for ix, iy in zip(split(len(x)), split(len(y))):
    xs, ys = x[ix], y[iy]
    m, n = len(xs), len(ys)
    kxx = sum(k(xs[i], xs[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kyy = sum(k(ys[i], ys[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kxy = sum(k(a, b) for a in xs for b in ys) / (m * n)
    ests.append(kxx + kyy - 2 * kxy)
  ests = np.array(ests)
  if n_blocks == 1:
    return ests[0], float("nan")
  return ests.mean(), math.sqrt(ests.var(ddof=1) / n_blocks)


def test_kid_matches_reference_single_and_multi_block():
  rng = np.random.default_rng(1)
  x = rng.normal(size=(23, 5))
  y = rng.normal(size=(31, 5)) * 1.2 + 0.3
  mean, std = kernel_inception_distance(x, y, block_size=100)
  ref_mean, _ = _kid_reference(x, y, 1)
  assert abs(mean - ref_mean) < 1e-10 and math.isnan(std)
  # max(23, 31) = 31 rows with block_size 8 -> 4 blocks: x in 5,6,6,6 and y in 7,8,8,8.
  assert block_sizes(23, 4) == [5, 6, 6, 6] and block_sizes(31, 4) == [7, 8, 8, 8]
  mean, std = kernel_inception_distance(x, y, block_size=8)
  ref_mean, ref_std = _kid_reference(x, y, 4)
  assert abs(mean - ref_mean) < 1e-10 and abs(std - ref_std) < 1e-10


def test_kid_near_zero_for_same_distribution_and_errors():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(2000, 8))
  y = rng.normal(size=(2000, 8))
  mean, std = kernel_inception_distance(x, y, block_size=500)
  assert abs(mean) < 4 * std + 1e-3
  far, _ = kernel_inception_distance(x, y + 2.0, block_size=500)
  assert far > 100 * abs(mean)
  with pytest.raises(UsageError, match="dimensions"):
    kernel_inception_distance(x, y[:, :3])
  with pytest.raises(UsageError, match="fewer than 2"):
    kernel_inception_distance(x[:3], y[:100], block_size=10)
