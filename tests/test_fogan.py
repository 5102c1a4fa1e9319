"""FOGAN: the penalized Wasserstein divergence against numpy (Lipschitz term, Lipschitz estimate,
slope targets, whole critic loss), stop-gradients, generator gradients through x', run_fogan.sh
settings, a 2-D run, and `python -m repro.papers.fogan --dataset=cifar10` on mock data / no data."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from repro import registry
from repro.losses import common
from repro.losses import fogan as losses
from repro.papers import fogan
from repro.train.objective import StepInputs

import cli_runs
import toy_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL = np.array([[1.0, 2.0], [0.0, -1.0], [0.5, 0.5], [-2.0, 1.0]])
FAKE = np.array([[0.2, 0.1], [1.0, 1.0], [0.5, 0.5], [-1.0, -1.5]])   # pair 2: fake == real
U = np.array([0.3, 0.9, 0.5, 0.0])
W, B = np.array([0.7, -1.2]), 0.3                                     # linear critic f = x.w + b


def np_interp(real, fake, u):
  alpha = 0.01 * u[:, None]                 # model.py: alpha ~ U[0, 0.01]
  return alpha * real + (1 - alpha) * fake


def np_lipschitz(x, xp, f, fp):
  top, bot = f - fp, np.linalg.norm(x - xp, axis=1)
  penalty = np.where(bot < 1e-8, 0.0, top ** 2 / np.where(bot < 1e-8, 1.0, bot))
  estimate = np.where(bot < 1e-8, 0.0, top / np.where(bot < 1e-8, 1.0, bot))
  return penalty.mean(), estimate.mean()


def np_slopes(x, xp, f, fp):
  """model.py map_function, one x'_i at a time (L233-244)."""
  out = []
  for i in range(len(xp)):
    diff = x - xp[i]
    norm = np.linalg.norm(diff.reshape(len(x), -1), axis=1) + 1e-6
    top = f - fp[i]
    first = np.linalg.norm(np.mean(diff * (top * norm ** -3)[:, None], axis=0))
    second = np.mean(1.0 / norm)
    out.append(max(0.0, first / second))
  return np.array(out)


def linear_critic(x, training=True):
  return tf.matmul(x, tf.constant(W[:, None], x.dtype)) + B


def inputs(real=REAL, fake=FAKE, u=U):
  return StepInputs(real=tf.constant(real, tf.float32), fake=tf.constant(fake, tf.float32),
                    u=tf.constant(u, tf.float32), seed=tf.constant([1, 2]),
                    step=tf.constant(0, tf.int64))


def test_lipschitz_terms_golden_and_close_pairs_dropped():
  xp = np_interp(REAL, FAKE, U)
  f, fp = REAL @ W + B, xp @ W + B
  want_pen, want_est = np_lipschitz(REAL, xp, f, fp)
  assert np.linalg.norm(REAL[2] - xp[2]) < 1e-8        # the pair that must count 0
  got_pen = losses.lipschitz_penalty(REAL, xp, f, fp)
  got_est = losses.lipschitz_estimate(REAL, xp, f, fp)
  assert abs(float(got_pen) - want_pen) < 1e-9 and abs(float(got_est) - want_est) < 1e-9
  # Hand value of one pair: (f(x) - f(x'))^2 / |x - x'| = (w.d)^2 / |d|.
  d = REAL[0] - xp[0]
  assert abs((d @ W) ** 2 / np.linalg.norm(d) - (f[0] - fp[0]) ** 2 / np.linalg.norm(d)) < 1e-12
  # The dropped pair has a finite gradient (the official tf.where would give NaN there).
  x_interp = tf.constant(xp)
  with tf.GradientTape() as tape:
    tape.watch(x_interp)
    pen = losses.lipschitz_penalty(tf.constant(REAL), x_interp, tf.constant(f),
                                   tf.constant(fp))
  assert np.all(np.isfinite(tape.gradient(pen, x_interp).numpy()))


@pytest.mark.parametrize("shape", [(2,), (2, 2, 1)])
def test_slope_targets_golden(shape):
  rng = np.random.default_rng(3)
  x = rng.normal(size=(5,) + shape)
  xp = rng.normal(size=(4,) + shape)
  f, fp = rng.normal(size=5), rng.normal(size=4)
  got = losses.slope_targets(tf.constant(x), tf.constant(xp), tf.constant(f), tf.constant(fp))
  want = np_slopes(x.reshape(5, -1), xp.reshape(4, -1), f, fp)
  assert got.shape == (4,)
  assert np.max(np.abs(got.numpy() - want)) < 1e-7 * max(1.0, np.max(want))
  # Hand case: one real point, s = |x - x'| |f(x) - f(x')| / n^3 / (1 / n) = |f(x) - f(x')| / n.
  one = losses.slope_targets([[3.0, 4.0]], [[0.0, 0.0]], [2.0], [-1.0])
  assert abs(float(one[0]) - 3.0 / (5.0 + 1e-6)) < 1e-6
  assert float(losses.constant_slope_target(0.5)) == 1.0


