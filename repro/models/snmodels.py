"""Networks of KL-WGAN (ermongroup/f-wgan), PyTorch's initialisation and spectral normalisation.

* `fwgan_mlp_generator` / `fwgan_mlp_critic`: `synthetic/kl_wgan.py` Generator (noise 2 -> 100 ->
  100 -> 2, LeakyReLU) and Discriminator (2 -> 100 -> 100 -> 1, LeakyReLU, `spectral_norm` on every
  Linear). PyTorch's `nn.LeakyReLU()` slope is 0.01 (Keras' default is 0.3) and `nn.Linear`
  initialises weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)); both are reproduced.
* `biggan_generator` / `biggan_critic`: the BigGAN-PyTorch ResNets f-wgan's `train_C10U.sh` trains
  (`--model BigGAN`, G_ch = D_ch = 64, dim_z 128, no attention, `--G_init N02 --D_init N02`, SN in
  G and D as BigGAN.py's default G_param/D_param 'SN', `--SN_eps` 1e-8). 32x32 uses `G_arch[32]` /
  `D_arch[32]`: G linear z -> 4x4x(4ch), three up-blocks of 4ch, BN-ReLU-conv3x3-tanh; D four
  blocks of 4ch (downsampling in the first two), ReLU, global *sum* pooling, linear. 64x64 uses
  `G_arch[64]` / `D_arch[64]`. 28x28 (MNIST-like data, not in f-wgan) starts from 7x7 with two
  up-blocks.

Class embeddings of the unconditional run (`n_classes`, tests/goldens/official_shapes/
klwgan_cifar10.json). train_C10U.sh trains unconditionally (no --conditional) but on `--dataset
C10`, so BigGAN.py still builds its class-conditional parts with n_classes = 10:
* every generator block batch norm is a `layers.ccbn` with G_shared False, i.e. `which_linear` =
  `which_embedding` = plain `nn.Embedding` (BigGAN.py: "We use a non-spectral-normed embedding here
  regardless"): batch norm without affine parameters, then x̂ · (1 + gain[y]) + bias[y] with two
  [10, C] tables per batch norm, N(0, 0.02) (--G_init N02 covers nn.Embedding); the output layer's
  `layers.bn` keeps a plain per-channel gain (1) and bias (0). Here: `ClassConditionalBatchNorm`.
* the critic keeps its projection term out = linear(h) + sum(embed(y) · h) with `embed` an
  `SNEmbedding` [10, 256] (spectral norm of the whole table, eps 1e-8, N(0, 0.02)). Here:
  `ClassProjection`.
* y = 0 for every generator and critic call in training (train_fns.py zeroes the labels; G_D
  asserts gy.sum() == 0): `ClassLabels` feeds y = 0 to every ccbn, and the critic projects on row 0.
  Only row 0 of each table is trained; the generator's rows 1..9 never get a gradient, the
  critic's move only through σ(embed).
`n_classes=0` drops all of this (plain batch norm with a learned per-channel gain and bias, no
projection: the reparameterisation without the unused rows; the default of the builders is 10, as
run; `repro.papers.klwgan.image_recipe` passes n_classes 10 for CIFAR-10 and 0 for the suite's
other image sets, which f-wgan never trained).

Known deviation, the official FID sampler's labels: utils.sample (utils.py:921, called by
sample_inception for the in-training FID) draws y uniformly from 0..9 (`y_.sample_()`) and never
zeroes it, so ~90 % of the official FID images go through ccbn rows 1..9 still at their N(0, 0.02)
initialisation (gain ≈ 1, bias ≈ 0 instead of the trained row 0). The suite's trainer samples with
y = 0 (the trained network). `with_class_labels(generator, "uniform", seed)` returns a copy of a
generator (e.g. the EMA one) that draws y uniformly as the official sampler does; the recipe's
evaluation does not use it (wiring it needs an evaluation option in repro/recipe.py and
Trainer.eval_samples), so FIDs from the suite's KL-WGAN CIFAR-10 runs are of the class-0 generator.
"""
import math

import keras

from repro.models.layers import LeakyReLU
from repro.models.spectral import BIGGAN_EPS, SNConv2D, SNDense, _SpectralNorm

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
                  bias_initializer=torch_bias_init(fan_in), sn_eps=BIGGAN_EPS, name=name)


def _bn(name):
  # BigGAN layers.bn (a learned gain and bias per channel, ones and zeros), eps 1e-5, PyTorch
  # momentum 0.1 = Keras momentum 0.9. Also the unconditional stand-in for ccbn (n_classes=0).
  return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


