r"""Trains the Fashion-MNIST CNN feature extractor and records it in the checkpoint manifest.

    python -m repro.metrics.train_classifier        # the shipped checkpoints/fashion_mnist_cnn.weights.h5

Defaults: the Debian IDX files in /usr/share/datasets/fashion-mnist (``--data_dir``), 10 epochs of Adam
(cosine decay from 1e-3) with batch 128, seed 0, output in the repository's ``checkpoints/`` (``--out``).
Reads the four IDX files (``repro.data.idx.load_idx``), scales pixels to [-1, 1] (the generators'
range), trains ``extractors.fashion_mnist_cnn.build_classifier`` on the 60k training images, writes
the weights only (``.weights.h5``, no pickle, no optimizer state), reloads them through the
sha256-checked extractor to measure top-1 accuracy on the 10k test images, and merges an entry
{name, file, sha256, metrics.test_accuracy, command, created, ...} into ``manifest.json`` next to
the weights. Below ``--min_accuracy`` (0.9) it exits 1 without touching the manifest.
"""

import datetime
import os
import shlex
import sys
import time

from absl import app
from absl import flags
from absl import logging

from repro import errors, resources
from repro.errors import UsageError
from repro.metrics import manifest as manifest_lib
from repro.metrics.extractors import fashion_mnist_cnn as cnn

flags.DEFINE_string("data_dir", "/usr/share/datasets/fashion-mnist",
                    "Folder with the four Fashion-MNIST IDX .gz files.")
flags.DEFINE_string("out", None,
                    "Where to write the weights (.weights.h5); default: the source checkout's "
                    "checkpoints/ folder, where the fashion_mnist_cnn extractor looks.")
flags.DEFINE_string("manifest", None, "Manifest to update (default: manifest.json next to --out).")
flags.DEFINE_integer("epochs", 10, "Training epochs.")
flags.DEFINE_integer("batch_size", 128, "Training batch size.")
flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")
flags.DEFINE_integer("seed", 0, "Random seed (weights init, shuffling, dropout).")
flags.DEFINE_float("min_accuracy", 0.9, "Exit with status 1 (weights kept, manifest not updated) if "
                   "the test accuracy is below this.")

FLAGS = flags.FLAGS


def to_model_input(images_uint8):
  """uint8 [N, 28, 28] -> float32 [N, 28, 28, 1] in [-1, 1]."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  return (np.asarray(images_uint8, np.float32) / 127.5 - 1.0)[..., None]


def test_accuracy_of(extractor, images_uint8, labels, batch_size=1000):
  """Top-1 accuracy of the extractor's logits on uint8 images (the shipped inference path)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  logits = extractor(to_model_input(images_uint8), batch_size=batch_size)["logits"]
  return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))


