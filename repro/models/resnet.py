"""ResNets of improved_wgan_training (Gulrajani et al. 2017).

- `good_generator` / `good_critic`: "Good" nets of gan_64x64.py (also TTUR's WGAN_GP/gan_64x64_FID.py)
  at 64x64; `dim` is the width (64 in gan_64x64.py; TTUR used DIM 32 for CIFAR-10 at 32x32, which
  drops one resampling block: `image_size=32`).
- `cifar_generator` / `cifar_critic`: gan_cifar_resnet.py (DIM_G = DIM_D = 128, batch norm in G only).
Convolutions before ReLU use He init, shortcuts and outputs Glorot (tflib's he_init flags).
"""

import keras

from repro.models import layers

_UP = "up"
_DOWN = "down"


def _resample_conv(x, filters, kernel_size, mode, name, init="he"):
  """tflib's UpsampleConv (nearest x2 then conv), ConvMeanPool (conv then 2x2 mean), MeanPoolConv."""
  if mode == "upsample_conv":
    x = keras.layers.UpSampling2D(2, interpolation="nearest")(x)
    return layers.conv(filters, kernel_size, init, name=name)(x)
  if mode == "conv_mean_pool":
    x = layers.conv(filters, kernel_size, init, name=name)(x)
    return keras.layers.AveragePooling2D(2)(x)
  if mode == "mean_pool_conv":
    x = keras.layers.AveragePooling2D(2)(x)
    return layers.conv(filters, kernel_size, init, name=name)(x)
  return layers.conv(filters, kernel_size, init, name=name)(x)


def residual_block(x, filters, resample, norm, name, down_shortcut="mean_pool_conv"):
  in_filters = x.shape[-1]
  if resample == _UP:
    conv_1, conv_2, shortcut_mode = "upsample_conv", "conv", "upsample_conv"
    mid = filters
  elif resample == _DOWN:
    conv_1, conv_2, shortcut_mode = "conv", "conv_mean_pool", down_shortcut
    mid = in_filters
  else:
    conv_1, conv_2, shortcut_mode = "conv", "conv", "conv"
    mid = filters
  if in_filters == filters and resample is None:
    shortcut = x
  else:
    shortcut = _resample_conv(x, filters, 1, shortcut_mode, f"{name}_shortcut", init="keras")
  h = keras.layers.ReLU()(layers.normalization(norm, f"{name}_norm1")(x))
  h = _resample_conv(h, mid, 3, conv_1, f"{name}_conv1")
  h = keras.layers.ReLU()(layers.normalization(norm, f"{name}_norm2")(h))
  h = _resample_conv(h, filters, 3, conv_2, f"{name}_conv2")
  return keras.layers.Add()([shortcut, h])


def _stages(image_size):
  if image_size == 64:
    return (8, 8, 4, 2, 1)
  if image_size == 32:
    return (8, 4, 2, 1)
  raise ValueError(f"the Good ResNets support 32 or 64 px, got {image_size}")


def good_generator(image_size=64, channels=3, z_dim=128, dim=64, norm="batch"):
  mults = _stages(image_size)
  z = keras.Input((z_dim,))
  x = layers.dense(4 * 4 * mults[0] * dim, "keras", name="project")(z)
  x = keras.layers.Reshape((4, 4, mults[0] * dim))(x)
  for i, m in enumerate(mults[1:]):
    x = residual_block(x, m * dim, _UP, norm, f"res{i + 1}")
  x = keras.layers.ReLU()(layers.normalization(norm, "out_norm")(x))
  x = layers.conv(channels, 3, "keras", output=True, name="to_image")(x)
  return keras.Model(z, keras.layers.Activation("tanh")(x), name="generator")


def good_critic(image_size=64, channels=3, dim=64, norm="layer"):
  mults = list(reversed(_stages(image_size)))  # 1, 2, 4, 8, 8
  image = keras.Input((image_size, image_size, channels))
  x = layers.conv(dim, 3, "keras", name="from_image")(image)
  for i, m in enumerate(mults[1:]):
    x = residual_block(x, m * dim, _DOWN, norm, f"res{i + 1}")
  x = keras.layers.Flatten()(x)
  return keras.Model(image, layers.dense(1, "keras", output=True, name="out")(x), name="critic")


def cifar_generator(z_dim=128, dim=128, channels=3, norm="batch"):
  z = keras.Input((z_dim,))
  x = layers.dense(4 * 4 * dim, "keras", name="project")(z)
  x = keras.layers.Reshape((4, 4, dim))(x)
  for i in range(3):
    x = residual_block(x, dim, _UP, norm, f"res{i + 1}")
  x = keras.layers.ReLU()(layers.normalization(norm, "out_norm")(x))
  x = layers.conv(channels, 3, "he", name="to_image")(x)
  return keras.Model(z, keras.layers.Activation("tanh")(x), name="generator")


def cifar_critic(dim=128, channels=3, image_size=32, norm="none"):
  image = keras.Input((image_size, image_size, channels))
  # OptimizedResBlockDisc1: conv, ReLU, ConvMeanPool; shortcut MeanPoolConv 1x1.
  shortcut = _resample_conv(image, dim, 1, "mean_pool_conv", "res0_shortcut", init="keras")
  h = keras.layers.ReLU()(layers.conv(dim, 3, "he", name="res0_conv1")(image))
  h = _resample_conv(h, dim, 3, "conv_mean_pool", "res0_conv2")
  x = keras.layers.Add()([shortcut, h])
  x = residual_block(x, dim, _DOWN, norm, "res1", down_shortcut="conv_mean_pool")
  x = residual_block(x, dim, None, norm, "res2")
  x = residual_block(x, dim, None, norm, "res3")
  x = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(x))
  return keras.Model(image, layers.dense(1, "keras", output=True, name="out")(x), name="critic")