def test_slope_target_is_under_stop_gradient():
  xs = [tf.constant(REAL), tf.constant(np_interp(REAL, FAKE, U)), tf.constant(REAL @ W),
        tf.constant(FAKE @ W)]
  with tf.GradientTape(persistent=True) as tape:
    for t in xs:
      tape.watch(t)
    s = tf.reduce_sum(losses.slope_targets(*xs))
  assert all(tape.gradient(s, t) is None for t in xs)


def test_penalized_critic_loss_golden():
  lam_l, lam_gp = 0.5, 1.0
  objective = fogan.FirstOrderObjective("penalized_wgan", lam_l, lam_gp, calculate_slope=True)
  loss, terms = objective.critic_loss(linear_critic, inputs())
  xp = np_interp(REAL, FAKE, U)
  f, fp = REAL @ W + B, xp @ W + B
  lip, est = np_lipschitz(REAL, xp, f, fp)
  s = np_slopes(REAL, xp, f, fp)
  gp = np.mean((np.linalg.norm(W) - s) ** 2)        # ∇f = w everywhere for a linear critic
  want = -f.mean() + fp.mean() + lam_l * lip + lam_gp * gp
  assert abs(float(loss) - want) < 1e-5
  assert abs(float(terms["gradient_penalty"]) - gp) < 1e-5
  assert abs(float(terms["lipschitz_estimate"]) - est) < 1e-5
  assert abs(float(terms["mean_slope_target"]) - s.mean()) < 1e-5
  # --nocalculate_slope: s = 1 / (2 λ_L) = 1.
  fixed = fogan.FirstOrderObjective("penalized_wgan", lam_l, lam_gp, calculate_slope=False)
  loss2, _ = fixed.critic_loss(linear_critic, inputs())
  want2 = -f.mean() + fp.mean() + lam_l * lip + lam_gp * (np.linalg.norm(W) - 1.0) ** 2
  assert abs(float(loss2) - want2) < 1e-5


def test_gradient_penalty_is_differentiable_in_the_critic():
  # f(x) = v * |x|^2 / 2: ∇f = v x, |∇f| = |v| |x|; d/dv mean(|v||x| - s)^2 = 2 mean((v|x| - s)|x|).
  v = tf.Variable(0.8)
  x = tf.constant(REAL)
  with tf.GradientTape() as tape:
    _, norms = common.critic_with_gradient_norms(
        lambda t, training=True: v * tf.cast(0.5 * tf.reduce_sum(t * t, axis=1, keepdims=True),
                                             tf.float32), x)
    gp = losses.gradient_penalty(tf.cast(norms, tf.float32), 0.5)
  r = np.linalg.norm(REAL, axis=1)
  assert abs(float(gp) - np.mean((0.8 * r - 0.5) ** 2)) < 1e-5
  assert abs(float(tape.gradient(gp, v)) - np.mean(2 * (0.8 * r - 0.5) * r)) < 1e-4


def test_generator_gradient_flows_through_x_prime():
  objective = fogan.FirstOrderObjective()
  fake = tf.constant(FAKE, tf.float32)
  step = inputs()
  with tf.GradientTape() as tape:
    tape.watch(fake)
    loss, _ = objective.generator_loss(linear_critic, StepInputs(step.real, fake, step.u,
                                                                 step.seed, step.step))
  xp = np_interp(REAL, FAKE, U)
  assert abs(float(loss) + np.mean(xp @ W + B)) < 1e-5         # L_G = -mean f(x')
  want = -(1 - 0.01 * U)[:, None] * W[None, :] / len(U)        # ∂/∂G_i = -(1 - α_i) w / n
  assert np.max(np.abs(tape.gradient(loss, fake).numpy() - want)) < 1e-6


def test_improved_wgan_and_optimize_penalty():
  lam = 10.0
  objective = fogan.FirstOrderObjective("improved_wgan", gradient_weight=lam)
  loss, terms = objective.critic_loss(linear_critic, inputs())
  want = (FAKE @ W).mean() - (REAL @ W).mean() + lam * (np.linalg.norm(W) - 1.0) ** 2
  assert abs(float(loss) - want) < 1e-4
  g_loss, _ = objective.generator_loss(linear_critic, inputs())
  assert abs(float(g_loss) + (FAKE @ W + B).mean()) < 1e-5
  opt = fogan.FirstOrderObjective("penalized_wgan", 0.5, 1.0, optimize_penalty=True)
  g_loss, g_terms = opt.generator_loss(linear_critic, inputs())
  _, c_terms = opt.critic_loss(linear_critic, inputs())
  xp = np_interp(REAL, FAKE, U)
  penalty = 0.5 * float(c_terms["lipschitz_penalty"]) + 1.0 * float(c_terms["gradient_penalty"])
  assert abs(float(g_loss) - (-(xp @ W + B).mean() - penalty)) < 1e-5
  assert abs(float(g_terms["penalty"]) - penalty) < 1e-5


