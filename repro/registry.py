"""Parts found by name: network architectures, objectives, evaluators.

Each registry maps a name to "module:attribute", imported on first use, so a name can be checked
(`--net`, a recorded recipe, a shipped checkpoint) without importing TensorFlow or the papers.

  ARCHITECTURES: (data_shape, z_dim, **recipe.model.args) -> (generator, critic)
  OBJECTIVES:    (**recipe.objective.params) -> repro.train.objective.Objective
  EVALUATORS:    (recipe) -> repro.papers.evaluation.Evaluator (eval_fn, best metric)
"""

import importlib
import inspect

from repro.errors import UsageError


class Registry:
  """A validated name → "module:attribute" table."""

  def __init__(self, kind, entries):
    for name, target in entries.items():
      if ":" not in target:
        raise ValueError(f"{kind} {name}: {target!r} is not 'module:attribute'")
    self.kind = kind
    self._entries = dict(entries)

  def names(self):
    return tuple(self._entries)

  def check(self, name):
    if name not in self._entries:
      raise UsageError(f"unknown {self.kind} {name!r}; choose one of {', '.join(self._entries)}")
    return name

  def get(self, name):
    module, attribute = self._entries[self.check(name)].split(":")
    return getattr(importlib.import_module(module), attribute)

  def check_args(self, name, args, fixed=("data_shape", "z_dim")):
    """A UsageError unless the registered function takes every key of `args` (--net, a recipe's
    model.args); `fixed` are the arguments the caller supplies itself."""
    parameters = [p for p in inspect.signature(self.get(name)).parameters
                  if p not in fixed + ("self",)]
    unknown = sorted(set(args) - set(parameters))
    if unknown:
      raise UsageError(f"{self.kind} {name} takes no argument {', '.join(unknown)} (--net); it takes "
                       f"{', '.join(parameters) or 'nothing'}")

  def build(self, name, *args, **kwargs):
    """Calls the registered function or class; an argument it does not take is a UsageError."""
    target = self.get(name)
    try:
      inspect.signature(target).bind(*args, **kwargs)
    except TypeError as e:
      accepted = [p for p in inspect.signature(target).parameters
                  if p not in ("self", "data_shape", "z_dim", "recipe")]
      raise UsageError(f"{self.kind} {name}: {e}; it takes {', '.join(accepted) or 'nothing'}"
                       ) from None
    return target(*args, **kwargs)


ARCHITECTURES = Registry("architecture", {
    "mlp": "repro.models.mlp:build",
    "dcgan": "repro.models.dcgan:build",
    "dcgan_wgan": "repro.models.dcgan_torch:build",
    "resnet_good": "repro.models.resnet:build_good",
    "resnet_cifar": "repro.models.resnet:build_cifar",
    "wgan_gp_mnist": "repro.models.improved_wgan:build_mnist",
    "wgan_gp_cifar": "repro.models.improved_wgan:build_cifar",
    "dcgan_tf": "repro.models.dcgan_tf:build",
    "coulomb": "repro.models.coulomb_models:build",
    "language": "repro.models.language:build",
    "fwgan_mlp": "repro.models.snmodels:build_fwgan_mlp",
    "biggan_snresnet": "repro.models.snmodels:build_biggan",
    "sinkhorn_mlp": "repro.models.otnets:build_mlp",
    "sinkhorn_dcgan": "repro.models.otnets:build_dcgan",
})

OBJECTIVES = Registry("objective", {
    "wgan": "repro.train.objective:WassersteinObjective",
    "gan": "repro.papers.ttur:GANObjective",
    "fogan": "repro.papers.fogan:FirstOrderObjective",
    "coulomb": "repro.papers.coulomb:CoulombObjective",
    "regularized_ot": "repro.papers.sinkhorn:RegularizedOTObjective",
    "klwgan": "repro.papers.klwgan:KLWGANObjective",
})

EVALUATORS = Registry("evaluator", {
    "none": "repro.papers.evaluation:no_evaluation",
    "mode_coverage": "repro.papers.evaluation:mode_coverage",
    "points_prdc": "repro.papers.evaluation:points_prdc",
    "fid": "repro.papers.evaluation:fid",
    "inception_score": "repro.papers.evaluation:inception_score",
    "jsd": "repro.papers.evaluation:jsd",
    "kde_mmd": "repro.papers.klwgan:synthetic_evaluation",
})


def build_models(recipe, data_shape):
  """(generator, critic) of a recipe's architecture for examples of `data_shape`."""
  ARCHITECTURES.check_args(recipe.model.arch, recipe.model.args)
  return ARCHITECTURES.build(recipe.model.arch, tuple(data_shape), recipe.z_dim,
                             **dict(recipe.model.args))


def build_objective(recipe):
  return OBJECTIVES.build(recipe.objective.name, **dict(recipe.objective.params))
