"""The one adversarial trainer every paper module uses.

Per generator step: `n_critic(step)` critic updates, each on a fresh real batch (or one shared batch),
then one generator update; all of it in one `tf.function` (no retracing: n_critic is a tensor).
Noise and per-example uniforms are drawn once for the global batch and sliced per replica, so a run
gives the same numbers on one device or several.
"""

import fcntl
import json
import os
import signal
import time

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from repro import data
from repro.errors import ClusterError, DivergenceError, UsageError, one_line
from repro.models import build_models
from repro.train import images
from repro.train.checkpoints import CheckpointStore
from repro.train.config import ARCHITECTURE_FIELDS, TrainConfig, n_critic_at
from repro.train.distribute import is_chief, is_multi_worker
from repro.train.objective import Objective, StepInputs


def _optimizer(config, side):
  lr = getattr(config, f"{side}_lr")
  if config.optimizer == "rmsprop":
    # PyTorch RMSprop defaults (WassersteinGAN main.py, f-wgan kl_wgan.py): alpha 0.99, eps 1e-8
    # added *outside* the square root, lr·g / (sqrt(v) + 1e-8). Keras adds epsilon inside,
    # lr·g / sqrt(v + epsilon), so epsilon = 1e-8² gives the same floor (within a factor √2).
    return keras.optimizers.RMSprop(lr, rho=0.99, epsilon=1e-16, name=f"{side}_opt")
  return keras.optimizers.Adam(lr, beta_1=getattr(config, f"{side}_beta1"),
                               beta_2=getattr(config, f"{side}_beta2"), epsilon=1e-8,
                               name=f"{side}_opt")


def _check_workdir(workdir):
  try:
    os.makedirs(workdir, exist_ok=True)
    probe = os.path.join(workdir, ".write_test")
    with open(probe, "w") as f:
      f.write("ok")
    os.remove(probe)
  except OSError as e:
    raise UsageError(f"cannot write to --workdir {workdir}: {e.strerror}; choose a writable folder")


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


def _cluster_reason(e):
  """The gist of a collective-op failure: TF's message carries the op's whole definition trace."""
  lines = [l.strip() for l in (getattr(e, "message", "") or str(e)).splitlines() if l.strip()]
  noise = ("Graph execution error", "Detected at node", "File ", "[[", "Additional GRPC", ":UNKNOWN")
  useful = [l for l in lines if not l.startswith(noise) and not l.startswith("{{")]
  return f"{type(e).__name__}: {useful[-1][:160] if useful else 'collective operation failed'}"


def _is_bad(health):
  return tf.logical_or(health["loss"] < 1.0, health["grads"] < 1.0)


NAN_POLICIES = ("stop", "skip")
# --nan_policy=skip gives up when this many generator steps in a row had a skipped update.
MAX_CONSECUTIVE_SKIPS = 20


class _WorkdirLock:
  """An exclusive flock on `workdir/.lock` while a run trains: a second process training the same
  workdir would interleave checkpoints. The kernel drops the lock when the holder dies, even by
  SIGKILL, so a killed run never blocks its own restart."""

  def __init__(self, workdir):
    self.path = os.path.join(workdir, ".lock")
    self._file = None

  def acquire(self):
    f = open(self.path, "a+")
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      f.seek(0)
      holder = f.read().strip() or "another process"
      f.close()
      raise UsageError(f"--workdir {os.path.dirname(self.path)} is in use by a running training "
                       f"process (pid {holder}); wait for it, stop it, or use another --workdir")
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    self._file = f

  def release(self):
    if self._file is not None:
      self._file.close()   # closing drops the flock
      self._file = None


def _write_atomic(path, text):
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write(text)
  os.replace(tmp, path)


