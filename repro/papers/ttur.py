"""TTUR: GANs trained by a two time-scale update rule (Heusel et al., NIPS 2017), and its FID protocol.

  python -m repro.papers.ttur --dataset=fashion_mnist --steps=300            # DCGAN, TTUR rates
  python -m repro.papers.ttur --dataset=cifar10 --model=wgan_gp [--nottur]   # Table 1 rows
  python -m repro.papers.ttur --dataset=8gaussians --steps=2000
  python -m repro.papers.ttur --dataset=saddle                               # the toy saddle
  python -m repro.papers.ttur --dataset=lm1b --model=language [--nottur]     # Table 1 JSD rows
  python -m repro.papers.ttur --model=language --text_file=F --steps=100 --net='{"width": 64}'

Sources: bioinf-jku/TTUR — `Poster/TTUR_Converges_NIPS2017.pdf` (= paper Table 1), `DCGAN_FID_batched/
{model.py,main.py,run.sh,ops.py}`, `WGAN_GP/gan_64x64_FID.py`, `Toy_Data_Example/
ttur_example_saddle.ipynb`. TTUR gives the discriminator and the generator their own learning rates
(b and a in Table 1); "orig" is the one-time-scale baseline with a single rate.

FID during training (the "fid" evaluator of repro.papers.evaluation, shared with Coulomb GAN and
FOGAN, on `repro.metrics.evaluate.fid_eval_fn`): every `--eval_every` steps, `--fid_samples` generated images
against reference statistics; the value goes to TensorBoard (`eval/fid`, the FID curve) and
eval.jsonl, and the best-FID weights are kept apart in `<workdir>/best` (the paper reports the best
FID of a run). Fashion-MNIST uses the suite's Fashion-MNIST classifier
(checkpoints/fashion_mnist_cnn.weights.h5) against its 60k training images; the other image sets use
the 2015 Inception graph (`--inception_graph`) with TTUR's statistics files (`--fid_stats`, e.g.
fid_stats_cifar10_train.npz) or statistics of the training split. Reference statistics are cached
on disk (~/.cache/repro/fid_stats, or $REPRO_CACHE_DIR/fid_stats).

Language (`--model=language`, WGAN_GP/gan_language_JSD.py): character-level WGAN-GP on One Billion
Word (`--dataset=lm1b`, tfds) or a local UTF-8 file (`--text_file`, one sentence per line; the
extracted 1BW folder is read as the official code reads it): 32 characters, the 2047 most frequent
characters + "unk", one-hot real data, the 1-D conv ResNets of gan_language.py (repro.models.language,
DIM 512), λ 10, Adam (0.5, 0.9), TTUR 1 critic step at 3e-4 / 1e-4, --nottur 10 critic steps at 1e-4.
Every 100 steps the n-gram JSDs (n = 1..6) of 640 generated sentences against the training lines go
to TensorBoard (eval/js1..js6) and eval.jsonl, and samples/step_*.txt; the best-js4 weights are kept
in <workdir>/best. One difference: the generator's step here uses the real batch of the critic step
just before it (the official generator loss ignores real data, so nothing changes for WGAN-GP).

DCGAN step (tests/test_official_step_ttur.py, golden from one iteration of DCGAN_FID_batched's
train()): the generator update reuses the critic update's z, the loss printing's training-mode
passes move the batch-norm moving statistics after every iteration (GANObjective loss_eval_passes),
batch norm as tf.contrib's non-fused path of TF <= 1.3, Adam's beta2 as TF1's float32 0.999.

Hardware: the 2-D sets and Fashion-MNIST run on a 2-core CPU (a few hundred steps in minutes); the
paper's image runs (75k-425k DCGAN updates, 100k WGAN-GP iterations, FID on 50k samples) need a GPU.
"""

import json
import os
import sys

from repro import recipe as recipe_lib
from repro.data import catalog
from repro.errors import UsageError, exit_on_error, parse_flags_or_exit
from repro.papers import evaluation
from repro.train.objective import Objective

