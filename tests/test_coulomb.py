"""Coulomb GAN: kernel and potentials against numpy, stop-gradients, the regression loss, the "my"
nets (batch-size depth quirk, scaled tanh, L2 penalty), settings, and a 2-D run covering all modes."""

import numpy as np
import pytest
import tensorflow as tf

from repro import registry
from repro.losses import coulomb as losses
from repro.papers import coulomb

import cli_runs
import toy_runs

FAKE = np.array([[0.0, 0.0], [1.0, 0.5], [-0.5, 2.0]])
REAL = np.array([[1.0, 1.0], [-1.0, 0.0], [0.5, -0.5], [2.0, 2.0]])


def np_kernel(a, b, dim, eps):
  """k(a_i, b_j) = (|a_i - b_j|^2 + eps^2)^(-(dim - 2)/2), by explicit loops (utils.py L278)."""
  out = np.zeros((len(a), len(b)))
  for i in range(len(a)):
    for j in range(len(b)):
      out[i, j] = (np.sum((a[i] - b[j]) ** 2) + eps * eps) ** (-(dim - 2) / 2.0)
  return out


def np_potentials(x, y, dim, eps):
  """utils.py get_potentials: pot_x = kxx - kyx, pot_y = kxy - kyy with means incl. self-pairs."""
  pot_x = np.array([np.mean([np_kernel(x[i:i + 1], x[j:j + 1], dim, eps)[0, 0] for i in range(len(x))])
                    - np.mean([np_kernel(y[i:i + 1], x[j:j + 1], dim, eps)[0, 0] for i in range(len(y))])
                    for j in range(len(x))])
  pot_y = np.array([np.mean([np_kernel(y[j:j + 1], x[i:i + 1], dim, eps)[0, 0] for i in range(len(x))])
                    - np.mean([np_kernel(y[i:i + 1], y[j:j + 1], dim, eps)[0, 0] for i in range(len(y))])
                    for j in range(len(y))])
  return pot_x, pot_y


@pytest.mark.parametrize("dim, eps", [(3, 1.0), (4, 0.5), (5, 0.1)])
def test_plummer_kernel_and_potentials_golden(dim, eps):
  got = losses.plummer_kernel(tf.constant(FAKE), tf.constant(REAL), dim, eps).numpy()
  assert np.max(np.abs(got - np_kernel(FAKE, REAL, dim, eps))) < 1e-6
  pot_x, pot_y = losses.potentials(tf.constant(FAKE), tf.constant(REAL), dim, eps)
  want_x, want_y = np_potentials(FAKE, REAL, dim, eps)
  assert np.max(np.abs(pot_x.numpy() - want_x)) < 1e-6
  assert np.max(np.abs(pot_y.numpy() - want_y)) < 1e-6


def test_potentials_default_kernel_by_hand():
  # d = 3, eps = 1: k = 1/sqrt(r^2 + 1). One fake point at 0, one real point at (1, 0):
  # pot_fake = k(0,0) - k(1,0) = 1 - 1/sqrt(2); pot_real = k(1,0) - k(0,0) = 1/sqrt(2) - 1.
  pot_x, pot_y = losses.potentials(tf.constant([[0.0, 0.0]]), tf.constant([[1.0, 0.0]]))
  assert abs(float(pot_x[0]) - (1 - 2 ** -0.5)) < 1e-6
  assert abs(float(pot_y[0]) - (2 ** -0.5 - 1)) < 1e-6


def test_images_are_flattened():
  x = np.random.default_rng(0).normal(size=(3, 4, 4, 2))
  y = np.random.default_rng(1).normal(size=(5, 4, 4, 2))
  pot_x, pot_y = losses.potentials(tf.constant(x), tf.constant(y))
  want_x, want_y = np_potentials(x.reshape(3, -1), y.reshape(5, -1), 3, 1.0)
  assert np.max(np.abs(pot_x.numpy() - want_x)) < 1e-6
  assert np.max(np.abs(pot_y.numpy() - want_y)) < 1e-6


