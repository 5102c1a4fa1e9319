"""The one trainer: runs a `Recipe` in a workdir (lock, recipe file, checkpoints, signals,
TensorBoard, progress, evaluation, sample files). The updates themselves are `repro.train.step`.

  from repro.train import run
  run(repro.papers.wgan.recipe("8gaussians", variant="gp").replace(steps=10), "runs/x")
"""

import fcntl
import json
import os
import signal
import time

import keras
import numpy as np
import tensorflow as tf

from repro import data
from repro import registry
from repro.errors import ClusterError, DivergenceError, UsageError
from repro.recipe import Recipe, n_critic_at, resume_differences
from repro.train import images
from repro.train import initial
from repro.train import streams
from repro.train.checkpoints import CheckpointStore
from repro.train.distribute import is_chief, is_multi_worker
from repro.train.step import RandomDraws, TrainStep, build_parts

NAN_POLICIES = ("stop", "skip")
# --nan_policy=skip gives up when this many generator steps in a row had a skipped update.
MAX_CONSECUTIVE_SKIPS = 20
RECIPE_FILE = "recipe.json"
LEGACY_CONFIG_FILE = "config.json"   # workdirs written before recipes existed


def _check_workdir(workdir):
  try:
    os.makedirs(workdir, exist_ok=True)
    probe = os.path.join(workdir, ".write_test")
    with open(probe, "w") as f:
      f.write("ok")
    os.remove(probe)
  except OSError as e:
    raise UsageError(f"cannot write to --workdir {workdir}: {e.strerror}; choose a writable folder")


LONG_RUN_SECONDS = 3 * 3600   # said plainly once the speed is measured


def _cluster_reason(e):
  """The gist of a collective-op failure: TF's message carries the op's whole definition trace."""
  lines = [l.strip() for l in (getattr(e, "message", "") or str(e)).splitlines() if l.strip()]
  noise = ("Graph execution error", "Detected at node", "File ", "[[", "Additional GRPC", ":UNKNOWN")
  useful = [l for l in lines if not l.startswith(noise) and not l.startswith("{{")]
  return f"{type(e).__name__}: {useful[-1][:160] if useful else 'collective operation failed'}"


def metric_protocol(recipe):
  """What the recipe's evaluation measures against, in words, e.g. "fashion_mnist_cnn features,
  10000 samples vs the 60000 training images" ("" when it evaluates nothing)."""
  ev, p = recipe.eval, dict(recipe.eval.params)
  if ev.metric == "fid":
    if p.get("stats"):
      reference = f"the statistics {os.path.basename(p['stats'])}"
    else:
      try:
        total = data.dataset_info(recipe.dataset).size("train")
      except UsageError:   # no recorded size
        total = None
      n_real = p.get("n_real") or total
      reference = ("the training images" if n_real is None else
                   f"the {n_real} training images" if total is None or n_real >= total else
                   f"{n_real} of the {total} training images")
    return f"{p.get('extractor')} features, {ev.n_samples} samples vs {reference}"
  if ev.metric == "inception_score":
    return (f"{p.get('extractor', 'inception_2015')} logits, {ev.n_samples} samples, "
            f"{p.get('splits', 10)} splits")
  if ev.metric in ("mode_coverage", "points_prdc"):
    return f"{ev.n_samples} samples vs as many training points"
  if ev.metric == "jsd":
    return f"n-gram models of {ev.n_samples} generated sentences vs the training lines"
  return ""


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


def write_atomic(path, text):
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write(text)
  os.replace(tmp, path)


# ---- the workdir's recipe ---------------------------------------------------------------------------

def _format_differences(workdir, differences):
  shown = "; ".join(f"{path}: workdir {saved!r}, now {now!r}" for path, saved, now in differences)
  return (f"--workdir {workdir} holds a run of another recipe ({shown}); use a new --workdir or "
          f"the recorded settings ({os.path.join(workdir, RECIPE_FILE)})")


