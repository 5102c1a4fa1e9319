"""Comparing the suite's training step with a golden case made by running the official code.

A case is tests/goldens/train_step/<name>.npz (provenance in the README beside it). Test files map
the official variable names to the suite's `Replay.state()` names and call `compare`.
"""

import json
import os
import re

import numpy as np

GOLDENS = os.path.join(os.path.dirname(__file__), "goldens", "train_step")
# Every bound of a golden test is at least MARGIN times the largest value its check took over the
# configurations of tests/goldens/train_step/README.md ("Spread": two processors, oneDNN on and off,
# 1 and 2 intra-op threads, and the official code re-run in those configurations against the golden);
# `make golden-spread` measures it again.
MARGIN = 5
# Largest relative difference seen on a tensor compared at RTOL: 9.0e-6 (Coulomb's layer0 bias after
# two joint updates, AMD EPYC, every configuration); MARGIN x 9.0e-6 = 4.5e-5, rounded up.
RTOL = 5e-5
# Where the measured values go when set (tests/golden_spread.py reads the file).
LOG_ENV = "REPRO_GOLDEN_LOG"
# tf.compat.v1's AdamOptimizer forms 1 - beta2 in float32 (1 - float32(0.999) = 9.9998713e-4), Keras'
# Adam from the Python float (float32(1e-3)): plain Keras Adam's velocities are this much larger.
KERAS_ADAM_VELOCITY_OFFSET = (float(np.float32(1 - 0.999)) /
                              float(np.float32(1) - np.float32(0.999)) - 1)   # 1.2922e-5
# How far a velocity's median offset between the two kinds, computed in one process, may lie from
# KERAS_ADAM_VELOCITY_OFFSET: largest seen 6.1e-8 (Coulomb's generator output bias); 5e-7 is 8x that
# and 26x below the offset itself.
OFFSET_TOLERANCE = 5e-7

def _record(what, measured, bound):
  path = os.environ.get(LOG_ENV)
  if not path:
    return
  test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" (", 1)[0]
  with open(path, "a") as f:
    f.write(json.dumps({"test": test, "check": what, "measured": float(measured),
                        "bound": float(bound)}) + "\n")


def check(what, measured, bound):
  """Asserts measured <= bound; with $REPRO_GOLDEN_LOG set, also appends the pair to that file
  (the spread over configurations is tabulated from it)."""
  _record(what, measured, bound)
  assert measured <= bound, f"{what}: {measured:.3g} > {bound:.3g}"


def check_close(what, actual, expected, rtol=RTOL):
  """`check` of relative_difference(actual, expected) against rtol."""
  check(what, relative_difference(actual, expected), rtol)


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
    _record(name, rel, bound)
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
      check_close(f"{prefix}/{name}{suffix}", golden[f"{prefix}/{name}{suffix}"], power, rtol=1e-6)


def velocity_offsets(state, reference, names):
  """{name: median over elements of state[name] / reference[name] - 1} for velocity slots computed
  in one process from the same inputs (elements where the reference is 0 are left out)."""
  out = {}
  for name in names:
    a, b = np.asarray(state[name], np.float64), np.asarray(reference[name], np.float64)
    keep = b > 0
    out[name] = float(np.median(a[keep] / b[keep] - 1.0))
  return out


def check_keras_adam_offset(keras_state, tf1_state, velocities, others):
  """The negative control of every adam_tf1 recipe: two replays of one step in one process, plain
  Keras "adam" against "adam_tf1". Each velocity's median offset is KERAS_ADAM_VELOCITY_OFFSET
  within OFFSET_TOLERANCE, and none of the `others` moves by more than RTOL."""
  for name, offset in velocity_offsets(keras_state, tf1_state, velocities).items():
    check(f"{name} offset - {KERAS_ADAM_VELOCITY_OFFSET:.4g}",
          abs(offset - KERAS_ADAM_VELOCITY_OFFSET), OFFSET_TOLERANCE)
  for name in others:
    check_close(f"{name} (adam vs adam_tf1)", keras_state[name], tf1_state[name])


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
