"""One generator step of the trainer: `n_critic(step)` critic updates, then one generator update.

Each critic update sees a fresh real batch (or the step's one batch, `recipe.real_batches ==
"shared"`); the generator update sees the last critic batch or a fresh one (`generator_real`) and
fresh noise or the last critic noise (`generator_noise`); a "simultaneous" objective updates both
networks once from the same batch and noise. Noise and per-example uniforms come from a draws
object: `RandomDraws` (the run's generator; drawn for the global batch and sliced per replica, so a
run gives the same numbers on one device or several) or `GivenDraws` (replaying the inputs another
code consumed, see `repro.train.replay`). Every update reports its loss terms and whether its losses
and gradients were finite; the step returns the terms and a `Health` record.
"""

import typing

import keras
import numpy as np
import tensorflow as tf

from repro.train.objective import StepInputs


class Health(typing.NamedTuple):
  """first_bad: -1 when every update of the step was finite, else the index of the first that was
  not (critic updates 0..n_critic-1, then the generator's n_critic; 0 for a simultaneous or
  generator-only update); first_loss_ok / first_grads_ok: 1.0 or 0.0 for that update; skipped:
  updates that --nan_policy=skip undid."""
  first_bad: tf.Tensor
  first_loss_ok: tf.Tensor
  first_grads_ok: tf.Tensor
  skipped: tf.Tensor


class UpdateHealth(typing.NamedTuple):
  loss_ok: tf.Tensor      # 1.0 when the loss and every term are finite on every replica
  grads_ok: tf.Tensor     # 1.0 when every gradient is finite

  def bad(self):
    return tf.logical_or(self.loss_ok < 1.0, self.grads_ok < 1.0)


class RandomDraws:
  """Each update's noise [n, z_dim], per-example uniforms [n] and a [2] stateless seed, drawn
  from `rng` (a tf.random.Generator, checkpointed with the run) in that order."""

  def __init__(self, rng, recipe):
    self.rng, self.z_dim, self.z_dist = rng, recipe.z_dim, recipe.z_dist

  def noise(self, n):
    if self.z_dist == "uniform":
      return self.rng.uniform([n, self.z_dim], -1.0, 1.0)
    return self.rng.normal([n, self.z_dim])

  def uniform(self, n):
    return self.rng.uniform([n])

  def seed(self):
    return self.rng.make_seeds(1)[:, 0]


class GivenDraws:
  """Given noise and uniforms, consumed in the order the step asks for them: one noise batch and
  one uniform vector per update (critic updates first, then the generator's; the generator takes
  no noise when `generator_noise == "critic"`). Eager use only (values are taken in Python)."""

  def __init__(self, noise, uniforms):
    self._noise, self._uniforms = list(noise), list(uniforms)

  def _take(self, queue, what, n):
    if not queue:
      raise ValueError(f"the step asked for more {what} than were given")
    value = tf.convert_to_tensor(queue.pop(0), tf.float32)
    if value.shape[0] != n:
      raise ValueError(f"given {what} has {value.shape[0]} rows, the update's batch is {n}")
    return value

  def noise(self, n):
    return self._take(self._noise, "noise batches", n)

  def uniform(self, n):
    return self._take(self._uniforms, "uniform vectors", n)

  def seed(self):
    return tf.zeros([2], tf.int64)

  def left(self):
    """(noise batches, uniform vectors) not consumed yet."""
    return len(self._noise), len(self._uniforms)


class Parts(typing.NamedTuple):
  """What a run trains: the networks, their optimizers (built), the generator-step counter and
  the EMA copy of the generator (None without `recipe.ema.decay`)."""
  generator: typing.Any
  critic: typing.Any
  g_opt: typing.Any
  d_opt: typing.Any
  step: typing.Any
  ema: typing.Any


