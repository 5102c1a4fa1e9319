"""ResNets of improved_wgan_training (Gulrajani et al. 2017) and TTUR's copy of them.

- `good_generator` / `good_critic` (architecture "resnet_good"): GoodGenerator / GoodDiscriminator
  of igul222/improved_wgan_training@fa66c57 gan_64x64.py, also bioinf-jku/TTUR@73ab375
  WGAN_GP/gan_64x64_FID.py (BN_G = BN_D = True), `dim` = DIM:
    G: Linear 128 -> s·s·8DIM (no normalisation), reshape s x s x 8DIM, four up blocks
       8DIM -> 8DIM -> 4DIM -> 2DIM -> DIM, batch norm (Generator.OutputN), ReLU, 3x3 conv -> 3, tanh.
    D: 3x3 conv 3 -> DIM (no nonlinearity), four down blocks DIM -> 2DIM -> 4DIM -> 8DIM -> 8DIM,
       reshape, Linear -> 1.
    Block: shortcut (identity, or 1x1 UpsampleConv / MeanPoolConv with bias) + Conv2(ReLU(N2(
    Conv1(ReLU(N1(x)))))), Conv1 without bias (`biases=False`), Conv2 with bias; up: Conv1 =
    UpsampleConv (nearest x2, the depth_to_space of four copies, then a 3x3 conv), Conv2 = 3x3 conv;
    down: Conv1 = 3x3 conv (in -> in), Conv2 = ConvMeanPool (3x3 conv then 2x2 mean).
    N = tflib batch norm per channel in G (`g_norm="batch"`), tflib Layernorm in the WGAN-GP critic
    (`d_norm="tflib_layer"`: statistics over H, W, C, scale/offset per channel).
    Start resolution s (`start`): gan_64x64.py has 4 at 64x64. TTUR's file ties the image to DIM
    (OUTPUT_DIM = DIM·DIM·3) and the start to `fact = DIM // 16`, keeping four up and four down
    blocks; TTUR's CIFAR-10 runs used DIM 32 (TTUR issue 19): 32x32 images from a 2x2 start
    (2 -> 4 -> 8 -> 16 -> 32). Default: s = image size // 16 (both files).
    The packing quirk (`pack_rows`): the critic ends with `tf.reshape(output, [-1, 4*4*8*dim])`
    whatever s is. At DIM 32 a critic map is 2x2x256 = 1024 values per image, so the reshape packs
    four consecutive images into one row of 4096 and the Linear (Discriminator.Output.W [4096, 1])
    scores each group of four: a batch of 64 gives 16 critic values. This is a bug of the
    official file, reproduced by default (`pack_rows=True`, what the TTUR CIFAR-10 results ran);
    `pack_rows=False` scores each image on its own (Linear s·s·8DIM -> 1). At s = 4 both are the same
    network. With packing the batch (per replica) must be a multiple of 16 / s²; the WGAN-GP losses
    average the batch/4 values, and the gradient penalty, which differentiates the sum of the critic
    outputs w.r.t. the 64 interpolates and takes one norm per image (as gan_64x64_FID.py's
    `tf.gradients(Discriminator(interpolates), interpolates)` and `slopes` do), is unchanged.
- `cifar_generator` / `cifar_critic` (architecture "resnet_cifar"): gan_cifar_resnet.py (DIM_G =
  DIM_D = 128, batch norm in G only, unconditional).
Initialisation (repro.models.initializers.TflibUniform): tflib Linear 'glorot'; block convs he_init;
shortcuts he_init=False; gan_64x64.py's Discriminator.Input he_init=False and Generator.Output
he_init (the default); gan_cifar_resnet.py's Generator.Output he_init=False. Biases zero.
Tensors are NHWC here (NCHW in the official code): the reshape after G's Linear and the one before
D's Linear order features differently, a fixed permutation of i.i.d. initialised weights.
"""

import math

import keras

