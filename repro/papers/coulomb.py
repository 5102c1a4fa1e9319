"""Coulomb GAN (Unterthiner et al., ICLR 2018): the critic learns the potential field, the generator
descends it.

  python -m repro.papers.coulomb --dataset=fashion_mnist --steps=300
  python -m repro.papers.coulomb --dataset=lsun_bedroom          # the README command's settings
  python -m repro.papers.coulomb --dataset=8gaussians --steps=3000
  python -m repro.papers.coulomb --dataset=lm1b                   # train.py --dataset billion_word
  python -m repro.papers.coulomb --text_file=F --steps=100 --net='{"width": 64}'   # a local file

Sources: bioinf-jku/coulomb_gan `tensorflow/train.py` (objective L98-135, argparse defaults
L276-311), `tensorflow/models.py` ("my" / "my-big" nets), `tensorflow/utils.py` (potentials),
`tensorflow/README.md` (the LSUN command). Facts only; the code here is independent (GPL original).

Every iteration updates the critic and the generator *simultaneously* from the same real batch and
the same generated batch (`train_op = tf.group(train_op_d, train_op_g)`, L135): the trainer's
`update = "simultaneous"` mode. FID during training uses TTUR's protocol (repro.papers.ttur) on 5·1024
samples every 5000 iterations as train.py does (L234-240; the README warns this underestimates
quality; use 50k samples for final numbers). Batch norm (models.py `training=True`, train.py never
runs UPDATE_OPS) always normalises with the batch's statistics and never moves its moving averages:
repro.models.coulomb_models `bn_stats="batch"` (the image nets' default; `"bn_stats": "moving"` in
--net for Keras batch norm with moving averages).

Language (`--dataset=lm1b` or `--text_file=F`; train.py `--dataset billion_word -g billion_word
-d billion_word`, utils.py `load_text_dataset`, models.py `billion_word_*`): character-level text as
repro.data.text (32 characters, one-hot; the official vocabulary is the same set, sorted), the 1-D
conv ResNets (DIM 512, batch norm in the generator), the Plummer kernel (d 3, ε 1) on whole one-hot
sentences, train.py's defaults otherwise (batch 128, z 32, Adam 1e-4 (0.9, 0.999), 500k iterations);
every 5000 steps the n-gram JSDs (n = 1..6) of 5 x 128 generated sentences go to TensorBoard
(eval/js1..js6) and eval.jsonl, sampled as the official code does from the training-mode generator
(batch norm on the statistics of each batch of 128; the moving averages are not touched). The sample
files samples/step_*.txt use the moving averages.

Hardware: the 2-D mixture trains on a 2-core CPU in a minute; Fashion-MNIST with the CPU stand-in
widths runs a few hundred steps in minutes; the paper's 64x64 runs (17.8M-parameter generator,
500k-1M iterations) need a GPU.
"""

import sys

from repro import recipe as recipe_lib
from repro.data import catalog
from repro.errors import UsageError
from repro.papers import evaluation
from repro.train.objective import Objective

PAPER = "coulomb"
TOY = catalog.names(family="gan_toy")
IMAGES = ("celeb_a", "lsun_bedroom", "cifar10", "fashion_mnist")
LANGUAGE = ("lm1b", "text")   # train.py --dataset billion_word: One Billion Word (tfds) or --text_file
DATASETS = IMAGES + TOY + LANGUAGE
# The paper's own options (`recipe(dataset, **options)`, the command line's flags of these names).
OVERRIDE_GROUPS = (recipe_lib.FID,)   # the FID flags (image datasets)
OPTIONS = ("plummer_dim", "plummer_epsilon", "disc_loss", "l2_penalty", "gen_l2p_scale",
           "discriminator_lr_scale")

