"""KL-WGAN: losses against numpy, f-wgan's synthetic sets, PyTorch-style spectral norm, a brief run."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from repro.data import fwgan_synthetic
from repro.losses import klwgan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- losses ------------------------------------------------------------------------------------

def _np_weights(d, t):
  e = np.exp(d / t)
  return e / e.mean()


def _np_losses(d_real, d_fake, t):
  r = _np_weights(d_fake, t)
  dis = np.mean(np.maximum(0, 1 - d_real)) + np.mean(np.maximum(0, 1 + r * d_fake))
  gen = -np.mean(r * d_fake)
  return dis, gen


D_REAL = np.array([1.5, 0.2, -0.3, 2.0, 0.9], np.float64)
D_FAKE = np.array([-1.2, 0.4, -0.1, 0.8, -2.5], np.float64)


@pytest.mark.parametrize("t", [1.0, 5.0, 0.5])
def test_losses_match_numpy(t):
  dis, gen = _np_losses(D_REAL, D_FAKE, t)
  got_dis = klwgan.discriminator_loss(tf.constant(D_REAL[:, None]), tf.constant(D_FAKE[:, None]), t)
  got_gen = klwgan.generator_loss(tf.constant(D_FAKE), t)
  assert abs(float(got_dis) - dis) < 1e-12 and abs(float(got_gen) - gen) < 1e-12
  np.testing.assert_allclose(klwgan.importance_weights(tf.constant(D_FAKE), t).numpy(),
                             _np_weights(D_FAKE, t), rtol=1e-12)


def test_golden_values_by_hand():
  # D(x̃) = [0, log 3], T = 1: r = 2·[1, 3]/4 = [0.5, 1.5]; r·D = [0, 1.5 log 3].
  d_fake = tf.constant([0.0, np.log(3.0)], tf.float64)
  d_real = tf.constant([2.0, 0.5], tf.float64)
  np.testing.assert_allclose(klwgan.importance_weights(d_fake).numpy(), [0.5, 1.5], rtol=1e-12)
  expected_dis = (0 + 0.5) / 2 + (1 + (1 + 1.5 * np.log(3))) / 2
  assert abs(float(klwgan.discriminator_loss(d_real, d_fake)) - expected_dis) < 1e-12
  assert abs(float(klwgan.generator_loss(d_fake)) + 0.75 * np.log(3)) < 1e-12


def test_weights_sum_to_n_and_are_stable():
  rng = np.random.default_rng(0)
  for n, scale in ((7, 1.0), (256, 30.0), (64, 300.0)):
    d = tf.constant(rng.normal(size=n) * scale, tf.float32)
    r = klwgan.importance_weights(d, 1.0).numpy()
    assert np.all(np.isfinite(r)) and np.all(r >= 0)
    assert abs(r.sum() - n) < 1e-3 * n


def test_infinite_temperature_is_hinge():
  d_real, d_fake = tf.constant(D_REAL), tf.constant(D_FAKE)
  for t in (1e9, float("inf")):
    np.testing.assert_allclose(klwgan.importance_weights(d_fake, t).numpy(), 1.0, atol=1e-8)
    assert abs(float(klwgan.discriminator_loss(d_real, d_fake, t)) -
               float(klwgan.hinge_discriminator_loss(d_real, d_fake))) < 1e-8
    assert abs(float(klwgan.generator_loss(d_fake, t)) -
               float(klwgan.hinge_generator_loss(d_fake))) < 1e-8
  hinge = np.mean(np.maximum(0, 1 - D_REAL)) + np.mean(np.maximum(0, 1 + D_FAKE))
  assert abs(float(klwgan.hinge_discriminator_loss(d_real, d_fake)) - hinge) < 1e-12
  assert abs(float(klwgan.hinge_generator_loss(d_fake)) + D_FAKE.mean()) < 1e-12


def test_gradient_flows_through_the_weights():
  # L = -(1/n) Σ r_i d_i with r = n·softmax(d/T): dL/dd_j = -(1/n)[r_j + Σ_i d_i r_i (δ_ij - s_j)/T].
  t, d = 2.0, D_FAKE
  n = len(d)
  s = np.exp(d / t) / np.exp(d / t).sum()
  r = n * s
  expected = -(r + (d * r - s * np.sum(d * r)) / t) / n
  x = tf.Variable(d)
  with tf.GradientTape() as tape:
    loss = klwgan.generator_loss(x, t)
  np.testing.assert_allclose(tape.gradient(loss, x).numpy(), expected, rtol=1e-10)
  assert not np.allclose(expected, -r / n)   # not the stop-gradient gradient


def test_divergence_estimate_matches_kl_wgan_py():
  r = _np_weights(D_FAKE, 1.0)
  norm = np.exp(D_FAKE).mean()
  log_r = D_FAKE - np.log(np.exp(D_FAKE).sum()) + np.log(len(D_FAKE))
  expected = np.mean(r / norm * log_r) - np.mean(r * D_FAKE) + D_REAL.mean()
  got = klwgan.kl_divergence_estimate(tf.constant(D_REAL), tf.constant(D_FAKE))
  assert abs(float(got) - expected) < 1e-12
  assert abs(float(klwgan.hinge_divergence_estimate(D_REAL, D_FAKE)) -
             (D_REAL.mean() - D_FAKE.mean())) < 1e-12


def test_parse_loss_type():
  assert klwgan.parse_loss_type("hinge") == ("hinge", None)
  assert klwgan.parse_loss_type("kl") == ("kl", 1.0)
  assert klwgan.parse_loss_type("kl_5") == ("kl", 5.0)
  for bad in ("kl_0", "kl_x", "dcgan"):
    with pytest.raises(ValueError):
      klwgan.parse_loss_type(bad)


# ---- data --------------------------------------------------------------------------------------

def test_mog_is_f_wgans_two_gaussians_and_matches_the_per_point_loop():
  src = fwgan_synthetic.source("mog", seed=123)          # the seed is overridden by Grid's seed(1)
  np.testing.assert_allclose(src.means, [[4.0, 0.0], [-4.0, 0.0]])
  points = src.sample(300)
  # Mixture.sample as written in nystrom_kexpfam: choice first, then one randn(2, 1) per point.
  rng = np.random.RandomState(1)
  rng.permutation(4)
  comp = rng.choice(2, 300, p=[0.5, 0.5])
  loop = np.array([(0.5 * np.eye(2)).dot(rng.randn(2, 1)).T[0] + src.means[c] for c in comp])
  np.testing.assert_array_equal(points, loop)
  # Grid reseeds: training and evaluation sets are the same points in every run.
  np.testing.assert_array_equal(fwgan_synthetic.training_points("mog", 0),
                                fwgan_synthetic.evaluation_points("mog", 7))


def test_sets_have_f_wgans_distributions():
  n = 20000
  pts = {name: fwgan_synthetic.training_points(name, 3, n) for name in fwgan_synthetic.NAMES}
  b = pts["banana"]
  assert abs(b[:, 0].std() - 2.0) < 0.05
  assert (b[:, 1] - 0.2 * (b[:, 0] ** 2 - 4)).std() == pytest.approx(1.0, abs=0.03)
  radius = np.linalg.norm(pts["ring"], axis=1)
  assert abs(radius.mean() - 5.0) < 0.01 and abs(radius.std() - 0.2) < 0.01
  assert np.all(np.abs(pts["square"]) <= 3.0) and np.abs(pts["square"]).max() > 2.99
  c = pts["cosine"]
  assert np.all(np.abs(c[:, 0]) <= 4.0)
  assert abs((c[:, 1] - 3 * np.cos(2 * c[:, 0])).std() - 1.0) < 0.03
  f = pts["funnel"]
  assert abs(f[:, 0].std() - 2.0) < 0.05
  scaled = f[:, 1] / np.sqrt(np.clip(np.exp(-f[:, 0]), 0, 10))
  assert abs(scaled.std() - 1.0) < 0.03
  # Independent draws for the other sets: evaluation != training, seeds differ.
  assert not np.allclose(fwgan_synthetic.training_points("ring", 0),
                         fwgan_synthetic.evaluation_points("ring", 0))


def test_pipeline_keeps_f_wgans_loader_order():
  from repro import data
  ds = data.get_dataset("banana", "train", 256, seed=4)
  points = fwgan_synthetic.training_points("banana", 4).astype(np.float32)
  batches = [b.numpy() for b in ds.take(21)]
  assert [len(b) for b in batches[:20]] == [256] * 19 + [136]
  np.testing.assert_array_equal(np.concatenate(batches[:20]), points)
  np.testing.assert_array_equal(batches[20], points[:256])
  assert data.dataset_info("ring").shape == (2,)


# ---- spectral norm -----------------------------------------------------------------------------

def test_sn_dense_matches_one_torch_power_iteration():
  from repro.models.spectral import SNDense
  layer = SNDense(3, sn_seed=1)
  x = tf.constant(np.random.default_rng(0).normal(size=(4, 5)), tf.float32)
  layer(x)
  kernel = layer.kernel.numpy().astype(np.float64)
  w = kernel.T                                         # torch weight [out, in]
  u0, bias = layer.sn_u.numpy().astype(np.float64), layer.bias.numpy()
  assert abs(np.linalg.norm(u0) - 1) < 1e-6
  v = w.T @ u0
  v /= np.linalg.norm(v)
  u = w @ v
  u /= np.linalg.norm(u)
  sigma = u @ w @ v
  y = layer(x, training=True).numpy()
  np.testing.assert_allclose(y, x.numpy() @ (kernel / sigma) + bias, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(layer.sn_u.numpy(), u, rtol=1e-5, atol=1e-6)
  before = layer.sn_u.numpy().copy()
  layer(x, training=False)                             # inference: no power iteration
  np.testing.assert_array_equal(layer.sn_u.numpy(), before)
  step = tf.function(lambda: layer(x, training=True))
  for _ in range(300):
    step()
  assert abs(layer.spectral_norm_estimate() - np.linalg.svd(kernel, compute_uv=False)[0]) < 1e-4


def test_sn_gradient_flows_through_sigma():
  from repro.models.spectral import SNConv2D
  layer = SNConv2D(2, 3, padding="same", sn_seed=2)
  x = tf.constant(np.random.default_rng(1).normal(size=(2, 5, 5, 3)), tf.float32)
  layer(x, training=True)
  kernel = layer.kernel

  def f(k):
    old = kernel.numpy()
    kernel.assign(k)
    out = float(tf.reduce_sum(tf.sin(layer(x, training=False))))
    kernel.assign(old)
    return out

  with tf.GradientTape() as tape:
    out = tf.reduce_sum(tf.sin(layer(x, training=False)))
  grad = tape.gradient(out, kernel).numpy()
  k0 = kernel.numpy().astype(np.float64)
  h = 1e-2
  for idx in [(0, 0, 0, 0), (1, 2, 1, 1), (2, 1, 2, 0)]:
    e = np.zeros_like(k0)
    e[idx] = h
    numeric = (f((k0 + e).astype(np.float32)) - f((k0 - e).astype(np.float32))) / (2 * h)
    assert abs(numeric - grad[idx]) < 2e-2 * max(1.0, abs(numeric))


def test_biggan_nets_build_and_clone_for_the_ema():
  import keras
  from repro.models import snmodels
  for size, channels in ((32, 3), (28, 1)):
    g = snmodels.biggan_generator(size, channels, 16, ch=2)
    d = snmodels.biggan_critic(size, channels, ch=2)
    assert g.output_shape == (None, size, size, channels) and d.output_shape == (None, 1)
    ema = keras.models.clone_model(g)       # the trainer's EMA copy of an SN generator
    ema.set_weights(g.get_weights())
    z = np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32)
    np.testing.assert_allclose(ema(z).numpy(), g(z).numpy(), rtol=1e-5, atol=1e-6)
    assert d(g(z), training=True).shape == (3, 1)


# ---- tracing (runs/klwgan_table_r4_a.log, r4_b.log) ---------------------------------------------

def _step_inputs():
  from repro.train.objective import StepInputs
  rng = np.random.default_rng(0)
  return StepInputs(real=tf.constant(rng.normal(size=(16, 2)), tf.float32),
                    fake=tf.constant(rng.normal(size=(16, 2)), tf.float32),
                    u=tf.zeros([16]), seed=tf.constant([1, 2]), step=tf.constant(0, tf.int64))


@pytest.mark.parametrize("loss", ["kl", "hinge"])
def test_objective_traces_after_its_source_file_was_edited(loss, monkeypatch, caplog):
  """r4_b: klwgan.py was edited (3 lines inserted above the class) while a --table run went on;
  the next cell's trace had AutoGraph read critic_loss from the new file at its old line number,
  i.e. __init__'s body, and raise "--loss must be kl or hinge, got <Functional name=critic>"."""
  import linecache
  from repro.models import snmodels
  from repro.papers import klwgan as paper
  path = paper.__file__
  real_getlines = linecache.getlines
  edited = ["\n"] * 3 + real_getlines(path)

  def getlines(filename, module_globals=None):
    return edited if filename == path else real_getlines(filename, module_globals)

  monkeypatch.setattr(linecache, "getlines", getlines)
  critic, inputs = snmodels.fwgan_mlp_critic(), _step_inputs()
  objective = paper.KLWGANObjective(loss, 1.0)

  @tf.function
  def step():
    d_loss, terms = objective.critic_loss(critic, inputs)
    g_loss, _ = objective.generator_loss(critic, inputs)
    return d_loss, g_loss, terms["loss_fake"]

  with caplog.at_level("WARNING"):
    values = [float(v) for v in step()]
  assert np.all(np.isfinite(values)), values
  assert not [r for r in caplog.records if "AutoGraph" in r.getMessage()]


