"""2-D toy distributions exactly as igul222/improved_wgan_training `gan_toy.py` defines them."""

import math

import numpy as np
import tensorflow as tf

# gan_toy.py: 8 centres at radius 2 (scale = 2.) on the axes and diagonals, noise std 0.02, then / 1.414.
EIGHT_GAUSSIANS_CENTERS = 2.0 * np.array(
    [(1, 0), (-1, 0), (0, 1), (0, -1),
     (1 / math.sqrt(2), 1 / math.sqrt(2)), (1 / math.sqrt(2), -1 / math.sqrt(2)),
     (-1 / math.sqrt(2), 1 / math.sqrt(2)), (-1 / math.sqrt(2), -1 / math.sqrt(2))], np.float64)
EIGHT_GAUSSIANS_STD = 0.02
EIGHT_GAUSSIANS_SCALE = 1.414
# gan_toy.py: 5x5 grid 2*{-2..2}, noise std 0.05, a fixed set of 100k points, then / 2.828.
TWENTY_FIVE_GAUSSIANS_CENTERS = np.array(
    [(2.0 * x, 2.0 * y) for x in range(-2, 3) for y in range(-2, 3)], np.float64)
TWENTY_FIVE_GAUSSIANS_STD = 0.05
TWENTY_FIVE_GAUSSIANS_SCALE = 2.828
TWENTY_FIVE_GAUSSIANS_SIZE = 100000
# gan_toy.py: sklearn make_swiss_roll(noise=0.25), columns [0, 2], / 7.5.
SWISSROLL_NOISE = 0.25
SWISSROLL_SCALE = 7.5


def mixture_spec(name):
  """(centres, std) of a toy mixture in data coordinates (after gan_toy.py's scaling)."""
  if name == "8gaussians":
    return EIGHT_GAUSSIANS_CENTERS / EIGHT_GAUSSIANS_SCALE, EIGHT_GAUSSIANS_STD / EIGHT_GAUSSIANS_SCALE
  if name == "25gaussians":
    return (TWENTY_FIVE_GAUSSIANS_CENTERS / TWENTY_FIVE_GAUSSIANS_SCALE,
            TWENTY_FIVE_GAUSSIANS_STD / TWENTY_FIVE_GAUSSIANS_SCALE)
  raise ValueError(f"{name} is not a Gaussian mixture")


def centres_or_none(name):
  """The centres of a Gaussian-mixture set (for plots), None for the other 2-D sets."""
  try:
    return mixture_spec(name)[0]
  except ValueError:
    return None


def eight_gaussians_batch(batch_size, seed):
  """One fresh batch: a uniformly chosen centre plus N(0, 0.02²) noise, divided by 1.414."""
  s1, s2 = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
  centers = tf.constant(EIGHT_GAUSSIANS_CENTERS, tf.float32)
  idx = tf.random.stateless_uniform([batch_size], s1, minval=0, maxval=8, dtype=tf.int32)
  noise = tf.random.stateless_normal([batch_size, 2], s2) * EIGHT_GAUSSIANS_STD
  return (tf.gather(centers, idx) + noise) / EIGHT_GAUSSIANS_SCALE


def swissroll_batch(batch_size, seed):
  """sklearn's make_swiss_roll (t = 1.5π(1 + 2u), x = t cos t, z = t sin t, noise on each), columns [0, 2]."""
  s1, s2 = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
  t = 1.5 * math.pi * (1.0 + 2.0 * tf.random.stateless_uniform([batch_size], s1))
  points = tf.stack([t * tf.cos(t), t * tf.sin(t)], axis=1)
  points += SWISSROLL_NOISE * tf.random.stateless_normal([batch_size, 2], s2)
  return points / SWISSROLL_SCALE


def twenty_five_gaussians_points(seed):
  """The fixed 100k-point set: each of the 25 centres 4000 times plus N(0, 0.05²) noise, / 2.828."""
  rng = np.random.default_rng(seed)
  repeats = TWENTY_FIVE_GAUSSIANS_SIZE // len(TWENTY_FIVE_GAUSSIANS_CENTERS)
  points = np.tile(TWENTY_FIVE_GAUSSIANS_CENTERS, (repeats, 1))
  points = points + rng.standard_normal(points.shape) * TWENTY_FIVE_GAUSSIANS_STD
  return (points / TWENTY_FIVE_GAUSSIANS_SCALE).astype(np.float32)
