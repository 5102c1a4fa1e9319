"""The 1-D convolutional ResNets of the character-level language GANs.

improved_wgan_training `gan_language.py` (= TTUR `WGAN_GP/gan_language_JSD.py`; FOGAN's
`WGAN_GP/gan_language_JSD.py` adds optional batch norm; Coulomb GAN `tensorflow/models.py`
`billion_word_generator` / `billion_word_discriminator`):

  Generator:  z [128] -> Linear(SEQ_LEN*DIM) -> reshape [DIM, SEQ_LEN] (channels first)
              -> 5 x ResBlock -> Conv1D(vocab, 1) -> softmax over the vocabulary per position.
  Critic:     one-hot [SEQ_LEN, vocab] -> Conv1D(DIM, 1) -> 5 x ResBlock -> flatten -> Linear(1).
  ResBlock:   x + 0.3 * Conv1D(DIM, 5)(relu(Conv1D(DIM, 5)(relu(x)))), 'same' padding.

DIM is 512 in every paper (`width` here, so tests and CPU runs can use tiny nets). Layout: the
official code is channels-first ([batch, DIM, SEQ_LEN]); Keras here runs channels-last and keeps the
official reshape/flatten orders with explicit transposes, so a unit of the Linear layer maps to the
same (channel, position) as in the official graph.

Normalisation of the generator (`g_norm`):
  "none"   gan_language.py / TTUR gan_language_JSD.py (no normalisation);
  "batch"  FOGAN gan_language_JSD.py with --batch_norm_g (run_fogan.sh, run_ttur.sh): batch norm
           (tf.contrib.layers.batch_norm, scale=False, decay 0.9, epsilon 1e-5) on the noise
           (g_bn0), after the Linear layer (g_bn1) and after every convolution of the blocks (there
           per sequence position, see `_block`);
  "coulomb" Coulomb models.py billion_word_generator: batch norm (scale=False) after the Linear
           layer with tf.layers defaults (momentum 0.99, epsilon 1e-3) and after every convolution
           of the blocks (momentum 0.9, epsilon 1e-5).
Initialisers (`init`): "tflib" (improved_wgan_training tflib: Conv1D he_init, i.e. uniform with
variance 4 / (fan_in + fan_out); Linear 'glorot' uniform) or "glorot" (tf.layers defaults, Coulomb).
`l2` (Coulomb --l2_penalty): an L2 penalty on the blocks' convolution kernels, as models.py
ResBlock1d puts its regularizer only there (tf.contrib l2_regularizer(s) = s * sum(w^2) / 2).
"""

import keras

from repro.errors import UsageError

G_NORMS = ("none", "batch", "coulomb")
INITS = ("tflib", "glorot")
N_BLOCKS = 5        # gan_language.py: Generator.1-5, Discriminator.1-5
RESIDUAL = 0.3      # gan_language.py ResBlock: inputs + (0.3 * output)
KERNEL = 5          # gan_language.py ResBlock: Conv1D(..., DIM, DIM, 5, ...)


def _conv_init(init):
  if init == "tflib":   # tflib/ops/conv1d.py he_init: stdev sqrt(4 / (fan_in + fan_out)), uniform
    return keras.initializers.VarianceScaling(2.0, "fan_avg", "uniform")
  return keras.initializers.GlorotUniform()


def _check(width, seq_len, vocab, g_norm="none", init="tflib"):
  if g_norm not in G_NORMS:
    raise UsageError(f"language g_norm must be one of {', '.join(G_NORMS)}, got {g_norm!r}")
  if init not in INITS:
    raise UsageError(f"language init must be one of {', '.join(INITS)}, got {init!r}")
  if width < 1 or seq_len < 1 or vocab < 2:
    raise UsageError(f"language nets need width >= 1, seq_len >= 1, vocab >= 2; got {width}, "
                     f"{seq_len}, {vocab}")


def _bn(momentum=0.9, epsilon=1e-5, axis=-1, name=None):
  return keras.layers.BatchNormalization(axis=axis, momentum=momentum, epsilon=epsilon, scale=False,
                                         name=name)


