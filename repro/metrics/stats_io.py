"""Statistics files: ``.npz`` archives with keys ``mu`` [d] and ``sigma`` [d, d].

This is the layout of TTUR's pre-computed ``fid_stats_*.npz`` files (``fid.py`` ``_handle_path``
reads ``f['mu'], f['sigma']``), so those files load as they are. Files written here may carry two
optional extra keys, both plain (non-object) arrays so no pickle is ever involved:

  count     int64 scalar, the number of samples behind the statistics
  protocol  unicode scalar holding a JSON object (extractor, quantisation, source, ...)
"""

import json
import os
import zipfile

import numpy as np

from repro import fileio
from repro.errors import DataUnavailableError, UsageError


def save_statistics(path, mu, sigma, count=None, protocol=None):
  """Writes mu/sigma (float64) and optional count/protocol to `path` (exactly that name)."""
  mu = np.asarray(mu, dtype=np.float64)
  sigma = np.asarray(sigma, dtype=np.float64)
  _check_shapes(path, mu, sigma)
  arrays = {"mu": mu, "sigma": sigma}
  if count is not None:
    arrays["count"] = np.asarray(int(count), dtype=np.int64)
  if protocol is not None:
    arrays["protocol"] = np.asarray(json.dumps(protocol, sort_keys=True))
  path = os.fspath(path)
  with fileio.atomic_output(path, binary=True, suffix=".npz.tmp") as f:
    np.savez(f, **arrays)
  return path


def load_statistics(path):
  """Returns (mu [d], sigma [d, d]) float64 from a statistics ``.npz``.

  DataUnavailableError if the file does not exist; UsageError (one line, naming the file) if it is
  not a readable ``.npz``, lacks ``mu``/``sigma``, holds object arrays, or has inconsistent shapes.
  """
  info = read_statistics_file(path)
  return info["mu"], info["sigma"]


def read_statistics_file(path):
  """Returns dict(mu, sigma, count or None, protocol dict or None) from a statistics ``.npz``."""
  path = os.fspath(path)
  if not os.path.exists(path):
    raise DataUnavailableError(f"statistics file {path} not found: compute it with "
                               f"`python -m repro.metrics.fid IMAGE_DIR --save_stats={path}`")
  if os.path.isdir(path):
    raise UsageError(f"statistics file {path} is a directory, expected an .npz file")
  try:
    data = np.load(path, allow_pickle=False)
  except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
    raise UsageError(f"cannot read statistics file {path}: {_one_line(e)}") from None
  if not isinstance(data, np.lib.npyio.NpzFile):
    raise UsageError(f"{path} holds a single .npy array, expected an .npz with keys mu and sigma")
  try:
    with data:
      keys = set(data.files)
      missing = [k for k in ("mu", "sigma") if k not in keys]
      if missing:
        raise UsageError(f"statistics file {path} lacks key(s) {', '.join(missing)} "
                         f"(has {sorted(keys)}): expected an .npz with keys mu and sigma")
      mu = data["mu"]
      sigma = data["sigma"]
      count = data["count"] if "count" in keys else None
      protocol = data["protocol"] if "protocol" in keys else None
  except UsageError:
    raise
  except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
    raise UsageError(f"cannot read statistics file {path}: {_one_line(e)}") from None
  for key, arr in (("mu", mu), ("sigma", sigma)):
    if arr.dtype.kind not in "fiu":
      raise UsageError(f"statistics file {path}: {key} has dtype {arr.dtype}, expected numbers")
  mu = mu.astype(np.float64)
  sigma = sigma.astype(np.float64)
  _check_shapes(path, mu, sigma)
  if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
    raise UsageError(f"statistics file {path} contains NaN or Inf values: recompute it")
  if count is not None:
    count = int(count)
  if protocol is not None:
    try:
      protocol = json.loads(str(protocol))
    except ValueError:
      protocol = {"note": str(protocol)}
  return {"mu": mu, "sigma": sigma, "count": count, "protocol": protocol}


def _check_shapes(path, mu, sigma):
  if mu.ndim != 1:
    raise UsageError(f"statistics {path}: mu must be 1-D [d], got shape {mu.shape}")
  if sigma.shape != (mu.shape[0], mu.shape[0]):
    raise UsageError(f"statistics {path}: sigma must be [d, d] = {(mu.shape[0],) * 2} to match "
                     f"mu, got shape {sigma.shape}")


def _one_line(e):
  return " ".join(str(e).split()) or type(e).__name__

