"""A deterministic, cheap extractor for tests: a fixed random projection of the pixels.

Pure NumPy (no TensorFlow). Pixels in [0, 255] are mapped to [-1, 1], flattened and projected with
a Gaussian matrix seeded by (seed, H, W, C), followed by tanh; logits are a second fixed projection.
Any image size and channel count is accepted; the same images always give the same features.
"""

import numpy as np

from repro.metrics.extractors.base import Extractor, InputSpec


class FakeExtractor(Extractor):
  name = "fake"
  input_spec = InputSpec(height=None, width=None, channels=None, value_range=(0.0, 255.0))

  def __init__(self, feature_dim=16, num_classes=10, seed=0, batch_size=None):
    self.feature_dim = int(feature_dim)
    self.num_classes = int(num_classes)
    self.seed = int(seed)
    self.default_batch_size = int(batch_size or 64)
    self._cache = {}

  def _weights(self, shape):
    key = tuple(int(s) for s in shape)
    if key not in self._cache:
      rng = np.random.default_rng([self.seed, *key])
      d_in = int(np.prod(key))
      proj = rng.normal(size=(d_in, self.feature_dim)) * np.sqrt(3.0 / d_in)
      head = rng.normal(size=(self.feature_dim, self.num_classes))
      self._cache[key] = (proj, head)
    return self._cache[key]

  def _forward(self, batch):
    proj, head = self._weights(batch.shape[1:])
    x = batch.reshape(batch.shape[0], -1).astype(np.float64) / 127.5 - 1.0
    features = np.tanh(x @ proj)
    return features, features @ head

  def info(self):
    return dict(super().info(), seed=self.seed)
