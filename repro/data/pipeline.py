"""tf.data pipelines behind `repro.data.get_dataset`.

Images come out as float32 NHWC in [-1, 1]; 2-D sets as float32 [batch, 2]. Pipelines are seeded,
repeat forever and are checkpointable (the trainer saves the iterator so a resumed run continues
with the same batches).

`image_size` (a recipe's `data.image_size`; 0: the dataset's own size, `example_shape`) resizes
square images to image_size x image_size after the dataset's own preparation, as torchvision's
`transforms.Scale(size)` (= Resize) does with its default PIL bilinear filter, e.g. WassersteinGAN
main.py's Scale(64) that upsamples CIFAR-10 to 64x64 (`resize_images`): a separable triangle filter
on half-pixel centres (pixel i's centre is i + 0.5; the filter widens by the scale factor when
downscaling, i.e. antialiased), horizontal pass first, each pass rounded to uint8 as PIL does on
8-bit images (22-bit fixed-point weights, round half up, clipped to [0, 255]), then mapped to
[-1, 1]. For upsampling this is bilinear interpolation with half-pixel centres and edge clamping
(tf.image.resize "bilinear" up to the rounding); tests/test_official_pytorch_nets.py checks it
against PIL itself, pixel for pixel. Only the training pipeline is resized:
`load_array` (reference statistics, classifiers) keeps the dataset's own size.
"""

import os

import numpy as np
import tensorflow as tf

from repro.data import fwgan_synthetic, idx, toy
from repro.data import catalog
from repro.data.catalog import CELEBA_CROP, dataset_info
from repro.errors import DataUnavailableError, UsageError


def _tfds_split(name, split):
  if split in ("test", "validation") and name == "lsun_bedroom":
    return "validation"
  return split


def example_shape(name, image_size=0):
  """One example's shape as get_dataset(name, image_size=image_size) yields it (for text, the
  catalog's nominal shape; the trainer reads the loaded corpus' vocabulary)."""
  info = dataset_info(name)
  image_size = _check_image_size(info, image_size)
  if not image_size:
    return tuple(info.shape)
  return (image_size, image_size, info.shape[2])


def _check_image_size(info, image_size):
  if image_size in (0, None):
    return 0
  if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
    raise UsageError(f"image_size must be a positive integer (0: the dataset's own size), got "
                     f"{image_size!r}")
  if info.kind != "image":
    raise UsageError(f"image_size applies to image datasets; {info.name} is {info.kind} data")
  if len(info.shape) != 3 or info.shape[0] != info.shape[1]:
    raise UsageError(f"image_size resizes square images; {info.name} has shape {info.shape}")
  return image_size


PIL_PRECISION_BITS = 22   # Pillow Resample.c: 32 - 8 - 2 bits of fixed-point coefficients


def pil_bilinear_coefficients(in_size, out_size):
  """[out_size, in_size] int64 fixed-point weights (scaled by 2**22) of Pillow's bilinear resize
  of one axis (Resample.c precompute_coeffs + normalize_coeffs_8bpp): output pixel x has its centre
  at (x + 0.5) * scale in input coordinates, scale = in / out; the triangle filter's support is
  widened by the scale when downscaling; weights are normalised over the pixels inside the image
  and rounded to 22 fractional bits."""
  scale = in_size / out_size
  filterscale = max(scale, 1.0)
  support = 1.0 * filterscale
  weights = np.zeros((out_size, in_size), np.int64)
  for xx in range(out_size):
    center = (xx + 0.5) * scale
    xmin = max(int(center - support + 0.5), 0)
    xmax = min(int(center + support + 0.5), in_size)
    w = np.array([max(0.0, 1.0 - abs((x - center + 0.5) / filterscale))
                  for x in range(xmin, xmax)])
    if w.sum() != 0.0:
      w = w / w.sum()
    weights[xx, xmin:xmax] = np.trunc(np.where(w < 0, -0.5, 0.5) + w * (1 << PIL_PRECISION_BITS))
  return weights


def _resample_axis(x, weights, axis):
  """One 8-bit PIL pass along `axis` (-3 rows, -2 columns): integer accumulation plus one half,
  shifted (round half up), clipped to [0, 255]; exact in float64."""
  w = tf.constant(weights, tf.float64)
  if axis == -2:
    acc = tf.einsum("...hwc,ow->...hoc", x, w)
  else:
    acc = tf.einsum("...hwc,oh->...owc", x, w)
  acc = tf.floor((acc + float(1 << (PIL_PRECISION_BITS - 1))) / float(1 << PIL_PRECISION_BITS))
  return tf.clip_by_value(acc, 0.0, 255.0)