class Trainer:
  """Trains `objective` with the networks, data and optimizers described by `config`.

  eval_fn(trainer, step) -> {name: float} runs every `eval_every` steps; with
  best_metric=(name, "min"|"max") the best-scoring weights are kept in `workdir/best`.
  models: None (build `config.arch`), (generator, critic), or a function config -> (generator,
  critic) called under the strategy scope after flags are applied.
  nan_policy: "stop" (default) ends the run with DivergenceError at the first step whose loss or
  gradient is NaN/Inf, saving nothing after it; "skip" undoes that update (weights, optimizer
  state, batch-norm statistics) and goes on, giving up after MAX_CONSECUTIVE_SKIPS bad steps in a row.
  """

  def __init__(self, config: TrainConfig, objective: Objective, workdir, strategy=None,
               eval_fn=None, best_metric=None, deterministic=False, models=None,
               quiet=False, nan_policy="stop"):
    if nan_policy not in NAN_POLICIES:
      raise UsageError(f"--nan_policy must be one of {', '.join(NAN_POLICIES)}, got {nan_policy!r}")
    self.nan_policy = nan_policy
    self.config = config.validate()
    self.objective = objective
    self.workdir = workdir
    self.strategy = strategy or tf.distribute.get_strategy()
    self.replicas = self.strategy.num_replicas_in_sync
    if config.batch_size % self.replicas:
      raise UsageError(f"--batch_size={config.batch_size} is not divisible by the "
                       f"{self.replicas} replicas of the strategy")
    self.eval_fn = eval_fn
    self.best_metric = best_metric
    self.quiet = quiet
    self.chief = is_chief(self.strategy)
    self.multi_worker = is_multi_worker(self.strategy)
    self.info = data.dataset_info(config.dataset)
    if deterministic:
      tf.config.experimental.enable_op_determinism()
    if self.chief:
      _check_workdir(workdir)
    keras.utils.set_random_seed(config.seed)  # before the data: tfds shuffling uses the global seed
    dataset = data.get_dataset(config.dataset, "train", config.batch_size, config.seed,
                               data_dir=config.data_dir or None, download=config.download,
                               source=config.source, text=config.text or None)
    self._check_resume_config()
    keras.utils.set_random_seed(config.seed)
    # Text: (length, vocabulary) of the loaded corpus (the vocabulary comes from the data).
    shape = (tuple(dataset.element_spec.shape[1:]) if self.info.kind == "text"
             else self.info.shape)
    with self.strategy.scope():
      if models is None:
        models = build_models(config.arch, shape, config.z_dim, **config.model)
      elif callable(models):   # a function config -> (generator, critic), built under the scope
        models = models(config)
      self.generator, self.critic = models
      self.g_opt, self.d_opt = _optimizer(config, "g"), _optimizer(config, "d")
      self.g_opt.build(self.generator.trainable_variables)
      self.d_opt.build(self.critic.trainable_variables)
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
      self.ema = None
      if config.ema_decay:
        self.ema = keras.models.clone_model(self.generator)
        self.ema.set_weights(self.generator.get_weights())
    self.rng = tf.random.Generator.from_seed(config.seed)
    self.iterator = iter(dataset)
    self._check_data_shape(dataset)
    self.best = tf.Variable(np.nan, dtype=tf.float64, trainable=False, name="best")
    tracked = dict(step=self.step, generator=self.generator, critic=self.critic,
                   g_opt=self.g_opt, d_opt=self.d_opt, rng=self.rng, data=self.iterator,
                   best=self.best)
    if self.ema is not None:
      tracked["ema"] = self.ema
    self.checkpoint = tf.train.Checkpoint(**tracked)
    # Every worker restores from (and the chief alone writes to) workdir/checkpoints.
    self.store = CheckpointStore(self.checkpoint, os.path.join(workdir, "checkpoints"),
                                 config.keep_checkpoints, chief=self.chief)
    self.best_store = None
    if best_metric:
      self.best_store = CheckpointStore(self.checkpoint, os.path.join(workdir, "best"), 1,
                                        chief=self.chief)
    self.skipped_updates = 0
    self.writer = (tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))
                   if self.chief else tf.summary.create_noop_writer())
    self._stop_signal = None
    self._real_preview = None
    self._fixed_z = self._draw_fixed_noise(1000 if self.info.kind == "points" else 64)
    self._train_step = tf.function(self._train_step_fn)

  # ---- set-up checks -------------------------------------------------------------------------
  def _check_resume_config(self):
    path = os.path.join(self.workdir, "config.json")
    if not os.path.exists(path):
      if self.chief:
        _write_atomic(path, self.config.to_json())
      return
    try:
      with open(path) as f:
        saved = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
      raise UsageError(f"{path} is unreadable ({e}); it records the run's architecture: "
                       "restore it or use a new --workdir") from None
    current = json.loads(self.config.to_json())
    diff = [f"{k}: saved {saved.get(k)!r}, now {current[k]!r}" for k in ARCHITECTURE_FIELDS
            if saved.get(k) != current[k]]
    if diff:
      raise UsageError(f"--workdir {self.workdir} holds a run of another model ({'; '.join(diff)});"
                       " use a new --workdir or the same settings")

  def _check_data_shape(self, dataset):
    shape = tuple(dataset.element_spec.shape[1:])
    if shape != tuple(self.generator.output_shape[1:]):
      raise UsageError(f"the generator makes examples of shape {self.generator.output_shape[1:]} "
                       f"but {self.config.dataset} has {shape}")

  # ---- noise ---------------------------------------------------------------------------------
  def _noise(self, n):
    if self.config.z_dist == "uniform":
      return self.rng.uniform([n, self.config.z_dim], -1.0, 1.0)
    return self.rng.normal([n, self.config.z_dim])

  def _draw_fixed_noise(self, n):
    rng = np.random.default_rng(self.config.seed + 1)
    if self.config.z_dist == "uniform":
      return rng.uniform(-1, 1, (n, self.config.z_dim)).astype(np.float32)
    return rng.standard_normal((n, self.config.z_dim)).astype(np.float32)

  # ---- steps ---------------------------------------------------------------------------------
  def _local(self, tensor):
    """This replica's slice of a global-batch tensor."""
    ctx = tf.distribute.get_replica_context()
    per = tf.shape(tensor)[0] // ctx.num_replicas_in_sync
    return tensor[ctx.replica_id_in_sync_group * per:(ctx.replica_id_in_sync_group + 1) * per]

  def _inputs(self, real, fake, z_u_seed):
    _, u, seed = z_u_seed
    return StepInputs(real=real, fake=fake, u=self._local(u), seed=seed, step=self.step)

  def _critic_replica(self, real, z, u, seed):
    real, z = self._local(real), self._local(z)
    fake = self.generator(z, training=True)
    variables = self.critic.trainable_variables
    with tf.GradientTape() as tape:
      loss, terms = self.objective.critic_loss(self.critic, self._inputs(real, fake, (z, u, seed)))
      loss = _add_weight_penalty(loss, terms, self.critic)
      scaled = loss / self.replicas
    grads = tape.gradient(scaled, variables)
    self.d_opt.apply_gradients(zip(grads, variables))
    return dict(terms, loss=loss, grad_norm=tf.linalg.global_norm(grads) * self.replicas,
                _loss_ok=_all_finite([loss] + list(terms.values())), _grad_ok=_all_finite(grads))

  def _generator_replica(self, real, z, u, seed):
    real, z = self._local(real), self._local(z)
    variables = self.generator.trainable_variables
    with tf.GradientTape() as tape:
      fake = self.generator(z, training=True)
      loss, terms = self.objective.generator_loss(self.critic,
                                                  self._inputs(real, fake, (z, u, seed)))
      loss = _add_weight_penalty(loss, terms, self.generator)
      scaled = loss / self.replicas
    grads = tape.gradient(scaled, variables)
    self.g_opt.apply_gradients(zip(grads, variables))
    return dict(terms, loss=loss, grad_norm=tf.linalg.global_norm(grads) * self.replicas,
                _loss_ok=_all_finite([loss] + list(terms.values())), _grad_ok=_all_finite(grads))

  def _joint_replica(self, real, z, u, seed):
    """Critic and generator gradients from the same batch and noise, applied together."""
    real, z = self._local(real), self._local(z)
    d_vars, g_vars = self.critic.trainable_variables, self.generator.trainable_variables
    with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
      fake = self.generator(z, training=True)
      inputs = self._inputs(real, fake, (z, u, seed))
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
    terms["_loss_ok"] = _all_finite([d_loss, g_loss] + list(d_terms.values())
                                    + list(g_terms.values()))
    terms["_grad_ok"] = _all_finite(d_grads + g_grads)
    return terms

  def _guarded_variables(self, optimizers):
    """What one update changes: both networks' variables (batch-norm statistics move in every
    forward pass) and the state of the optimizers that step."""
    variables = list(self.generator.variables) + list(self.critic.variables)
    for opt in optimizers:
      variables += list(opt.variables)
    return variables

  def _compiled(self, replica_fn):
    """replica_fn itself, or (TrainConfig.jit_compile) an XLA-compiled tf.function of it."""
    if not getattr(self.config, "jit_compile", False):
      return replica_fn
    cache = self.__dict__.setdefault("_jit_cache", {})
    name = replica_fn.__name__
    if name not in cache:
      cache[name] = tf.function(replica_fn, jit_compile=True)
    return cache[name]

  def _run(self, replica_fn, real, optimizers):
    """One update on every replica. Returns (mean terms, health) where health holds 1.0/0.0 for
    "loss" (loss and terms finite on every replica) and "grads" (gradients finite)."""
    batch = tf.shape(real)[0]   # = batch_size, except a dataset's smaller last batch of an epoch
    z, u = self._noise(batch), self.rng.uniform([batch])
    seed = self.rng.make_seeds(1)[:, 0]
    guarded = self._guarded_variables(optimizers) if self.nan_policy == "skip" else []
    before = [tf.identity(v) for v in guarded]
    per_replica = self.strategy.run(self._compiled(replica_fn), args=(real, z, u, seed))
    terms = {k: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
             for k, v in per_replica.items()}
    health = {"loss": terms.pop("_loss_ok"), "grads": terms.pop("_grad_ok")}
    if guarded:   # --nan_policy=skip: undo a non-finite update everywhere (cross-replica context)
      ok = tf.logical_and(health["loss"] >= 1.0, health["grads"] >= 1.0)
      for v, old in zip(guarded, before):
        v.assign(tf.where(ok, v, old))
    return terms, health

  def _update_ema(self):
    if self.ema is None:
      return
    decay = tf.where(self.step < self.config.ema_start, 0.0, self.config.ema_decay)
    for e, w in zip(self.ema.weights, self.generator.weights):
      e.assign(decay * e + (1.0 - decay) * w)

  def _n_critic_arg(self, step):
    """n_critic for `_train_step`: an int when it never changes (one trace, loop unrolled), else a
    tensor (no retracing when the WGAN schedule switches between 100 and n_critic)."""
    n = n_critic_at(self.config, step)
    return n if self.config.n_critic_schedule == "constant" else tf.constant(n, tf.int32)

  def _train_step_fn(self, n_critic):
    """One generator step. Returns (terms, health).

    health["first_bad"] is -1 when every update of the step had finite losses and gradients, else
    the index of the first one that did not (critic updates 0..n_critic-1, then the generator's
    update n_critic; 0 for a simultaneous or generator-only update), with "first_loss_ok" /
    "first_grads_ok" saying what went wrong there, and "skipped" the number of updates
    --nan_policy=skip undid. On such a step the critic terms are those of that first bad update,
    so the message names the cause rather than the NaNs that follow from it.

    With TrainConfig.jit_compile, a constant n_critic and one replica, the real batches are read
    first and all the updates of the step run as one XLA computation (like Keras'
    `compile(jit_compile=True)`); otherwise each update is compiled on its own.
    """
    if self._whole_step_jit(n_critic):
      shared = (not self.objective.trains_critic or self.objective.update == "simultaneous"
                or self.objective.critic_real_batches != "fresh")
      reals = [next(self.iterator) for _ in range(1 if shared else n_critic)]
      if n_critic not in self._jit_steps:
        self._jit_steps[n_critic] = tf.function(
            lambda reals, n=n_critic: self._updates(iter(reals).__next__, n), jit_compile=True)
      return self._jit_steps[n_critic](reals)
    return self._updates(lambda: next(self.iterator), n_critic)

  def _whole_step_jit(self, n_critic):
    if not (getattr(self.config, "jit_compile", False) and isinstance(n_critic, int)
            and self.strategy.num_replicas_in_sync == 1):
      return False
    self.__dict__.setdefault("_jit_steps", {})
    return True

  def _updates(self, next_real, n_critic):
    """The updates of `_train_step_fn`; `next_real()` gives the next real batch."""
    real = next_real()
    if not self.objective.trains_critic:   # e.g. Sinkhorn in pixel space: generator steps only
      terms, health = self._run(self._generator_replica, real, [self.g_opt])
      self._update_ema()
      self.step.assign_add(1)
      return {f"generator/{k}": v for k, v in terms.items()}, self._single_health(health)
    if self.objective.update == "simultaneous":
      terms, health = self._run(self._joint_replica, real, [self.d_opt, self.g_opt])
      self.objective.after_critic_step(self.critic)
      self._update_ema()
      self.step.assign_add(1)
      return terms, self._single_health(health)
    d_terms, h = self._run(self._critic_replica, real, [self.d_opt])
    self.objective.after_critic_step(self.critic)
    bad = _is_bad(h)
    first = tf.where(bad, 0, -1)
    first_loss_ok, first_grads_ok = h["loss"], h["grads"]
    first_terms = d_terms
    skipped = tf.cast(bad, tf.float32)
    # A Python int (constant schedule) unrolls the critic updates in the traced graph, like a
    # hand-written step; a tensor (the WGAN schedule's 100/5) keeps one while_loop, one trace.
    for i in (range(1, n_critic) if isinstance(n_critic, int) else tf.range(1, n_critic)):
      if self.objective.critic_real_batches == "fresh":
        real = next_real()
      d_terms, h = self._run(self._critic_replica, real, [self.d_opt])
      bad = _is_bad(h)
      now = tf.logical_and(first < 0, bad)
      first = tf.where(now, i, first)
      first_loss_ok = tf.where(now, h["loss"], first_loss_ok)
      first_grads_ok = tf.where(now, h["grads"], first_grads_ok)
      first_terms = {k: tf.where(now, d_terms[k], first_terms[k]) for k in first_terms}
      skipped += tf.cast(bad, tf.float32)
      self.objective.after_critic_step(self.critic)
    g_terms, h = self._run(self._generator_replica, real, [self.g_opt])
    self._update_ema()
    self.step.assign_add(1)
    bad = _is_bad(h)
    now = tf.logical_and(first < 0, bad)
    report = {k: tf.where(first >= 0, first_terms[k], d_terms[k]) for k in d_terms}
    terms = {f"critic/{k}": v for k, v in report.items()}
    terms.update({f"generator/{k}": v for k, v in g_terms.items()})
    health = {"first_bad": tf.where(now, n_critic, first),
              "first_loss_ok": tf.where(now, h["loss"], first_loss_ok),
              "first_grads_ok": tf.where(now, h["grads"], first_grads_ok),
              "skipped": skipped + tf.cast(bad, tf.float32)}
    return terms, health

  @staticmethod
  def _single_health(h):
    bad = _is_bad(h)
    return {"first_bad": tf.where(bad, 0, -1), "first_loss_ok": h["loss"],
            "first_grads_ok": h["grads"], "skipped": tf.cast(bad, tf.float32)}

  # ---- sampling ------------------------------------------------------------------------------
  def sample(self, n=None, z=None, use_ema=True, batch=500):
    """Generated examples in data space ([-1, 1] images or 2-D points) as a numpy array."""
    if z is None:
      z = self._draw_fixed_noise(n)
    net = self.ema if (use_ema and self.ema is not None) else self.generator
    return np.concatenate([net(z[i:i + batch], training=False).numpy()
                           for i in range(0, len(z), batch)])

  def _write_samples(self, step):
    fake = self.sample(z=self._fixed_z)
    if self.info.kind == "text":   # argmax characters, written as the official samples_*.txt
      from repro.data import text  # pylint: disable=g-import-not-at-top
      lines = text.corpus_for(self.config).decode(fake.argmax(-1))
      text.write_lines(os.path.join(self.workdir, "samples", f"step_{step:07d}.txt"), lines)
      with self.writer.as_default():
        # An indented Markdown code block: the lines hold the padding character "`".
        tf.summary.text("samples", "\n".join("    " + line for line in lines[:16]), step=step)
      return
    if self.info.kind == "image":
      picture = images.image_grid(fake)
    else:
      if self._real_preview is None:  # its own stream: the training iterator must not advance
        preview = data.get_dataset(self.config.dataset, "train", 1000, self.config.seed + 1)
        self._real_preview = next(iter(preview)).numpy()
      picture = images.scatter_image(self._real_preview, fake)
    images.write_png(os.path.join(self.workdir, "samples", f"step_{step:07d}.png"), picture)
    with self.writer.as_default():
      tf.summary.image("samples", picture[None], step=step)

  # ---- the loop ------------------------------------------------------------------------------
  def _on_signal(self, signum, _):
    self._stop_signal = signum

  def _set_learning_rates(self, step):
    if self.config.lr_decay == "linear":  # gan_cifar_resnet.py: lr * max(0, 1 - step / ITERS)
      frac = max(0.0, 1.0 - step / self.config.steps)
      self.g_opt.learning_rate = self.config.g_lr * frac
      self.d_opt.learning_rate = self.config.d_lr * frac

  def _evaluate(self, step):
    if self.chief:
      self._write_samples(step)
    if self.eval_fn is None:
      return {}
    results = {k: float(v) for k, v in self.eval_fn(self, step).items()}
    with self.writer.as_default():
      for k, v in results.items():
        tf.summary.scalar(f"eval/{k}", v, step=step)
    if self.chief:
      with open(os.path.join(self.workdir, "eval.jsonl"), "a") as f:
        f.write(json.dumps(dict(step=step, **results)) + "\n")
    if self.best_metric and self.best_metric[0] in results:
      name, mode = self.best_metric
      value, best = results[name], float(self.best.numpy())
      if np.isnan(best) or (value < best if mode == "min" else value > best):
        self.best.assign(value)
        self.best_store.save(step)
        self._log(f"new best {name} {value:.4f} at step {step} (kept in {self.workdir}/best)")
    return results

  def _log(self, message):
    if self.chief and not self.quiet:
      print(message, flush=True)

  def train(self):
    """Runs (or resumes) to `config.steps` generator steps. Returns the last logged terms."""
    lock = _WorkdirLock(self.workdir) if self.chief else None
    if lock:
      lock.acquire()
    try:
      return self._train()
    finally:
      if lock:
        lock.release()

  def _train(self):
    cfg = self.config
    restored = self.store.restore_latest()
    start = int(self.step.numpy())
    if self.multi_worker:
      self._check_workers_agree(start)
    if restored:
      skipped = f" (skipped unreadable: {'; '.join(self.store.skipped)})" if self.store.skipped else ""
      self._log(f"resumed from {restored} at step {start}{skipped}")
    if start >= cfg.steps:
      self._log(f"already at step {start} of {cfg.steps}: nothing to do")
      return {}
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
      signal.signal(s, self._on_signal)
    try:
      return self._loop(start)
    except (tf.errors.UnavailableError, tf.errors.CancelledError,
            tf.errors.DeadlineExceededError) as e:
      if not self.multi_worker:
        raise
      raise ClusterError(
          f"lost contact with a worker at step {int(self.step.numpy())} ({_cluster_reason(e)}); "
          f"restart every worker with the same --workdir: training resumes from "
          f"{self.store.latest or 'the start'}") from None
    finally:
      for s, handler in previous.items():
        signal.signal(s, handler)
      self.writer.flush()

  def _check_workers_agree(self, step):
    """Every worker must resume from the same checkpoint (the workdir must be shared storage)."""
    @tf.function
    def moments(x):
      mean = self.strategy.reduce(tf.distribute.ReduceOp.MEAN,
                                  self.strategy.run(tf.identity, args=(x,)), axis=None)
      square = self.strategy.reduce(tf.distribute.ReduceOp.MEAN,
                                    self.strategy.run(tf.square, args=(x,)), axis=None)
      return mean, square

    mean, square = moments(tf.constant(float(step), tf.float64))
    if float(square) - float(mean) ** 2 > 0.25 or float(mean) != step:
      raise ClusterError(f"the workers resumed from different steps (this one from {step}, the mean "
                         f"is {float(mean):g}): the --workdir must be one folder every worker sees "
                         "(a shared file system)")

  def _describe_bad_update(self, step, values, health):
    """'critic update 2 of 5: critic/loss is NaN' for the first non-finite update of a step."""
    first, n = int(health["first_bad"]), n_critic_at(self.config, step)
    if not self.objective.trains_critic:
      side, where = "generator", "generator update"
    elif self.objective.update == "simultaneous":
      side, where = "", "critic and generator update"
    elif first < n:
      side, where = "critic", f"critic update {first + 1} of {n}"
    else:
      side, where = "generator", "generator update"
    names = [f"{k} is {'NaN' if np.isnan(v) else 'Inf'}" for k, v in sorted(values.items())
             if k.startswith(side) and not k.endswith("grad_norm") and not np.isfinite(v)]
    if health["first_grads_ok"] < 1.0:
      names.append(f"{side or 'the'} gradients are non-finite" + (
          "" if names else f" (the loss is finite)"))
    return f"{where}: {', '.join(names) or 'non-finite values'}"

  def _check_finite(self, step, values, health, consecutive):
    """Raises DivergenceError (--nan_policy=stop) or counts skipped updates (skip). Returns the
    new count of consecutive generator steps with a skipped update."""
    done = step + 1
    if int(health["first_bad"]) < 0 and all(np.isfinite(v) for v in values.values()):
      return 0
    last = self.store.latest or "none yet"
    cause = (self._describe_bad_update(step, values, health) if int(health["first_bad"]) >= 0
             else ", ".join(f"{k} is {'NaN' if np.isnan(v) else 'Inf'}"
                            for k, v in sorted(values.items()) if not np.isfinite(v)))
    if self.nan_policy == "skip":
      skipped = int(round(health["skipped"]))
      self.skipped_updates += skipped
      consecutive = consecutive + 1 if skipped else 0
      if skipped:
        self._log(f"step {done}: skipped {skipped} update(s), first {cause} "
                  f"(--nan_policy=skip; {self.skipped_updates} so far)")
      if consecutive >= MAX_CONSECUTIVE_SKIPS:
        raise DivergenceError(
            f"training diverged: {consecutive} generator steps in a row up to step {done} had "
            f"non-finite updates (last: {cause}); last good checkpoint {last} is kept; lower the "
            "learning rates or check the data")
      return consecutive
    raise DivergenceError(
        f"training diverged at step {done}, {cause}; stopped without saving it (last good "
        f"checkpoint {last} is kept); lower the learning rates, check the data, or pass "
        f"--nan_policy=skip to skip such updates")

  def _loop(self, start):
    cfg = self.config
    window_start, window_steps, logged = time.time(), 0, {}
    consecutive_skips = 0
    for step in range(start, cfg.steps):
      self._set_learning_rates(step)
      terms, health = self._train_step(self._n_critic_arg(step))
      done, window_steps = step + 1, window_steps + 1
      values = {k: float(v) for k, v in terms.items()}
      consecutive_skips = self._check_finite(step, values, {k: float(v) for k, v in health.items()},
                                             consecutive_skips)
      if done % cfg.log_every == 0 or done == cfg.steps:
        elapsed = time.time() - window_start
        rate = window_steps / max(elapsed, 1e-9)
        values["steps_per_sec"] = rate
        values["g_lr"] = float(self.g_opt.learning_rate.numpy())
        values["d_lr"] = float(self.d_opt.learning_rate.numpy())
        with self.writer.as_default():
          for k, v in values.items():
            tf.summary.scalar(k, v, step=done)
        eta = (cfg.steps - done) / max(rate, 1e-9)
        shown = " ".join(f"{k} {values[k]:.4g}" for k in sorted(terms) if k.endswith("loss")
                         or "estimate" in k)
        self._log(f"step {done}/{cfg.steps} ({100 * done / cfg.steps:.0f}%) | {shown} | "
                  f"{rate:.1f} steps/s | ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}")
        window_start, window_steps, logged = time.time(), 0, values
      if done % cfg.eval_every == 0 or done == cfg.steps:
        logged.update(self._evaluate(done))
      if done % cfg.save_every == 0 or done == cfg.steps or self._stop_signal:
        self.store.save(done)
      if self._stop_signal:
        self._log(f"stopped by signal {self._stop_signal} at step {done}; checkpoint saved in "
                  f"{self.store.directory}: run the same command to resume")
        break
    return logged
