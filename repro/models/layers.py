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
  """`keras.layers.LeakyReLU` whose gradient is computed from the output, y > 0 exactly when x > 0
  (TF's LeakyReluGrad applied to y): the same values, gradients and second derivatives.

  Why: the stock layer's gradient reads the input x; after a convolution x is a BiasAdd that also
  feeds the LeakyRelu, and in a training graph Grappler's remapper then aborts ("remapper failed:
  ... fanout LeakyReluGrad exist for missing node BiasAdd") and the graph runs without its
  fusions: a WGAN-GP DCGAN step ran 11-29 % slower that way (bench/README.md, train step).
  """

  def __init__(self, negative_slope=0.3, **kwargs):
    super().__init__(**kwargs)
    if not negative_slope >= 0:
      raise ValueError(f"negative_slope must be >= 0 (the gradient reads the sign of the output), "
                       f"got {negative_slope}")
    self.negative_slope = float(negative_slope)
    self.supports_masking = True

  def call(self, inputs):
    return _leaky_relu(inputs, self.negative_slope)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return dict(super().get_config(), negative_slope=self.negative_slope)


def _leaky_relu(x, slope):
  @tf.custom_gradient
  def leaky(x):
    y = tf.nn.leaky_relu(x, alpha=slope)
    # LeakyReluGrad(g, y) = g where y > 0 else slope * g, linear in g (TF differentiates it again
    # for gradient penalties) and piecewise constant in y: y enters without a gradient path, so
    # no LeakyReluGrad of the forward op (reading x) appears in a double-backprop graph either.
    y_sign = tf.stop_gradient(y)
    return y, lambda g: tf.raw_ops.LeakyReluGrad(gradients=g, features=y_sign, alpha=slope)
  return leaky(x)