def _legacy_paths(old):
  """{recipe path: value} of what a pre-recipe config.json recorded (TrainConfig fields)."""
  rms = old.get("optimizer") == "rmsprop"
  kind = "rmsprop_torch" if rms else "adam"
  mapped = {"dataset": old.get("dataset"), "model.arch": old.get("arch"),
            "z_dim": old.get("z_dim"), "z_dist": old.get("z_dist"),
            "batch_size": old.get("batch_size"), "n_critic": old.get("n_critic"),
            "n_critic_schedule": old.get("n_critic_schedule"), "seed": old.get("seed"),
            "g_opt.kind": kind, "d_opt.kind": kind, "g_opt.lr": old.get("g_lr"),
            "d_opt.lr": old.get("d_lr"), "ema.decay": old.get("ema_decay"),
            "ema.start": old.get("ema_start"), "data.source": old.get("source")}
  if not rms:   # TrainConfig's betas were unused for RMSprop (rho 0.99 was implied)
    mapped.update({"g_opt.beta1": old.get("g_beta1"), "g_opt.beta2": old.get("g_beta2"),
                   "d_opt.beta1": old.get("d_beta1"), "d_opt.beta2": old.get("d_beta2")})
  decay = {"none": "constant", "linear": "linear"}.get(old.get("lr_decay"), old.get("lr_decay"))
  mapped.update({"g_opt.schedule": decay, "d_opt.schedule": decay})
  for key, value in (old.get("model") or {}).items():
    mapped[f"model.args.{key}"] = value
  for key, value in (old.get("text") or {}).items():
    mapped[f"data.text.{key}"] = value
  return {k: v for k, v in mapped.items() if v is not None}


def check_recipe_file(workdir, recipe, write=True):
  """Writes `recipe.json` in a new workdir; in an existing one, the recipe must equal the
  recorded one except for `repro.recipe.RESUMABLE` fields (else a UsageError naming each field).
  A pre-recipe workdir (config.json only) resumes when every field it recorded agrees, and then
  gets its recipe.json. An existing recipe.json is left as it is (the trainer rewrites it once it
  holds the workdir's lock and has restored a checkpoint); nothing is written when the check
  fails."""
  path = os.path.join(workdir, RECIPE_FILE)
  if os.path.exists(path):
    try:
      with open(path) as f:
        saved = Recipe.from_json(f.read())
    except (OSError, UsageError) as e:
      raise UsageError(f"{path} is unreadable ({e}); it records the run's recipe: restore it or "
                       "use a new --workdir") from None
    differences = resume_differences(saved, recipe)
    if differences:
      raise UsageError(_format_differences(workdir, differences))
    return
  legacy = os.path.join(workdir, LEGACY_CONFIG_FILE)
  if os.path.exists(legacy):
    _check_legacy(workdir, legacy, recipe)
  if write:
    write_atomic(path, recipe.to_json())


def _check_legacy(workdir, legacy, recipe):
  try:
    with open(legacy) as f:
      old = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise UsageError(f"{legacy} is unreadable ({e}); it records the run's settings: restore it "
                     "or use a new --workdir") from None
  flat = recipe.flat()
  differences = [(k, v, flat.get(k, "(absent)")) for k, v in _legacy_paths(old).items()
                 if _normal(v) != _normal(flat.get(k, "(absent)"))]
  if differences:
    raise UsageError(f"--workdir {workdir} was written before recipes (config.json) and differs "
                     f"from this recipe ("
                     + "; ".join(f"{k}: workdir {a!r}, now {b!r}" for k, a, b in differences)
                     + "); rerun with the settings it records or use a new --workdir")


def _normal(value):
  return json.loads(json.dumps(value))


# ---- sample files, by dataset kind --------------------------------------------------------------------

def _write_image_samples(trainer, fake, step):
  picture = images.image_grid(fake)
  images.write_png(os.path.join(trainer.workdir, "samples", f"step_{step:07d}.png"), picture)
  with trainer.writer.as_default():
    tf.summary.image("samples", picture[None], step=step)


