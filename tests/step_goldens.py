"""Comparing the suite's training step with a golden case made by running the official code.

A case is tests/goldens/train_step/<name>.npz (provenance in the README beside it). Test files map
the official variable names to the suite's `Replay.state()` names and call `compare`.
"""

import os

import numpy as np

GOLDENS = os.path.join(os.path.dirname(__file__), "goldens", "train_step")
RTOL = 1e-5


def load(name):
  """{key: array} of tests/goldens/train_step/<name>.npz."""
  with np.load(os.path.join(GOLDENS, name + ".npz")) as f:
    return {k: f[k] for k in f.files}


def relative_difference(actual, expected):
  """max |actual - expected| / max |expected| over one tensor (0 when both are all zero)."""
  actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
  if actual.shape != expected.shape:
    raise AssertionError(f"shape {actual.shape} != golden {expected.shape}")
  scale = np.max(np.abs(expected)) if expected.size else 0.0
  diff = np.max(np.abs(actual - expected)) if expected.size else 0.0
  return float(diff / scale) if scale > 0 else float(diff)


def compare(actual, expected, rtol=RTOL, loose=None):
  """Checks every golden tensor against the suite's: `expected` is {suite name: golden array},
  `actual` the suite's state (every name must be there). loose: {suite name: (rtol, reason)} for a
  bound written next to its reason. Returns (max relative, max absolute) difference."""
  loose = loose or {}
  failures, worst_rel, worst_abs = [], 0.0, 0.0
  for name, want in expected.items():
    if name not in actual:
      raise AssertionError(f"the suite has no variable {name!r}; it has {sorted(actual)}")
    rel = relative_difference(actual[name], want)
    bound = loose.get(name, (rtol, ""))[0]
    worst_rel = max(worst_rel, rel)
    worst_abs = max(worst_abs, float(np.max(np.abs(np.asarray(actual[name], np.float64) -
                                                   np.asarray(want, np.float64)), initial=0.0)))
    if not rel <= bound:
      failures.append(f"{name}: relative difference {rel:.3g} > {bound:g}")
  assert not failures, "\n".join(failures)
  return worst_rel, worst_abs
