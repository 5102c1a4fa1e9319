"""improved_wgan_training's networks (and TTUR's copy) beyond their parameter shapes: each official
parameter's counterpart here, its initialisation against tflib's formulas, the output ranges, the
tflib normalisations, and TTUR's DIM-32 critic packing (on by default, off with pack_rows=False).

Official facts: igul222/improved_wgan_training@fa66c57 tflib/ops/{conv2d,deconv2d,linear,
batchnorm,layernorm}.py, gan_mnist.py, gan_cifar.py, gan_64x64.py, gan_cifar_resnet.py;
bioinf-jku/TTUR@73ab375 WGAN_GP/gan_64x64_FID.py (also the goldens' `facts`,
tests/goldens/official_shapes). Networks are built, never trained (one update at width 8 for the
packed critic).
"""

import json
import math
import os
import re

import numpy as np
import pytest

GOLDENS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "goldens", "official_shapes")
SQRT3 = math.sqrt(3.0)


# ---- the tflib initialisers ------------------------------------------------------------------------

def _official_stddev(op, he_init, in_dim, out_dim, k=1, stride=1):
  """tflib's σ written out from the official files (not from repro)."""
  if op == "linear":    # linear.py: 'he' sqrt(2/in); None/'glorot' sqrt(2/(in+out))
    return math.sqrt(2.0 / in_dim) if he_init else math.sqrt(2.0 / (in_dim + out_dim))
  if op == "conv":      # conv2d.py
    fan_in, fan_out = in_dim * k ** 2, out_dim * k ** 2 / stride ** 2
  else:                 # deconv2d.py, stride 2
    fan_in, fan_out = in_dim * k ** 2 / 4.0, out_dim * k ** 2
  return math.sqrt((4.0 if he_init else 2.0) / (fan_in + fan_out))


@pytest.mark.parametrize("op,he_init,shape,in_out,k,stride", [
    ("conv", True, (5, 5, 1, 64), (1, 64), 5, 2),
    ("conv", True, (3, 3, 64, 128), (64, 128), 3, 1),
    ("conv", False, (1, 1, 512, 256), (512, 256), 1, 1),
    ("deconv", True, (5, 5, 256, 512), (512, 256), 5, 2),   # [k, k, out, in]
    ("deconv", True, (5, 5, 1, 64), (64, 1), 5, 2),
    ("linear", False, (128, 8192), (128, 8192), 1, 1),
    ("linear", True, (512, 512), (512, 512), 1, 1),
])
def test_tflib_initialiser_follows_the_official_formulas(op, he_init, shape, in_out, k, stride):
  from repro.models import initializers
  sigma = _official_stddev(op, he_init, *in_out, k=k, stride=stride)
  assert initializers.tflib_stddev(op, shape, he_init, stride) == pytest.approx(sigma, rel=1e-12)
  init = initializers.TflibUniform(op, he_init, stride, seed=3)
  w = np.asarray(init(shape))
  assert np.abs(w).max() <= SQRT3 * sigma * (1 + 1e-6)
  assert w.std() == pytest.approx(sigma, rel=6 * 0.45 / math.sqrt(w.size))
  clone = initializers.TflibUniform.from_config(init.get_config())
  assert (clone.op, clone.he_init, clone.stride) == (op, he_init, stride)


def test_tflib_equals_keras_where_keras_has_the_same_rule():
  from repro.models import initializers
  # stride-1 conv he_init == VarianceScaling(2, fan_avg, uniform); he_init=False == Glorot.
  for shape in ((3, 3, 64, 128), (1, 1, 3, 128)):
    k_in, k_out = shape[0] * shape[1] * shape[2], shape[0] * shape[1] * shape[3]
    assert initializers.TflibUniform("conv", True).limit(shape) == pytest.approx(
        math.sqrt(3 * 2.0 / ((k_in + k_out) / 2)))
    assert initializers.TflibUniform("conv", False).limit(shape) == pytest.approx(
        math.sqrt(6.0 / (k_in + k_out)))


