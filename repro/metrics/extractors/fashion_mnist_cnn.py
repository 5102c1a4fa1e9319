"""A small Keras CNN classifier on Fashion-MNIST (28x28x1, pixels in [-1, 1]) as a feature extractor.

The Inception network is meaningless on 28x28 grayscale clothing images, so FID/IS on Fashion-MNIST
use this classifier: features = the 128-d penultimate ReLU layer, logits = the 10-class output.
Numbers computed with it are comparable only with numbers computed with the *same weights*; the
weights file is pinned by its sha256 in ``manifest.json`` beside it (``checkpoints/manifest.json``),
which this module checks before loading (``.weights.h5``, read by Keras/h5py, no pickle); a mismatch
is a one-line UsageError naming the file.

Input range: images in [-1, 1] (the generators' range), float [N, 28, 28, 1]. Callers holding uint8
[0, 255] images or generator outputs convert with ``repro.metrics.images.to_extractor_range`` (the
evaluation code and the CLI do); values outside [-1, 1] are refused, not silently rescaled.

Train it with ``python -m repro.metrics.train_classifier`` (see that module).
"""

import os

from repro.errors import DataUnavailableError, UsageError
from repro.metrics import manifest as manifest_lib
from repro.metrics.extractors.base import Extractor, InputSpec

NAME = "fashion_mnist_cnn"
DEFAULT_WEIGHTS = os.path.join(manifest_lib.CHECKPOINT_DIR, NAME + ".weights.h5")
TRAIN_COMMAND = "python -m repro.metrics.train_classifier"
FEATURE_DIM = 128
NUM_CLASSES = 10


def build_classifier():
  """Returns (classifier: image -> logits, extractor: image -> [features, logits]) sharing layers."""
  import keras  # pylint: disable=g-import-not-at-top
  from keras import layers  # pylint: disable=g-import-not-at-top
  inputs = keras.Input((28, 28, 1), name="image")
  x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
  x = layers.MaxPooling2D(name="pool1")(x)                                   # 14x14
  x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
  x = layers.MaxPooling2D(name="pool2")(x)                                   # 7x7
  x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu", name="conv3")(x)  # 4x4
  x = layers.Flatten(name="flatten")(x)
  features = layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
  dropped = layers.Dropout(0.3, name="dropout")(features)
  logits = layers.Dense(NUM_CLASSES, name="logits")(dropped)
  classifier = keras.Model(inputs, logits, name=NAME)
  extractor = keras.Model(inputs, [features, logits], name=NAME + "_features")
  return classifier, extractor


def _expected_sha256(weights, manifest_path):
  """The sha256 the manifest (default: manifest.json beside the weights) records for `weights`."""
  manifest_path = manifest_path or os.path.join(os.path.dirname(weights), "manifest.json")
  entry = manifest_lib.manifest_entry(NAME, manifest_path)
  if entry is None:
    return None
  entry_file = os.path.join(os.path.dirname(os.path.abspath(manifest_path)), entry.get("file", ""))
  if os.path.abspath(entry_file) != os.path.abspath(weights):
    return None
  return entry.get("sha256")


class FashionMnistCnnExtractor(Extractor):
  """Penultimate (128-d) features and 10 logits of the Fashion-MNIST CNN."""

  name = NAME
  input_spec = InputSpec(height=28, width=28, channels=1, value_range=(-1.0, 1.0))
  feature_dim = FEATURE_DIM
  num_classes = NUM_CLASSES
  default_batch_size = 500

  def __init__(self, weights=None, sha256=None, manifest=None, batch_size=None):
    self.weights = os.path.abspath(weights or DEFAULT_WEIGHTS)
    if not os.path.isfile(self.weights):
      raise DataUnavailableError(f"Fashion-MNIST classifier weights {self.weights} not found: train "
                                 f"them with `{TRAIN_COMMAND}`")
    expected = sha256 or _expected_sha256(self.weights, manifest)
    if not expected:
      raise UsageError(f"no sha256 recorded for {self.weights} in the checkpoint manifest: pass "
                       f"sha256=... or retrain with `{TRAIN_COMMAND}`")
    self.sha256 = manifest_lib.verify_sha256(self.weights, expected)
    if batch_size:
      self.default_batch_size = int(batch_size)
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    classifier, extractor = build_classifier()
    try:
      classifier.load_weights(self.weights)
    except (ValueError, OSError, KeyError) as e:
      raise UsageError(f"cannot load weights {self.weights}: {' '.join(str(e).split())[:200]}") from None
    self._model = extractor
    self._call = tf.function(lambda x: extractor(x, training=False),
                             input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)])

  def _forward(self, batch):
    features, logits = self._call(batch)
    return features.numpy(), logits.numpy()

  def info(self):
    return dict(super().info(), weights=os.path.basename(self.weights), weights_sha256=self.sha256)
