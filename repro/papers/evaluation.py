"""Evaluators the trainer runs every `recipe.eval.every` steps (`repro.registry.EVALUATORS`):
FID on images, mode coverage on the 2-D mixtures, n-gram JSDs on text.

Each is built from the recipe (`Evaluator(fn)`, fn(trainer, step) -> {name: float}) and draws its
samples with `trainer.eval_samples(n)`, the recipe's sampler.
"""

import dataclasses
import os
import typing

from repro.data.catalog import MIXTURES
from repro.errors import DataUnavailableError, UsageError

MIXTURE_SAMPLES = 2500


@dataclasses.dataclass(frozen=True)
class Evaluator:
  fn: typing.Optional[typing.Callable] = None


def no_evaluation(recipe):
  del recipe
  return Evaluator()


def mode_coverage(recipe):
  """Modes covered and high-quality fraction (within 3σ of a centre) of `n_samples` points, and
  their precision / recall / density / coverage (`points_prdc`)."""
  from repro.data import toy  # pylint: disable=g-import-not-at-top
  centers, std = toy.mixture_spec(recipe.dataset)
  n = recipe.eval.n_samples or MIXTURE_SAMPLES
  prdc_of = _prdc_against_real_points(recipe, n)

  def eval_fn(trainer, step):
    del step
    from repro.metrics import toy as toy_metrics  # pylint: disable=g-import-not-at-top
    samples = trainer.eval_samples(n)
    result = toy_metrics.mode_coverage(samples, centers, std)
    return dict({"modes_covered": result.modes_covered,
                 "hq_fraction": result.high_quality_fraction}, **prdc_of(samples))

  return Evaluator(eval_fn)


def points_prdc(recipe):
  """Precision / recall (k = 3) and density / coverage (k = 5) of `n_samples` generated points
  against as many training points (repro.metrics.prdc)."""
  n = recipe.eval.n_samples or MIXTURE_SAMPLES
  prdc_of = _prdc_against_real_points(recipe, n)
  return Evaluator(lambda trainer, step: prdc_of(trainer.eval_samples(n)))


def _prdc_against_real_points(recipe, n):
  """samples -> {precision, recall, density, coverage} against `n` training points drawn once per
  run from their own stream (repro.train.streams "eval_real": the training iterator does not
  advance)."""
  cache = {}

  def prdc_of(samples):
    import numpy as np  # pylint: disable=g-import-not-at-top
    from repro import data  # pylint: disable=g-import-not-at-top
    from repro.metrics import prdc  # pylint: disable=g-import-not-at-top
    from repro.train import streams  # pylint: disable=g-import-not-at-top
    if "real" not in cache:
      seed = streams.eval_real_seed(recipe.seed)
      cache["real"] = next(iter(data.get_dataset(recipe.dataset, "train", n, seed)))
    samples = np.asarray(samples, np.float64)
    if not np.all(np.isfinite(samples)):
      return {k: float("nan") for k in ("precision", "recall", "density", "coverage")}
    return prdc.prdc(np.asarray(cache["real"], np.float64), samples)

  return prdc_of


def mixture_evaluation(dataset, every):
  """The recipe evaluation of the 2-D sets: mode coverage (with precision / recall / density /
  coverage) on the mixtures, precision / recall / density / coverage on the others."""
  from repro import recipe as recipe_lib  # pylint: disable=g-import-not-at-top
  metric = "mode_coverage" if dataset in MIXTURES else "points_prdc"
  return recipe_lib.Evaluation(metric=metric, every=every, n_samples=MIXTURE_SAMPLES)


# ---- FID during training (TTUR's protocol; TTUR, Coulomb GAN, FOGAN) ---------------------------------

# TTUR's reference statistics hold all training images (README, ttur_stats); for LSUN the first
# version of fid_stats_lsun.npz used 100k random images (TTUR commit 583a850), which bounds the cost.
FID_N_REAL = {"lsun_bedroom": 100000}


def fid_evaluation(dataset, n_samples, quantize, every, **changes):
  """The recipe evaluation "FID every `every` steps on `n_samples` generated images, best-FID
  weights kept", with the extractor fixed by the dataset (fashion_mnist_cnn on Fashion-MNIST,
  inception_2015 elsewhere); quantize: "none" (float images) or "truncate" (uint8)."""
  from repro import recipe as recipe_lib  # pylint: disable=g-import-not-at-top
  extractor = "fashion_mnist_cnn" if dataset == "fashion_mnist" else "inception_2015"
  params = dict(mode="auto", extractor=extractor, quantize=quantize, stats="",
                inception_graph="", n_real=FID_N_REAL.get(dataset, 0))
  return recipe_lib.Evaluation(metric="fid", every=every, n_samples=n_samples, best="fid",
                               best_mode="min", params=params, **changes)


