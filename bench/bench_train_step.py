r"""Benchmark 1: the suite's train step against a keras-io-style `keras.Model.train_step` + `fit`.

    .venv/bin/python bench/bench_train_step.py                 # all cases, jit_compile off and on
    .venv/bin/python bench/bench_train_step.py --cases=klwgan_mlp --repeats=7
    .venv/bin/python bench/bench_train_step.py --smoke         # seconds; CI checks the JSON shape

One generator step = n_critic = 5 critic updates + 1 generator update, on the paper modules' own
settings:

  dcgan32     `repro.papers.wgan.gp_recipe("cifar10")`: gan_cifar.py's DCGAN (width 128, 5x5 kernels,
              BN in G), 32x32x3, batch 64, WGAN-GP λ 10, Adam. Compute-bound. The images are random
              (an in-memory array through the same tf.data pipeline shape as the real loader).
  gan_toy     `gp_recipe("8gaussians")`: gan_toy.py's 3x512 ReLU MLPs, batch 256, λ 0.1, Adam.
  klwgan_mlp  `repro.papers.klwgan.synthetic_recipe("mog")` networks (2->100->100 MLPs, spectral norm
              in the critic), batch 256, RMSprop, with the WGAN-GP loss (λ 0.1) and one shared real
              batch per generator step. Dispatch-bound.
  klwgan_kl   the same networks with the KL-WGAN loss, exactly as the synthetic table trains them.

The suite side is `repro.train.runner.Trainer` (the whole n_critic loop in one tf.function), run
as its training loop runs it: one call per generator step, then every logged term fetched to
Python (the NaN check). The baseline is the keras.io "WGAN-GP" example pattern (`class WGAN(
keras.Model)` with `train_step` unrolling `d_steps` critic updates in Python, `compile` with two
optimizers, `fit` on a tf.data pipeline), written below for the same networks, loss, optimizers and
batch. Its networks are the suite's with stock Keras layers, as a keras-io user builds them: the
same weights, but `keras.layers.LeakyReLU` (whose gradient makes TF's Grappler remapper abort in
conv training graphs) where the suite has `repro.models.layers.LeakyReLU`. Its rate is measured
between `on_train_batch_end` calls inside `fit` (so `fit`'s start-up is not counted against it). Both get the same datasets. `--jit` runs each side with
jit_compile off and on (`Recipe.jit_compile` for the suite, `compile(jit_compile=)` for the
baseline; Keras' "auto" is off on CPU-only machines).

Timing: the variants run interleaved (each repeat times `--steps` generator steps of every
variant in turn, the order alternating), after one warm-up repeat that also traces/compiles; the
table shows the median steps/s and the ratio suite / baseline at the same jit setting, and
suite-best / baseline-best.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  pylint: disable=g-import-not-at-top

common.quiet_tensorflow()

CASES = ("dcgan32", "gan_toy", "klwgan_mlp", "klwgan_kl")
DEFAULT_STEPS = {"dcgan32": 3, "gan_toy": 40, "klwgan_mlp": 100, "klwgan_kl": 100}


# ---- the cases -----------------------------------------------------------------------------------

def case_setup(name, smoke=False):
  """(Recipe, models factory or None, dataset factory or None, loss spec). The recipe holds the
  objective (WGAN-GP or KL-WGAN) and, for the KL-WGAN nets, one shared real batch per step."""
  from repro.papers import klwgan, wgan  # pylint: disable=g-import-not-at-top
  if name == "dcgan32":
    recipe = wgan.gp_recipe("cifar10", gp_weight=10.0)
    if smoke:
      recipe = recipe.replace(**{"model.args.width": 8, "batch_size": 8})
    return recipe, None, _random_images, ("gp", 10.0)
  if name == "gan_toy":
    recipe = wgan.gp_recipe("8gaussians", gp_weight=0.1)
    if smoke:
      recipe = recipe.replace(**{"model.args": dict(hidden=(16, 16, 16)), "batch_size": 16})
    return recipe, None, None, ("gp", 0.1)
  if name in ("klwgan_mlp", "klwgan_kl"):
    recipe = klwgan.synthetic_recipe("mog")
    if smoke:
      recipe = recipe.replace(batch_size=16)
    if name == "klwgan_kl":
      recipe = recipe.replace(**{"objective.name": "klwgan",
                                 "objective.params": dict(loss="kl", temperature=1.0)})
      loss = ("kl", 1.0)
    else:
      recipe = recipe.replace(**{"objective.name": "wgan",
                                 "objective.params": dict(gp_weight=0.1)})
      loss = ("gp", 0.1)
    recipe = recipe.replace(real_batches="shared")   # kl_wgan.py: one x for the critic steps
    return recipe, None, None, loss
  raise ValueError(f"unknown case {name!r}; choose from {', '.join(CASES)}")


def _random_images(recipe, info):
  """Random images in [-1, 1] through an in-memory pipeline like the IDX loader's."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  n = max(recipe.batch_size * 8, 256)
  array = rng.integers(0, 256, size=(n,) + tuple(info.shape), dtype=np.uint8)
  ds = tf.data.Dataset.from_tensor_slices(array).repeat().batch(recipe.batch_size,
                                                                 drop_remainder=True)
  return ds.map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0).prefetch(tf.data.AUTOTUNE)


