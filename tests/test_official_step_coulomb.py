"""One training iteration of Coulomb GAN against the official code's (issue 18).

Golden: tests/goldens/train_step/coulomb.npz, made by running bioinf-jku/coulomb_gan@0f13c52
tensorflow/train.py (`-g my -d my`, 16x16x3 images, batch 16, z 16, generator width 16, critic
width 8, --l2_penalty 0.5 --gen_l2p_scale 0.5 --discriminator_lr_scale 0.5, Adam 1e-4 (0.9, 0.999))
for two iterations (`sess.run(train_op)`: the critic's and the generator's Adam updates in one
session run) with fixed real batches and noise; provenance, shims and keys in README_coulomb.md.
The update is simultaneous, so (a) is the first iteration and (b) the first two.
"""

import re

import numpy as np
import pytest

from tests import step_goldens

CASE = "coulomb"
SIZE, BATCH, Z_DIM = 16, 16, 16
G_WIDTH, D_WIDTH, D_LAYERS = 16, 8, 1   # d_layers = int(log2(16 / 8)), models.py's batch quirk
L2, GEN_L2P_SCALE, D_LR_SCALE = 0.5, 0.5, 0.5
LR, BETA1, BETA2 = 1e-4, 0.9, 0.999   # train.py defaults (-l, --*_beta1/2)
# tf.layers names: <net>/<layer>[_<i>]/<param>[/Adam|/Adam_1] (the name scopes gen.00 / disc.00 do
# not enter variable names).
_NAME = re.compile(r"(generator|discriminator)/(layer0|conv2d_transpose|conv2d|batch_normalization"
                   r"|dense)(?:_(\d+))?/(\w+?)(?:/(Adam|Adam_1))?$")
