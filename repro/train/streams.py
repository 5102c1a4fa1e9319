"""Every random stream of a run, derived from the run's seed in this one place.

Stream k of seed s is numpy's `SeedSequence(s, spawn_key=(k,))`: a hash of (s, k), so the streams of
one run are statistically independent of each other and of every stream of another seed.

  init     the networks' initial weights: `keras.utils.set_random_seed(init)` just before they are
           built (each Keras initialiser takes its seed from Python's `random`)
  draws    the trainer's `tf.random.Generator` (Philox, key from the stream, counter 0, checkpointed
           with the run): every update's noise, per-example uniforms and stateless seed
  data     the dataset's seed: shuffling, generated batches (8gaussians: batch i from the stateless
           seed [data, i]), the tfds shuffle; also the global seeds while the pipeline is built
  preview  the fixed noise of the sample files and the real points of the scatter plots
  eval     the fresh noise of each evaluation, `eval_noise_seed(step)`
  eval_real  the real points an evaluation compares generated samples with

Why not the seed itself: the trainer's generator was `tf.random.Generator.from_seed(s)`, the Philox
state [counter s, key 0], so seeds s and s + 1 drew the same noise and uniforms shifted by one counter
block (4 values) in every update: different seeds were not independent runs
(tests/test_run_streams.py; README, "Whole runs against the official code").
"""

import numpy as np

STREAMS = ("init", "draws", "data", "preview", "eval", "eval_real")


def _check(seed):
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
    raise ValueError(f"a run's seed must be a non-negative integer, got {seed!r}")
  return int(seed)


def stream(seed, name, *extra):
  """The SeedSequence of stream `name` of run seed `seed` (extra: sub-stream ids, e.g. a step)."""
  return np.random.SeedSequence(_check(seed), spawn_key=(STREAMS.index(name),) + tuple(extra))


def stream_int(seed, name, *extra):
  """A 32-bit integer seed (Keras, numpy, tf.data, stateless pairs) of stream `name`."""
  return int(stream(seed, name, *extra).generate_state(1, np.uint32)[0])


def init_seed(seed):
  return stream_int(seed, "init")


def data_seed(seed):
  return stream_int(seed, "data")


def preview_seed(seed):
  return stream_int(seed, "preview")


def eval_noise_seed(seed, step):
  return stream_int(seed, "eval", int(step))


def eval_real_seed(seed):
  return stream_int(seed, "eval_real")


def draws_key(seed):
  """The 63-bit Philox key of the trainer's generator (counter 0)."""
  return int(stream(seed, "draws").generate_state(1, np.uint64)[0] >> np.uint64(1))


def draws_generator(seed):
  """The run's `tf.random.Generator` for noise, uniforms and stateless seeds."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf.random.Generator.from_key_counter(draws_key(seed), [0, 0], "philox")


def noise(n, z_dim, z_dist, seed):
  """`n` generator inputs from numpy's default_rng(seed) in the recipe's noise distribution
  (`z_dist`: "uniform" U(-1, 1), else N(0, 1)), float32: the one way generated samples outside
  the training step draw their noise (previews, evaluations, loaded generators, tables)."""
  rng = np.random.default_rng(seed)
  if z_dist == "uniform":
    return rng.uniform(-1.0, 1.0, (int(n), z_dim)).astype(np.float32)
  return rng.standard_normal((int(n), z_dim)).astype(np.float32)