def resize_images(images, size):
  """Square images (HWC or NHWC, values in [0, 255]) -> size x size float32 in [0, 255], exactly
  PIL's `Image.resize((size, size), Image.BILINEAR)` of the uint8 images (torchvision Scale /
  Resize): horizontal pass, then vertical pass, each rounded to uint8 (module docstring)."""
  images = tf.cast(images, tf.float32)
  height, width = int(images.shape[-3]), int(images.shape[-2])
  if (height, width) == (size, size):
    return images
  # Values are integers in [0, 255] (PIL resamples 8-bit images); round first for float inputs.
  x = tf.cast(tf.clip_by_value(tf.floor(images + 0.5), 0.0, 255.0), tf.float64)
  if width != size:
    x = _resample_axis(x, pil_bilinear_coefficients(width, size), -2)
  if height != size:
    x = _resample_axis(x, pil_bilinear_coefficients(height, size), -3)
  return tf.cast(x, tf.float32)


def _prepare_image(image, name, image_size=0):
  """uint8 HWC -> float32 in [-1, 1] at the dataset's resolution (crop/resize as the papers do),
  then resized to image_size x image_size (0: kept)."""
  if name == "celeb_a":
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    top, left = (h - CELEBA_CROP) // 2, (w - CELEBA_CROP) // 2
    image = tf.image.crop_to_bounding_box(image, top, left, CELEBA_CROP, CELEBA_CROP)
    image = tf.image.resize(tf.cast(image, tf.float32), (64, 64), antialias=True)
  elif name == "lsun_bedroom":
    # WassersteinGAN main.py: Scale(64) (shorter side to 64), then CenterCrop(64).
    h, w = tf.cast(tf.shape(image)[0], tf.float32), tf.cast(tf.shape(image)[1], tf.float32)
    scale = 64.0 / tf.minimum(h, w)
    size = tf.cast(tf.math.ceil(tf.stack([h * scale, w * scale])), tf.int32)
    image = tf.image.resize(tf.cast(image, tf.float32), size, antialias=True)
    image = tf.image.resize_with_crop_or_pad(image, 64, 64)
  image = tf.cast(image, tf.float32)
  if image_size:
    image = resize_images(image, image_size)
  return image / 127.5 - 1.0


def _tfds_images(info, split, data_dir, download, seed):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  builder = tfds.builder(info.tfds_name, data_dir=data_dir)
  if download:
    builder.download_and_prepare()
  read_config = tfds.ReadConfig(shuffle_seed=seed)
  try:
    # Never a plain tfds.load: offline it retries for ~200 s. as_dataset fails at once when the
    # data is not prepared (and works under tfds.testing.mock_data).
    ds = builder.as_dataset(split=_tfds_split(info.name, split), shuffle_files=True,
                            read_config=read_config)
  except (AssertionError, FileNotFoundError, tf.errors.NotFoundError):
    root = os.path.dirname(os.path.dirname(builder.data_dir.rstrip("/")))
    if "/" in info.tfds_name:
      root = os.path.dirname(root)
    raise DataUnavailableError(catalog.not_prepared_message(info, root)) from None
  except ValueError as e:
    raise UsageError(f"dataset {info.name}: {str(e).splitlines()[0]}") from None
  return ds.map(lambda ex: ex["image"], num_parallel_calls=tf.data.AUTOTUNE)


def _array_dataset(array, batch_size, seed, shuffle, repeat):
  """Batches of rows of an in-memory array, in a fresh permutation every epoch.

  The permutation of epoch e is a stateless function of (seed, e), so batches do not depend on
  TensorFlow's global seed or on what else the process has run.
  """
  table = tf.constant(array)
  n = array.shape[0]
  epochs = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(1)

  def epoch_order(epoch):
    order = tf.range(n, dtype=tf.int64)
    if shuffle:
      order = tf.random.experimental.stateless_shuffle(
          order, seed=tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)]))
    return tf.data.Dataset.from_tensor_slices(order)

  ds = epochs.flat_map(epoch_order)
  return ds.batch(batch_size, drop_remainder=repeat).map(lambda i: tf.gather(table, i))


def load_array(name, split="train", data_dir=None, download=False):
  """A whole split as a uint8 NHWC numpy array (for statistics and classifiers)."""
  info = dataset_info(name)
  if info.kind != "image":
    raise UsageError(f"{name} is a generated 2-D set, not an image dataset")
  if name == "fashion_mnist" and _has_idx(data_dir):
    images, _ = idx.load_idx(data_dir, split)
    return images[..., None]
  ds = _tfds_images(info, split, data_dir, download, seed=0)
  return np.stack(list(ds.as_numpy_iterator()))