def np_dkernel_db(a, b, dim, eps):
  """∂k(a, b)/∂b = -(dim-2)/2 * (|a-b|^2 + eps^2)^(-(dim-2)/2 - 1) * 2 (b - a)."""
  p = (dim - 2) / 2.0
  return -p * (np.sum((a - b) ** 2) + eps * eps) ** (-p - 1) * 2 * (b - a)


def test_first_kernel_argument_is_under_stop_gradient():
  dim, eps = 3, 1.0
  fake, real = tf.constant(FAKE), tf.constant(REAL)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([fake, real])
    pot_x, pot_y = losses.potentials(fake, real, dim, eps)
    total_x = tf.reduce_sum(pot_x)
    total_y = tf.reduce_sum(pot_y)
  # d/dx_j of sum_j' pot_x(j') = the field at x_j: only the *second* argument of k(sg x_i, x_j)
  # and of k(y_i, x_j) carries gradients.
  field = np.array([np.mean([np_dkernel_db(FAKE[i], FAKE[j], dim, eps) for i in range(3)], axis=0)
                    - np.mean([np_dkernel_db(REAL[i], FAKE[j], dim, eps) for i in range(4)], axis=0)
                    for j in range(3)])
  got = tape.gradient(total_x, fake).numpy()
  assert np.max(np.abs(got - field)) < 1e-6
  # Without the stop-gradient the fake-fake interaction would count twice: not what we compute.
  no_stop = field + np.array([np.mean([np_dkernel_db(FAKE[i], FAKE[j], dim, eps)
                                       for i in range(3)], axis=0) for j in range(3)])
  assert np.max(np.abs(got - no_stop)) > 1e-3
  # The real-real term is stopped in its first argument too; the cross term k(y, x) is not
  # (utils.py L299), so pot_y moves with both batches.
  grad_y_real = tape.gradient(total_y, real).numpy()
  want = np.array([np.mean([np_dkernel_db(FAKE[i], REAL[j], dim, eps) for i in range(3)], axis=0)
                   - np.mean([np_dkernel_db(REAL[i], REAL[j], dim, eps) for i in range(4)], axis=0)
                   for j in range(4)])
  assert np.max(np.abs(grad_y_real - want)) < 1e-6
  assert np.max(np.abs(tape.gradient(total_y, fake).numpy())) > 1e-3


def test_discriminator_and_generator_loss_golden():
  d_fake = np.array([[0.2], [-0.1], [0.4]])
  d_real = np.array([[-0.3], [0.0], [0.1], [-0.2]])
  pot_x, pot_y = np_potentials(FAKE, REAL, 3, 1.0)
  l2 = np.mean((d_fake[:, 0] - pot_x) ** 2) + np.mean((d_real[:, 0] - pot_y) ** 2)
  l1 = np.mean(np.abs(d_fake[:, 0] - pot_x)) + np.mean(np.abs(d_real[:, 0] - pot_y))
  got_l2 = losses.discriminator_loss(tf.constant(d_fake), tf.constant(d_real), pot_x, pot_y)
  got_l1 = losses.discriminator_loss(tf.constant(d_fake), tf.constant(d_real), pot_x, pot_y, "l1")
  assert abs(float(got_l2) - l2) < 1e-9 and abs(float(got_l1) - l1) < 1e-9
  assert abs(float(losses.generator_loss(tf.constant(d_fake))) - np.mean(d_fake)) < 1e-12
  with pytest.raises(ValueError):
    losses.discriminator_loss(d_fake, d_real, pot_x, pot_y, "huber")


def test_objective_updates_simultaneously_and_shares_the_critic_pass():
  from repro.train.objective import StepInputs
  objective = coulomb.CoulombObjective()
  assert objective.update == "simultaneous"
  calls = []

  def critic(x, training=True):
    calls.append(int(x.shape[0]))
    return tf.reduce_sum(x, axis=1, keepdims=True)

  inputs = StepInputs(real=tf.constant(REAL, tf.float32), fake=tf.constant(FAKE, tf.float32),
                      u=tf.zeros([3]), seed=tf.constant([1, 2]), step=tf.constant(0))
  d_loss, terms = objective.critic_loss(critic, inputs)
  g_loss, _ = objective.generator_loss(critic, inputs)
  assert calls == [3, 4]   # D(x) once for both losses (train.py uses one disc_x)
  assert abs(float(g_loss) - np.mean(FAKE.sum(1))) < 1e-6
  assert abs(float(d_loss) - float(terms["loss_fake"] + terms["loss_real"])) < 1e-6