_G_HIDDEN = int(np.log2(SIZE // 2 // 4))   # my_generator: from 4x4 while below size / 2


def suite_name(official):
  """The suite's Replay.state() name of an official train.py variable (None for Adam's beta
  powers, checked against the optimizers' iteration counts instead)."""
  m = _NAME.fullmatch(official)
  if m is None:
    assert re.fullmatch(r"beta[12]_power(_1)?", official), official
    return None
  net, layer, index, param, slot = m.groups()
  i = int(index or 0)
  if net == "generator":
    side, opt = "generator", "g_opt"
    if layer == "layer0":
      name = "layer0"
    elif layer == "conv2d_transpose":
      name = "gen_out" if i == _G_HIDDEN else f"gen_{i:02d}"
    else:
      assert layer == "batch_normalization", official
      name = f"gen_{i:02d}_bn"
  else:
    side, opt = "critic", "d_opt"
    name = {"conv2d": f"disc_{i:02d}", "batch_normalization": f"disc_{i:02d}_bn",
            "dense": "out"}[layer]
  if slot is None:
    return f"{side}/{name}/{param}"
  return f"{opt}/{opt}/{name}_{param}_{'momentum' if slot == 'Adam' else 'velocity'}"


def _golden(group, golden):
  prefix = group + "/"
  return {suite_name(k[len(prefix):]): v for k, v in golden.items()
          if k.startswith(prefix) and suite_name(k[len(prefix):]) is not None}


def _recipe():
  from repro.papers import coulomb
  recipe = coulomb.recipe("cifar10", l2_penalty=L2, gen_l2p_scale=GEN_L2P_SCALE,
                          discriminator_lr_scale=D_LR_SCALE)
  return recipe.replace(batch_size=BATCH, z_dim=Z_DIM, **{"model.args": dict(
      recipe.model.args, g_width=G_WIDTH, d_width=D_WIDTH, d_layers=D_LAYERS)})


def _replay(golden, **changes):
  import keras
  from repro.train.replay import Replay
  keras.utils.set_random_seed(0)
  replay = Replay(_recipe().replace(**changes), (SIZE, SIZE, 3))
  replay.set_weights(_golden("init", golden))
  return replay


def _iterate(replay, golden, i):
  # one joint update: one real batch, one noise batch; the uniform vector is unused (zeros)
  return replay.generator_step(reals=[golden[f"real/{i}"]], noise=[golden[f"noise/{i}"]],
                               uniforms=[np.zeros(BATCH, np.float32)])


def _check_terms(terms, golden, i):
  # train.py minimises loss_d + (all regularizers) and loss_g + (all regularizers); each optimizer
  # only sees its own variables, so each network's penalty is its own regularizers' sum.
  step_goldens.check_close("critic/loss", terms["critic/loss"],
                           golden[f"loss_d/{i}"] + golden[f"reg_d/{i}"])
  step_goldens.check_close("generator/loss", terms["generator/loss"],
                           golden[f"loss_g/{i}"] + golden[f"reg_g/{i}"])
  step_goldens.check_close("critic/weight_penalty", terms["critic/weight_penalty"],
                           golden[f"reg_d/{i}"])
  step_goldens.check_close("generator/weight_penalty", terms["generator/weight_penalty"],
                           golden[f"reg_g/{i}"])


def _pre_bn_biases(state):
  """{bias name: (optimizer, layer)} of the convolutions followed by batch norm: their gradient is
  zero in exact arithmetic (the batch norm subtracts the batch mean), so both codes see float noise
  (~1e-6 against gradients ~1) that Adam divides by its own magnitude."""
  out = {}
  for name in state:
    m = re.fullmatch(r"(generator|critic)/((?:gen|disc)_\d\d)/bias", name)
    if m and f"{m.group(1)}/{m.group(2)}_bn/gamma" in state:
      out[name] = ("g_opt" if m.group(1) == "generator" else "d_opt", m.group(2))
  return out


def _check_pre_bn_biases(state, expected, steps):
  """The noise-driven tensors, checked by what is certain in both codes: the bias moved by at most
  lr per Adam step, and its first and second moments are noise against the kernel's."""
  lr = {"g_opt": LR, "d_opt": LR * D_LR_SCALE}
  for bias, (opt, layer) in _pre_bn_biases(state).items():
    kernel = bias[:-len("bias")] + "kernel"
    for values in (state, expected):
      moved = np.max(np.abs(values[bias])) / (steps * lr[opt])
      step_goldens.check(f"{bias} steps beyond lr", max(moved - 1.0, 0.0), 1e-4)
      for slot, ratio in (("momentum", 1e-4), ("velocity", 1e-8)):
        noise = np.max(np.abs(values[f"{opt}/{opt}/{layer}_bias_{slot}"]))
        step_goldens.check(f"{bias} {slot} / kernel's",
                           noise / np.max(np.abs(values[f"{opt}/{opt}/{layer}_kernel_{slot}"])), ratio)


def _compare(state, golden, group):
  """Every official variable and slot: the pre-BN biases and their slots by `_check_pre_bn_biases`,
  the rest by relative difference; returns (max relative, max absolute) difference."""
  expected = _golden(group, golden)
  noise = _pre_bn_biases(state)
  noise_names = set(noise) | {f"{o}/{o}/{layer}_bias_{slot}" for o, layer in noise.values()
                              for slot in ("momentum", "velocity")}
  _check_pre_bn_biases(state, expected, int(group[len("step"):]))
  return step_goldens.compare(state, {k: v for k, v in expected.items() if k not in noise_names})


@pytest.fixture(scope="module")
def golden():
  return step_goldens.load(CASE)


def test_golden_covers_every_official_variable(golden):
  names = [k.split("/", 1)[1] for k in golden if k.startswith("step1/")]
  mapped = {suite_name(n) for n in names} - {None}
  assert len(mapped) == len(names) - 4   # every variable but the four beta powers
  # G: layer0, 2 deconvolutions (kernel, bias each), BN gamma/beta: 8 trainable weights; D: conv,
  # BN, dense: 6; each with its two Adam slots, plus 2 x 2 BN moving statistics
  assert len(mapped) == 14 * 3 + 4


def test_potentials_of_the_first_batch(golden):
  """utils.py get_potentials (Plummer kernel d 3, eps 1, self-pairs included) at the initial
  generator's batch and the real batch."""
  from repro.losses import coulomb as losses
  replay = _replay(golden)
  fake = replay.generator(golden["noise/0"], training=True)
  pot_fake, pot_real = losses.potentials(fake, golden["real/0"])
  step_goldens.check_close("pot_fake", pot_fake, golden["pot_x/0"])
  step_goldens.check_close("pot_real", pot_real, golden["pot_y/0"])


def test_one_iteration(golden):
  replay = _replay(golden)
  terms = _iterate(replay, golden, 0)
  state = replay.state()
  _check_terms(terms, golden, 0)
  step_goldens.check_tf1_beta_powers(state, golden, "step1", BETA1, BETA2)
  _compare(state, golden, "step1")
  # batch norm as train.py runs it: batch statistics, moving averages never updated
  for name, value in _golden("init", golden).items():
    if "moving_" in name:
      np.testing.assert_array_equal(state[name], value)


def test_two_iterations(golden):
  replay = _replay(golden)
  _iterate(replay, golden, 0)
  terms = _iterate(replay, golden, 1)
  state = replay.state()
  _check_terms(terms, golden, 1)
  step_goldens.check_tf1_beta_powers(state, golden, "step2", BETA1, BETA2)
  _compare(state, golden, "step2")


def test_keras_adam_puts_only_the_velocities_off(golden):
  """Why the recipe's optimizer kind is adam_tf1: Keras' Adam forms 1 - beta2 from the Python float,
  TF1 in float32: with plain "adam" the velocities alone are 1.29e-5 relative larger
  (step_goldens.KERAS_ADAM_VELOCITY_OFFSET). Both kinds run in this process, one optimizer at a
  time."""
  def state(**kinds):
    replay = _replay(golden, **kinds)
    _iterate(replay, golden, 0)
    return replay.state()
  reference = state()
  noise = _pre_bn_biases(reference)
  noise = set(noise) | {f"{o}/{o}/{layer}_bias_{slot}" for o, layer in noise.values()
                        for slot in ("momentum", "velocity")}
  compared = [n for n in _golden("step1", golden) if n not in noise]
  for opt in ("d_opt", "g_opt"):
    velocities = [n for n in compared if n.startswith(opt) and n.endswith("_velocity")]
    step_goldens.check_keras_adam_offset(state(**{f"{opt}.kind": "adam"}), reference, velocities,
                                         [n for n in compared if n not in velocities])
