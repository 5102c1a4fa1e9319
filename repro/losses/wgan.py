"""WGAN (Arjovsky et al. 2017, https://arxiv.org/abs/1701.07875) and WGAN-GP
(Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028) losses.

Sign convention of TF-GAN (`tfgan.losses.wasserstein_*`): the critic *minimises*
mean D(fake) - mean D(real), the generator minimises -mean D(fake). The Wasserstein estimate
is the negated critic loss, mean D(real) - mean D(fake) (WassersteinGAN's README plots -Loss_D).
"""

import tensorflow as tf


def discriminator_loss(d_real, d_fake):
  """mean D(x̃) - mean D(x): the critic loss, without the penalty."""
  return tf.reduce_mean(d_fake) - tf.reduce_mean(d_real)


def generator_loss(d_fake):
  """-mean D(G(z))."""
  return -tf.reduce_mean(d_fake)


def wasserstein_estimate(d_real, d_fake):
  """mean D(x) - mean D(x̃), the critic's estimate of W(P_r, P_g) (up to the Lipschitz constant)."""
  return tf.reduce_mean(d_real) - tf.reduce_mean(d_fake)


def interpolate(real, fake, alpha):
  """x̂ = x + α (x̃ - x) with one α per example (improved_wgan_training's `interpolates`)."""
  alpha = tf.reshape(tf.cast(alpha, real.dtype), [-1] + [1] * (len(real.shape) - 1))
  return real + alpha * (fake - real)


def gradient_penalty(critic, real, fake, alpha=None, epsilon=1e-10, seed=None, training=True):
  """Unweighted WGAN-GP penalty mean_i (‖∇_x̂ D(x̂_i)‖₂ - 1)², λ is applied by the objective.

  Args:
    critic: callable image batch -> [batch, 1] scores.
    real, fake: batches of the same shape.
    alpha: [batch] interpolation coefficients; drawn from U[0, 1] (per example) when None,
      statelessly from `seed` if given.
    epsilon: added inside the square root so the gradient of the norm is finite at 0 (TF-GAN).
  """
  if alpha is None:
    batch = tf.shape(real)[0:1]
    alpha = (tf.random.stateless_uniform(batch, seed) if seed is not None
             else tf.random.uniform(batch))
  x_hat = interpolate(real, tf.stop_gradient(fake), alpha)
  with tf.GradientTape() as tape:
    tape.watch(x_hat)
    scores = critic(x_hat, training=training)
  grads = tape.gradient(scores, x_hat)
  axes = list(range(1, len(grads.shape)))
  norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=axes) + epsilon)
  return tf.reduce_mean(tf.square(norms - 1.0))


def clip_weights(model, c):
  """Clips every trainable weight of the critic to [-c, c] (WGAN's Lipschitz constraint)."""
  for v in model.trainable_variables:
    v.assign(tf.clip_by_value(v, -c, c))
