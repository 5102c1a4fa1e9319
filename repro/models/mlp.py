"""MLPs for 2-D data (gan_toy.py: 3 hidden ReLU layers of 512 for both G and D, noise dim 2)."""

import re

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


# gan_toy.py's tflib names: [<group>/][<scope>/]<Net>.<i>[.Linear].<W|b>[/<optimizer slot>];
# Linear layers 1-3 are the hidden ReLU layers, 4 the output.
_GAN_TOY_NAME = re.compile(r"(?:^|/)(Generator|Discriminator)\.([1-4])(?:\.Linear)?\.([Wb])(/\w+)?$")


def gan_toy_name(official):
  """The suite variable name (`generator/dense_0/kernel`, ...) of a gan_toy.py network variable;
  None for anything else (optimizer slots, beta powers, a golden's inputs)."""
  m = _GAN_TOY_NAME.search(official)
  if m is None or m.group(4):
    return None
  net, index, param, _ = m.groups()
  layer = "out" if index == "4" else f"dense_{int(index) - 1}"
  side = "generator" if net == "Generator" else "critic"
  return f"{side}/{layer}/{'kernel' if param == 'W' else 'bias'}"


def from_gan_toy_names(values):
  """{suite name: array} of the network variables among {gan_toy.py name: array} (e.g. a golden's
  arrays, whose names carry a group prefix such as `init/`; other arrays are left out). When
  several groups hold the same variable, the `init/` one is taken; other duplicates are a
  UsageError."""
  from repro.errors import UsageError  # pylint: disable=g-import-not-at-top
  candidates = {}
  for key in values:
    name = gan_toy_name(key)
    if name is not None:
      candidates.setdefault(name, []).append(key)
  out = {}
  for name, keys in candidates.items():
    if len(keys) > 1:
      keys = [k for k in keys if k.startswith("init/")]
      if len(keys) != 1:
        raise UsageError(f"--init_from: {', '.join(candidates[name])} are all {name}; keep one "
                         f"group (or name the initial one init/)")
    out[name] = values[keys[0]]
  return out
