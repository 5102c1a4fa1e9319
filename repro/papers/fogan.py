"""First Order GAN (Seward et al., ICML 2018): the penalized Wasserstein divergence with a first-order
(gradient) penalty, on TTUR's DCGAN.

  python -m repro.papers.fogan --dataset=cifar10                  # needs tfds cifar10 prepared
  python -m repro.papers.fogan --dataset=fashion_mnist --steps=300
  python -m repro.papers.fogan --dataset=8gaussians --steps=2000
  python -m repro.papers.fogan --dataset=celeb_a --gan_method=improved_wgan   # WGAN-GP baseline
  python -m repro.papers.fogan --dataset=lm1b                     # One Billion Word (run_fogan.sh)
  python -m repro.papers.fogan --text_file=F --steps=100 --net='{"width": 64}'   # a local file

Sources: zalandoresearch/first_order_gan `DCGAN_FID_batched/model.py` (the objectives, L177-345),
`DCGAN_FID_batched/main.py` (flag defaults, L49-56), `DCGAN_FID_batched/run_fogan.sh` (the CelebA
run: `--lipschitz_penalty=.5 --gradient_penalty=1.0 --gan_method='penalized_wgan'
--discriminator_batch_norm=False --num_discriminator_updates=1 --calculate_slope`, Adam beta1 0.5,
batch 64, FID on 50k samples every 5000 steps; its `case` block gives the epochs per dataset).
Paper FIDs (Papers-with-Code): CIFAR-10 27.4, LSUN bedroom 11.4.

The critic scores x' = αx + (1 − α)G(z), α ~ U[0, 0.01], not G(z): see repro.losses.fogan. The
networks are DCGAN_FID_batched's (repro.models.dcgan_tf), z ~ N(0, I) in R^100 (model.py L152).

Language (`--dataset=lm1b` or `--text_file=F`; `WGAN_GP/gan_language_JSD.py`, `main.py`,
`run_fogan.sh`; `--gan_method=improved_wgan` is `run_ttur.sh`'s WGAN-GP baseline): character-level
text as repro.data.text (32 characters, one-hot), the 1-D conv ResNets of gan_language.py with batch
norm in the generator (--batch_norm_g, DIM 512, ReLU critic), x' = x + α(G(z) − x) with α ~ U[0.99, 1]
(the same points as the image version's α ~ U[0, 0.01] on x), λ_L 0.1, λ_GP 1 (improved_wgan: 10),
calculated slopes (the language code has no max(0, ·), which is a no-op on a norm ratio), 1 critic step
at 3e-4 / 1e-4, Adam (0.5, 0.9), 500k iterations; every 2000 steps the n-gram JSDs (n = 1..6) of
100 x 64 generated sentences (batch norm in inference mode, as its `fake_samples`) go to TensorBoard
(eval/js1..js6) and eval.jsonl.

One training step (tests/test_official_step_fogan.py replays model.py's train() at reduced width):
the real batch, z and x' α are in-graph ops of the official graphs (an input queue,
tf.random_normal, tf.random_uniform; the language code feeds `gen.__next__()` to both updates), so
every update draws its own: penalized_wgan's generator update, whose loss −mean f(x') reads x, takes
a fresh real batch (`generator_real="fresh"`), fresh z and a fresh α; improved_wgan's generator loss
reads no real data. tf.train.AdamOptimizer holds β2 as float32 and its kernel forms 1 − β2 in
float32 (1 − 0.999f = 9.9998713e-4; Keras: 1e-3 from the Python float): optimizer kind
"adam_tf1". Batch norm: repro.models.dcgan_tf.TF1BatchNorm (the fused kernel's
unbiased moving variance).

Hardware: the 2-D sets and a few hundred Fashion-MNIST steps run on a 2-core CPU; the paper's image
runs (81 CelebA epochs, 500 CIFAR-10 epochs; FID on 50k samples) need a GPU.
"""

import sys

from repro import recipe as recipe_lib
from repro.data import catalog
from repro.errors import UsageError
from repro.papers import evaluation
from repro.train.objective import Objective

PAPER = "fogan"
TOY = catalog.names(family="gan_toy")
IMAGES = ("celeb_a", "lsun_bedroom", "cifar10", "fashion_mnist")
LANGUAGE = ("lm1b", "text")   # One Billion Word (tfds) or --text_file: WGAN_GP/gan_language_JSD.py
DATASETS = IMAGES + TOY + LANGUAGE
METHODS = ("penalized_wgan", "improved_wgan")
# The paper's own options (`recipe(dataset, **options)`, the command line's flags of these names).
OVERRIDE_GROUPS = (recipe_lib.FID,)   # the FID flags (image datasets)
OPTIONS = ("gan_method", "lipschitz_penalty", "gradient_penalty", "calculate_slope",
           "optimize_penalty", "discriminator_batch_norm")

