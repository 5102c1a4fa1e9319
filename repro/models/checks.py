"""Checks every network builder applies to the data shape it is given."""

from repro.errors import UsageError


def vector_dim(arch, data_shape):
  if len(data_shape) != 1:
    raise UsageError(f"the {arch} models take vector data, got examples of shape {data_shape}")
  return data_shape[0]


def image_shape(arch, data_shape):
  """(image size, channels) of square NHWC images."""
  if len(data_shape) != 3:
    raise UsageError(f"{arch} needs image data (H, W, C), got examples of shape {data_shape}")
  return data_shape[0], data_shape[2]
