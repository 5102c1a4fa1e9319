"""Evaluate a generator: FID (and optionally IS and KID) with the full protocol recorded.

Pipeline (the same for generated and real images):

  images in [-1, 1] (or uint8) --quantisation (images.py)--> extractor range --extractor-->
  features/logits --StreamingStatistics--> (mu, sigma) --frechet_distance--> FID

* Generated images are [-1, 1] floats, NHWC. Quantisation (``images.QUANTIZE_MODES``): TTUR maps
  G(z) to u = (G(z) + 1) * 127.5 in [0, 255]; ``none`` keeps u as float (TTUR's DCGAN), ``truncate``
  and ``round`` apply 8-bit rounding (TTUR's WGAN-GP ``astype('uint8')``; saved PNGs). The protocol
  records the mode and whether uint8 rounding was applied.
* ``sample_fn(n)`` returns n generated images. It is called with at most ``batch_size`` per call
  until exactly ``n_fake`` images were drawn (unlike TTUR's ``get_activations``, no trailing partial
  batch is dropped). ``evaluate_samples`` takes an array of already generated images instead.
* ``reference`` is one of: a statistics ``.npz`` path (e.g. TTUR's ``fid_stats_cifar10_train.npz``
  or one written by ``save_reference_statistics``); a ``DatasetReference`` (a split of a dataset of
  ``repro.data``, statistics cached on disk); ``ReferenceStatistics`` computed earlier; an image array;
  or an iterable of image batches. Real images are uint8 [0, 255] (no quantisation) or floats in
  [-1, 1] (quantised like the fakes).
* KID needs reference *features*, so it needs reference images, not statistics. Both feature sets
  are permuted with a fixed seed first, because TF-GAN's block estimator assumes random order.
* ``fid_eval_fn(dataset, ...)`` is the trainer's eval hook: ``(trainer, step) -> {"fid": value}``.

Every result carries its protocol: extractor (with graph/weights sha256), n_fake, n_real, the
reference (dataset split or file), quantisation, batch size, IS splits, KID block size.
"""

import dataclasses
import hashlib
import json
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


@dataclasses.dataclass(frozen=True)
class DatasetReference:
  """Reference images: the first `n` (None: all) images of `split` of a ``repro.data`` dataset."""
  dataset: str
  split: str = "train"
  n: Optional[int] = None
  data_dir: Optional[str] = None

  def describe(self):
    return {"kind": "dataset", "dataset": self.dataset, "split": self.split,
            "selection": "all images" if self.n is None else f"first {self.n} images"}


@dataclasses.dataclass
class ReferenceStatistics:
  """Statistics (and optionally features) of reference images, with their description."""
  mu: np.ndarray
  sigma: np.ndarray
  count: Optional[int]
  description: dict
  features: Optional[np.ndarray] = None


@dataclasses.dataclass
class _Accumulated:
  stats: StreamingStatistics
  features: list
  logits: list
  out_of_range: int = 0
  values: int = 0
  shape: Optional[tuple] = None
  dtypes: set = dataclasses.field(default_factory=set)


def _as_batch(batch, what):
  if isinstance(batch, dict) and "image" in batch:
    batch = batch["image"]  # tfds examples
  elif isinstance(batch, tuple) and len(batch) == 2:
    batch = batch[0]  # (images, labels) from a supervised dataset
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
    acc.dtypes.add(arr.dtype.name)
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
  raise UsageError("reference must be a statistics .npz path, a DatasetReference, "
                   "ReferenceStatistics, an image array or an iterable of image batches")


def _check_stats_protocol(path, file_protocol, extractor):
  if not file_protocol:
    return
  recorded = file_protocol.get("extractor")
  name = recorded.get("name") if isinstance(recorded, dict) else recorded
  if name and name != extractor.name:
    raise UsageError(f"reference statistics {path} were made with extractor {name!r}, not "
                     f"{extractor.name!r}: use matching statistics")
  sha = {k: v for k, v in (recorded.items() if isinstance(recorded, dict) else [])
         if k in ("weights_sha256", "graph_sha256")}
  info = extractor.info()
  for key, value in sha.items():
    if info.get(key) and info[key] != value:
      raise UsageError(f"reference statistics {path} were made with other {extractor.name} "
                       f"weights ({key} {value[:12]}..., loaded {info[key][:12]}...): recompute them")