PAPER = "ttur"
TOY = catalog.names(family="gan_toy")
MODELS = ("dcgan", "wgan_gp", "language")
DCGAN_DATASETS = ("celeb_a", "cifar10", "svhn", "lsun_bedroom", "fashion_mnist") + TOY
WGAN_GP_DATASETS = ("cifar10", "lsun_bedroom", "fashion_mnist") + TOY
LANGUAGE_DATASETS = ("lm1b", "text")     # One Billion Word (tfds) or --text_file
TRAIN_DATASETS = tuple(sorted(set(DCGAN_DATASETS + WGAN_GP_DATASETS + LANGUAGE_DATASETS)))
DATASETS = TRAIN_DATASETS + ("saddle",)
# The paper's own options (`recipe(dataset, **options)`, the command line's flags of these names).
OPTIONS = ("model", "ttur", "gp_weight")
OVERRIDE_GROUPS = (recipe_lib.FID,)   # the FID flags (image datasets)

# Table 1 (TTUR poster = paper): (discriminator lr b, generator lr a) for TTUR, one lr for "orig".
TABLE1 = {
    ("dcgan", "celeb_a"): ((1e-5, 5e-4), 5e-4),       # FID 12.5 (225k updates) vs 21.4 (70k)
    ("dcgan", "cifar10"): ((1e-4, 5e-4), 1e-4),       # FID 36.9 (75k) vs 37.7 (100k)
    ("dcgan", "svhn"): ((1e-5, 1e-4), 5e-5),          # FID 12.5 (165k) vs 21.4 (185k)
    ("dcgan", "lsun_bedroom"): ((1e-5, 1e-4), 5e-5),  # FID 57.5 (340k) vs 70.4 (70k)
    ("wgan_gp", "cifar10"): ((3e-4, 1e-4), 1e-4),     # FID 24.8 (700 min) vs 29.3 (800 min)
    ("wgan_gp", "lsun_bedroom"): ((3e-4, 1e-4), 1e-4),  # FID 9.5 (1900 min) vs 20.5 (2010 min)
}
# run.sh `epochs`: celebA 81, lsun 9, cifar10 500 (SVHN has no run.sh entry: Table 1's updates).
# DCGAN_FID_batched's batch_nums = len(data) // batch_size over every image of the set.
_DCGAN_EPOCHS = {"celeb_a": 81, "lsun_bedroom": 9, "cifar10": 500}
_SVHN_UPDATES = {True: 165000, False: 185000}     # Table 1 "updates" column
LANGUAGE_JSD_SAMPLES = 640   # gan_language_JSD.py: 10 x generate_samples() of BATCH_SIZE 64
LANGUAGE_NGRAMS = 6          # N_NGRAMS = 6
LAMBDA_GP = {"image": 10.0, "toy": 0.1, "language": 10.0}   # gan_64x64_FID.py / gan_language_JSD.py
                                                            # LAMBDA 10; gan_toy.py LAMBDA .1
# FID on 50k samples (run.sh --fid_n_samples / FID_EVAL_SIZE 50000); the CPU stand-in: 10k.
FID_SAMPLES = 50000
FASHION_MNIST_FID_SAMPLES = 10000


# ---- settings ------------------------------------------------------------------------------------

def _rates(model, dataset, ttur):
  """(d_lr, g_lr) of Table 1; stand-ins for sets the paper did not run (documented at each)."""
  # fashion_mnist and the 2-D sets are not in the paper: they use the model's CIFAR-10 row.
  (b, a), orig = TABLE1.get((model, dataset), TABLE1[(model, "cifar10")])
  return (b, a) if ttur else (orig, orig)


def _fid(dataset, quantize, every, **changes):
  n = FASHION_MNIST_FID_SAMPLES if dataset == "fashion_mnist" else FID_SAMPLES
  return evaluation.fid_evaluation(dataset, n, quantize, every, **changes)


