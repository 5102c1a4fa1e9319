"""Entropy-regularised optimal transport for GANs (Sanjabi, Ba, Razaviyayn & Lee, NeurIPS 2018,
"On the Convergence and Robustness of Training GANs with Regularized Optimal Transport",
https://arxiv.org/abs/1802.08249; no official code is published).

Between weighted point clouds μ = Σ a_i δ_{x_i}, ν = Σ b_j δ_{y_j} with cost C_ij = c(x_i, y_j):

    W_ε(μ, ν) = min_{π ∈ Π(a, b)} ⟨π, C⟩ + ε · KL(π ‖ a ⊗ b)

Its dual is max_{f, g} ⟨a, f⟩ + ⟨b, g⟩ - ε Σ_ij a_i b_j exp((f_i + g_j - C_ij)/ε) + ε, the optimal
plan π_ij = a_i b_j exp((f_i + g_j - C_ij)/ε). `entropic_ot` solves it with log-domain Sinkhorn
iterations (Cuturi 2013, https://arxiv.org/abs/1306.0895; Peyré & Cuturi 2019, §4.4 — stable for
small ε)

    f_i = -ε · LSE_j(log b_j + (g_j - C_ij)/ε),    g_j = -ε · LSE_i(log a_i + (f_i - C_ij)/ε)

until the row marginal error ‖π1 - a‖₁ falls below `tol` or `max_iters` is reached (the column
marginals are exact after each g-update).

Gradients. The paper's generator gradient comes from Danskin's / the envelope theorem:
∇_θ W_ε = E_π*[∇_θ c(x, G_θ(z))], the plan held fixed (`gradient="envelope"`, the default). The
alternative differentiates through the unrolled iterations (`gradient="autodiff"`), for comparison.
Weights a, b are constants in both.

The paper's discriminator-side scheme parametrises the dual potentials by networks φ, ψ and trains
them on the smoothed dual (`dual_objective`); the generator then uses the plan
exp((φ + ψ - c)/ε) held fixed (`potential_transport_loss`). `sinkhorn_divergence` is the debiased
S_ε(μ, ν) = W_ε(μ, ν) - ½W_ε(μ, μ) - ½W_ε(ν, ν) (Genevay et al. 2018,
https://arxiv.org/abs/1706.00292; Feydy et al. 2019, https://arxiv.org/abs/1810.08278), an option.

Sign convention: these are distances the generator minimises; a critic that maximises one
minimises its negative (TF-GAN style losses are built from them in `repro.papers.sinkhorn`).
"""

import collections

import numpy as np
import tensorflow as tf

from repro.losses import common

COSTS = ("sqeuclidean", "euclidean")

OTResult = collections.namedtuple(
    "OTResult", ["value", "transport_cost", "f", "g", "plan", "iterations", "marginal_error"])
OTResult.__doc__ = """Result of `entropic_ot`; `value` (W_ε) first, so `result[0]` is the value.

value: ⟨π, C⟩ + ε·KL(π ‖ a⊗b) (generalised KL, Σ π log(π / ab) - Σ π + 1); transport_cost: ⟨π, C⟩;
f, g: dual potentials [n], [m]; plan: π [n, m]; iterations: Sinkhorn iterations run;
marginal_error: ‖π1 - a‖₁ + ‖πᵀ1 - b‖₁ at the end.
"""


def _as(value, dtype):
  """`value` in `dtype`; Python floats are converted directly (tf.cast would round via float32)."""
  if isinstance(value, (tf.Tensor, tf.Variable)):
    return tf.cast(value, dtype)
  return tf.constant(value, dtype)


def cost_matrix(x, y, cost="sqeuclidean", scale=1.0):
  """C_ij = ‖x_i - y_j‖² / scale ("sqeuclidean") or ‖x_i - y_j‖ / scale ("euclidean").

  Examples are flattened ([n, ...] -> [n, d]). The expansion ‖x‖² + ‖y‖² - 2x·y is clipped at 0;
  the Euclidean root has a zero (not NaN) gradient where two points coincide.
  """
  if cost not in COSTS:
    raise ValueError(f"unknown cost {cost!r}; use one of {', '.join(COSTS)}")
  x, y = common.rows(x), common.rows(y)
  y = tf.cast(y, x.dtype)
  sq = (tf.reduce_sum(tf.square(x), 1)[:, None] + tf.reduce_sum(tf.square(y), 1)[None, :] -
        2.0 * tf.matmul(x, y, transpose_b=True))
  sq = tf.maximum(sq, 0.0)
  if cost == "euclidean":
    positive = sq > 0
    sq = tf.where(positive, tf.sqrt(tf.where(positive, sq, tf.ones_like(sq))), tf.zeros_like(sq))
  return sq / _as(scale, x.dtype)


def _log_weights(w, n, dtype):
  if w is None:
    return tf.fill([n], -tf.math.log(tf.cast(n, dtype)))
  if not isinstance(w, (tf.Tensor, tf.Variable)):
    w = np.asarray(w, np.float64)
  return tf.math.log(_as(w, dtype))


