"""Registry of feature extractors: ``get_extractor(name, **kwargs)``.

Built-in names (modules are imported only when asked for, so listing them costs nothing):

  inception_2015     the official TF graph ``classify_image_graph_def.pb`` of inception-2015-12-05,
                     as TTUR / improved-gan use it (pool_3 features, 2048-d; 1008 logits)
  fashion_mnist_cnn  a small Keras CNN trained on Fashion-MNIST (``checkpoints/``), 28x28x1 in [-1, 1]
  fake               a deterministic random projection, any image size; for tests

Register more with ``register_extractor("name", factory)`` or as a decorator.
"""

import importlib

from repro.errors import UsageError
from repro.metrics.extractors.base import Extractor, InputSpec  # noqa: F401

_BUILTIN = {
    "inception_2015": "repro.metrics.extractors.inception_2015:Inception2015Extractor",
    "fashion_mnist_cnn": "repro.metrics.extractors.fashion_mnist_cnn:FashionMnistCnnExtractor",
    "fake": "repro.metrics.extractors.fake:FakeExtractor",
}
_REGISTRY = {}


def register_extractor(name, factory=None):
  """Registers `factory(**kwargs) -> Extractor` under `name`; usable as a decorator."""

  def register(f):
    if name in _REGISTRY or name in _BUILTIN:
      raise ValueError(f"extractor {name!r} is already registered")
    _REGISTRY[name] = f
    return f

  return register if factory is None else register(factory)


def available_extractors():
  return sorted(set(_BUILTIN) | set(_REGISTRY))


def _factory(name):
  if name in _REGISTRY:
    return _REGISTRY[name]
  if name in _BUILTIN:
    module, attr = _BUILTIN[name].split(":")
    return getattr(importlib.import_module(module), attr)
  raise UsageError(f"unknown feature extractor {name!r}; choose one of "
                   f"{', '.join(available_extractors())}")


def get_extractor(name, **kwargs):
  """Builds the extractor registered as `name` with keyword arguments `kwargs`."""
  if isinstance(name, Extractor):
    return name
  factory = _factory(name)
  try:
    return factory(**kwargs)
  except TypeError as e:
    if "argument" in str(e):
      raise UsageError(f"extractor {name!r}: {e}") from None
    raise
