"""Evaluating a generator: quantisation protocol, streaming, references, the trainer's eval hook.

Expected values are recomputed here from the images with NumPy (np.cov) and TTUR's scipy.linalg.sqrtm
formula, not with the code under test.
"""

import json
import os

import numpy as np
import pytest

from repro.data.idx import write_idx
from repro.errors import UsageError
from repro.metrics import evaluate
from repro.metrics import images as images_lib
from repro.metrics.extractors.base import InputSpec
from repro.metrics.extractors.fake import FakeExtractor
from repro.metrics.fid import frechet_distance
from repro.metrics.inception_score import inception_score
from repro.metrics.kid import kernel_inception_distance


def ttur_fid(feats1, feats2):
  linalg = pytest.importorskip("scipy.linalg")
  mu1, mu2 = feats1.mean(0), feats2.mean(0)
  s1, s2 = np.cov(feats1, rowvar=False), np.cov(feats2, rowvar=False)
  covmean = linalg.sqrtm(s1 @ s2).real
  return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fake_features(u):
  """FakeExtractor features of images u in [0, 255], rounded to float32 as extractors return them."""
  feats = FakeExtractor()._forward(np.asarray(u, np.float32))[0]  # pylint: disable=protected-access
  return feats.astype(np.float32).astype(np.float64)


def _images(n, seed, shape=(8, 8, 1)):
  rng = np.random.default_rng(seed)
  return np.tanh(rng.normal(size=(n,) + shape) * 0.8).astype(np.float32)


def test_quantize_modes_by_hand():
  x = np.array([-1.5, -1.0, -0.999, 0.0, 0.5, 1.0, 1.7159], np.float32)
  u = (np.clip(x, -1, 1) + 1) * 127.5
  np.testing.assert_allclose(images_lib.quantize(x, "none"), u, rtol=1e-6)
  np.testing.assert_array_equal(images_lib.quantize(x, "truncate"), [0, 0, 0, 127, 191, 255, 255])
  np.testing.assert_array_equal(images_lib.quantize(x, "round"), [0, 0, 0, 128, 191, 255, 255])
  spec = evaluate.get_extractor("fake").input_spec
  np.testing.assert_array_equal(images_lib.to_extractor_range(np.array([0, 255], np.uint8), spec),
                                [0.0, 255.0])
  cnn_spec = InputSpec(28, 28, 1, (-1.0, 1.0))
  np.testing.assert_allclose(images_lib.to_extractor_range(np.array([0, 255], np.uint8), cnn_spec),
                             [-1.0, 1.0])
  np.testing.assert_allclose(images_lib.to_extractor_range(x, cnn_spec), np.clip(x, -1, 1),
                             atol=1e-6)
  with pytest.raises(UsageError, match="quantisation"):
    images_lib.quantize(x, "floor")


def test_evaluate_generator_streams_and_matches_reference_formula():
  fakes = _images(37, seed=1)
  real = (np.random.default_rng(2).uniform(0, 255, size=(40, 8, 8, 1))).astype(np.uint8)
  calls = []

  def sample_fn(k):
    start = sum(calls)
    calls.append(k)
    return fakes[start:start + k]

  result = evaluate.evaluate_generator(sample_fn, real, extractor="fake", n_fake=37, batch_size=10)
  assert calls == [10, 10, 10, 7]
  expected = ttur_fid(fake_features((fakes + 1) * 127.5), fake_features(real))
  assert abs(result.fid - expected) <= 1e-6 * abs(expected)
  p = result.protocol
  assert p["extractor"]["name"] == "fake" and p["n_fake"] == 37 and p["n_real"] == 40
  assert p["quantize"] == "none" and p["uint8_rounding"] is False
  assert p["reference"]["kind"] == "images" and p["batch_size"] == 10


def test_rounding_equals_feeding_uint8_images():
  fakes, real = _images(30, seed=3), _images(30, seed=4)
  rounded = np.floor((fakes + 1) * 127.5 + 0.5).astype(np.uint8)
  a = evaluate.evaluate_samples(fakes, real, extractor="fake", quantize="round")
  b = evaluate.evaluate_samples(rounded, real, extractor="fake", quantize="round")
  assert a.protocol["uint8_rounding"] is True and a.protocol["quantize"] == "round"
  assert abs(a.fid - b.fid) < 1e-9
  c = evaluate.evaluate_samples(fakes, real, extractor="fake", quantize="none")
  assert abs(a.fid - c.fid) > 1e-6  # rounding is visible, hence recorded