def test_pin_sources_keeps_the_text_the_process_imported(tmp_path, monkeypatch):
  import importlib
  import inspect
  import linecache
  from repro.papers import klwgan as paper
  module_path = tmp_path / "klwgan_pin_probe.py"
  module_path.write_text("def f(x):\n  return x + 1\n")
  monkeypatch.syspath_prepend(str(tmp_path))
  probe = importlib.import_module("klwgan_pin_probe")
  try:
    assert paper.pin_sources([probe]) == 1
    module_path.write_text("# edited\n\ndef g(y):\n  return y - 1\n\n\ndef f(x):\n  return x + 2\n")
    assert inspect.getsource(probe.f) == "def f(x):\n  return x + 1\n"
    # The default pins the loaded repro modules, the paper module among them.
    assert paper.pin_sources() >= 5 and linecache.cache[paper.__file__][1] is None
  finally:
    sys.modules.pop("klwgan_pin_probe", None)
    for name in (str(module_path), paper.__file__):
      linecache.cache.pop(name, None)


def test_objectives_after_critic_step_converts():
  """r4_a: "AutoGraph could not transform Objective.after_critic_step" on every trace (a body
  with only a docstring). to_graph raises where a trace would warn and run it unconverted."""
  from repro.train import objective
  tf.autograph.to_graph(objective.Objective.after_critic_step)

  def docstring_only(critic):
    """The old body."""

  with pytest.raises(Exception):
    tf.autograph.to_graph(docstring_only)


