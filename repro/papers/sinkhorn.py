"""Regularized-OT GAN (Sanjabi, Ba, Razaviyayn & Lee, NeurIPS 2018, "On the Convergence and
Robustness of Training GANs with Regularized Optimal Transport", https://arxiv.org/abs/1802.08249).

  python -m repro.papers.sinkhorn --dataset=fashion_mnist                   # dual potentials
  python -m repro.papers.sinkhorn --dataset=mnist --solver=sinkhorn --space=feature --debias
  python -m repro.papers.sinkhorn --dataset=8gaussians --solver=sinkhorn --space=pixel

The generator minimises the entropic OT distance W_ε(P_data, P_G) with the gradient the paper
derives from Danskin's theorem, E_π*[∇_θ c(x, G_θ(z))] (the plan held fixed), while the
discriminator side is solved only approximately:

* `--solver=dual` (default, the paper's practical scheme): potentials φ, ψ are networks trained on
  the smoothed dual E φ(x) + E ψ(G(z)) - ε E exp((φ + ψ - c)/ε) + ε (n_critic steps per generator
  step); the generator uses the plan exp((φ + ψ - c)/ε).
* `--solver=sinkhorn`: the exact mini-batch W_ε by log-domain Sinkhorn, on pixels (`--space=pixel`,
  no adversary) or on learned, L2-normalised features (`--space=feature`, the feature network
  maximising W_ε); `--debias` uses the Sinkhorn divergence; `--gradient=autodiff` back-propagates
  through the iterations instead of the envelope gradient.

SOURCES. No official code exists and no copy of the paper's experimental section was available to
us (see the research notes): ε, the Sinkhorn / dual iteration counts, the architectures and the
optimiser settings below are OUR CHOICES, marked "no source" next to each. The architectures are
the WGAN-GP ones for the same data (gan_mnist.py, gan_cifar.py, gan_toy.py), since the paper
compares "given the same architecture". The paper experiments on MNIST and CIFAR-10;
fashion_mnist is this suite's offline stand-in.
Hardware: the images configs (200000 generator steps) are meant for a GPU. Measured on this 2-core CPU
(shared with other jobs, under nice), 2026-11-23: `python -m repro.papers.sinkhorn
--dataset=fashion_mnist --steps=300 --workdir=runs/sinkhorn_fm` (dual solver, 5 critic steps) took
6 min 12 s wall, 203 s CPU (0.7 CPU s per generator step; 0.3-1.8 steps/s depending on the load),
peak RSS 0.73 GB, and wrote samples/step_0000200.png, step_0000300.png and checkpoints ckpt-200,
ckpt-300. At its first trace TensorFlow's grappler may log "remapper failed: ... LeakyReluGrad"
once: an optimisation pass skipped, harmless.
"""

import numpy as np

import sys

from repro import recipe as recipe_lib
from repro.data import catalog
from repro.errors import UsageError
from repro.papers import evaluation
from repro.train.objective import Objective

PAPER = "sinkhorn"
TOY = catalog.names(family="gan_toy")
IMAGES = ("mnist", "fashion_mnist", "cifar10")
DATASETS = IMAGES + TOY
# The paper's own options (`recipe(dataset, **options)`, the command line's flags of these names).
OVERRIDE_GROUPS = (recipe_lib.FID,)   # the FID flags (image datasets)
OPTIONS = ("solver", "space", "epsilon", "cost", "sinkhorn_iters", "sinkhorn_tol", "gradient",
           "debias", "feature_dim")

# Our settings (NO SOURCE: the paper's values are not available; see the module docstring).
# Image costs are divided by the number of pixel values (mean squared difference per value of
# [-1, 1] data), so ε is comparable across datasets.
EPSILON = {"images": 0.05, "toy": 0.1}          # no source: chosen so plans are neither uniform nor
                                                # hard assignments at the costs' typical spread
SINKHORN_ITERS = 100                            # no source: training cap per mini-batch
SINKHORN_TOL = 1e-3                             # no source: L1 marginal error
FEATURE_DIM = {"images": 64, "toy": 16}         # no source