def test_npz_reference_equals_image_reference(tmp_path):
  fakes, real = _images(25, seed=5), _images(50, seed=6)
  path = str(tmp_path / "ref.npz")
  protocol = evaluate.save_reference_statistics(path, real, extractor="fake", source="test")
  assert protocol["count"] == 50 and protocol["extractor"]["name"] == "fake"
  from_images = evaluate.evaluate_samples(fakes, real, extractor="fake")
  from_file = evaluate.evaluate_samples(fakes, path, extractor="fake")
  assert abs(from_images.fid - from_file.fid) < 1e-9
  assert from_file.protocol["n_real"] == 50
  assert from_file.protocol["reference"]["path"] == path
  with pytest.raises(UsageError, match="extractor 'fake'"):
    evaluate.evaluate_samples(fakes, path, extractor=_OtherExtractor())


class _OtherExtractor(FakeExtractor):
  name = "other"


def test_inception_score_and_kid_against_direct_computation():
  fakes = _images(40, seed=7)
  real = _images(60, seed=8)
  result = evaluate.evaluate_samples(fakes, real, extractor="fake", inception_score=True,
                                     is_splits=2, kid=True, kid_block_size=20)
  ext = FakeExtractor()
  u_f, u_r = (fakes + 1) * 127.5, (real + 1) * 127.5
  want_is = inception_score(ext(u_f)["logits"], splits=2)
  np.testing.assert_allclose(result.inception_score, want_is, rtol=1e-6)
  rng = np.random.default_rng(evaluate.KID_SHUFFLE_SEED)
  f_r, f_f = ext(u_r)["features"], ext(u_f)["features"]
  want_kid = kernel_inception_distance(rng.permutation(f_r), rng.permutation(f_f), block_size=20)
  np.testing.assert_allclose(result.kid, want_kid, rtol=1e-6)
  assert result.protocol["is_splits"] == 2 and result.protocol["kid_block_size"] == 20


def test_bad_inputs():
  real = _images(10, seed=9)
  with pytest.raises(UsageError, match="n_fake"):
    evaluate.evaluate_generator(lambda k: real[:k], real, extractor="fake", n_fake=1)
  with pytest.raises(UsageError, match="returned"):
    evaluate.evaluate_generator(lambda k: real[:1], real, extractor="fake", n_fake=5)
  with pytest.raises(UsageError, match="unknown feature extractor"):
    evaluate.evaluate_samples(real, real, extractor="nope")
  with pytest.raises(UsageError, match="NaN"):
    evaluate.evaluate_samples(np.full_like(real, np.nan), real, extractor="fake")
  with pytest.raises(UsageError, match="2-D points"):
    evaluate.fid_eval_fn("8gaussians", extractor="fake")
  with pytest.raises(UsageError, match="unknown dataset"):
    evaluate.fid_eval_fn("imagenet64", extractor="fake")


@pytest.fixture
def tiny_fashion(tmp_path):
  """A Fashion-MNIST-shaped IDX folder: 64 train and 32 test images."""
  rng = np.random.default_rng(10)
  d = tmp_path / "fm"
  d.mkdir()
  for split, n in (("train", 64), ("t10k", 32)):
    write_idx(str(d / f"{split}-images-idx3-ubyte.gz"), rng.integers(0, 256, (n, 28, 28)))
    write_idx(str(d / f"{split}-labels-idx1-ubyte.gz"), rng.integers(0, 10, n))
  return str(d)


class FakeTrainer:
  """What the eval hook uses of repro.train.runner.Trainer: eval_samples(n) -> numpy NHWC in [-1, 1]."""

  def __init__(self, workdir=None):
    self.workdir = workdir
    self.calls = 0

  def eval_samples(self, n):
    self.calls += 1
    return _images(n, seed=11, shape=(28, 28, 1))