def build_parts(recipe, shape, models=None):
  """The Parts of `recipe` for examples of `shape` (models: a (generator, critic) pair to use
  instead of the recipe's architecture). Call under the strategy's scope."""
  from repro import registry  # pylint: disable=g-import-not-at-top
  generator, critic = models if models is not None else registry.build_models(recipe, shape)
  g_opt = make_optimizer(recipe.g_opt, "g_opt")
  d_opt = make_optimizer(recipe.d_opt, "d_opt")
  g_opt.build(generator.trainable_variables)
  d_opt.build(critic.trainable_variables)
  step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
  ema = None
  if recipe.ema.decay:
    ema = keras.models.clone_model(generator)
    ema.set_weights(generator.get_weights())
  return Parts(generator, critic, g_opt, d_opt, step, ema)


def make_optimizer(spec, name):
  """A Keras optimizer for a `repro.recipe.Optimizer` (repro.train.optimizers for the RMSprops)."""
  from repro.train import optimizers  # pylint: disable=g-import-not-at-top
  if spec.kind == "rmsprop_torch":
    return optimizers.TorchRMSprop(spec.lr, rho=spec.beta2, epsilon=spec.epsilon, name=name)
  if spec.kind == "rmsprop_tf1":
    return optimizers.TF1RMSProp(spec.lr, rho=spec.beta2, epsilon=spec.epsilon, name=name)
  beta1, beta2 = spec.beta1, spec.beta2
  if spec.kind == "adam_tf1":   # TF1 keeps the betas as float32 tensors (repro.recipe.OPTIMIZERS)
    beta1, beta2 = float(np.float32(beta1)), float(np.float32(beta2))
  return keras.optimizers.Adam(spec.lr, beta_1=beta1, beta_2=beta2, epsilon=spec.epsilon,
                               name=name)


def _add_weight_penalty(loss, terms, model):
  """Adds a network's Keras regularization losses (kernel_regularizer) to its own loss, as
  `model.fit` does; logged as `weight_penalty`. Networks without regularizers are unchanged."""
  penalties = model.losses
  if not penalties:
    return loss
  penalty = tf.add_n([tf.cast(p, loss.dtype) for p in penalties])
  terms["weight_penalty"] = penalty
  return loss + penalty


def _all_finite(tensors):
  """1.0 if every tensor is free of NaN/Inf, else 0.0 (a float, so replicas can average it)."""
  flags = [tf.reduce_all(tf.math.is_finite(t)) for t in tensors if t is not None]
  return tf.cast(tf.reduce_all(tf.stack(flags)) if flags else True, tf.float32)


def _single_health(h):
  bad = h.bad()
  return Health(tf.where(bad, 0, -1), h.loss_ok, h.grads_ok, tf.cast(bad, tf.float32))