from repro.errors import UsageError
from repro.models import initializers, layers

_UP = "up"
_DOWN = "down"
_G_MULTS = (8, 8, 4, 2, 1)   # channel multipliers of the Good generator from its start map upwards
OFFICIAL_ROW = 4 * 4 * 8     # gan_64x64(_FID).py's final reshape [-1, 4*4*8*dim], in units of dim


def _he(he_init=True):
  return initializers.tflib("conv", he_init)


def _resample_conv(x, filters, kernel_size, mode, name, init, use_bias=True):
  """tflib's UpsampleConv (nearest x2 then conv), ConvMeanPool (conv then 2x2 mean), MeanPoolConv."""
  if mode == "upsample_conv":
    x = keras.layers.UpSampling2D(2, interpolation="nearest")(x)
    return layers.conv(filters, kernel_size, init, name=name, use_bias=use_bias)(x)
  if mode == "conv_mean_pool":
    x = layers.conv(filters, kernel_size, init, name=name, use_bias=use_bias)(x)
    return keras.layers.AveragePooling2D(2)(x)
  if mode == "mean_pool_conv":
    x = keras.layers.AveragePooling2D(2)(x)
    return layers.conv(filters, kernel_size, init, name=name, use_bias=use_bias)(x)
  return layers.conv(filters, kernel_size, init, name=name, use_bias=use_bias)(x)


def residual_block(x, filters, resample, norm, name, down_shortcut="mean_pool_conv",
                   conv1_bias=True):
  """improved_wgan_training's ResidualBlock (gan_64x64.py; gan_cifar_resnet.py with conv1_bias)."""
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
    shortcut = _resample_conv(x, filters, 1, shortcut_mode, f"{name}_shortcut", _he(False))
  h = keras.layers.ReLU()(layers.normalization(norm, f"{name}_norm1")(x))
  h = _resample_conv(h, mid, 3, conv_1, f"{name}_conv1", _he(), use_bias=conv1_bias)
  h = keras.layers.ReLU()(layers.normalization(norm, f"{name}_norm2")(h))
  h = _resample_conv(h, filters, 3, conv_2, f"{name}_conv2", _he())
  return keras.layers.Add()([shortcut, h])


def good_plan(image_size, start=None):
  """(start resolution, generator channel multipliers from the start map up) of the Good nets."""
  start = image_size // 16 if start is None else int(start)
  blocks = math.log2(image_size / start) if start > 0 and image_size % start == 0 else -1
  if blocks != int(blocks) or not 1 <= blocks <= 4:
    raise UsageError(f"the Good ResNets double a {start}x{start} start map 1-4 times; "
                     f"{image_size} px cannot be reached (start = image size // 16 by default)")
  return start, _G_MULTS[-(int(blocks) + 1):]


def good_generator(image_size=64, channels=3, z_dim=128, dim=64, norm="batch", start=None):
  start, mults = good_plan(image_size, start)
  z = keras.Input((z_dim,))
  x = layers.dense(start * start * mults[0] * dim, initializers.tflib("linear", False),
                   name="project")(z)
  x = keras.layers.Reshape((start, start, mults[0] * dim))(x)
  for i, m in enumerate(mults[1:]):
    x = residual_block(x, m * dim, _UP, norm, f"res{i + 1}", conv1_bias=False)
  x = keras.layers.ReLU()(layers.normalization(norm, "out_norm")(x))
  x = layers.conv(channels, 3, _he(True), name="to_image")(x)      # Generator.Output: he_init
  return keras.Model(z, keras.layers.Activation("tanh")(x), name="generator")


