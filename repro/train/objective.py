"""The one objective interface every paper implements, and the WGAN / WGAN-GP objectives."""

import dataclasses

import tensorflow as tf

from repro.losses import wgan


@dataclasses.dataclass
class StepInputs:
  """What a loss sees on one replica: its slice of the real batch, generated samples and noise.

  u: [batch] per-example U[0, 1) numbers (e.g. the gradient-penalty interpolation α); seed: a
  [2] stateless seed for anything else. Both are drawn by the trainer, so results do not depend
  on the number of replicas.
  """
  real: tf.Tensor
  fake: tf.Tensor
  u: tf.Tensor
  seed: tf.Tensor
  step: tf.Tensor


class Objective:
  """Critic and generator losses of one paper. Losses return (scalar, {name: scalar}) per replica."""

  name = "objective"
  # "fresh": a new real batch for every critic step (WGAN/WGAN-GP code); "shared": one real batch
  # for all critic steps of a generator step (KL-WGAN synthetic code).
  critic_real_batches = "fresh"
  # "alternating": n_critic critic updates, then a generator update; "simultaneous": one update of
  # both from the same real batch and noise (Coulomb GAN; n_critic is ignored).
  update = "alternating"
  # False: the objective has no adversary to train (the trainer runs generator steps only).
  trains_critic = True

  def critic_loss(self, critic, inputs: StepInputs):
    raise NotImplementedError

  def generator_loss(self, critic, inputs: StepInputs):
    raise NotImplementedError

  def after_critic_step(self, critic):
    """Runs after each critic update in cross-replica context (e.g. weight clipping)."""
    # A statement after the docstring: AutoGraph cannot convert a docstring-only body ("expected
    # an indented block after 'with' statement") and warned on every trace.
    del critic


class WassersteinObjective(Objective):
  """WGAN with weight clipping (clip=c) or WGAN-GP (gp_weight=λ)."""

  def __init__(self, clip=None, gp_weight=None):
    if (clip is None) == (gp_weight is None):
      raise ValueError("give exactly one of clip (WGAN) or gp_weight (WGAN-GP)")
    self.clip = clip
    self.gp_weight = gp_weight
    self.name = "wgan_clip" if clip is not None else "wgan_gp"

  def critic_loss(self, critic, inputs):
    d_real = critic(inputs.real, training=True)
    d_fake = critic(inputs.fake, training=True)
    loss = wgan.discriminator_loss(d_real, d_fake)
    terms = {"wasserstein_estimate": wgan.wasserstein_estimate(d_real, d_fake)}
    if self.gp_weight is not None:
      penalty = wgan.gradient_penalty(critic, inputs.real, inputs.fake, alpha=inputs.u)
      terms["gradient_penalty"] = penalty
      loss = loss + self.gp_weight * penalty
    return loss, terms

  def generator_loss(self, critic, inputs):
    return wgan.generator_loss(critic(inputs.fake, training=True)), {}

  def after_critic_step(self, critic):
    if self.clip is not None:
      wgan.clip_weights(critic, self.clip)
