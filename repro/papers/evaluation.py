"""Evaluation hooks the paper modules hand to the trainer: toy-mixture metrics, language n-gram JSDs."""

from repro.data import toy

MIXTURES = ("8gaussians", "25gaussians")


def mixture_eval_fn(dataset, n=2500):
  """Every eval step: modes covered and high-quality fraction (within 3σ of a centre)."""
  centers, std = toy.mixture_spec(dataset)

  def eval_fn(trainer, step):
    from repro.metrics import toy as toy_metrics  # pylint: disable=g-import-not-at-top
    samples = trainer.sample(n)
    result = toy_metrics.mode_coverage(samples, centers, std)
    return {"modes_covered": result.modes_covered, "hq_fraction": result.high_quality_fraction}

  return eval_fn


def default_extras(dataset):
  if dataset in MIXTURES:
    return dict(eval_fn=mixture_eval_fn(dataset))
  return {}


# ---- language GANs: n-gram JSD (TTUR / FOGAN gan_language_JSD.py, Coulomb train.py) -------------

def _training_mode_samples(trainer, n):
  """Samples with batch norm on batch statistics, in batches of the training batch size (Coulomb
  train.py samples its training-mode generator tensor `x`); the moving statistics are left as
  they were."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  net = trainer.generator
  saved = [v.numpy() for v in net.non_trainable_variables]
  z = trainer._draw_fixed_noise(n)  # pylint: disable=protected-access
  batch = trainer.config.batch_size
  out = np.concatenate([net(z[i:i + batch], training=True).numpy() for i in range(0, n, batch)])
  for v, value in zip(net.non_trainable_variables, saved):
    v.assign(value)
  return out


def jsd_eval_fn(n_samples=640, max_n=6, training_mode=False):
  """Every eval step: JSD (bits) of the n-gram models (n = 1..max_n) of `n_samples` generated
  sentences (argmax characters) against those of all loaded training lines, as
  `language_helpers.NgramLanguageModel.js_with` (repro.metrics.ngram.NgramCounts). Logged as
  eval/js1 ... eval/js6 (the official summaries "bill js%d"). training_mode: sample with batch
  norm on batch statistics (Coulomb GAN) instead of its moving averages (FOGAN's `fake_samples`)."""
  state = {}

  def eval_fn(trainer, step):
    del step
    from repro.data import text  # pylint: disable=g-import-not-at-top
    from repro.metrics import ngram  # pylint: disable=g-import-not-at-top
    corpus = text.corpus_for(trainer.config)
    if state.get("corpus") is not corpus:   # the true models, built once per run
      state["corpus"] = corpus
      state["true"] = [ngram.NgramCounts(n, corpus.ids, corpus.vocab_size)
                       for n in range(1, max_n + 1)]
    samples = (_training_mode_samples(trainer, n_samples) if training_mode
               else trainer.sample(n_samples)).argmax(-1)
    return ngram.ngram_jsds(samples, state["true"])

  return eval_fn


def jsd_extras(n_samples=640, max_n=6, best="js4", training_mode=False):
  """Trainer extras for a language GAN: the JSD curves, best weights by `best` (the papers report
  the best JSD of a run; TTUR Table 1 gives js4 and js6)."""
  return dict(eval_fn=jsd_eval_fn(n_samples, max_n, training_mode), best_metric=(best, "min"))
