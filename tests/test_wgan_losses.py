"""WGAN / WGAN-GP losses on fixed vectors against hand-computed values."""

import numpy as np
import pytest
import tensorflow as tf

from repro.losses import wgan


def test_discriminator_and_generator_loss_golden():
  d_real = tf.constant([[1.0], [2.0], [3.0]])
  d_fake = tf.constant([[0.5], [-0.5], [1.5]])
  # mean(fake) - mean(real) = 0.5 - 2 = -1.5 ; generator: -mean(fake) = -0.5
  assert abs(float(wgan.discriminator_loss(d_real, d_fake)) - (-1.5)) < 1e-7
  assert abs(float(wgan.generator_loss(d_fake)) - (-0.5)) < 1e-7
  assert abs(float(wgan.wasserstein_estimate(d_real, d_fake)) - 1.5) < 1e-7


def test_gradient_penalty_linear_critic_is_closed_form():
  # D(x) = w.x has gradient w everywhere: penalty = (sqrt(|w|^2 + eps) - 1)^2 = (5 - 1)^2 = 16.
  w = tf.constant([[3.0], [4.0]])
  critic = lambda x, training=True: tf.matmul(x, w)
  real = tf.constant([[1.0, 2.0], [0.0, -1.0]])
  fake = tf.constant([[5.0, 5.0], [2.0, 2.0]])
  penalty = wgan.gradient_penalty(critic, real, fake, alpha=tf.constant([0.3, 0.9]))
  assert abs(float(penalty) - 16.0) < 1e-5


def test_gradient_penalty_quadratic_critic_uses_interpolates():
  # D(x) = 0.5 |x|^2: grad at x̂ is x̂ = real + α (fake - real).
  critic = lambda x, training=True: 0.5 * tf.reduce_sum(tf.square(x), axis=1, keepdims=True)
  real = np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)
  fake = np.array([[3.0, 0.0], [0.0, -2.0]], np.float32)
  alpha = np.array([0.5, 0.25], np.float32)
  x_hat = real + alpha[:, None] * (fake - real)            # [[2, 0], [0, 1]]
  expected = np.mean((np.linalg.norm(x_hat, axis=1) - 1.0) ** 2)  # ((2-1)^2 + 0) / 2 = 0.5
  got = float(wgan.gradient_penalty(critic, tf.constant(real), tf.constant(fake),
                                    alpha=tf.constant(alpha)))
  assert abs(expected - 0.5) < 1e-12
  assert abs(got - expected) < 1e-5


def test_gradient_penalty_draws_alpha_per_example_and_is_finite_at_zero_gradient():
  critic = lambda x, training=True: tf.zeros([tf.shape(x)[0], 1]) * tf.reduce_sum(x)
  real = tf.zeros([4, 3])
  penalty = wgan.gradient_penalty(critic, real, real, seed=tf.constant([1, 2]))
  # gradient 0 -> norm sqrt(eps) ~ 1e-5 -> penalty ~ (1 - 1e-5)^2
  assert np.isfinite(float(penalty)) and abs(float(penalty) - 1.0) < 1e-4


def test_clip_weights_bounds_every_weight():
  import keras
  model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
  for v in model.trainable_variables:
    v.assign(tf.random.normal(v.shape, stddev=5.0))
  wgan.clip_weights(model, 0.01)
  for v in model.trainable_variables:
    assert float(tf.reduce_max(tf.abs(v))) <= 0.01 + 1e-9


def test_objective_rejects_both_or_neither():
  from repro.train.objective import WassersteinObjective
  with pytest.raises(ValueError):
    WassersteinObjective()
  with pytest.raises(ValueError):
    WassersteinObjective(clip=0.01, gp_weight=10.0)


def test_gradient_norm_scale_penalises_the_official_pixel_space():
  """gan_mnist.py's critic sees [0, 1] pixels; the suite's D(x) = D01((x + 1) / 2) on [-1, 1] data
  has half the input gradient, and norm_scale=2 gives back the official penalty exactly."""
  import tensorflow as tf
  from repro.losses import wgan
  w = tf.constant([[0.3], [-1.2], [0.5]])
  d01 = lambda x, training=True: tf.matmul(tf.square(x), w)   # a smooth critic on [0, 1] pixels
  d = lambda x, training=True: d01((x + 1.0) / 2.0)          # the same critic on [-1, 1] data
  real = tf.constant([[0.2, -0.4, 0.9], [-1.0, 0.1, 0.3]])
  fake = tf.constant([[-0.5, 0.6, 0.0], [0.8, -0.2, -0.7]])
  alpha = tf.constant([0.25, 0.6])
  official = wgan.gradient_penalty(d01, (real + 1) / 2, (fake + 1) / 2, alpha=alpha, epsilon=0.0)
  ours = wgan.gradient_penalty(d, real, fake, alpha=alpha, epsilon=0.0, norm_scale=2.0)
  unscaled = wgan.gradient_penalty(d, real, fake, alpha=alpha, epsilon=0.0)
  assert abs(float(ours) - float(official)) < 1e-6
  assert abs(float(unscaled) - float(official)) > 1e-3
