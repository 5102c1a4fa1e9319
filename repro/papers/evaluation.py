"""Evaluation hooks the paper modules hand to the trainer (toy-mixture metrics for now)."""

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