def _write_point_samples(trainer, fake, step):
  from repro import figures  # pylint: disable=g-import-not-at-top
  from repro.data import toy  # pylint: disable=g-import-not-at-top
  r = trainer.recipe
  picture = figures.scatter(trainer.real_preview(), fake, f"{r.paper} on {r.dataset}, step {step}",
                            centers=toy.centres_or_none(r.dataset))
  images.write_png(os.path.join(trainer.workdir, "samples", f"step_{step:07d}.png"), picture)
  with trainer.writer.as_default():
    tf.summary.image("samples", picture[None], step=step)


def _write_text_samples(trainer, fake, step):
  """Argmax characters, written as the official samples_*.txt."""
  from repro.data import text  # pylint: disable=g-import-not-at-top
  lines = text.corpus_for(trainer.recipe).decode(fake.argmax(-1))
  text.write_lines(os.path.join(trainer.workdir, "samples", f"step_{step:07d}.txt"), lines)
  with trainer.writer.as_default():
    # An indented Markdown code block: the lines hold the padding character "`".
    tf.summary.text("samples", "\n".join("    " + line for line in lines[:16]), step=step)


SAMPLE_WRITERS = {"image": _write_image_samples, "points": _write_point_samples,
                  "text": _write_text_samples}
PREVIEW_SAMPLES = {"image": 64, "points": 1000, "text": 64}