class RegularizedOTObjective(Objective):
  """Entropic-OT generator loss with the critic side as a dual-potential network pair, a
  feature network, or nothing (pixel Sinkhorn)."""

  def __init__(self, solver="dual", space="pixel", epsilon=0.05, cost="sqeuclidean",
               cost_scale=1.0, max_iters=SINKHORN_ITERS, tol=SINKHORN_TOL, gradient="envelope",
               debias=False):
    if solver not in ("dual", "sinkhorn") or space not in ("pixel", "feature"):
      raise UsageError(f"unknown --solver={solver} / --space={space}")
    if solver == "dual" and space != "pixel":
      raise UsageError("--solver=dual trains potentials on the pixel cost; --space=feature "
                       "applies to --solver=sinkhorn")
    if solver == "dual" and (debias or gradient != "envelope"):
      raise UsageError("--debias and --gradient=autodiff apply to --solver=sinkhorn")
    if not (epsilon > 0 and np.isfinite(epsilon)):
      raise UsageError(f"--epsilon must be a positive number, got {epsilon}")
    if not max_iters >= 1:
      raise UsageError(f"--sinkhorn_iters must be a positive integer, got {max_iters}")
    if not tol > 0:
      raise UsageError(f"--sinkhorn_tol must be positive, got {tol}")
    self.solver, self.space, self.epsilon = solver, space, float(epsilon)
    self.cost, self.cost_scale = cost, float(cost_scale)
    self.max_iters, self.tol, self.gradient, self.debias = int(max_iters), float(tol), gradient, debias
    self.trains_critic = not (solver == "sinkhorn" and space == "pixel")
    self.name = f"regularized_ot_{solver}_{space}"

  # ---- pieces ----------------------------------------------------------------------------------
  def _features(self, critic, x):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf.math.l2_normalize(critic(x, training=True), axis=1)

  def _minibatch_ot(self, critic, real, fake):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from repro.losses import sinkhorn  # pylint: disable=g-import-not-at-top
    if self.space == "feature":
      real, fake = self._features(critic, real), self._features(critic, fake)
      scale = 1.0          # unit vectors: squared distances in [0, 4]
    else:
      scale = self.cost_scale
    kw = dict(cost=self.cost, cost_scale=scale, max_iters=self.max_iters, tol=self.tol,
              gradient=self.gradient)
    if self.debias:
      value, result = sinkhorn.sinkhorn_divergence(real, fake, self.epsilon, **kw)
    else:
      result = sinkhorn.entropic_ot(real, fake, self.epsilon, **kw)
      value = result.value
    terms = {"ot_estimate": value, "transport_cost": result.transport_cost,
             "sinkhorn_iterations": tf.cast(result.iterations, value.dtype),
             "marginal_error": result.marginal_error}
    return value, terms

  def _dual(self, critic, real, fake):
    from repro.losses import sinkhorn  # pylint: disable=g-import-not-at-top
    phi, psi = critic([real, fake], training=True)
    cost = sinkhorn.cost_matrix(real, fake, self.cost, self.cost_scale)
    return phi, psi, cost

  # ---- the objective interface -------------------------------------------------------------------
  def critic_loss(self, critic, inputs):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from repro.losses import sinkhorn  # pylint: disable=g-import-not-at-top
    if self.solver == "dual":
      phi, psi, cost = self._dual(critic, inputs.real, tf.stop_gradient(inputs.fake))
      dual = sinkhorn.dual_objective(phi, psi, cost, self.epsilon)
      return -dual, {"ot_estimate": dual, "phi_mean": tf.reduce_mean(phi),
                     "psi_mean": tf.reduce_mean(psi)}
    value, terms = self._minibatch_ot(critic, inputs.real, tf.stop_gradient(inputs.fake))
    return -value, terms     # the feature network maximises W_ε

  def generator_loss(self, critic, inputs):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from repro.losses import sinkhorn  # pylint: disable=g-import-not-at-top
    if self.solver == "dual":
      # The plan exp((φ + ψ - c)/ε) held fixed (Danskin), uncapped as in the paper: a potential
      # pair that overflows it shows as a non-finite loss (--nan_policy).
      phi, psi, cost = self._dual(critic, inputs.real, inputs.fake)
      loss = sinkhorn.potential_transport_loss(phi, psi, cost, self.epsilon)
      plan = sinkhorn.potential_plan(phi, psi, tf.stop_gradient(cost), self.epsilon)
      return loss, {"plan_mass": tf.stop_gradient(tf.reduce_mean(plan))}
    return self._minibatch_ot(critic, inputs.real, inputs.fake)


# ---- settings ------------------------------------------------------------------------------------

def _fid(dataset, every):
  """No source (the paper reports no in-training metric): FID of 10000 samples every `every`
  steps, best-FID weights kept, as the other image papers of the suite."""
  return evaluation.fid_evaluation(dataset, 10000, "none", every)