# train.py argparse defaults.
DEFAULTS = dict(
    batch_size=128,          # -b 128
    z_dim=32,                # -z 32
    lr=1e-4,                 # -l 1e-4
    d_lr_scale=1.0,          # --discriminator_lr_scale 1
    beta1=0.9, beta2=0.999,  # --generator_beta1/2, --discriminator_beta1/2: 0.9, 0.999
    iterations=500000,       # -i 500 (thousands)
    dim=3, epsilon=1.0,      # --dimension 3, --epsilon 1.0
    l2=0.0, gen_l2_scale=1.0,  # --l2_penalty 0.0, --gen_l2p_scale 1.0
    disc_loss="l2",          # --disc_loss l2
    stats_every=5000,        # --stats_every 5000 (FID on 5*1024 samples, L238)
    checkpoint_every=25000,  # --checkpoint_every 25000
)
# tensorflow/README.md: ./train.py --gpu 0 -z 16 --dataset lsun -g my -d my-big -i 1000
#                       --l2_penalty 1e-7 --discriminator_lr_scale 0.5
README_LSUN = dict(z_dim=16, d_width=128, iterations=1000000, l2=1e-7, d_lr_scale=0.5)
FID_SAMPLES = 5 * 1024      # train.py L238: sample_images(x_img, sess, n_batches=5*1024 // batch_size)
# 2-D mixtures: not in the paper or the code (no toy data there); the suite's settings, chosen on
# 8gaussians (modes 1.08 apart, std 0.014): d = 3 as in the code, epsilon 0.3, gan_toy.py's noise
# dim 2 and batch 256, 3x128 ReLU MLPs. Measured (2500 steps, seeds 0-3): train.py's Adam
# (0.9, 0.999) at a constant rate keeps circling the modes under the simultaneous updates (0-8 of 8
# modes covered, 3-sigma fraction 0.05-0.48); Adam (0, 0.9) with the rate decayed linearly to 0
# covers all 8 modes on every seed (fraction 0.44-0.67).
TOY_SETTINGS = dict(dim=3, epsilon=0.3, batch_size=256, lr=3e-4, beta1=0.0, beta2=0.9,
                    lr_decay="linear", hidden=(128, 128, 128), steps=5000)


# train.py billion_word (-g billion_word -d billion_word): JSD on 5 batches of 128 generated
# sentences (L245-252: "to compare with WGAN-GP, we can only take 5 samples since our batch size is
# 2x theirs"), n-grams up to --ngrams 6.
LANGUAGE_JSD_SAMPLES = 5 * 128
LANGUAGE_NGRAMS = 6



class CoulombObjective(Objective):
  """L_D = MSE(Φ(x), D(x)) + MSE(Φ(y), D(y)); L_G = mean D(x); simultaneous updates."""
  name = "coulomb"
  update = "simultaneous"

  def __init__(self, dim=3, epsilon=1.0, disc_loss="l2"):
    if disc_loss not in ("l2", "l1"):
      raise UsageError(f"--disc_loss must be l2 or l1, got {disc_loss!r}")
    if dim <= 2:
      raise UsageError(f"--plummer_dim must be > 2 (the kernel exponent is -(d - 2) / 2), got {dim}")
    if not epsilon > 0:
      raise UsageError(f"--plummer_epsilon must be > 0, got {epsilon}")
    self.dim, self.epsilon, self.disc_loss = dim, epsilon, disc_loss
    self._shared = None   # (inputs, D(x)): one critic pass on x serves both losses, as in train.py

  def critic_loss(self, critic, inputs):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from repro.losses import coulomb as losses  # pylint: disable=g-import-not-at-top
    d_fake = critic(inputs.fake, training=True)
    d_real = critic(inputs.real, training=True)
    self._shared = (inputs, d_fake)
    pot_fake, pot_real = losses.potentials(inputs.fake, inputs.real, self.dim, self.epsilon)
    fake_term, real_term = losses.discriminator_loss_terms(d_fake, d_real, pot_fake, pot_real,
                                                           self.disc_loss)
    return fake_term + real_term, {
        "loss_fake": fake_term, "loss_real": real_term,
        "potential_fake": tf.reduce_mean(pot_fake), "potential_real": tf.reduce_mean(pot_real)}

  def generator_loss(self, critic, inputs):
    from repro.losses import coulomb as losses  # pylint: disable=g-import-not-at-top
    shared, self._shared = self._shared, None
    d_fake = shared[1] if shared is not None and shared[0] is inputs else critic(
        inputs.fake, training=True)
    return losses.generator_loss(d_fake), {}


