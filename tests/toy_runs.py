"""Shared by the paper tests: train on a 2-D mixture and measure mode coverage before and after."""

from repro.data import toy
from repro.metrics import toy as toy_metrics
from repro.train.trainer import Trainer


def coverage(trainer, n=2000):
  centers, std = toy.mixture_spec(trainer.config.dataset)
  return toy_metrics.mode_coverage(trainer.sample(n), centers, std)


def coverage_before_and_after(config, objective, workdir):
  """Trains `config` in `workdir`; returns the mode coverage (before, after) on 2000 samples."""
  trainer = Trainer(config, objective, str(workdir), quiet=True)
  before = coverage(trainer)
  trainer.train()
  return before, coverage(trainer)
