"""Losses of TTUR (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium", https://arxiv.org/abs/1706.08500) and its toy saddle objective.

TTUR changes the optimisation (two learning rates), not the objectives: its DCGAN runs use the
standard GAN losses of bioinf-jku/TTUR `DCGAN_FID_batched/model.py` (L160-174) and its WGAN-GP runs
the losses of `repro.losses.wgan` (`WGAN_GP/gan_64x64_FID.py` L576-590).

Sign convention of TF-GAN: both players *minimise* their loss.
- `discriminator_loss` = TF-GAN `minimax_discriminator_loss` without label smoothing:
  mean softplus(-D(x)) + mean softplus(D(G(z))) on logits, i.e. the sigmoid cross-entropy with
  label 1 for real and 0 for generated samples (model.py `d_loss_real + d_loss_fake`).
- `generator_loss` = TF-GAN `modified_generator_loss` (the non-saturating loss):
  mean softplus(-D(G(z))) = -mean log sigmoid(D(G(z))) (model.py `g_loss`, label 1 for fakes).
"""

import numpy as np
import tensorflow as tf


def _sigmoid_xent(logits, label):
  logits = tf.convert_to_tensor(logits)
  return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
      labels=tf.fill(tf.shape(logits), tf.cast(label, logits.dtype)), logits=logits))


def discriminator_loss(d_real, d_fake):
  """mean -log σ(D(x)) + mean -log(1 - σ(D(G(z)))) on logits (DCGAN_FID_batched model.py L161-174)."""
  return _sigmoid_xent(d_real, 1.0) + _sigmoid_xent(d_fake, 0.0)


def discriminator_loss_terms(d_real, d_fake):
  """(real term, fake term) of `discriminator_loss` (model.py `d_loss_real`, `d_loss_fake`)."""
  return _sigmoid_xent(d_real, 1.0), _sigmoid_xent(d_fake, 0.0)


def generator_loss(d_fake):
  """Non-saturating -mean log σ(D(G(z))) on logits (DCGAN_FID_batched model.py L166-168)."""
  return _sigmoid_xent(d_fake, 1.0)


# ---- the toy saddle of Toy_Data_Example/ttur_example_saddle.ipynb --------------------------------

SADDLE_START = (0.5, -0.4)   # notebook `run`: x = 0.5, y = -0.4
SADDLE_VALUE = 100.0         # f(0, 0): the saddle point's value


def saddle_objective(x, y):
  """f(x, y) = (1 + x²)(100 - y²): x minimises, y maximises; saddle at (0, 0) with f = 100."""
  return (1.0 + x * x) * (100.0 - y * y)


def saddle_gradients(x, y):
  """(∂f/∂x, ∂f/∂y) = (2x(100 - y²), -2y(1 + x²)) (notebook's markdown cell)."""
  return 2.0 * x * (100.0 - y * y), -2.0 * y * (1.0 + x * x)


def saddle_run(lr_x, lr_y, n_iter=5000, sigma=1.0, rng=None, start=SADDLE_START):
  """Noisy simultaneous-order descent in x / ascent in y, exactly the notebook's `run` loop.

  Per step: x -= lr_x (f_x(x, y) + ξ₁); then y += lr_y (f_y(x_new, y) + ξ₂), ξ ~ N(0, σ²), drawn in
  the order ξ₁, ξ₂ from `rng` (a numpy Generator). Returns dict of arrays of length n_iter + 1
  (the start included): x, y, objective, norm = sqrt(x² + y²) (distance to the saddle).
  """
  rng = rng if rng is not None else np.random.default_rng()
  x, y = float(start[0]), float(start[1])
  noise = rng.normal(scale=sigma, size=(n_iter, 2))
  xs, ys = np.empty(n_iter + 1), np.empty(n_iter + 1)
  xs[0], ys[0] = x, y
  for i in range(n_iter):
    x -= lr_x * (2.0 * x * (100.0 - y * y) + noise[i, 0])
    y += lr_y * (-2.0 * y * (1.0 + x * x) + noise[i, 1])
    xs[i + 1], ys[i + 1] = x, y
  return {"x": xs, "y": ys, "objective": saddle_objective(xs, ys), "norm": np.hypot(xs, ys)}
