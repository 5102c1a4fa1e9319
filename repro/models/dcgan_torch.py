"""WassersteinGAN's DCGAN (martinarjovsky/WassersteinGAN `models/dcgan.py` DCGAN_G / DCGAN_D with
`main.py`'s defaults and `weights_init`): architecture "dcgan_wgan".

Reproduced as run (`python main.py --dataset lsun|cifar10`, imageSize 64, nz 100, ngf = ndf = 64,
n_extra_layers 0; tests/goldens/official_shapes/wgan_*.json: G 3,576,704 / D 2,765,568 scalars):

* Generator: z [B, nz] -> ConvT(nz -> 8·ngf, k4, s1, p0) on the 1x1 map (a [4, 4, 8·ngf, nz]
  kernel: 4x4) -> BN -> ReLU, then ConvT(k4, s2, p1) halving the channels and doubling the size
  up to isize/2, each + BN + ReLU, then ConvT(ngf -> nc, k4, s2, p1) -> tanh. BN after every
  deconvolution but the last. `g_batch_norm=False` is main.py's --noBN (DCGAN_G_nobn; the critic
  keeps its BN, as main.py always builds DCGAN_D).
* Critic: Conv(nc -> ndf, k4, s2, p1) -> LeakyReLU(0.2) (no BN on the first conv), Conv(k4, s2, p1)
  doubling the channels down to 4x4, each + BN + LeakyReLU(0.2), then Conv(8·ndf -> 1, k4, s1, p0)
  (no BN, no activation).
* `extra_layers` (main.py --n_extra_layers, default 0): Conv(k3, s1, p1) + BN + activation, in G
  after the pyramid (at isize/2) and in D after the first conv, as dcgan.py places them.
* No biases anywhere (every nn.Conv2d / nn.ConvTranspose2d has bias=False): the only additive
  parameters are the BN betas.
* Initialisation (main.py weights_init): every conv / deconv kernel N(0, 0.02); every BN gamma
  N(1, 0.02), beta 0.
* BN as PyTorch's BatchNorm2d defaults: momentum 0.1 (Keras momentum 0.9), eps 1e-5, and its
  running variance, which moves toward the *unbiased* batch variance (n / (n - 1) times the biased
  one the batch is normalised with; n = B·H·W per channel), where Keras' BatchNormalization uses
  the biased one: `TorchBatchNorm` (tests/test_official_step_wgan.py checks the running statistics
  against main.py's after one training step). main.py never calls .eval(), so the official run
  never reads the running statistics: its samples use batch statistics, the recipe's "training"
  sampler.
* Padding: Keras "same" for k4/s2 convolutions and transposed convolutions on even sizes pads one
  pixel on each side, exactly PyTorch's padding=1; the k4/s1/p0 layers are "valid".

Critic output: DCGAN_D.forward returns `output.mean(0).view(1)`, the batch *mean* of the scores
(shape [1]). Here the critic returns the per-example scores [B, 1]: the WGAN objective
(repro.train.objective.WassersteinObjective, repro.losses.wgan) calls the critic on the real and on
the fake batch separately (so each call's BN uses that batch's own statistics, as main.py's two
forward calls do) and only uses reduce_mean of each call's scores, so the losses, the Wasserstein
estimate and every gradient are identical to the official batch-mean output; per-example scores
also keep the generic critic interface ([B, 1]) of the suite.

Image size: the nets need isize % 16 == 0 (dcgan.py asserts it). WassersteinGAN trains CIFAR-10
at main.py's default imageSize 64 (transforms.Scale(64) upsamples the 32x32 images), so the
CIFAR-10 recipe sets `data.image_size = 64` (repro/data/pipeline.py: PIL-like bilinear upsampling)
and this builder is given (64, 64, 3). Metrics: the generator then makes 64-px images; FID / IS
against CIFAR-10's 32-px reference statistics need the samples downscaled to 32x32 first (the
Inception graph would otherwise see 64 px fakes resized to 299 against 32 px reals resized to
299). Nothing does that automatically: the in-training evaluation of the clip recipe writes
sample grids only; to score a WGAN CIFAR-10 generator, downscale its samples with
`repro.data.pipeline.resize_images(samples, 32)` (values in [0, 255]) in the `sample_fn` given to
repro.metrics.evaluate (or precompute reference statistics of the 64-px upsampled training set
with `get_dataset(..., image_size=64)`), and record which in the result.
"""

import keras
import tensorflow as tf

from repro.errors import UsageError
from repro.models.layers import LeakyReLU

LEAKY_SLOPE = 0.2    # nn.LeakyReLU(0.2, inplace=True)
BN_MOMENTUM = 0.9    # PyTorch BatchNorm2d momentum 0.1
BN_EPSILON = 1e-5    # PyTorch BatchNorm2d eps


def _kernel_init():
  return keras.initializers.RandomNormal(0.0, 0.02)   # weights_init: m.weight.normal_(0, 0.02)


