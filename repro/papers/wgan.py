"""WGAN (Arjovsky, Chintala & Bottou 2017) and WGAN-GP (Gulrajani et al. 2017).

  python -m repro.papers.wgan --dataset=fashion_mnist --variant=gp
  python -m repro.papers.wgan --dataset=lsun_bedroom --variant=clip
  python -m repro.papers.wgan --dataset=8gaussians --variant=gp --steps=2000

Sources: martinarjovsky/WassersteinGAN `main.py` (clip), igul222/improved_wgan_training
`gan_toy.py`, `gan_mnist.py`, `gan_cifar.py`, `gan_64x64.py` (gp).
Evaluation: as the official code on the paper's datasets (none for main.py and gan_mnist.py /
gan_64x64.py, the Inception Score for gan_cifar.py); on Fashion-MNIST, the suite's offline stand-in,
FID of 10000 samples against the 60000 training images in the Fashion-MNIST classifier's features
(as TTUR, Coulomb GAN, FOGAN and Sinkhorn there), best-FID weights kept. The FID flags (--fid,
--fid_samples, --fid_stats, --fid_extractor, --inception_graph) turn FID on for the other
native-resolution image settings that evaluate nothing (mnist, lsun_bedroom with --variant=gp).

Hardware/expectation: on a 2-core CPU the 2-D sets' 3x512 MLPs run ~6-7 generator steps/s (5 critic
+ 1 generator update at batch 256; bench/README.md), so the 2000 steps above take ~5 min and gan_toy.py's
100k ~4-5 h; image configs are meant for a GPU (200k generator steps).
"""

import dataclasses
import sys

from repro import recipe as recipe_lib
from repro.data import catalog
from repro.errors import UsageError
from repro.papers import evaluation

PAPER = "wgan"
TOY = catalog.names(family="gan_toy")
DATASETS = ("cifar10", "lsun_bedroom", "mnist", "fashion_mnist") + TOY
# The paper's own options (`recipe(dataset, **options)`, the command line's flags of these names).
OPTIONS = ("variant", "clip", "gp_weight")
OVERRIDE_GROUPS = (recipe_lib.FID,)   # the FID flags (image datasets)
VARIANTS = ("clip", "gp", "gp_resnet")
CLIP = 0.01                    # main.py --clamp_lower -0.01 --clamp_upper 0.01
GP_WEIGHT = {"toy": 0.1, "image": 10.0}   # gan_toy.py LAMBDA .1; the image scripts LAMBDA 10
# FID samples: TTUR's 50k; the CPU stand-in Fashion-MNIST 10k (as TTUR/Coulomb/FOGAN/Sinkhorn there).
FID_SAMPLES = {"fashion_mnist": 10000}
FID_SAMPLES_DEFAULT = 50000


def _fid(dataset, every):
  """No source (the official code evaluates nothing here): FID every `every` steps, float images
  (no quantisation), best-FID weights kept; the extractor follows the dataset."""
  return evaluation.fid_evaluation(dataset, FID_SAMPLES.get(dataset, FID_SAMPLES_DEFAULT), "none",
                                   every)