def test_run_fogan_sh_settings():
  r = fogan.recipe("celeb_a", fid="off")
  objective = registry.build_objective(r)
  assert (objective.lipschitz_weight, objective.gradient_weight) == (0.5, 1.0)
  assert objective.calculate_slope and not objective.optimize_penalty
  assert r.model.args == dict(width=64, g_norm="batch", d_norm="none")
  assert (r.batch_size, r.n_critic, r.g_opt.beta1, r.d_opt.beta1) == (64, 1, 0.5, 0.5)
  assert (r.z_dim, r.z_dist, r.g_opt.lr, r.d_opt.lr) == (100, "normal", 1e-4, 1e-4)
  assert r.steps == 81 * (202599 // 64)
  assert fogan.recipe("cifar10", fid="off").steps == 500 * (50000 // 64)
  assert fogan.recipe("lsun_bedroom", fid="off").steps == 9 * (3033042 // 64)
  baseline = registry.build_objective(fogan.recipe("cifar10", gan_method="improved_wgan",
                                                   fid="off"))
  assert baseline.gradient_weight == 10.0
  with pytest.raises(Exception, match="gan_method"):
    fogan.FirstOrderObjective("regular_gan")


def test_fogan_improves_8gaussians(tmp_path):
  r = fogan.recipe("8gaussians", steps=1500, log_every=1500, eval_every=1500, save_every=1500,
                   seed=0)
  before, after = toy_runs.coverage_before_and_after(r, tmp_path)
  assert after.high_quality_fraction > before.high_quality_fraction + 0.25
  assert after.modes_covered >= before.modes_covered + 4


def _fake_prepared_tfds(root):
  folder = root / "cifar10" / "3.0.2"
  folder.mkdir(parents=True)
  (folder / "dataset_info.json").write_text("{}")


def test_cifar10_command_runs_unchanged_on_mock_data(tmp_path):
  # The user's command, with the tfds data replaced by tfds.testing.mock_data and a short run.
  # mock_data's default random examples come from a Python generator, whose iterator the trainer
  # cannot checkpoint; `as_dataset_fn` serves the same kind of random images from memory instead.
  _fake_prepared_tfds(tmp_path / "tfds")
  workdir = tmp_path / "run"
  script = (
      "import sys\n"
      "import numpy as np\n"
      "import tensorflow as tf\n"
      "import tensorflow_datasets as tfds\n"
      "from repro.papers import fogan\n"
      "images = np.random.default_rng(0).integers(0, 256, (128, 32, 32, 3), dtype=np.uint8)\n"
      "def as_dataset(self, *args, **kwargs):\n"
      "  return tf.data.Dataset.from_tensor_slices({'image': images, 'label': np.zeros(128, np.int64)})\n"
      f"sys.argv = ['fogan', '--dataset=cifar10', '--steps=2', '--workdir={workdir}']\n"
      "with tfds.testing.mock_data(num_examples=128, as_dataset_fn=as_dataset):\n"
      "  fogan.main()\n")
  env = dict(os.environ, PYTHONPATH=ROOT, TFDS_DATA_DIR=str(tmp_path / "tfds"),
             REPRO_INCEPTION_GRAPH=str(tmp_path / "absent.pb"))
  proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                        timeout=300, cwd=ROOT)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "fogan on cifar10: dcgan_tf" in proc.stdout and "FID off" in proc.stdout
  assert os.listdir(workdir / "checkpoints") and os.listdir(workdir / "samples")
  assert json.load(open(workdir / "recipe.json"))["model"]["arch"] == "dcgan_tf"


def test_cifar10_without_data_fails_fast(tmp_path):
  start = time.time()
  proc = subprocess.run([sys.executable, "-m", "repro.papers.fogan", "--dataset=cifar10",
                         f"--data_dir={tmp_path}"], capture_output=True, text=True,
                        env=dict(os.environ, PYTHONPATH=ROOT), timeout=60, cwd=ROOT)
  assert time.time() - start < 5.0
  assert proc.returncode == 1
  assert proc.stderr.count("\n") == 1 and "download_and_prepare --datasets=cifar10" in proc.stderr


def test_cli_bad_flag_exits_2():
  cli_runs.assert_usage_error(cli_runs.run_module(
      "repro.papers.fogan", "--dataset=8gaussians", "--gan_method=regular_gan",
      "--workdir=/nonexistent/never"))
