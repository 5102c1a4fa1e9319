"""WGAN (Arjovsky et al. 2017, https://arxiv.org/abs/1701.07875) and WGAN-GP
(Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028) losses.

Sign convention of TF-GAN (`tfgan.losses.wasserstein_*`): the critic *minimises*
mean D(fake) - mean D(real), the generator minimises -mean D(fake). The Wasserstein estimate
is the negated critic loss, mean D(real) - mean D(fake) (WassersteinGAN's README plots -Loss_D).
"""

import tensorflow as tf

from repro.losses import common


def discriminator_loss(d_real, d_fake):
  """mean D(x̃) - mean D(x): the critic loss, without the penalty."""
  return tf.reduce_mean(d_fake) - tf.reduce_mean(d_real)


def generator_loss(d_fake):
  """-mean D(G(z))."""
  return -tf.reduce_mean(d_fake)


def wasserstein_estimate(d_real, d_fake):
  """mean D(x) - mean D(x̃), the critic's estimate of W(P_r, P_g) (up to the Lipschitz constant)."""
  return tf.reduce_mean(d_real) - tf.reduce_mean(d_fake)


ALPHA_WEIGHTS = ("fake", "real")


def gradient_penalty(critic, real, fake, alpha=None, epsilon=1e-10, seed=None, training=True,
                     norm_scale=1.0, alpha_weights="fake"):
  """Unweighted WGAN-GP penalty mean_i (‖∇_x̂ D(x̂_i)‖₂ - 1)², λ is applied by the objective.

  Args:
    critic: callable image batch -> [batch, 1] scores.
    real, fake: batches of the same shape.
    alpha: [batch] interpolation coefficients; drawn from U[0, 1] (per example) when None,
      statelessly from `seed` if given.
    alpha_weights: the end α multiplies. "fake": x̂ = real + α (fake - real) (improved_wgan_training
      gan_mnist.py, gan_cifar.py, gan_64x64.py, gan_language.py; TF-GAN); "real": x̂ = α real +
      (1 - α) fake (gan_toy.py L77). The same distribution for α ~ U[0, 1]; with given α (a
      replayed step) they differ.
    epsilon: added inside the square root so the gradient of the norm is finite at 0 (TF-GAN).
    norm_scale: multiplies the gradient norm: the inverse slope of a linear map from the data's
      space to the space the official critic's penalty differentiates in (gan_mnist.py penalises
      in [0, 1] pixels: with [-1, 1] data, 2).
  """
  if alpha is None:
    batch = tf.shape(real)[0:1]
    alpha = (tf.random.stateless_uniform(batch, seed) if seed is not None
             else tf.random.uniform(batch))
  if alpha_weights not in ALPHA_WEIGHTS:
    raise ValueError(f"alpha_weights must be one of {', '.join(ALPHA_WEIGHTS)}, got "
                     f"{alpha_weights!r}")
  if alpha_weights == "fake":
    x_hat = common.interpolate(real, tf.stop_gradient(fake), alpha)
  else:
    x_hat = common.interpolate(tf.stop_gradient(fake), real, alpha)
  if norm_scale == 1.0:
    _, norms = common.critic_with_gradient_norms(critic, x_hat, training, epsilon)
  else:   # sqrt(‖s g‖² + ε), ε where the official penalty has it
    _, norms = common.critic_with_gradient_norms(critic, x_hat, training, epsilon / norm_scale ** 2)
    norms = norms * norm_scale
  return tf.reduce_mean(tf.square(norms - 1.0))


def clip_weights(model, c):
  """Clips every trainable weight of the critic to [-c, c] (WGAN's Lipschitz constraint)."""
  for v in model.trainable_variables:
    v.assign(tf.clip_by_value(v, -c, c))
