"""Evaluate a generator: FID (and optionally IS and KID) with the full protocol recorded.

Pipeline (the same for generated and real images):

  images in [-1, 1] (or uint8) --quantisation (images.py)--> extractor range --extractor-->
  features/logits --StreamingStatistics--> (mu, sigma) --frechet_distance--> FID

* ``sample_fn(n)`` returns n generated images in [-1, 1], shape [n, H, W, C] (NumPy or tensors). It is
  called with at most ``batch_size`` per call until exactly ``n_fake`` images were drawn (unlike TTUR's
  ``get_activations``, no trailing partial batch is dropped).
* ``reference`` is a statistics ``.npz`` path (e.g. TTUR's ``fid_stats_cifar10_train.npz`` or one
  written by ``save_reference_statistics``), an image array, or an iterable of image batches. Real
  images are uint8 [0, 255] or floats in [-1, 1]; float ones get the same quantisation as the fakes.
* KID needs reference *features*, so it needs reference images, not an ``.npz``. Both feature sets
  are permuted with a fixed seed first, because TF-GAN's block estimator assumes random order.

Every result carries its protocol: extractor (with graph/weights sha256), sample counts, reference,
quantisation, batch size, IS splits, KID block size.
"""

import dataclasses
import os
from typing import Optional, Tuple

import numpy as np

from repro.errors import UsageError
from repro.metrics import images as images_lib
from repro.metrics.extractors import get_extractor
from repro.metrics.fid import frechet_distance
from repro.metrics.inception_score import inception_score as inception_score_fn
from repro.metrics.kid import kernel_inception_distance
from repro.metrics.statistics import StreamingStatistics
from repro.metrics.stats_io import read_statistics_file, save_statistics

KID_SHUFFLE_SEED = 0


@dataclasses.dataclass
class EvaluationResult:
  """FID (+ optional IS/KID as (mean, std)) and the protocol that produced them."""
  fid: float
  protocol: dict
  inception_score: Optional[Tuple[float, float]] = None
  kid: Optional[Tuple[float, float]] = None

  def as_dict(self):
    out = {"fid": self.fid, "protocol": self.protocol}
    if self.inception_score is not None:
      out["inception_score"] = {"mean": self.inception_score[0], "std": self.inception_score[1]}
    if self.kid is not None:
      out["kid"] = {"mean": self.kid[0], "std": self.kid[1]}
    return out


@dataclasses.dataclass
class _Accumulated:
  stats: StreamingStatistics
  features: list
  logits: list
  out_of_range: int = 0
  values: int = 0
  shape: Optional[tuple] = None


def _as_batch(batch, what):
  if isinstance(batch, (tuple, list)) and batch and not np.isscalar(batch[0]):
    batch = batch[0]  # (image, label) pairs from a dataset
  try:
    arr = np.asarray(batch)
  except (TypeError, ValueError) as e:
    raise UsageError(f"{what} must be image arrays [n, H, W, C]: {e}") from None
  if arr.ndim == 3:
    arr = arr[..., None]
  if arr.ndim != 4:
    raise UsageError(f"{what} must be image arrays [n, H, W, C], got shape {arr.shape}")
  if arr.dtype != np.uint8 and arr.dtype.kind not in "f":
    arr = arr.astype(np.float32)
  return arr


def _accumulate(batches, extractor, quantize, batch_size, keep_features, keep_logits, limit, what):
  acc = _Accumulated(StreamingStatistics(), [], [])
  for batch in batches:
    if limit is not None and acc.stats.count >= limit:
      break
    arr = _as_batch(batch, what)
    if limit is not None:
      arr = arr[:limit - acc.stats.count]
    if acc.shape is None:
      acc.shape = arr.shape[1:]
    elif arr.shape[1:] != acc.shape:
      raise UsageError(f"{what}: batch of shape {arr.shape[1:]} after batches of {acc.shape}")
    if arr.dtype != np.uint8:
      acc.out_of_range += int(np.sum(np.abs(arr) > 1.0))
      acc.values += arr.size
    x = images_lib.to_extractor_range(arr, extractor.input_spec, quantize)
    out = extractor(x, batch_size=batch_size)
    acc.stats.update(out["features"])
    if keep_features:
      acc.features.append(out["features"])
    if keep_logits:
      if out["logits"] is None:
        raise UsageError(f"extractor {extractor.name} has no logits: no Inception Score")
      acc.logits.append(out["logits"])
  return acc


def generated_batches(sample_fn, n, batch_size):
  """Calls sample_fn(k) with k <= batch_size until n images were produced; yields the batches."""
  produced = 0
  while produced < n:
    k = min(batch_size, n - produced)
    batch = _as_batch(sample_fn(k), "sample_fn output")
    if batch.shape[0] != k:
      raise UsageError(f"sample_fn({k}) returned {batch.shape[0]} images")
    produced += k
    yield batch


def _array_batches(array, batch_size):
  for start in range(0, array.shape[0], batch_size):
    yield array[start:start + batch_size]