def load_dataset_images(reference):
  """uint8 NHWC images of a DatasetReference (the first `n` of the split)."""
  from repro import data  # pylint: disable=g-import-not-at-top
  images = data.load_array(reference.dataset, reference.split, reference.data_dir)
  if reference.n is not None:
    if reference.n > images.shape[0]:
      raise UsageError(f"asked for {reference.n} reference images, {reference.dataset} "
                       f"{reference.split} has {images.shape[0]}")
    images = images[:reference.n]
  return images


def reference_statistics(reference, extractor, quantize="none", batch_size=None, n_real=None,
                         keep_features=False, cache_dir=None):
  """ReferenceStatistics of `reference` (see the module docstring for the accepted kinds).

  `n_real` limits the number of images read from an array or iterable. A DatasetReference's
  statistics are cached in `cache_dir` (see ``cached_dataset_statistics``) unless `keep_features`.
  """
  extractor = get_extractor(extractor)
  if isinstance(reference, ReferenceStatistics):
    if keep_features and reference.features is None:
      raise UsageError("KID needs reference features: compute ReferenceStatistics with "
                       "keep_features=True")
    return reference
  if isinstance(reference, (str, os.PathLike)):
    if keep_features:
      raise UsageError(f"KID needs reference images, not the statistics file {reference}")
    info = read_statistics_file(reference)
    _check_stats_protocol(reference, info["protocol"], extractor)
    desc = {"kind": "statistics", "path": os.fspath(reference), "count": info["count"],
            "protocol": info["protocol"]}
    return ReferenceStatistics(info["mu"], info["sigma"], info["count"], desc)
  if isinstance(reference, DatasetReference):
    if n_real is not None and reference.n is None:
      reference = dataclasses.replace(reference, n=int(n_real))
    if not keep_features and cache_dir is not False:
      return cached_dataset_statistics(reference, extractor, batch_size, cache_dir)
    reference, desc = load_dataset_images(reference), reference.describe()
  else:
    desc = {"kind": "images"}
  batch_size = int(batch_size or extractor.default_batch_size)
  acc = _accumulate(_reference_batches(reference, batch_size), extractor, quantize, batch_size,
                    keep_features, False, n_real, "reference images")
  mu, sigma = acc.stats.result()
  features = np.concatenate(acc.features) if keep_features else None
  desc = dict(desc, count=acc.stats.count, image_shape=list(acc.shape),
              quantize=quantize if acc.dtypes != {"uint8"} else "none (uint8 images)")
  return ReferenceStatistics(mu, sigma, acc.stats.count, desc, features)


def default_cache_dir():
  """fid_stats/ in the cache folder: $REPRO_CACHE_DIR/fid_stats, else $XDG_CACHE_HOME/repro/fid_stats
  (default ~/.cache/repro/fid_stats)."""
  from repro import resources  # pylint: disable=g-import-not-at-top
  return resources.cache_dir("fid_stats")


def cached_dataset_statistics(reference, extractor, batch_size=None, cache_dir=None):
  """ReferenceStatistics of a DatasetReference, read from / written to an ``.npz`` cache.

  The file name carries a hash of (dataset, split, selection, extractor info including its weights
  or graph sha256), so other weights never reuse stale statistics. Dataset images are uint8, so no
  quantisation applies.
  """
  extractor = get_extractor(extractor)
  key = {"reference": reference.describe(), "extractor": extractor.info()}
  digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
  cache_dir = cache_dir or default_cache_dir()
  path = os.path.join(cache_dir, f"{reference.dataset}_{reference.split}_{extractor.name}_"
                                 f"{digest}.npz")
  if os.path.exists(path):
    info = read_statistics_file(path)
    desc = dict(reference.describe(), count=info["count"], cache=path)
    return ReferenceStatistics(info["mu"], info["sigma"], info["count"], desc)
  stats = reference_statistics(reference, extractor, batch_size=batch_size, cache_dir=False)
  desc = dict(stats.description, cache=path)
  protocol = {"extractor": extractor.info(), "count": stats.count, "reference": desc,
              "quantize": "none (uint8 images)", "cache_key": key}
  save_statistics(path, stats.mu, stats.sigma, count=stats.count, protocol=protocol)
  return ReferenceStatistics(stats.mu, stats.sigma, stats.count, desc)


