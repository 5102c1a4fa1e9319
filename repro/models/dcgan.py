"""DCGAN generator and critic for 28, 32 and 64 px (Radford et al. 2016, as the papers' code uses them).

The generator projects z to a 4x4 (7x7 for 28 px) map and doubles the resolution with stride-2
transposed convolutions down to `width` channels; the critic mirrors it with stride-2 convolutions
and LeakyReLU(0.2). Batch norm is optional on both sides (WGAN trains DCGAN with and without it;
WGAN-GP critics must not use batch norm: use norm="layer" or "none").
"""

import keras

from repro.models import initializers, layers

_PLAN = {  # image size -> (start resolution, channel multipliers from the start map upwards)
    28: (7, (2, 1)),
    32: (4, (4, 2, 1)),
    64: (4, (8, 4, 2, 1)),
}


def _plan(image_size):
  if image_size not in _PLAN:
    raise ValueError(f"DCGAN supports image sizes {sorted(_PLAN)}, got {image_size}")
  return _PLAN[image_size]


def dcgan_generator(image_size=32, channels=3, z_dim=100, width=64, norm="batch", kernel_size=4,
                    init="dcgan"):
  start, mults = _plan(image_size)
  z = keras.Input((z_dim,))
  x = layers.dense(start * start * mults[0] * width, init, name="project")(z)
  x = keras.layers.Reshape((start, start, mults[0] * width))(x)
  x = keras.layers.ReLU()(layers.normalization(norm, "project_norm")(x))
  for i, m in enumerate(mults[1:]):
    x = keras.layers.Conv2DTranspose(m * width, kernel_size, strides=2, padding="same",
                                     kernel_initializer=initializers.kernel(init),
                                     name=f"up_{i}")(x)
    x = keras.layers.ReLU()(layers.normalization(norm, f"up_{i}_norm")(x))
  x = keras.layers.Conv2DTranspose(channels, kernel_size, strides=2, padding="same",
                                   kernel_initializer=initializers.kernel(init, output=True),
                                   name="to_image")(x)
  return keras.Model(z, keras.layers.Activation("tanh")(x), name="generator")


def dcgan_critic(image_size=32, channels=3, width=64, norm="none", kernel_size=4, init="dcgan"):
  _, mults = _plan(image_size)
  image = keras.Input((image_size, image_size, channels))
  x = image
  for i, m in enumerate(reversed(mults)):
    x = layers.conv(m * width, kernel_size, init, strides=2, name=f"down_{i}")(x)
    if i > 0:  # DCGAN: no normalisation on the first layer
      x = layers.normalization(norm, f"down_{i}_norm")(x)
    x = layers.LeakyReLU(0.2)(x)
  x = keras.layers.Flatten()(x)
  return keras.Model(image, layers.dense(1, init, output=True, name="out")(x), name="critic")


def build(data_shape, z_dim, width=64, g_norm="batch", d_norm="none", kernel_size=4):
  """Architecture "dcgan"."""
  from repro.models.checks import image_shape  # pylint: disable=g-import-not-at-top
  size, channels = image_shape("dcgan", data_shape)
  return (dcgan_generator(size, channels, z_dim, width, g_norm, kernel_size),
          dcgan_critic(size, channels, width, d_norm, kernel_size))
