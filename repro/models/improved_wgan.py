"""The DCGAN-style WGAN-GP nets of improved_wgan_training (Gulrajani et al. 2017), as the official
code builds them (igul222/improved_wgan_training@fa66c57, MODE = 'wgan-gp').

Architecture "wgan_gp_mnist" (gan_mnist.py, DIM 64):
  G: Linear 128 -> 4·4·4DIM, ReLU, reshape 4x4x4DIM, Deconv 5x5 -> 8x8x2DIM, ReLU, crop to 7x7
     (`output[:, :, :7, :7]`), Deconv -> 14x14xDIM, ReLU, Deconv -> 28x28x1, sigmoid. No
     normalisation (the batch norms exist only for MODE 'wgan').
  D: three 5x5 stride-2 convs DIM, 2DIM, 4DIM (28 -> 14 -> 7 -> 4), LeakyReLU(0.2) after each,
     Linear 4·4·4DIM -> 1.
Architecture "wgan_gp_cifar" (gan_cifar.py, DIM 128, the published value):
  G: Linear 128 -> 4·4·4DIM, batch norm of each of the 4·4·4DIM features (tflib Batchnorm axes [0]:
     scale and offset of shape [1, 8192]), ReLU, reshape 4x4x4DIM, Deconv 5x5 -> 8x8x2DIM, batch
     norm per channel, ReLU, Deconv -> 16x16xDIM, batch norm, ReLU, Deconv -> 32x32x3, tanh.
  D: three 5x5 stride-2 convs DIM, 2DIM, 4DIM (32 -> 16 -> 8 -> 4), LeakyReLU(0.2), Linear -> 1;
     no normalisation in wgan-gp.
Every Linear, Conv2D and Deconv2D has a bias (also those before a batch norm), initialised to zero;
kernels use tflib's initialisers (repro.models.initializers.TflibUniform): Linear 'glorot', every
conv and deconv he_init=True, with tflib's fan counts for stride-2 convs and deconvs.

Pixel range of "wgan_gp_mnist": gan_mnist.py feeds MNIST in [0, 1] and ends G in a sigmoid; the
suite's data are in [-1, 1]. The generator here returns 2·sigmoid(a) − 1 (a: the official
pre-activation) and the critic first maps its input back with x = (y + 1) / 2, so both networks are
the official functions of the official pixel values (the same layers, initialisation and zero
padding), and the WGAN losses are the official ones. One difference remains in the gradient
penalty: it is taken w.r.t. the critic's [-1, 1] input y, and ‖∇_y D‖ = ‖∇_x D‖ / 2, so the
penalty is λ(‖∇_x D‖/2 − 1)² where gan_mnist.py has λ(‖∇_x D‖ − 1)².

Tensors are NHWC here (NCHW in the official code): the reshape after G's Linear and the flatten
before D's Linear order the same features differently, a fixed permutation of those layers' i.i.d.
initialised units and weights (the same function class and initial distribution).
"""

import keras

from repro.models import initializers, layers

MNIST_SIZE = 28
CIFAR_SIZE = 32


def _deconv(filters, name):
  """tflib Deconv2D: 5x5 transposed conv, stride 2, SAME, bias, he_init."""
  return keras.layers.Conv2DTranspose(filters, 5, strides=2, padding="same",
                                      kernel_initializer=initializers.tflib("deconv"), name=name)


def _critic(image_size, channels, dim, name_in=None):
  image = keras.Input((image_size, image_size, channels))
  x = image
  if name_in is not None:   # [-1, 1] -> [0, 1] (wgan_gp_mnist)
    x = keras.layers.Rescaling(0.5, offset=0.5, name=name_in)(x)
  for i, m in enumerate((1, 2, 4)):
    x = layers.conv(m * dim, 5, initializers.tflib("conv", stride=2), strides=2,
                    name=f"Discriminator.{i + 1}")(x)
    x = layers.LeakyReLU(0.2)(x)
  x = keras.layers.Flatten()(x)
  out = layers.dense(1, initializers.tflib("linear", he_init=False), name="Discriminator.Output")(x)
  return keras.Model(image, out, name="critic")


def mnist_generator(z_dim=128, dim=64, channels=1):
  z = keras.Input((z_dim,))
  x = layers.dense(4 * 4 * 4 * dim, initializers.tflib("linear", he_init=False),
                   name="Generator.Input")(z)
  x = keras.layers.ReLU()(x)
  x = keras.layers.Reshape((4, 4, 4 * dim))(x)
  x = keras.layers.ReLU()(_deconv(2 * dim, "Generator.2")(x))
  x = keras.layers.Cropping2D(((0, 1), (0, 1)), name="crop_7x7")(x)    # output[:, :, :7, :7]
  x = keras.layers.ReLU()(_deconv(dim, "Generator.3")(x))
  x = _deconv(channels, "Generator.5")(x)
  x = keras.layers.Activation("sigmoid")(x)
  x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(x)   # [0, 1] -> [-1, 1]
  return keras.Model(z, x, name="generator")


def mnist_critic(dim=64, channels=1):
  return _critic(MNIST_SIZE, channels, dim, name_in="to_0_1")


def cifar_generator(z_dim=128, dim=128, channels=3):
  z = keras.Input((z_dim,))
  x = layers.dense(4 * 4 * 4 * dim, initializers.tflib("linear", he_init=False),
                   name="Generator.Input")(z)
  x = layers.TflibFeatureBatchNorm(name="Generator.BN1")(x)
  x = keras.layers.ReLU()(x)
  x = keras.layers.Reshape((4, 4, 4 * dim))(x)
  x = _deconv(2 * dim, "Generator.2")(x)
  x = keras.layers.ReLU()(layers.normalization("batch", "Generator.BN2")(x))
  x = _deconv(dim, "Generator.3")(x)
  x = keras.layers.ReLU()(layers.normalization("batch", "Generator.BN3")(x))
  x = _deconv(channels, "Generator.5")(x)
  return keras.Model(z, keras.layers.Activation("tanh")(x), name="generator")


def cifar_critic(dim=128, channels=3):
  return _critic(CIFAR_SIZE, channels, dim)


def _image(arch, data_shape, size):
  from repro.models.checks import image_shape  # pylint: disable=g-import-not-at-top
  from repro.errors import UsageError  # pylint: disable=g-import-not-at-top
  got, channels = image_shape(arch, data_shape)
  if got != size or data_shape[1] != size:
    raise UsageError(f"{arch} is the official {size}x{size} network, got images of shape "
                     f"{tuple(data_shape)}")
  return channels


def build_mnist(data_shape, z_dim, width=64):
  """Architecture "wgan_gp_mnist": gan_mnist.py's Generator / Discriminator (DIM = width)."""
  channels = _image("wgan_gp_mnist", data_shape, MNIST_SIZE)
  return mnist_generator(z_dim, width, channels), mnist_critic(width, channels)


def build_cifar(data_shape, z_dim, width=128):
  """Architecture "wgan_gp_cifar": gan_cifar.py's Generator / Discriminator (DIM = width)."""
  channels = _image("wgan_gp_cifar", data_shape, CIFAR_SIZE)
  return cifar_generator(z_dim, width, channels), cifar_critic(width, channels)
