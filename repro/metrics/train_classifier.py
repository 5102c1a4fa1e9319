r"""Trains the Fashion-MNIST CNN feature extractor and records it in the checkpoint manifest.

    python -m repro.metrics.train_classifier --data_dir=/usr/share/datasets/fashion-mnist \
        --out=checkpoints/fashion_mnist_cnn.weights.h5

Reads the four IDX files (``repro.data.idx.load_idx``), scales pixels to [-1, 1] (the generators'
range), trains ``extractors.fashion_mnist_cnn.build_classifier`` with Adam on the 60k training
images, evaluates on the 10k test images, writes the weights (``.weights.h5``, no pickle) and merges
an entry {file, sha256, kind, metrics, command, ...} into ``manifest.json`` next to the weights.
"""

import datetime
import os
import shlex
import sys
import time

from absl import app
from absl import flags
from absl import logging

from repro import errors
from repro.errors import UsageError
from repro.metrics import manifest as manifest_lib
from repro.metrics.extractors import fashion_mnist_cnn as cnn

flags.DEFINE_string("data_dir", "/usr/share/datasets/fashion-mnist",
                    "Folder with the four Fashion-MNIST IDX .gz files.")
flags.DEFINE_string("out", "checkpoints/fashion_mnist_cnn.weights.h5",
                    "Where to write the weights (.weights.h5).")
flags.DEFINE_string("manifest", None, "Manifest to update (default: manifest.json next to --out).")
flags.DEFINE_integer("epochs", 5, "Training epochs.")
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


def train_and_save(train, test, out, manifest=None, epochs=5, batch_size=128, learning_rate=1e-3,
                   seed=0, command=None, min_accuracy=0.0, verbose=2):
  """Trains on train=(images uint8, labels), evaluates on test, saves weights and manifest entry.

  Returns the manifest entry (dict). If the test accuracy is below `min_accuracy` the weights are
  still written but the manifest is not updated, and RuntimeError is raised.
  """
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not out.endswith(".weights.h5"):
    raise UsageError(f"--out must end in .weights.h5 (Keras 3 weights format), got {out}")
  keras.utils.set_random_seed(seed)
  x_train, y_train = to_model_input(train[0]), train[1].astype("int32")
  x_test, y_test = to_model_input(test[0]), test[1].astype("int32")
  classifier, _ = cnn.build_classifier()
  classifier.compile(optimizer=keras.optimizers.Adam(learning_rate),
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                     metrics=["accuracy"])
  start = time.time()
  classifier.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, shuffle=True,
                 verbose=verbose)
  train_seconds = time.time() - start
  test_loss, test_accuracy = classifier.evaluate(x_test, y_test, batch_size=1000, verbose=0)
  logging.info("test accuracy %.4f, loss %.4f, training %.0f s", test_accuracy, test_loss,
               train_seconds)
  out = os.path.abspath(out)
  os.makedirs(os.path.dirname(out), exist_ok=True)
  classifier.save_weights(out)
  manifest = os.path.abspath(manifest or os.path.join(os.path.dirname(out), "manifest.json"))
  entry = {
      "file": os.path.relpath(out, os.path.dirname(manifest)),
      "sha256": manifest_lib.sha256_file(out),
      "kind": "feature_extractor",
      "extractor": cnn.NAME,
      "dataset": "fashion_mnist",
      "input_spec": cnn.FashionMnistCnnExtractor.input_spec.as_dict(),
      "feature_dim": cnn.FEATURE_DIM,
      "num_classes": cnn.NUM_CLASSES,
      "metrics": {"test_accuracy": round(float(test_accuracy), 6),
                  "test_loss": round(float(test_loss), 6)},
      "protocol": {"train_images": int(len(x_train)), "test_images": int(len(x_test)),
                   "epochs": epochs, "batch_size": batch_size,
                   "optimizer": f"Adam(lr={learning_rate})", "seed": seed,
                   "pixels": "uint8 / 127.5 - 1"},
      "command": command,
      "train_seconds": round(train_seconds, 1),
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
  from repro.data.idx import load_idx  # pylint: disable=g-import-not-at-top
  train = load_idx(FLAGS.data_dir, "train")
  test = load_idx(FLAGS.data_dir, "test")
  command = "python -m repro.metrics.train_classifier " + " ".join(
      shlex.quote(a) for a in sys.argv[1:])
  try:
    entry = train_and_save(train, test, FLAGS.out, FLAGS.manifest, FLAGS.epochs, FLAGS.batch_size,
                           FLAGS.learning_rate, FLAGS.seed, command.strip(), FLAGS.min_accuracy)
  except RuntimeError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  print(f"test accuracy {entry['metrics']['test_accuracy']:.4f} in {entry['train_seconds']:.0f} s; "
        f"wrote {FLAGS.out} (sha256 {entry['sha256'][:16]}...)")


def run():
  parser = getattr(errors, "parse_flags_or_exit", None)
  if parser is None:
    app.run(main)
  else:
    app.run(main, flags_parser=parser)


if __name__ == "__main__":
  run()
