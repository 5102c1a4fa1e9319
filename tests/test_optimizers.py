"""The official optimizers' update rules (PyTorch RMSprop, TF1 RMSProp) against numpy references of
the official formulas, and WassersteinGAN's clamp-before-update order against gan_toy.py's
clip-after-update."""

import numpy as np
import pytest
import tensorflow as tf

from repro.recipe import make
from repro.train.optimizers import TF1RMSProp, TorchRMSprop
from repro.train.runner import Trainer
from tests import step_goldens

GRADIENTS = [np.array([0.3, -2.0, 1e-4, 0.0], np.float32),
             np.array([-0.1, 0.5, 2e-4, 1e-6], np.float32),
             np.array([0.2, 0.0, -3e-4, 5.0], np.float32)]
START = np.array([1.0, -0.5, 0.25, 2.0], np.float32)


def run(optimizer):
  var = tf.Variable(START)
  optimizer.build([var])
  for g in GRADIENTS:
    optimizer.apply_gradients([(tf.constant(g), var)])
  return var.numpy()


def test_torch_rmsprop_matches_torch_formula():
  # torch/optim/rmsprop.py (no momentum, not centered): square_avg.mul_(alpha).addcmul_(g, g,
  # value=1 - alpha); avg = square_avg.sqrt().add_(eps); param.addcdiv_(g, avg, value=-lr).
  lr, alpha, eps = 5e-2, 0.99, 1e-8
  theta, v = START.astype(np.float64), np.zeros(4)
  for g in GRADIENTS:
    v = alpha * v + (1 - alpha) * g.astype(np.float64) ** 2
    theta = theta - lr * g / (np.sqrt(v) + eps)
  np.testing.assert_allclose(run(TorchRMSprop(lr, rho=alpha, epsilon=eps)), theta, rtol=1e-6,
                             atol=1e-7)


def test_tf1_rmsprop_matches_tf1_formula():
  # tf.compat.v1.train.RMSPropOptimizer: ms initialised to ones; ms = decay ms + (1 - decay) g²;
  # var -= lr g / sqrt(ms + epsilon) (ApplyRMSProp with momentum 0).
  lr, decay, eps = 5e-2, 0.9, 1e-10
  theta, ms = START.astype(np.float64), np.ones(4)
  for g in GRADIENTS:
    ms = decay * ms + (1 - decay) * g.astype(np.float64) ** 2
    theta = theta - lr * g / np.sqrt(ms + eps)
  np.testing.assert_allclose(run(TF1RMSProp(lr, rho=decay, epsilon=eps)), theta, rtol=1e-6,
                             atol=1e-7)


def test_tf1_rmsprop_equals_the_tf1_optimizer_itself():
  """The TF1 optimizer still ships with TensorFlow (tf.compat.v1.train), so it is the reference."""
  var = tf.Variable(START)
  reference = tf.compat.v1.train.RMSPropOptimizer(5e-2)
  for g in GRADIENTS:
    reference.apply_gradients([(tf.constant(g), var)])
  np.testing.assert_allclose(run(TF1RMSProp(5e-2, rho=0.9, epsilon=1e-10)), var.numpy(),
                             rtol=1e-6, atol=1e-7)


def test_adam_tf1_slots_equal_the_tf1_optimizer_itself():
  """kind adam_tf1: tf.compat.v1.train.AdamOptimizer holds β1, β2 in float32, so its v moves by
  (1 - 0.999f) g²; plain Keras Adam by 1e-3 g² (1.3e-5 relative apart)."""
  from repro.recipe import Optimizer
  from repro.train.step import make_optimizer
  var = tf.Variable(START)
  reference = tf.compat.v1.train.AdamOptimizer(1e-3, beta1=0.5, beta2=0.999)
  for g in GRADIENTS:
    reference.apply_gradients([(tf.constant(g), var)])
  want_v = reference.get_slot(var, "v").numpy()
  for kind, offset in (("adam_tf1", 0.0), ("adam", step_goldens.KERAS_ADAM_VELOCITY_OFFSET)):
    opt = make_optimizer(Optimizer(kind, 1e-3, 0.5, 0.999, 1e-8), "o")
    mine = tf.Variable(START)
    opt.build([mine])
    for g in GRADIENTS:
      opt.apply_gradients([(tf.constant(g), mine)])
    v = next(x for x in opt.variables if x.name.endswith("velocity")).numpy()
    measured = step_goldens.velocity_offsets({"v": v}, {"v": want_v}, ["v"])["v"]
    step_goldens.check(f"{kind} velocity offset - {offset:.3g}", abs(measured - offset),
                       step_goldens.OFFSET_TOLERANCE)
    step_goldens.check_close(f"{kind} weights", mine.numpy(), var.numpy(), rtol=1e-6)


@pytest.mark.parametrize("order", ["before", "after"])
def test_clip_order(tmp_path, order):
  """"before" (WassersteinGAN main.py): the critic after a generator step holds its last update
  unclamped; "after" (gan_toy.py): every weight is inside [-c, c]."""
  c = 0.01
  recipe = make("test", "8gaussians", "mlp", model=dict(hidden=(16, 16)),
                objective=("wgan", dict(clip=c, clip_order=order)), optimizer="rmsprop_torch",
                g_lr=5e-2, d_lr=5e-2, z_dim=2, batch_size=32, steps=1, n_critic=2, save_every=1,
                log_every=1, seed=0)
  trainer = Trainer(recipe, str(tmp_path), quiet=True)
  trainer.train()
  largest = max(float(np.abs(v.numpy()).max()) for v in trainer.critic.trainable_variables)
  if order == "after":
    assert largest <= c + 1e-7
  else:
    assert largest > 2 * c   # lr 5e-2 moves a clamped weight far outside [-c, c]
