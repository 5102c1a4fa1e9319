"""The shared layers of repro.models.layers."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from repro.models import dcgan_tf, snmodels
from repro.models.layers import LeakyReLU

X = np.array([[-3.0, -0.5, 0.0, 0.25, 2.0], [1e-30, -1e-30, 5.0, -7.0, 0.0]], np.float32)


def _reference(x, slope):
  return np.where(x > 0, x, slope * x), np.where(x > 0, 1.0, slope)   # TF LeakyReluGrad at 0: slope


def test_values_and_gradients_on_fixed_vectors():
  for slope in (0.2, 0.01):
    x = tf.constant(X)
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = LeakyReLU(slope)(x)
    grad = tape.gradient(y, x, output_gradients=tf.ones_like(x) * 3.0)
    want_y, want_slope = _reference(X.astype(np.float64), slope)
    assert abs(np.asarray(y, np.float64) - want_y).max() < 1e-7 * abs(want_y).max()
    assert abs(np.asarray(grad, np.float64) - 3.0 * want_slope).max() < 1e-6


def test_matches_keras_leaky_relu_exactly():
  x = tf.constant(np.random.default_rng(0).normal(size=(64, 33)).astype(np.float32))
  x = tf.concat([x, tf.zeros([64, 1])], axis=1)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    ours = LeakyReLU(0.2)(x)
    theirs = keras.layers.LeakyReLU(0.2)(x)
  np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
  np.testing.assert_array_equal(tape.gradient(ours, x).numpy(), tape.gradient(theirs, x).numpy())


def _wgan_gp_weight_grads(critic, images):
  """Gradients of mean D(x) + mean_i (||grad_x D(x_i)|| - 1)^2 w.r.t. the critic's weights (None where
  no path, e.g. the output bias for the penalty): the double backprop of a WGAN-GP critic update."""
  with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
      inner.watch(images)
      scores = critic(images, training=True)
    g = inner.gradient(scores, images)
    penalty = tf.reduce_mean(tf.square(tf.sqrt(tf.reduce_sum(tf.square(g), [1, 2, 3])) - 1.0))
    loss = tf.reduce_mean(scores) + penalty
  return outer.gradient(loss, critic.trainable_variables)


def test_gradient_penalty_gradients_match_keras_leaky_relu():
  """Double backprop (WGAN-GP) through a conv critic: the same weight gradients either way."""
  rng = np.random.default_rng(1)
  images = tf.constant(rng.uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32))
  ours = dcgan_tf.dcgan_tf_critic(28, 1, df_dim=4, norm="none")
  theirs = keras.models.clone_model(
      ours, clone_function=lambda layer: (keras.layers.LeakyReLU(layer.negative_slope)
                                          if isinstance(layer, LeakyReLU)
                                          else layer.__class__.from_config(layer.get_config())))
  theirs.set_weights(ours.get_weights())

  def penalty_grads(critic):
    grads = _wgan_gp_weight_grads(critic, images)
    return [np.zeros(v.shape) if g is None else g.numpy()
            for g, v in zip(grads, critic.trainable_variables)]

  for a, b in zip(penalty_grads(ours), penalty_grads(theirs)):
    assert abs(a - b).max() <= 1e-5 * max(abs(b).max(), 1e-12)


def test_saves_and_loads_in_safe_mode(tmp_path):
  model = snmodels.fwgan_mlp_generator()
  path = os.path.join(tmp_path, "g.keras")
  model.save(path)
  loaded = keras.saving.load_model(path, safe_mode=True)
  z = np.random.default_rng(2).normal(size=(8, 2)).astype(np.float32)
  np.testing.assert_array_equal(model(z).numpy(), loaded(z).numpy())
  slopes = [l.negative_slope for l in loaded.layers if isinstance(l, LeakyReLU)]
  assert slopes == [snmodels.LEAKY_SLOPE] * 2


def test_no_gradient_op_reads_the_convolution_output():
  """The property that keeps Grappler's remapper working: in a WGAN-GP training graph no
  LeakyReluGrad takes the pre-activation (a BiasAdd) as its `features` input."""
  critic = dcgan_tf.dcgan_tf_critic(28, 1, df_dim=4, norm="none")
  images = tf.zeros([2, 28, 28, 1])

  penalty_step = tf.function(lambda x: _wgan_gp_weight_grads(critic, x))
  graph = penalty_step.get_concrete_function(images).graph
  grads = [op for op in graph.get_operations() if op.type == "LeakyReluGrad"]
  assert grads
  assert all(op.inputs[1].op.type != "BiasAdd" for op in grads), [
      (op.name, op.inputs[1].op.type) for op in grads]


def test_rejects_a_negative_slope():
  with pytest.raises(ValueError, match="negative_slope must be >= 0"):
    LeakyReLU(-0.1)