def _language_recipe(dataset, objective, batch, lr, l2, gen_l2_scale, d_lr_scale):
  d = DEFAULTS
  return recipe_lib.make(
      PAPER, dataset, "language", objective=objective,
      # models.py billion_word_generator / _discriminator: n_hidden 512, BN in G only
      # (Generator.Input.bn with tf.layers defaults, the blocks' BN 0.9 / 1e-5), tf.layers
      # (glorot) initialisers, the L2 regularizer on the blocks' convolutions.
      model=dict(width=512, g_norm="coulomb", init="glorot", l2=l2, g_l2=l2 * gen_l2_scale),
      z_dim=d["z_dim"], z_dist="normal",          # -z 32, tf.random_normal
      batch_size=batch,                           # -b 128
      steps=d["iterations"], n_critic=1,          # -i 500 (thousands); simultaneous updates
      optimizer="adam_tf1",                       # tf.train.AdamOptimizer (float32 betas)
      g_lr=lr, d_lr=lr * d_lr_scale,
      g_beta1=d["beta1"], g_beta2=d["beta2"], d_beta1=d["beta1"], d_beta2=d["beta2"],
      save_every=d["checkpoint_every"],           # --checkpoint_every 25000
      log_every=100,
      # --stats_every 5000: JSDs of 5 x 128 sentences of the training-mode generator tensor x
      # (train.py sample_text: batch statistics of each batch of 128, moving averages untouched)
      evaluation=evaluation.jsd_evaluation(LANGUAGE_JSD_SAMPLES, every=d["stats_every"],
                                           max_n=LANGUAGE_NGRAMS, sampler="training",
                                           sample_batch=batch),
      # --sequence_length 32, --num_examples 10000000, --max_vocab_size 2048
      text=dict(seq_len=32, max_lines=10_000_000, max_vocab=2048))


def _image_recipe(dataset, objective, batch, lr, l2, gen_l2_scale, d_lr_scale):
  from repro.models.coulomb_models import critic_depth  # pylint: disable=g-import-not-at-top
  d = DEFAULTS
  settings = dict(z_dim=d["z_dim"], d_width=64, iterations=d["iterations"], g_width=1024)
  if dataset in ("lsun_bedroom", "celeb_a", "cifar10"):
    # The paper's per-dataset flags are not published and train.py has none besides the image
    # size: the README's command (its LSUN run) with --dataset changed, for every image set.
    settings.update(README_LSUN)
  else:  # fashion_mnist: not in the paper; "my" / "my" at a quarter of the widths for a CPU
    settings.update(g_width=256, d_width=32, iterations=20000)
  fashion = dataset == "fashion_mnist"
  return recipe_lib.make(
      PAPER, dataset, "coulomb", objective=objective,
      model=dict(g_width=settings["g_width"], d_width=settings["d_width"],
                 d_layers=critic_depth(batch),   # models.py L232: log2(batch / 8) convolutions
                 l2=l2, g_l2=l2 * gen_l2_scale),
      z_dim=settings["z_dim"], z_dist="normal",   # train.py L83: z = tf.random_normal
      batch_size=batch, steps=settings["iterations"], n_critic=1,
      optimizer="adam_tf1",                       # tf.train.AdamOptimizer (float32 betas)
      g_lr=lr, d_lr=lr * d_lr_scale, g_beta1=d["beta1"], g_beta2=d["beta2"], d_beta1=d["beta1"],
      d_beta2=d["beta2"],
      save_every=d["checkpoint_every"] if not fashion else 1000,
      log_every=100,
      # train.py L144: x_img = (clip(x, -1, 1) + 1) / 2, times 255 as floats for the FID (L238),
      # on 5 * 1024 samples every --stats_every steps, drawn (L238) from the training-mode generator
      # tensor x: batch norm on each batch of `batch` (its moving averages are never updated;
      # with the default bn_stats "batch" the nets' inference mode is the same computation).
      evaluation=evaluation.fid_evaluation(dataset, FID_SAMPLES, "none",
                                           d["stats_every"] if not fashion else 500,
                                           sampler="training", sample_batch=batch))


