"""One training step of TTUR's DCGAN against the official code's (issue 18).

Golden: tests/goldens/train_step/ttur.npz, made by running bioinf-jku/TTUR@73ab375
DCGAN_FID_batched/model.py (build_model, then train()'s own loop for one iteration) at 32 px with
gf_dim = df_dim = 4, z_dim 8, batch 4, the celebA Table 1 rates of run.sh (lr_d 1e-5, lr_g 5e-4,
beta1 0.5) and tf.contrib.layers.batch_norm on its non-fused path (TF 1.1-1.3's default);
provenance, shims and keys in README_ttur.md. One iteration of train() is: d_optim on (batch_images,
batch_z), g_optim on the same batch_z (recipe generator_noise="critic"), then the loss printing's
three training-mode evaluations, which move every batch-norm moving average (the objective's
loss_eval_passes). The generator update draws no per-example uniforms; the step's are zeros.
"""


import numpy as np
import pytest

from tests import step_goldens

CASE = "ttur"
SIZE, WIDTH, Z_DIM, BATCH = 32, 4, 8, 4
LR = {"d_opt": 1e-5, "g_opt": 5e-4}     # Table 1 celebA (TTUR): run.sh <lr_d> <lr_g>
BETA1, BETA2 = 0.5, 0.999
# Biases directly before a batch norm have the exact gradient 0 (the normalisation removes them);
# both codes compute float32 rounding noise for them, which Adam turns into steps of up to lr.
PRE_BN_BIASES = {"critic/d_h1_conv/bias": "d_opt", "critic/d_h2_conv/bias": "d_opt",
                 "critic/d_h3_conv/bias": "d_opt", "generator/g_h1/bias": "g_opt",
                 "generator/g_h2/bias": "g_opt", "generator/g_h3/bias": "g_opt"}
# The batch norm after a pre-BN bias averages that bias into its moving mean: after n training-mode
# passes that saw the updated bias b (decay 0.9), moving_mean = (terms without b) + (1 - 0.9^n) b.
# The moving means are compared with that share of their (noise) bias taken out.
BN_OF_BIAS = {"critic/d_bn1/moving_mean": "critic/d_h1_conv/bias",
              "critic/d_bn2/moving_mean": "critic/d_h2_conv/bias",
              "critic/d_bn3/moving_mean": "critic/d_h3_conv/bias",
              "generator/g_bn1/moving_mean": "generator/g_h1/bias",
              "generator/g_bn2/moving_mean": "generator/g_h2/bias",
              "generator/g_bn3/moving_mean": "generator/g_h3/bias"}

suite_name = step_goldens.dcgan_tf1_name


def _recipe(**changes):
  from repro.papers import ttur
  recipe = ttur.recipe("celeb_a", model="dcgan")
  return recipe.replace(batch_size=BATCH, z_dim=Z_DIM,
                        **{"model.args": dict(recipe.model.args, width=WIDTH)}, **changes)


def _replay(golden, **changes):
  import keras
  from repro.train.replay import Replay
  keras.utils.set_random_seed(0)
  replay = Replay(_recipe(**changes), (SIZE, SIZE, 3))
  replay.set_weights(step_goldens.group(golden, "init", suite_name))
  return replay


def _slot(bias, kind):
  opt = PRE_BN_BIASES[bias]
  layer = bias.split("/")[1]
  return f"{opt}/{opt}/{layer}_bias_{kind}", f"{opt}/{opt}/{layer}_kernel_{kind}"


def _noise_names(updates=None):
  """The pre-BN biases and (for a network that was updated) their Adam slots."""
  updates = updates or {"d_opt": 1, "g_opt": 1}
  names = set(PRE_BN_BIASES)
  for bias, opt in PRE_BN_BIASES.items():
    if updates[opt]:
      names.update(_slot(bias, kind)[0] for kind in ("momentum", "velocity"))
  return names


def _check_pre_bn_biases(values, init, updates):
  """What is certain in both codes for the pre-BN biases: each moved by at most lr per Adam update
  and their Adam moments are rounding noise against their kernel's."""
  for bias, opt in PRE_BN_BIASES.items():
    if not updates[opt]:
      np.testing.assert_array_equal(values[bias], init[bias])
      continue
    moved = np.max(np.abs(values[bias] - init[bias])) / (updates[opt] * LR[opt])
    step_goldens.check(f"{bias} steps beyond lr", max(moved - 1.0, 0.0), 1e-4)
    for kind, ratio in (("momentum", 1e-3), ("velocity", 1e-6)):
      own, kernel = _slot(bias, kind)
      step_goldens.check(f"{own} / kernel's", np.max(np.abs(values[own])) /
                         np.max(np.abs(values[kernel])), ratio)


def _without_bias_share(values, passes):
  """values with each BN_OF_BIAS moving mean less (1 - 0.9^n) times its bias, n = passes[opt]:
  the training-mode passes of that network after its update."""
  out = dict(values)
  for mean, bias in BN_OF_BIAS.items():
    out[mean] = values[mean] - (1.0 - 0.9 ** passes[PRE_BN_BIASES[bias]]) * values[bias]
  return out


def _compare(state, expected, init, updates, passes, loose=None):
  """Every official variable and slot: the pre-BN biases and their slots by _check_pre_bn_biases,
  the moving means without their bias share (_without_bias_share), the rest by relative
  difference. Returns (max relative, max absolute) difference."""
  state, expected = _without_bias_share(state, passes), _without_bias_share(expected, passes)
  noise = _noise_names(updates)
  _check_pre_bn_biases(state, init, updates)
  _check_pre_bn_biases(expected, init, updates)
  return step_goldens.compare(state, {k: v for k, v in expected.items() if k not in noise},
                              loose=loose)


