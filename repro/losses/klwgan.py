"""KL-WGAN losses (Song & Ermon 2020, "Bridging the Gap Between f-GANs and Wasserstein GANs",
https://arxiv.org/abs/1910.09779) and the hinge baseline they modify.

As ermongroup/f-wgan `image_generation/losses.py` (`get_kl_ratio`, `loss_kl_dis`, `loss_kl_gen`,
`loss_hinge_dis`, `loss_hinge_gen`) and `synthetic/kl_wgan.py` (`kl_dis`, `kl_gen`, the same with
T = 1). TF-GAN sign convention: both players *minimise* the returned value.

The KL-WGAN critic sees the generated batch re-weighted by self-normalised importance weights
    r_i = exp(D(x̃_i)/T) / mean_j exp(D(x̃_j)/T) = n · softmax(D(x̃)/T)_i,
computed as exp(v - (logsumexp(v) - log n)) like `get_kl_ratio`. Gradients flow through r (the
official code has no stop-gradient). The weights sum to n; as T → ∞ they tend to 1 and the losses
become the hinge losses.
"""

import math

import tensorflow as tf

from repro.losses import common


def importance_weights(d_fake, temperature=1.0):
  """r = n · softmax(D(x̃)/T) over the generated batch, shape [n] (f-wgan `get_kl_ratio`)."""
  v = common.scores(d_fake) / temperature
  n = tf.cast(tf.shape(v)[0], v.dtype)
  return tf.exp(v - (tf.reduce_logsumexp(v) - tf.math.log(n)))


def discriminator_loss(d_real, d_fake, temperature=1.0):
  """mean relu(1 - D(x)) + mean relu(1 + r · D(x̃)) (f-wgan `loss_kl_dis`, real + fake terms)."""
  real_term, fake_term = discriminator_loss_terms(d_real, d_fake, temperature)
  return real_term + fake_term


def discriminator_loss_terms(d_real, d_fake, temperature=1.0):
  """(mean relu(1 - D(x)), mean relu(1 + r · D(x̃))), as f-wgan returns them."""
  d_fake = common.scores(d_fake)
  weighted = importance_weights(d_fake, temperature) * d_fake
  return (tf.reduce_mean(tf.nn.relu(1.0 - common.scores(d_real))),
          tf.reduce_mean(tf.nn.relu(1.0 + weighted)))


def generator_loss(d_fake, temperature=1.0):
  """-mean r · D(x̃) (f-wgan `loss_kl_gen`)."""
  d_fake = common.scores(d_fake)
  return -tf.reduce_mean(importance_weights(d_fake, temperature) * d_fake)


def hinge_discriminator_loss(d_real, d_fake):
  """mean relu(1 - D(x)) + mean relu(1 + D(x̃)) (f-wgan `loss_hinge_dis`; the paper's "WGAN")."""
  real_term, fake_term = hinge_discriminator_loss_terms(d_real, d_fake)
  return real_term + fake_term


def hinge_discriminator_loss_terms(d_real, d_fake):
  """(mean relu(1 - D(x)), mean relu(1 + D(x̃)))."""
  return (tf.reduce_mean(tf.nn.relu(1.0 - common.scores(d_real))),
          tf.reduce_mean(tf.nn.relu(1.0 + common.scores(d_fake))))


def hinge_generator_loss(d_fake):
  """-mean D(x̃) (f-wgan `loss_hinge_gen`)."""
  return -tf.reduce_mean(common.scores(d_fake))


def kl_divergence_estimate(d_real, d_fake):
  """The KL-WGAN divergence f-wgan `synthetic/kl_wgan.py` logs per batch (T = 1):

      mean D(x) - mean r·D(x̃) + mean(r · log r) / mean exp(D(x̃))

  (`kl_r(dis_fake).mean() + kl_gen(dis_fake).mean() + dis_real.mean()`; the division of the
  entropy term by mean exp(D(x̃)) is the official code's and kept as is.) Its sign is what the
  paper's divergence curves count ("epochs with estimated divergence < 0").
  """
  d_fake = common.scores(d_fake)
  n = tf.cast(tf.shape(d_fake)[0], d_fake.dtype)
  r = importance_weights(d_fake)
  log_r = d_fake - tf.reduce_logsumexp(d_fake) + tf.math.log(n)
  norm = tf.reduce_mean(tf.exp(d_fake))
  return (tf.reduce_mean(common.scores(d_real)) - tf.reduce_mean(r * d_fake) +
          tf.reduce_mean(r * log_r) / norm)


def hinge_divergence_estimate(d_real, d_fake):
  """mean D(x) - mean D(x̃), what `kl_wgan.py` logs for the hinge baseline."""
  return tf.reduce_mean(common.scores(d_real)) - tf.reduce_mean(common.scores(d_fake))


def parse_loss_type(loss_type):
  """f-wgan `train_fns.select_loss` names: "hinge" -> ("hinge", None); "kl" -> ("kl", 1.0);
  "kl_5" -> ("kl", 5.0). Raises ValueError otherwise."""
  if loss_type == "hinge":
    return "hinge", None
  if loss_type == "kl":
    return "kl", 1.0
  if loss_type.startswith("kl_"):
    temperature = float(loss_type[3:])
    if not temperature > 0 or math.isinf(temperature):
      raise ValueError(f"temperature must be positive and finite, got {loss_type!r}")
    return "kl", temperature
  raise ValueError(f"unknown KL-WGAN loss type {loss_type!r}; use hinge, kl or kl_<T>")
