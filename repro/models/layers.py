"""Small layer helpers shared by the model builders."""

import keras
import tensorflow as tf

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


@keras.saving.register_keras_serializable(package="repro")
class LeakyReLU(keras.layers.Layer):
  """Leaky ReLU as where(x > 0, x, slope * x): the values and gradients of
  `keras.layers.LeakyReLU` (at x = 0 the gradient is slope, as TF's LeakyReluGrad gives).

  Not `keras.layers.LeakyReLU` because in a TF training graph its LeakyRelu op, fed by a
  convolution's BiasAdd, makes Grappler's remapper abort ("remapper failed: ... fanout
  LeakyReluGrad exist for missing node BiasAdd"), and the graph then runs without the remapper's
  fusions: a WGAN-GP DCGAN step ran 13 % slower that way (bench/README.md, train step).
  """

  def __init__(self, negative_slope=0.3, **kwargs):
    super().__init__(**kwargs)
    self.negative_slope = float(negative_slope)
    self.supports_masking = True

  def call(self, inputs):
    return tf.where(inputs > 0, inputs, self.negative_slope * inputs)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return dict(super().get_config(), negative_slope=self.negative_slope)
