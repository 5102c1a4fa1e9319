"""Coulomb GAN's "my" generator and "my" / "my-big" critic (Unterthiner et al. 2018).

Facts from bioinf-jku/coulomb_gan `tensorflow/models.py` (`my_generator` L55-82, `my_discriminator`
L227-244, `GENERATOR_OUT_FN` L185, `DISCRIMINATORS` L302-310); this is an independent Keras
re-implementation (the original is GPL; no code is copied).

Generator ("my"):
- Dense z -> 4 x 4 x 1024 with ReLU (no batch norm), then stride-2 5x5 transposed convolutions
  halving the channels (512, 256, ...) while the resolution is below size / 2, each followed by
  batch norm and ReLU, then a stride-2 5x5 transposed convolution to the image channels with the
  output 1.7159 * tanh(2x / 3) (LeCun's scaled tanh; the range is +-1.7159, images are clipped to
  [-1, 1] for display and FID). 64 px: 3 hidden layers; 32 px: 2.
- 28 px (Fashion-MNIST, not in the paper): the same rule started at 7 x 7 (one hidden layer).
Critic ("my": 64 filters, "my-big": 128):
- Stride-2 5x5 convolutions doubling the filters, each with batch norm and LeakyReLU(0.2), then one
  dense output. **Quirk reproduced:** the official code takes the number of convolutions from
  dimension 0 of its input, the *batch* dimension: `n_repeat = int(log2(batch_size / 8))`, so the
  critic is 4 convolutions deep at the default batch size 128, 3 at 64, 5 at 256. Here the depth is
  given explicitly (`layers=critic_depth(batch_size)`), so it does not change silently with the
  number of replicas.
Defaults of tf.layers (TF 1.x): kernels Glorot-uniform except the hidden transposed convolutions
(variance scaling, factor 2, fan-avg, truncated normal: `get_initializer(tf.nn.relu)`); batch norm
epsilon 1e-3.
Batch norm (`bn_stats`): models.py calls `tf.layers.batch_normalization(l, training=True)` in both
nets, and train.py never runs the UPDATE_OPS collection (`train_op = tf.group(train_op_d,
train_op_g)`, L135), so every pass, training and sampling alike (train.py L238 and evaluate_fid.py
sample the tensor x), normalises with the batch's own statistics and the moving averages keep their
initial 0 / 1 forever. "batch" (default) does the same: `BatchStatistics` normalises with the batch
statistics whatever `training` says and never writes its moving averages. "moving": Keras batch
norm (momentum 0.99, tf.layers' default), whose training passes update moving averages that
training=False then uses. The optional L2 weight penalty (`--l2_penalty`,
`tf.contrib.layers.l2_regularizer(scale)` = scale * sum(w^2) / 2) sits on the convolution and
transposed-convolution kernels only, not on the dense layers, as in the official code.
"""

import math

import keras
from keras import ops

from repro.models.layers import LeakyReLU

BN_STATS = ("batch", "moving")

LECUN_TANH_SCALE = 1.7159   # models.py GENERATOR_OUT_FN
LECUN_TANH_SLOPE = 2.0 / 3.0


def lecun_tanh(x):
  """1.7159 * tanh(2x / 3) (models.py `GENERATOR_OUT_FN`)."""
  return LECUN_TANH_SCALE * ops.tanh(x * LECUN_TANH_SLOPE)


def critic_depth(batch_size):
  """Convolutions of the "my" critic: int(log2(batch_size / 8)) (models.py L232, the batch quirk)."""
  depth = int(math.log2(batch_size / 8))
  if depth < 1:
    raise ValueError(f"the Coulomb 'my' critic needs batch_size >= 16 (depth log2(batch/8)), got "
                     f"{batch_size}")
  return depth


