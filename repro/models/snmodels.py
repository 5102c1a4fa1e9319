"""Networks of KL-WGAN (ermongroup/f-wgan), PyTorch's initialisation and spectral normalisation.

* `fwgan_mlp_generator` / `fwgan_mlp_critic`: `synthetic/kl_wgan.py` Generator (noise 2 -> 100 ->
  100 -> 2, LeakyReLU) and Discriminator (2 -> 100 -> 100 -> 1, LeakyReLU, `spectral_norm` on every
  Linear). PyTorch's `nn.LeakyReLU()` slope is 0.01 (Keras' default is 0.3) and `nn.Linear`
  initialises weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)); both are reproduced.
* `biggan_generator` / `biggan_critic`: the BigGAN-PyTorch ResNets f-wgan's `train_C10U.sh` trains
  (`--model BigGAN`, G_ch = D_ch = 64, dim_z 128, no attention, `--G_init N02 --D_init N02`, SN in
  G and D as BigGAN.py's default G_param/D_param 'SN'). 32x32 uses `G_arch[32]` / `D_arch[32]`: G
  linear z -> 4x4x(4ch), three up-blocks of 4ch, BN-ReLU-conv3x3-tanh; D four blocks of 4ch
  (downsampling in the first two), ReLU, global *sum* pooling, linear. 64x64 uses `G_arch[64]` /
  `D_arch[64]`. 28x28 (MNIST-like data, not in f-wgan) starts from 7x7 with two up-blocks. Unconditional runs of BigGAN-PyTorch still add
  the projection term sum(embed(y=0)·h); it is one more linear head on h and is left out here.
"""

import math

import keras

from repro.models.layers import LeakyReLU
from repro.models.spectral import SNConv2D, SNDense

LEAKY_SLOPE = 0.01   # torch.nn.LeakyReLU default negative_slope


def torch_kernel_init(seed=None):
  """nn.Linear / nn.Conv2d default weight init: kaiming_uniform(a=sqrt(5)) = U(±1/sqrt(fan_in))."""
  return keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform", seed=seed)


def torch_bias_init(fan_in, seed=None):
  bound = 1.0 / math.sqrt(fan_in)
  return keras.initializers.RandomUniform(-bound, bound, seed=seed)


def _dense(units, fan_in, sn, name):
  cls = SNDense if sn else keras.layers.Dense
  return cls(units, kernel_initializer=torch_kernel_init(), bias_initializer=torch_bias_init(fan_in),
             name=name)


def fwgan_mlp(input_dim, output_dim, hidden=(100, 100), sn=False, name="mlp"):
  x = inputs = keras.Input((input_dim,))
  fan_in = input_dim
  for i, units in enumerate(hidden):
    x = _dense(units, fan_in, sn, f"dense_{i}")(x)
    x = LeakyReLU(negative_slope=LEAKY_SLOPE)(x)
    fan_in = units
  outputs = _dense(output_dim, fan_in, sn, "out")(x)
  return keras.Model(inputs, outputs, name=name)


def fwgan_mlp_generator(z_dim=2, data_dim=2, hidden=(100, 100)):
  """kl_wgan.py Generator: Linear(2,100) LeakyReLU Linear(100,100) LeakyReLU Linear(100,2)."""
  return fwgan_mlp(z_dim, data_dim, hidden, sn=False, name="generator")


def fwgan_mlp_critic(data_dim=2, hidden=(100, 100)):
  """kl_wgan.py Discriminator: the same shape with spectral_norm on every Linear, output 1."""
  return fwgan_mlp(data_dim, 1, hidden, sn=True, name="critic")


# ---- BigGAN-PyTorch ResNets (f-wgan image_generation/BigGAN.py, layers.py) ---------------------

def _n02():
  return keras.initializers.RandomNormal(0.0, 0.02)   # --G_init N02 --D_init N02 (weights only)


def _sn_conv(filters, kernel_size, fan_in, name):
  return SNConv2D(filters, kernel_size, padding="same", kernel_initializer=_n02(),
                  bias_initializer=torch_bias_init(fan_in), name=name)