# ---- each official parameter's counterpart -------------------------------------------------------

def _good_name(official):
  """gan_64x64(_FID).py names -> repro.models.resnet layer names."""
  table = [(r"^Generator\.Input$", "project"), (r"^Generator\.OutputN$", "out_norm"),
           (r"^Generator\.Output$", "to_image"), (r"^Discriminator\.Input$", "from_image"),
           (r"^Discriminator\.Output$", "out")]
  for pattern, name in table:
    if re.match(pattern, official):
      return name
  m = re.match(r"^(?:Generator|Discriminator)\.Res(\d)\.(Shortcut|BN1|Conv1|BN2|Conv2)$", official)
  part = {"Shortcut": "shortcut", "BN1": "norm1", "Conv1": "conv1", "BN2": "norm2",
          "Conv2": "conv2"}[m.group(2)]
  return f"res{m.group(1)}_{part}"


def _cifar_resnet_name(official):
  """gan_cifar_resnet.py names -> repro.models.resnet (resnet_cifar) layer names."""
  simple = {"Generator.Input": "project", "Generator.OutputN": "out_norm",
            "Generator.Output": "to_image", "Discriminator.Output": "out"}
  if official in simple:
    return simple[official]
  m = re.match(r"^(Generator|Discriminator)\.(\d)\.(Shortcut|N1|Conv1|N2|Conv2)$", official)
  block = int(m.group(2)) - (1 if m.group(1) == "Discriminator" else 0)
  part = {"Shortcut": "shortcut", "N1": "norm1", "Conv1": "conv1", "N2": "norm2",
          "Conv2": "conv2"}[m.group(3)]
  return f"res{block}_{part}"


_VAR = {"W": "kernel", "Filters": "kernel", "b": "bias", "Biases": "bias", "offset": "beta",
        "scale": "gamma"}

# config -> (official layer name -> suite layer name, official layer -> (op, he_init, stride))
_STRIDE2 = re.compile(r"^Discriminator\.[123]$")


def _dcgan_init(layer):   # gan_mnist.py / gan_cifar.py: Linear glorot, every (de)conv he_init
  if layer.endswith((".Input", ".Output")):
    return "linear", False, 1
  if layer.startswith("Generator."):
    return "deconv", True, 2
  return "conv", True, 2 if _STRIDE2.match(layer) else 1


def _good_init(layer):
  if layer in ("Generator.Input", "Discriminator.Output"):
    return "linear", False, 1
  if layer == "Discriminator.Input" or layer.endswith(".Shortcut"):
    return "conv", False, 1
  return "conv", True, 1      # block convs and Generator.Output (he_init default)


def _cifar_resnet_init(layer):
  if layer in ("Generator.Input", "Discriminator.Output"):
    return "linear", False, 1
  if layer == "Generator.Output" or layer.endswith(".Shortcut"):
    return "conv", False, 1
  return "conv", True, 1


NETWORKS = {
    "wgan_gp_mnist": (lambda n: n, _dcgan_init),
    "wgan_gp_cifar10": (lambda n: n, _dcgan_init),
    "wgan_gp_lsun_bedroom": (_good_name, _good_init),
    "ttur_wgan_gp_cifar10": (_good_name, _good_init),
    "ttur_wgan_gp_lsun_bedroom": (_good_name, _good_init),
    "wgan_gp_cifar_resnet": (_cifar_resnet_name, _cifar_resnet_init),
}


def _build(config):
  import importlib
  import keras
  from repro import registry
  from repro.data import dataset_info
  from test_official_shapes import CONFIGS
  paper, dataset, overrides, changes = CONFIGS[config]
  recipe = importlib.import_module(f"repro.papers.{paper}").recipe(dataset, **overrides)
  if changes:
    recipe = recipe.replace(**changes)
  keras.backend.clear_session()
  keras.utils.set_random_seed(0)
  return registry.build_models(recipe, dataset_info(dataset).shape)