def _toy_recipe(dataset, objective, batch, lr, d_lr_scale):
  t = TOY_SETTINGS
  return recipe_lib.make(PAPER, dataset, "mlp", objective=objective,
                         model=dict(hidden=t["hidden"]), z_dim=2, z_dist="normal",
                         batch_size=batch, steps=t["steps"], n_critic=1, g_lr=lr,
                         d_lr=lr * d_lr_scale, g_beta1=t["beta1"], g_beta2=t["beta2"],
                         d_beta1=t["beta1"], d_beta2=t["beta2"], lr_decay=t["lr_decay"],
                         save_every=1000, log_every=100,
                         evaluation=evaluation.mixture_evaluation(dataset, every=1000))


def recipe(dataset, **overrides):
  """The paper's recipe for `dataset`; options: plummer_dim (d), plummer_epsilon (ε), disc_loss
  (l2, l1), l2_penalty, gen_l2p_scale, discriminator_lr_scale, the FID overrides (images) and the
  common overrides of repro.recipe. The critic's depth follows the batch size (models.py)."""
  language, toy = dataset in LANGUAGE, dataset in TOY
  extra = (recipe_lib.FID,) if dataset in IMAGES else ()
  own, common = recipe_lib.split_overrides(PAPER, overrides, OPTIONS, extra=(recipe_lib.FID,))
  recipe_lib.check_dataset(PAPER, dataset, DATASETS)
  if not extra and set(common) & set(recipe_lib.FID):
    raise UsageError(f"the FID flags apply to image datasets, not {dataset}")
  d = DEFAULTS
  params = dict(dim=own.get("plummer_dim", TOY_SETTINGS["dim"] if toy else d["dim"]),
                epsilon=own.get("plummer_epsilon", TOY_SETTINGS["epsilon"] if toy else
                                d["epsilon"]),
                disc_loss=own.get("disc_loss", d["disc_loss"]))
  CoulombObjective(**params)   # the parameters' checks, before anything else
  objective = ("coulomb", params)
  batch = common.get("batch_size", TOY_SETTINGS["batch_size"] if toy else d["batch_size"])
  lr = common.get("g_lr", TOY_SETTINGS["lr"] if toy else d["lr"])
  readme = dataset in ("lsun_bedroom", "celeb_a", "cifar10")
  d_lr_scale = own.get("discriminator_lr_scale",
                       README_LSUN["d_lr_scale"] if readme else d["d_lr_scale"])
  l2 = own.get("l2_penalty", README_LSUN["l2"] if readme else d["l2"])
  gen_l2_scale = own.get("gen_l2p_scale", d["gen_l2_scale"])
  if toy:
    if {"l2_penalty", "gen_l2p_scale"} & set(own):
      raise UsageError("--l2_penalty / --gen_l2p_scale apply to the convolutional nets")
    base = _toy_recipe(dataset, objective, batch, lr, d_lr_scale)
  elif language:
    base = _language_recipe(dataset, objective, batch, lr, l2, gen_l2_scale, d_lr_scale)
  else:
    base = _image_recipe(dataset, objective, batch, lr, l2, gen_l2_scale, d_lr_scale)
  return recipe_lib.apply_overrides(base, common, extra=extra)


def define_flags(flags):
  flags.DEFINE_integer("plummer_dim", None, "Plummer kernel dimension d (train.py --dimension, 3).")
  flags.DEFINE_float("plummer_epsilon", None, "Plummer kernel epsilon (train.py --epsilon, 1.0).")
  flags.DEFINE_enum("disc_loss", None, ["l2", "l1"], "Critic regression loss onto the potential "
                    "(train.py --disc_loss, l2).")
  flags.DEFINE_float("l2_penalty", None, "L2 weight penalty on conv kernels (train.py --l2_penalty).")
  flags.DEFINE_float("gen_l2p_scale", None, "Scale of the generator's L2 penalty (train.py, 1.0).")
  flags.DEFINE_float("discriminator_lr_scale", None, "Critic lr = lr x this (train.py, 1; README "
                     "LSUN 0.5).")


def main():
  from repro.train import cli  # pylint: disable=g-import-not-at-top
  cli.run_paper(sys.modules[__name__], default_dataset="fashion_mnist")


if __name__ == "__main__":
  main()