@keras.saving.register_keras_serializable(package="repro")
class BatchStatistics(keras.layers.BatchNormalization):
  """`tf.layers.batch_normalization(x, training=True)` with its UPDATE_OPS never run (train.py):
  normalises with the batch's statistics in every call, training or not, and leaves the moving
  averages at their initial values (kept as variables, as in the official checkpoints)."""

  def call(self, inputs, training=None, mask=None):
    if mask is not None:
      raise ValueError("BatchStatistics takes no mask")
    x = ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
    axis = self.axis % len(x.shape)
    mean, variance = ops.moments(x, axes=[i for i in range(len(x.shape)) if i != axis])
    gamma = ops.cast(self.gamma, x.dtype) if self.scale else None
    beta = ops.cast(self.beta, x.dtype) if self.center else None
    out = ops.batch_normalization(x, mean, variance, axis=self.axis, offset=beta, scale=gamma,
                                  epsilon=self.epsilon)
    return ops.cast(out, self.compute_dtype)


def _batch_norm(bn_stats, name):
  if bn_stats not in BN_STATS:
    raise ValueError(f"bn_stats must be one of {', '.join(BN_STATS)}, got {bn_stats!r}")
  layer = BatchStatistics if bn_stats == "batch" else keras.layers.BatchNormalization
  return layer(momentum=0.99, epsilon=1e-3, name=name)   # tf.layers defaults


def _regularizer(l2):
  # tf.contrib.layers.l2_regularizer(scale)(w) = scale * tf.nn.l2_loss(w) = scale * sum(w^2) / 2.
  return keras.regularizers.L2(l2 / 2.0) if l2 > 0 else None


def _start_resolution(image_size):
  start = image_size
  while start > 7:
    if start % 2:
      raise ValueError(f"the Coulomb generator cannot make {image_size} px images")
    start //= 2
  if start < 4:
    raise ValueError(f"the Coulomb generator cannot make {image_size} px images")
  return start


def coulomb_generator(image_size=64, channels=3, z_dim=32, width=1024, l2=0.0, bn_stats="batch"):
  res = _start_resolution(image_size)
  reg = _regularizer(l2)
  z = keras.Input((z_dim,))
  x = keras.layers.Dense(res * res * width, activation="relu", name="layer0")(z)
  x = keras.layers.Reshape((res, res, width))(x)
  filters, i = width, 0
  relu_init = keras.initializers.VarianceScaling(2.0, mode="fan_avg",
                                                 distribution="truncated_normal")
  while res < image_size // 2:
    filters //= 2
    x = keras.layers.Conv2DTranspose(filters, 5, strides=2, padding="same", name=f"gen_{i:02d}",
                                     kernel_initializer=relu_init, kernel_regularizer=reg)(x)
    x = _batch_norm(bn_stats, f"gen_{i:02d}_bn")(x)
    x = keras.layers.ReLU()(x)
    res, i = res * 2, i + 1
  x = keras.layers.Conv2DTranspose(channels, 5, strides=2, padding="same", name="gen_out",
                                   kernel_regularizer=reg)(x)
  return keras.Model(z, keras.layers.Activation(lecun_tanh, name="lecun_tanh")(x), name="generator")


def coulomb_critic(image_size=64, channels=3, width=64, layers=4, l2=0.0, bn_stats="batch"):
  reg = _regularizer(l2)
  image = keras.Input((image_size, image_size, channels))
  x = image
  filters = width
  for i in range(layers):
    x = keras.layers.Conv2D(filters, 5, strides=2, padding="same", name=f"disc_{i:02d}",
                            kernel_regularizer=reg)(x)
    x = _batch_norm(bn_stats, f"disc_{i:02d}_bn")(x)
    x = LeakyReLU(0.2)(x)
    filters *= 2
  x = keras.layers.Flatten()(x)
  return keras.Model(image, keras.layers.Dense(1, name="out")(x), name="critic")


def build(data_shape, z_dim, g_width=1024, d_width=64, d_layers=4, l2=0.0, g_l2=None,
          bn_stats="batch"):
  """Architecture "coulomb": the "my" generator and critic of Coulomb GAN's models.py (bn_stats:
  "batch" as the official code, "moving" for Keras batch norm with moving averages)."""
  from repro.models.checks import image_shape  # pylint: disable=g-import-not-at-top
  size, channels = image_shape("coulomb", data_shape)
  return (coulomb_generator(size, channels, z_dim, g_width, l2 if g_l2 is None else g_l2,
                            bn_stats),
          coulomb_critic(size, channels, d_width, d_layers, l2, bn_stats))
