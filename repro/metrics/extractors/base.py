"""The feature-extractor interface: input spec, validation, batching.

An extractor maps images to ``dict(features=[N, feature_dim], logits=[N, num_classes] or None)``.
Feature *math* (statistics, distances, scores) lives outside, in ``repro.metrics``; extractors only
produce arrays (the split TF-GAN's ``classifier_metrics`` and torch-fidelity's feature extractors use).
"""

import dataclasses
import warnings
from typing import Optional, Tuple

import numpy as np

from repro.errors import UsageError


@dataclasses.dataclass(frozen=True)
class InputSpec:
  """What an extractor accepts.

  height/width: required image size, or None for any size (e.g. the Inception graph resizes
  internally). channels: 1 or 3, or None for any. Grayscale (1-channel or [N, H, W]) images given to
  a 3-channel extractor are tiled to RGB. value_range: the pixel range the network expects, e.g.
  (0, 255) for the 2015 Inception graph, (-1, 1) for the Fashion-MNIST CNN.
  """
  height: Optional[int]
  width: Optional[int]
  channels: Optional[int]
  value_range: Tuple[float, float]

  def as_dict(self):
    return {"height": self.height, "width": self.width, "channels": self.channels,
            "value_range": list(self.value_range)}


class Extractor:
  """Base class. Subclasses set name, feature_dim, num_classes, input_spec and implement _forward."""

  name = "extractor"
  feature_dim = None
  num_classes = None
  input_spec = InputSpec(None, None, None, (0.0, 255.0))
  default_batch_size = 50

  def _forward(self, batch):
    """Returns (features [n, feature_dim], logits [n, num_classes] or None) for one float32 batch."""
    raise NotImplementedError

  def info(self):
    """A JSON-able description for the evaluation protocol (subclasses add weights/graph hashes)."""
    return {"name": self.name, "feature_dim": self.feature_dim, "num_classes": self.num_classes,
            "input_spec": self.input_spec.as_dict()}

  def prepare(self, images):
    """Validates images and returns float32 [N, H, W, C] matching the input spec's channels."""
    try:
      x = np.asarray(images, dtype=np.float32)
    except (TypeError, ValueError) as e:
      raise UsageError(f"{self.name}: images must be a numeric array [N, H, W, C]: {e}") from None
    if x.ndim == 3:
      x = x[..., None]
    if x.ndim != 4:
      raise UsageError(f"{self.name}: images must be [N, H, W, C] or [N, H, W], got shape {x.shape}")
    spec = self.input_spec
    if spec.channels == 3 and x.shape[-1] == 1:
      x = np.repeat(x, 3, axis=-1)
    wanted = (spec.height, spec.width, spec.channels)
    if any(w is not None and got != w for got, w in zip(x.shape[1:], wanted)):
      expected = ", ".join("any" if w is None else str(w) for w in wanted)
      raise UsageError(f"{self.name} expects images of shape [N, {expected}] (height, width, "
                       f"channels), got shape {x.shape}: resize or convert them, or pick another "
                       f"extractor")
    if x.size and not np.all(np.isfinite(x)):
      raise UsageError(f"{self.name}: images contain NaN or Inf values")
    lo, hi = spec.value_range
    if x.size:
      tol = 1e-3 * (hi - lo)
      x_min, x_max = float(x.min()), float(x.max())
      if x_min < lo - tol or x_max > hi + tol:
        raise UsageError(f"{self.name} expects pixel values in [{lo:g}, {hi:g}], got "
                         f"[{x_min:.4g}, {x_max:.4g}]: convert with "
                         f"repro.metrics.images.to_extractor_range")
      if hi - lo > 2.5 and x_max <= 1.0 + 1e-6 and x_min >= -1.0 - 1e-6 and x.shape[0] > 1:
        warnings.warn(f"{self.name} expects values in [{lo:g}, {hi:g}] but all images lie in "
                      f"[-1, 1]: are they scaled?", RuntimeWarning, stacklevel=3)
    return x

  def __call__(self, images, batch_size=None):
    """Returns dict(features=float32 [N, D], logits=float32 [N, K] or None), computed in batches."""
    x = self.prepare(images)
    batch_size = int(batch_size or self.default_batch_size)
    if batch_size < 1:
      raise UsageError(f"batch_size must be >= 1, got {batch_size}")
    feats, logits = [], []
    for start in range(0, x.shape[0], batch_size):
      f, l = self._forward(x[start:start + batch_size])
      feats.append(np.asarray(f, dtype=np.float32).reshape(f.shape[0], -1))
      if l is not None:
        logits.append(np.asarray(l, dtype=np.float32))
    if not feats:
      return {"features": np.zeros((0, self.feature_dim or 0), np.float32),
              "logits": None if self.num_classes is None else np.zeros((0, self.num_classes),
                                                                      np.float32)}
    return {"features": np.concatenate(feats), "logits": np.concatenate(logits) if logits else None}
