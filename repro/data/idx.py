"""Fashion-MNIST (or MNIST) straight from the four IDX `.gz` files, no tfds preparation.

Default location: the Debian package `dataset-fashion-mnist` (`apt-get install dataset-fashion-mnist`).
"""

import gzip
import os

import numpy as np

from repro.errors import DataUnavailableError, UsageError

DEFAULT_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000),
}
_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049


def _read(path, magic, ndim):
  try:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
      data = f.read()
  except (OSError, EOFError) as e:
    raise UsageError(f"cannot read IDX file {path}: {e}") from None
  header = 4 * (1 + ndim)
  if len(data) < header:
    raise UsageError(f"IDX file {path} is truncated ({len(data)} bytes, header needs {header})")
  found = int.from_bytes(data[0:4], "big")
  if found != magic:
    raise UsageError(f"IDX file {path} has magic number {found}, expected {magic}: not an IDX "
                     f"{'image' if ndim == 3 else 'label'} file")
  dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
  expected = int(np.prod(dims))
  if len(data) - header != expected:
    raise UsageError(f"IDX file {path} holds {len(data) - header} bytes of data, its header "
                     f"promises {expected} (shape {dims}): the file is truncated or corrupt")
  return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_idx(data_dir=None, split="train", expected_count=0):
  """Returns (images uint8 [N, 28, 28], labels uint8 [N]) of one split read from IDX files.

  Magic numbers, header sizes against file sizes, and image/label counts are checked;
  `expected_count` (e.g. 60000) additionally pins the number of examples.
  """
  data_dir = data_dir or DEFAULT_FASHION_MNIST_DIR
  if split not in _FILES:
    raise UsageError(f"unknown split {split!r} for IDX data; use one of {sorted(_FILES)}")
  image_name, label_name, _ = _FILES[split]
  image_path = os.path.join(data_dir, image_name)
  label_path = os.path.join(data_dir, label_name)
  for p in (image_path, label_path):
    if not os.path.exists(p):
      raise DataUnavailableError(
          f"Fashion-MNIST file {p} not found: run `sudo apt-get install dataset-fashion-mnist` or "
          f"put the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist "
          f"into {data_dir} (or pass --data_dir)")
  images = _read(image_path, _IMAGE_MAGIC, 3)
  labels = _read(label_path, _LABEL_MAGIC, 1)
  if images.shape[0] != labels.shape[0]:
    raise UsageError(f"{image_path} has {images.shape[0]} images but {label_path} has "
                     f"{labels.shape[0]} labels")
  if images.shape[1:] != (28, 28):
    raise UsageError(f"{image_path} holds images of shape {images.shape[1:]}, expected (28, 28)")
  if expected_count and images.shape[0] != expected_count:
    raise UsageError(f"{image_path} holds {images.shape[0]} images, the {split} split has "
                     f"{expected_count}")
  return images, labels


def write_idx(path, array):
  """Writes a uint8 array as a gzip IDX file (for tests and small exports)."""
  array = np.asarray(array, dtype=np.uint8)
  magic = _IMAGE_MAGIC if array.ndim == 3 else _LABEL_MAGIC
  header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
  with gzip.open(path, "wb") as f:
    f.write(header + array.tobytes())
