"""Functional Keras 3 model builders, found by name in `repro.registry.ARCHITECTURES`."""

from repro.registry import ARCHITECTURES


def build_models(arch, data_shape, z_dim, **kw):
  """(generator, critic) of architecture `arch` for examples of `data_shape` (see the registry)."""
  return ARCHITECTURES.build(arch, tuple(data_shape), z_dim, **kw)
