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
  N(0, 0.02), biases 0. Batch norm: decay 0.9, epsilon 1e-5, with scale (ops.batch_norm).
"""

import math

import keras

from repro.models import layers as layers_lib

KERNEL = 5  # ops.py conv2d / deconv2d: k_h = k_w = 5, stride 2


def conv_out_sizes(image_size):
  """[size, s2, s4, s8, s16] with s_{2k} = ceil(s_k / 2) (model.py `conv_out_size_same`)."""
  sizes = [image_size]
  for _ in range(4):
    sizes.append(int(math.ceil(sizes[-1] / 2)))
  return sizes


def _norm(kind, name):
  if kind == "batch":  # ops.batch_norm: decay 0.9, epsilon 1e-5, scale=True
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)
  return layers_lib.normalization(kind, name)


def dcgan_tf_generator(image_size=64, channels=3, z_dim=100, gf_dim=64, norm="batch"):
  s, s2, s4, s8, s16 = conv_out_sizes(image_size)
  z = keras.Input((z_dim,))
  x = keras.layers.Dense(gf_dim * 8 * s16 * s16, name="g_h0_lin",
                         kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02))(z)
  x = keras.layers.Reshape((s16, s16, gf_dim * 8))(x)
  x = keras.layers.ReLU()(_norm(norm, "g_bn0")(x))
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
      x = keras.layers.ReLU()(_norm(norm, f"g_bn{i + 1}")(x))
  return keras.Model(z, keras.layers.Activation("tanh")(x), name="generator")


def dcgan_tf_critic(image_size=64, channels=3, df_dim=64, norm="batch"):
  image = keras.Input((image_size, image_size, channels))
  x = image
  for i, mult in enumerate((1, 2, 4, 8)):
    x = keras.layers.Conv2D(df_dim * mult, KERNEL, strides=2, padding="same", name=f"d_h{i}_conv",
                            kernel_initializer=keras.initializers.TruncatedNormal(0.0, 0.02))(x)
    if i > 0:
      x = _norm(norm, f"d_bn{i}")(x)
    x = layers_lib.LeakyReLU(0.2)(x)
  x = keras.layers.Flatten()(x)
  logit = keras.layers.Dense(1, name="d_h3_lin",
                             kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02))(x)
  return keras.Model(image, logit, name="critic")


def build(data_shape, z_dim, width=64, g_norm="batch", d_norm="batch"):
  """Architecture "dcgan_tf": DCGAN-tensorflow as TTUR's / FOGAN's DCGAN_FID_batched use it."""
  from repro.models.checks import image_shape  # pylint: disable=g-import-not-at-top
  size, channels = image_shape("dcgan_tf", data_shape)
  return (dcgan_tf_generator(size, channels, z_dim, width, g_norm),
          dcgan_tf_critic(size, channels, width, d_norm))