LIPSCHITZ_PENALTY = 0.5   # run_fogan.sh --lipschitz_penalty=.5
GRADIENT_PENALTY = 1.0    # run_fogan.sh --gradient_penalty=1.0
# improved_wgan baseline: no image run script sets it; WGAN_GP/run_ttur.sh of the same repository
# (the WGAN-GP baseline of its language runs) uses --gradient_penalty=10, as WGAN-GP does.
IMPROVED_WGAN_PENALTY = 10.0
# run_fogan.sh `case $dataset`: epochs celebA 81, lsun 9, cifar10 500; 64 px except cifar10 (32).
# DCGAN_FID_batched counts batches over every image of the set (CelebA: all 202599).
EPOCHS = {"celeb_a": 81, "lsun_bedroom": 9, "cifar10": 500, "fashion_mnist": 25}
FID_SAMPLES = 50000       # run_fogan.sh --fid_n_samples 50000
# run_fogan.sh passes the rates on the command line; its checkpoint folder
# `logs/1127_220919_.0001_.0001` records lr_d = lr_g = 1e-4, the only rates on record.
LR = 1e-4

# WGAN_GP/run_fogan.sh (FOGAN) and run_ttur.sh (its WGAN-GP baseline) on One Billion Word.
LANGUAGE_LIPSCHITZ_PENALTY = 0.1      # run_fogan.sh --lipschitz_penalty=.1
LANGUAGE_GRADIENT_PENALTY = 1.0       # run_fogan.sh --gradient_penalty=1.
LANGUAGE_IMPROVED_WGAN_PENALTY = 10.0  # run_ttur.sh --gradient_penalty=10.
LANGUAGE_JSD_SAMPLES = 100 * 64       # --num_sample_batches=100 x --batch_size=64
LANGUAGE_NGRAMS = 6                   # --n_ngrams=6


class FirstOrderObjective(Objective):
  """penalized_wgan (FOGAN) or improved_wgan (WGAN-GP) exactly as model.py combines them."""

  def __init__(self, method="penalized_wgan", lipschitz_weight=LIPSCHITZ_PENALTY,
               gradient_weight=GRADIENT_PENALTY, calculate_slope=True, optimize_penalty=False):
    if method not in METHODS:
      raise UsageError(f"--gan_method must be one of {', '.join(METHODS)}, got {method!r}")
    if lipschitz_weight < 0 or gradient_weight < 0:   # model.py L68-69 asserts
      raise UsageError("--lipschitz_penalty and --gradient_penalty must be non-negative")
    if method == "penalized_wgan" and not calculate_slope and lipschitz_weight == 0:
      raise UsageError("--nocalculate_slope uses the target 1 / (2 λ_L): --lipschitz_penalty must "
                       "be > 0")
    self.name = self.method = method
    self.optimize_penalty = optimize_penalty
    self.lipschitz_weight, self.gradient_weight = lipschitz_weight, gradient_weight
    self.calculate_slope = calculate_slope

  def _terms(self, critic, inputs):
    """Critic loss and its parts on this replica's batch (model.py L202-307)."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from repro.losses import common  # pylint: disable=g-import-not-at-top
    from repro.losses import fogan as losses  # pylint: disable=g-import-not-at-top
    real = inputs.real
    f_real = tf.reshape(critic(real, training=True), [-1])
    if self.method == "penalized_wgan":
      x_interp = losses.interpolates(real, inputs.fake, losses.ALPHA_MAX * inputs.u)
      f_interp, norms = common.critic_with_gradient_norms(critic, x_interp)
      lip = losses.lipschitz_penalty(real, x_interp, f_real, f_interp)
      if self.calculate_slope:
        target = losses.slope_targets(real, x_interp, f_real, f_interp)
      else:
        target = losses.constant_slope_target(self.lipschitz_weight)
      gp = losses.gradient_penalty(norms, target)
      terms = {"lipschitz_penalty": lip, "gradient_penalty": gp,
               "mean_slope_target": tf.reduce_mean(target),
               "lipschitz_estimate": losses.lipschitz_estimate(real, x_interp, f_real, f_interp)}
      adversarial = losses.discriminator_loss(f_real, f_interp)
      return adversarial, self.lipschitz_weight * lip + self.gradient_weight * gp, f_interp, terms
    # improved_wgan (model.py L272-290): critic on G(z); penalty at α x + (1 − α) G(z), α ~ U[0, 1].
    f_fake = tf.reshape(critic(inputs.fake, training=True), [-1])
    x_hat = common.interpolate(real, inputs.fake, inputs.u)
    _, norms = common.critic_with_gradient_norms(critic, x_hat)
    gp = losses.gradient_penalty(norms, 1.0)
    adversarial = losses.discriminator_loss(f_real, f_fake)
    return adversarial, self.gradient_weight * gp, f_fake, {"gradient_penalty": gp}

  def critic_loss(self, critic, inputs):
    adversarial, penalty, _, terms = self._terms(critic, inputs)
    terms["wasserstein_estimate"] = -adversarial
    return adversarial + penalty, terms

  def generator_loss(self, critic, inputs):
    from repro.losses import fogan as losses  # pylint: disable=g-import-not-at-top
    if not self.optimize_penalty:
      if self.method == "penalized_wgan":   # −mean f(x'), x' with a fresh α (model.py L208)
        x_interp = losses.interpolates(inputs.real, inputs.fake, losses.ALPHA_MAX * inputs.u)
        return losses.generator_loss(critic(x_interp, training=True)), {}
      return losses.generator_loss(critic(inputs.fake, training=True)), {}
    # model.py L342-343: g_loss − d_lipschitz_penalty_loss − d_gradient_penalty_loss.
    _, penalty, f_scored, _ = self._terms(critic, inputs)
    return losses.generator_loss(f_scored) - penalty, {"penalty": penalty}


def _generator_real(objective):
  """penalized_wgan's generator loss −mean f(x') reads the real batch, and the official update
  draws its own (model.py: the input queue is dequeued in the g_optim Session.run; language:
  `gen.__next__()` before gen_train_op); improved_wgan's reads none."""
  return "fresh" if objective[1]["method"] == "penalized_wgan" else "critic"