class Trainer:
  """Trains `recipe` in `workdir`.

  objective / models / eval_fn: normally built from the recipe (`repro.registry`); given here they
  replace those parts (tests, research extensions). models: (generator, critic) or a function
  recipe -> (generator, critic) called under the strategy scope. eval_fn(trainer, step) ->
  {name: float}; best_metric=(name, "min"|"max") keeps the best weights in `workdir/best`.
  nan_policy: "stop" ends the run with DivergenceError at the first step whose loss or gradient is
  NaN/Inf, saving nothing after it; "skip" undoes that update (weights, optimizer state,
  batch-norm statistics) and goes on, giving up after MAX_CONSECUTIVE_SKIPS bad steps in a row.
  """

  def __init__(self, recipe: Recipe, workdir, strategy=None, deterministic=False, quiet=False,
               nan_policy="stop", objective=None, models=None, eval_fn=None, best_metric=None):
    if nan_policy not in NAN_POLICIES:
      raise UsageError(f"--nan_policy must be one of {', '.join(NAN_POLICIES)}, got {nan_policy!r}")
    self.recipe = recipe = recipe.validate()
    self.nan_policy = nan_policy
    self.workdir = workdir
    self.quiet = quiet
    self.strategy = strategy or tf.distribute.get_strategy()
    self.replicas = self.strategy.num_replicas_in_sync
    if recipe.batch_size % self.replicas:
      raise UsageError(f"--batch_size={recipe.batch_size} is not divisible by the "
                       f"{self.replicas} replicas of the strategy")
    self.objective = objective or registry.build_objective(recipe)
    if eval_fn is None and best_metric is None:
      evaluator = registry.EVALUATORS.build(recipe.eval.metric, recipe)
      eval_fn = evaluator.fn
      best_metric = (recipe.eval.best, recipe.eval.best_mode) if (
          recipe.eval.best and eval_fn is not None) else None
    self.eval_fn, self.best_metric = eval_fn, best_metric
    self.chief = is_chief(self.strategy)
    self.multi_worker = is_multi_worker(self.strategy)
    self.info = data.dataset_info(recipe.dataset)
    if deterministic:
      tf.config.experimental.enable_op_determinism()
    if self.chief:
      _check_workdir(workdir)
    # Each random stream has its own seed (repro.train.streams). The global seeds are set to the
    # data stream's while the pipeline is built (tfds shuffling reads the global seed), then to the
    # init stream's for the networks' initialisers.
    keras.utils.set_random_seed(streams.data_seed(recipe.seed))
    d = recipe.data
    dataset = data.get_dataset(recipe.dataset, "train", recipe.batch_size,
                               streams.data_seed(recipe.seed),
                               data_dir=d.data_dir or None, download=d.download,
                               source=d.source, text=dict(d.text) or None,
                               image_size=d.image_size)
    check_recipe_file(workdir, recipe, write=self.chief)
    keras.utils.set_random_seed(streams.init_seed(recipe.seed))
    # Text: (length, vocabulary) of the loaded corpus (the vocabulary comes from the data).
    # Images: resized to recipe.data.image_size when it is set (WassersteinGAN's CIFAR-10 at 64).
    shape = (tuple(dataset.element_spec.shape[1:]) if self.info.kind == "text"
             else data.example_shape(recipe.dataset, d.image_size))
    with self.strategy.scope():
      if callable(models):
        models = models(recipe)
      parts = build_parts(recipe, shape, models)
    self.generator, self.critic, self.g_opt, self.d_opt, self.step, self.ema = parts
    if recipe.init_from:   # a checkpoint, when there is one, replaces these on restore
      initial.load_into(recipe.init_from, recipe.model.arch, self.generator, self.critic)
      if self.ema is not None:
        self.ema.set_weights(self.generator.get_weights())
    self.rng = streams.draws_generator(recipe.seed)
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
                                 recipe.keep_checkpoints, chief=self.chief)
    self.best_store = None
    if self.best_metric:
      self.best_store = CheckpointStore(self.checkpoint, os.path.join(workdir, "best"), 1,
                                        chief=self.chief)
    self.skipped_updates = 0
    self.writer = (tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))
                   if self.chief else tf.summary.create_noop_writer())
    self._stop_signal = None
    self._real_preview = None
    self._fixed_z = self._draw_fixed_noise(PREVIEW_SAMPLES[self.info.kind])
    self.train_step = TrainStep(recipe, self.objective, parts, self.strategy,
                                RandomDraws(self.rng, recipe), skip_bad=nan_policy == "skip")
    self._traced_step = tf.function(self._step_fn)
    self._jit_steps = {}

  def _check_data_shape(self, dataset):
    shape = tuple(dataset.element_spec.shape[1:])
    if shape != tuple(self.generator.output_shape[1:]):
      raise UsageError(f"the generator makes examples of shape {self.generator.output_shape[1:]} "
                       f"but {self.recipe.dataset} has {shape}")

  # ---- noise and sampling --------------------------------------------------------------------------
  def _draw_fixed_noise(self, n, seed=None):
    return streams.noise(n, self.recipe.z_dim, self.recipe.z_dist,
                         streams.preview_seed(self.recipe.seed) if seed is None else seed)

  def sample(self, n=None, z=None, use_ema=True, batch=500):
    """Generated examples in data space ([-1, 1] images, points, one-hot text) as numpy, batch
    norm on its moving averages."""
    if z is None:
      z = self._draw_fixed_noise(n)
    net = self.ema if (use_ema and self.ema is not None) else self.generator
    return np.concatenate([net(z[i:i + batch], training=False).numpy()
                           for i in range(0, len(z), batch)])

  def eval_samples(self, n):
    """`n` samples as the recipe's evaluation draws them (recipe.eval: sampler, sample_batch,
    use_ema), from noise drawn afresh for each step (seeded by the run's seed and the step). The
    "training" sampler runs batch norm on each batch's statistics and leaves the moving averages
    as they were."""
    spec = self.recipe.eval
    z = self._draw_fixed_noise(n, seed=streams.eval_noise_seed(self.recipe.seed,
                                                               int(self.step.numpy())))
    net = self.ema if (spec.use_ema and self.ema is not None) else self.generator
    if spec.sampler == "inference":
      return self.sample(z=z, use_ema=spec.use_ema, batch=spec.sample_batch)
    saved = [v.numpy() for v in net.non_trainable_variables]
    out = np.concatenate([net(z[i:i + spec.sample_batch], training=True).numpy()
                          for i in range(0, n, spec.sample_batch)])
    for v, value in zip(net.non_trainable_variables, saved):
      v.assign(value)
    return out

  def real_preview(self):
    """1000 training points for the scatter plots (its own stream: the training iterator must
    not advance)."""
    if self._real_preview is None:
      preview = data.get_dataset(self.recipe.dataset, "train", 1000,
                                 streams.preview_seed(self.recipe.seed))
      self._real_preview = next(iter(preview)).numpy()
    return self._real_preview

  # ---- the step -------------------------------------------------------------------------------------
  def _n_critic_arg(self, step):
    """n_critic for the traced step: an int when it never changes (one trace, loop unrolled),
    else a tensor (no retracing when the WGAN schedule switches between 100 and n_critic)."""
    n = n_critic_at(self.recipe, step)
    return n if self.recipe.n_critic_schedule == "constant" else tf.constant(n, tf.int32)

  def _step_fn(self, n_critic):
    """One generator step (terms, Health). With recipe.jit_compile, a constant n_critic and one
    replica, the real batches are read first and all the updates of the step run as one XLA
    computation (like Keras' `compile(jit_compile=True)`); otherwise each update is compiled on
    its own."""
    if self.recipe.jit_compile and isinstance(n_critic, int) and self.replicas == 1:
      reals = [next(self.iterator) for _ in range(self.train_step.real_batches_per_step(n_critic))]
      if n_critic not in self._jit_steps:
        self._jit_steps[n_critic] = tf.function(
            lambda reals, n=n_critic: self.train_step(iter(reals).__next__, n), jit_compile=True)
      return self._jit_steps[n_critic](reals)
    return self.train_step(lambda: next(self.iterator), n_critic)

  # ---- the loop -------------------------------------------------------------------------------------
  def _on_signal(self, signum, _):
    self._stop_signal = signum

  @property
  def stopped_by(self):
    """The signal (SIGINT, SIGTERM) that stopped the last `train()` after saving, else None."""
    return self._stop_signal

  def _set_learning_rates(self, step):
    for spec, opt in ((self.recipe.g_opt, self.g_opt), (self.recipe.d_opt, self.d_opt)):
      if spec.schedule == "linear":   # gan_cifar_resnet.py: lr * max(0, 1 - step / ITERS)
        opt.learning_rate = spec.lr * max(0.0, 1.0 - step / self.recipe.steps)

  def _evaluate(self, step, at_start=False):
    if self.chief:
      fake = self.sample(z=self._fixed_z)
      SAMPLE_WRITERS[self.info.kind](self, fake, step)
    if self.eval_fn is None or (step < self.recipe.eval.first_step and not at_start):
      return {}
    results = {k: float(v) for k, v in self.eval_fn(self, step).items()}
    with self.writer.as_default():
      for k, v in results.items():
        tf.summary.scalar(f"eval/{k}", v, step=step)
    if self.chief:
      record = dict(step=step, **results)
      if self.recipe.eval.metric != "none":
        record["sampler"] = self.recipe.eval.sampler
      with open(os.path.join(self.workdir, "eval.jsonl"), "a") as f:
        f.write(json.dumps(record) + "\n")
    if self.best_metric and self.best_metric[0] in results:
      name, mode = self.best_metric
      value, best = results[name], float(self.best.numpy())
      if np.isnan(best) or (value < best if mode == "min" else value > best):
        self.best.assign(value)
        self.best_store.save(step)
        protocol = metric_protocol(self.recipe)
        self._log(f"new best {name} {value:.4g}" + (f" [{protocol}]" if protocol else "") +
                  f" at step {step} (kept in {self.workdir}/best)")
    return results

  def _log(self, message):
    if self.chief and not self.quiet:
      print(message, flush=True)

  def train(self):
    """Runs (or resumes) to `recipe.steps` generator steps. Returns the last logged terms."""
    lock = _WorkdirLock(self.workdir) if self.chief else None
    if lock:
      lock.acquire()
    try:
      return self._train()
    finally:
      if lock:
        lock.release()

  def _train(self):
    restored = self.store.restore_latest()
    start = int(self.step.numpy())
    self._record_recipe()
    if self.multi_worker:
      self._check_workers_agree(start)
    if restored:
      skipped = f" (skipped unreadable: {'; '.join(self.store.skipped)})" if self.store.skipped else ""
      self._log(f"resumed from {restored} at step {start}{skipped}")
    if start >= self.recipe.steps:
      self._log(f"already at step {start} of {self.recipe.steps}: nothing to do")
      return {}
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
      signal.signal(s, self._on_signal)
    try:
      if start == 0 and self.recipe.eval.at_start:
        self._evaluate(0, at_start=True)
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

  def _record_recipe(self):
    """recipe.json holds the recipe of the latest run (resumable fields may have changed)."""
    path = os.path.join(self.workdir, RECIPE_FILE)
    text = self.recipe.to_json()
    if self.chief:
      with open(path) as f:
        if f.read() == text:
          return
      write_atomic(path, text)

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
    first, n = int(health.first_bad), n_critic_at(self.recipe, step)
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
    if health.first_grads_ok < 1.0:
      names.append(f"{side or 'the'} gradients are non-finite" + (
          "" if names else " (the loss is finite)"))
    return f"{where}: {', '.join(names) or 'non-finite values'}"

  def _check_finite(self, step, values, health, consecutive):
    """Raises DivergenceError (--nan_policy=stop) or counts skipped updates (skip). Returns the
    new count of consecutive generator steps with a skipped update."""
    done = step + 1
    if int(health.first_bad) < 0 and all(np.isfinite(v) for v in values.values()):
      return 0
    last = self.store.latest or "none yet"
    cause = (self._describe_bad_update(step, values, health) if int(health.first_bad) >= 0
             else ", ".join(f"{k} is {'NaN' if np.isnan(v) else 'Inf'}"
                            for k, v in sorted(values.items()) if not np.isfinite(v)))
    if self.nan_policy == "skip":
      skipped = int(round(health.skipped))
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
    r = self.recipe
    window_start, window_steps, logged = time.time(), 0, {}
    consecutive_skips, windows = 0, 0
    for step in range(start, r.steps):
      self._set_learning_rates(step)
      terms, health = self._traced_step(self._n_critic_arg(step))
      done, window_steps = step + 1, window_steps + 1
      values = {k: float(v) for k, v in terms.items()}
      health = type(health)(*(float(v) for v in health))
      consecutive_skips = self._check_finite(step, values, health, consecutive_skips)
      if done % r.log_every == 0 or done == r.steps:
        elapsed = time.time() - window_start
        rate = window_steps / max(elapsed, 1e-9)
        values["steps_per_sec"] = rate
        values["g_lr"] = float(self.g_opt.learning_rate.numpy())
        values["d_lr"] = float(self.d_opt.learning_rate.numpy())
        with self.writer.as_default():
          for k, v in values.items():
            tf.summary.scalar(k, v, step=done)
        eta = (r.steps - done) / max(rate, 1e-9)
        shown = " ".join(f"{k} {values[k]:.4g}" for k in sorted(terms) if k.endswith("loss")
                         or "estimate" in k)
        self._log(f"step {done}/{r.steps} ({100 * done / r.steps:.0f}%) | {shown} | "
                  f"{rate:.1f} steps/s | ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}")
        windows += 1
        if windows == 2 and eta > LONG_RUN_SECONDS:   # the first window includes the tracing
          self._log(f"a long run: {r.steps - done} steps left at the measured {rate:.2g} steps/s "
                    f"take about {eta / 3600:.0f} h on this machine (--steps shortens it)")
        window_start, window_steps, logged = time.time(), 0, values
      if done % r.eval.every == 0 or done == r.steps:
        logged.update(self._evaluate(done))
      if done % r.save_every == 0 or done == r.steps or self._stop_signal:
        self.store.save(done)
      if self._stop_signal:
        self._log(f"stopped at step {done} of {r.steps} (checkpoint saved): run the same command "
                  "to resume")
        break
    return logged
