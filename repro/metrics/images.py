"""Image folders and the quantisation protocol between generator outputs and extractor inputs.

Generators here output images in [-1, 1]. Papers differ in how those become extractor inputs
(TTUR notes, section 1.4): TTUR's DCGAN feeds ``(G(z) + 1) * 127.5`` as floats, its WGAN-GP script
does ``((samples + 1) * 127.5).astype('uint8')`` (truncation), and saving to PNG rounds. The mode is
part of the evaluation protocol and is recorded with every result:

  none      u = (clip(x, -1, 1) + 1) * 127.5, kept as float
  truncate  floor(u)           (TTUR WGAN-GP ``astype('uint8')``)
  round     floor(u + 0.5)     (what writing 8-bit PNGs does)

u in [0, 255] is then mapped linearly to the extractor's ``input_spec.value_range``. Real images that
are already uint8 skip the quantisation step.

Folders are read like TTUR ``fid.py`` (``*.jpg`` and ``*.png`` in the folder itself, not
recursively; ``.jpeg`` too), in sorted order, decoded with ``tf.io.decode_image``.
"""

import os

import numpy as np

from repro.errors import DataUnavailableError, UsageError

QUANTIZE_MODES = ("none", "truncate", "round")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


def quantize(images, mode="none"):
  """[-1, 1] images -> float32 values u in [0, 255] under the given quantisation mode.

  Values outside [-1, 1] are clipped first (e.g. Coulomb GAN's 1.7159 tanh output).
  """
  if mode not in QUANTIZE_MODES:
    raise UsageError(f"unknown quantisation {mode!r}; use one of {', '.join(QUANTIZE_MODES)}")
  x = np.asarray(images, dtype=np.float32)
  if x.size and not np.all(np.isfinite(x)):
    raise UsageError("generated images contain NaN or Inf values")
  u = (np.clip(x, -1.0, 1.0) + 1.0) * np.float32(127.5)
  if mode == "truncate":
    u = np.floor(u)
  elif mode == "round":
    u = np.floor(u + np.float32(0.5))
  return u


def from_0_255(u, value_range):
  """Maps values in [0, 255] linearly onto `value_range` (float32)."""
  lo, hi = value_range
  u = np.asarray(u, dtype=np.float32)
  if (lo, hi) == (0.0, 255.0):
    return u
  return (u * np.float32((hi - lo) / 255.0) + np.float32(lo)).astype(np.float32)


def to_extractor_range(images, spec, quantize_mode="none"):
  """Images from a generator ([-1, 1] floats) or uint8 data -> the extractor's value range."""
  arr = np.asarray(images)
  if arr.dtype == np.uint8:
    return from_0_255(arr, spec.value_range)
  return from_0_255(quantize(arr, quantize_mode), spec.value_range)


def list_images(folder):
  """Sorted image files (png/jpg/jpeg, case-insensitive) directly inside `folder`."""
  folder = os.fspath(folder)
  if not os.path.exists(folder):
    raise DataUnavailableError(f"image folder {folder} not found")
  if not os.path.isdir(folder):
    raise UsageError(f"{folder} is neither an image folder nor a statistics .npz file")
  files = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                 if f.lower().endswith(IMAGE_EXTENSIONS)
                 and os.path.isfile(os.path.join(folder, f)))
  if not files:
    raise UsageError(f"no .png/.jpg images in {folder}")
  return files


def read_image(path):
  """Decodes one PNG/JPEG file to uint8 [H, W, C] with tf.io.decode_image."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    data = tf.io.read_file(path)
    return tf.io.decode_image(data, dtype=tf.uint8, expand_animations=False).numpy()
  except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:
    raise UsageError(f"cannot decode image {path}: {' '.join(e.message.split())[:200]}") from None


def iter_image_batches(files, batch_size):
  """Yields uint8 arrays [n, H, W, C] of at most `batch_size` images; all must share one shape."""
  shape = None
  batch = []
  for path in files:
    img = read_image(path)
    if shape is None:
      shape = img.shape
    elif img.shape != shape:
      raise UsageError(f"image {path} has shape {img.shape}, the first image has {shape}: all "
                       f"images of a folder must have the same size")
    batch.append(img)
    if len(batch) == batch_size:
      yield np.stack(batch)
      batch = []
  if batch:
    yield np.stack(batch)
