"""Critic-side networks of the regularized-OT GAN (Sanjabi et al. 2018): the paper publishes no code
and its architectures are not in any source we have, so these reuse the suite's DCGAN / MLP bodies.

* `dual_potentials(phi, psi)`: one Keras model [x, y] -> [φ(x), ψ(y)] holding both potential
  networks (the trainer optimises them together as "the critic"). Each potential is built under
  its own name scope (`_scoped`), so its variables have distinct paths ("phi/dense_0/kernel",
  "psi/dense_0/kernel"): the two bodies share layer names, and without the scope their paths
  collided (one name for two variables in any by-path view of the state).
* `feature_critic(body, dim)`: a body network with a linear head to `dim` features, for mini-batch
  Sinkhorn in a learned feature space (features are L2-normalised by the objective).
* `no_critic(shape)`: a weightless stand-in for objectives without an adversary (pixel Sinkhorn).
"""

import keras

from repro.models import layers
from repro.models.dcgan import dcgan_critic
from repro.models.mlp import mlp


def dual_potentials(phi, psi, shape):
  x, y = keras.Input(shape, name="real"), keras.Input(shape, name="fake")
  return keras.Model([x, y], [phi(x), psi(y)], name="dual_potentials")


def feature_critic(body, dim, init="dcgan"):
  """`body` minus its scalar output layer, then Dense(dim)."""
  hidden = body.layers[-2].output
  out = layers.dense(dim, init, output=True, name="features")(hidden)
  return keras.Model(body.input, out, name="feature_critic")


def no_critic(shape):
  x = keras.Input(shape)
  return keras.Model(x, keras.layers.Identity()(x), name="no_critic")


def _scoped(name, build):
  """build() under the Keras name scope `name`: the variables' paths start with "name/"."""
  with keras.name_scope(name):
    return build()


def image_critics(kind, image_size, channels, width, kernel_size, feature_dim=0):
  """kind: "dual" (two DCGAN critics as φ, ψ), "feature" (a DCGAN body with `feature_dim` outputs)
  or "none"."""
  shape = (image_size, image_size, channels)
  if kind == "dual":
    make = lambda name: _scoped(name, lambda: keras.Model(
        *_io(dcgan_critic(image_size, channels, width, "none", kernel_size)), name=name))
    return dual_potentials(make("phi"), make("psi"), shape)
  if kind == "feature":
    return feature_critic(dcgan_critic(image_size, channels, width, "none", kernel_size),
                          feature_dim)
  return no_critic(shape)


def point_critics(kind, data_dim, hidden, feature_dim=0):
  """The same for vector data with gan_toy.py-style ReLU MLPs."""
  if kind == "dual":
    make = lambda name: _scoped(name, lambda: mlp(data_dim, 1, hidden, name=name))
    return dual_potentials(make("phi"), make("psi"), (data_dim,))
  if kind == "feature":
    return feature_critic(mlp(data_dim, 1, hidden), feature_dim, init="keras")
  return no_critic((data_dim,))


def _io(model):
  return model.input, model.output


def build_mlp(data_shape, z_dim, hidden=(512, 512, 512), critic="dual", feature_dim=0):
  """Architecture "sinkhorn_mlp": gan_toy.py's generator, the critic side of `critic` kind."""
  from repro.models.checks import vector_dim  # pylint: disable=g-import-not-at-top
  from repro.models.mlp import mlp_generator  # pylint: disable=g-import-not-at-top
  dim = vector_dim("sinkhorn_mlp", data_shape)
  return (mlp_generator(z_dim, dim, tuple(hidden)),
          point_critics(critic, dim, tuple(hidden), feature_dim))


def build_dcgan(data_shape, z_dim, width=64, g_norm="none", kernel_size=5, critic="dual",
                feature_dim=0):
  """Architecture "sinkhorn_dcgan": the WGAN-GP DCGAN generator, the critic side of `critic` kind."""
  from repro.models.checks import image_shape  # pylint: disable=g-import-not-at-top
  from repro.models.dcgan import dcgan_generator  # pylint: disable=g-import-not-at-top
  size, channels = image_shape("sinkhorn_dcgan", data_shape)
  return (dcgan_generator(size, channels, z_dim, width, g_norm, kernel_size),
          image_critics(critic, size, channels, width, kernel_size, feature_dim))