def test_my_nets_depth_quirk_tanh_and_l2():
  from repro.models import build_models
  from repro.models import coulomb_models as cm
  assert [cm.critic_depth(b) for b in (16, 64, 128, 256)] == [1, 3, 4, 5]
  with pytest.raises(ValueError):
    cm.critic_depth(8)
  assert abs(float(cm.lecun_tanh(tf.constant(100.0))) - 1.7159) < 1e-6
  x = np.linspace(-3, 3, 7, dtype=np.float32)
  assert np.allclose(cm.lecun_tanh(tf.constant(x)).numpy(), 1.7159 * np.tanh(2 * x / 3), atol=1e-6)
  for shape, hidden in (((64, 64, 3), 3), ((32, 32, 3), 2), ((28, 28, 1), 1)):
    g, d = build_models("coulomb", shape, 16, g_width=64, d_width=8, d_layers=3, l2=1e-3)
    assert g.output_shape[1:] == shape and d.output_shape[1:] == (1,)
    assert sum(isinstance(l, tf.keras.layers.Conv2DTranspose) for l in g.layers) == hidden + 1
    assert sum(isinstance(l, tf.keras.layers.Conv2D) for l in d.layers) == 3
  # L2 on conv kernels only, l2 * sum(w^2) / 2 as tf.contrib.layers.l2_regularizer.
  kernels = [l.kernel for l in d.layers if isinstance(l, tf.keras.layers.Conv2D)]
  want = 1e-3 * sum(float(tf.reduce_sum(tf.square(k))) for k in kernels) / 2
  assert abs(float(tf.add_n(d.losses)) - want) < 1e-6 * max(1.0, want)
  assert not build_models("coulomb", (28, 28, 1), 16, g_width=64, d_width=8, d_layers=2)[1].losses


def test_settings_and_readme_command():
  r = coulomb.recipe("lsun_bedroom", fid="off")
  # README: -z 16 -g my -d my-big --l2_penalty 1e-7 --discriminator_lr_scale 0.5 -i 1000
  assert (r.z_dim, r.g_opt.lr, r.d_opt.lr, r.steps) == (16, 1e-4, 5e-5, 1000000)
  assert r.model.args == dict(g_width=1024, d_width=128, d_layers=4, l2=1e-7, g_l2=1e-7)
  assert (r.batch_size, r.g_opt.beta1, r.g_opt.beta2, r.z_dist) == (128, 0.9, 0.999, "normal")
  objective = registry.build_objective(r)
  assert (objective.dim, objective.epsilon, objective.disc_loss) == (3, 1.0, "l2")
  # CIFAR-10 and CelebA: the README's command with --dataset changed (no per-dataset flags were
  # published); the critic's depth follows the batch size (models.py: log2(batch / 8)).
  cifar = coulomb.recipe("cifar10", batch_size=64)
  assert cifar.model.args == dict(g_width=1024, d_width=128, d_layers=3, l2=1e-7, g_l2=1e-7)
  assert (cifar.z_dim, cifar.g_opt.lr, cifar.d_opt.lr) == (16, 1e-4, 5e-5)
  with pytest.raises(Exception, match="plummer_dim"):
    coulomb.CoulombObjective(dim=2)


def test_coulomb_gan_covers_all_modes_of_8gaussians(tmp_path):
  r = coulomb.recipe("8gaussians", steps=2000, log_every=2000, eval_every=2000, save_every=2000,
                     seed=0)
  before, after = toy_runs.coverage_before_and_after(r, tmp_path)
  assert after.modes_covered == 8 and before.modes_covered < 8
  assert after.high_quality_fraction > before.high_quality_fraction + 0.3


def test_cli_bad_flag_exits_2():
  cli_runs.assert_usage_error(cli_runs.run_module(
      "repro.papers.coulomb", "--dataset=8gaussians", "--disc_loss=huber",
      "--workdir=/nonexistent/never"))