@pytest.mark.parametrize("config", sorted(NETWORKS))
def test_every_official_parameter_has_its_counterpart_and_initialisation(config):
  import keras
  to_suite, init_of = NETWORKS[config]
  with open(os.path.join(GOLDENS, config + ".json"), encoding="utf-8") as f:
    golden = json.load(f)
  nets = dict(zip(("generator", "critic"), _build(config)))
  for side, net in nets.items():
    ours = {v.path: v for v in net.trainable_variables}
    seen = set()
    for official, shape in golden[side]["parameters"]:
      layer, var = official.split("/")[-1].rsplit(".", 1)
      path = f"{to_suite(layer)}/{_VAR[var]}"
      assert path in ours, (config, official, path, sorted(ours))
      v = np.asarray(ours[path])
      want = tuple(shape)
      if len(want) == 2 and want[0] == 1 and var in ("offset", "scale"):
        assert v.shape == want, (official, v.shape)          # gan_cifar.py BN1: [1, 8192]
      else:
        assert tuple(sorted(v.shape)) == tuple(sorted(want)), (official, v.shape, want)
        if var in ("W", "Filters"):
          assert v.shape == want, (official, v.shape, want)   # same layout as tflib
      seen.add(path)
      if var in ("b", "Biases", "offset"):
        assert not v.any(), official
      elif var == "scale":
        assert (v == 1).all(), official
      else:
        op, he_init, stride = init_of(layer)
        if op == "linear":
          in_dim, out_dim = shape
        elif op == "conv":
          in_dim, out_dim = shape[2], shape[3]
        else:
          out_dim, in_dim = shape[2], shape[3]
        sigma = _official_stddev(op, he_init, in_dim, out_dim, k=shape[0], stride=stride)
        assert np.abs(v).max() <= SQRT3 * sigma * (1 + 1e-6), official
        assert np.abs(v).max() >= SQRT3 * sigma * (1 - 12.0 / v.size), official
        assert v.std() == pytest.approx(sigma, rel=6 * 0.45 / math.sqrt(v.size)), official
    assert seen == set(ours), (config, side, sorted(set(ours) - seen))
  # Biases only where the official code has them: Conv1 of each Good block has none.
  if to_suite is _good_name:
    for net in nets.values():
      for layer in net.layers:
        if isinstance(layer, keras.layers.Conv2D) and layer.name.endswith("_conv1"):
          assert not layer.use_bias, layer.name


# ---- output nonlinearities and pixel ranges ------------------------------------------------------

def test_mnist_generator_is_the_official_sigmoid_net_on_minus1_1():
  import keras
  g, d = _build("wgan_gp_mnist")
  assert g.layers[-1].name == "to_minus1_1"
  assert g.layers[-2].get_config()["activation"] == "sigmoid"
  crop = g.get_layer("crop_7x7")
  assert crop.input.shape[1:3] == (8, 8) and crop.output.shape[1:3] == (7, 7)
  z = np.random.default_rng(0).standard_normal((16, 128)).astype(np.float32)
  pre = keras.Model(g.input, g.get_layer("Generator.5").output)(z).numpy()
  out = g(z).numpy()
  assert out.shape == (16, 28, 28, 1)
  np.testing.assert_allclose(out, 2.0 / (1.0 + np.exp(-pre)) - 1.0, atol=1e-5)
  # The critic is gan_mnist.py's Discriminator applied to the official [0, 1] pixels.
  first = d.get_layer("to_0_1")
  y = np.linspace(-1, 1, 28 * 28, dtype=np.float32).reshape(1, 28, 28, 1)
  np.testing.assert_allclose(first(y).numpy(), (y + 1) / 2, atol=1e-7)
  assert d.get_layer("Discriminator.3").output.shape[1:3] == (4, 4)
  assert d.output_shape == (None, 1)


@pytest.mark.parametrize("config", ["wgan_gp_cifar10", "wgan_gp_lsun_bedroom",
                                    "ttur_wgan_gp_cifar10"])
