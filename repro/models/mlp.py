"""MLPs for 2-D data (gan_toy.py: 3 hidden ReLU layers of 512 for both G and D, noise dim 2)."""

import keras

from repro.models import layers


def mlp(input_dim, output_dim, hidden=(512, 512, 512), init="keras", name="mlp"):
  x = inputs = keras.Input((input_dim,))
  for i, units in enumerate(hidden):
    x = keras.layers.ReLU()(layers.dense(units, init, name=f"dense_{i}")(x))
  outputs = layers.dense(output_dim, init, output=True, name="out")(x)
  return keras.Model(inputs, outputs, name=name)


def mlp_generator(z_dim=2, data_dim=2, hidden=(512, 512, 512), init="keras"):
  return mlp(z_dim, data_dim, hidden, init, name="generator")


def mlp_critic(data_dim=2, hidden=(512, 512, 512), init="keras"):
  return mlp(data_dim, 1, hidden, init, name="critic")


def build(data_shape, z_dim, hidden=(512, 512, 512), init="keras"):
  """Architecture "mlp": gan_toy.py's ReLU MLPs for vector data. init "he" is gan_toy.py's exactly
  (tflib Linear 'he' on the hidden layers = Keras He-uniform, the default Glorot-uniform on the
  outputs); "keras": Glorot-uniform everywhere."""
  from repro.models.checks import vector_dim  # pylint: disable=g-import-not-at-top
  dim = vector_dim("mlp", data_shape)
  return (mlp_generator(z_dim, dim, tuple(hidden), init), mlp_critic(dim, tuple(hidden), init))