class DatasetPatch:
  """Makes `repro.data.get_dataset(recipe.dataset, ...)` return `make(recipe, info)` (data that is
  not installed here, e.g. CIFAR-10, replaced by random images of the same shape)."""

  def __init__(self, make, recipe):
    self.make, self.recipe = make, recipe

  def __enter__(self):
    from repro import data  # pylint: disable=g-import-not-at-top
    self.original = data.get_dataset
    info = data.dataset_info(self.recipe.dataset)
    data.get_dataset = lambda *a, **k: self.make(self.recipe, info)
    return self

  def __exit__(self, *exc):
    from repro import data  # pylint: disable=g-import-not-at-top
    data.get_dataset = self.original


def make_dataset(recipe, dataset_fn):
  from repro import data  # pylint: disable=g-import-not-at-top
  if dataset_fn is not None:
    return dataset_fn(recipe, data.dataset_info(recipe.dataset))
  return data.get_dataset(recipe.dataset, "train", recipe.batch_size, recipe.seed)


# ---- the suite -----------------------------------------------------------------------------------

class SuiteRunner:
  """The Trainer's step as `Trainer._loop` runs it (call, then fetch every term to Python)."""

  def __init__(self, name, jit, smoke, workdir):
    from repro.train.runner import Trainer  # pylint: disable=g-import-not-at-top
    recipe, models, dataset_fn, _ = case_setup(name, smoke)
    recipe = recipe.replace(jit_compile=bool(jit))
    self.recipe = recipe
    if dataset_fn is not None:
      with DatasetPatch(dataset_fn, recipe):
        self.trainer = Trainer(recipe, workdir, models=models, quiet=True)
    else:
      self.trainer = Trainer(recipe, workdir, models=models, quiet=True)
    self.n_critic = self.trainer._n_critic_arg(1000 + 1)  # pylint: disable=protected-access
    self.jit = jit

  def run(self, steps):
    import numpy as np  # pylint: disable=g-import-not-at-top
    trainer = self.trainer
    start = time.perf_counter()
    for _ in range(steps):
      trainer._set_learning_rates(int(trainer.step.numpy()))  # pylint: disable=protected-access
      terms, _ = trainer._traced_step(self.n_critic)  # pylint: disable=protected-access
      values = {k: float(v) for k, v in terms.items()}
      if not all(np.isfinite(v) for v in values.values()):
        raise FloatingPointError(f"non-finite terms {values}")
    return time.perf_counter() - start


# ---- the keras-io-style baseline -----------------------------------------------------------------

