"""One entry point for every dataset: `get_dataset(name, split, batch_size, seed, ...)`.

Images come out as float32 NHWC in [-1, 1]; 2-D sets as float32 [batch, 2]; text (lm1b, a
--text_file) as one-hot float32 [batch, 32, vocabulary] (repro/data/text.py). Pipelines are seeded,
repeat forever and are checkpointable (the trainer saves the iterator, so a resumed run continues
with the same batches). This package's top level imports no TensorFlow.
"""

from repro.data.catalog import DATASETS, DatasetInfo, check_prepared, dataset_info, names


def get_dataset(name, split="train", batch_size=64, seed=0, data_dir=None, download=False,
                shuffle=True, repeat=True, source="auto", text=None, image_size=0):
  """A tf.data pipeline of `batch_size` examples; see `repro.data.pipeline.get_dataset`
  (image_size: square images resized like torchvision's Scale; 0 keeps their size)."""
  from repro.data import pipeline  # pylint: disable=g-import-not-at-top
  return pipeline.get_dataset(name, split, batch_size, seed, data_dir, download, shuffle, repeat,
                              source, text, image_size)


def example_shape(name, image_size=0):
  """One example's shape as get_dataset(name, image_size=image_size) yields it."""
  from repro.data import pipeline  # pylint: disable=g-import-not-at-top
  return pipeline.example_shape(name, image_size)


def load_array(name, split="train", data_dir=None, download=False):
  """A whole image split as a uint8 NHWC numpy array."""
  from repro.data import pipeline  # pylint: disable=g-import-not-at-top
  return pipeline.load_array(name, split, data_dir, download)
