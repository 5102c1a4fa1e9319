"""KL-WGAN's training step against the official one (tests/goldens/train_step/klwgan.npz).

The golden case is f-wgan synthetic/kl_wgan.py `train_network`'s own loop (loss_type "kl") run
at hidden width 16, batch 8, from fixed weights, one real batch and six noise batches (provenance:
tests/goldens/train_step/README_klwgan.md). Compared: every weight, every spectral-norm vector
(u and v: one power iteration per training-mode critic call, i.e. two per critic update and one
in the generator update) and every RMSprop square_avg, after one critic update and after one
generator step (5 critic updates on the one real batch, then the generator update on fresh noise).
"""

import numpy as np
import pytest

from repro.papers import klwgan
from repro.train.replay import Replay
from tests import step_goldens

CASE = "klwgan"
HIDDEN = (16, 16)
BATCH = 8
LAYERS = {"net.0": "dense_0", "net.2": "dense_1", "net.4": "out"}
NETS = {"G": "generator", "D": "critic"}
PARAMS = {"weight": "kernel", "weight_orig": "kernel", "bias": "bias", "weight_u": "sn_u",
          "weight_v": "sn_v"}


def _suite_name(key):
  """'init/D.net.2.weight_orig' -> 'critic/dense_1/kernel' (transposed: torch Linear is
  [out, in]); 'step/G_opt.net.0.weight.square_avg' -> 'g_opt/g_opt/dense_0_kernel_velocity'."""
  name = key.split("/", 1)[1]
  owner, rest = name.split(".", 1)
  if owner.endswith("_opt"):
    rest = rest[:-len(".square_avg")]
    layer, param = rest.rsplit(".", 1)
    opt = "g_opt" if owner == "G_opt" else "d_opt"
    return f"{opt}/{opt}/{LAYERS[layer]}_{PARAMS[param]}_velocity", param.startswith("weight")
  layer, param = rest.rsplit(".", 1)
  return f"{NETS[owner]}/{LAYERS[layer]}/{PARAMS[param]}", param in ("weight", "weight_orig")


def _mapped(golden, prefix):
  out = {}
  for key, value in golden.items():
    if key.startswith(prefix + "/"):
      name, transpose = _suite_name(key)
      out[name] = value.T if transpose else value
  return out


@pytest.fixture(scope="module")
def golden():
  return step_goldens.load(CASE)


def _replay(golden, **overrides):
  recipe = klwgan.recipe("mog").replace(**{"model.args": {"hidden": HIDDEN},
                                           "batch_size": BATCH, **overrides})
  replay = Replay(recipe, (2,))
  init = _mapped(golden, "init")
  assert len(init) == 18   # 6 generator + 12 critic tensors (kernel, bias, u, v per layer)
  replay.set_weights(init)
  return replay


def _no_uniform():
  return np.zeros([BATCH], np.float32)   # KL-WGAN draws no per-example uniforms


def test_one_critic_update(golden):
  # Without XLA to keep it fast; the generator step below runs the recipe's XLA-compiled updates.
  replay = _replay(golden, jit_compile=False)
  replay.critic_update(golden["real/0"], golden["noise/0"], _no_uniform())
  expected = _mapped(golden, "critic")
  assert len(expected) == 24   # every weight, u and v of both nets and D's six square_avg slots
  state = replay.state()
  step_goldens.compare(state, expected)
  for name, value in state.items():   # torch creates G's slots at its first step: none yet
    if name.startswith("g_opt/") and name.endswith("_velocity"):
      assert not np.any(value), name


def test_one_generator_step(golden):
  replay = _replay(golden)   # the recipe's jit_compile=True: the u/v assignments inside XLA
  noise = [golden[f"noise/{i}"] for i in range(6)]
  replay.generator_step(reals=[golden["real/0"]], noise=noise, uniforms=[_no_uniform()] * 6)
  expected = _mapped(golden, "step")
  assert len(expected) == 30   # every weight, u and v and both optimizers' square_avg slots
  step_goldens.compare(replay.state(), expected)
