"""The Fashion-MNIST classifier extractor: shipped weights, manifest, sha256 check, training command."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from repro.data.idx import DEFAULT_FASHION_MNIST_DIR, load_idx, write_idx
from repro.errors import DataUnavailableError, UsageError
from repro.metrics import manifest as manifest_lib
from repro.metrics.extractors import fashion_mnist_cnn as cnn
from repro.metrics.extractors import get_extractor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(REPO, "checkpoints", "fashion_mnist_cnn.weights.h5")
MANIFEST = os.path.join(REPO, "checkpoints", "manifest.json")
have_weights = pytest.mark.skipif(not os.path.exists(SHIPPED),
                                  reason="checkpoints/fashion_mnist_cnn.weights.h5 not present")


def _sha256(path):
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


@have_weights
def test_manifest_records_the_shipped_weights():
  with open(MANIFEST, encoding="utf-8") as f:
    entry = json.load(f)["checkpoints"]["fashion_mnist_cnn"]
  assert entry["name"] == "fashion_mnist_cnn"
  assert entry["file"] == "fashion_mnist_cnn.weights.h5"
  assert entry["sha256"] == _sha256(SHIPPED)
  assert entry["metrics"]["test_accuracy"] >= 0.90
  assert entry["command"].startswith("python -m repro.metrics.train_classifier")
  assert len(entry["created"]) == 10  # ISO date
  assert os.path.getsize(SHIPPED) < 5 * 2 ** 20


@have_weights
@pytest.mark.skipif(not os.path.exists(os.path.join(DEFAULT_FASHION_MNIST_DIR,
                                                    "t10k-images-idx3-ubyte.gz")),
                    reason="Debian dataset-fashion-mnist not installed")
def test_shipped_classifier_accuracy_on_the_test_split():
  images, labels = load_idx(DEFAULT_FASHION_MNIST_DIR, "test")
  ext = get_extractor("fashion_mnist_cnn")
  out = ext(images[..., None].astype(np.float32) / 127.5 - 1.0)
  assert out["features"].shape == (10000, 128) and out["logits"].shape == (10000, 10)
  assert np.all(out["features"] >= 0)  # ReLU penultimate layer
  accuracy = float(np.mean(out["logits"].argmax(1) == labels))
  with open(MANIFEST, encoding="utf-8") as f:
    recorded = json.load(f)["checkpoints"]["fashion_mnist_cnn"]["metrics"]["test_accuracy"]
  assert accuracy >= 0.90
  assert abs(accuracy - recorded) <= 5e-4


@have_weights
def test_input_range_is_minus_one_to_one():
  ext = get_extractor("fashion_mnist_cnn")
  assert ext.input_spec.value_range == (-1.0, 1.0)
  with pytest.raises(UsageError, match=r"expects pixel values in \[-1, 1\]"):
    ext(np.full((2, 28, 28, 1), 200.0, np.float32))
  with pytest.raises(UsageError, match=r"shape \[N, 28, 28, 1\]"):
    ext(np.zeros((2, 32, 32, 1), np.float32))


@have_weights
def test_sha256_mismatch_and_missing_file(tmp_path):
  copy = tmp_path / "fashion_mnist_cnn.weights.h5"
  shutil.copy(SHIPPED, copy)
  good = _sha256(copy)
  manifest_lib.update_manifest_entry("fashion_mnist_cnn",
                                     {"file": copy.name, "sha256": "0" * 64},
                                     str(tmp_path / "manifest.json"))
  with pytest.raises(UsageError, match="sha256") as e:
    cnn.FashionMnistCnnExtractor(weights=str(copy))  # manifest.json beside the weights
  assert str(copy) in str(e.value) and "\n" not in str(e.value)
  manifest_lib.update_manifest_entry("fashion_mnist_cnn", {"file": copy.name, "sha256": good},
                                     str(tmp_path / "manifest.json"))
  assert cnn.FashionMnistCnnExtractor(weights=str(copy)).sha256 == good
  with open(copy, "r+b") as f:  # flip one byte
    f.seek(os.path.getsize(copy) // 2)
    byte = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([byte[0] ^ 0xFF]))
  with pytest.raises(UsageError, match="sha256"):
    cnn.FashionMnistCnnExtractor(weights=str(copy))
  with pytest.raises(DataUnavailableError, match="python -m repro.metrics.train_classifier"):
    cnn.FashionMnistCnnExtractor(weights=str(tmp_path / "absent.weights.h5"))


def test_train_classifier_command_writes_weights_and_manifest(tmp_path):
  rng = np.random.default_rng(0)
  data = tmp_path / "fm"
  data.mkdir()
  for split, n in (("train", 256), ("t10k", 64)):
    labels = rng.integers(0, 2, n)
    images = np.where(labels[:, None, None] == 1, 200, 30) + rng.integers(0, 40, (n, 28, 28))
    write_idx(str(data / f"{split}-images-idx3-ubyte.gz"), images)
    write_idx(str(data / f"{split}-labels-idx1-ubyte.gz"), labels)
  out = tmp_path / "ck" / "clf.weights.h5"
  args = [f"--data_dir={data}", f"--out={out}", "--epochs=1", "--batch_size=64",
          "--min_accuracy=0.9"]
  env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
  proc = subprocess.run([sys.executable, "-m", "repro.metrics.train_classifier", *args],
                        capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
  assert proc.returncode == 0, proc.stderr[-2000:]
  with open(tmp_path / "ck" / "manifest.json", encoding="utf-8") as f:
    entry = json.load(f)["checkpoints"]["fashion_mnist_cnn"]
  assert entry["file"] == "clf.weights.h5" and entry["sha256"] == _sha256(out)
  assert entry["metrics"]["test_accuracy"] >= 0.9  # two easy classes
  assert entry["command"] == "python -m repro.metrics.train_classifier " + " ".join(args)
  assert entry["protocol"]["epochs"] == 1 and entry["created"]
  ext = cnn.FashionMnistCnnExtractor(weights=str(out))  # sha256 from the manifest beside it
  assert ext.info()["weights_sha256"] == entry["sha256"]
  # Files written by the command are not private (mkstemp would make them 0600).
  assert os.stat(tmp_path / "ck" / "manifest.json").st_mode & 0o044