def _log_plan(cost, f, g, log_a, log_b, epsilon):
  return log_a[:, None] + log_b[None, :] + (f[:, None] + g[None, :] - cost) / epsilon


def sinkhorn_potentials(cost, epsilon, log_a, log_b, max_iters=1000, tol=1e-6,
                        epsilon_scaling=None):
  """Log-domain Sinkhorn on a cost matrix. Returns (f, g, iterations, marginal_error).

  Stops when ‖π1 - a‖₁ <= tol (checked after every iteration at the target ε) or after
  `max_iters` iterations. `epsilon_scaling=q` in (0, 1) anneals: iteration i uses
  max(ε, max(C)·qⁱ), warm-starting each ε from the last potentials (Schmitzer 2019,
  https://arxiv.org/abs/1610.06519, §3.2) — much faster for small ε.
  Differentiable with respect to `cost` (TensorFlow keeps the loop's intermediate values).
  Called eagerly, the loop runs as one compiled graph (an eager while_loop would run op by op).
  """
  q = 1.0 if epsilon_scaling is None else float(epsilon_scaling)
  if not 0 < q <= 1:
    raise ValueError(f"epsilon_scaling must be in (0, 1], got {epsilon_scaling!r}")
  if tf.executing_eagerly():   # tensors, so new ε / tol / caps do not retrace
    return _sinkhorn_graph(tf.convert_to_tensor(cost), tf.constant(epsilon, tf.float64), log_a,
                           log_b, tf.constant(max_iters, tf.int32), tf.constant(tol, tf.float64),
                           tf.constant(q, tf.float64))
  return _sinkhorn_loop(cost, epsilon, log_a, log_b, max_iters, tol, q)


def _sinkhorn_loop(cost, epsilon, log_a, log_b, max_iters, tol, scaling):
  cost = tf.convert_to_tensor(cost)
  dtype = cost.dtype
  target = _as(epsilon, dtype)
  tol = _as(tol, dtype)
  q = _as(scaling, dtype)
  start = tf.maximum(target, tf.stop_gradient(tf.reduce_max(cost)))
  n, m = tf.shape(cost)[0], tf.shape(cost)[1]
  f0, g0 = tf.zeros([n], dtype), tf.zeros([m], dtype)

  def epsilon_at(i):
    return tf.where(q < 1, tf.maximum(target, start * tf.pow(q, tf.cast(i, dtype))), target)

  def f_update(g, eps):
    return -eps * tf.reduce_logsumexp(log_b[None, :] + (g[None, :] - cost) / eps, axis=1)

  def g_update(f, eps):
    return -eps * tf.reduce_logsumexp(log_a[:, None] + (f[:, None] - cost) / eps, axis=0)

  # The row marginal of the plan of (f, g) at ε is a·exp((f - F(g))/ε), F the next f-update at
  # ε: the loop carries that next f, so the stopping test costs no third pass over the n x m
  # matrix (2 log-sum-exps per iteration instead of 3; the iterates are the same as computing
  # the error separately). While annealing, F runs at the next iteration's ε (as the next
  # iteration would) and the error, not used then, is not the target-ε error.
  a = tf.exp(log_a)

  def cond(i, f, g, f_next, err):
    del f, g, f_next
    annealing = epsilon_at(i) > target
    return tf.logical_and(i < max_iters, tf.logical_or(err > tol, annealing))

  def body(i, f, g, f_next, err):
    del f, g, err
    g = g_update(f_next, epsilon_at(i))
    eps_next = epsilon_at(i + 1)
    f_after = f_update(g, eps_next)
    err = tf.reduce_sum(tf.abs(a * tf.math.expm1((f_next - f_after) / eps_next)))
    return i + 1, f_next, g, f_after, err

  iterations, f, g, _, err = tf.while_loop(
      cond, body, (tf.constant(0), f0, g0, f_update(g0, epsilon_at(0)),
                   tf.constant(float("inf"), dtype)),
      maximum_iterations=max_iters)
  return f, g, iterations, err


_sinkhorn_graph = tf.function(_sinkhorn_loop, reduce_retracing=True)


def _result(cost, f, g, log_a, log_b, epsilon, iterations, envelope):
  eps = _as(epsilon, cost.dtype)
  log_plan = _log_plan(cost, f, g, log_a, log_b, eps)
  plan = tf.exp(log_plan)
  if envelope:
    plan = tf.stop_gradient(plan)
    log_plan = tf.stop_gradient(log_plan)
  # Generalised KL(π ‖ a⊗b) = Σ π (log π - log a - log b) - Σ π + 1.
  kl = tf.reduce_sum(plan * (log_plan - log_a[:, None] - log_b[None, :])) - tf.reduce_sum(plan) + 1
  transport = tf.reduce_sum(plan * cost)   # envelope: the gradient is Σ π* ∇C
  value = transport + eps * (tf.stop_gradient(kl) if envelope else kl)
  error = (tf.reduce_sum(tf.abs(tf.reduce_sum(plan, 1) - tf.exp(log_a))) +
           tf.reduce_sum(tf.abs(tf.reduce_sum(plan, 0) - tf.exp(log_b))))
  return OTResult(value, transport, f, g, plan, iterations, tf.stop_gradient(error))


