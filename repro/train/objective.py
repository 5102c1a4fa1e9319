"""The one objective interface every paper implements, and the WGAN / WGAN-GP objectives.

Objectives are built by name from a recipe (`repro.registry.OBJECTIVES`); this module and the
paper modules import TensorFlow only when a loss is computed.
"""

import dataclasses
import typing

from repro.errors import UsageError


@dataclasses.dataclass
class StepInputs:
  """What a loss sees on one replica: its slice of the real batch, generated samples and noise.

  u: [batch] per-example U[0, 1) numbers (e.g. the gradient-penalty interpolation α); seed: a
  [2] stateless seed for anything else. Both are drawn by the trainer, so results do not depend
  on the number of replicas.
  """
  real: typing.Any
  fake: typing.Any
  u: typing.Any
  seed: typing.Any
  step: typing.Any


class Objective:
  """Critic and generator losses of one paper. Losses return (scalar, {name: scalar}) per replica."""

  name = "objective"
  # "alternating": n_critic critic updates, then a generator update; "simultaneous": one update of
  # both from the same real batch and noise (Coulomb GAN; n_critic is ignored).
  update = "alternating"
  # False: the objective has no adversary to train (the trainer runs generator steps only).
  trains_critic = True

  def critic_loss(self, critic, inputs: StepInputs):
    raise NotImplementedError

  def generator_loss(self, critic, inputs: StepInputs):
    raise NotImplementedError

  def before_critic_step(self, critic):
    """Runs before each critic update in cross-replica context (WassersteinGAN's clamp)."""
    del critic

  def after_critic_step(self, critic):
    """Runs after each critic update in cross-replica context (gan_toy.py's clip)."""
    # A statement after the docstring: AutoGraph cannot convert a docstring-only body ("expected
    # an indented block after 'with' statement") and warned on every trace.
    del critic

  def after_generator_update(self, generator, critic, real, z):
    """Runs on each replica after each generator update with that update's real batch and noise
    (this replica's slices): forward passes the official code makes between its updates whose side
    effects count, e.g. batch-norm moving statistics (TTUR DCGAN_FID_batched's loss printing)."""
    del generator, critic, real, z


CLIP_ORDERS = ("before", "after")


class WassersteinObjective(Objective):
  """WGAN with weight clipping (clip=c) or WGAN-GP (gp_weight=λ).

  clip_order: "before" clamps the critic before each of its updates (WassersteinGAN main.py
  L184-186: the generator step sees the last update unclamped); "after" clips after each update
  (improved_wgan_training gan_toy.py's `clip_disc_weights`). gradient_norm_scale: see
  `repro.losses.wgan.gradient_penalty` (norm_scale; 2 for gan_mnist.py's [0, 1] pixels).
  alpha_weights: the interpolation end α multiplies, "fake" or "real" (gan_toy.py), see there.
  """

  def __init__(self, clip=None, gp_weight=None, clip_order="after", gradient_norm_scale=1.0,
               alpha_weights="fake"):
    if (clip is None) == (gp_weight is None):
      raise UsageError("the wgan objective takes exactly one of clip (WGAN) or gp_weight (WGAN-GP)")
    if clip_order not in CLIP_ORDERS:
      raise UsageError(f"clip_order must be one of {', '.join(CLIP_ORDERS)}, got {clip_order!r}")
    self.clip = clip
    self.clip_order = clip_order
    self.gp_weight = gp_weight
    self.gradient_norm_scale = float(gradient_norm_scale)
    if alpha_weights not in ("fake", "real"):
      raise UsageError(f"alpha_weights must be fake or real, got {alpha_weights!r}")
    self.alpha_weights = alpha_weights
    self.name = "wgan_clip" if clip is not None else "wgan_gp"

  def critic_loss(self, critic, inputs):
    from repro.losses import wgan  # pylint: disable=g-import-not-at-top
    d_real = critic(inputs.real, training=True)
    d_fake = critic(inputs.fake, training=True)
    loss = wgan.discriminator_loss(d_real, d_fake)
    terms = {"wasserstein_estimate": wgan.wasserstein_estimate(d_real, d_fake)}
    if self.gp_weight is not None:
      penalty = wgan.gradient_penalty(critic, inputs.real, inputs.fake, alpha=inputs.u,
                                      norm_scale=self.gradient_norm_scale,
                                      alpha_weights=self.alpha_weights)
      terms["gradient_penalty"] = penalty
      loss = loss + self.gp_weight * penalty
    return loss, terms

  def generator_loss(self, critic, inputs):
    from repro.losses import wgan  # pylint: disable=g-import-not-at-top
    return wgan.generator_loss(critic(inputs.fake, training=True)), {}

  def before_critic_step(self, critic):
    from repro.losses import wgan  # pylint: disable=g-import-not-at-top
    if self.clip is not None and self.clip_order == "before":
      wgan.clip_weights(critic, self.clip)

  def after_critic_step(self, critic):
    from repro.losses import wgan  # pylint: disable=g-import-not-at-top
    if self.clip is not None and self.clip_order == "after":
      wgan.clip_weights(critic, self.clip)