def _bn(name):
  # BigGAN layers.bn / ccbn (unconditional: a learned gain and bias per channel), eps 1e-5,
  # PyTorch momentum 0.1 = Keras momentum 0.9.
  return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def _g_block(x, filters, name):
  """layers.GBlock with upsampling: BN-ReLU-up-conv3-BN-ReLU-conv3 + up-conv1 shortcut."""
  in_ch = x.shape[-1]
  h = keras.layers.ReLU()(_bn(f"{name}_bn1")(x))
  h = keras.layers.UpSampling2D(2, interpolation="nearest")(h)   # F.interpolate(scale_factor=2)
  h = _sn_conv(filters, 3, in_ch * 9, f"{name}_conv1")(h)
  h = keras.layers.ReLU()(_bn(f"{name}_bn2")(h))
  h = _sn_conv(filters, 3, filters * 9, f"{name}_conv2")(h)
  s = keras.layers.UpSampling2D(2, interpolation="nearest")(x)
  s = _sn_conv(filters, 1, in_ch, f"{name}_sc")(s)
  return keras.layers.Add()([h, s])


def _d_block(x, filters, downsample, preactivation, name):
  """layers.DBlock (wide: hidden = out channels)."""
  in_ch = x.shape[-1]
  h = keras.layers.ReLU()(x) if preactivation else x
  h = _sn_conv(filters, 3, in_ch * 9, f"{name}_conv1")(h)
  h = _sn_conv(filters, 3, filters * 9, f"{name}_conv2")(keras.layers.ReLU()(h))
  if downsample:
    h = keras.layers.AveragePooling2D(2)(h)
  s = x
  learnable = in_ch != filters or downsample
  if preactivation:
    if learnable:
      s = _sn_conv(filters, 1, in_ch, f"{name}_sc")(s)
    if downsample:
      s = keras.layers.AveragePooling2D(2)(s)
  else:
    if downsample:
      s = keras.layers.AveragePooling2D(2)(s)
    if learnable:
      s = _sn_conv(filters, 1, in_ch, f"{name}_sc")(s)
  return keras.layers.Add()([h, s])


# BigGAN.py G_arch / D_arch (channel multipliers of ch). 28 px is this suite's variant of 32 for
# MNIST-sized data (bottom 7x7, two up-blocks).
G_ARCH = {32: (4, (4, 4, 4)), 64: (4, (16, 8, 4, 2)), 28: (7, (4, 4))}   # (bottom, out_channels)
G_IN = {32: 4, 64: 16, 28: 4}                                           # in_channels[0]
D_ARCH = {32: ((4, 4, 4, 4), (True, True, False, False)),
          64: ((1, 2, 4, 8, 16), (True, True, True, True, False)),
          28: ((4, 4, 4, 4), (True, True, False, False))}


def _check_size(image_size):
  if image_size not in G_ARCH:
    raise ValueError(f"the BigGAN SN-ResNet here supports {sorted(G_ARCH)} px, got {image_size}")


def biggan_generator(image_size=32, channels=3, z_dim=128, ch=64):
  _check_size(image_size)
  bottom, outs = G_ARCH[image_size]
  width = G_IN[image_size] * ch
  z = keras.Input((z_dim,))
  h = SNDense(width * bottom * bottom, kernel_initializer=_n02(),
              bias_initializer=torch_bias_init(z_dim), name="linear")(z)
  h = keras.layers.Reshape((bottom, bottom, width))(h)
  for i, mult in enumerate(outs):
    h = _g_block(h, mult * ch, f"g_block{i}")
  h = keras.layers.ReLU()(_bn("out_bn")(h))
  h = _sn_conv(channels, 3, outs[-1] * ch * 9, "out_conv")(h)
  return keras.Model(z, keras.layers.Activation("tanh")(h), name="generator")


def biggan_critic(image_size=32, channels=3, ch=64):
  _check_size(image_size)
  outs, downs = D_ARCH[image_size]
  x = inputs = keras.Input((image_size, image_size, channels))
  for i, (mult, down) in enumerate(zip(outs, downs)):
    x = _d_block(x, mult * ch, down, preactivation=i > 0, name=f"d_block{i}")
  x = keras.layers.ReLU()(x)
  x = keras.layers.Lambda(lambda t: keras.ops.sum(t, axis=(1, 2)), name="sum_pool")(x)
  out = SNDense(1, kernel_initializer=_n02(), bias_initializer=torch_bias_init(outs[-1] * ch),
                name="linear")(x)
  return keras.Model(inputs, out, name="critic")
