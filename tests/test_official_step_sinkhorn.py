"""The regularized-OT GAN's training step against a numpy reference (tests/goldens/train_step/
sinkhorn.npz).

Sanjabi et al. (2018) publish no code, so the golden case comes from a float64 numpy reference of
the paper's algorithm written from the formulas alone (analytic gradients checked against finite
differences; formulas and provenance: tests/goldens/train_step/README_sinkhorn.md): the entropic
dual on network potentials φ, ψ, the Danskin generator gradient E_π[∇θ c] with the plan
exp((φ + ψ - c)/ε) held fixed, and mini-batch Sinkhorn in pixel space. Width 16 (three hidden
layers), batch 16, ε 0.1, Adam 1e-4 (0.5, 0.9). Compared: every weight and every Adam slot after
(a) one critic (dual) update, (b) one generator step of the recipe (5 dual updates on fresh real
batches and noise, then the generator on the last real batch and fresh noise), (c) one generator
update of --solver=sinkhorn --space=pixel (no critic).
"""

import numpy as np
import pytest

from repro.papers import sinkhorn
from repro.train.replay import Replay
from tests import step_goldens

CASE = "sinkhorn"
HIDDEN = [16, 16, 16]
BATCH = 16
N_CRITIC = 5
N_TENSORS = 8   # per network: kernel and bias of dense_0..2 and out


def _recipe(critic, **options):
  recipe = sinkhorn.recipe("8gaussians", **options)
  return recipe.replace(**{"model.args": {"hidden": HIDDEN, "critic": critic, "feature_dim": 0},
                           "batch_size": BATCH})


def _suite_name(key):
  """'init/phi/dense_0/kernel' -> 'critic/phi/dense_0/kernel'; 'step/d_opt/m/psi/out/bias' ->
  'd_opt/d_opt/psi_out_bias_momentum'; 'pixel/g_opt/v/dense_1/kernel' ->
  'g_opt/g_opt/dense_1_kernel_velocity'."""
  parts = key.split("/")[1:]
  if parts[0] in ("g_opt", "d_opt"):
    slot = {"m": "momentum", "v": "velocity"}[parts[1]]
    return f"{parts[0]}/{parts[0]}/{'_'.join(parts[2:])}_{slot}"
  net = "generator" if parts[0] == "generator" else "critic/" + parts[0]
  return f"{net}/{'/'.join(parts[1:])}"


def _mapped(golden, prefix):
  return {_suite_name(k): v for k, v in golden.items() if k.startswith(prefix + "/")}


@pytest.fixture(scope="module")
def golden():
  return step_goldens.load(CASE)


def _replay(golden, critic="dual", **options):
  replay = Replay(_recipe(critic, **options), (2,))
  init = _mapped(golden, "init")
  if critic != "dual":
    init = {k: v for k, v in init.items() if k.startswith("generator/")}
  replay.set_weights(init)
  return replay


def _iterations(state):
  return int(state["d_opt/d_opt/iteration"]), int(state["g_opt/g_opt/iteration"])


def test_one_dual_update(golden):
  replay = _replay(golden)
  replay.critic_update(golden["real/0"], golden["noise/0"], golden["uniform/0"])
  expected = _mapped(golden, "critic")
  assert len(expected) == 3 * N_TENSORS + 2 * 2 * N_TENSORS   # G, φ, ψ and φ's, ψ's m and v
  state = replay.state()
  step_goldens.compare(state, expected)
  assert _iterations(state) == (1, 0)


def test_one_generator_step(golden):
  replay = _replay(golden)
  replay.generator_step(reals=[golden[f"real/{i}"] for i in range(N_CRITIC)],
                        noise=[golden[f"noise/{i}"] for i in range(N_CRITIC + 1)],
                        uniforms=[golden[f"uniform/{i}"] for i in range(N_CRITIC + 1)])
  expected = _mapped(golden, "step")
  assert len(expected) == 3 * N_TENSORS + 3 * 2 * N_TENSORS   # and G's m and v
  state = replay.state()
  step_goldens.compare(state, expected)
  assert _iterations(state) == (N_CRITIC, 1)


def test_one_pixel_sinkhorn_step(golden):
  # The reference runs Sinkhorn to convergence in float64; a float32 run stops at its round-off
  # floor, so the tolerance is tight and the cap high (the default 1e-3 / 100 is a training
  # setting: its plan is 1e-3 from the exact one).
  replay = _replay(golden, "none", solver="sinkhorn", space="pixel", sinkhorn_tol=1e-6,
                   sinkhorn_iters=2000)
  replay.generator_step(reals=[golden["real/0"]], noise=[golden["noise/0"]],
                        uniforms=[golden["uniform/0"]])
  expected = _mapped(golden, "pixel")
  assert len(expected) == 3 * N_TENSORS
  state = replay.state()
  step_goldens.compare(state, expected)
  assert int(state["g_opt/g_opt/iteration"]) == 1
