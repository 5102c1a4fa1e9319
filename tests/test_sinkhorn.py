"""Entropic OT / Sinkhorn: golden 2x2 case, marginals, ε -> 0, envelope gradient, the paper module."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from repro.losses import sinkhorn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIGHT = dict(max_iters=20000, tol=1e-13)


def test_two_by_two_golden_case_closed_form():
  # x = {0, 1}, y = {0.5, 2}, squared cost, uniform weights, ε = 1. With uniform 2x2 marginals the
  # plan is [[p, 1/2 - p], [1/2 - p, p]], and optimality (π_ij ∝ exp((f_i + g_j - C_ij)/ε))
  # fixes the cross ratio p² / (1/2 - p)² = exp(-(C11 + C22 - C12 - C21)/ε).
  c = np.array([[0.25, 4.0], [0.25, 1.0]])
  eps = 1.0
  k = np.exp(-(c[0, 0] + c[1, 1] - c[0, 1] - c[1, 0]) / (2 * eps))
  p = 0.5 * k / (1 + k)
  plan = np.array([[p, 0.5 - p], [0.5 - p, p]])
  transport = np.sum(plan * c)
  value = transport + eps * np.sum(plan * np.log(plan / 0.25))
  assert abs(value - 1.116733902577) < 1e-12
  assert abs(transport - 0.898638285710) < 1e-12
  x = tf.constant([[0.0], [1.0]], tf.float64)
  y = tf.constant([[0.5], [2.0]], tf.float64)
  result = sinkhorn.entropic_ot(x, y, eps, **TIGHT)
  assert abs(float(result[0]) - value) < 1e-10            # value first
  assert abs(float(result.transport_cost) - transport) < 1e-10
  np.testing.assert_allclose(result.plan.numpy(), plan, atol=1e-10)
  np.testing.assert_allclose(sinkhorn.cost_matrix(x, y).numpy(), c)
  # At convergence the dual value <a, f> + <b, g> equals the primal value.
  assert abs(float(tf.reduce_mean(result.f) + tf.reduce_mean(result.g)) - value) < 1e-10


def test_marginals_match_the_weights():
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) + 0.5
  a, b = rng.uniform(0.5, 2, 7), rng.uniform(0.5, 2, 5)
  a, b = a / a.sum(), b / b.sum()
  for eps in (1.0, 0.1, 0.02):
    result = sinkhorn.entropic_ot(x, y, eps, a=a, b=b, max_iters=5000, tol=1e-9)
    plan = result.plan.numpy()
    np.testing.assert_allclose(plan.sum(1), a, atol=1e-6)
    np.testing.assert_allclose(plan.sum(0), b, atol=1e-6)
    assert float(result.marginal_error) < 1e-6 and int(result.iterations) < 5000


def test_small_epsilon_approaches_the_exact_assignment():
  rng = np.random.default_rng(1)
  x, y = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
  c = ((x[:, None] - y[None]) ** 2).sum(-1)
  exact = min(np.mean(c[np.arange(5), list(perm)]) for perm in itertools.permutations(range(5)))
  gaps = []
  for eps in (1.0, 0.1, 0.03, 0.01, 0.003):
    result = sinkhorn.entropic_ot(x, y, eps, max_iters=3000, tol=1e-9, epsilon_scaling=0.8)
    slack = c.max() * float(result.marginal_error)      # distance of π from the feasible set
    # ⟨π, C⟩ >= exact and W_ε <= ⟨P*, C⟩ + ε KL(P* ‖ ab) = exact + ε log 5 (P* the assignment).
    assert float(result.transport_cost) >= exact - slack - 1e-12
    assert float(result.value) <= exact + eps * np.log(5) + slack + 1e-12
    gaps.append(abs(float(result.value) - exact))
  assert gaps[-1] < 0.01 and gaps == sorted(gaps, reverse=True), gaps
  # Annealing ε reaches the same solution as plain Sinkhorn where both converge.
  plain = sinkhorn.entropic_ot(x, y, 0.03, max_iters=5000, tol=1e-10)
  scaled = sinkhorn.entropic_ot(x, y, 0.03, max_iters=5000, tol=1e-10, epsilon_scaling=0.5)
  assert abs(float(plain.value) - float(scaled.value)) < 1e-8


def test_envelope_gradient_matches_finite_differences():
  rng = np.random.default_rng(2)
  x = tf.constant(rng.normal(size=(6, 2)))
  y0 = rng.normal(size=(3, 2))
  eps = 0.5

  def value(y):
    return float(sinkhorn.entropic_ot(x, tf.constant(y), eps, **TIGHT).value)

  y = tf.Variable(y0)
  with tf.GradientTape(persistent=True) as tape:
    envelope = sinkhorn.entropic_ot(x, y, eps, **TIGHT)
    autodiff = sinkhorn.entropic_ot(x, y, eps, max_iters=300, tol=1e-13, gradient="autodiff")
  grad = tape.gradient(envelope.value, y).numpy()
  h = 1e-6
  numeric = np.zeros_like(y0)
  for idx in np.ndindex(*y0.shape):
    e = np.zeros_like(y0)
    e[idx] = h
    numeric[idx] = (value(y0 + e) - value(y0 - e)) / (2 * h)
  np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)
  # Envelope gradient = Σ_ij π_ij ∇_y C_ij = Σ_i π_ij · 2 (y_j - x_i).
  plan = envelope.plan.numpy()
  by_hand = 2 * (plan.sum(0)[:, None] * y0 - plan.T @ x.numpy())
  np.testing.assert_allclose(grad, by_hand, rtol=1e-10)
  # Back-propagating through converged iterations gives the same gradient.
  np.testing.assert_allclose(tape.gradient(autodiff.value, y).numpy(), grad, rtol=1e-5, atol=1e-8)


def test_euclidean_cost_and_flattening():
  rng = np.random.default_rng(3)
  x, y = rng.normal(size=(3, 2, 2, 1)), rng.normal(size=(4, 2, 2, 1))
  expected = np.linalg.norm(x.reshape(3, 1, -1) - y.reshape(1, 4, -1), axis=-1)
  np.testing.assert_allclose(sinkhorn.cost_matrix(x, y, "euclidean").numpy(), expected, rtol=1e-10)
  np.testing.assert_allclose(sinkhorn.cost_matrix(x, y, scale=4.0).numpy(), expected ** 2 / 4)
  z = tf.Variable(x)
  with tf.GradientTape() as tape:
    c = sinkhorn.cost_matrix(z, z, "euclidean")     # zero distances on the diagonal
  assert np.all(np.isfinite(tape.gradient(c, z).numpy()))
  with pytest.raises(ValueError):
    sinkhorn.cost_matrix(x, y, "cosine")


def test_debiased_divergence():
  rng = np.random.default_rng(4)
  x, y = rng.normal(size=(8, 2)), rng.normal(size=(8, 2)) + 1.0
  kw = dict(max_iters=2000, tol=1e-10)
  same, _ = sinkhorn.sinkhorn_divergence(x, x, 0.3, **kw)
  assert abs(float(same)) < 1e-8
  div, xy = sinkhorn.sinkhorn_divergence(x, y, 0.3, **kw)
  assert float(div) > 0 and float(div) < float(xy.value)


def test_dual_objective_and_potential_plan_at_the_sinkhorn_potentials():
  rng = np.random.default_rng(5)
  x, y = rng.normal(size=(6, 2)), rng.normal(size=(5, 2))
  eps = 0.4
  result = sinkhorn.entropic_ot(x, y, eps, **TIGHT)
  c = sinkhorn.cost_matrix(x, y)
  dual = sinkhorn.dual_objective(result.f, result.g, c, eps)
  assert abs(float(dual) - float(result.value)) < 1e-9
  # The plan of the potentials, as a density w.r.t. μ⊗ν, is n·m·π.
  np.testing.assert_allclose(sinkhorn.potential_plan(result.f, result.g, c, eps).numpy() / 30,
                             result.plan.numpy(), rtol=1e-8)
  yv = tf.Variable(y)
  with tf.GradientTape() as tape:
    loss = sinkhorn.potential_transport_loss(result.f[:, None], result.g[:, None],
                                             sinkhorn.cost_matrix(x, yv), eps)
  assert abs(float(loss) - float(result.transport_cost)) < 1e-9
  plan = result.plan.numpy()
  np.testing.assert_allclose(tape.gradient(loss, yv).numpy(),
                             2 * (plan.sum(0)[:, None] * y - plan.T @ x), rtol=1e-7)
  # The dual is maximised at the Sinkhorn potentials: perturbing them lowers it.
  for delta in (0.05, -0.05):
    assert float(sinkhorn.dual_objective(result.f + delta * rng.normal(size=6), result.g, c,
                                         eps)) < float(dual)


def test_pixel_sinkhorn_training_moves_samples_to_the_data(tmp_path):
  from repro.metrics import toy
  from repro import registry
  from repro.papers import sinkhorn as paper
  from repro.train.runner import Trainer
  recipe = paper.recipe("8gaussians", solver="sinkhorn", space="pixel")
  assert not registry.build_objective(recipe).trains_critic
  recipe = recipe.replace(steps=100, batch_size=128, log_every=50, save_every=100, **{
      "eval.every": 100, "g_opt.lr": 1e-3, "model.args.hidden": (64, 64)})
  trainer = Trainer(recipe, str(tmp_path), quiet=True)
  assert not trainer.objective.trains_critic
  from repro.data import toy as toy_data
  centers, _ = toy_data.mixture_spec("8gaussians")
  reference = centers[np.random.default_rng(0).integers(0, 8, 2000)]
  before = toy.mmd_klwgan(trainer.sample(2000), reference)
  terms = trainer.train()
  after = toy.mmd_klwgan(trainer.sample(2000), reference)
  assert after < 0.5 * before, (before, after)
  assert terms["generator/sinkhorn_iterations"] >= 1
  assert os.path.isdir(tmp_path / "checkpoints") and os.listdir(tmp_path / "samples")


def test_dual_and_feature_objectives_run_one_step(tmp_path):
  from repro.papers import sinkhorn as paper
  from repro.train.runner import Trainer
  for solver, space in (("dual", "pixel"), ("sinkhorn", "feature")):
    recipe = paper.recipe("8gaussians", solver=solver, space=space, debias=space == "feature",
                          sinkhorn_iters=5)
    recipe = recipe.replace(steps=2, batch_size=32, n_critic=2, log_every=1, save_every=2, **{
        "eval.every": 2, "model.args.hidden": (16,), "eval.metric": "none"})   # no evaluation
    terms = Trainer(recipe, str(tmp_path / solver), quiet=True).train()
    assert np.isfinite(terms["critic/ot_estimate"]) and np.isfinite(terms["generator/loss"])


@pytest.mark.parametrize("kw, message", [
    (dict(solver="dual", space="feature"), "--space=feature"),
    (dict(solver="dual", debias=True), "--debias"),
    (dict(epsilon=-1.0), "--epsilon"),
    (dict(sinkhorn_iters=0), "--sinkhorn_iters"),
    (dict(solver="sinkhorn", space="feature", feature_dim=0), "--feature_dim"),
])
def test_bad_settings_are_usage_errors(kw, message):
  from repro.errors import UsageError
  from repro.papers import sinkhorn as paper
  with pytest.raises(UsageError, match=message):
    paper.recipe("mnist", **kw)


def test_bad_flag_exits_2_with_one_line():
  env = dict(os.environ, PYTHONPATH=ROOT)
  proc = subprocess.run([sys.executable, "-m", "repro.papers.sinkhorn", "--solver=dual",
                         "--space=feature", "--dataset=8gaussians", "--workdir=/nonexistent/x"],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
  lines = [l for l in proc.stderr.splitlines() if l.strip()]
  assert proc.returncode == 2, proc.stderr
  assert lines[-1].startswith("error: --solver=dual"), proc.stderr
  assert not any("Traceback" in l for l in lines), proc.stderr