def dcgan_recipe(dataset, ttur=True):
  d_lr, g_lr = _rates("dcgan", dataset, ttur)
  objective = ("gan", {})
  if dataset in TOY:
    # Not in the paper: gan_toy.py's 2-D setting (3x512 ReLU MLPs, noise dim 2, batch 256, 100k
    # iterations) with DCGAN_FID_batched's loss, Adam beta1 0.5 and CIFAR-10's Table 1 rates.
    return recipe_lib.make(PAPER, dataset, "mlp", model=dict(hidden=(512, 512, 512)),
                           objective=objective, z_dim=2, z_dist="normal", batch_size=256,
                           steps=100000, n_critic=1, g_lr=g_lr, d_lr=d_lr, g_beta1=0.5,
                           g_beta2=0.999, d_beta1=0.5, d_beta2=0.999, save_every=1000,
                           log_every=100,
                           evaluation=evaluation.mixture_evaluation(dataset, every=1000))
  info = catalog.dataset_info(dataset)
  if dataset == "svhn":
    steps = _SVHN_UPDATES[ttur]
  elif dataset == "fashion_mnist":
    steps = 25 * info.size() // 64    # not in the paper: main.py's default --epoch 25
  else:
    steps = _DCGAN_EPOCHS[dataset] * (info.size("all" if dataset == "celeb_a" else "train") // 64)
  return recipe_lib.make(
      PAPER, dataset, "dcgan_tf",
      # model.py L348-350 print the losses after every iteration by evaluating d_loss_fake,
      # d_loss_real and g_loss: training-mode forward passes that move the moving statistics of
      # every batch norm (ops.batch_norm: updates_collections=None); the FID sampler reads them.
      objective=("gan", dict(loss_eval_passes=True)),
      # model.py gf_dim = df_dim = 64, BN in G and D; tf.contrib.layers.batch_norm's default
      # path of the TF the code was written for (README "TF 1.1+", Sept. 2017: fused=False
      # up to TF 1.3), i.e. the moving variance tracks the biased batch variance.
      model=dict(width=64, g_norm="batch", d_norm="batch", bn_fused=False),
      z_dim=100, z_dist="uniform",          # model.py L333: batch_z ~ U[-1, 1], z_dim 100
      batch_size=64,                        # run.sh --batch_size=64
      steps=steps, n_critic=1,              # model.py L335-344: one D step, then one G step per batch
      # model.py L342-344: the G step is fed the same batch_z as the D step (and no real batch:
      # g_loss does not read one)
      generator_noise="critic",
      g_lr=g_lr, d_lr=d_lr,                 # run.sh `bash run.sh <lr_d> <lr_g>`: Table 1
      g_beta1=0.5, d_beta1=0.5,             # run.sh --beta1 0.5
      optimizer="adam_tf1",                 # tf.train.AdamOptimizer (float32 betas)
      g_beta2=0.999, d_beta2=0.999,         # AdamOptimizer default beta2
      save_every=2000,                      # model.py L409: checkpoint every 2000 counters
      log_every=100,                        # model.py L353: print every 100
      # model.py L386: FID on (G(z) + 1) * 127.5 kept as float; run.sh --fid_eval_steps 5000.
      evaluation=_fid(dataset, "none", 5000 if dataset != "fashion_mnist" else 1000))


def wgan_gp_recipe(dataset, ttur=True, gp_weight=None):
  d_lr, g_lr = _rates("wgan_gp", dataset, ttur)
  lam = gp_weight if gp_weight is not None else LAMBDA_GP["toy" if dataset in TOY else "image"]
  # gan_64x64_FID.py L43-59: TTUR CRITIC_ITERS 1, ITERS 100000, FID_STEP 1000;
  # orig CRITIC_ITERS 5, ITERS 25009, FID_STEP 333 (its orig rates 5e-4 differ from Table 1's 1e-4).
  n_critic, steps, every = (1, 100000, 1000) if ttur else (5, 25009, 333)
  common = dict(objective=("wgan", dict(gp_weight=lam)), n_critic=n_critic, steps=steps,
                optimizer="adam_tf1", g_lr=g_lr, d_lr=d_lr, g_beta1=0.0, d_beta1=0.0, g_beta2=0.9,
                d_beta2=0.9)  # L632-634: Adam(beta1 0, beta2 0.9)
  if dataset in TOY:
    # Not in the paper: gan_toy.py's nets and data (3x512 ReLU MLPs, noise 2, batch 256, 100k
    # iterations, λ 0.1) with TTUR's WGAN-GP optimiser (Adam (0, 0.9), rates, 1 critic step).
    # Measured on 8gaussians (1000 steps at 3.3x the rates, decayed): gan_toy.py's beta1 0.5
    # reaches a 3-sigma fraction of 0.03-0.26, beta1 0 reaches 0.38 (7-8 of 8 modes).
    common.update(steps=100000)
    return recipe_lib.make(PAPER, dataset, "mlp", model=dict(hidden=(512, 512, 512)), z_dim=2,
                           batch_size=256, save_every=1000, log_every=100,
                           evaluation=evaluation.mixture_evaluation(dataset, every=1000),
                           **common)
  # (tests/test_ttur.py trains it for 1000 steps at 3.3x these rates, ratio kept, decayed to 0.)
  # gan_64x64_FID.py L751-768: FID at iteration 0 and every FID_STEP on FID_EVAL_SIZE 50000 samples
  # of Generator(FID_SAMPLE_BATCH_SIZE = 1000) with fresh noise, tflib batch norm on the statistics
  # of each batch of 1000; ((samples + 1) * 127.5).astype('uint8').
  fid = _fid(dataset, "truncate", every, sampler="training", sample_batch=1000, at_start=True)
  if dataset == "fashion_mnist":
    # Not in the paper (the Good ResNets need 32 or 64 px): gan_mnist.py's WGAN-GP nets (DIM 64,
    # 5x5, no normalisation), noise 128, batch 64, with TTUR's WGAN-GP rates.
    return recipe_lib.make(PAPER, dataset, "dcgan",
                           model=dict(width=64, g_norm="none", d_norm="none", kernel_size=5),
                           z_dim=128, batch_size=64, save_every=every, log_every=100,
                           evaluation=fid, **common)
  # gan_64x64_FID.py: GoodGenerator / GoodDiscriminator, BN_G and BN_D on (tflib layer norm, scale/
  # offset per channel, in the critic for wgan-gp, `Normalize` L169-176), DIM 64; TTUR used DIM 32
  # for CIFAR-10 (TTUR issue 19). The file ties the net to DIM: `fact = DIM // 16` is G's start
  # map (2x2 at DIM 32, still four up blocks), and the critic's final reshape [-1, 4*4*8*DIM]
  # packs four DIM-32 images into one critic row (16 critic values for a batch of 64): reproduced
  # (pack_rows=True); pack_rows=False scores each image (repro.models.resnet).
  width = 32 if dataset == "cifar10" else 64
  return recipe_lib.make(PAPER, dataset, "resnet_good",
                         model=dict(width=width, g_norm="batch", d_norm="tflib_layer",
                                    start=width // 16, pack_rows=True),
                         z_dim=128, z_dist="normal",     # GoodGenerator: noise = tf.random_normal([n, 128])
                         batch_size=64,                  # BATCH_SIZE 64
                         save_every=every, log_every=200,  # CHECKPOINT_STEP = FID_STEP
                         evaluation=fid, **common)


def language_recipe(dataset, ttur=True, gp_weight=None):
  """WGAN_GP/gan_language_JSD.py: Table 1's language rows (TTUR = True) or the "orig" branch."""
  # gan_language_JSD.py L29-40: TTUR CRITIC_ITERS 1, LR_DISC 3e-4, LR_GEN 1e-4;
  # orig CRITIC_ITERS 10, LR_DISC = LR_GEN = 1e-4 (Table 1: b = 3e-4, a = 1e-4 vs 1e-4).
  n_critic, d_lr, g_lr = (1, 3e-4, 1e-4) if ttur else (10, 1e-4, 1e-4)
  lam = gp_weight if gp_weight is not None else LAMBDA_GP["language"]
  return recipe_lib.make(
      PAPER, dataset, "language", objective=("wgan", dict(gp_weight=lam)),
      model=dict(width=512,             # DIM = 512
                 g_norm="none",         # Generator: no normalisation (as gan_language.py)
                 init="tflib"),         # tflib Conv1D he_init / Linear glorot
      z_dim=128, z_dist="normal",       # make_noise(shape=[n_samples, 128]): tf.random_normal
      batch_size=64,                    # BATCH_SIZE = 64
      steps=200000,                     # ITERS = 200000
      n_critic=n_critic, d_lr=d_lr, g_lr=g_lr, optimizer="adam_tf1",
      g_beta1=0.5, g_beta2=0.9, d_beta1=0.5, d_beta2=0.9,  # AdamOptimizer(beta1=0.5, beta2=0.9)
      # JSDs `if iteration % 100 == 0` on 10 x 64 samples, n = 1..6
      evaluation=evaluation.jsd_evaluation(LANGUAGE_JSD_SAMPLES, every=100,
                                           max_n=LANGUAGE_NGRAMS),
      log_every=100,                    # lib.plot.flush() every 100 iterations
      save_every=1000,                  # suite choice: the script saves no checkpoints
      # SEQ_LEN 32, MAX_N_EXAMPLES 10000000; load_dataset(max_vocab_size=2048)
      text=dict(seq_len=32, max_lines=10_000_000, max_vocab=2048))


def default_model(dataset):
  return "language" if dataset in LANGUAGE_DATASETS else "dcgan"


def recipe(dataset, **overrides):
  """One Table 1 row (or a documented stand-in); options: model ("dcgan", "wgan_gp",
  "language"; default by dataset), ttur (True: two time scales; False: the "orig" single rate),
  gp_weight (λ of the WGAN-GP models), the FID overrides (fid, fid_samples, fid_stats,
  fid_extractor, inception_graph) and the common overrides of repro.recipe."""
  own, common = recipe_lib.split_overrides(PAPER, overrides, OPTIONS, extra=(recipe_lib.FID,))
  recipe_lib.check_dataset(PAPER, dataset, TRAIN_DATASETS)
  model = own.get("model") or default_model(dataset)
  ttur = own.get("ttur", True)
  if model not in MODELS:
    raise UsageError(f"--model must be one of {', '.join(MODELS)}, got {model!r}")
  check_setting(model, dataset)
  if model == "dcgan" and "gp_weight" in own:
    raise UsageError("--gp_weight applies to --model=wgan_gp or language")
  if model == "language":
    base = language_recipe(dataset, ttur, own.get("gp_weight"))
  elif model == "dcgan":
    base = dcgan_recipe(dataset, ttur)
  else:
    base = wgan_gp_recipe(dataset, ttur, own.get("gp_weight"))
  return recipe_lib.apply_overrides(base, common, extra=(recipe_lib.FID,))


# ---- the DCGAN objective ---------------------------------------------------------------------------

class GANObjective(Objective):
  """The standard GAN of DCGAN_FID_batched: minimax critic loss, non-saturating generator loss.

  loss_eval_passes: after each generator update, the three forward passes of model.py L348-350's
  loss printing (errD_fake = d_loss_fake.eval({z}), errD_real = d_loss_real.eval({inputs}),
  errG = g_loss.eval({z}) with the step's batch_z and batch_images): G(z) and D(G(z)), D(x), G(z)
  and D(G(z)) in training mode. They change no weight, only the batch-norm moving statistics
  (ops.batch_norm updates them in every training-mode pass), which the FID sampler uses."""
  name = "gan"

  def __init__(self, loss_eval_passes=False):
    self.loss_eval_passes = bool(loss_eval_passes)

  def critic_loss(self, critic, inputs):
    from repro.losses import ttur as losses  # pylint: disable=g-import-not-at-top
    d_real = critic(inputs.real, training=True)
    d_fake = critic(inputs.fake, training=True)
    real_term, fake_term = losses.discriminator_loss_terms(d_real, d_fake)
    return real_term + fake_term, {"loss_real": real_term, "loss_fake": fake_term}

  def generator_loss(self, critic, inputs):
    from repro.losses import ttur as losses  # pylint: disable=g-import-not-at-top
    return losses.generator_loss(critic(inputs.fake, training=True)), {}

  def after_generator_update(self, generator, critic, real, z):
    if not self.loss_eval_passes:
      return
    critic(generator(z, training=True), training=True)   # errD_fake
    critic(real, training=True)                          # errD_real
    critic(generator(z, training=True), training=True)   # errG


# ---- the toy saddle ---------------------------------------------------------------------------------

SADDLE_BASE_LR = 0.01    # notebook: base_lr = 0.01
SADDLE_SIGMA = 1.0       # notebook: sigma = 1
# notebook: res_otur_1, res_otur_2, res_ttur_1, res_ttur_2 as (lr_x, lr_y)
SADDLE_CASES = (
    ("orig fast", SADDLE_BASE_LR, SADDLE_BASE_LR),
    ("orig slow", SADDLE_BASE_LR / 10, SADDLE_BASE_LR / 10),
    ("TTUR x slow", SADDLE_BASE_LR / 100, SADDLE_BASE_LR),
    ("TTUR y slow", SADDLE_BASE_LR, SADDLE_BASE_LR / 100),
)
SETTLED_TOLERANCE = 1.0  # a run "settles" when mean |f - 100| over its last 10% of steps is below


def run_saddle(seed=0, n_iter=5000, sigma=SADDLE_SIGMA):
  """The notebook's four runs from one seeded stream, in its order. Returns a list of dicts."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from repro.losses import ttur as losses  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(seed)
  results = []
  tail = max(1, n_iter // 10)
  for name, lr_x, lr_y in SADDLE_CASES:
    run = losses.saddle_run(lr_x, lr_y, n_iter, sigma, rng)
    deviation = float(np.mean(np.abs(run["objective"][-tail:] - losses.SADDLE_VALUE)))
    results.append(dict(case=name, lr_x=lr_x, lr_y=lr_y, x=float(run["x"][-1]),
                        y=float(run["y"][-1]), objective=float(run["objective"][-1]),
                        norm=float(run["norm"][-1]), tail_mean_abs_deviation=deviation,
                        settled=deviation < SETTLED_TOLERANCE, trajectory=run))
  return results


def _saddle_picture(results, f_range=(90.0, 200.0)):
  """One panel per case: f(x, y) over the iterations, clipped to f_range, with the saddle value."""
  from repro import figures  # pylint: disable=g-import-not-at-top
  from repro.losses import ttur as losses  # pylint: disable=g-import-not-at-top
  panels = [dict(title=f"{r['case']}: lr x {r['lr_x']:g}, lr y {r['lr_y']:g}",
                 x=range(len(r["trajectory"]["objective"])),
                 lines=[("f(x, y)", r["trajectory"]["objective"])],
                 levels=[(f"saddle value {losses.SADDLE_VALUE:g}", losses.SADDLE_VALUE)])
            for r in results]
  return figures.curves(panels, "TTUR toy saddle: the objective along each run", "iteration",
                        "f(x, y)", y_range=f_range)


def saddle_main(workdir, seed=0, n_iter=5000, quiet=False):
  """Runs the four cases, prints a table, writes saddle.json, saddle.png, TensorBoard curves."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from repro.train import images  # pylint: disable=g-import-not-at-top
  results = run_saddle(seed, n_iter)
  os.makedirs(workdir, exist_ok=True)
  summary = [{k: v for k, v in r.items() if k != "trajectory"} for r in results]
  with open(os.path.join(workdir, "saddle.json"), "w") as f:
    json.dump(dict(seed=seed, n_iter=n_iter, sigma=SADDLE_SIGMA, start=[0.5, -0.4],
                   tolerance=SETTLED_TOLERANCE, runs=summary), f, indent=1)
  images.write_png(os.path.join(workdir, "saddle.png"), _saddle_picture(results))
  for r in results:
    writer = tf.summary.create_file_writer(
        os.path.join(workdir, "tensorboard", r["case"].replace(" ", "_")))
    with writer.as_default():
      traj = r["trajectory"]
      for t in range(0, len(traj["objective"]), 10):
        tf.summary.scalar("saddle/objective", traj["objective"][t], step=t)
        tf.summary.scalar("saddle/norm", traj["norm"][t], step=t)
    writer.flush()
  if not quiet:
    print(f"toy saddle f(x, y) = (1 + x^2)(100 - y^2), start (0.5, -0.4), sigma 1, {n_iter} steps, "
          f"seed {seed}")
    print(f"{'case':12s} {'lr_x':>7s} {'lr_y':>7s} {'x':>9s} {'y':>9s} {'f':>9s} {'norm':>7s} "
          f"{'mean|f-100| last 10%':>21s}")
    for r in results:
      print(f"{r['case']:12s} {r['lr_x']:7.0e} {r['lr_y']:7.0e} {r['x']:9.4f} {r['y']:9.4f} "
            f"{r['objective']:9.3f} {r['norm']:7.4f} {r['tail_mean_abs_deviation']:21.4f}"
            f"  {'settles at 100' if r['settled'] else 'does not settle'}")
    print(f"wrote {workdir}/saddle.json, saddle.png and TensorBoard curves", flush=True)
  return results


def check_setting(model, dataset):
  allowed = {"dcgan": DCGAN_DATASETS, "wgan_gp": WGAN_GP_DATASETS,
             "language": LANGUAGE_DATASETS}[model]
  if dataset not in allowed:
    hint = " (or --text_file=PATH)" if model == "language" else ""
    raise UsageError(f"TTUR has no {model} setting for --dataset={dataset}; choose one of "
                     f"{', '.join(allowed)}{hint}")


def define_flags(flags):
  flags.DEFINE_enum("model", None, list(MODELS),
                    "dcgan (DCGAN_FID_batched), wgan_gp (WGAN_GP/gan_64x64_FID.py) or language "
                    "(WGAN_GP/gan_language_JSD.py; the default for --dataset=lm1b / --text_file).")
  flags.DEFINE_boolean("ttur", None, "Two time scales (Table 1 'TTUR' column, the default); "
                       "--nottur: the 'orig' single learning rate (and 5 critic steps for WGAN-GP).")
  flags.DEFINE_float("gp_weight", None, "WGAN-GP penalty weight λ (default 10, 0.1 on 2-D sets).")
  flags.DEFINE_integer("saddle_steps", 5000, "Iterations of the toy saddle (notebook: n_iter 5000).")


def main():
  from absl import app, flags  # pylint: disable=g-import-not-at-top
  from repro.train import cli  # pylint: disable=g-import-not-at-top
  cli.define_paper_flags(sys.modules[__name__], default_dataset="fashion_mnist")
  FLAGS = flags.FLAGS  # pylint: disable=invalid-name
  train = cli.train_main(PAPER, recipe, OPTIONS, TRAIN_DATASETS, default_dataset="fashion_mnist",
                         extra=(recipe_lib.FID,))

  @exit_on_error
  def ttur_main(argv):
    if FLAGS.dataset == "saddle":
      if len(argv) > 1:
        raise UsageError(f"unexpected arguments {' '.join(argv[1:])}; flags look like --name=value")
      if FLAGS.saddle_steps is None or FLAGS.saddle_steps < 1:
        raise UsageError(f"--saddle_steps must be a positive integer, got {FLAGS.saddle_steps}")
      saddle_main(FLAGS.workdir or "runs/ttur_saddle", FLAGS.seed or 0, FLAGS.saddle_steps)
      return 0
    if FLAGS.model == "language" and not (FLAGS.dataset or FLAGS.text_file):
      FLAGS.dataset = "lm1b"   # the language model's default: One Billion Word
    dataset = cli.text_dataset_flag() or "fashion_mnist"
    if dataset in TRAIN_DATASETS:   # a mismatch fails before TensorFlow starts
      check_setting(FLAGS.model or default_model(dataset), dataset)
    return train(argv)

  app.run(ttur_main, flags_parser=parse_flags_or_exit)
  sys.exit(0)


if __name__ == "__main__":
  main()
