"""Comparing the suite's training step with a golden case made by running the official code.

A case is tests/goldens/train_step/<name>.npz (provenance in the README beside it). Test files map
the official variable names to the suite's `Replay.state()` names and call `compare`.
"""

import os
import re

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


def group(golden, prefix, suite_name):
  """{suite name: value} of the golden keys under `prefix/` (suite_name(official) -> name, or None
  for a key the suite has no variable for)."""
  out = {}
  for key, value in golden.items():
    if key.startswith(prefix + "/"):
      name = suite_name(key[len(prefix) + 1:])
      if name is not None:
        out[name] = value
  return out


_TF1_SLOTS = {"Adam": "momentum", "Adam_1": "velocity"}
_TF1_PARAMS = {"w": "kernel", "Matrix": "kernel", "biases": "bias", "bias": "bias"}


def dcgan_tf1_name(official):
  """The Replay.state() name of a DCGAN_FID_batched variable (TTUR, first_order_gan):
  generator|discriminator/<layer>/<param>[/Adam|Adam_1]; None for Adam's beta powers (checked by
  `check_tf1_beta_powers`)."""
  if re.fullmatch(r"beta[12]_power(_1)?", official):
    return None
  m = re.fullmatch(r"(generator|discriminator)/(\w+)/(\w+)(?:/(Adam|Adam_1))?", official)
  assert m, official
  net, layer, param, slot = m.groups()
  param = _TF1_PARAMS.get(param, param)   # gamma, beta, moving_mean, moving_variance stay
  if slot is None:
    return f"{'generator' if net == 'generator' else 'critic'}/{layer}/{param}"
  opt = "g_opt" if net == "generator" else "d_opt"
  return f"{opt}/{opt}/{layer}_{param}_{_TF1_SLOTS[slot]}"


def check_tf1_beta_powers(state, golden, prefix, beta1, beta2):
  """tf.compat.v1 Adam's beta powers are beta^(t + 1) after t updates (the critic's optimizer was
  built first: beta1_power; the generator's: beta1_power_1): the suite's update counts agree. TF1
  multiplies them by beta in float32 at every update, which drifts from the exact power (2.7e-6
  relative for 0.9^101), so the expected value is that float32 product."""
  for opt, suffix in (("d_opt", ""), ("g_opt", "_1")):
    t = int(state[f"{opt}/{opt}/iteration"])
    for name, beta in (("beta1_power", beta1), ("beta2_power", beta2)):
      power = np.float32(beta)
      for _ in range(t):
        power = np.float32(power * np.float32(beta))
      np.testing.assert_allclose(golden[f"{prefix}/{name}{suffix}"], power, rtol=1e-6)


# ---- multi-step goldens (<case>_multistep.npz: step<s>/ states after suite step s) -----------------

def stored_steps(golden):
  """The suite steps a multi-step golden stores a state for (keys `step<s>/...`), ascending."""
  return sorted({int(m.group(1)) for m in (re.match(r"step(\d+)/", k) for k in golden) if m})


def replay_steps(replay, steps, step_inputs, after_step=None):
  """Drives `replay` through suite steps 1..max(steps): `step_inputs(s)` gives the keyword
  arguments of `Replay.generator_step` for step s (its given reals, noise, uniforms, n_critic).
  `after_step(s, replay)`, if given, runs after every step (e.g. to record a trajectory).
  Returns {s: (replay.state(), terms of step s)} for s in `steps`."""
  out = {}
  for s in range(1, max(steps) + 1):
    terms = replay.generator_step(**step_inputs(s))
    if after_step is not None:
      after_step(s, replay)
    if s in steps:
      out[s] = (replay.state(), terms)
  return out


def bound_at(bounds, step):
  """The tolerance of a stored step from a {step: bound} table (the bound of the largest listed
  step not above it)."""
  return bounds[max(s for s in bounds if s <= step)]


def bias_share(trajectory, passes, decay=0.9):
  """What a batch norm's moving mean holds of the bias before it: each training-mode pass adds
  (1 - decay) times the batch mean, and the batch mean contains the bias b as it was in that pass.
  trajectory[t]: the bias after iteration t (t = 0: initial); passes: per iteration, the number
  of passes that saw the old bias (before the iteration's update) and the new one (after), in
  that order. Returns sum_p (1 - decay) decay^(later passes) b(p) over every pass, oldest first."""
  share = np.zeros_like(np.asarray(trajectory[0], np.float64))
  for t in range(1, len(trajectory)):
    old, new = passes
    for b, n in ((trajectory[t - 1], old), (trajectory[t], new)):
      for _ in range(n):
        share = decay * share + (1.0 - decay) * np.asarray(b, np.float64)
  return share
