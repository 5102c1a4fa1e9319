"""Small layer helpers shared by the model builders."""

import keras
import tensorflow as tf

from repro.models import initializers


NORMALIZATIONS = ("batch", "layer", "tflib_layer", "none")


def normalization(kind, name=None):
  """'batch' (BatchNorm per channel), 'layer' (Keras LayerNorm over H, W, C with a scale and offset
  per element, [H, W, C]), 'tflib_layer' (improved_wgan_training tflib Layernorm: statistics over
  H, W, C, scale and offset per channel; the WGAN-GP critics' layer norm), or 'none'."""
  if kind == "batch":
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)
  if kind == "layer":
    return keras.layers.LayerNormalization(axis=[1, 2, 3], epsilon=1e-5, name=name)
  if kind == "tflib_layer":
    return TflibLayerNorm(name=name)
  if kind == "none":
    return keras.layers.Identity(name=name)
  raise ValueError(f"unknown normalization {kind!r}; use {', '.join(NORMALIZATIONS)}")


def conv(filters, kernel_size, init, strides=1, output=False, name=None, use_bias=True):
  """A 'same'-padded Conv2D; `init` is a scheme of repro.models.initializers or an initialiser."""
  return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                             kernel_initializer=initializers.kernel(init, output),
                             use_bias=use_bias, name=name)


def dense(units, init, output=False, name=None, use_bias=True):
  return keras.layers.Dense(units, kernel_initializer=initializers.kernel(init, output),
                            use_bias=use_bias, name=name)


@keras.saving.register_keras_serializable(package="repro")
class TflibLayerNorm(keras.layers.Layer):
  """tflib/ops/layernorm.py `Layernorm(name, [1, 2, 3], x)` on NCHW, here on NHWC: mean and variance
  of each example over H, W and C, then `tf.nn.batch_normalization(x, mean, var, offset, scale,
  1e-5)` with offset (zeros) and scale (ones) of shape [C] (per channel, not per element)."""

  def __init__(self, epsilon=1e-5, **kwargs):
    super().__init__(**kwargs)
    self.epsilon = float(epsilon)

  def build(self, input_shape):
    channels = int(input_shape[-1])
    self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
    self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

  def call(self, inputs):
    axes = list(range(1, len(inputs.shape)))
    mean, var = tf.nn.moments(inputs, axes, keepdims=True)
    return tf.nn.batch_normalization(inputs, mean, var, self.beta, self.gamma, self.epsilon)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return dict(super().get_config(), epsilon=self.epsilon)


@keras.saving.register_keras_serializable(package="repro")
class TflibFeatureBatchNorm(keras.layers.Layer):
  """tflib/ops/batchnorm.py `Batchnorm(name, [0], x)` on a 2-D [N, F] tensor (gan_cifar.py's
  Generator.BN1): the non-fused branch, mean and variance over the batch, offset (zeros) and scale
  (ones) of shape [1, F] (one per feature), epsilon 1e-5.

  training=True normalises with the batch statistics, as tflib always does (it keeps no moving
  statistics there); training=False uses moving averages (momentum 0.9, as the suite's other batch
  norms), so that a generator's inference mode is consistent across its layers. A sampler that
  follows the official code uses training mode."""

  def __init__(self, epsilon=1e-5, momentum=0.9, **kwargs):
    super().__init__(**kwargs)
    self.epsilon, self.momentum = float(epsilon), float(momentum)

  def build(self, input_shape):
    if len(input_shape) != 2:
      raise ValueError(f"TflibFeatureBatchNorm takes [N, F] inputs, got {input_shape}")
    shape = (1, int(input_shape[-1]))
    self.gamma = self.add_weight(shape=shape, initializer="ones", name="gamma")
    self.beta = self.add_weight(shape=shape, initializer="zeros", name="beta")
    self.moving_mean = self.add_weight(shape=shape, initializer="zeros", trainable=False,
                                       autocast=False, name="moving_mean")
    self.moving_variance = self.add_weight(shape=shape, initializer="ones", trainable=False,
                                           autocast=False, name="moving_variance")

  def call(self, inputs, training=None):
    if training and self.trainable:
      mean, var = tf.nn.moments(inputs, [0], keepdims=True)
      m = self.momentum
      self.moving_mean.assign(m * self.moving_mean + (1.0 - m) * tf.stop_gradient(mean))
      self.moving_variance.assign(m * self.moving_variance + (1.0 - m) * tf.stop_gradient(var))
    else:
      mean, var = self.moving_mean, self.moving_variance
    return tf.nn.batch_normalization(inputs, mean, var, self.beta, self.gamma, self.epsilon)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return dict(super().get_config(), epsilon=self.epsilon, momentum=self.momentum)


@keras.saving.register_keras_serializable(package="repro")
class PackRows(keras.layers.Layer):
  """`tf.reshape(x, [-1, row_size])`: TTUR gan_64x64_FID.py GoodDiscriminator's final reshape to
  [-1, 4*4*8*DIM], which at DIM 32 (a 2x2x256 map, 1024 values per image) packs four consecutive
  images into one row (repro.models.resnet). The batch must be a multiple of the images per row."""

  def __init__(self, row_size, **kwargs):
    super().__init__(**kwargs)
    self.row_size = int(row_size)

  def call(self, inputs):
    return tf.reshape(inputs, [-1, self.row_size])

  def compute_output_shape(self, input_shape):
    return (None, self.row_size)

  def get_config(self):
    return dict(super().get_config(), row_size=self.row_size)


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