def _block(x, width, name, init, norm, l2):
  reg = keras.regularizers.L2(l2 / 2.0) if l2 else None   # tf.contrib l2_regularizer: s * sum(w^2) / 2
  h = x
  for i in (1, 2):
    h = keras.layers.ReLU()(h)
    h = keras.layers.Conv1D(width, KERNEL, padding="same", kernel_initializer=_conv_init(init),
                            kernel_regularizer=reg, name=f"{name}.{i}")(h)
    if norm:
      # Both official codes batch-normalise the channels-first [batch, DIM, SEQ_LEN] tensor over
      # its *last* axis (tf.contrib.layers.batch_norm's default NHWC, tf.layers'
      # axis=-1): one mean/variance per sequence position, over batch and channels. Here that is
      # axis 1 of [batch, SEQ_LEN, DIM].
      h = _bn(axis=1, name=f"{name}.bn{i}")(h)
  return keras.layers.Add()([x, keras.layers.Rescaling(RESIDUAL)(h)])


def language_generator(seq_len, vocab, z_dim=128, width=512, g_norm="none", init="tflib", l2=0.0):
  """z [z_dim] -> per-position softmax [seq_len, vocab]."""
  _check(width, seq_len, vocab, g_norm, init)
  z = keras.Input((z_dim,), name="z")
  h = z
  if g_norm == "batch":      # FOGAN gan_language_JSD.py: output = g_bn0(make_noise(...))
    h = _bn(name="g_bn0")(h)
  # tflib Linear initialization=None -> 'glorot' uniform, as tf.layers.dense (Coulomb).
  h = keras.layers.Dense(seq_len * width, kernel_initializer="glorot_uniform",
                         name="Generator.Input")(h)
  if g_norm == "batch":
    h = _bn(name="g_bn1")(h)
  elif g_norm == "coulomb":  # tf.layers.batch_normalization defaults: momentum 0.99, epsilon 1e-3
    h = _bn(momentum=0.99, epsilon=1e-3, name="Generator.Input.bn")(h)
  # tf.reshape(output, [-1, DIM, SEQ_LEN]) (channels first), then channels last for Keras.
  h = keras.layers.Reshape((width, seq_len))(h)
  h = keras.layers.Permute((2, 1))(h)
  for b in range(1, N_BLOCKS + 1):
    h = _block(h, width, f"Generator.{b}", init, g_norm != "none", l2)
  h = keras.layers.Conv1D(vocab, 1, kernel_initializer=_conv_init(init), name="Generator.Output")(h)
  out = keras.layers.Softmax(axis=-1, name="softmax")(h)
  return keras.Model(z, out, name="language_generator")


def language_critic(seq_len, vocab, width=512, init="tflib", l2=0.0):
  """One-hot (or softmax) characters [seq_len, vocab] -> one score."""
  _check(width, seq_len, vocab, "none", init)
  x = keras.Input((seq_len, vocab), name="text")
  h = keras.layers.Conv1D(width, 1, kernel_initializer=_conv_init(init),
                          name="Discriminator.Input")(x)
  for b in range(1, N_BLOCKS + 1):
    h = _block(h, width, f"Discriminator.{b}", init, False, l2)
  # tf.reshape(output, [-1, SEQ_LEN * DIM]) of the channels-first tensor.
  h = keras.layers.Permute((2, 1))(h)
  h = keras.layers.Flatten()(h)
  out = keras.layers.Dense(1, kernel_initializer="glorot_uniform", name="Discriminator.Output")(h)
  return keras.Model(x, out, name="language_critic")


def build(data_shape, z_dim, width=512, g_norm="none", init="tflib", l2=0.0, g_l2=None):
  """Architecture "language": data_shape = (length, vocabulary)."""
  from repro.errors import UsageError  # pylint: disable=g-import-not-at-top
  if len(data_shape) != 2:
    raise UsageError(f"the language models take one-hot text [length, vocabulary], got examples "
                     f"of shape {data_shape}")
  seq_len, vocab = data_shape
  return (language_generator(seq_len, vocab, z_dim, width, g_norm, init,
                             l2 if g_l2 is None else g_l2),
          language_critic(seq_len, vocab, width, init, l2))