def fid(recipe):
  """FID every eval step (`repro.metrics.evaluate.fid_eval_fn`: reference statistics cached on disk,
  protocol in <workdir>/fid_protocol.json). params.mode: "auto" (off with a one-line notice when
  the extractor's weights are not on this machine), "on" (fail fast) or "off"."""
  p = dict(recipe.eval.params)
  mode = _mode(p)
  if mode == "off":
    return Evaluator()
  n_samples = recipe.eval.n_samples
  if n_samples < 2:
    raise UsageError(f"--fid_samples must be >= 2, got {n_samples}")
  stats = p.get("stats") or None
  if stats and not os.path.isfile(stats):
    raise UsageError(f"--fid_stats {stats} does not exist")
  kwargs = {}
  if p.get("extractor") == "inception_2015" and p.get("inception_graph"):
    kwargs["graph_path"] = p["inception_graph"]
  from repro.metrics.evaluate import fid_eval_fn  # pylint: disable=g-import-not-at-top
  return _unless_unavailable(mode, "FID", lambda: fid_eval_fn(
      recipe.dataset, extractor=p.get("extractor"), n=n_samples, n_real=p.get("n_real") or None,
      quantize=p.get("quantize", "none"), data_dir=recipe.data.data_dir or None,
      extractor_kwargs=kwargs, stats=stats))


# ---- Inception Score during training (WGAN-GP gan_cifar.py) ----------------------------------------

def inception_score_evaluation(every, n_samples, sample_batch, quantize="truncate", splits=10,
                               sampler="training", **changes):
  """The recipe evaluation "Inception Score of `n_samples` samples every `every` steps, best kept"."""
  from repro import recipe as recipe_lib  # pylint: disable=g-import-not-at-top
  params = dict(mode="auto", extractor="inception_2015", quantize=quantize, splits=splits,
                inception_graph="")
  return recipe_lib.Evaluation(metric="inception_score", every=every, n_samples=n_samples,
                               sampler=sampler, sample_batch=sample_batch, best="inception_score",
                               best_mode="max", params=params, **changes)


def inception_score(recipe):
  """Inception Score every eval step (`repro.metrics.evaluate.inception_score_eval_fn`);
  params.mode as for FID."""
  p = dict(recipe.eval.params)
  mode = _mode(p)
  if mode == "off":
    return Evaluator()
  kwargs = {"graph_path": p["inception_graph"]} if p.get("inception_graph") else {}
  from repro.metrics.evaluate import inception_score_eval_fn  # pylint: disable=g-import-not-at-top
  return _unless_unavailable(mode, "Inception Score", lambda: inception_score_eval_fn(
      p.get("extractor", "inception_2015"), recipe.eval.n_samples, p.get("quantize", "truncate"),
      int(p.get("splits", 10)), extractor_kwargs=kwargs))


def _unless_unavailable(mode, label, build):
  """Evaluator(build()); with mode "auto", a missing extractor (weights, graph) turns the metric off
  with a one-line notice instead of failing."""
  try:
    return Evaluator(build())
  except DataUnavailableError as e:
    if mode == "on":
      raise
    print(f"{label} off (--fid=auto): {e}", flush=True)
    return Evaluator()


def _mode(params):
  mode = params.get("mode", "auto")
  if mode not in ("auto", "on", "off"):
    raise UsageError(f"--fid must be auto, on or off, got {mode!r}")
  return mode


# ---- language GANs: n-gram JSD (TTUR / FOGAN gan_language_JSD.py, Coulomb train.py) -------------

def jsd_evaluation(n_samples, every, max_n=6, best="js4", sampler="inference", sample_batch=500):
  """The recipe evaluation of a language GAN: JSDs of n-gram models n = 1..max_n, best weights by
  `best` (the papers report the best JSD of a run; TTUR Table 1 gives js4 and js6)."""
  from repro import recipe as recipe_lib  # pylint: disable=g-import-not-at-top
  return recipe_lib.Evaluation(metric="jsd", every=every, n_samples=n_samples, sampler=sampler,
                               sample_batch=sample_batch, best=best, best_mode="min",
                               params=dict(max_n=max_n))


def jsd(recipe):
  """JSD (bits) of the n-gram models (n = 1..max_n) of `n_samples` generated sentences (argmax
  characters) against those of all loaded training lines, as
  `language_helpers.NgramLanguageModel.js_with` (repro.metrics.ngram.NgramCounts). Logged as
  eval/js1 ... eval/js6 (the official summaries "bill js%d")."""
  max_n = int(recipe.eval.params.get("max_n", 6))
  n_samples = recipe.eval.n_samples
  state = {}

  def eval_fn(trainer, step):
    del step
    from repro.data import text  # pylint: disable=g-import-not-at-top
    from repro.metrics import ngram  # pylint: disable=g-import-not-at-top
    corpus = text.corpus_for(trainer.recipe)
    if state.get("corpus") is not corpus:   # the true models, built once per run
      state["corpus"] = corpus
      state["true"] = [ngram.NgramCounts(n, corpus.ids, corpus.vocab_size)
                       for n in range(1, max_n + 1)]
    return ngram.ngram_jsds(trainer.eval_samples(n_samples).argmax(-1), state["true"])

  return Evaluator(eval_fn)
