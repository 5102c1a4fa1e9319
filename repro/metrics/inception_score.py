"""Inception Score from classifier logits.

Reference: openai/improved-gan ``inception_score/model.py`` (copied into igul222/improved_wgan_training
``tflib/inception_score.py``; TTUR ``FIDvsINC/fidutils.py`` does the same). The predictions are split
into ``splits`` consecutive chunks ``preds[i*N//splits:(i+1)*N//splits]``; per chunk

    IS_i = exp( mean_x KL(p(y|x) || p_hat(y)) ),   p_hat(y) = mean_x p(y|x) over the chunk,

and the result is ``(mean(IS_i), std(IS_i))`` with NumPy's population std (ddof = 0), as in the
reference. The references take ``np.log`` of softmax probabilities in float32; here everything is a
log-softmax in float64 so one-hot-like logits give exact scores instead of log(0).

With the 2015 Inception graph the logits are ``pool_3 . W`` (1008 classes, no bias), see
``repro/metrics/extractors/inception_2015.py``.
"""

import numpy as np

from repro.errors import UsageError


def log_softmax(logits):
  """Row-wise log-softmax in float64 (max-shifted, stable)."""
  z = np.asarray(logits, dtype=np.float64)
  z = z - np.max(z, axis=-1, keepdims=True)
  return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def _logmeanexp(x, axis):
  m = np.max(x, axis=axis, keepdims=True)
  m = np.where(np.isfinite(m), m, 0.0)
  return np.squeeze(m, axis) + np.log(np.mean(np.exp(x - m), axis=axis))


def split_scores(logits, splits=10):
  """Per-split Inception Scores as a float64 array of length `splits`."""
  try:
    z = np.asarray(logits, dtype=np.float64)
  except (TypeError, ValueError) as e:
    raise UsageError(f"logits must be a numeric array [N, classes]: {e}") from None
  if z.ndim != 2 or z.shape[1] < 2:
    raise UsageError(f"logits must be [N, classes] with >= 2 classes, got shape {z.shape}")
  if not np.all(np.isfinite(z)):
    raise UsageError("logits contain NaN or Inf values: check the classifier outputs")
  splits = int(splits)
  n = z.shape[0]
  if splits < 1 or n < splits:
    raise UsageError(f"cannot split {n} samples into {splits} splits: need splits >= 1 and at "
                     f"least one sample per split")
  log_p = log_softmax(z)
  scores = np.empty(splits)
  for i in range(splits):
    part = log_p[(i * n // splits):((i + 1) * n // splits)]
    log_p_hat = _logmeanexp(part, axis=0)
    kl = np.sum(np.exp(part) * (part - log_p_hat), axis=1)
    scores[i] = np.exp(np.mean(kl))
  return scores


def inception_score(logits, splits=10):
  """Returns (mean, std) of the Inception Score over `splits` chunks of `logits` [N, classes]."""
  scores = split_scores(logits, splits)
  return float(np.mean(scores)), float(np.std(scores))