# ---- training ----------------------------------------------------------------------------------

def test_brief_training_beats_the_untrained_generator(tmp_path):
  import keras
  from repro import registry
  from repro.metrics import toy
  from repro.papers import klwgan as paper
  keras.utils.set_random_seed(0)
  untrained, _ = registry.build_models(paper.synthetic_recipe("mog", epochs=1, seed=0), (2,))
  reference = fwgan_synthetic.evaluation_points("mog", 0)
  z = np.random.default_rng(1).standard_normal((5000, 2)).astype(np.float32)
  before = 1e3 * toy.mmd_klwgan(untrained(z).numpy(), reference)
  result = paper.train_cell("mog", "kl", 0, 6, str(tmp_path / "cell"))
  assert result["steps"] == 120 and np.isfinite(result["loglik"])
  assert result["mmd_x1e3"] < 0.5 * before, (result, before)
  # Cached: a second call does not retrain.
  assert paper.train_cell("mog", "kl", 0, 6, str(tmp_path / "cell")) == result


def test_table_wall_time_is_the_sum_of_its_runs(tmp_path, monkeypatch):
  """The table process was idle 27-31 s in clear_session() between cells: deleting the previous
  cell's autotuned tf.data iterator waited for its tuning thread's sleep."""
  import json
  import time
  from repro.papers import klwgan as paper
  assert not fwgan_synthetic.get_dataset("mog").options().autotune.enabled
  monkeypatch.setattr(paper, "pin_sources", lambda: 0)
  start = time.time()
  paper.run_table(("mog",), 1, 1, str(tmp_path))
  wall = time.time() - start
  with open(tmp_path / "table.json") as f:
    runs = json.load(f)["results"]
  busy = sum(r["wall_seconds"] for r in runs)
  # the idle time was 27-31 s between cells; 1% of the runs' time absorbs a loaded machine's noise
  assert len(runs) == 2 and wall - busy < max(5.0, 0.01 * busy), (wall,
                                                                    [r["wall_seconds"] for r in runs])