def save_reference_statistics(path, reference, extractor="inception_2015", quantize="none",
                              batch_size=None, n_real=None, extractor_kwargs=None, source=None):
  """Computes statistics of reference images and writes them (with protocol) to `path` (.npz)."""
  extractor = get_extractor(extractor, **(extractor_kwargs or {}))
  stats = reference_statistics(reference, extractor, quantize, batch_size, n_real, cache_dir=False)
  protocol = {"extractor": extractor.info(), "count": stats.count,
              "quantize": stats.description.get("quantize", quantize),
              "image_shape": stats.description.get("image_shape"),
              "reference": stats.description, "source": source}
  save_statistics(path, stats.mu, stats.sigma, count=stats.count, protocol=protocol)
  return protocol


def _evaluate(fake_batches, reference, extractor, batch_size, quantize, n_real, inception_score,
              is_splits, kid, kid_block_size, eps, cache_dir):
  if quantize not in images_lib.QUANTIZE_MODES:
    raise UsageError(f"unknown quantisation {quantize!r}; use one of "
                     f"{', '.join(images_lib.QUANTIZE_MODES)}")
  ref = reference_statistics(reference, extractor, quantize, batch_size, n_real, keep_features=kid,
                             cache_dir=cache_dir)
  fake = _accumulate(fake_batches, extractor, quantize, batch_size, kid, inception_score, None,
                     "generated images")
  if fake.stats.count < 2:
    raise UsageError(f"need at least 2 generated images, got {fake.stats.count}")
  mu_f, sigma_f = fake.stats.result()
  if mu_f.shape != ref.mu.shape:
    raise UsageError(f"generated features are {mu_f.shape[0]}-d, the reference statistics "
                     f"{ref.mu.shape[0]}-d: use the extractor that made the reference")
  fid_value = frechet_distance(mu_f, sigma_f, ref.mu, ref.sigma, eps=eps)
  uint8_fakes = fake.dtypes == {"uint8"}
  protocol = {
      "extractor": extractor.info(),
      "n_fake": fake.stats.count,
      "n_real": ref.count,
      "reference": ref.description,
      "quantize": "none (uint8 images)" if uint8_fakes else quantize,
      "uint8_rounding": (not uint8_fakes) and quantize != "none",
      "pixel_map": ("uint8 u -> extractor range" if uint8_fakes else
                    "u = (clip(x, -1, 1) + 1) * 127.5, then " +
                    {"none": "kept as float", "truncate": "floor(u)",
                     "round": "floor(u + 0.5)"}[quantize] + ", then [0, 255] -> extractor range"),
      "fake_out_of_range_fraction": fake.out_of_range / max(fake.values, 1),
      "batch_size": batch_size,
      "image_shape": list(fake.shape),
      "statistics": "mean and unbiased covariance of features, float64",
      "distance": "Frechet distance, TTUR formula; trace term from Cholesky factors and symmetric "
                  "eigenvalues (no sqrtm)",
  }
  result = EvaluationResult(fid=fid_value, protocol=protocol)
  if inception_score:
    result.inception_score = inception_score_fn(np.concatenate(fake.logits), splits=is_splits)
    protocol["is_splits"] = is_splits
  if kid:
    rng = np.random.default_rng(KID_SHUFFLE_SEED)
    f_fake = np.concatenate(fake.features)
    result.kid = kernel_inception_distance(rng.permutation(ref.features), rng.permutation(f_fake),
                                           block_size=kid_block_size)
    protocol["kid_block_size"] = kid_block_size
    protocol["kid_shuffle_seed"] = KID_SHUFFLE_SEED
  return result


def evaluate_generator(sample_fn, reference, extractor="inception_2015", n_fake=10000, n_real=None,
                       batch_size=None, quantize="none", inception_score=False, is_splits=10,
                       kid=False, kid_block_size=1000, extractor_kwargs=None, eps=1e-6,
                       cache_dir=None):
  """FID of `sample_fn`'s images against `reference`; optional IS (fakes) and KID.

  `extractor` is a registry name (built with `extractor_kwargs`) or an Extractor instance.
  Returns an EvaluationResult whose ``protocol`` records how the numbers were made.
  """
  n_fake = int(n_fake)
  if n_fake < 2:
    raise UsageError(f"n_fake must be >= 2, got {n_fake}")
  extractor = get_extractor(extractor, **(extractor_kwargs or {}))
  batch_size = int(batch_size or extractor.default_batch_size)
  return _evaluate(generated_batches(sample_fn, n_fake, batch_size), reference, extractor,
                   batch_size, quantize, n_real, inception_score, is_splits, kid, kid_block_size,
                   eps, cache_dir)