def train_and_save(train, test, out, manifest=None, epochs=10, batch_size=128, learning_rate=1e-3,
                   seed=0, command=None, min_accuracy=0.0, verbose=2):
  """Trains on train=(images uint8, labels), evaluates on test, saves weights and manifest entry.

  The learning rate follows a cosine decay from `learning_rate` to 0 over all steps. Only the
  network's weights are written (no optimizer state). The test accuracy recorded is measured by
  reloading the written file through ``FashionMnistCnnExtractor`` (sha256-checked), i.e. exactly
  the weights and code path FID/IS use. Returns the manifest entry (dict). If the accuracy is below
  `min_accuracy` the weights are still written but the manifest is not updated, and
  RuntimeError is raised.
  """
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not out.endswith(".weights.h5"):
    raise UsageError(f"--out must end in .weights.h5 (Keras 3 weights format), got {out}")
  if epochs < 1 or batch_size < 1 or learning_rate <= 0:
    raise UsageError(f"need epochs >= 1, batch_size >= 1 and learning_rate > 0, got {epochs}, "
                     f"{batch_size}, {learning_rate}")
  keras.utils.set_random_seed(seed)
  x_train, y_train = to_model_input(train[0]), train[1].astype("int32")
  classifier, _ = cnn.build_classifier()
  steps = epochs * -(-len(x_train) // batch_size)
  schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
  classifier.compile(optimizer=keras.optimizers.Adam(schedule),
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                     metrics=["accuracy"])
  start, cpu_start = time.time(), time.process_time()
  classifier.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, shuffle=True,
                 verbose=verbose)
  train_seconds = time.time() - start
  train_cpu_seconds = time.process_time() - cpu_start
  out = os.path.abspath(out)
  os.makedirs(os.path.dirname(out), exist_ok=True)
  # A compiled Keras 3 model also writes its optimizer variables (3x the size); ship weights only.
  bare, _ = cnn.build_classifier()
  bare.set_weights(classifier.get_weights())
  bare.save_weights(out)
  sha256 = manifest_lib.sha256_file(out)
  extractor = cnn.FashionMnistCnnExtractor(weights=out, sha256=sha256)
  test_accuracy = test_accuracy_of(extractor, test[0], test[1])
  logging.info("test accuracy %.4f, training %.0f s", test_accuracy, train_seconds)
  manifest = os.path.abspath(manifest or os.path.join(os.path.dirname(out), "manifest.json"))
  entry = {
      "name": cnn.NAME,
      "file": os.path.relpath(out, os.path.dirname(manifest)),
      "sha256": sha256,
      "size_bytes": os.path.getsize(out),
      "kind": "feature_extractor",
      "extractor": cnn.NAME,
      "dataset": "fashion_mnist",
      "input_spec": cnn.FashionMnistCnnExtractor.input_spec.as_dict(),
      "feature_dim": cnn.FEATURE_DIM,
      "num_classes": cnn.NUM_CLASSES,
      "parameters": int(bare.count_params()),
      "metrics": {"test_accuracy": round(test_accuracy, 6)},
      "protocol": {"train_images": int(len(x_train)), "test_images": int(len(test[0])),
                   "epochs": epochs, "batch_size": batch_size,
                   "optimizer": f"Adam(cosine decay from {learning_rate} to 0 over {steps} steps)",
                   "seed": seed, "pixels": "uint8 / 127.5 - 1 (range [-1, 1])",
                   "accuracy": "top-1 of the logits on the 10k test split, weights reloaded "
                               "from the file"},
      "command": command,
      "train_seconds": round(train_seconds, 1),
      "train_cpu_seconds": round(train_cpu_seconds, 1),
      "framework": f"tensorflow {tf.__version__}, keras {keras.__version__}",
      "created": datetime.date.today().isoformat(),
  }
  if test_accuracy < min_accuracy:
    raise RuntimeError(f"test accuracy {test_accuracy:.4f} is below {min_accuracy}: weights "
                       f"written to {out} but the manifest was not updated")
  manifest_lib.update_manifest_entry(cnn.NAME, entry, manifest)
  return entry


@errors.exit_on_error
def main(argv):
  if len(argv) > 1:
    raise UsageError(f"unexpected arguments {argv[1:]}: this command takes only flags")
  out = FLAGS.out or resources.writable_data_path("checkpoints", cnn.NAME + ".weights.h5",
                                                  flag="--out")
  from repro.data.idx import load_idx  # pylint: disable=g-import-not-at-top
  train = load_idx(FLAGS.data_dir, "train")
  test = load_idx(FLAGS.data_dir, "test")
  command = "python -m repro.metrics.train_classifier " + " ".join(
      shlex.quote(a) for a in sys.argv[1:])
  try:
    entry = train_and_save(train, test, out, FLAGS.manifest, FLAGS.epochs, FLAGS.batch_size,
                           FLAGS.learning_rate, FLAGS.seed, command.strip(), FLAGS.min_accuracy)
  except RuntimeError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  print(f"test accuracy {entry['metrics']['test_accuracy']:.4f} in {entry['train_seconds']:.0f} s; "
        f"wrote {out} (sha256 {entry['sha256'][:16]}...)")


def run():
  parser = getattr(errors, "parse_flags_or_exit", None)
  if parser is None:
    app.run(main)
  else:
    app.run(main, flags_parser=parser)


if __name__ == "__main__":
  run()