class TrainStep:
  """The updates of one generator step, built from the run's networks, optimizers and objective.

  `step(next_real, n_critic)` runs them (`next_real()` gives the next real batch) and returns
  (terms, Health). n_critic: a Python int unrolls the critic updates in the traced graph (a
  constant schedule); a tensor keeps one while_loop (the WGAN schedule's 100/5, no retracing).
  """

  def __init__(self, recipe, objective, parts, strategy, draws, skip_bad=False):
    self.recipe, self.objective = recipe, objective
    self.generator, self.critic, self.g_opt, self.d_opt, self.step, self.ema = parts
    self.strategy, self.draws = strategy, draws
    self.replicas = strategy.num_replicas_in_sync
    self.skip_bad = skip_bad
    self._jit_cache = {}

  # ---- per-replica updates ------------------------------------------------------------------------
  def _local(self, tensor):
    """This replica's slice of a global-batch tensor."""
    ctx = tf.distribute.get_replica_context()
    per = tf.shape(tensor)[0] // ctx.num_replicas_in_sync
    return tensor[ctx.replica_id_in_sync_group * per:(ctx.replica_id_in_sync_group + 1) * per]

  def _inputs(self, real, fake, u, seed):
    return StepInputs(real=real, fake=fake, u=self._local(u), seed=seed, step=self.step)

  def _one_side(self, real, z, u, seed, side):
    real, z = self._local(real), self._local(z)
    net, opt = (self.critic, self.d_opt) if side == "critic" else (self.generator, self.g_opt)
    variables = net.trainable_variables
    if side == "critic":   # the generator's forward pass stays off the critic's tape
      fake = self.generator(z, training=True)
    with tf.GradientTape() as tape:
      if side == "critic":
        loss, terms = self.objective.critic_loss(self.critic, self._inputs(real, fake, u, seed))
      else:
        fake = self.generator(z, training=True)
        loss, terms = self.objective.generator_loss(self.critic,
                                                    self._inputs(real, fake, u, seed))
      loss = _add_weight_penalty(loss, terms, net)
      scaled = loss / self.replicas
    grads = tape.gradient(scaled, variables)
    opt.apply_gradients(zip(grads, variables))
    loss_ok = _all_finite([loss] + list(terms.values()))
    terms = dict(terms, loss=loss, grad_norm=tf.linalg.global_norm(grads) * self.replicas)
    return terms, loss_ok, _all_finite(grads)

  def _critic_replica(self, real, z, u, seed):
    return self._one_side(real, z, u, seed, "critic")

  def _generator_replica(self, real, z, u, seed):
    return self._one_side(real, z, u, seed, "generator")

  def _joint_replica(self, real, z, u, seed):
    """Critic and generator gradients from the same batch and noise, applied together."""
    real, z = self._local(real), self._local(z)
    d_vars, g_vars = self.critic.trainable_variables, self.generator.trainable_variables
    with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
      fake = self.generator(z, training=True)
      inputs = self._inputs(real, fake, u, seed)
      d_loss, d_terms = self.objective.critic_loss(self.critic, inputs)
      g_loss, g_terms = self.objective.generator_loss(self.critic, inputs)
      d_loss = _add_weight_penalty(d_loss, d_terms, self.critic)
      g_loss = _add_weight_penalty(g_loss, g_terms, self.generator)
      d_scaled, g_scaled = d_loss / self.replicas, g_loss / self.replicas
    d_grads = d_tape.gradient(d_scaled, d_vars)
    g_grads = g_tape.gradient(g_scaled, g_vars)
    self.d_opt.apply_gradients(zip(d_grads, d_vars))
    self.g_opt.apply_gradients(zip(g_grads, g_vars))
    terms = {f"critic/{k}": v for k, v in d_terms.items()}
    terms.update({f"generator/{k}": v for k, v in g_terms.items()})
    terms.update({"critic/loss": d_loss, "generator/loss": g_loss,
                  "critic/grad_norm": tf.linalg.global_norm(d_grads) * self.replicas,
                  "generator/grad_norm": tf.linalg.global_norm(g_grads) * self.replicas})
    loss_ok = _all_finite([d_loss, g_loss] + list(d_terms.values()) + list(g_terms.values()))
    return terms, loss_ok, _all_finite(d_grads + g_grads)

  # ---- one update on every replica ---------------------------------------------------------------
  def _guarded_variables(self, optimizers):
    """What one update changes: both networks' variables (batch-norm statistics move in every
    forward pass) and the state of the optimizers that step."""
    variables = list(self.generator.variables) + list(self.critic.variables)
    for opt in optimizers:
      variables += list(opt.variables)
    return variables

  def _compiled(self, replica_fn):
    """replica_fn itself, or (recipe.jit_compile) an XLA-compiled tf.function of it."""
    if not self.recipe.jit_compile:
      return replica_fn
    name = replica_fn.__name__
    if name not in self._jit_cache:
      self._jit_cache[name] = tf.function(replica_fn, jit_compile=True)
    return self._jit_cache[name]

  def _run(self, replica_fn, real, optimizers, z=None):
    """One update on every replica (z: given noise, else drawn). Returns (mean terms,
    UpdateHealth, z)."""
    batch = tf.shape(real)[0]   # = batch_size, except a dataset's smaller last batch of an epoch
    if z is None:
      z = self.draws.noise(batch)
    u, seed = self.draws.uniform(batch), self.draws.seed()
    guarded = self._guarded_variables(optimizers) if self.skip_bad else []
    before = [tf.identity(v) for v in guarded]
    terms, loss_ok, grads_ok = self.strategy.run(self._compiled(replica_fn),
                                                 args=(real, z, u, seed))
    mean = lambda v: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
    terms = {k: mean(v) for k, v in terms.items()}
    health = UpdateHealth(mean(loss_ok), mean(grads_ok))
    if guarded:   # --nan_policy=skip: undo a non-finite update everywhere (cross-replica context)
      ok = tf.logical_not(health.bad())
      for v, old in zip(guarded, before):
        v.assign(tf.where(ok, v, old))
    return terms, health, z

  def _before_critic_update(self):
    self.objective.before_critic_step(self.critic)

  def _after_critic_update(self):
    self.objective.after_critic_step(self.critic)

  def _update_ema(self):
    if self.ema is None:
      return
    decay = tf.where(self.step < self.recipe.ema.start, 0.0, self.recipe.ema.decay)
    for e, w in zip(self.ema.weights, self.generator.weights):
      e.assign(decay * e + (1.0 - decay) * w)

  # ---- the step ------------------------------------------------------------------------------------
  def real_batches_per_step(self, n_critic):
    """How many real batches one step with `n_critic` critic updates reads."""
    if not self.objective.trains_critic or self.objective.update == "simultaneous":
      return 1
    critic = 1 if self.recipe.real_batches == "shared" else n_critic
    return critic + (self.recipe.generator_real == "fresh")

  def critic_update(self, real):
    """One critic update on `real` (with the objective's clamp/clip hooks): (terms, UpdateHealth,
    the noise it used)."""
    self._before_critic_update()
    terms, health, z = self._run(self._critic_replica, real, [self.d_opt])
    self._after_critic_update()
    return terms, health, z

  def __call__(self, next_real, n_critic):
    real = next_real()
    if not self.objective.trains_critic:   # e.g. Sinkhorn in pixel space: generator steps only
      terms, health, z = self._run(self._generator_replica, real, [self.g_opt])
      self._finish_step(real, z)
      return {f"generator/{k}": v for k, v in terms.items()}, _single_health(health)
    if self.objective.update == "simultaneous":
      self._before_critic_update()
      terms, health, z = self._run(self._joint_replica, real, [self.d_opt, self.g_opt])
      self._after_critic_update()
      self._finish_step(real, z)
      return terms, _single_health(health)
    d_terms, h, z = self.critic_update(real)
    bad = h.bad()
    first = tf.where(bad, 0, -1)
    first_loss_ok, first_grads_ok = h.loss_ok, h.grads_ok
    first_terms = d_terms
    skipped = tf.cast(bad, tf.float32)
    for i in (range(1, n_critic) if isinstance(n_critic, int) else tf.range(1, n_critic)):
      if self.recipe.real_batches == "fresh":
        real = next_real()
      d_terms, h, z = self.critic_update(real)
      bad = h.bad()
      now = tf.logical_and(first < 0, bad)
      first = tf.where(now, i, first)
      first_loss_ok = tf.where(now, h.loss_ok, first_loss_ok)
      first_grads_ok = tf.where(now, h.grads_ok, first_grads_ok)
      first_terms = {k: tf.where(now, d_terms[k], first_terms[k]) for k in first_terms}
      skipped += tf.cast(bad, tf.float32)
    if self.recipe.generator_real == "fresh":
      real = next_real()
    g_terms, h, z = self._run(self._generator_replica, real, [self.g_opt],
                              z=z if self.recipe.generator_noise == "critic" else None)
    self._finish_step(real, z)
    bad = h.bad()
    now = tf.logical_and(first < 0, bad)
    # On a bad step the critic terms are those of its first bad update, so the message names the
    # cause rather than the NaNs that follow from it.
    report = {k: tf.where(first >= 0, first_terms[k], d_terms[k]) for k in d_terms}
    terms = {f"critic/{k}": v for k, v in report.items()}
    terms.update({f"generator/{k}": v for k, v in g_terms.items()})
    health = Health(tf.where(now, n_critic, first), tf.where(now, h.loss_ok, first_loss_ok),
                    tf.where(now, h.grads_ok, first_grads_ok), skipped + tf.cast(bad, tf.float32))
    return terms, health

  def _finish_step(self, real, z):
    """After the generator update (real, z: what it saw): the objective's after_generator_update
    on every replica, the EMA, the step counter."""
    self.strategy.run(lambda r, n: self.objective.after_generator_update(
        self.generator, self.critic, self._local(r), self._local(n)), args=(real, z))
    self._update_ema()
    self.step.assign_add(1)
