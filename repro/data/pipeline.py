"""tf.data pipelines behind `repro.data.get_dataset`.

Images come out as float32 NHWC in [-1, 1]; 2-D sets as float32 [batch, 2]. Pipelines are seeded,
repeat forever and are checkpointable (the trainer saves the iterator so a resumed run continues
with the same batches).
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


def _prepare_image(image, name):
  """uint8 HWC -> float32 in [-1, 1] at the dataset's resolution (crop/resize as the papers do)."""
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
                shuffle=True, repeat=True, source="auto", text=None):
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
  """
  info = dataset_info(name)
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
    return ds.map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0).prefetch(tf.data.AUTOTUNE)
  ds = _tfds_images(info, split, data_dir, download, seed)
  if shuffle:
    ds = ds.shuffle(10000, seed=seed, reshuffle_each_iteration=True)
  if repeat:
    ds = ds.repeat()
  ds = ds.map(lambda x: _prepare_image(x, name), num_parallel_calls=tf.data.AUTOTUNE)
  return ds.batch(batch_size, drop_remainder=repeat).prefetch(tf.data.AUTOTUNE)
