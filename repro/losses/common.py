"""Tensor helpers every loss module shares: critic scores, flattened rows, interpolates, input
gradient norms."""

import tensorflow as tf


def scores(d):
  """[n] or [n, 1] critic outputs -> [n] tensor."""
  d = tf.convert_to_tensor(d)
  if d.shape.rank == 2:
    d = d[:, 0]
  return d


def rows(x):
  """[n, ...] -> [n, d] (a rank-1 batch becomes [n, 1])."""
  x = tf.convert_to_tensor(x)
  if x.shape.rank == 1:
    return x[:, None]
  return tf.reshape(x, [tf.shape(x)[0], -1])


def interpolate(start, end, alpha):
  """start + α (end − start) with one α per example ([n] or [n, 1], broadcast over the rest).

  improved_wgan_training's `interpolates = real + alpha * (fake - real)` is interpolate(real, fake,
  α); first_order_gan's x' = α x + (1 − α) G(z) is interpolate(G(z), x, α)."""
  start = tf.convert_to_tensor(start)
  alpha = tf.reshape(tf.cast(alpha, start.dtype), [-1] + [1] * (len(start.shape) - 1))
  return start + alpha * (end - start)


def critic_with_gradient_norms(critic, x, training=True, epsilon=0.0):
  """(f(x) [n], sqrt(‖∇_x f(x)‖² + ε) [n]) from one forward pass; differentiable w.r.t. the critic
  and x. ε > 0 keeps the norm's gradient finite at 0 (TF-GAN's WGAN-GP penalty)."""
  x = tf.convert_to_tensor(x)
  with tf.GradientTape() as tape:
    tape.watch(x)
    f = critic(x, training=training)
  grads = tape.gradient(f, x)
  axes = list(range(1, len(grads.shape)))
  return tf.reshape(f, [-1]), tf.sqrt(tf.reduce_sum(tf.square(grads), axis=axes) + epsilon)
