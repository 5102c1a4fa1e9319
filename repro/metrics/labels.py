"""Metric names that carry their protocol, for everything the suite prints.

  FID[fashion_mnist_cnn, train 60k, 10k samples] 67.22
  IS[inception_2015, 50k samples, 10 splits] 7.86
  KID×1[fashion_mnist_cnn, test 10k, 10k samples] 2.108

A FID computed with the Fashion-MNIST classifier is not an Inception FID: the extractor, the reference
and the sample count are part of the number. KID says its scale (×1: as computed; ×10³: times 1000).
No TensorFlow here.
"""

import os
import re


def count(n):
  """10000 -> "10k", 60000 -> "60k", 2500 -> "2500"."""
  n = int(n)
  return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def reference(split="train", n_real=None, stats=None):
  """"train 60k", "test 10k", "train" (all, count unknown) or a statistics file's name."""
  if stats:
    return os.path.basename(str(stats))
  return f"{split} {count(n_real)}" if n_real else split


def fid(extractor, n_fake, ref):
  return f"FID[{extractor}, {ref}, {count(n_fake)} samples]"


def inception_score(extractor, n_fake, splits=10):
  return f"IS[{extractor}, {count(n_fake)} samples, {splits} splits]"


def kid(extractor, n_fake, ref, scale=1):
  return f"KID×{'10³' if scale == 1000 else scale}[{extractor}, {ref}, {count(n_fake)} samples]"


def _reference_of(protocol):
  """The reference of a checkpoint-manifest protocol: "train 60k" from "fashion_mnist train split,
  all 60000 images" or from its details' n_real."""
  text = str(protocol.get("reference", ""))
  split = re.search(r"\b(train|test|validation|all)\b split", text)
  n_real = (protocol.get("details") or {}).get("n_real")
  if n_real is None:
    found = re.search(r"(\d+) images", text)
    n_real = int(found.group(1)) if found else None
  return reference(split.group(1) if split else "train", n_real)


def from_protocol(metric, protocol):
  """The label of `metric` as recorded with a checkpoint-manifest `protocol` (metric names of
  other kinds, e.g. modes_covered, are returned with their sample count)."""
  protocol = protocol or {}
  extractor = protocol.get("extractor", "?")
  n_fake = protocol.get("n_fake") or protocol.get("n")
  if metric == "fid":
    return fid(extractor, n_fake, _reference_of(protocol))
  if metric == "inception_score":
    return inception_score(extractor, n_fake, protocol.get("is_splits", 10))
  if n_fake:
    return f"{metric}[{count(n_fake)} samples]"
  return metric
