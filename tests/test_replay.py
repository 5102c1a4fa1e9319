"""repro.train.replay: the trainer's step driven with given real batches, noise and uniforms."""

import numpy as np
import pytest

from repro.papers import wgan

BATCH = 4


def _recipe(**changes):
  return wgan.recipe("8gaussians", variant="gp").replace(
      batch_size=BATCH, n_critic=2, **{"model.args": {"hidden": (8, 8), "init": "he"}}, **changes)


def _replay(recipe, seed=0):
  import keras
  from repro.train.replay import Replay
  keras.utils.set_random_seed(seed)
  return Replay(recipe, (2,))


def _inputs(n, seed=1):
  rng = np.random.default_rng(seed)
  return ([rng.normal(size=(BATCH, 2)).astype(np.float32) for _ in range(n)],
          [rng.normal(size=(BATCH, 2)).astype(np.float32) for _ in range(n)],
          [rng.uniform(size=BATCH).astype(np.float32) for _ in range(n)])


def _same(a, b):
  return all(np.array_equal(a[k], b[k]) for k in a)


def test_given_inputs_equal_the_draws_of_the_run():
  """A replay fed with what RandomDraws gives moves every variable as the trainer's step does."""
  import tensorflow as tf
  from repro.train.step import RandomDraws, TrainStep
  recipe = _recipe()
  reals, _, _ = _inputs(2)
  drawn = _replay(recipe)
  rng = tf.random.Generator.from_seed(7)
  step = TrainStep(recipe, drawn.objective, drawn.parts, tf.distribute.get_strategy(),
                   RandomDraws(rng, recipe))
  queue = [tf.constant(r) for r in reals]
  step(lambda: queue.pop(0), 2)

  mirror = RandomDraws(tf.random.Generator.from_seed(7), recipe)
  noise, uniforms = [], []
  for _ in range(3):   # two critic updates, then the generator's: noise, uniform, seed each
    noise.append(mirror.noise(BATCH).numpy())
    uniforms.append(mirror.uniform(BATCH).numpy())
    mirror.seed()
  given = _replay(recipe)
  given.generator_step(reals, noise, uniforms)
  assert _same(drawn.state(), given.state())


def test_the_generator_can_reuse_the_critic_noise():
  reals, noise, uniforms = _inputs(3)
  reuse = _replay(_recipe(generator_noise="critic"))
  reuse.generator_step(reals[:2], noise[:2], uniforms)
  explicit = _replay(_recipe())
  explicit.generator_step(reals[:2], noise[:2] + [noise[1]], uniforms)
  other = _replay(_recipe())
  other.generator_step(reals[:2], noise, uniforms)
  assert _same(reuse.state(), explicit.state())
  assert not _same(reuse.state(), other.state())


def test_a_fresh_real_batch_for_the_generator_is_one_more_batch():
  reals, noise, uniforms = _inputs(3)
  replay = _replay(_recipe(generator_real="fresh"))
  with pytest.raises(ValueError, match="more"):
    replay.generator_step(reals[:2], noise, uniforms)
  replay = _replay(_recipe())
  with pytest.raises(ValueError, match="unused"):
    replay.generator_step(reals, noise, uniforms)


def test_state_names_round_trip_and_bad_names_are_refused():
  replay = _replay(_recipe())
  state = replay.state()
  assert {k.split("/")[0] for k in state} == {"generator", "critic", "g_opt", "d_opt"}
  replay.set_weights({k: v + 1 for k, v in state.items() if k.startswith("critic/")})
  after = replay.state()
  assert all(np.array_equal(after[k], state[k] + 1) for k in state if k.startswith("critic/"))
  with pytest.raises(KeyError, match="no variable"):
    replay.set_weights({"critic/nope": 0})
  name = next(k for k in state if k.startswith("critic/"))
  with pytest.raises(ValueError, match="shape"):
    replay.set_weights({name: np.zeros((3, 3, 3))})