def _after_critic(golden):
  """The official state after d_optim: critic weights, slots and every moving statistic from the
  golden; the generator's weights are those it started with (d_optim does not change them)."""
  expected = step_goldens.group(golden, "critic", suite_name)
  expected.update({k: v for k, v in step_goldens.group(golden, "init", suite_name).items()
                   if k.startswith("generator/") and "moving_" not in k})
  return expected


def _after_step(golden, group="step"):
  """The official state after the full iteration: generator weights, slots and every moving
  statistic from the golden; the critic's weights and slots are those after d_optim (g_optim and
  the loss evaluations do not change them, checked when the golden was made)."""
  expected = step_goldens.group(golden, group, suite_name)
  expected.update({k: v for k, v in step_goldens.group(golden, "critic", suite_name).items() if "moving_" not in k})
  if group != "step":   # gupdate/ holds only the moving statistics after g_optim
    expected.update({k: v for k, v in step_goldens.group(golden, "step", suite_name).items() if "moving_" not in k})
  return expected


def _generator_step(replay, golden):
  zeros = np.zeros([BATCH], np.float32)
  return replay.generator_step(reals=[golden["real/0"]], noise=[golden["noise/0"]],
                               uniforms=[zeros, zeros])


@pytest.fixture(scope="module")
def golden():
  return step_goldens.load(CASE)


def test_recipe_is_the_official_schedule():
  recipe = _recipe()
  assert recipe.model.arch == "dcgan_tf"
  assert (recipe.d_opt.lr, recipe.g_opt.lr) == (LR["d_opt"], LR["g_opt"])
  # AdamOptimizer(beta1=0.5) with its beta2 0.999 as the float32 TF1 computes 1 - beta2 with
  assert (recipe.d_opt.beta1, recipe.g_opt.beta1) == (BETA1, BETA1)
  assert recipe.d_opt.beta2 == recipe.g_opt.beta2 == BETA2
  assert recipe.d_opt.kind == recipe.g_opt.kind == "adam_tf1"
  assert recipe.n_critic == 1 and recipe.z_dist == "uniform"
  assert recipe.generator_noise == "critic" and recipe.generator_real == "critic"
  assert dict(recipe.objective.params) == {"loss_eval_passes": True}
  assert recipe.model.args["bn_fused"] is False


def test_golden_covers_every_official_variable(golden):
  init = step_goldens.group(golden, "init", suite_name)
  # G: 10 weights + 8 BN params + 8 moving statistics; D: 10 weights + 6 BN params + 6 moving
  assert len(init) == 26 + 22
  slots = {n for n in {**step_goldens.group(golden, "critic", suite_name), **step_goldens.group(golden, "step", suite_name)}
           if n.endswith(("_momentum", "_velocity"))}
  trainable = {n for n in init if "moving_" not in n}
  assert len(slots) == 2 * len(trainable)
  assert set(_after_step(golden)) == set(init) | slots
  assert set(_after_critic(golden)) == set(init) | {n for n in slots if n.startswith("d_opt/")}


def test_one_critic_update(golden):
  replay = _replay(golden)
  replay.critic_update(golden["real/0"], golden["noise/0"], np.zeros([BATCH], np.float32))
  _compare(replay.state(), _after_critic(golden), step_goldens.group(golden, "init", suite_name),
           {"d_opt": 1, "g_opt": 0}, passes={"d_opt": 0, "g_opt": 0})


def test_one_generator_step(golden):
  replay = _replay(golden)
  _generator_step(replay, golden)
  # after their updates: D runs in g_optim and in the three loss evaluations, G in two of them
  _compare(replay.state(), _after_step(golden), step_goldens.group(golden, "init", suite_name), {"d_opt": 1, "g_opt": 1},
           passes={"d_opt": 4, "g_opt": 2})


def test_without_the_loss_evaluations(golden):
  """loss_eval_passes=False: the moving statistics are those right after g_optim (gupdate/)."""
  replay = _replay(golden, **{"objective.params": {"loss_eval_passes": False}})
  _generator_step(replay, golden)
  _compare(replay.state(), _after_step(golden, "gupdate"), step_goldens.group(golden, "init", suite_name),
           {"d_opt": 1, "g_opt": 1}, passes={"d_opt": 1, "g_opt": 0})


def test_keras_adam_puts_every_velocity_off(golden):
  """Why the recipe's optimizer kind is adam_tf1: tf.train.AdamOptimizer forms 1 - beta2 in float32,
  Keras' Adam from the Python float, so with plain "adam" every velocity is 1.29e-5 relative larger
  (step_goldens.KERAS_ADAM_VELOCITY_OFFSET) and nothing else moves. Both kinds run in this process,
  one optimizer at a time (the other's gradients stay equal), so the offset stands apart from
  round-off, which a bound against the golden could not promise."""
  def state(**kinds):
    replay = _replay(golden, **kinds)
    _generator_step(replay, golden)
    return _without_bias_share(replay.state(), {"d_opt": 4, "g_opt": 2})
  reference = state()
  compared = [n for n in _after_step(golden) if n not in _noise_names()]
  for opt in ("d_opt", "g_opt"):
    velocities = [n for n in compared if n.startswith(opt) and n.endswith("_velocity")]
    step_goldens.check_keras_adam_offset(state(**{f"{opt}.kind": "adam"}), reference, velocities,
                                         [n for n in compared if n not in velocities])