def keras_io_wgan_class():
  """The keras.io WGAN-GP example's model class (A. K. Nain), adapted to this loss/penalty API:
  uniform α per example (the example draws α ~ N(0, 1), a known slip), ε inside the norm's root,
  and the KL-WGAN loss as an option."""
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from repro.losses import klwgan  # pylint: disable=g-import-not-at-top

  class WGAN(keras.Model):

    def __init__(self, discriminator, generator, latent_dim, discriminator_extra_steps=5,
                 gp_weight=10.0, loss="gp", temperature=1.0, z_dist="normal"):
      super().__init__()
      self.discriminator = discriminator
      self.generator = generator
      self.latent_dim = latent_dim
      self.d_steps = discriminator_extra_steps
      self.gp_weight = gp_weight
      self.loss_kind = loss
      self.temperature = temperature
      self.z_dist = z_dist

    def compile(self, d_optimizer, g_optimizer, **kwargs):  # pylint: disable=arguments-differ
      super().compile(**kwargs)
      self.d_optimizer = d_optimizer
      self.g_optimizer = g_optimizer

    def _z(self, batch_size):
      if self.z_dist == "uniform":
        return tf.random.uniform((batch_size, self.latent_dim), -1.0, 1.0)
      return tf.random.normal((batch_size, self.latent_dim))

    def gradient_penalty(self, batch_size, real_images, fake_images):
      shape = [batch_size] + [1] * (len(real_images.shape) - 1)
      alpha = tf.random.uniform(shape, 0.0, 1.0)
      interpolated = real_images + alpha * (fake_images - real_images)
      with tf.GradientTape() as gp_tape:
        gp_tape.watch(interpolated)
        pred = self.discriminator(interpolated, training=True)
      grads = gp_tape.gradient(pred, [interpolated])[0]
      axes = list(range(1, len(grads.shape)))
      norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=axes) + 1e-10)
      return tf.reduce_mean((norm - 1.0) ** 2)

    def d_loss_fn(self, real_logits, fake_logits):
      if self.loss_kind == "kl":   # the suite's pure KL-WGAN loss functions, as a user calls them
        return klwgan.discriminator_loss(real_logits, fake_logits, self.temperature)
      return tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)

    def g_loss_fn(self, fake_logits):
      if self.loss_kind == "kl":
        return klwgan.generator_loss(fake_logits, self.temperature)
      return -tf.reduce_mean(fake_logits)

    def train_step(self, real_images):  # pylint: disable=arguments-renamed
      batch_size = tf.shape(real_images)[0]
      for _ in range(self.d_steps):
        random_latent_vectors = self._z(batch_size)
        with tf.GradientTape() as tape:
          fake_images = self.generator(random_latent_vectors, training=True)
          real_logits = self.discriminator(real_images, training=True)
          fake_logits = self.discriminator(fake_images, training=True)
          d_cost = self.d_loss_fn(real_logits, fake_logits)
          d_loss = d_cost
          if self.loss_kind == "gp":
            gp = self.gradient_penalty(batch_size, real_images, fake_images)
            d_loss = d_cost + gp * self.gp_weight
        d_gradient = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(d_gradient, self.discriminator.trainable_variables))
      random_latent_vectors = self._z(batch_size)
      with tf.GradientTape() as tape:
        generated_images = self.generator(random_latent_vectors, training=True)
        gen_img_logits = self.discriminator(generated_images, training=True)
        g_loss = self.g_loss_fn(gen_img_logits)
      gen_gradient = tape.gradient(g_loss, self.generator.trainable_variables)
      self.g_optimizer.apply_gradients(zip(gen_gradient, self.generator.trainable_variables))
      return {"d_loss": d_loss, "g_loss": g_loss}

  return WGAN


def stock_keras_layers(model):
  """`model` with every `repro.models.layers.LeakyReLU` replaced by `keras.layers.LeakyReLU` (same
  slope, same weights): the networks as a keras-io user writes them with stock Keras layers."""
  import keras  # pylint: disable=g-import-not-at-top
  from repro.models.layers import LeakyReLU  # pylint: disable=g-import-not-at-top

  def clone(layer):
    if isinstance(layer, LeakyReLU):
      return keras.layers.LeakyReLU(layer.negative_slope, name=layer.name)
    return layer.__class__.from_config(layer.get_config())

  stock = keras.models.clone_model(model, clone_function=clone)
  stock.set_weights(model.get_weights())
  return stock


class BaselineRunner:
  """keras-io-style `fit`; the rate is timed between on_train_batch_end calls inside `fit`."""

  def __init__(self, name, jit, smoke):
    import keras  # pylint: disable=g-import-not-at-top
    from repro import data, registry  # pylint: disable=g-import-not-at-top
    from repro.train.step import make_optimizer  # pylint: disable=g-import-not-at-top
    recipe, models, dataset_fn, (loss, weight) = case_setup(name, smoke)
    keras.utils.set_random_seed(recipe.seed)
    if models is not None:
      generator, critic = models(recipe)
    else:
      generator, critic = registry.build_models(recipe, data.dataset_info(recipe.dataset).shape)
    generator, critic = stock_keras_layers(generator), stock_keras_layers(critic)
    wgan_cls = keras_io_wgan_class()
    self.model = wgan_cls(critic, generator, recipe.z_dim, recipe.n_critic,
                          gp_weight=weight, loss=loss, temperature=weight, z_dist=recipe.z_dist)
    self.model.compile(d_optimizer=make_optimizer(recipe.d_opt, "d_opt"),
                       g_optimizer=make_optimizer(recipe.g_opt, "g_opt"),
                       jit_compile=bool(jit))
    self.dataset = make_dataset(recipe, dataset_fn)
    self.jit = jit

  def run(self, steps):
    import keras  # pylint: disable=g-import-not-at-top
    marks = []

    class Clock(keras.callbacks.Callback):

      def on_train_batch_end(self, batch, logs=None):
        marks.append(time.perf_counter())

    # steps + 1 batches: the rate is measured over `steps` steps between the first and last mark.
    self.model.fit(self.dataset, epochs=1, steps_per_epoch=steps + 1, verbose=0,
                   callbacks=[Clock()])
    return marks[-1] - marks[0]