def entropic_ot(x, y, epsilon, a=None, b=None, cost="sqeuclidean", cost_scale=1.0,
                max_iters=1000, tol=1e-6, gradient="envelope", epsilon_scaling=None):
  """Entropic OT W_ε between point clouds x [n, ...] and y [m, ...] (see the module docstring).

  Args:
    x, y: samples (flattened to vectors: pixels, or features from a network).
    epsilon: regularisation ε > 0, in the units of the cost.
    a, b: weights (each summing to 1); uniform when None.
    cost: "sqeuclidean" (default) or "euclidean"; divided by `cost_scale`.
    max_iters, tol: Sinkhorn iteration cap and marginal-error tolerance.
    epsilon_scaling: None, or q in (0, 1) to anneal ε from max(C) (see `sinkhorn_potentials`).
    gradient: "envelope" (Danskin: plan held fixed, the paper's gradient) or "autodiff"
      (back-propagate through the Sinkhorn iterations).
  Returns:
    OTResult(value, transport_cost, f, g, plan, iterations, marginal_error).
  """
  if gradient not in ("envelope", "autodiff"):
    raise ValueError(f"gradient must be 'envelope' or 'autodiff', got {gradient!r}")
  if not epsilon > 0:
    raise ValueError(f"epsilon must be positive, got {epsilon!r}")
  c = cost_matrix(x, y, cost, cost_scale)
  dtype = c.dtype
  log_a = _log_weights(a, tf.shape(c)[0], dtype)
  log_b = _log_weights(b, tf.shape(c)[1], dtype)
  envelope = gradient == "envelope"
  solver_cost = tf.stop_gradient(c) if envelope else c
  f, g, iterations, _ = sinkhorn_potentials(solver_cost, epsilon, log_a, log_b, max_iters, tol,
                                            epsilon_scaling)
  if envelope:
    f, g = tf.stop_gradient(f), tf.stop_gradient(g)
  return _result(c, f, g, log_a, log_b, epsilon, iterations, envelope)


def sinkhorn_divergence(x, y, epsilon, cost="sqeuclidean", cost_scale=1.0, max_iters=1000,
                        tol=1e-6, gradient="envelope", epsilon_scaling=None):
  """Debiased S_ε(x, y) = W_ε(x, y) - ½W_ε(x, x) - ½W_ε(y, y) (uniform weights); >= 0, = 0 iff x ~ y."""
  kw = dict(cost=cost, cost_scale=cost_scale, max_iters=max_iters, tol=tol, gradient=gradient,
            epsilon_scaling=epsilon_scaling)
  xy = entropic_ot(x, y, epsilon, **kw)
  xx = entropic_ot(x, x, epsilon, **kw)
  yy = entropic_ot(y, y, epsilon, **kw)
  return xy.value - 0.5 * (xx.value + yy.value), xy


# ---- dual potentials parametrised by networks (the paper's scheme) --------------------------------

def dual_objective(phi_x, psi_y, cost, epsilon):
  """Smoothed dual on a mini-batch, to be *maximised* over the potentials φ, ψ:

      mean_i φ(x_i) + mean_j ψ(y_j) - ε · mean_ij exp((φ(x_i) + ψ(y_j) - C_ij)/ε) + ε

  (uniform empirical weights; the expectation over μ⊗ν is the mean over all n·m pairs, computed
  as ε·exp(LSE - log nm) for stability). Equals W_ε at the optimal potentials.
  """
  phi_x, psi_y = common.scores(phi_x), common.scores(psi_y)
  eps = _as(epsilon, phi_x.dtype)
  z = (phi_x[:, None] + psi_y[None, :] - cost) / eps
  nm = tf.cast(tf.size(z), z.dtype)
  penalty = eps * tf.exp(tf.reduce_logsumexp(z) - tf.math.log(nm))
  return tf.reduce_mean(phi_x) + tf.reduce_mean(psi_y) - penalty + eps


def potential_plan(phi_x, psi_y, cost, epsilon):
  """exp((φ(x_i) + ψ(y_j) - C_ij)/ε): the density of the plan w.r.t. μ⊗ν (≈ n·m·π_ij)."""
  phi_x, psi_y = common.scores(phi_x), common.scores(psi_y)
  return tf.exp((phi_x[:, None] + psi_y[None, :] - cost) / _as(epsilon, phi_x.dtype))


def potential_transport_loss(phi_x, psi_y, cost, epsilon):
  """The generator's loss under the paper's scheme: mean_ij sg(exp((φ + ψ - C)/ε)) · C_ij.

  Its gradient is E_{μ⊗ν}[exp((φ + ψ - c)/ε) ∇_θ c(x, G_θ(z))] (Danskin), with the potentials
  and the plan held fixed and the generator entering through the cost only.
  """
  weights = tf.stop_gradient(potential_plan(phi_x, psi_y, tf.stop_gradient(cost), epsilon))
  return tf.reduce_mean(weights * cost)
