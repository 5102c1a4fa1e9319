"""Coulomb GAN losses (Unterthiner et al. 2018, "Coulomb GANs: Provably Optimal Nash Equilibria via
Potential Fields", https://arxiv.org/abs/1708.08819).

Facts from bioinf-jku/coulomb_gan `tensorflow/utils.py` (`calculate_squared_distances`,
`plummer_kernel`, `get_potentials`, L262-311) and `tensorflow/train.py` (L98-113); independent
re-implementation (the original is GPL, no code is copied).

- Plummer kernel k(a, b) = (‖a - b‖² + ε²)^(-(d - 2) / 2) on flattened samples (paper eq. 9; the
  code's defaults d = 3, ε = 1 give 1 / sqrt(‖a - b‖² + 1)).
- Potential of the generated batch x (fake) and the real batch y at a point a (paper eq. 10, with
  the official estimator): Φ(a) = mean_i k(x_i, a) - mean_i k(y_i, a). Means run over the whole
  batches, *self-pairs included* (k(x_j, x_j) = ε^-(d-2) is part of Φ(x_j)).
- Stop-gradient semantics of `get_potentials`: in k(x, x) and k(y, y) the first argument is
  `stop_gradient`-ed, so ∂Φ(x_j)/∂x_j is the field at x_j created by the other (fixed) charges; the
  cross term k(y, x) is computed once without stop-gradient and reduced over either axis.
- The discriminator regresses onto the potential: L_D = MSE(Φ(x), D(x)) + MSE(Φ(y), D(y))
  (`tf.losses.mean_squared_error(pot, disc)`; `--disc_loss l1`: mean absolute error). The potential
  is a regression target: the trainer updates only the critic's variables with L_D.
- The generator moves its samples downhill in the learned potential: L_G = mean D(G(z)).

Distances use ‖a‖² + ‖b‖² - 2 a·b (clipped at 0) instead of the official tiled differences: the same
values up to float rounding, with memory O(n²) instead of O(n² · dims) (64x64 RGB batches of 128).
The self-pairs of k(x, x) and k(y, y) get exactly 0, as the official x_j - x_j does: the expansion
leaves a rounding error of order eps·‖x‖² there (3e-5 for 16x16 RGB images), which moved the
potentials by ~2e-5 relative (of the order 1e-7 with the exact diagonal).
"""

import tensorflow as tf

from repro.losses import common


def squared_distances(a, b, same_points=False):
  """[n_a, n_b] squared Euclidean distances between the flattened rows of a and b. same_points: a
  and b hold the same points (one of them possibly stop_gradient-ed): the diagonal is exactly 0."""
  a, b = common.rows(a), common.rows(b)
  aa = tf.reduce_sum(tf.square(a), axis=1)[:, None]
  bb = tf.reduce_sum(tf.square(b), axis=1)[None, :]
  d = tf.maximum(aa + bb - 2.0 * tf.matmul(a, b, transpose_b=True), 0.0)
  if same_points:
    d = tf.linalg.set_diag(d, tf.zeros_like(tf.linalg.diag_part(d)))
  return d


def plummer_kernel(a, b, dim=3, epsilon=1.0, same_points=False):
  """[n_a, n_b] matrix k(a_i, b_j) = (‖a_i - b_j‖² + ε²)^(-(dim - 2) / 2) (utils.py L278-282)."""
  r = squared_distances(a, b, same_points) + epsilon * epsilon
  return tf.pow(r, -(dim - 2.0) / 2.0)


def potentials(fake, real, dim=3, epsilon=1.0):
  """(Φ at each generated sample [n_fake], Φ at each real sample [n_real]) (utils.py L285-311).

  Φ(x_j) = mean_i k(sg(x_i), x_j) - mean_i k(y_i, x_j);  Φ(y_j) = mean_i k(y_j, x_i) - mean_i
  k(sg(y_i), y_j), with sg = stop_gradient and the self-pairs included.
  """
  fake, real = tf.convert_to_tensor(fake), tf.convert_to_tensor(real)
  k_ff = plummer_kernel(tf.stop_gradient(fake), fake, dim, epsilon, True)   # [n_fake, n_fake]
  k_rf = plummer_kernel(real, fake, dim, epsilon)                           # [n_real, n_fake]
  k_rr = plummer_kernel(tf.stop_gradient(real), real, dim, epsilon, True)   # [n_real, n_real]
  pot_fake = tf.reduce_mean(k_ff, axis=0) - tf.reduce_mean(k_rf, axis=0)
  pot_real = tf.reduce_mean(k_rf, axis=1) - tf.reduce_mean(k_rr, axis=0)
  return pot_fake, pot_real


def potential_at(points, fake, real, dim=3, epsilon=1.0):
  """Φ(a) at arbitrary points with both charge sets fixed (utils.py `calculate_potential`)."""
  fake, real = tf.stop_gradient(fake), tf.stop_gradient(real)
  return (tf.reduce_mean(plummer_kernel(fake, points, dim, epsilon), axis=0)
          - tf.reduce_mean(plummer_kernel(real, points, dim, epsilon), axis=0))


def _regression(target, prediction, loss):
  target = tf.reshape(tf.cast(target, prediction.dtype), [-1])
  prediction = tf.reshape(prediction, [-1])
  if loss == "l2":
    return tf.reduce_mean(tf.square(prediction - target))
  if loss == "l1":
    return tf.reduce_mean(tf.abs(prediction - target))
  raise ValueError(f"unknown Coulomb discriminator loss {loss!r}; use l2 or l1")


def discriminator_loss(d_fake, d_real, pot_fake, pot_real, loss="l2"):
  """MSE (or mean |·| with loss="l1") of D onto Φ on both batches (train.py L103-112)."""
  return _regression(pot_fake, d_fake, loss) + _regression(pot_real, d_real, loss)


def discriminator_loss_terms(d_fake, d_real, pot_fake, pot_real, loss="l2"):
  """(fake term, real term) of `discriminator_loss` (train.py `loss_d_x`, `loss_d_y`)."""
  return _regression(pot_fake, d_fake, loss), _regression(pot_real, d_real, loss)


def generator_loss(d_fake):
  """mean D(G(z)) (train.py L113: `loss_g = tf.reduce_mean(disc_x)`)."""
  return tf.reduce_mean(d_fake)
