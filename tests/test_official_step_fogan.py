"""One training step of FOGAN (penalized_wgan, calculated slopes) against the official code's
(issue 18).

Golden: tests/goldens/train_step/fogan.npz, made by running zalandoresearch/first_order_gan@ed9d738
DCGAN_FID_batched/model.py (build_model, then train()'s own loop for one iteration) at 32 px with
gf_dim = df_dim = 2, z_dim 8, batch 4, run_fogan.sh's objective (λ_L 0.5, λ_GP 1, calculated slope,
--discriminator_batch_norm=False, one critic update) and Adam(1e-4, beta1 0.5) for both networks;
provenance, shims and keys in README_fogan.md. The official real batch, z and x' α are in-graph ops
(an input queue, tf.random_normal, tf.random_uniform): every Session.run draws new ones, so the
generator update sees a fresh real batch, fresh z and a fresh α (the recipe's
generator_real="fresh").
"""


import numpy as np
import pytest

from tests import step_goldens

CASE = "fogan"
SIZE, WIDTH, Z_DIM, BATCH = 32, 2, 8, 4
BETA1, BETA2 = 0.5, 0.999
LR = 1e-4               # the recipe's (and the golden's) learning rate, both networks
LAMBDA_L = 0.5          # run_fogan.sh --lipschitz_penalty=.5 (λ_GP is 1)
# A bias before batch norm (g_h1..g_h3, each followed by g_bn1..g_bn3) has the exact gradient 0: the
# normalisation removes it. Both codes compute float32 rounding noise for it (|m| ~1e-8 against
# ~1e-1 for the other generator slots), so its Adam slots are compared against the scale of the
# generator's other slots of the same kind, and its value, which Adam's normalisation m / (√v + ε)
# moves by up to one step of the noise's sign, to within one step: |Δ| ≤ lr.
PRE_BN_BIASES = ("g_h1", "g_h2", "g_h3")

suite_name = step_goldens.dcgan_tf1_name


def _replay(golden):
  import keras
  from repro.papers import fogan
  from repro.train.replay import Replay
  keras.utils.set_random_seed(0)
  recipe = fogan.recipe("cifar10")
  recipe = recipe.replace(batch_size=BATCH, z_dim=Z_DIM,
                          **{"model.args": dict(recipe.model.args, width=WIDTH)})
  assert recipe.g_opt.lr == recipe.d_opt.lr == LR and recipe.n_critic == 1
  replay = Replay(recipe, (SIZE, SIZE, 3))
  replay.set_weights(step_goldens.group(golden, "init", suite_name))
  return replay


def _compare(state, expected):
  """step_goldens.compare, with the pre-batch-norm biases and their slots bounded as PRE_BN_BIASES
  says (their gradients are rounding noise)."""
  loose = {}
  for layer in PRE_BN_BIASES:
    name = f"generator/{layer}/bias"
    loose[name] = (LR / np.max(np.abs(expected[name])),
                   "exact gradient 0 (bias before batch norm): at most one Adam step of noise")
    for kind in ("momentum", "velocity"):
      name = f"g_opt/g_opt/{layer}_bias_{kind}"
      if name in expected:
        scale = max(np.max(np.abs(v)) for k, v in expected.items()
                    if k.startswith("g_opt/") and k.endswith(kind))
        own = max(np.max(np.abs(expected[name])), np.finfo(np.float32).tiny)
        loose[name] = (step_goldens.RTOL * scale / own,
                       "exact gradient 0 (bias before batch norm): rounding noise")
  return step_goldens.compare(state, expected, loose=loose)


@pytest.fixture(scope="module")
def golden():
  return step_goldens.load(CASE)


def test_golden_covers_every_official_variable(golden):
  names = {k.split("/", 1)[1] for k in golden if k.startswith("step/")}
  mapped = {suite_name(n) for n in names} - {None}
  # G: 10 weights + 8 BN params (3 copies each: value, Adam m, v) + 8 BN moving statistics;
  # D: 10 weights x 3.
  assert len(mapped) == (10 + 8) * 3 + 8 + 10 * 3
  weights = {n for n in mapped if not n.endswith(("_momentum", "_velocity"))}
  assert set(step_goldens.group(golden, "init", suite_name)) == weights


def test_one_critic_update(golden):
  replay = _replay(golden)
  terms = replay.critic_update(golden["real/0"], golden["noise/0"], golden["uniform/0"])
  state = replay.state()
  g = {k.split("/", 1)[1]: float(v) for k, v in golden.items() if k.startswith("critic_terms/")}
  official_loss = (g["d_loss_real"] + g["d_loss_fake"] + g["d_lipschitz_penalty_loss"] +
                   g["d_gradient_penalty_loss"])
  step_goldens.check_close("loss", terms["loss"], official_loss)
  step_goldens.check_close("gradient_penalty", terms["gradient_penalty"],
                           g["d_gradient_penalty_loss"])
  step_goldens.check_close("lipschitz_penalty * lambda", terms["lipschitz_penalty"] * LAMBDA_L,
                           g["d_lipschitz_penalty_loss"])
  step_goldens.check_close("mean_slope_target", terms["mean_slope_target"],
                           g["d_mean_slope_target"])
  step_goldens.check_close("lipschitz_estimate", terms["lipschitz_estimate"],
                           g["d_lipschitz_estimate"])
  step_goldens.check_tf1_beta_powers(state, golden, "critic", BETA1, BETA2)
  _compare(state, step_goldens.group(golden, "critic", suite_name))


def test_one_generator_step(golden):
  replay = _replay(golden)
  terms = replay.generator_step(reals=[golden["real/0"], golden["real/1"]],
                                noise=[golden["noise/0"], golden["noise/1"]],
                                uniforms=[golden["uniform/0"], golden["uniform/1"]])
  state = replay.state()
  step_goldens.check_close("generator/loss", terms["generator/loss"],
                           float(golden["step_terms/g_loss"]))
  step_goldens.check_tf1_beta_powers(state, golden, "step", BETA1, BETA2)
  _compare(state, step_goldens.group(golden, "step", suite_name))