def test_dataset_reference_is_cached(tiny_fashion, tmp_path, monkeypatch):
  from repro import data  # pylint: disable=g-import-not-at-top
  ref = evaluate.DatasetReference("fashion_mnist", "train", n=50, data_dir=tiny_fashion)
  cache = str(tmp_path / "cache")
  first = evaluate.reference_statistics(ref, "fake", cache_dir=cache)
  (cached_file,) = os.listdir(cache)
  assert cached_file.startswith("fashion_mnist_train_fake_") and cached_file.endswith(".npz")
  real = data.load_array("fashion_mnist", "train", tiny_fashion)[:50]
  feats = fake_features(real)
  np.testing.assert_allclose(first.mu, feats.mean(0), rtol=1e-10, atol=1e-12)
  np.testing.assert_allclose(first.sigma, np.cov(feats, rowvar=False), rtol=1e-8, atol=1e-12)
  assert first.description["split"] == "train" and first.count == 50

  def no_reading(*args, **kwargs):
    raise AssertionError("the cache was not used")

  monkeypatch.setattr(data, "load_array", no_reading)
  second = evaluate.reference_statistics(ref, "fake", cache_dir=cache)
  np.testing.assert_array_equal(first.mu, second.mu)
  np.testing.assert_array_equal(first.sigma, second.sigma)


def test_fid_eval_fn_for_the_trainer(tiny_fashion, tmp_path):
  cache = str(tmp_path / "cache")
  eval_fn = evaluate.fid_eval_fn("fashion_mnist", extractor="fake", n=40, data_dir=tiny_fashion,
                                 cache_dir=cache)
  trainer = FakeTrainer(workdir=str(tmp_path))
  out = eval_fn(trainer, 100)
  assert set(out) == {"fid"} and isinstance(out["fid"], float)
  from repro import data  # pylint: disable=g-import-not-at-top
  real = data.load_array("fashion_mnist", "train", tiny_fashion)
  fakes = trainer.eval_samples(40)
  expected = ttur_fid(fake_features((fakes + 1) * 127.5), fake_features(real))
  assert abs(out["fid"] - expected) <= 1e-6 * abs(expected)
  assert eval_fn(trainer, 200)["fid"] == out["fid"]   # same noise, same value
  p = eval_fn.last_result.protocol
  assert p["reference"]["dataset"] == "fashion_mnist" and p["reference"]["split"] == "train"
  assert p["n_fake"] == 40 and p["n_real"] == 64 and p["quantize"] == "none"
  with open(tmp_path / "fid_protocol.json") as f:
    assert json.load(f)["n_fake"] == 40


def test_fid_eval_fn_with_the_fashion_classifier(tiny_fashion, tmp_path):
  from repro.metrics.extractors import fashion_mnist_cnn  # pylint: disable=g-import-not-at-top
  if not os.path.exists(fashion_mnist_cnn.DEFAULT_WEIGHTS):
    pytest.skip("checkpoints/fashion_mnist_cnn.weights.h5 not present")
  eval_fn = evaluate.fid_eval_fn("fashion_mnist", n=64, data_dir=tiny_fashion,
                                 cache_dir=str(tmp_path / "cache"))
  value = eval_fn(FakeTrainer(), 1)["fid"]
  ext = eval_fn.extractor
  from repro import data  # pylint: disable=g-import-not-at-top
  real = data.load_array("fashion_mnist", "train", tiny_fashion).astype(np.float32) / 127.5 - 1
  fakes = FakeTrainer().eval_samples(64)
  f_fake = ext(fakes)["features"].astype(np.float64)
  f_real = ext(real)["features"].astype(np.float64)
  # 64 and 64 samples of 128-d features: singular covariances, where scipy's sqrtm is inaccurate, so
  # the distance (golden-tested in test_metrics_fid.py) is applied to statistics computed here.
  expected = frechet_distance(f_fake.mean(0), np.cov(f_fake, rowvar=False), f_real.mean(0),
                              np.cov(f_real, rowvar=False))
  assert abs(value - expected) <= 1e-5 * abs(expected)
  info = eval_fn.last_result.protocol["extractor"]
  assert info["name"] == "fashion_mnist_cnn" and len(info["weights_sha256"]) == 64
