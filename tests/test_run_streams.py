"""The random streams of a run (repro.train.streams): independent across streams and seeds,
reproducible for one seed, each taken from the one place that derives it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from repro import data, registry
from repro.recipe import make
from repro.train.runner import Trainer
from repro.train.step import RandomDraws

BATCH = 64


def toy_recipe(seed):
  return make("test", "8gaussians", "mlp", model=dict(hidden=(16, 16), init="he"),
              objective=("wgan", dict(gp_weight=0.1)), z_dim=2, batch_size=BATCH, steps=2,
              n_critic=5, seed=seed, eval_every=1000, save_every=1000, log_every=1000)


def first_draws(trainer, updates=6):
  """The noise and uniforms of the first `updates` updates, from a copy of the run's generator."""
  return draws_of(trainer.rng, trainer.recipe, updates)


def draws_of(rng, recipe, updates=6):
  copy = tf.random.Generator.from_state(rng.state.numpy(), rng.algorithm)
  draws = RandomDraws(copy, recipe)
  return np.concatenate([np.concatenate([draws.noise(BATCH).numpy().ravel(),
                                         draws.uniform(BATCH).numpy()]) for _ in range(updates)])


def first_data(trainer, batches=6):
  return np.concatenate([next(trainer.iterator).numpy().ravel() for _ in range(batches)])


def initial_weights(trainer):
  return [w.numpy() for w in trainer.generator.weights + trainer.critic.weights]


def shared_fraction(a, b):
  """Fraction of a's values that also occur in b (two independent float32 streams: ~0)."""
  return np.isin(a, b).mean()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  return {s: Trainer(toy_recipe(s), str(tmp_path_factory.mktemp(f"seed{s}")), quiet=True)
          for s in (1, 2)}


def test_neighbouring_seeds_draw_unrelated_noise_and_uniforms(runs):
  # Before repro.train.streams, tf.random.Generator.from_seed(s) was the Philox state [counter s,
  # key 0]: seed 2's draws were seed 1's shifted by one counter block (4 values), in every update.
  fraction = shared_fraction(first_draws(runs[2]), first_draws(runs[1]))
  assert fraction < 0.01, (f"{fraction:.1%} of seed 2's first noise/uniform values occur among "
                           f"seed 1's: the two seeds' draw streams overlap")


def test_every_stream_of_a_run_comes_from_its_own_derivation(runs, tmp_path):
  from repro.train import streams  # pylint: disable=g-import-not-at-top
  trainer = runs[1]
  seed = trainer.recipe.seed
  np.testing.assert_array_equal(first_draws(trainer),
                                draws_of(streams.draws_generator(seed), trainer.recipe))
  keras.utils.set_random_seed(streams.init_seed(seed))
  g, c = registry.build_models(trainer.recipe, (2,))
  for a, b in zip(initial_weights(trainer), [w.numpy() for w in g.weights + c.weights]):
    np.testing.assert_array_equal(a, b)
  again = Trainer(toy_recipe(seed), str(tmp_path), quiet=True)
  fresh = data.get_dataset("8gaussians", "train", BATCH, streams.data_seed(seed))
  np.testing.assert_array_equal(first_data(again),
                                np.concatenate([b.numpy().ravel() for b, _ in zip(fresh, range(6))]))


def test_streams_differ_by_name_and_seed():
  from repro.train import streams  # pylint: disable=g-import-not-at-top
  ints = [streams.stream_int(s, name) for s in range(200) for name in streams.STREAMS
          if name != "eval"]
  ints += [streams.eval_noise_seed(s, step) for s in range(20) for step in range(10)]
  assert len(set(ints)) == len(ints)
  keys = [streams.draws_key(s) for s in range(200)]
  assert len(set(keys)) == len(keys) and all(0 < k < 2 ** 63 for k in keys)
  with pytest.raises(ValueError):
    streams.stream(-1, "init")


def test_one_seed_reproduces_its_streams_and_another_does_not(runs, tmp_path):
  again = Trainer(toy_recipe(1), str(tmp_path), quiet=True)
  np.testing.assert_array_equal(first_draws(again), first_draws(runs[1]))
  for a, b in zip(initial_weights(again), initial_weights(runs[1])):
    np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(first_data(again), first_data(runs[1]))
  assert not np.array_equal(initial_weights(runs[1])[0], initial_weights(runs[2])[0])
  assert shared_fraction(first_data(runs[2]), first_data(runs[1])) < 0.05
