"""Character n-gram models and their Jensen-Shannon divergence (WGAN-GP language experiments).

Reference: igul222/improved_wgan_training ``language_helpers.py`` ``NgramLanguageModel``
(identical in TTUR ``WGAN_GP/language_helpers.py``):

* n-grams are the windows ``sample[i:i+n]`` inside each sample (never across samples); a sample is
  any sequence of characters/tokens, e.g. a string or a tuple of characters. In ``gan_language.py``
  samples are fixed-length tuples padded with a filler character, and the padding is counted.
* p(g) = count(g) / total n-grams.
* ``js_with``: with M = (P + Q) / 2 on the union of n-grams,
  ``0.5 * (KL(P || M) + KL(Q || M)) / ln 2``, a JSD in bits, in [0, 1].
  The KL terms are sums over each model's own support, exactly as the reference computes them.
"""

import collections

import numpy as np

from repro.errors import UsageError


class NgramLanguageModel:
  """n-gram counts of a list of samples (strings or sequences of tokens)."""

  def __init__(self, n, samples):
    n = int(n)
    if n < 1:
      raise UsageError(f"n-gram order must be >= 1, got {n}")
    if isinstance(samples, str):
      raise UsageError("samples must be a list of strings/sequences, not a single string")
    self.n = n
    self.counts = collections.Counter()
    for sample in samples:
      seq = sample if isinstance(sample, str) else tuple(sample)
      for i in range(len(seq) - n + 1):
        self.counts[seq[i:i + n]] += 1
    self.total = sum(self.counts.values())

  def unique_ngrams(self):
    return set(self.counts)

  def log_likelihood(self, ngram):
    """log p(ngram), -inf if unseen."""
    c = self.counts.get(ngram, 0)
    return np.log(c) - np.log(self.total) if c else -np.inf

  def _log_probs(self, ngrams):
    return np.array([self.log_likelihood(g) for g in ngrams], dtype=np.float64)

  def js_with(self, other):
    """JSD (bits, in [0, 1]) between this model and `other`, as ``NgramLanguageModel.js_with``."""
    if not isinstance(other, NgramLanguageModel) or other.n != self.n:
      raise UsageError("js_with needs another NgramLanguageModel of the same order")
    for name, model in (("first", self), ("second", other)):
      if model.total == 0:
        raise UsageError(f"the {name} corpus has no {model.n}-grams (samples shorter than n?)")
    p, q = other, self
    p_support = list(p.counts)
    log_p = p._log_probs(p_support)
    log_q = q._log_probs(p_support)
    log_m = np.logaddexp(log_p - np.log(2), log_q - np.log(2))
    kl_p_m = np.sum(np.exp(log_p) * (log_p - log_m))

    q_support = list(q.counts)
    log_p = p._log_probs(q_support)
    log_q = q._log_probs(q_support)
    log_m = np.logaddexp(log_p - np.log(2), log_q - np.log(2))
    kl_q_m = np.sum(np.exp(log_q) * (log_q - log_m))
    return float(0.5 * (kl_p_m + kl_q_m) / np.log(2))


def ngram_jsd(samples_a, samples_b, n):
  """JSD (bits) between the n-gram distributions of two corpora."""
  return NgramLanguageModel(n, samples_b).js_with(NgramLanguageModel(n, samples_a))
