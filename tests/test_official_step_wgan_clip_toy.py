"""One training step of WGAN (weight clipping) on 2-D data against the official code's (issue 18).

Golden: tests/goldens/train_step/wgan_clip_toy.npz, made by running
igul222/improved_wgan_training@fa66c57 gan_toy.py with MODE 'wgan' (DIM 16, BATCH_SIZE 8):
tf.train.RMSPropOptimizer(5e-5) for both nets, `clip_disc_weights` (clip to [-0.01, 0.01]) run
after every critic update, CRITIC_ITERS 5. Provenance, shims and keys in README_wgan_clip_toy.md;
names, schedule mapping (C^5 (G C^5)^*) and width as in tests/test_official_step_wgan_gp.py.
"""

import numpy as np
import pytest

from tests import step_goldens
from tests.test_official_step_wgan_gp import BATCH, N_CRITIC, golden_group, replay_from, suite_name

CASE = "wgan_clip_toy"
CLIP = 0.01
BIASES = ["1.Linear/{n}.1.Linear.b", "2.Linear/{n}.2.Linear.b", "3.Linear/{n}.3.Linear.b",
          "4/{n}.4.b"]


@pytest.fixture(scope="module")
def golden():
  return step_goldens.load(CASE)


def _unused():
  return np.zeros(BATCH, np.float32)   # the clip objective reads no per-example uniform


def _check_last_increment(state, golden, group, net):
  """TF1 RMSProp keeps a momentum accumulator (slot RMSProp_1) even at momentum 0: it holds the
  last update's increment lr g / sqrt(ms + eps) and multiplies into nothing, so Keras has no such
  slot. Where it is observable it is checked: a bias that started at 0 and had one update (the
  generator's after one step) or is unclipped after the critic's first update is -increment."""
  for b in BIASES:
    name = f"{net}.{b.format(n=net)}"
    increment = golden[f"{group}/{name}/RMSProp_1"]
    if net == "Discriminator":
      assert np.all(np.abs(golden[f"{group}/{name}"]) < CLIP)   # no bias was clipped
    step_goldens.check_close(f"{name} = -last increment", state[suite_name(name)], -increment)


def test_golden_covers_every_official_variable(golden):
  names = {k.split("/", 1)[1] for k in golden if k.startswith("step/")}
  mapped = set(golden_group("step", {f"step/{n}": 0 for n in names}))
  assert len(mapped) == 8 * 2 * 2   # 8 weights per net; the weight and its mean-square slot
  assert len([n for n in names if n.endswith("/RMSProp_1")]) == 16


def test_one_critic_update(golden):
  replay = replay_from(golden, variant="clip")
  terms = replay.critic_update(golden["real/0"], golden["noise/0"], _unused())
  state = replay.state()
  step_goldens.check_close("loss", terms["loss"], golden["disc_cost/0"])
  assert int(state["d_opt/d_opt/iteration"]) == 1
  step_goldens.compare(state, golden_group("critic", golden))
  _check_last_increment(state, golden, "critic", "Discriminator")


def test_one_generator_step(golden):
  replay = replay_from(golden, variant="clip")
  terms = replay.generator_step(reals=[golden[f"real/{i}"] for i in range(N_CRITIC)],
                                noise=[golden[f"noise/{i}"] for i in range(N_CRITIC + 1)],
                                uniforms=[_unused()] * (N_CRITIC + 1), n_critic=N_CRITIC)
  state = replay.state()
  step_goldens.check_close("critic/loss", terms["critic/loss"], golden[f"disc_cost/{N_CRITIC - 1}"])
  assert int(state["d_opt/d_opt/iteration"]) == N_CRITIC
  assert int(state["g_opt/g_opt/iteration"]) == 1
  step_goldens.compare(state, golden_group("step", golden))
  _check_last_increment(state, golden, "step", "Generator")
