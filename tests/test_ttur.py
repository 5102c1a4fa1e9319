"""TTUR: GAN losses against numpy, the toy saddle, Table 1 settings, the DCGAN nets, FID during
training (fake extractor), and a short two-time-scale run on a 2-D mixture."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from repro import registry
from repro.errors import UsageError
from repro.losses import ttur as losses
from repro.papers import ttur

import toy_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGITS_REAL = np.array([-5.0, 1.4, 12.5, 2.7])   # TF-GAN's loss-test vectors
LOGITS_FAKE = np.array([10.0, 4.4, -5.5, 3.6])


def np_softplus(x):
  return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


def test_gan_losses_golden():
  # DCGAN_FID_batched model.py: sigmoid cross-entropy, label 1 real / 0 fake; G: label 1 on fakes.
  expected_d = (np.mean(-np.log(1.0 / (1.0 + np.exp(-LOGITS_REAL))))
                + np.mean(-np.log(1.0 - 1.0 / (1.0 + np.exp(-LOGITS_FAKE)))))
  expected_g = np.mean(-np.log(1.0 / (1.0 + np.exp(-LOGITS_FAKE))))
  assert abs(expected_d - (np.mean(np_softplus(-LOGITS_REAL)) + np.mean(np_softplus(LOGITS_FAKE)))) < 1e-9
  got_d = float(losses.discriminator_loss(tf.constant(LOGITS_REAL[:, None], tf.float32),
                                          tf.constant(LOGITS_FAKE[:, None], tf.float32)))
  got_g = float(losses.generator_loss(tf.constant(LOGITS_FAKE, tf.float32)))
  assert abs(got_d - expected_d) < 1e-5
  assert abs(got_g - expected_g) < 1e-5
  real_term, fake_term = losses.discriminator_loss_terms(LOGITS_REAL, LOGITS_FAKE)
  assert abs(float(real_term) + float(fake_term) - expected_d) < 1e-9


def test_generator_loss_is_non_saturating():
  # d/dl of mean softplus(-l) = -sigmoid(-l)/n: close to -1/n for a confident critic (l << 0),
  # where the minimax loss log(1 - sigmoid(l)) would give ~0.
  logits = tf.constant([-20.0, -20.0])
  with tf.GradientTape() as tape:
    tape.watch(logits)
    loss = losses.generator_loss(logits)
  grad = tape.gradient(loss, logits).numpy()
  assert np.all(np.abs(grad - (-0.5)) < 1e-6)


def test_saddle_gradients_match_autodiff():
  x, y = tf.constant([0.5, -1.2, 3.0]), tf.constant([-0.4, 2.0, 0.1])
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([x, y])
    f = tf.reduce_sum(losses.saddle_objective(x, y))
  fx, fy = losses.saddle_gradients(x.numpy(), y.numpy())
  assert np.max(np.abs(tape.gradient(f, x).numpy() - fx)) < 1e-4
  assert np.max(np.abs(tape.gradient(f, y).numpy() - fy)) < 1e-4
  assert losses.saddle_objective(0.0, 0.0) == 100.0


def test_saddle_first_step_by_hand():
  # Notebook `run`: x -= lr_x (2x(100 - y²) + ξ1); then y += lr_y (-2y(1 + x_new²) + ξ2).
  rng = np.random.default_rng(7)
  xi = np.random.default_rng(7).normal(size=(1, 2))[0]
  run = losses.saddle_run(0.01, 0.001, n_iter=1, sigma=1.0, rng=rng)
  x1 = 0.5 - 0.01 * (2 * 0.5 * (100 - 0.16) + xi[0])
  y1 = -0.4 + 0.001 * (-2 * -0.4 * (1 + x1 * x1) + xi[1])
  assert abs(run["x"][1] - x1) < 1e-12 and abs(run["y"][1] - y1) < 1e-12
  assert abs(run["objective"][1] - (1 + x1 * x1) * (100 - y1 * y1)) < 1e-9


def test_saddle_reproduces_the_notebook_qualitatively():
  results = {r["case"]: r for r in ttur.run_saddle(seed=0)}
  # The fast one-time-scale run keeps wandering above 100 (notebook: f = 162.97 at the end) ...
  assert not results["orig fast"]["settled"]
  assert results["orig fast"]["tail_mean_abs_deviation"] > 5.0
  # ... the slow and the two two-time-scale runs settle at f ≈ 100, near the saddle.
  for case in ("orig slow", "TTUR x slow", "TTUR y slow"):
    assert results[case]["settled"], results[case]
    assert abs(results[case]["objective"] - 100.0) < 1.0
  assert results["TTUR x slow"]["norm"] < 0.1 and results["orig slow"]["norm"] < 0.1
  # Over seeds: the slow time scale in x always settles, the fast one-time-scale run rarely does.
  fast, x_slow = [], []
  for seed in range(1, 9):
    r = {q["case"]: q for q in ttur.run_saddle(seed=seed, n_iter=5000)}
    fast.append(r["orig fast"]["tail_mean_abs_deviation"])
    x_slow.append(r["TTUR x slow"]["tail_mean_abs_deviation"])
  assert max(x_slow) < 0.05 and np.median(fast) > 5.0


def test_saddle_main_writes_outputs(tmp_path):
  ttur.saddle_main(str(tmp_path), seed=0, n_iter=500, quiet=True)
  summary = json.load(open(tmp_path / "saddle.json"))
  assert [r["case"] for r in summary["runs"]] == ["orig fast", "orig slow", "TTUR x slow",
                                                  "TTUR y slow"]
  assert (tmp_path / "saddle.png").stat().st_size > 0
  assert len(os.listdir(tmp_path / "tensorboard")) == 4


@pytest.mark.parametrize("model, dataset, ttur_on, d_lr, g_lr, n_critic", [
    ("dcgan", "celeb_a", True, 1e-5, 5e-4, 1), ("dcgan", "celeb_a", False, 5e-4, 5e-4, 1),
    ("dcgan", "cifar10", True, 1e-4, 5e-4, 1), ("dcgan", "cifar10", False, 1e-4, 1e-4, 1),
    ("dcgan", "svhn", True, 1e-5, 1e-4, 1), ("dcgan", "svhn", False, 5e-5, 5e-5, 1),
    ("dcgan", "lsun_bedroom", True, 1e-5, 1e-4, 1), ("dcgan", "lsun_bedroom", False, 5e-5, 5e-5, 1),
    ("wgan_gp", "cifar10", True, 3e-4, 1e-4, 1), ("wgan_gp", "cifar10", False, 1e-4, 1e-4, 5),
    ("wgan_gp", "lsun_bedroom", True, 3e-4, 1e-4, 1),
    ("wgan_gp", "lsun_bedroom", False, 1e-4, 1e-4, 5),
])
def test_table1_settings(model, dataset, ttur_on, d_lr, g_lr, n_critic):
  r = ttur.recipe(dataset, model=model, ttur=ttur_on, fid="off")
  assert (r.d_opt.lr, r.g_opt.lr, r.n_critic) == (d_lr, g_lr, n_critic)
  assert r.batch_size == 64
  objective = registry.build_objective(r)
  if model == "dcgan":
    assert (r.model.arch, r.z_dim, r.z_dist, r.d_opt.beta1) == ("dcgan_tf", 100, "uniform", 0.5)
    assert objective.name == "gan"
  else:
    assert (r.model.arch, r.z_dim, r.z_dist) == ("resnet_good", 128, "normal")
    assert (r.d_opt.beta1, r.d_opt.beta2) == (0.0, 0.9) and objective.gp_weight == 10.0
    assert r.model.args["width"] == (32 if dataset == "cifar10" else 64)


def test_unsupported_combinations_are_usage_errors():
  with pytest.raises(UsageError, match="no wgan_gp setting"):
    ttur.recipe("celeb_a", model="wgan_gp", fid="off")
  with pytest.raises(UsageError, match="--model"):
    ttur.recipe("cifar10", model="began", fid="off")


def test_dcgan_tf_nets_follow_conv_out_size_same():
  from repro.models import build_models
  from repro.models.dcgan_tf import conv_out_sizes
  assert conv_out_sizes(28) == [28, 14, 7, 4, 2] and conv_out_sizes(64) == [64, 32, 16, 8, 4]
  for shape in ((28, 28, 1), (32, 32, 3), (64, 64, 3)):
    g, d = build_models("dcgan_tf", shape, 100, width=8)
    assert g.output_shape[1:] == shape and d.output_shape[1:] == (1,)
    s16 = conv_out_sizes(shape[0])[4]
    assert g.get_layer("g_h0_lin").units == 8 * 8 * s16 * s16
  # A 4 -> 7 transposed conv equals TF1's conv2d_transpose with an explicit output shape.
  g, _ = build_models("dcgan_tf", (28, 28, 1), 100, width=8)
  layer = g.get_layer("g_h2")
  x = tf.random.normal([2, 4, 4, 32], seed=1)
  ref = tf.nn.conv2d_transpose(x, layer.kernel, [2, 7, 7, 16], [1, 2, 2, 1], "SAME") + layer.bias
  assert float(tf.reduce_max(tf.abs(layer(x) - ref))) < 1e-5


def _train(recipe, workdir):
  from repro.train.runner import Trainer
  return Trainer(recipe, workdir, quiet=True)


def test_two_time_scale_wgan_gp_learns_8gaussians(tmp_path):
  r = ttur.recipe("8gaussians", model="wgan_gp", fid="off")
  assert (r.d_opt.lr, r.g_opt.lr, r.n_critic) == (3e-4, 1e-4, 1)
  # A short run: the two time scales kept (d_lr = 3 g_lr), both 3.3x faster, decayed to 0.
  r = r.replace(steps=1000, log_every=1000, save_every=1000, seed=0, **{
      "model.args": dict(hidden=(128, 128, 128)), "eval.every": 1000, "d_opt.lr": 1e-3,
      "g_opt.lr": 1e-3 / 3, "d_opt.schedule": "linear", "g_opt.schedule": "linear"})
  before, after = toy_runs.coverage_before_and_after(r, tmp_path)
  assert after.high_quality_fraction > before.high_quality_fraction + 0.25
  assert after.modes_covered >= before.modes_covered + 5


def test_fid_during_training_keeps_best_and_curve(tmp_path, monkeypatch):
  # Hermetic: the fake extractor, a tiny DCGAN, 200 samples per evaluation.
  monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
  recipe = ttur.recipe("fashion_mnist", fid="on", fid_samples=200, fid_extractor="fake",
                       batch_size=16, steps=4, eval_every=2, save_every=4, log_every=4)
  recipe = recipe.replace(**{"model.arch": "dcgan",
                          "model.args": dict(width=8, g_norm="batch", d_norm="none")})
  assert (recipe.eval.metric, recipe.eval.best, recipe.eval.best_mode) == ("fid", "fid", "min")
  trainer = _train(recipe, str(tmp_path))
  assert trainer.best_metric == ("fid", "min")
  trainer.train()
  rows = [json.loads(line) for line in open(tmp_path / "eval.jsonl")]
  assert [r["step"] for r in rows] == [2, 4] and all(np.isfinite(r["fid"]) for r in rows)
  assert os.listdir(tmp_path / "cache")   # reference statistics cached once
  assert os.listdir(tmp_path / "best")
  protocol = json.load(open(tmp_path / "fid_protocol.json"))
  assert protocol["n_fake"] == 200 and protocol["extractor"]["name"] == "fake"


def test_fid_auto_without_weights_is_off_and_on_fails(tmp_path, capsys):
  from repro.errors import DataUnavailableError
  missing = str(tmp_path / "none.pb")
  auto = ttur.recipe("cifar10", fid="auto", fid_samples=10, inception_graph=missing)
  assert auto.eval.metric == "fid"
  assert registry.EVALUATORS.build(auto.eval.metric, auto).fn is None
  assert "FID off (--fid=auto)" in capsys.readouterr().out
  on = ttur.recipe("cifar10", fid="on", fid_samples=10, inception_graph=missing)
  with pytest.raises(DataUnavailableError):
    registry.EVALUATORS.build(on.eval.metric, on)


def test_cli_bad_flags_exit_2():
  env = dict(os.environ, PYTHONPATH=ROOT)
  for args in (["--dataset=8gaussians", "--model=began"], ["--steps=many"]):
    proc = subprocess.run([sys.executable, "-m", "repro.papers.ttur", *args,
                           "--workdir=/nonexistent/never"], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1
