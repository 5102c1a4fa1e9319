"""One training step of WGAN-GP on 2-D data against the official code's (issue 18).

Golden: tests/goldens/train_step/wgan_gp.npz, made by running igul222/improved_wgan_training@fa66c57
gan_toy.py (MODE wgan-gp, DIM 16, BATCH_SIZE 8) for one critic update and one full generator step
with fixed inputs; provenance, shims and keys in README_wgan_gp.md. gan_toy.py's loop runs the
generator update at the start of every iteration but the first, so the official schedule is
C C C C C | G C C C C C | G ...: the suite's step k (5 critic updates, then the generator update) is
official iteration k's critic updates followed by the generator update of iteration k + 1.
"""

import re

import numpy as np
import pytest

from tests import step_goldens

CASE = "wgan_gp"
HIDDEN = (16, 16, 16)   # gan_toy.py DIM 16
BATCH = 8               # gan_toy.py BATCH_SIZE 8
N_CRITIC = 5            # gan_toy.py CRITIC_ITERS
BETA1, BETA2 = 0.5, 0.9
# tflib names: <scope>/<Net>.<i>[.Linear].<W|b>[/<slot>]; layers 1-3 are the hidden ReLU layers.
_NAME = re.compile(r"(Generator|Discriminator)\.(\d)(?:\.Linear)?\.([Wb])(?:/(\w+))?$")
# TF1 slot -> Keras slot: Adam m, v; RMSProp's mean square (MODE wgan, tests/
# test_official_step_wgan_clip_toy.py). RMSProp_1, TF1 RMSProp's momentum accumulator, has no Keras
# counterpart (see there).
SLOTS = {"Adam": "momentum", "Adam_1": "velocity", "RMSProp": "velocity", "RMSProp_1": None}


def suite_name(official):
  """The suite's Replay.state() name of an official gan_toy.py variable (None for Adam's beta
  powers, checked against the optimizer's iteration count instead, and RMSProp_1)."""
  m = _NAME.search(official)
  if m is None:
    assert re.fullmatch(r"beta[12]_power(_1)?", official), official
    return None
  net, index, param, slot = m.groups()
  side, opt = ("generator", "g_opt") if net == "Generator" else ("critic", "d_opt")
  layer = "out" if index == "4" else f"dense_{int(index) - 1}"
  kind = "kernel" if param == "W" else "bias"
  if slot is None:
    return f"{side}/{layer}/{kind}"
  return f"{opt}/{opt}/{layer}_{kind}_{SLOTS[slot]}" if SLOTS[slot] else None


def golden_group(group, golden):
  """{suite name: golden value} of the official variables recorded under `group`/."""
  prefix = group + "/"
  out = {}
  for key, value in golden.items():
    if key.startswith(prefix):
      name = suite_name(key[len(prefix):])
      if name is not None:
        out[name] = value
  return out


def replay_from(golden, variant="gp"):
  """The suite's step of `wgan.recipe("8gaussians", variant)` at the golden's width and batch,
  started from the official initial values."""
  import keras
  from repro.papers import wgan
  from repro.train.replay import Replay
  keras.utils.set_random_seed(0)
  recipe = wgan.recipe("8gaussians", variant=variant).replace(
      batch_size=BATCH, **{"model.args": {"hidden": HIDDEN, "init": "he"}})
  replay = Replay(recipe, (2,))
  replay.set_weights(golden_group("init", golden))
  return replay


@pytest.fixture(scope="module")
def golden():
  return step_goldens.load(CASE)


def test_golden_covers_every_official_variable(golden):
  names = {k.split("/", 1)[1] for k in golden if k.startswith("step/")}
  mapped = {suite_name(n) for n in names} - {None}
  assert len(mapped) == 8 * 2 * 3   # 8 weights per net; the weight and its two Adam slots


def test_one_critic_update(golden):
  replay = replay_from(golden)
  terms = replay.critic_update(golden["real/0"], golden["noise/0"], golden["uniform/0"])
  state = replay.state()
  step_goldens.check_close("loss", terms["loss"], golden["disc_cost/0"])
  step_goldens.check_tf1_beta_powers(state, golden, "critic", BETA1, BETA2)
  step_goldens.compare(state, golden_group("critic", golden))


def test_one_generator_step(golden):
  replay = replay_from(golden)
  # gan_toy.py's generator update reads no real batch (gen_cost = -mean D(G(z)), noise drawn in the
  # graph) and no alpha: the suite's generator update gets the unused uniform vector as zeros.
  uniforms = [golden[f"uniform/{i}"] for i in range(N_CRITIC)] + [np.zeros(BATCH, np.float32)]
  terms = replay.generator_step(reals=[golden[f"real/{i}"] for i in range(N_CRITIC)],
                                noise=[golden[f"noise/{i}"] for i in range(N_CRITIC + 1)],
                                uniforms=uniforms, n_critic=N_CRITIC)
  state = replay.state()
  # the step reports its last critic update's terms (the official disc_cost before that update)
  step_goldens.check_close("critic/loss", terms["critic/loss"], golden[f"disc_cost/{N_CRITIC - 1}"])
  step_goldens.check_tf1_beta_powers(state, golden, "step", BETA1, BETA2)
  step_goldens.compare(state, golden_group("step", golden))


def test_the_toy_penalty_weights_alpha_on_the_real_end():
  """gan_toy.py L77 interpolates alpha*real + (1-alpha)*fake; the image scripts real +
  alpha*(fake - real): the same penalty with alpha and 1 - alpha swapped."""
  import tensorflow as tf
  from repro.losses import wgan as losses
  from repro.papers import wgan
  assert wgan.recipe("8gaussians").objective.params["alpha_weights"] == "real"
  assert "alpha_weights" not in wgan.recipe("cifar10").objective.params   # default "fake"
  critic = lambda x, training=True: tf.reduce_sum(tf.sin(3.0 * x) * x, axis=1, keepdims=True)
  real = tf.constant([[0.5, -1.0], [2.0, 0.3], [-0.7, 0.1]])
  fake = tf.constant([[1.5, 0.2], [-0.4, 0.9], [0.6, -1.2]])
  alpha = tf.constant([0.1, 0.5, 0.8])
  on_real = losses.gradient_penalty(critic, real, fake, alpha, alpha_weights="real")
  on_fake = losses.gradient_penalty(critic, real, fake, 1.0 - alpha, alpha_weights="fake")
  unswapped = losses.gradient_penalty(critic, real, fake, alpha, alpha_weights="fake")
  np.testing.assert_allclose(float(on_real), float(on_fake), rtol=1e-6)
  assert abs(float(on_real) - float(unswapped)) > 1e-3