def _has_idx(data_dir):
  path = os.path.join(data_dir or idx.DEFAULT_FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz")
  return os.path.exists(path)


def _text_dataset(name, batch_size, seed, data_dir, download, shuffle, repeat, text):
  """One-hot characters [batch, seq_len, vocab] (gan_language.py: tf.one_hot(real_inputs_discrete,
  len(charmap))), batches from a fresh permutation of the lines every epoch."""
  from repro.data import text as text_lib  # pylint: disable=g-import-not-at-top
  t = dict(text or {})
  corpus = text_lib.load_corpus(name, t.get("file", ""), t.get("seq_len", text_lib.SEQ_LEN),
                                t.get("max_lines", text_lib.MAX_LINES),
                                t.get("max_vocab", text_lib.MAX_VOCAB), data_dir, download)
  if repeat and len(corpus.ids) < batch_size:
    raise UsageError(f"{name} has {len(corpus.ids)} lines, fewer than one batch of {batch_size}; "
                     "use a longer file or a smaller --batch_size")
  # int16 ids halve the in-memory table (10M lines x 32 characters); the vocabulary is <= 2048.
  ids = corpus.ids.astype(np.int16 if corpus.vocab_size < 2 ** 15 else np.int32)
  ds = _array_dataset(ids, batch_size, seed, shuffle, repeat)
  return ds.map(lambda x: tf.one_hot(tf.cast(x, tf.int32), corpus.vocab_size, dtype=tf.float32)
                ).prefetch(tf.data.AUTOTUNE)


def get_dataset(name, split="train", batch_size=64, seed=0, data_dir=None, download=False,
                shuffle=True, repeat=True, source="auto", text=None, image_size=0):
  """A tf.data pipeline of `batch_size` examples scaled to [-1, 1].

  Args:
    name: one of DATASETS.
    split: "train" or "test" (generated sets ignore it).
    batch_size: global batch size.
    seed: seeds shuffling and generated data; the same seed gives the same batches.
    data_dir: tfds data dir, or for fashion_mnist a folder with the four IDX `.gz` files
      (default: the Debian package's /usr/share/datasets/fashion-mnist).
    download: let tfds download and prepare (off by default: fail fast instead).
    source: "auto", "idx" or "tfds" (fashion_mnist only; auto prefers IDX files when present).
    text: for "lm1b" / "text": {"file", "seq_len", "max_lines", "max_vocab"} (repro/data/text.py).
    image_size: square images resized to image_size x image_size like torchvision's PIL bilinear
      Scale (module docstring); 0 keeps the dataset's size (`example_shape` gives the result).
  """
  info = dataset_info(name)
  image_size = _check_image_size(info, image_size)
  if not isinstance(batch_size, int) or batch_size <= 0:
    raise UsageError(f"batch_size must be a positive integer, got {batch_size!r}")
  if split not in ("train", "test"):
    raise UsageError(f"unknown split {split!r}; use train or test")
  if source not in ("auto", "idx", "tfds"):
    raise UsageError(f"unknown data source {source!r}; use auto, idx or tfds")
  if source == "idx" and name != "fashion_mnist":
    raise UsageError("--source=idx reads Fashion-MNIST IDX files only")
  seed = int(seed)
  if info.kind == "text":   # the training lines (the suite has no held-out text split)
    return _text_dataset(name, batch_size, seed, data_dir, download, shuffle, repeat, text)
  if name in fwgan_synthetic.NAMES:  # f-wgan's fixed 5000 points, its DataLoader order
    return fwgan_synthetic.get_dataset(name, batch_size, seed, repeat)
  if name == "8gaussians" or name == "swissroll":
    make = toy.eight_gaussians_batch if name == "8gaussians" else toy.swissroll_batch
    # Batch i comes from the stateless seed (seed, i): independent of the global seed.
    ds = tf.data.Dataset.counter().map(
        lambda i: make(batch_size, tf.stack([tf.constant(seed, tf.int64), i])))
    return ds if repeat else ds.take(1)
  if name == "25gaussians":
    ds = _array_dataset(toy.twenty_five_gaussians_points(seed), batch_size, seed, shuffle, repeat)
    return ds.prefetch(tf.data.AUTOTUNE)
  if name == "fashion_mnist" and (source == "idx" or (source == "auto" and _has_idx(data_dir))):
    images, _ = idx.load_idx(data_dir, split)
    ds = _array_dataset(images[..., None], batch_size, seed, shuffle, repeat)
    if image_size:
      return ds.map(lambda x: resize_images(x, image_size) / 127.5 - 1.0).prefetch(
          tf.data.AUTOTUNE)
    return ds.map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0).prefetch(tf.data.AUTOTUNE)
  ds = _tfds_images(info, split, data_dir, download, seed)
  if shuffle:
    ds = ds.shuffle(10000, seed=seed, reshuffle_each_iteration=True)
  if repeat:
    ds = ds.repeat()
  ds = ds.map(lambda x: _prepare_image(x, name, image_size), num_parallel_calls=tf.data.AUTOTUNE)
  return ds.batch(batch_size, drop_remainder=repeat).prefetch(tf.data.AUTOTUNE)