def dataset_recipe(dataset, objective, critic, feature_dim):
  """Per-dataset training settings. NO SOURCE for any of them (see the module docstring): the
  networks and optimiser are WGAN-GP's for the same data."""
  nets = dict(critic=critic, feature_dim=feature_dim if critic == "feature" else 0)
  if dataset in TOY:
    # gan_toy.py: 3x512 ReLU MLPs, noise 2, batch 256, Adam 1e-4 (0.5, 0.9), 5 critic steps.
    return recipe_lib.make(PAPER, dataset, "sinkhorn_mlp", objective=objective,
                           model=dict(hidden=(512, 512, 512), **nets), z_dim=2, batch_size=256,
                           steps=20000, n_critic=5, g_lr=1e-4, d_lr=1e-4, save_every=1000,
                           log_every=100,
                           evaluation=evaluation.mixture_evaluation(dataset, every=1000))
  if dataset in ("mnist", "fashion_mnist"):
    # gan_mnist.py: DCGAN width 64, 5x5 kernels, no norm, batch 50, Adam 1e-4 (0.5, 0.9), z 128.
    return recipe_lib.make(PAPER, dataset, "sinkhorn_dcgan", objective=objective,
                           model=dict(width=64, g_norm="none", kernel_size=5, **nets),
                           z_dim=128, batch_size=50, steps=200000, n_critic=5, g_lr=1e-4,
                           d_lr=1e-4, save_every=200, log_every=20,
                           evaluation=_fid(dataset, every=200))
  # gan_cifar.py: DCGAN width 128, 5x5 kernels, BN in G, batch 64, Adam 1e-4 (0.5, 0.9), z 128.
  return recipe_lib.make(PAPER, dataset, "sinkhorn_dcgan", objective=objective,
                         model=dict(width=128, g_norm="batch", kernel_size=5, **nets),
                         z_dim=128, batch_size=64, steps=200000, n_critic=5, g_lr=1e-4,
                         d_lr=1e-4, save_every=2000, log_every=100,
                         evaluation=_fid(dataset, every=2000))


def recipe(dataset, **overrides):
  """Our settings for `dataset` (no source: see the module docstring); options: solver (dual,
  sinkhorn), space (pixel, feature), epsilon, cost, sinkhorn_iters, sinkhorn_tol, gradient
  (envelope, autodiff), debias, feature_dim, and the common overrides of repro.recipe."""
  own, common = recipe_lib.split_overrides(PAPER, overrides, OPTIONS, extra=(recipe_lib.FID,))
  recipe_lib.check_dataset(PAPER, dataset, DATASETS)
  kind = "toy" if dataset in TOY else "images"
  if kind == "toy" and set(common) & set(recipe_lib.FID):
    raise UsageError(f"the FID flags apply to image datasets, not {dataset}")
  solver, space = own.get("solver", "dual"), own.get("space", "pixel")
  feature_dim = own.get("feature_dim", FEATURE_DIM[kind])
  if not (isinstance(feature_dim, int) and feature_dim >= 1):
    raise UsageError(f"--feature_dim must be a positive integer, got {feature_dim}")
  critic = "dual" if solver == "dual" else ("feature" if space == "feature" else "none")
  # Toy costs are raw squared distances; image costs per pixel value (mean over dimensions).
  cost_scale = 1.0 if kind == "toy" else float(np.prod(catalog.dataset_info(dataset).shape))
  params = dict(solver=solver, space=space, epsilon=float(own.get("epsilon", EPSILON[kind])),
                cost=own.get("cost", "sqeuclidean"), cost_scale=cost_scale,
                max_iters=own.get("sinkhorn_iters", SINKHORN_ITERS),
                tol=float(own.get("sinkhorn_tol", SINKHORN_TOL)),
                gradient=own.get("gradient", "envelope"), debias=own.get("debias", False))
  RegularizedOTObjective(**params)   # the parameters' checks, before anything else
  base = dataset_recipe(dataset, ("regularized_ot", params), critic, feature_dim)
  return recipe_lib.apply_overrides(base, common, extra=(recipe_lib.FID,))


def define_flags(flags):
  flags.DEFINE_enum("solver", None, ["dual", "sinkhorn"],
                    "dual: network potentials on the smoothed dual (the paper's scheme, the "
                    "default); sinkhorn: exact mini-batch Sinkhorn.")
  flags.DEFINE_enum("space", None, ["pixel", "feature"],
                    "Cost on flattened samples (default) or on learned features (--solver=sinkhorn).")
  flags.DEFINE_float("epsilon", None, "Entropic regularisation ε, in cost units (no source).")
  flags.DEFINE_enum("cost", None, ["sqeuclidean", "euclidean"], "Ground cost c(x, y) "
                    "(default sqeuclidean).")
  flags.DEFINE_integer("sinkhorn_iters", None, "Sinkhorn iteration cap (no source).")
  flags.DEFINE_float("sinkhorn_tol", None, "Stop Sinkhorn when the L1 marginal error is below this.")
  flags.DEFINE_enum("gradient", None, ["envelope", "autodiff"],
                    "envelope: Danskin gradient, plan fixed (the paper, the default); autodiff: "
                    "through the Sinkhorn iterations.")
  flags.DEFINE_boolean("debias", None, "Debiased Sinkhorn divergence W(x,y) - W(x,x)/2 - W(y,y)/2.")
  flags.DEFINE_integer("feature_dim", None, "Feature dimension for --space=feature (no source).")


def main():
  from repro.train import cli  # pylint: disable=g-import-not-at-top
  cli.run_paper(sys.modules[__name__], default_dataset="fashion_mnist")


if __name__ == "__main__":
  main()
