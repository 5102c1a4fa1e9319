"""Shared by the paper tests: train on a 2-D mixture and measure mode coverage before and after."""

from repro.data import toy
from repro.metrics import toy as toy_metrics
from repro.train.runner import Trainer


def coverage(trainer, n=2000):
  centers, std = toy.mixture_spec(trainer.recipe.dataset)
  return toy_metrics.mode_coverage(trainer.sample(n), centers, std)


def coverage_before_and_after(recipe, workdir, *more, **options):
  """Trains `recipe` in `workdir`; returns the mode coverage (before, after) on 2000 samples.

  The objective, networks and evaluation come from the recipe; `options` go to the Trainer
  (e.g. objective=... to replace the recipe's). The pre-recipe call order
  (recipe, objective, workdir) is accepted too."""
  if more:
    (workdir,), options = more, dict(options, objective=workdir)
  trainer = Trainer(recipe, str(workdir), quiet=True, **options)
  before = coverage(trainer)
  trainer.train()
  return before, coverage(trainer)
