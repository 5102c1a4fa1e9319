"""WGAN (Arjovsky, Chintala & Bottou 2017) and WGAN-GP (Gulrajani et al. 2017).

  python -m repro.papers.wgan --dataset=fashion_mnist --variant=gp
  python -m repro.papers.wgan --dataset=lsun_bedroom --variant=clip
  python -m repro.papers.wgan --dataset=8gaussians --variant=gp --steps=2000

Sources: martinarjovsky/WassersteinGAN `main.py` (clip), igul222/improved_wgan_training
`gan_toy.py`, `gan_mnist.py`, `gan_cifar.py`, `gan_64x64.py` (gp).
Hardware/expectation: on a 2-core CPU the 2-D sets' 3x512 MLPs run ~6-7 generator steps/s (5 critic
+ 1 generator update at batch 256; bench/README.md), so the 2000 steps above take ~5 min and gan_toy.py's
100k ~4-5 h; image configs are meant for a GPU (200k generator steps).
"""

from absl import flags

from repro.train.cli import run_paper
from repro.train.config import TrainConfig

flags.DEFINE_enum("variant", "gp", ["clip", "gp"], "clip: WGAN weight clipping; gp: WGAN-GP.")
flags.DEFINE_float("clip", None, "WGAN clipping constant c (default 0.01).")
flags.DEFINE_float("gp_weight", None, "WGAN-GP penalty weight λ (default 10, 0.1 on 2-D sets).")

TOY = ("8gaussians", "25gaussians", "swissroll")
DATASETS = ("cifar10", "lsun_bedroom", "mnist", "fashion_mnist") + TOY

# Dataset sizes, to turn WassersteinGAN's epoch count (main.py --niter 25) into generator steps:
# one generator step consumes n_critic = 5 batches of 64 (ignoring the 100-iteration warm-up).
_TRAIN_SIZE = {"cifar10": 50000, "lsun_bedroom": 3033042, "mnist": 60000, "fashion_mnist": 60000}


def clip_config(dataset):
  if dataset in TOY:
    # gan_toy.py MODE='wgan': RMSProp 5e-5, clip 0.01, CRITIC_ITERS 5 (no warm-up rule),
    # BATCH_SIZE 256, ITERS 100000, 3x512 ReLU MLPs, noise dim 2.
    return TrainConfig(dataset=dataset, arch="mlp", z_dim=2, batch_size=256, steps=100000,
                       n_critic=5, optimizer="rmsprop", g_lr=5e-5, d_lr=5e-5,
                       save_every=1000, eval_every=1000, log_every=100)
  size = 28 if dataset in ("mnist", "fashion_mnist") else (32 if dataset == "cifar10" else 64)
  return TrainConfig(
      dataset=dataset, arch="dcgan",
      # main.py: DCGAN_G / DCGAN_D with ngf = ndf = 64 and batch norm on both sides, N(0, 0.02) init.
      model=dict(width=64, g_norm="batch", d_norm="batch", kernel_size=4),
      z_dim=100,                          # main.py --nz 100
      batch_size=64,                      # main.py --batchSize 64
      steps=25 * _TRAIN_SIZE[dataset] // (64 * 5),   # main.py --niter 25 epochs
      n_critic=5, n_critic_schedule="wgan",          # main.py Diters 5; 100 for gen_iterations < 25 or % 500 == 0
      optimizer="rmsprop", g_lr=5e-5, d_lr=5e-5,     # main.py --lrD --lrG 5e-5, RMSprop
      save_every=1000, eval_every=500, log_every=50)


def gp_config(dataset):
  if dataset in TOY:
    # gan_toy.py MODE='wgan-gp': LAMBDA 0.1, CRITIC_ITERS 5, BATCH_SIZE 256, ITERS 100000,
    # Adam 1e-4 beta (0.5, 0.9), 3x512 ReLU MLPs, noise dim 2.
    return TrainConfig(dataset=dataset, arch="mlp", z_dim=2, batch_size=256, steps=100000,
                       n_critic=5, g_lr=1e-4, d_lr=1e-4, g_beta1=0.5, g_beta2=0.9,
                       d_beta1=0.5, d_beta2=0.9, save_every=1000, eval_every=1000, log_every=100)
  if dataset in ("mnist", "fashion_mnist"):
    # gan_mnist.py: DIM 64, 5x5 kernels, no batch norm in G or D for wgan-gp, BATCH_SIZE 50,
    # ITERS 200000, Adam 1e-4 (0.5, 0.9), noise 128. (Its G ends in a sigmoid on [0, 1] data;
    # here tanh on [-1, 1] data like every other config.) fashion_mnist: the offline stand-in.
    return TrainConfig(dataset=dataset, arch="dcgan",
                       model=dict(width=64, g_norm="none", d_norm="none", kernel_size=5),
                       z_dim=128, batch_size=50, steps=200000, n_critic=5,
                       g_lr=1e-4, d_lr=1e-4, save_every=1000, eval_every=1000, log_every=50)
  if dataset == "cifar10":
    # gan_cifar.py: DIM 128, 5x5 kernels, BN in G only, BATCH_SIZE 64, ITERS 200000,
    # Adam 1e-4 (0.5, 0.9), noise 128.
    return TrainConfig(dataset=dataset, arch="dcgan",
                       model=dict(width=128, g_norm="batch", d_norm="none", kernel_size=5),
                       z_dim=128, batch_size=64, steps=200000, n_critic=5,
                       g_lr=1e-4, d_lr=1e-4, save_every=2000, eval_every=2000, log_every=100)
  # gan_64x64.py: GoodGenerator / GoodDiscriminator, DIM 64, BN in G, layer norm in D (wgan-gp),
  # BATCH_SIZE 64, ITERS 200000, Adam 1e-4 beta (0, 0.9), noise 128.
  return TrainConfig(dataset=dataset, arch="resnet_good",
                     model=dict(width=64, g_norm="batch", d_norm="layer"),
                     z_dim=128, batch_size=64, steps=200000, n_critic=5,
                     g_lr=1e-4, d_lr=1e-4, g_beta1=0.0, d_beta1=0.0,
                     save_every=2000, eval_every=2000, log_every=100)


def configure(dataset, variant=None, clip=None, gp_weight=None):
  """(TrainConfig, objective, trainer extras) of one variant on one dataset."""
  from repro.papers import evaluation  # pylint: disable=g-import-not-at-top
  from repro.train.objective import WassersteinObjective  # pylint: disable=g-import-not-at-top
  variant = variant or flags.FLAGS.variant
  if variant == "clip":
    config = clip_config(dataset)
    c = clip if clip is not None else (flags.FLAGS.clip if flags.FLAGS.is_parsed() and
                                       flags.FLAGS.clip is not None else 0.01)  # main.py ±0.01
    objective = WassersteinObjective(clip=c)
  else:
    config = gp_config(dataset)
    default = 0.1 if dataset in TOY else 10.0     # gan_toy.py LAMBDA .1; image scripts LAMBDA 10
    lam = gp_weight if gp_weight is not None else (
        flags.FLAGS.gp_weight if flags.FLAGS.is_parsed() and flags.FLAGS.gp_weight is not None
        else default)
    objective = WassersteinObjective(gp_weight=lam)
  return config, objective, evaluation.default_extras(dataset)


def main():
  run_paper("wgan", configure, DATASETS, default_dataset="fashion_mnist")


if __name__ == "__main__":
  main()