def evaluate_samples(samples, reference, extractor="inception_2015", n_real=None, batch_size=None,
                     quantize="none", inception_score=False, is_splits=10, kid=False,
                     kid_block_size=1000, extractor_kwargs=None, eps=1e-6, cache_dir=None):
  """Like ``evaluate_generator`` for an array of generated images [N, H, W, C] in [-1, 1]."""
  samples = _as_batch(samples, "generated images")
  extractor = get_extractor(extractor, **(extractor_kwargs or {}))
  batch_size = int(batch_size or extractor.default_batch_size)
  return _evaluate(_array_batches(samples, batch_size), reference, extractor, batch_size, quantize,
                   n_real, inception_score, is_splits, kid, kid_block_size, eps, cache_dir)


def fid_eval_fn(dataset, extractor="fashion_mnist_cnn", n=10000, split="train", n_real=None,
                quantize="none", batch_size=None, cache_dir=None, data_dir=None,
                extractor_kwargs=None, stats=None):
  """The trainer's eval hook: returns ``eval_fn(trainer, step) -> {"fid": value}``.

  Each call draws ``trainer.eval_samples(n)`` (numpy NHWC in [-1, 1]) once and compares it with the
  reference: the statistics file `stats` if given, else `split` of `dataset` (its first `n_real`
  images, default all), whose statistics are computed on the first call, cached on disk (see
  ``cached_dataset_statistics``) and kept in memory. The extractor is built here, so missing
  weights or a missing Inception graph fail before training starts. The last full
  EvaluationResult (with protocol) is kept as ``eval_fn.last_result``; it is also written to
  ``<trainer.workdir>/fid_protocol.json`` when the trainer has a workdir.
  """
  if not stats:
    from repro.data import dataset_info  # pylint: disable=g-import-not-at-top
    if dataset_info(dataset).kind != "image":
      raise UsageError(f"FID needs an image dataset; {dataset} is a set of 2-D points (use the "
                       f"mixture metrics of repro.metrics.toy)")
  if int(n) < 2:
    raise UsageError(f"n must be >= 2 generated images for FID, got {n}")
  extractor = get_extractor(extractor, **(extractor_kwargs or {}))
  reference = stats if stats else DatasetReference(dataset, split, n_real, data_dir)
  cached = {}

  def eval_fn(trainer, step):
    del step
    if "reference" not in cached:
      cached["reference"] = reference_statistics(reference, extractor, quantize, batch_size,
                                                 cache_dir=cache_dir)
    samples = np.asarray(trainer.eval_samples(int(n)))
    result = evaluate_samples(samples, cached["reference"], extractor, batch_size=batch_size,
                              quantize=quantize)
    eval_fn.last_result = result
    workdir = getattr(trainer, "workdir", None)
    if workdir and getattr(trainer, "chief", True):
      with open(os.path.join(workdir, "fid_protocol.json"), "w", encoding="utf-8") as f:
        json.dump(result.protocol, f, indent=1, sort_keys=True, default=str)
    return {"fid": result.fid}

  eval_fn.last_result = None
  eval_fn.extractor = extractor
  return eval_fn


def inception_score_eval_fn(extractor="inception_2015", n=1000, quantize="truncate", splits=10,
                            batch_size=None, extractor_kwargs=None):
  """The trainer's eval hook for the Inception Score: ``eval_fn(trainer, step) ->
  {"inception_score": mean, "inception_score_std": std}`` of ``trainer.eval_samples(n)`` over
  `splits` chunks (improved_wgan_training gan_cifar.py: 10 x 100 samples, int32-truncated pixels,
  tflib.inception_score's 10 splits). The extractor is built here, so a missing graph fails
  before training starts."""
  if int(n) < int(splits):
    raise UsageError(f"the Inception Score needs at least {splits} samples, got {n}")
  extractor = get_extractor(extractor, **(extractor_kwargs or {}))
  if extractor.num_classes is None:
    raise UsageError(f"extractor {extractor.name} has no logits: no Inception Score")

  def eval_fn(trainer, step):
    del step
    samples = _as_batch(np.asarray(trainer.eval_samples(int(n))), "generated samples")
    logits = extractor(images_lib.to_extractor_range(samples, extractor.input_spec, quantize),
                       batch_size=batch_size)["logits"]
    mean, std = inception_score_fn(logits, splits)
    return {"inception_score": mean, "inception_score_std": std}

  eval_fn.extractor = extractor
  return eval_fn
