"""Datasets: IDX reader on files the test writes, tfds path with mock data, toy sets, fail-fast."""

import time

import numpy as np
import pytest

from repro import data
from repro.data import idx, toy
from repro.errors import DataUnavailableError, UsageError


def _write_fashion(folder, n_train=12, n_test=6):
  rng = np.random.default_rng(0)
  for split, n in (("train", n_train), ("t10k", n_test)):
    idx.write_idx(str(folder / f"{split}-images-idx3-ubyte.gz"),
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    idx.write_idx(str(folder / f"{split}-labels-idx1-ubyte.gz"),
                  rng.integers(0, 10, (n,), dtype=np.uint8))


def test_idx_round_trip_and_pipeline(tmp_path):
  _write_fashion(tmp_path)
  images, labels = idx.load_idx(str(tmp_path), "train")
  assert images.shape == (12, 28, 28) and labels.shape == (12,)
  ds = data.get_dataset("fashion_mnist", batch_size=4, seed=3, data_dir=str(tmp_path))
  batch = next(iter(ds)).numpy()
  assert batch.shape == (4, 28, 28, 1)
  assert batch.min() >= -1.0 and batch.max() <= 1.0
  # the pixel mapping is x / 127.5 - 1 of some training images
  expected = set(np.round(images.reshape(12, -1) / 127.5 - 1.0, 5).tobytes() for _ in [0])
  flat = np.round(batch.reshape(4, -1).astype(np.float64), 5)
  rows = {tuple(r) for r in np.round(images.reshape(12, -1) / 127.5 - 1.0, 5)}
  assert all(tuple(r) in rows for r in flat) and expected


def test_same_seed_same_batches(tmp_path):
  _write_fashion(tmp_path)
  a = [b.numpy() for b in data.get_dataset("fashion_mnist", batch_size=4, seed=7,
                                           data_dir=str(tmp_path)).take(5)]
  b = [b.numpy() for b in data.get_dataset("fashion_mnist", batch_size=4, seed=7,
                                           data_dir=str(tmp_path)).take(5)]
  assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:-10], "truncated"),
    (lambda raw: b"\x00\x00\x08\x01" + raw[4:], "magic number"),
    (lambda raw: raw[:6], "truncated"),
])
def test_idx_bad_files_raise_clear_errors(tmp_path, damage, message):
  import gzip
  _write_fashion(tmp_path)
  path = tmp_path / "train-images-idx3-ubyte.gz"
  raw = gzip.decompress(path.read_bytes())
  path.write_bytes(gzip.compress(damage(raw)))
  with pytest.raises(UsageError, match=message):
    idx.load_idx(str(tmp_path), "train")


def test_idx_count_mismatch_and_missing(tmp_path):
  _write_fashion(tmp_path)
  idx.write_idx(str(tmp_path / "train-labels-idx1-ubyte.gz"), np.zeros(11, np.uint8))
  with pytest.raises(UsageError, match="12 images but"):
    idx.load_idx(str(tmp_path), "train")
  with pytest.raises(DataUnavailableError, match="dataset-fashion-mnist"):
    idx.load_idx(str(tmp_path / "nowhere"), "train")


def test_tfds_path_with_mock_data():
  import tensorflow_datasets as tfds
  with tfds.testing.mock_data(num_examples=8):
    for name, shape in (("cifar10", (32, 32, 3)), ("celeb_a", (64, 64, 3)),
                        ("lsun_bedroom", (64, 64, 3))):
      batch = next(iter(data.get_dataset(name, batch_size=4))).numpy()
      assert batch.shape == (4,) + shape
      assert batch.min() >= -1.0 - 1e-6 and batch.max() <= 1.0 + 1e-6


def test_unprepared_dataset_fails_fast(tmp_path):
  for check in (lambda: data.check_prepared("cifar10", str(tmp_path)),
                lambda: data.get_dataset("cifar10", data_dir=str(tmp_path))):
    start = time.time()
    with pytest.raises(DataUnavailableError) as err:
      check()
    assert time.time() - start < 2.0
    message = str(err.value)
    assert "\n" not in message and "cifar10" in message and str(tmp_path) in message
    assert "download_and_prepare --datasets=cifar10" in message


@pytest.mark.parametrize("kw, match", [
    (dict(name="imagenet"), "unknown dataset"),
    (dict(name="8gaussians", batch_size=0), "batch_size"),
    (dict(name="8gaussians", batch_size=-3), "batch_size"),
    (dict(name="8gaussians", split="valid"), "split"),
    (dict(name="cifar10", source="idx"), "IDX"),
])
def test_bad_arguments(kw, match):
  with pytest.raises(UsageError, match=match):
    data.get_dataset(**kw)


def test_toy_sets_match_gan_toy_definitions():
  eight = np.concatenate([b.numpy() for b in data.get_dataset("8gaussians", batch_size=500,
                                                                seed=1).take(4)])
  centers, std = toy.mixture_spec("8gaussians")
  d = np.linalg.norm(eight[:, None] - centers[None], axis=2)
  nearest = d.min(axis=1)
  assert abs(np.linalg.norm(centers, axis=1).mean() - 2 / 1.414) < 1e-9
  # radial distance of a 2-D Gaussian: mean std * sqrt(pi / 2)
  assert abs(nearest.mean() - std * np.sqrt(np.pi / 2)) < 0.1 * std
  assert len(np.unique(d.argmin(axis=1))) == 8
  points = toy.twenty_five_gaussians_points(0)
  assert points.shape == (100000, 2)
  assert abs(points.max() - (4 / 2.828)) < 0.1
  roll = np.concatenate([b.numpy() for b in data.get_dataset("swissroll", batch_size=500).take(4)])
  radius = np.linalg.norm(roll, axis=1) * 7.5   # t in [1.5π, 4.5π] before noise
  assert 1.5 * np.pi - 1.5 < radius.min() and radius.max() < 4.5 * np.pi + 1.5