def good_critic(image_size=64, channels=3, dim=64, norm="tflib_layer", start=None,
                pack_rows=True):
  start, g_mults = good_plan(image_size, start)
  mults = list(reversed(g_mults))  # 1, 2, 4, 8, 8
  image = keras.Input((image_size, image_size, channels))
  x = layers.conv(dim, 3, _he(False), name="from_image")(image)   # Discriminator.Input
  for i, m in enumerate(mults[1:]):
    x = residual_block(x, m * dim, _DOWN, norm, f"res{i + 1}", conv1_bias=False)
  per_image = start * start * mults[-1] * dim
  row = OFFICIAL_ROW * dim
  if pack_rows and per_image != row:
    if row % per_image:
      raise UsageError(f"pack_rows: the official reshape to [-1, 4*4*8*dim] would split a "
                       f"{start}x{start} critic map across rows; use pack_rows=False")
    x = layers.PackRows(row, name="pack_rows")(x)   # row // per_image images per row
  else:
    x = keras.layers.Flatten()(x)
  out = layers.dense(1, initializers.tflib("linear", False), name="out")(x)
  return keras.Model(image, out, name="critic")


def images_per_critic_row(critic):
  """How many images share one critic output (1, or 4 for TTUR's DIM-32 packing)."""
  pack = [l for l in critic.layers if isinstance(l, layers.PackRows)]
  if not pack:
    return 1
  return pack[0].row_size // int(math.prod(pack[0].input.shape[1:]))


def cifar_generator(z_dim=128, dim=128, channels=3, norm="batch"):
  z = keras.Input((z_dim,))
  x = layers.dense(4 * 4 * dim, initializers.tflib("linear", False), name="project")(z)
  x = keras.layers.Reshape((4, 4, dim))(x)
  for i in range(3):
    x = residual_block(x, dim, _UP, norm, f"res{i + 1}")
  x = keras.layers.ReLU()(layers.normalization(norm, "out_norm")(x))
  x = layers.conv(channels, 3, _he(False), name="to_image")(x)     # Generator.Output he_init=False
  return keras.Model(z, keras.layers.Activation("tanh")(x), name="generator")


def cifar_critic(dim=128, channels=3, image_size=32, norm="none"):
  image = keras.Input((image_size, image_size, channels))
  # OptimizedResBlockDisc1: conv, ReLU, ConvMeanPool; shortcut MeanPoolConv 1x1.
  shortcut = _resample_conv(image, dim, 1, "mean_pool_conv", "res0_shortcut", _he(False))
  h = keras.layers.ReLU()(layers.conv(dim, 3, _he(), name="res0_conv1")(image))
  h = _resample_conv(h, dim, 3, "conv_mean_pool", "res0_conv2", _he())
  x = keras.layers.Add()([shortcut, h])
  x = residual_block(x, dim, _DOWN, norm, "res1", down_shortcut="conv_mean_pool")
  x = residual_block(x, dim, None, norm, "res2")
  x = residual_block(x, dim, None, norm, "res3")
  x = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(x))
  out = layers.dense(1, initializers.tflib("linear", False), name="out")(x)
  return keras.Model(image, out, name="critic")


def build_good(data_shape, z_dim, width=64, g_norm="batch", d_norm="tflib_layer", start=None,
               pack_rows=True):
  """Architecture "resnet_good": gan_64x64.py's GoodGenerator / GoodDiscriminator (DIM = width;
  start: the generator's start map, default image size // 16; pack_rows: TTUR's DIM-32 critic
  reshape, see the module docstring)."""
  from repro.models.checks import image_shape  # pylint: disable=g-import-not-at-top
  size, channels = image_shape("resnet_good", data_shape)
  return (good_generator(size, channels, z_dim, width, g_norm, start),
          good_critic(size, channels, width, d_norm, start, pack_rows))


def build_cifar(data_shape, z_dim, width=128, g_norm="batch", d_norm="none"):
  """Architecture "resnet_cifar": gan_cifar_resnet.py (DIM = width)."""
  from repro.models.checks import image_shape  # pylint: disable=g-import-not-at-top
  size, channels = image_shape("resnet_cifar", data_shape)
  return (cifar_generator(z_dim, width, channels, g_norm),
          cifar_critic(width, channels, size, d_norm))