def language_recipe(dataset, objective):
  """run_fogan.sh / run_ttur.sh with WGAN_GP/main.py and gan_language_JSD.py (both methods)."""
  return recipe_lib.make(
      PAPER, dataset, "language", objective=objective,
      model=dict(width=512,            # --dim=512
                 g_norm="batch",       # --batch_norm_g (BN on z, after Linear and every conv)
                 init="tflib"),        # tflib Conv1D / Linear (gan_language_JSD.py)
      z_dim=128, z_dist="normal",      # make_noise(shape=[n_samples, 128]): tf.random_normal
      batch_size=64,                   # --batch_size=64
      steps=500000,                    # --iterations 500000
      n_critic=1,                      # --critic_iters=1
      generator_real=_generator_real(objective),
      generator_noise="fresh",         # make_noise: tf.random_normal, new z in every Session.run
      d_lr=3e-4, g_lr=1e-4,            # --learning_rate_d 0.0003 --learning_rate_g 0.0001
      optimizer="adam_tf1",            # AdamOptimizer(beta1=0.5, beta2=0.9)
      g_beta1=0.5, g_beta2=0.9, d_beta1=0.5, d_beta2=0.9,
      # --jsd_test_interval=2000; 100 x 64 samples, batch norm in inference mode (fake_samples)
      evaluation=evaluation.jsd_evaluation(LANGUAGE_JSD_SAMPLES, every=2000,
                                           max_n=LANGUAGE_NGRAMS),
      log_every=100,                   # --print_interval=100
      save_every=10000,                # train(): saver.save every 10000 iterations
      # --seq_len=32 --max_n_examples=10000000; language_helpers.load_dataset max_vocab_size 2048
      text=dict(seq_len=32, max_lines=10_000_000, max_vocab=2048))


