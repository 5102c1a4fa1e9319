"""Twenty consecutive TTUR DCGAN iterations against the official code's (issue 27, item 2).

Golden: tests/goldens/train_step/ttur_multistep.npz, made by running bioinf-jku/TTUR@73ab375
DCGAN_FID_batched/model.py train() for 20 iterations from the one-step golden's initial weights
(ttur.npz's init/; 32 px, widths 4, z 8, batch 4, lr_d 1e-5, lr_g 5e-4, non-fused batch norm) with
fixed 8-bit images and batch_z; provenance and keys in README_ttur_multistep.md. To stay small it
stores the weights and moving statistics after iteration 5 and everything (with both networks'
Adam slots) after iteration 20. Each iteration is d_optim, g_optim on the
same batch_z and the loss printing's three training-mode evaluations, so the steps cover both Adam
states at two learning rates and every batch norm's moving statistics over 120 (D) and 80 (G)
training-mode passes.

The pre-batch-norm biases (exact gradient 0, rounding noise that Adam turns into steps of up to lr)
take different paths in the two codes; the moving mean after each of them holds its history. The
test takes each code's own bias history out of its moving means (`step_goldens.bias_share`) and
checks the biases by what is certain in both codes (as tests/test_official_step_ttur.py does).
"""

import numpy as np
import pytest

from tests import step_goldens
from tests.test_official_step_ttur import BATCH, BN_OF_BIAS, LR, PRE_BN_BIASES, _replay, _slot, suite_name

CASE = "ttur_multistep"
STEPS = (5, 20)
# Training-mode passes per iteration that saw each network's pre-BN biases before and after the
# iteration's update: D runs twice in d_optim, then in g_optim and the three evaluations; G in
# d_optim and g_optim, then in the d_loss_fake and g_loss evaluations.
PASSES = {"d_opt": (2, 4), "g_opt": (2, 2)}
# Relative bound per stored step. Measured on AMD EPYC (README_ttur_multistep.md), suite vs golden
# at steps 1, 2, 5, 10, 20: 4.7e-6, 4.8e-6, 5.2e-6, 4.8e-6, 7.9e-6; the official code against
# itself over oneDNN on/off x 1/2 threads: <= 5.3e-6 (steps 1-10), 5.5e-6 (20). The leaders are
# kernels and moments with near-zero gradient entries, which Adam's m / (sqrt(v) + eps) makes
# sensitive to rounding. Bounds: 5x the larger measurement.
BOUNDS = {1: 3e-5, 20: 4e-5}


def _real(golden, i):
  """The real batch of iteration i + 1: official get_image/transform of 8-bit pixels (x / 127.5 - 1
  in float64, then float32 as train() builds batch_images)."""
  return (golden[f"pixels/{i}"].astype(np.float64) / 127.5 - 1.0).astype(np.float32)


def _inputs(golden, s):
  zeros = np.zeros([BATCH], np.float32)
  return dict(reals=[_real(golden, s - 1)], noise=[golden[f"noise/{s - 1}"]],
              uniforms=[zeros, zeros])


def _official_trajectory(golden, bias, k):
  """The official values of the suite's pre-BN `bias` after iterations 0..k."""
  by_suite_name = {suite_name(key.split("/", 2)[2]): key.split("/", 2)[2]
                   for key in golden if key.startswith("bias_traj/0/")}
  return [golden[f"bias_traj/{t}/{by_suite_name[bias]}"] for t in range(k + 1)]


def _without_bias_history(values, trajectories, k):
  """values with each BN_OF_BIAS moving mean less its bias's share (`step_goldens.bias_share`)."""
  out = dict(values)
  for mean, bias in BN_OF_BIAS.items():
    out[mean] = values[mean] - step_goldens.bias_share(trajectories[bias][:k + 1],
                                                       PASSES[PRE_BN_BIASES[bias]])
  return out


def _check_pre_bn_biases(values, init, k):
  for bias, opt in PRE_BN_BIASES.items():
    assert np.max(np.abs(values[bias] - init[bias])) <= k * LR[opt] * (1 + 1e-4), bias
    for kind, ratio in (("momentum", 1e-3), ("velocity", 1e-6)):
      own, kernel = _slot(bias, kind)
      if own not in values:   # a stored step without Adam slots
        continue
      assert np.max(np.abs(values[own])) <= ratio * np.max(np.abs(values[kernel])), own


@pytest.fixture(scope="module")
def golden():
  golden = step_goldens.load(CASE)
  golden.update({k: v for k, v in step_goldens.load("ttur").items() if k.startswith("init/")})
  return golden


@pytest.fixture(scope="module")
def run(golden):
  replay = _replay(golden)
  trajectory = {b: [replay.state()[b]] for b in PRE_BN_BIASES}

  def record(s, replay):
    state = replay.state()
    for b in PRE_BN_BIASES:
      trajectory[b].append(state[b])

  return step_goldens.replay_steps(replay, STEPS, lambda s: _inputs(golden, s), record), trajectory


def test_golden_holds_every_step_input(golden):
  assert tuple(step_goldens.stored_steps(golden)) == STEPS
  assert {n for n in golden if n.startswith(("pixels/", "noise/"))} == {
      f"{kind}/{i}" for kind in ("pixels", "noise") for i in range(STEPS[-1])}
  assert {n for n in golden if n.startswith("bias_traj/")} == {
      f"bias_traj/{t}/{n}" for t in range(STEPS[-1] + 1) for n in
      [f"discriminator/d_h{i}_conv/biases" for i in (1, 2, 3)] + [f"generator/g_h{i}/biases" for i in (1, 2, 3)]}
  assert any(k.endswith("/Adam_1") for k in golden if k.startswith(f"step{STEPS[-1]}/"))
  one = step_goldens.load("ttur")   # the first iteration's inputs are the one-step golden's
  np.testing.assert_array_equal(_real(golden, 0), one["real/0"])
  np.testing.assert_array_equal(golden["noise/0"], one["noise/0"])


@pytest.mark.parametrize("step", STEPS)
def test_state_after_step(run, golden, step):
  results, trajectory = run
  state, _ = results[step]
  init = step_goldens.group(golden, "init", suite_name)
  expected = step_goldens.group(golden, f"step{step}", suite_name)
  official_trajectory = {b: _official_trajectory(golden, b, step) for b in PRE_BN_BIASES}
  assert int(state["d_opt/d_opt/iteration"]) == int(state["g_opt/g_opt/iteration"]) == step
  _check_pre_bn_biases(state, init, step)
  _check_pre_bn_biases(expected, init, step)
  for b in PRE_BN_BIASES:   # the trajectories end where the states are
    np.testing.assert_array_equal(trajectory[b][step], state[b])
    np.testing.assert_array_equal(official_trajectory[b][step], expected[b])
  noise = set(PRE_BN_BIASES) | {_slot(b, kind)[0] for b in PRE_BN_BIASES
                                for kind in ("momentum", "velocity")}
  state = _without_bias_history(state, trajectory, step)
  expected = _without_bias_history(expected, official_trajectory, step)
  rel, _ = step_goldens.compare(state, {k: v for k, v in expected.items() if k not in noise},
                                rtol=step_goldens.bound_at(BOUNDS, step))
  print(f"{CASE} step {step}: max relative difference {rel:.3g}")
