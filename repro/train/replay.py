"""One training step driven with given inputs, to compare it with another code's step.

`Replay(recipe, shape)` builds the networks, optimizers and objective exactly as `repro.train.run`
does (one device, no data, no workdir). `set_weights` loads given values; `critic_update` and
`generator_step` run the trainer's own `TrainStep` on the given real batches, noise and
per-example uniforms (the gradient-penalty α, FOGAN's x' α); `state()` returns every variable
afterwards: network weights (batch-norm statistics and spectral-norm vectors included) and
optimizer slots, by Keras path.

  replay = Replay(recipe, (2,))
  replay.set_weights({"critic/dense/kernel": w0, ...})
  replay.generator_step(reals=[x0, ..., x5], noise=[z0, ..., z5], uniforms=[u0, ..., u5])
  after = replay.state()

The inputs are consumed in the step's order: critic updates first (a real batch each, or one for
`real_batches == "shared"`), then the generator update (a fresh real batch only with
`generator_real == "fresh"`; no noise with `generator_noise == "critic"`). Every update takes one
uniform vector, used or not, so the lists line up with the updates.
"""

import numpy as np
import tensorflow as tf

from repro import registry
from repro.train.step import GivenDraws, TrainStep, build_parts


class Replay:
  """The trainer's step of `recipe` on examples of `shape`, fed with given inputs (eager)."""

  def __init__(self, recipe, shape, models=None):
    self.recipe = recipe = recipe.validate()
    self.objective = registry.build_objective(recipe)
    self.parts = build_parts(recipe, tuple(shape), models)
    self.generator, self.critic = self.parts.generator, self.parts.critic
    self.g_opt, self.d_opt = self.parts.g_opt, self.parts.d_opt

  # ---- state ---------------------------------------------------------------------------------------
  def _variables(self):
    groups = {"generator": self.generator.variables, "critic": self.critic.variables,
              "g_opt": self.g_opt.variables, "d_opt": self.d_opt.variables}
    if self.parts.ema is not None:
      groups["ema"] = self.parts.ema.variables
    out = {}
    for group, variables in groups.items():
      for v in variables:
        name = f"{group}/{v.path}"
        if name in out:
          raise ValueError(f"two variables share the path {name}")
        out[name] = v
    return out

  def state(self):
    """{group/keras path: numpy value} of every variable: the networks' weights, batch-norm and
    spectral-norm state, both optimizers' slots and iteration counts (and the EMA copy)."""
    return {k: np.array(v.numpy()) for k, v in self._variables().items()}

  def set_weights(self, values):
    """Assigns {group/keras path: value}; every name must exist and every shape agree."""
    variables = self._variables()
    unknown = sorted(set(values) - set(variables))
    if unknown:
      raise KeyError(f"no variable {unknown[0]!r}; known: {', '.join(sorted(variables))}")
    for name, value in values.items():
      v = variables[name]
      value = np.asarray(value)
      if tuple(value.shape) != tuple(v.shape):
        raise ValueError(f"{name}: given shape {value.shape}, variable shape {tuple(v.shape)}")
      v.assign(value.astype(v.dtype.as_numpy_dtype if hasattr(v.dtype, "as_numpy_dtype")
                            else v.dtype))

  # ---- updates -------------------------------------------------------------------------------------
  def _step(self, noise, uniforms):
    draws = GivenDraws(noise, uniforms)
    return TrainStep(self.recipe, self.objective, self.parts, tf.distribute.get_strategy(),
                     draws), draws

  @staticmethod
  def _check_used(draws, reals):
    left = draws.left() + (len(reals),)
    if any(left):
      raise ValueError(f"the step left inputs unused (noise, uniforms, real batches): {left}")

  def critic_update(self, real, noise, uniform):
    """One critic update (with the objective's clamp/clip); returns its loss terms."""
    step, draws = self._step([noise], [uniform])
    terms, _, _ = step.critic_update(tf.convert_to_tensor(real, tf.float32))
    self._check_used(draws, [])
    return {k: float(v) for k, v in terms.items()}

  def generator_step(self, reals, noise, uniforms, n_critic=None):
    """One generator step of the recipe's schedule (n_critic critic updates, default the
    recipe's, then one generator update; one joint update for a simultaneous objective)."""
    step, draws = self._step(noise, uniforms)
    queue = [tf.convert_to_tensor(r, tf.float32) for r in reals]

    def next_real():
      if not queue:
        raise ValueError("the step asked for more real batches than were given")
      return queue.pop(0)

    terms, _ = step(next_real, self.recipe.n_critic if n_critic is None else n_critic)
    self._check_used(draws, queue)
    return {k: float(v) for k, v in terms.items()}