@keras.saving.register_keras_serializable(package="repro")
class ClassLabels(keras.layers.Layer):
  """The class labels y [B] (int32) for a batch of noise z [B, z_dim]: `label` for every example
  (mode "fixed": BigGAN's unconditional training, y = 0), or drawn uniformly from 0..n_classes-1
  at every call (mode "uniform": BigGAN utils.sample's `y_.sample_()`)."""

  MODES = ("fixed", "uniform")

  def __init__(self, n_classes, mode="fixed", label=0, seed=None, **kwargs):
    super().__init__(**kwargs)
    if mode not in self.MODES:
      raise ValueError(f"mode must be one of {self.MODES}, got {mode!r}")
    self.n_classes, self.mode, self.label, self.seed = int(n_classes), mode, int(label), seed
    self.seed_generator = (keras.random.SeedGenerator(seed, name="labels_seed")
                           if mode == "uniform" else None)

  def call(self, z):
    batch = keras.ops.shape(z)[0]
    if self.mode == "uniform":
      return keras.random.randint((batch,), 0, self.n_classes, dtype="int32",
                                  seed=self.seed_generator)
    return keras.ops.full((batch,), self.label, dtype="int32")

  def compute_output_spec(self, z):
    return keras.KerasTensor((z.shape[0],), dtype="int32")

  def get_config(self):
    return dict(super().get_config(), n_classes=self.n_classes, mode=self.mode, label=self.label,
                seed=self.seed)


@keras.saving.register_keras_serializable(package="repro")
class ClassConditionalBatchNorm(keras.layers.Layer):
  """BigGAN layers.ccbn with `nn.Embedding` gain/bias (G_shared False): inputs [x NHWC, y [B]];
  batch norm without affine parameters (momentum 0.1 in PyTorch's convention = Keras 0.9, eps
  1e-5), then x̂ · (1 + gain[y]) + bias[y]; gain and bias are [n_classes, C] tables, N(0, 0.02)."""

  def __init__(self, n_classes, momentum=0.9, epsilon=1e-5, **kwargs):
    super().__init__(**kwargs)
    self.n_classes, self.momentum, self.epsilon = int(n_classes), momentum, epsilon
    self.norm = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon, center=False,
                                                scale=False, name="norm")

  def build(self, input_shape):
    x_shape = input_shape[0]
    channels = int(x_shape[-1])
    self.norm.build(x_shape)
    self.gain = self.add_weight(shape=(self.n_classes, channels), initializer=_n02(),
                                name="gain")
    self.bias = self.add_weight(shape=(self.n_classes, channels), initializer=_n02(),
                                name="bias")

  def call(self, inputs, training=None):
    x, y = inputs
    out = self.norm(x, training=training)
    gain = keras.ops.take(self.gain, y, axis=0)[:, None, None, :]
    bias = keras.ops.take(self.bias, y, axis=0)[:, None, None, :]
    return out * (1.0 + gain) + bias

  def compute_output_shape(self, input_shape):
    return input_shape[0]

  def get_config(self):
    return dict(super().get_config(), n_classes=self.n_classes, momentum=self.momentum,
                epsilon=self.epsilon)


@keras.saving.register_keras_serializable(package="repro")
class ClassProjection(_SpectralNorm, keras.layers.Layer):
  """BigGAN D's projection term sum(SNEmbedding(y) · h, dim 1) [B, 1] for features h [B, C] and the
  fixed class `label` (y = 0 in unconditional training). The [n_classes, C] table is spectrally
  normalised as a whole (layers.SNEmbedding: the table itself is the [out, in] matrix, u has
  n_classes entries), one power iteration per training call, eps `sn_eps`; N(0, 0.02) init."""

  def __init__(self, n_classes, label=0, sn_seed=None, sn_eps=BIGGAN_EPS, **kwargs):
    super().__init__(**kwargs)
    self.n_classes, self.label = int(n_classes), int(label)
    self._sn_seed, self._sn_eps = sn_seed, sn_eps

  def build(self, input_shape):
    channels = int(input_shape[-1])
    self.embeddings = self.add_weight(shape=(self.n_classes, channels), initializer=_n02(),
                                      name="embeddings")
    self._sn_setup(self.n_classes, channels)

  def _matrix(self, kernel):
    return kernel        # F.embedding(y, W_()) with W the [n_classes, C] table

  def call(self, h, training=False):
    table = self._normalized(self.embeddings, training)
    return keras.ops.sum(h * table[self.label][None, :], axis=1, keepdims=True)

  def compute_output_shape(self, input_shape):
    return (input_shape[0], 1)

  def get_config(self):
    return dict(super().get_config(), n_classes=self.n_classes, label=self.label,
                sn_seed=self._sn_seed, sn_eps=self._sn_eps)


def _g_norm(h, y, n_classes, name):
  """ccbn(h, y) with [n_classes, C] tables, or plain batch norm when n_classes is 0."""
  if not n_classes:
    return _bn(name)(h)
  return ClassConditionalBatchNorm(n_classes, name=name)([h, y])


def _g_block(x, y, filters, n_classes, name):
  """layers.GBlock with upsampling: BN-ReLU-up-conv3-BN-ReLU-conv3 + up-conv1 shortcut (BN: ccbn
  on the labels y, or plain batch norm when n_classes is 0)."""
  in_ch = x.shape[-1]
  h = keras.layers.ReLU()(_g_norm(x, y, n_classes, f"{name}_bn1"))
  h = keras.layers.UpSampling2D(2, interpolation="nearest")(h)   # F.interpolate(scale_factor=2)
  h = _sn_conv(filters, 3, in_ch * 9, f"{name}_conv1")(h)
  h = keras.layers.ReLU()(_g_norm(h, y, n_classes, f"{name}_bn2"))
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