def image_recipe(dataset, objective, batch_norm=False):
  if dataset in TOY:
    # Not in the paper: the suite's 2-D setting with run_fogan.sh's objective (λ_L 0.5, λ_GP 1,
    # calculated slopes, 1 critic update): gan_toy.py's noise dim 2 and batch 256, 3x128 ReLU MLPs,
    # Adam (0, 0.9) at 1e-3 decayed linearly to 0 over 5000 steps. Measured on 8gaussians (1500
    # steps): run_fogan.sh's Adam (0.5, 0.999) at 1e-4-1e-3 leaves the 3-sigma fraction at 0-0.03;
    # this setting reaches 0.5 (6-7 of 8 modes).
    return recipe_lib.make(PAPER, dataset, "mlp", objective=objective,
                           model=dict(hidden=(128, 128, 128)), z_dim=2, z_dist="normal",
                           batch_size=256, steps=5000, n_critic=1, g_lr=1e-3, d_lr=1e-3,
                           g_beta1=0.0, g_beta2=0.9, d_beta1=0.0, d_beta2=0.9,
                           lr_decay="linear", save_every=1000, log_every=100,
                           evaluation=evaluation.mixture_evaluation(dataset, every=500))
  size = catalog.dataset_info(dataset).size("all" if dataset == "celeb_a" else "train")
  n_fid = FID_SAMPLES if dataset != "fashion_mnist" else 10000   # CPU stand-in: 10k samples
  return recipe_lib.make(
      PAPER, dataset, "dcgan_tf", objective=objective,
      # model.py gf_dim = df_dim = 64; --discriminator_batch_norm=False (run_fogan.sh)
      model=dict(width=64, g_norm="batch", d_norm="batch" if batch_norm else "none"),
      z_dim=100, z_dist="normal",             # model.py L152: z = tf.random_normal(0, 1), z_dim 100
      batch_size=64,                          # run_fogan.sh --batch_size=64
      steps=EPOCHS[dataset] * (size // 64),   # run_fogan.sh epochs (fashion_mnist: main.py's
                                              # default 25, not in the paper)
      n_critic=1,                             # --num_discriminator_updates=1
      generator_real=_generator_real(objective),   # g_optim's Session.run dequeues a new batch
      generator_noise="fresh",                # z: tf.random_normal, new in every Session.run
      g_lr=LR, d_lr=LR,
      g_beta1=0.5, d_beta1=0.5,               # run_fogan.sh --beta1 0.5
      optimizer="adam_tf1",                   # tf.train.AdamOptimizer (float32 betas)
      g_beta2=0.999, d_beta2=0.999,           # its default beta2
      save_every=2000,                        # model.py L510: checkpoint every 2000 counters
      log_every=100,                          # model.py L450: print every 100
      # model.py L487: FID on (G(z) + 1) * 127.5 kept as float; --fid_eval_steps 5000.
      evaluation=evaluation.fid_evaluation(dataset, n_fid, "none",
                                           5000 if dataset != "fashion_mnist" else 1000))


def recipe(dataset, **overrides):
  """The paper's recipe for `dataset`; options: gan_method (penalized_wgan, improved_wgan),
  lipschitz_penalty (λ_L), gradient_penalty (λ_GP), calculate_slope, optimize_penalty,
  discriminator_batch_norm, the FID overrides (images) and the common overrides of repro.recipe."""
  language = dataset in LANGUAGE
  extra = () if language else (recipe_lib.FID,)
  own, common = recipe_lib.split_overrides(PAPER, overrides, OPTIONS, extra=(recipe_lib.FID,))
  recipe_lib.check_dataset(PAPER, dataset, DATASETS)
  method = own.get("gan_method", "penalized_wgan")
  if method not in METHODS:
    raise UsageError(f"--gan_method must be one of {', '.join(METHODS)}, got {method!r}")
  if language:
    default_gp = (LANGUAGE_GRADIENT_PENALTY if method == "penalized_wgan"
                  else LANGUAGE_IMPROVED_WGAN_PENALTY)
  else:
    default_gp = GRADIENT_PENALTY if method == "penalized_wgan" else IMPROVED_WGAN_PENALTY
  params = dict(
      method=method,
      lipschitz_weight=own.get("lipschitz_penalty",
                               LANGUAGE_LIPSCHITZ_PENALTY if language else LIPSCHITZ_PENALTY),
      gradient_weight=own.get("gradient_penalty", default_gp),
      calculate_slope=own.get("calculate_slope", True),
      optimize_penalty=own.get("optimize_penalty", False))
  FirstOrderObjective(**params)   # the parameters' checks, before anything else
  objective = ("fogan", params)
  if language:
    if set(common) & set(recipe_lib.FID):
      raise UsageError("the FID flags apply to image datasets; language runs report n-gram JSDs")
    base = language_recipe(dataset, objective)
  else:
    base = image_recipe(dataset, objective, own.get("discriminator_batch_norm", False))
  return recipe_lib.apply_overrides(base, common, extra=extra)


def define_flags(flags):
  flags.DEFINE_enum("gan_method", None, list(METHODS), "penalized_wgan (FOGAN, the default) or "
                    "improved_wgan (the WGAN-GP baseline of model.py).")
  flags.DEFINE_float("lipschitz_penalty", None, "λ_L of the Lipschitz term (run_fogan.sh .5).")
  flags.DEFINE_float("gradient_penalty", None, "λ_GP of the gradient penalty (run_fogan.sh 1.0; "
                     "improved_wgan: 10).")
  flags.DEFINE_boolean("calculate_slope", None, "Target slope per x' from the real batch "
                       "(run_fogan.sh --calculate_slope, the default); --nocalculate_slope: "
                       "1 / (2 λ_L).")
  flags.DEFINE_boolean("optimize_penalty", None, "The generator also increases the penalties "
                       "(model.py optimize_penalty, default False).")
  flags.DEFINE_boolean("discriminator_batch_norm", None, "Batch norm in the critic "
                       "(run_fogan.sh False).")


def main():
  from repro.train import cli  # pylint: disable=g-import-not-at-top
  cli.run_paper(sys.modules[__name__], default_dataset="fashion_mnist")


if __name__ == "__main__":
  main()
