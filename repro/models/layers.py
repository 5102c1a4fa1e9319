"""Small layer helpers shared by the model builders."""

import keras

from repro.models import initializers


def normalization(kind, name=None):
  """'batch' (BatchNorm), 'layer' (LayerNorm over H, W, C as WGAN-GP critics use), or 'none'."""
  if kind == "batch":
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)
  if kind == "layer":
    return keras.layers.LayerNormalization(axis=[1, 2, 3], epsilon=1e-5, name=name)
  if kind == "none":
    return keras.layers.Identity(name=name)
  raise ValueError(f"unknown normalization {kind!r}; use batch, layer or none")


def conv(filters, kernel_size, init, strides=1, output=False, name=None):
  return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                             kernel_initializer=initializers.kernel(init, output), name=name)


def dense(units, init, output=False, name=None):
  return keras.layers.Dense(units, kernel_initializer=initializers.kernel(init, output), name=name)
