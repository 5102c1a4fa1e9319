"""Thirty consecutive steps of the suite's regularized-OT GAN against the float64 numpy reference
(tests/goldens/train_step/sinkhorn_multistep.npz, README_sinkhorn_multistep.md), from the one-step
golden's initial weights and draws: 30 generator steps of the recipe (5 dual updates on fresh real
batches and noise, then the generator on the last dual batch and fresh noise) and 30 generator
updates of --solver=sinkhorn --space=pixel. The suite's step runs traced as the trainer runs it
(tests/multistep.py); bounds grow with the step, each next to the measured growth (max relative
difference per stored step, tests/step_goldens.py).
"""

import pytest

from tests import multistep, step_goldens
from tests import test_official_step_sinkhorn as one_step_sinkhorn

K = 30

MOMENTUM_THROUGH_ZERO = ("d_opt/d_opt/phi_out_bias_momentum", "d_opt/d_opt/psi_out_bias_momentum")


def sinkhorn_dual_bound(k):
  # Measured: 3.0e-6, 1.2e-5, 1.3e-5, 7.8e-6, 8.1e-6 after steps 1, 5, 10, 20, 30 (float32 against
  # the float64 reference; the reference itself is the same in every configuration).
  return 2e-5 + 1e-5 * k


def sinkhorn_dual_loose(k):
  # The potentials' output-bias Adam momentum is one number that passes near zero: 40.7 after
  # step 5, -0.101 after step 10 (its velocity 4237, gradients ~65): 4.5e-5 relative there is a
  # 4.6e-6 absolute difference, 1e-7 of the gradients' scale.
  return {name: (10 * sinkhorn_dual_bound(k), "a single momentum passing near zero")
          for name in MOMENTUM_THROUGH_ZERO}


def sinkhorn_pixel_bound(k):
  # Measured: 6.5e-6, 5.6e-6, 3.4e-6, 4.0e-6, 2.7e-6 after steps 1, 5, 10, 20, 30 (float32
  # Sinkhorn at its round-off floor against the float64 one).
  return 3.5e-5 + 1e-6 * k


@pytest.fixture(scope="module")
def sinkhorn_golden():
  return step_goldens.load("sinkhorn_multistep")


def test_sinkhorn_dual_30_steps(sinkhorn_golden):
  g = sinkhorn_golden
  replay = one_step_sinkhorn._replay(g)
  snapshots = multistep.stored_steps(g, "step")
  assert snapshots == [1, 5, 10, 20, 30]
  # per step: 5 dual updates on fresh real batches and noise, the generator on fresh noise
  states = multistep.run(replay, g["real"], g["noise"], g["uniform"], K, snapshots)
  expected = {k: one_step_sinkhorn._mapped(g, f"step{k}") for k in snapshots}
  for k in snapshots:
    assert int(states[k]["d_opt/d_opt/iteration"]) == 5 * k
    assert int(states[k]["g_opt/g_opt/iteration"]) == k
  worst = multistep.compare_steps(states, expected, sinkhorn_dual_bound, sinkhorn_dual_loose)
  print("sinkhorn dual max relative difference per stored step:", worst)


def test_sinkhorn_pixel_30_steps(sinkhorn_golden):
  g = sinkhorn_golden
  replay = one_step_sinkhorn._replay(g, "none", solver="sinkhorn", space="pixel",
                                     sinkhorn_tol=1e-6, sinkhorn_iters=2000)
  snapshots = multistep.stored_steps(g, "pixel")
  assert snapshots == [1, 5, 10, 20, 30]
  # pixel step k reads real batch k and noise k of the same streams
  states = multistep.run(replay, g["real"][:K], g["noise"][:K], g["uniform"][:K], K, snapshots)
  expected = {k: one_step_sinkhorn._mapped(g, f"pixel{k}") for k in snapshots}
  worst = multistep.compare_steps(states, expected, sinkhorn_pixel_bound)
  print("sinkhorn pixel max relative difference per stored step:", worst)