# ---- the benchmark -------------------------------------------------------------------------------

def run_case(name, jits, repeats, steps, smoke, workdir):
  import keras  # pylint: disable=g-import-not-at-top
  runners = {}
  for jit in jits:
    keras.backend.clear_session()
    tag = "xla" if jit else "graph"
    runners[f"suite/{tag}"] = SuiteRunner(name, jit, smoke, os.path.join(workdir, f"{name}_{tag}"))
    runners[f"baseline/{tag}"] = BaselineRunner(name, jit, smoke)
  fns = {k: (lambda r=r: r.run(steps)) for k, r in runners.items()}
  times, _ = common.interleaved(fns, repeats, warmup=1, self_timed=True, progress=True)
  rates = {k: common.summary([steps / t for t in v]) for k, v in times.items()}
  result = {"case": name, "steps_per_repeat": steps, "variants": rates}
  ratios = {}
  for jit in jits:
    tag = "xla" if jit else "graph"
    if f"suite/{tag}" in rates:
      ratios[f"{tag}"] = rates[f"suite/{tag}"]["median"] / rates[f"baseline/{tag}"]["median"]
  best_suite = max((v["median"], k) for k, v in rates.items() if k.startswith("suite/"))
  best_base = max((v["median"], k) for k, v in rates.items() if k.startswith("baseline/"))
  ratios["best_vs_best"] = best_suite[0] / best_base[0]
  result.update(ratios=ratios, best_suite=best_suite[1], best_baseline=best_base[1])
  return result


def main(argv=None):
  parser = common.add_common_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
  parser.add_argument("--cases", default=",".join(CASES))
  parser.add_argument("--jit", default="both", choices=("off", "on", "both"))
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--steps", type=int, default=None,
                      help="generator steps per timed repeat (default per case)")
  args = parser.parse_args(argv)
  cases = [c for c in args.cases.split(",") if c]
  jits = {"off": [False], "on": [True], "both": [False, True]}[args.jit]
  repeats = 1 if args.smoke else args.repeats
  load_before = common.load_average()
  print(f"load before: {load_before['uptime']}", flush=True)
  results = []
  with tempfile.TemporaryDirectory(prefix="bench_train_step_") as workdir:
    for name in cases:
      steps = 2 if args.smoke else (args.steps or DEFAULT_STEPS[name])
      print(f"[{name}] {repeats} repeats x {steps} generator steps per variant ...", flush=True)
      r = run_case(name, jits, repeats, steps, args.smoke, workdir)
      r["load_after"] = common.load_average()["loadavg"]
      results.append(r)
      rows = [[k, v["median"], v["min"], v["max"]] for k, v in r["variants"].items()]
      common.print_table(["variant", "steps/s (median)", "min", "max"], rows, title=name)
      print("  ratios suite/baseline: " + ", ".join(f"{k} {v:.2f}x"
                                                  for k, v in r["ratios"].items()), flush=True)
  targets = {"dcgan32": 1.0, "gan_toy": 1.0, "klwgan_mlp": 2.0, "klwgan_kl": 2.0}
  rows = []
  for r in results:
    v = r["variants"]
    rows.append([r["case"]] + [v.get(k, {}).get("median", float("nan"))
                               for k in ("suite/graph", "suite/xla", "baseline/graph",
                                         "baseline/xla")]
                + [r["ratios"]["best_vs_best"], f">= {targets[r['case']]:.1f}x",
                   "met" if r["ratios"]["best_vs_best"] >= targets[r["case"]] else "MISSED"])
  common.print_table(["case", "suite graph", "suite XLA", "keras-io graph", "keras-io XLA",
                      "best/best", "target", ""], rows,
                     title="generator steps/s (each = 5 critic + 1 generator update), median")
  load_after = common.load_average()
  print(f"load after: {load_after['uptime']}")
  common.write_result("train_step", {
      "smoke": args.smoke, "repeats": repeats, "load_before": load_before,
      "load_after": load_after, "targets": targets, "results": results}, args.out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