def _reference_batches(reference, batch_size):
  if isinstance(reference, np.ndarray):
    return _array_batches(reference, batch_size)
  if hasattr(reference, "__iter__"):
    return iter(reference)
  raise UsageError("reference must be a statistics .npz path, an image array or an iterable of "
                   "image batches")


def _is_stats_path(reference):
  return isinstance(reference, (str, os.PathLike))


def _check_stats_protocol(path, file_protocol, extractor):
  if not file_protocol:
    return
  recorded = file_protocol.get("extractor")
  name = recorded.get("name") if isinstance(recorded, dict) else recorded
  if name and name != extractor.name:
    raise UsageError(f"reference statistics {path} were made with extractor {name!r}, not "
                     f"{extractor.name!r}: use matching statistics")


def reference_statistics(reference, extractor, quantize="none", batch_size=None, n_real=None,
                         keep_features=False):
  """(mu, sigma, count, features or None, description) of reference images or an .npz."""
  if _is_stats_path(reference):
    if keep_features:
      raise UsageError(f"KID needs reference images, not the statistics file {reference}")
    info = read_statistics_file(reference)
    _check_stats_protocol(reference, info["protocol"], extractor)
    desc = {"kind": "statistics", "path": os.fspath(reference), "count": info["count"],
            "protocol": info["protocol"]}
    return info["mu"], info["sigma"], info["count"], None, desc
  batch_size = int(batch_size or extractor.default_batch_size)
  acc = _accumulate(_reference_batches(reference, batch_size), extractor, quantize, batch_size,
                    keep_features, False, n_real, "reference images")
  mu, sigma = acc.stats.result()
  features = np.concatenate(acc.features) if keep_features else None
  desc = {"kind": "images", "count": acc.stats.count, "image_shape": list(acc.shape)}
  return mu, sigma, acc.stats.count, features, desc


def save_reference_statistics(path, reference, extractor="inception_2015", quantize="none",
                              batch_size=None, n_real=None, extractor_kwargs=None, source=None):
  """Computes statistics of reference images and writes them (with protocol) to `path` (.npz)."""
  extractor = get_extractor(extractor, **(extractor_kwargs or {}))
  mu, sigma, count, _, desc = reference_statistics(reference, extractor, quantize, batch_size,
                                                   n_real)
  protocol = {"extractor": extractor.info(), "count": count, "quantize": quantize,
              "image_shape": desc.get("image_shape"), "source": source}
  save_statistics(path, mu, sigma, count=count, protocol=protocol)
  return protocol


def evaluate_generator(sample_fn, reference, extractor="inception_2015", n_fake=10000, n_real=None,
                       batch_size=None, quantize="none", inception_score=False, is_splits=10,
                       kid=False, kid_block_size=1000, extractor_kwargs=None, eps=1e-6):
  """FID of `sample_fn`'s images against `reference`; optional IS (fakes) and KID.

  `extractor` is a registry name (built with `extractor_kwargs`) or an Extractor instance.
  Returns an EvaluationResult whose ``protocol`` records how the numbers were made.
  """
  if quantize not in images_lib.QUANTIZE_MODES:
    raise UsageError(f"unknown quantisation {quantize!r}; use one of "
                     f"{', '.join(images_lib.QUANTIZE_MODES)}")
  n_fake = int(n_fake)
  if n_fake < 2:
    raise UsageError(f"n_fake must be >= 2, got {n_fake}")
  extractor = get_extractor(extractor, **(extractor_kwargs or {}))
  batch_size = int(batch_size or extractor.default_batch_size)
  mu_r, sigma_r, count_r, feats_r, ref_desc = reference_statistics(
      reference, extractor, quantize, batch_size, n_real, keep_features=kid)
  fake = _accumulate(generated_batches(sample_fn, n_fake, batch_size), extractor, quantize,
                     batch_size, kid, inception_score, None, "generated images")
  mu_f, sigma_f = fake.stats.result()
  fid_value = frechet_distance(mu_f, sigma_f, mu_r, sigma_r, eps=eps)
  protocol = {
      "extractor": extractor.info(),
      "n_fake": fake.stats.count,
      "n_real": count_r,
      "reference": ref_desc,
      "quantize": quantize,
      "clip": [-1.0, 1.0],
      "fake_out_of_range_fraction": fake.out_of_range / max(fake.values, 1),
      "batch_size": batch_size,
      "image_shape": list(fake.shape),
      "statistics": "mean and unbiased covariance of features, float64",
      "distance": "Frechet distance, TTUR formula via symmetric eigendecomposition",
  }
  result = EvaluationResult(fid=fid_value, protocol=protocol)
  if inception_score:
    result.inception_score = inception_score_fn(np.concatenate(fake.logits), splits=is_splits)
    protocol["is_splits"] = is_splits
  if kid:
    rng = np.random.default_rng(KID_SHUFFLE_SEED)
    f_fake = np.concatenate(fake.features)
    result.kid = kernel_inception_distance(rng.permutation(feats_r), rng.permutation(f_fake),
                                           block_size=kid_block_size)
    protocol["kid_block_size"] = kid_block_size
    protocol["kid_shuffle_seed"] = KID_SHUFFLE_SEED
  return result
