"""Driving the suite's training step over many generator steps with given inputs, as the trainer
traces it, for the multi-step goldens (tests/goldens/train_step/<case>_multistep.npz).

`Replay` (repro.train.replay) builds the networks and optimizers and reads/writes their state; its
own updates are eager and take their inputs from Python lists, one step at a time. Here the
trainer's `TrainStep` runs traced as `repro.train.runner` runs it: one tf.function per step
(n_critic a tensor under the "wgan" schedule, so its 100/5 switch is one while_loop; a Python int
otherwise, XLA-compiled when the recipe says jit_compile), reading the given real batches, noise
and uniforms from buffers in the order the step asks for them.
"""

import numpy as np
import tensorflow as tf

from repro.recipe import n_critic_at
from repro.train.step import TrainStep
from tests import step_goldens

MARGIN = 5.0   # a bound from a measured spread is at least this multiple of it


class BufferedDraws:
  """Given noise [S, B, z] and uniforms [S, B], handed out in order inside a traced step (the
  order of repro.train.step.GivenDraws: one of each per update)."""

  def __init__(self, noise, uniforms):
    self._noise = tf.constant(np.asarray(noise, np.float32))
    self._uniforms = tf.constant(np.asarray(uniforms, np.float32))
    self.noise_used = tf.Variable(0, dtype=tf.int32, trainable=False)
    self.uniforms_used = tf.Variable(0, dtype=tf.int32, trainable=False)

  def noise(self, n):
    del n   # every buffered batch has the recipe's batch size
    return tf.gather(self._noise, self.noise_used.assign_add(1) - 1)

  def uniform(self, n):
    del n
    return tf.gather(self._uniforms, self.uniforms_used.assign_add(1) - 1)

  def seed(self):
    return tf.zeros([2], tf.int64)


class Stepper:
  """Generator steps of `replay`'s recipe on given inputs: reals [R, B, ...] one batch per read,
  noise [S, B, z] and uniforms [S, B] one per update."""

  def __init__(self, replay, reals, noise, uniforms):
    self.replay = replay
    self.draws = BufferedDraws(noise, uniforms)
    self._reals = tf.constant(np.asarray(reals, np.float32))
    self.reals_used = tf.Variable(0, dtype=tf.int32, trainable=False)
    self.train_step = TrainStep(replay.recipe, replay.objective, replay.parts,
                                tf.distribute.get_strategy(), self.draws)
    self._traced = {}

  def _next_real(self):
    return tf.gather(self._reals, self.reals_used.assign_add(1) - 1)

  def step(self, n_critic):
    """One generator step with n_critic critic updates."""
    recipe = self.replay.recipe
    if recipe.n_critic_schedule == "constant":
      if n_critic not in self._traced:
        self._traced[n_critic] = tf.function(
            lambda n=n_critic: self.train_step(self._next_real, n),
            jit_compile=bool(recipe.jit_compile))
      return self._traced[n_critic]()
    if "tensor" not in self._traced:
      self._traced["tensor"] = tf.function(lambda n: self.train_step(self._next_real, n))
    return self._traced["tensor"](tf.constant(n_critic, tf.int32))

  def used(self):
    """(real batches, noise batches, uniform vectors) consumed so far."""
    return (int(self.reals_used.numpy()), int(self.draws.noise_used.numpy()),
            int(self.draws.uniforms_used.numpy()))


def run(replay, reals, noise, uniforms, steps, snapshots, n_critic=None):
  """`steps` generator steps (n_critic: {step: count}, default the recipe's schedule,
  repro.recipe.n_critic_at); returns {k: replay.state()} after each step k in `snapshots`
  (1-based) and checks that every given input was consumed."""
  stepper = Stepper(replay, reals, noise, uniforms)
  states = {}
  for k in range(steps):
    stepper.step(n_critic_at(replay.recipe, k) if n_critic is None else n_critic[k])
    if k + 1 in snapshots:
      states[k + 1] = replay.state()
  used = stepper.used()
  assert used == (len(reals), len(noise), len(uniforms)), (
      f"consumed (reals, noise, uniforms) {used} of {(len(reals), len(noise), len(uniforms))}")
  return states


def compare_steps(states, expected, bound, loose=None):
  """Every stored step k: step_goldens.compare(states[k], expected[k], rtol=bound(k),
  loose=loose(k) if given). Returns {k: max relative difference}, the measured growth."""
  return {k: step_goldens.compare(states[k], expected[k], rtol=bound(k),
                                  loose=loose(k) if loose else None)[0]
          for k in sorted(expected)}


def stored_steps(golden, prefix):
  """The steps k stored under keys `<prefix><k>/...` of a multi-step golden."""
  heads = {key.split("/")[0] for key in golden}
  return sorted(int(h[len(prefix):]) for h in heads
                if h.startswith(prefix) and h[len(prefix):].isdigit())
