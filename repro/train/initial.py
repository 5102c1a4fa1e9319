"""Initial weights from a file (`recipe.init_from`, `--init_from=PATH.npz`).

Format: a numpy .npz of {suite variable name: array} holding every variable of both networks, the name
being the network ("generator" or "critic") and the variable's Keras path, e.g.
`generator/dense_0/kernel`, `critic/out/bias` (the names `repro.train.replay.Replay.state()` uses);
`save(path, generator, critic)` writes one. A file with other names is read through the
architecture's official-name mapping when it has one (`OFFICIAL_NAMES`): for "mlp", gan_toy.py's
tflib names such as `Generator.1.Linear.W`, also under a group prefix as in the goldens
(`init/Generator.1.Linear/Generator.1.Linear.W`); names without a suite counterpart (optimizer
slots, Adam's beta powers) are ignored there.
"""

import importlib
import os

import numpy as np

from repro.errors import DataUnavailableError, UsageError

# architecture -> "module:function" turning {official name: array} into {suite name: array}.
OFFICIAL_NAMES = {"mlp": "repro.models.mlp:from_gan_toy_names"}


def network_variables(generator, critic):
  """{suite name: variable} of both networks."""
  out = {}
  for group, net in (("generator", generator), ("critic", critic)):
    for v in net.variables:
      out[f"{group}/{v.path}"] = v
  return out


def save(path, generator, critic):
  """Writes both networks' variables in this module's format."""
  np.savez(path, **{k: np.asarray(v.numpy()) for k, v in
                    network_variables(generator, critic).items()})


def read(path):
  """{name: array} of an .npz file (DataUnavailableError when it is missing, UsageError when it
  is not an .npz)."""
  if not os.path.isfile(path):
    raise DataUnavailableError(f"--init_from {path}: no such file")
  try:
    with np.load(path, allow_pickle=False) as f:
      return {k: np.asarray(f[k]) for k in f.files}
  except (OSError, ValueError) as e:
    raise UsageError(f"--init_from {path} is not a readable .npz of arrays: {e}") from None


def suite_values(values, arch):
  """{suite name: array} of a file's arrays: as they are when every name is a suite name, else
  mapped from the architecture's official names."""
  if all(k.startswith(("generator/", "critic/")) for k in values):
    return dict(values)
  if arch in OFFICIAL_NAMES:
    module, function = OFFICIAL_NAMES[arch].split(":")
    return getattr(importlib.import_module(module), function)(values)
  first = next(k for k in values if not k.startswith(("generator/", "critic/")))
  raise UsageError(f"--init_from: {first!r} is not a suite variable name (generator/... or "
                   f"critic/...) and architecture {arch} has no official-name mapping (only "
                   f"{', '.join(OFFICIAL_NAMES)})")


def assign(generator, critic, values, source="--init_from"):
  """Sets every variable of both networks from {suite name: array}; each must be given, with its
  shape, and no other name."""
  variables = network_variables(generator, critic)
  missing = sorted(set(variables) - set(values))
  unknown = sorted(set(values) - set(variables))
  if missing or unknown:
    what = (f"lacks {missing[0]}" + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
            if missing else f"has {unknown[0]}, which the networks do not")
    raise UsageError(f"{source} {what}; it must hold exactly the networks' variables "
                     f"({', '.join(sorted(variables)[:4])}, ...)")
  for name, v in variables.items():
    value = np.asarray(values[name])
    if tuple(value.shape) != tuple(v.shape):
      raise UsageError(f"{source}: {name} has shape {value.shape}, the network's is "
                       f"{tuple(v.shape)}")
    v.assign(value.astype(np.dtype(v.dtype)))


def load_into(path, arch, generator, critic):
  """`assign` of the file at `path` (read through `suite_values`)."""
  assign(generator, critic, suite_values(read(path), arch), source=f"--init_from {path}")