N_CLASSES = 10   # train_C10U.sh --dataset C10: utils.nclass_dict['C10'], although unconditional


def biggan_generator(image_size=32, channels=3, z_dim=128, ch=64, n_classes=N_CLASSES):
  """BigGAN.py Generator; n_classes > 0: ccbn class tables fed y = 0 (`ClassLabels`), 0: plain BN."""
  _check_size(image_size)
  bottom, outs = G_ARCH[image_size]
  width = G_IN[image_size] * ch
  z = keras.Input((z_dim,))
  y = ClassLabels(n_classes, name="class_labels")(z) if n_classes else None
  h = SNDense(width * bottom * bottom, kernel_initializer=_n02(),
              bias_initializer=torch_bias_init(z_dim), sn_eps=BIGGAN_EPS, name="linear")(z)
  h = keras.layers.Reshape((bottom, bottom, width))(h)
  for i, mult in enumerate(outs):
    h = _g_block(h, y, mult * ch, n_classes, f"g_block{i}")
  h = keras.layers.ReLU()(_bn("out_bn")(h))     # output_layer: layers.bn, not class-conditional
  h = _sn_conv(channels, 3, outs[-1] * ch * 9, "out_conv")(h)
  return keras.Model(z, keras.layers.Activation("tanh")(h), name="generator")


def biggan_critic(image_size=32, channels=3, ch=64, n_classes=N_CLASSES):
  """BigGAN.py Discriminator; n_classes > 0 adds the projection on class 0 (`ClassProjection`)."""
  _check_size(image_size)
  outs, downs = D_ARCH[image_size]
  x = inputs = keras.Input((image_size, image_size, channels))
  for i, (mult, down) in enumerate(zip(outs, downs)):
    x = _d_block(x, mult * ch, down, preactivation=i > 0, name=f"d_block{i}")
  x = keras.layers.ReLU()(x)
  h = keras.layers.Lambda(lambda t: keras.ops.sum(t, axis=(1, 2)), name="sum_pool")(x)
  out = SNDense(1, kernel_initializer=_n02(), bias_initializer=torch_bias_init(outs[-1] * ch),
                sn_eps=BIGGAN_EPS, name="linear")(h)
  if n_classes:
    out = keras.layers.Add(name="plus_projection")(
        [out, ClassProjection(n_classes, name="embed")(h)])
  return keras.Model(inputs, out, name="critic")


def with_class_labels(generator, mode="uniform", seed=None, label=0):
  """A copy of a class-table `biggan_generator` (weights and batch-norm statistics copied) whose
  labels are drawn by `mode`: "uniform" (every call draws y from 0..n_classes-1, as BigGAN's
  utils.sample feeds the official FID sampler, utils.py:921) or "fixed" (y = `label`). Sample it
  as the official sampler does: `copy(z, training=True)` (G_ema in train mode, batch statistics);
  see the module docstring."""
  source = generator.get_layer("class_labels")   # ValueError: a generator without class tables

  def clone(layer):
    if layer.name == source.name:
      return ClassLabels(source.n_classes, mode=mode, label=label, seed=seed, name=layer.name)
    return layer.__class__.from_config(layer.get_config())

  copy = keras.models.clone_model(generator, clone_function=clone)
  for layer in generator.layers:
    if layer.weights and layer.name != source.name:
      copy.get_layer(layer.name).set_weights(layer.get_weights())
  return copy


def build_fwgan_mlp(data_shape, z_dim, hidden=(100, 100)):
  """Architecture "fwgan_mlp": f-wgan synthetic/kl_wgan.py's Generator / Discriminator (hidden:
  the widths of the hidden layers of both nets, 100 and 100 as the official code)."""
  from repro.models.checks import vector_dim  # pylint: disable=g-import-not-at-top
  dim = vector_dim("fwgan_mlp", data_shape)
  hidden = tuple(int(h) for h in hidden)
  return fwgan_mlp_generator(z_dim, dim, hidden), fwgan_mlp_critic(dim, hidden)


def build_biggan(data_shape, z_dim, ch=64, n_classes=N_CLASSES):
  """Architecture "biggan_snresnet": BigGAN-PyTorch's SN ResNets (f-wgan image_generation).
  n_classes: the class tables of BigGAN's ccbn and projection, used with y = 0 (10 as
  train_C10U.sh runs; 0 drops them: see the module docstring)."""
  from repro.models.checks import image_shape  # pylint: disable=g-import-not-at-top
  size, channels = image_shape("biggan_snresnet", data_shape)
  if not (isinstance(n_classes, int) and not isinstance(n_classes, bool) and n_classes >= 0):
    from repro.errors import UsageError  # pylint: disable=g-import-not-at-top
    raise UsageError(f"biggan_snresnet: n_classes must be an integer >= 0, got {n_classes!r}")
  return (biggan_generator(size, channels, z_dim, ch, n_classes),
          biggan_critic(size, channels, ch, n_classes))
