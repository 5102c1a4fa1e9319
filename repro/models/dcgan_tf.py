"""The DCGAN of carpedm20/DCGAN-tensorflow as TTUR's `DCGAN_FID_batched` and FOGAN use it.

Facts from bioinf-jku/TTUR `DCGAN_FID_batched/model.py` (`generator`, `discriminator`, L414-458) and
`ops.py` (`conv2d`, `deconv2d`, `linear`, `batch_norm`, `lrelu`); zalandoresearch/first_order_gan
`DCGAN_FID_batched/model.py` is the same network with `discriminator_batch_norm` switchable (L97-105).

- Sizes follow `conv_out_size_same` (ceil(size / 2)) four times: 64 -> 32, 16, 8, 4; 32 -> 16, 8,
  4, 2; 28 -> 14, 7, 4, 2. The generator projects z to s16 x s16 x 8*gf_dim and has four stride-2
  5x5 transposed convolutions to s8 (4*gf), s4 (2*gf), s2 (gf) and the image; `output_padding`
  reproduces TF1's explicit `output_shape` (e.g. 4 -> 7 for 28 px). Batch norm + ReLU after the
  projection and every hidden transposed convolution, tanh output.
- The discriminator has four stride-2 5x5 convolutions (df, 2df, 4df, 8df), batch norm on the last
  three (optional: FOGAN's `--discriminator_batch_norm=False`), LeakyReLU(0.2), one linear output
  (the logit).
- Initialisers (ops.py): conv kernels truncated N(0, 0.02), transposed-conv and linear kernels
  N(0, 0.02), biases 0. Batch norm: decay 0.9, epsilon 1e-5, with scale (ops.batch_norm), and
  the moving variance of tf.contrib.layers.batch_norm's fused kernel: `TF1BatchNorm`
  (`bn_fused=False`: its non-fused path, the default of TF 1.0-1.3's tf.contrib.layers.batch_norm).
"""

import math

import keras
import tensorflow as tf

from repro.models import layers as layers_lib

KERNEL = 5  # ops.py conv2d / deconv2d: k_h = k_w = 5, stride 2


