"""The one adversarial trainer shared by every paper: `run(recipe, workdir)`."""


def run(recipe, workdir, **options):
  """Trains (or resumes) `recipe` in `workdir`; returns the last logged values. options: see
  `repro.train.runner.Trainer` (strategy, deterministic, quiet, nan_policy)."""
  from repro.train.runner import Trainer  # pylint: disable=g-import-not-at-top
  return Trainer(recipe, workdir, **options).train()