@keras.saving.register_keras_serializable(package="repro")
class TorchBatchNorm(keras.layers.BatchNormalization):
  """keras BatchNormalization with torch.nn.BatchNorm2d's running statistics: in training the
  batch is normalised with its biased variance (as Keras does) but the running variance moves
  toward the unbiased one, var · n / (n - 1) with n the values per channel (B·H·W); Keras moves it
  toward the biased var. Inference and everything else are Keras'. (PyTorch refuses n = 1; here the
  factor is then 1.)"""

  def call(self, inputs, training=None, mask=None):
    if not (training and self.trainable) or mask is not None or self.renorm:
      return super().call(inputs, training=training, mask=mask)
    x = tf.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
    mean, variance = self._moments(x, None)
    n = tf.cast(tf.size(x), x.dtype) / tf.cast(tf.size(mean), x.dtype)   # values per channel
    unbiased = variance * (n / tf.maximum(n - 1.0, 1.0))
    m = self.momentum
    self.moving_mean.assign(tf.cast(self.moving_mean, x.dtype) * m + mean * (1.0 - m))
    self.moving_variance.assign(tf.cast(self.moving_variance, x.dtype) * m + unbiased * (1.0 - m))
    outputs = keras.ops.batch_normalization(
        x, mean, variance, axis=self.axis,
        offset=tf.cast(self.beta, x.dtype) if self.center else None,
        scale=tf.cast(self.gamma, x.dtype) if self.scale else None, epsilon=self.epsilon)
    return tf.cast(outputs, self.compute_dtype)


def _bn(name):
  # weights_init: m.weight.normal_(1.0, 0.02); m.bias.fill_(0)
  return TorchBatchNorm(
      momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
      gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
      beta_initializer="zeros", name=name)


def _conv(filters, kernel_size, strides, padding, name):
  return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                             use_bias=False, kernel_initializer=_kernel_init(), name=name)


def _deconv(filters, kernel_size, strides, padding, name):
  return keras.layers.Conv2DTranspose(filters, kernel_size, strides=strides, padding=padding,
                                      use_bias=False, kernel_initializer=_kernel_init(),
                                      name=name)


def _check_size(image_size):
  if image_size % 16 or image_size < 16:
    raise UsageError(f"WassersteinGAN's DCGAN needs an image size that is a multiple of 16 "
                     f"(models/dcgan.py asserts isize % 16 == 0), got {image_size}")


def wgan_dcgan_generator(image_size=64, channels=3, z_dim=100, width=64, extra_layers=0,
                         batch_norm=True):
  """DCGAN_G(isize, nz, nc, ngf, ngpu, n_extra_layers) (DCGAN_G_nobn when not batch_norm)."""
  _check_size(image_size)
  cngf, size = width // 2, 4
  while size != image_size:
    cngf, size = cngf * 2, size * 2
  norm = _bn if batch_norm else (lambda name: keras.layers.Identity(name=name))
  z = keras.Input((z_dim,))
  x = keras.layers.Reshape((1, 1, z_dim))(z)                  # noise [B, nz, 1, 1]
  x = _deconv(cngf, 4, 1, "valid", "initial_convt")(x)         # 1x1 -> 4x4
  x = keras.layers.ReLU()(norm("initial_bn")(x))
  size = 4
  while size < image_size // 2:
    cngf, size = cngf // 2, size * 2
    x = _deconv(cngf, 4, 2, "same", f"pyramid_{cngf}_convt")(x)
    x = keras.layers.ReLU()(norm(f"pyramid_{cngf}_bn")(x))
  for t in range(extra_layers):
    x = _conv(cngf, 3, 1, "same", f"extra_{t}_conv")(x)
    x = keras.layers.ReLU()(norm(f"extra_{t}_bn")(x))
  x = _deconv(channels, 4, 2, "same", "final_convt")(x)
  return keras.Model(z, keras.layers.Activation("tanh")(x), name="generator")


def wgan_dcgan_critic(image_size=64, channels=3, width=64, extra_layers=0):
  """DCGAN_D(isize, nz, nc, ndf, ngpu, n_extra_layers), per-example scores (see the module)."""
  _check_size(image_size)
  image = keras.Input((image_size, image_size, channels))
  x = _conv(width, 4, 2, "same", "initial_conv")(image)       # no BN on the first conv
  x = LeakyReLU(LEAKY_SLOPE)(x)
  size, cndf = image_size // 2, width
  for t in range(extra_layers):
    x = _conv(cndf, 3, 1, "same", f"extra_{t}_conv")(x)
    x = LeakyReLU(LEAKY_SLOPE)(_bn(f"extra_{t}_bn")(x))
  while size > 4:
    cndf, size = cndf * 2, size // 2
    x = _conv(cndf, 4, 2, "same", f"pyramid_{cndf}_conv")(x)
    x = LeakyReLU(LEAKY_SLOPE)(_bn(f"pyramid_{cndf}_bn")(x))
  x = _conv(1, 4, 1, "valid", "final_conv")(x)                # 4x4 -> 1x1, no BN
  return keras.Model(image, keras.layers.Reshape((1,))(x), name="critic")


def build(data_shape, z_dim, width=64, extra_layers=0, g_batch_norm=True):
  """Architecture "dcgan_wgan": width = ngf = ndf, extra_layers = --n_extra_layers,
  g_batch_norm=False = --noBN (generator only)."""
  from repro.models.checks import image_shape  # pylint: disable=g-import-not-at-top
  size, channels = image_shape("dcgan_wgan", data_shape)
  if data_shape[0] != data_shape[1]:
    raise UsageError(f"dcgan_wgan needs square images, got {tuple(data_shape)}")
  _check_size(size)
  return (wgan_dcgan_generator(size, channels, z_dim, width, extra_layers, g_batch_norm),
          wgan_dcgan_critic(size, channels, width, extra_layers))
