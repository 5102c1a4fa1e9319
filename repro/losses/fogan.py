"""First Order GAN losses (Seward et al. 2018, "First Order Generative Adversarial Networks",
https://arxiv.org/abs/1802.04591): the penalized Wasserstein divergence and its WGAN-GP baseline.

Facts from zalandoresearch/first_order_gan `DCGAN_FID_batched/model.py` (`gan_method=
'penalized_wgan'`, L177-183 and L202-270; `'improved_wgan'`, L272-290; `optimize_penalty`,
L342-345). f is the critic's logit. With x a real batch and G(z) a generated batch (paired by index):

  x'    = α·x + (1 − α)·G(z),  α ~ U[0, 0.01] per example                       (L177-182)
  L_D   = −mean f(x) + mean f(x')                                               (L204-206)
          + λ_L · mean_i[(f(x_i) − f(x'_i))² / ‖x_i − x'_i‖]   (0 where ‖·‖ < 1e-8)   (L211-219)
          + λ_GP · mean_i(‖∇f(x'_i)‖ − s_i)²                                    (L222-269)
  s_i   = max(0, ‖mean_j (x_j − x'_i)(f(x_j) − f(x'_i)) / (‖x_j − x'_i‖ + 1e-6)³‖
                 / mean_j 1 / (‖x_j − x'_i‖ + 1e-6))                            (L225-262)
          computed with no gradient (stop_gradient on x', f(x') and f(x); map_fn back_prop=False);
          or s = 1 / (2 λ_L) without `calculate_slope`                          (L264-265)
  L_G   = −mean f(x')  (gradients through x' = ... + (1 − α) G(z))              (L208)
  `optimize_penalty`: L_G − λ_L·lip − λ_GP·gp                                    (L342-343)

Norms run over all non-batch dimensions; the gradient norm has no ε inside its square root (the
official `tf.sqrt(reduce_sum(square))`). Differences from the official graph, values unchanged:
the Lipschitz quotient uses a safe denominator where the pair is dropped (the official `tf.where`
would give a NaN gradient there), and the slope targets use pairwise distances from
‖a‖² + ‖b‖² − 2a·b instead of one `map_fn` step per x' (memory O(n²) instead of O(n²·dims)).
"""

import tensorflow as tf

from repro.losses import common

MIN_DISTANCE = 1e-8     # model.py L217: `tf.less(bot, 10e-9 ...)`, i.e. 1e-8
SLOPE_EPSILON = 1e-6    # model.py L236: `l2norm(map_input_difference) + 10e-7`, i.e. 1e-6
ALPHA_MAX = 0.01        # model.py L177-181: alpha ~ U[0, 0.01]


def interpolates(real, fake, alpha):
  """x' = α·x + (1 − α)·G(z) with one α per example (model.py L182)."""
  return common.interpolate(fake, real, alpha)


def _pair_terms(x_real, x_interp, f_real, f_interp, min_distance):
  top = common.scores(f_real) - common.scores(f_interp)
  bot = tf.norm(common.rows(x_real) - common.rows(x_interp), axis=1)
  keep = bot >= min_distance
  safe_bot = tf.where(keep, bot, tf.ones_like(bot))
  return top, safe_bot, keep


def lipschitz_penalty(x_real, x_interp, f_real, f_interp, min_distance=MIN_DISTANCE):
  """Unweighted mean_i[(f(x_i) − f(x'_i))² / ‖x_i − x'_i‖], pairs closer than 1e-8 count 0 (L211-219)."""
  top, bot, keep = _pair_terms(x_real, x_interp, f_real, f_interp, min_distance)
  return tf.reduce_mean(tf.where(keep, tf.square(top) / bot, tf.zeros_like(top)))


def lipschitz_estimate(x_real, x_interp, f_real, f_interp, min_distance=MIN_DISTANCE):
  """mean_i (f(x_i) − f(x'_i)) / ‖x_i − x'_i‖, dropped pairs count 0 (model.py L218, `d_avg_lip`)."""
  top, bot, keep = _pair_terms(x_real, x_interp, f_real, f_interp, min_distance)
  return tf.reduce_mean(tf.where(keep, top / bot, tf.zeros_like(top)))


def slope_targets(x_real, x_interp, f_real, f_interp, epsilon=SLOPE_EPSILON):
  """One target slope s_i per x'_i from the whole real batch, under stop-gradient (L225-262).

  s_i = max(0, ‖mean_j (x_j − x'_i) w_ji‖ / mean_j 1/n_ji) with n_ji = ‖x_j − x'_i‖ + ε and
  w_ji = (f(x_j) − f(x'_i)) / n_ji³. Uses mean_j (x_j − x'_i) w_ji = (Wᵀ X)_i / n − x'_i mean_j w_ji.
  """
  x = tf.stop_gradient(common.rows(x_real))
  xp = tf.stop_gradient(common.rows(x_interp))
  f = tf.stop_gradient(common.scores(f_real))
  fp = tf.stop_gradient(common.scores(f_interp))
  n_real = tf.cast(tf.shape(x)[0], x.dtype)
  sq = (tf.reduce_sum(tf.square(x), axis=1)[:, None] + tf.reduce_sum(tf.square(xp), axis=1)[None, :]
        - 2.0 * tf.matmul(x, xp, transpose_b=True))
  norms = tf.sqrt(tf.maximum(sq, 0.0)) + epsilon          # [n_real, n_interp]
  weights = (f[:, None] - fp[None, :]) / norms ** 3       # [n_real, n_interp]
  direction = (tf.matmul(weights, x, transpose_a=True) / n_real
               - xp * tf.reduce_mean(weights, axis=0)[:, None])
  top = tf.norm(direction, axis=1)
  bottom = tf.reduce_mean(1.0 / norms, axis=0)
  return tf.stop_gradient(tf.maximum(0.0, top / bottom))


def constant_slope_target(lipschitz_weight):
  """s = 1 / (2 λ_L), the target without `calculate_slope` (model.py L265)."""
  return 1.0 / (2.0 * lipschitz_weight)


def gradient_penalty(gradient_norms, target):
  """Unweighted mean_i(‖∇f(x'_i)‖ − s_i)² (model.py L267); `target` a scalar or one per example."""
  return tf.reduce_mean(tf.square(gradient_norms - tf.cast(target, gradient_norms.dtype)))


def discriminator_loss(f_real, f_interp):
  """−mean f(x) + mean f(x') (model.py L204-206), without the penalties."""
  return -tf.reduce_mean(f_real) + tf.reduce_mean(f_interp)


def generator_loss(f_interp):
  """−mean f(x') (model.py L208)."""
  return -tf.reduce_mean(f_interp)