@pytest.mark.parametrize("args, message", [
    (["--table=images"], "--table must be 'synthetic'"),
    (["--table=synthetic", "--sets=mog,moon"], "unknown set"),
    (["--table=synthetic", "--runs=0"], "--runs"),
    (["--table=synthetic", "--loss=hinge"], "trains both losses"),
    (["--dataset=cifar10", "--temperature=-1"], "--temperature"),
    (["--epochs=0"], "--epochs"),
])
def test_bad_flags_are_usage_errors(args, message):
  import functools
  from absl import flags
  from repro.errors import UsageError
  from repro.papers import klwgan as paper
  # The paper's flags (and --dataset) on their own FlagValues: flags are defined only by main().
  values = flags.FlagValues()

  class Into:
    def __getattr__(self, name):
      return functools.partial(getattr(flags, name), flag_values=values)

  Into().DEFINE_string("dataset", None, "Dataset name.")
  paper.define_flags(Into())
  values(["klwgan", *args])
  with pytest.raises(UsageError, match=message):
    paper.validate_flags(values)


def test_bad_flag_exits_2_with_one_line():
  env = dict(os.environ, PYTHONPATH=ROOT)
  proc = subprocess.run([sys.executable, "-m", "repro.papers.klwgan", "--table=images"], cwd=ROOT,
                        env=env, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2, proc.stderr
  lines = [l for l in proc.stderr.splitlines() if l.strip()]
  assert lines[-1] == "error: --table must be 'synthetic', got 'images'", proc.stderr
  assert sum(l.startswith("error") or "Traceback" in l for l in lines) == 1, proc.stderr


def test_joint_batch_scores_fake_and_real_in_one_critic_call():
  """BigGAN.py G_D without --split_D: D(cat([G_z, x])), one spectral-norm power iteration per
  critic update; kl_wgan.py calls the critic twice (two iterations)."""
  from repro.models import snmodels
  from repro.papers import klwgan as paper
  inputs = _step_inputs()
  joint_critic, call_critic = snmodels.fwgan_mlp_critic(), snmodels.fwgan_mlp_critic()
  call_critic.set_weights(joint_critic.get_weights())
  loss, terms = paper.KLWGANObjective("kl", 5.0, joint_batch=True).critic_loss(joint_critic, inputs)
  scores = call_critic(tf.concat([inputs.fake, inputs.real], 0), training=True)   # one call
  real_term, fake_term = klwgan.discriminator_loss_terms(scores[16:], scores[:16], 5.0)
  np.testing.assert_allclose(float(loss), float(real_term + fake_term), rtol=1e-6)
  for a, b in zip(joint_critic.get_weights(), call_critic.get_weights()):   # u/v included
    np.testing.assert_array_equal(a, b)
  assert paper.recipe("cifar10").objective.params["joint_batch"] is True
  assert "joint_batch" not in paper.recipe("mog").objective.params