def test_image_generators_end_in_tanh(config):
  g, _ = _build(config)
  assert g.layers[-1].get_config()["activation"] == "tanh"
  x = g(np.random.default_rng(0).standard_normal((4, 128)).astype(np.float32)).numpy()
  assert x.min() >= -1 and x.max() <= 1 and x.std() > 0


# ---- the tflib normalisations --------------------------------------------------------------------

def test_tflib_layer_norm_has_one_scale_per_channel():
  from repro.models.layers import TflibLayerNorm
  x = np.random.default_rng(1).standard_normal((3, 4, 4, 5)).astype(np.float32) * 3 + 1
  layer = TflibLayerNorm()
  layer.build(x.shape)
  assert [tuple(w.shape) for w in layer.trainable_weights] == [(5,), (5,)]
  gamma, beta = np.arange(1, 6, dtype=np.float32), np.arange(5, dtype=np.float32) / 10
  layer.gamma.assign(gamma)
  layer.beta.assign(beta)
  mean = x.mean(axis=(1, 2, 3), keepdims=True)
  var = x.var(axis=(1, 2, 3), keepdims=True)
  want = (x - mean) / np.sqrt(var + 1e-5) * gamma + beta
  np.testing.assert_allclose(layer(x).numpy(), want, atol=1e-4)


def test_gan_cifar_first_batch_norm_normalises_each_feature():
  g, _ = _build("wgan_gp_cifar10")
  bn1 = g.get_layer("Generator.BN1")
  assert [tuple(w.shape) for w in bn1.trainable_weights] == [(1, 8192), (1, 8192)]
  assert [tuple(w.shape) for w in g.get_layer("Generator.BN2").trainable_weights] == [(256,)] * 2
  x = np.random.default_rng(2).standard_normal((6, 8192)).astype(np.float32) * 2 + 3
  want = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
  np.testing.assert_allclose(bn1(x, training=True).numpy(), want, atol=1e-4)


# ---- TTUR's DIM-32 critic: four images per row ---------------------------------------------------

def _ttur_cifar(pack_rows=True, width=8):
  import keras
  from repro import registry
  from repro.papers import ttur
  r = ttur.recipe("cifar10", model="wgan_gp", fid="off")
  assert r.model.args["pack_rows"] is True and r.model.args["start"] == 2
  r = r.replace(**{"model.args": dict(r.model.args, width=width, pack_rows=pack_rows)})
  keras.backend.clear_session()
  keras.utils.set_random_seed(1)
  return r, registry.build_models(r, (32, 32, 3))


def test_ttur_cifar_critic_packs_four_images_per_row_by_default():
  from repro.models.resnet import images_per_critic_row
  _, (g, d) = _ttur_cifar(width=32)
  assert g.get_layer("project").units == 2 * 2 * 8 * 32          # fact = DIM // 16 = 2
  assert d.get_layer("out").kernel.shape == (4096, 1)             # 4*4*8*DIM
  assert images_per_critic_row(d) == 4
  x = np.random.default_rng(3).uniform(-1, 1, (64, 32, 32, 3)).astype(np.float32)
  assert tuple(d(x).shape) == (16, 1)
  # Row r scores images 4r..4r+3 only.
  y = x.copy()
  y[5] = -y[5]
  changed = np.abs(d(y).numpy() - d(x).numpy())[:, 0] > 1e-6
  assert changed.tolist() == [i == 1 for i in range(16)]
  # ... as the Linear of the four images' concatenated features.
  import keras
  feats = keras.Model(d.input, d.get_layer("pack_rows").input)(x).numpy().reshape(16, 4096)
  out = d.get_layer("out")
  np.testing.assert_allclose(d(x).numpy(), feats @ out.kernel.numpy() + out.bias.numpy(),
                             rtol=1e-4, atol=1e-4)


def test_pack_rows_false_scores_each_image():
  from repro.models.resnet import images_per_critic_row
  _, (_, d) = _ttur_cifar(pack_rows=False, width=32)
  assert d.get_layer("out").kernel.shape == (1024, 1)
  assert images_per_critic_row(d) == 1
  x = np.zeros((8, 32, 32, 3), np.float32)
  assert tuple(d(x).shape) == (8, 1)


