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


# ---- the same models on integer-coded samples (fast enough for 10M training lines) -----------------

class NgramCounts:
  """`NgramLanguageModel` of integer-coded samples: rows of a [samples, length] int array.

  Identical semantics (n-grams inside each row, the padding id counted like any other), stored as
  sorted unique n-gram keys and their counts; `js_with` computes exactly what
  ``NgramLanguageModel.js_with`` computes on the decoded strings (tests/test_language.py). Rows are
  counted in chunks, so the 10M x 32 training lines of One Billion Word fit in memory.
  """

  def __init__(self, n, ids, vocab_size=None, chunk=200_000):
    ids = np.asarray(ids)
    if ids.ndim != 2:
      raise UsageError(f"NgramCounts needs a [samples, length] array of ids, got shape {ids.shape}")
    n = int(n)
    if n < 1:
      raise UsageError(f"n-gram order must be >= 1, got {n}")
    if ids.size and ids.min() < 0:
      raise UsageError("n-gram ids must be non-negative")
    self.n = n
    self.vocab_size = int(vocab_size if vocab_size is not None else (ids.max() + 1 if ids.size else 1))
    # An n-gram is one integer when vocab**n fits in int64, else a row of n ids viewed as bytes.
    self._packed = self.vocab_size ** n < 2 ** 63
    windows = max(ids.shape[1] - n + 1, 0)
    parts = []
    for start in range(0, ids.shape[0], chunk):
      block = ids[start:start + chunk]
      if windows == 0 or block.shape[0] == 0:
        continue
      keys = self._keys(np.stack([block[:, i:i + windows] for i in range(n)], axis=-1).reshape(-1, n))
      parts.append(np.unique(keys, return_counts=True))
    if parts:
      keys = np.concatenate([k for k, _ in parts])
      counts = np.concatenate([c for _, c in parts])
      order = np.argsort(keys, kind="stable")
      keys, counts = keys[order], counts[order]
      starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
      self.keys, self.counts = keys[starts], np.add.reduceat(counts, starts).astype(np.int64)
    else:
      self.keys = self._keys(np.zeros((0, n), np.int64))
      self.counts = np.zeros(0, np.int64)
    self.total = int(self.counts.sum())

  def _keys(self, grams):
    grams = np.ascontiguousarray(grams, dtype=np.int64)
    if self._packed:
      key = np.zeros(grams.shape[0], np.int64)
      for i in range(self.n):
        key = key * self.vocab_size + grams[:, i]
      return key
    return grams.view(np.dtype((np.void, 8 * self.n))).reshape(-1)

  def js_with(self, other):
    """JSD (bits, in [0, 1]) between this model and `other`, as ``NgramLanguageModel.js_with``.

    The same sums, arranged so that only the n-grams the two models share are looked up: an n-gram
    of one model that the other lacks has m = p / 2 and adds p·ln 2 to that model's KL term, so
    those terms sum to ln 2 · (unshared count) / total (exact integer counts). An evaluation then
    costs O(|samples| log |training n-grams|), not a pass over the training model.
    """
    if (not isinstance(other, NgramCounts) or other.n != self.n
        or other.vocab_size != self.vocab_size):
      raise UsageError("js_with needs another NgramCounts of the same order and vocabulary")
    for name, model in (("first", self), ("second", other)):
      if model.total == 0:
        raise UsageError(f"the {name} corpus has no {model.n}-grams (samples shorter than n?)")
    p, q = other, self
    small, large = (q, p) if len(q.keys) <= len(p.keys) else (p, q)
    pos = np.minimum(np.searchsorted(large.keys, small.keys), len(large.keys) - 1)
    shared = large.keys[pos] == small.keys
    c_small, c_large = small.counts[shared], large.counts[pos[shared]]
    c_p, c_q = (c_large, c_small) if small is q else (c_small, c_large)
    log2 = np.log(2)
    log_p = np.log(c_p.astype(np.float64)) - np.log(float(p.total))
    log_q = np.log(c_q.astype(np.float64)) - np.log(float(q.total))
    log_m = np.logaddexp(log_p - log2, log_q - log2)
    kl_p_m = (np.sum(np.exp(log_p) * (log_p - log_m))
              + log2 * (p.total - int(c_p.sum())) / p.total)
    kl_q_m = (np.sum(np.exp(log_q) * (log_q - log_m))
              + log2 * (q.total - int(c_q.sum())) / q.total)
    return float(0.5 * (kl_p_m + kl_q_m) / log2)


def ngram_jsds(sample_ids, true_models):
  """{"js1": ..., "jsN": ...}: JSD of the samples' n-gram model with each true model
  (gan_language_JSD.py: `lm = NgramLanguageModel(i+1, samples); lm.js_with(true_char_ngram_lms[i])`)."""
  out = {}
  for model in true_models:
    out[f"js{model.n}"] = NgramCounts(model.n, sample_ids, model.vocab_size).js_with(model)
  return out