def clip_recipe(dataset, clip=CLIP):
  if dataset in TOY:
    # gan_toy.py MODE='wgan': tf.train.RMSPropOptimizer(5e-5) (TF1 defaults: decay 0.9, epsilon
    # 1e-10, mean squares start at 1), clip 0.01 after each critic update (`clip_disc_weights`),
    # CRITIC_ITERS 5 (no warm-up rule), BATCH_SIZE 256, ITERS 100000, 3x512 ReLU MLPs, noise dim 2.
    objective = ("wgan", dict(clip=clip, clip_order="after"))
    return recipe_lib.make(PAPER, dataset, "mlp", objective=objective, z_dim=2, batch_size=256,
                           model=dict(hidden=(512, 512, 512), init="he"),   # tflib 'he' / glorot
                           steps=100000, n_critic=5, optimizer="rmsprop_tf1", g_lr=5e-5,
                           d_lr=5e-5, save_every=1000, log_every=100,
                           evaluation=evaluation.mixture_evaluation(dataset, every=1000))
  # main.py L184-186: the critic is clamped before each of its updates. One step of this recipe
  # equals one of main.py's (tests/test_official_step_wgan.py; main.py's critic is the negative of
  # the suite's: it minimises D(real) - D(fake), an exact reparametrisation).
  objective = ("wgan", dict(clip=clip, clip_order="before"))
  # main.py --niter 25 epochs; one generator step consumes n_critic = 5 batches of 64 (ignoring
  # the 100-iteration warm-up).
  steps = 25 * catalog.dataset_info(dataset).size() // (64 * 5)
  base = recipe_lib.make(
      PAPER, dataset, "dcgan_wgan", objective=objective,
      # main.py: models/dcgan.py DCGAN_G / DCGAN_D, ngf = ndf = 64, n_extra_layers 0, batch norm
      # (no --noBN), weights_init: no biases, N(0, 0.02) kernels, N(1, 0.02) BN gammas
      # (repro/models/dcgan_torch.py).
      model=dict(width=64, extra_layers=0, g_batch_norm=True),
      z_dim=100,                          # main.py --nz 100
      batch_size=64,                      # main.py --batchSize 64
      steps=steps,
      n_critic=5, n_critic_schedule="wgan",   # main.py Diters 5; 100 for gen_iterations < 25 or % 500 == 0
      optimizer="rmsprop_torch", g_lr=5e-5, d_lr=5e-5,   # main.py --lrD --lrG 5e-5, RMSprop
      save_every=1000, eval_every=500, log_every=50)
  if catalog.dataset_info(dataset).shape[0] != 64:
    # main.py L64-90 passes every dataset through transforms.Scale(opt.imageSize), imageSize
    # defaulting to 64: CIFAR-10's 32x32 images are upsampled (PIL bilinear, no crop) and the nets
    # are the 64x64 ones. (MNIST / Fashion-MNIST, not among main.py's datasets, get the same
    # scaling.) Samples are 64 px: FID/IS against the dataset's own-size statistics need them
    # downscaled (repro/models/dcgan_torch.py).
    base = base.replace(**{"data.image_size": 64})
  return base