@keras.saving.register_keras_serializable(package="repro")
class TF1BatchNorm(keras.layers.BatchNormalization):
  """ops.batch_norm: tf.contrib.layers.batch_norm(decay, epsilon, scale, updates_collections=None),
  which takes the fused kernel (nn.fused_batch_norm) for 4-D and 2-D inputs. In training it
  normalises with the biased batch variance, as Keras does, but moves the moving variance toward
  the unbiased one, var · n / (n − 1) with n the values per channel (B·H·W; factor 1 for n = 1),
  by assign_moving_average: v ← v − (v − value)(1 − decay). Keras moves it toward the biased var.
  Inference and everything else are Keras'. (tests/test_official_step_fogan.py checks the moving
  statistics against first_order_gan's model.py after one training step.)

  fused=False: the non-fused path instead, which tf.contrib.layers.batch_norm took by default up
  to TF 1.3 (`fused=False`; TF >= 1.4 / tf_slim: `fused=None`, i.e. fused): nn.moments and
  nn.batch_normalization, the moving variance moving toward the biased batch variance, by the same
  assign_moving_average (tests/test_official_step_ttur.py checks it against TTUR's model.py)."""

  def __init__(self, fused=True, **kwargs):
    super().__init__(**kwargs)
    self.fused = bool(fused)

  def get_config(self):
    return dict(super().get_config(), fused=self.fused)

  def call(self, inputs, training=None, mask=None):
    if not (training and self.trainable) or mask is not None or self.renorm:
      return super().call(inputs, training=training, mask=mask)
    x = tf.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
    mean, variance = self._moments(x, None)
    n = tf.cast(tf.size(x) // tf.size(mean), x.dtype)   # values per channel
    unbiased = variance * (n / tf.maximum(n - 1.0, 1.0)) if self.fused else variance
    rate = 1.0 - self.momentum
    for moving, value in ((self.moving_mean, mean), (self.moving_variance, unbiased)):
      current = tf.cast(moving, x.dtype)
      moving.assign(current - (current - value) * rate)
    outputs = keras.ops.batch_normalization(
        x, mean, variance, axis=self.axis,
        offset=tf.cast(self.beta, x.dtype) if self.center else None,
        scale=tf.cast(self.gamma, x.dtype) if self.scale else None, epsilon=self.epsilon)
    return tf.cast(outputs, self.compute_dtype)


def conv_out_sizes(image_size):
  """[size, s2, s4, s8, s16] with s_{2k} = ceil(s_k / 2) (model.py `conv_out_size_same`)."""
  sizes = [image_size]
  for _ in range(4):
    sizes.append(int(math.ceil(sizes[-1] / 2)))
  return sizes


def _norm(kind, name, fused=True):
  if kind == "batch":  # ops.batch_norm: decay 0.9, epsilon 1e-5, scale=True
    return TF1BatchNorm(momentum=0.9, epsilon=1e-5, fused=fused, name=name)
  return layers_lib.normalization(kind, name)


def dcgan_tf_generator(image_size=64, channels=3, z_dim=100, gf_dim=64, norm="batch",
                       bn_fused=True):
  s, s2, s4, s8, s16 = conv_out_sizes(image_size)
  z = keras.Input((z_dim,))
  x = keras.layers.Dense(gf_dim * 8 * s16 * s16, name="g_h0_lin",
                         kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02))(z)
  x = keras.layers.Reshape((s16, s16, gf_dim * 8))(x)
  x = keras.layers.ReLU()(_norm(norm, "g_bn0", bn_fused)(x))
  current = s16
  plan = [(s8, gf_dim * 4), (s4, gf_dim * 2), (s2, gf_dim), (s, channels)]
  for i, (target, filters) in enumerate(plan):
    # Keras 'same' transposed conv: out = (in - 1) * 2 + 5 - 2 * 2 + output_padding.
    output_padding = target - (2 * current - 1)
    x = keras.layers.Conv2DTranspose(
        filters, KERNEL, strides=2, padding="same", output_padding=output_padding,
        kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02), name=f"g_h{i + 1}")(x)
    current = target
    if i < len(plan) - 1:
      x = keras.layers.ReLU()(_norm(norm, f"g_bn{i + 1}", bn_fused)(x))
  return keras.Model(z, keras.layers.Activation("tanh")(x), name="generator")


def dcgan_tf_critic(image_size=64, channels=3, df_dim=64, norm="batch", bn_fused=True):
  image = keras.Input((image_size, image_size, channels))
  x = image
  for i, mult in enumerate((1, 2, 4, 8)):
    x = keras.layers.Conv2D(df_dim * mult, KERNEL, strides=2, padding="same", name=f"d_h{i}_conv",
                            kernel_initializer=keras.initializers.TruncatedNormal(0.0, 0.02))(x)
    if i > 0:
      x = _norm(norm, f"d_bn{i}", bn_fused)(x)
    x = layers_lib.LeakyReLU(0.2)(x)
  x = keras.layers.Flatten()(x)
  logit = keras.layers.Dense(1, name="d_h3_lin",
                             kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02))(x)
  return keras.Model(image, logit, name="critic")


def build(data_shape, z_dim, width=64, g_norm="batch", d_norm="batch", bn_fused=True):
  """Architecture "dcgan_tf": DCGAN-tensorflow as TTUR's / FOGAN's DCGAN_FID_batched use it
  (bn_fused: `TF1BatchNorm`'s fused or non-fused tf.contrib batch norm)."""
  from repro.models.checks import image_shape  # pylint: disable=g-import-not-at-top
  size, channels = image_shape("dcgan_tf", data_shape)
  return (dcgan_tf_generator(size, channels, z_dim, width, g_norm, bn_fused),
          dcgan_tf_critic(size, channels, width, d_norm, bn_fused))
