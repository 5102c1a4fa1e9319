"""Twenty consecutive WGAN (weight clipping) toy steps against the official code's (issue 27,
item 2).

Golden: tests/goldens/train_step/wgan_clip_toy_multistep.npz, made by running
igul222/improved_wgan_training@fa66c57 gan_toy.py with MODE 'wgan' (DIM 16, BATCH_SIZE 8:
tf.train.RMSPropOptimizer(5e-5) for both nets, clip_disc_weights after every critic update) from
the one-step golden's initial weights and draws for 20 suite steps; provenance in
README_wgan_clip_toy_multistep.md, schedule and names as in tests/test_official_multistep_wgan_gp.py.
From the first update on 90 % of the critic's parameters sit at the clip bound, so the steps
check the clip's order and coverage and RMSProp's mean-square state over 100 critic updates.
"""

import numpy as np
import pytest

from tests import step_goldens
from tests.test_official_multistep_wgan_gp import STEPS, step_inputs
from tests.test_official_step_wgan_gp import N_CRITIC, golden_group, replay_from

CASE = "wgan_clip_toy_multistep"
CLIP = 0.01
# Measured on AMD EPYC (README_wgan_clip_toy_multistep.md): suite vs golden 2.0e-7 (step 1),
# 3.4e-7 (2), 5.1e-7 (5), 5.4e-7 (10), 9.2e-7 (20); the official code against itself over oneDNN
# on/off x 1/2 threads <= 5.0e-7. 1e-5 is 10x the largest.
BOUNDS = {1: 1e-5}


@pytest.fixture(scope="module")
def golden():
  return step_goldens.load(CASE)


@pytest.fixture(scope="module")
def run(golden):
  return step_goldens.replay_steps(replay_from(golden, variant="clip"), STEPS,
                                   lambda s: step_inputs(golden, s, uniforms=False))


def test_golden_holds_every_step_input(golden):
  assert tuple(step_goldens.stored_steps(golden)) == STEPS
  k = STEPS[-1]
  assert {n for n in golden if n.startswith("real/")} == {f"real/{i}" for i in range(N_CRITIC * k)}
  assert {n for n in golden if n.startswith("noise/")} == {f"noise/{i}" for i in range((N_CRITIC + 1) * k)}
  one = step_goldens.load("wgan_clip_toy")
  for name, value in golden_group("step", one).items():
    np.testing.assert_array_equal(golden_group("step1", golden)[name], value)


@pytest.mark.parametrize("step", STEPS)
def test_state_after_step(run, golden, step):
  state, terms = run[step]
  assert int(state["d_opt/d_opt/iteration"]) == N_CRITIC * step
  assert int(state["g_opt/g_opt/iteration"]) == step
  np.testing.assert_allclose(terms["critic/loss"], golden[f"disc_cost/{N_CRITIC * step - 1}"],
                             rtol=step_goldens.bound_at(BOUNDS, step))
  expected = golden_group(f"step{step}", golden)
  clipped = [n for n in expected if n.startswith("critic/")]
  assert all(np.max(np.abs(expected[n])) <= CLIP for n in clipped)
  assert sum(int(np.sum(np.abs(expected[n]) >= 0.999 * CLIP)) for n in clipped) > 500   # of 609
  rel, _ = step_goldens.compare(state, expected, rtol=step_goldens.bound_at(BOUNDS, step))
  print(f"{CASE} step {step}: max relative difference {rel:.3g}")