def gp_recipe(dataset, gp_weight=None):
  lam = gp_weight if gp_weight is not None else GP_WEIGHT["toy" if dataset in TOY else "image"]
  objective = ("wgan", dict(gp_weight=lam))
  if dataset in TOY:
    # gan_toy.py MODE='wgan-gp': LAMBDA 0.1, CRITIC_ITERS 5, BATCH_SIZE 256, ITERS 100000,
    # Adam 1e-4 beta (0.5, 0.9), 3x512 ReLU MLPs, noise dim 2. L77 interpolates
    # alpha*real + (1-alpha)*fake (the image scripts: real + alpha*(fake - real)). The training
    # loop runs the generator update first in every iteration but the first (C^5 (G C^5)^*): the
    # suite's step k (C^5 then G) is iteration k's critic updates then iteration k+1's generator
    # update; gen_cost reads no real data and its noise is drawn afresh (generator_noise "fresh").
    objective = ("wgan", dict(gp_weight=lam, alpha_weights="real"))
    return recipe_lib.make(PAPER, dataset, "mlp", objective=objective, z_dim=2, batch_size=256,
                           model=dict(hidden=(512, 512, 512), init="he"),   # tflib 'he' / glorot
                           steps=100000, n_critic=5, optimizer="adam_tf1", g_lr=1e-4,
                           d_lr=1e-4, g_beta1=0.5, g_beta2=0.9, d_beta1=0.5, d_beta2=0.9,
                           save_every=1000,
                           log_every=100,
                           evaluation=evaluation.mixture_evaluation(dataset, every=1000))
  if dataset in ("mnist", "fashion_mnist"):
    # gan_mnist.py: DIM 64, 5x5 kernels, no batch norm in G or D for wgan-gp, BATCH_SIZE 50,
    # ITERS 200000, Adam 1e-4 (0.5, 0.9), noise 128. mnist: the official Generator /
    # Discriminator (repro.models.improved_wgan: Linear, 3 deconvs with the 8x8 -> 7x7 crop, tflib
    # init; G's sigmoid output is mapped to [-1, 1] and D maps its input back to [0, 1], see there).
    # fashion_mnist (the offline stand-in) keeps the suite's earlier 28-px DCGAN (tanh, no crop,
    # Keras init; the shipped wgan_gp_fashion_mnist generator is this net).
    # gan_mnist.py penalises the critic's gradient w.r.t. [0, 1] pixels: twice the norm w.r.t. the
    # suite's [-1, 1] data (gradient_norm_scale 2), so λ acts on the official norm.
    arch, net = (("wgan_gp_mnist", dict(width=64)) if dataset == "mnist" else
                 ("dcgan", dict(width=64, g_norm="none", d_norm="none", kernel_size=5)))
    if dataset == "mnist":
      objective = ("wgan", dict(gp_weight=lam, gradient_norm_scale=2.0))
    # gan_mnist.py evaluates nothing; Fashion-MNIST has the suite's offline FID.
    return recipe_lib.make(PAPER, dataset, arch, objective=objective,
                           model=net,
                           z_dim=128, batch_size=50, steps=200000, n_critic=5,
                           optimizer="adam_tf1", g_lr=1e-4, d_lr=1e-4, save_every=1000,
                           eval_every=1000, log_every=50,
                           evaluation=_fid(dataset, 1000) if dataset == "fashion_mnist" else None)
  if dataset == "cifar10":
    # gan_cifar.py: DIM 128, 5x5 kernels, BN in G only, BATCH_SIZE 64, ITERS 200000,
    # Adam 1e-4 (0.5, 0.9), noise 128. L159-204: the Inception Score every 1000 iterations of
    # 10 x Generator(100) (tflib batch norm on each batch's statistics), int32-truncated pixels.
    # The official Generator / Discriminator (repro.models.improved_wgan): Generator.BN1 normalises
    # each of the 8192 Linear features (scale/offset [1, 8192]), BN2/BN3 per channel, biases
    # everywhere, tflib init.
    return recipe_lib.make(PAPER, dataset, "wgan_gp_cifar", objective=objective,
                           model=dict(width=128),
                           z_dim=128, batch_size=64, steps=200000, n_critic=5,
                           optimizer="adam_tf1", g_lr=1e-4, d_lr=1e-4, save_every=2000,
                           log_every=100,
                           evaluation=evaluation.inception_score_evaluation(
                               every=1000, n_samples=1000, sample_batch=100))
  # gan_64x64.py: GoodGenerator / GoodDiscriminator, DIM 64, BN in G, tflib layer norm in D
  # (wgan-gp; scale/offset per channel), Conv1 of each block without bias, tflib init,
  # BATCH_SIZE 64, ITERS 200000, Adam 1e-4 beta (0, 0.9), noise 128.
  return recipe_lib.make(PAPER, dataset, "resnet_good", objective=objective,
                         model=dict(width=64, g_norm="batch", d_norm="tflib_layer"),
                         z_dim=128, batch_size=64, steps=200000, n_critic=5,
                         optimizer="adam_tf1", g_lr=1e-4, d_lr=1e-4, g_beta1=0.0, d_beta1=0.0,
                         save_every=2000, eval_every=2000, log_every=100)