def test_wgan_gp_penalty_on_the_packed_critic_is_the_official_one():
  import tensorflow as tf
  from repro.registry import build_objective
  from repro.train.objective import StepInputs
  recipe, (_, d) = _ttur_cifar()
  objective = build_objective(recipe)
  rng = np.random.default_rng(4)
  real = tf.constant(rng.uniform(-1, 1, (8, 32, 32, 3)), tf.float32)
  fake = tf.constant(rng.uniform(-1, 1, (8, 32, 32, 3)), tf.float32)
  alpha = tf.constant(rng.uniform(0, 1, (8,)), tf.float32)
  loss, terms = objective.critic_loss(d, StepInputs(real, fake, alpha, tf.constant([1, 2]), 0))
  # gan_64x64_FID.py: interpolates = real + alpha (fake - real), alpha per image;
  # gradients = tf.gradients(Discriminator(interpolates), interpolates)[0] (of the sum of the 2
  # packed outputs), slopes = per-image norms, penalty = mean((slopes - 1)^2).
  x_hat = real + alpha[:, None, None, None] * (fake - real)
  with tf.GradientTape() as tape:
    tape.watch(x_hat)
    out = d(x_hat, training=True)
    total = tf.reduce_sum(out)
  assert tuple(out.shape) == (2, 1)
  slopes = tf.norm(tf.reshape(tape.gradient(total, x_hat), [8, -1]), axis=1)
  penalty = float(tf.reduce_mean((slopes - 1.0) ** 2))
  wasserstein = float(tf.reduce_mean(d(fake, training=True)) - tf.reduce_mean(d(real,
                                                                                training=True)))
  assert float(terms["gradient_penalty"]) == pytest.approx(penalty, rel=1e-4)
  assert float(loss) == pytest.approx(wasserstein + 10.0 * penalty, rel=1e-4, abs=1e-5)


def test_one_training_step_with_the_packed_critic():
  import tensorflow as tf
  from repro.registry import build_objective
  from repro.train.step import RandomDraws, TrainStep, build_parts
  recipe, (g, d) = _ttur_cifar()
  recipe = recipe.replace(batch_size=8)
  strategy = tf.distribute.get_strategy()
  step = TrainStep(recipe, build_objective(recipe), build_parts(recipe, None, (g, d)), strategy,
                   RandomDraws(tf.random.Generator.from_seed(0), recipe))
  real = tf.constant(np.random.default_rng(5).uniform(-1, 1, (8, 32, 32, 3)), tf.float32)
  before = [w.numpy().copy() for w in d.trainable_weights]
  terms, health = step(lambda: real, 1)
  assert all(np.isfinite(float(v)) for v in terms.values())
  assert int(health.first_bad) == -1
  assert any(not np.array_equal(a, w.numpy()) for a, w in zip(before, d.trainable_weights))


# ---- saving ------------------------------------------------------------------------------------

@pytest.mark.parametrize("config", ["wgan_gp_mnist", "wgan_gp_cifar10"])
def test_generators_with_tflib_layers_round_trip_through_keras_files(config, tmp_path):
  import keras
  g, _ = _build(config)
  path = str(tmp_path / "g.keras")
  g.save(path)
  loaded = keras.models.load_model(path)
  z = np.random.default_rng(6).standard_normal((3, 128)).astype(np.float32)
  np.testing.assert_allclose(loaded(z).numpy(), g(z).numpy(), atol=1e-6)


def test_packed_critic_round_trips_through_keras_files(tmp_path):
  import keras
  _, (_, d) = _ttur_cifar()
  path = str(tmp_path / "d.keras")
  d.save(path)
  loaded = keras.models.load_model(path)
  x = np.random.default_rng(7).uniform(-1, 1, (8, 32, 32, 3)).astype(np.float32)
  np.testing.assert_allclose(loaded(x).numpy(), d(x).numpy(), atol=1e-5)