def resnet_recipe(dataset, gp_weight=None):
  """gan_cifar_resnet.py, unconditional (CONDITIONAL = False): DIM_G = DIM_D 128, BN in G only,
  Adam 2e-4 (0, 0.9) decayed linearly to 0 over ITERS 100000, N_CRITIC 5, BATCH_SIZE 64, the
  Inception Score every 1000 iterations on 50000 samples of Generator(100) (tflib batch norm on
  batch statistics). One deviation: the official generator step uses GEN_BS_MULTIPLE x 64 = 128
  samples; the suite's steps use one batch size for both networks (64)."""
  if dataset != "cifar10":
    raise UsageError("--variant=gp_resnet is gan_cifar_resnet.py's CIFAR-10 setting: use "
                     "--dataset=cifar10")
  lam = gp_weight if gp_weight is not None else GP_WEIGHT["image"]
  return recipe_lib.make(PAPER, dataset, "resnet_cifar", objective=("wgan", dict(gp_weight=lam)),
                         model=dict(width=128, g_norm="batch", d_norm="none"),
                         z_dim=128, batch_size=64, steps=100000, n_critic=5, optimizer="adam_tf1",
                         g_lr=2e-4, d_lr=2e-4,
                         g_beta1=0.0, g_beta2=0.9, d_beta1=0.0, d_beta2=0.9, lr_decay="linear",
                         save_every=2000, log_every=100,
                         evaluation=evaluation.inception_score_evaluation(
                             every=1000, n_samples=50000, sample_batch=100))


def recipe(dataset, **overrides):
  """The paper's recipe for `dataset`; options: variant ("gp", "clip" or "gp_resnet", the CIFAR-10
  ResNet of gan_cifar_resnet.py), clip (c), gp_weight (λ), and the common overrides of
  repro.recipe (steps, batch_size, g_lr, net, ...)."""
  own, common = recipe_lib.split_overrides(PAPER, overrides, OPTIONS, extra=(recipe_lib.FID,))
  recipe_lib.check_dataset(PAPER, dataset, DATASETS)
  variant = own.get("variant", "gp")
  if variant not in VARIANTS:
    raise UsageError(f"--variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
  if variant == "clip":
    if "gp_weight" in own:
      raise UsageError("--gp_weight applies to --variant=gp")
    base = clip_recipe(dataset, own.get("clip", CLIP))
  else:
    if "clip" in own:
      raise UsageError("--clip applies to --variant=clip")
    make = resnet_recipe if variant == "gp_resnet" else gp_recipe
    base = make(dataset, own.get("gp_weight"))
  if set(common) & set(recipe_lib.FID):
    base = _fid_on(base, variant)
  return recipe_lib.apply_overrides(base, common, extra=(recipe_lib.FID,))


def _fid_on(base, variant):
  """The recipe the FID flags apply to: its own FID evaluation, or FID instead of no evaluation on
  an image setting at the dataset's own resolution; a UsageError elsewhere."""
  dataset = base.dataset
  if base.eval.metric == "fid":
    return base
  where = f"--dataset={dataset} --variant={variant}"
  if dataset in TOY:
    raise UsageError(f"the FID flags apply to image datasets, not {dataset}")
  if base.eval.metric != "none":
    raise UsageError(f"{where} evaluates the {base.eval.metric.replace('_', ' ')} as the official "
                     "code does; the FID flags apply to settings that evaluate FID or nothing")
  if base.data.image_size:
    raise UsageError(f"{where} generates {base.data.image_size}-px images (main.py's Scale(64)), "
                     f"not {dataset}'s own size: no FID against its training images")
  return dataclasses.replace(base, eval=_fid(dataset, base.eval.every)).validate()


def define_flags(flags):
  flags.DEFINE_enum("variant", "gp", list(VARIANTS), "clip: WGAN weight clipping; gp: WGAN-GP; "
                    "gp_resnet: WGAN-GP with gan_cifar_resnet.py's CIFAR-10 ResNet.")
  flags.DEFINE_float("clip", None, f"WGAN clipping constant c (default {CLIP}).")
  flags.DEFINE_float("gp_weight", None, "WGAN-GP penalty weight λ (default 10, 0.1 on 2-D sets).")


def main():
  from repro.train import cli  # pylint: disable=g-import-not-at-top
  cli.run_paper(sys.modules[__name__], default_dataset="fashion_mnist")


if __name__ == "__main__":
  main()
