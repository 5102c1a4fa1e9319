r"""``python -m repro.metrics.fid A B``: FID between two image folders and/or statistics files.

Like TTUR's ``fid.py path1 path2``: each of A and B is a folder of PNG/JPEG images or a statistics
``.npz`` (keys mu, sigma; TTUR's pre-computed files work). Prints ``FID: <value>`` and a
``protocol:`` JSON line.

    python -m repro.metrics.fid generated/ fid_stats_cifar10_train.npz \
        --inception_graph=/data/inception-2015-12-05.tgz
    python -m repro.metrics.fid real_images/ --save_stats=real_stats.npz   # statistics only
    python -m repro.metrics.fid a/ b/ --extractor=fashion_mnist_cnn

``--save_stats`` writes the statistics of A (which must be a folder); with only A given, nothing
else is done. All inputs are checked before a network is loaded. Bad input (a path that does not
exist, a folder without PNG/JPEG images, an ``.npz`` without ``mu``/``sigma``, an unknown
``--extractor``, statistics made by another extractor) prints one ``error:`` line and exits 2; a
missing Inception graph or classifier weight file prints one line (with where to get it) and exits 1.

Images are read as 8-bit files (PNG/JPEG), so no quantisation step applies; uint8 [0, 255] is mapped
to the extractor's range ([0, 255] for inception_2015, [-1, 1] for fashion_mnist_cnn).
"""

import json
import os
import sys

from absl import app
from absl import flags

from repro import errors
from repro.errors import UsageError

flags.DEFINE_string("save_stats", None, "Write the statistics of the first argument (a folder) to "
                    "this .npz path.")
flags.DEFINE_string("extractor", "inception_2015", "Feature extractor (inception_2015, "
                    "fashion_mnist_cnn, fake).")
flags.DEFINE_integer("batch_size", None, "Images per extractor batch (default: the extractor's, "
                     "50 for inception_2015 as in TTUR).")
flags.DEFINE_string("inception_graph", None, "classify_image_graph_def.pb or "
                    "inception-2015-12-05.tgz (default: $REPRO_INCEPTION_GRAPH).")

FLAGS = flags.FLAGS


def _is_stats(path):
  return path.lower().endswith(".npz")


def _check_extractor_name():
  from repro.metrics.extractors import available_extractors  # pylint: disable=g-import-not-at-top
  if FLAGS.extractor not in available_extractors():
    raise UsageError(f"unknown --extractor={FLAGS.extractor}; choose one of "
                     f"{', '.join(available_extractors())}")
  if FLAGS.inception_graph and FLAGS.extractor != "inception_2015":
    raise UsageError(f"--inception_graph is only used with --extractor=inception_2015, not "
                     f"{FLAGS.extractor}")
  if FLAGS.batch_size is not None and FLAGS.batch_size < 1:
    raise UsageError(f"--batch_size must be >= 1, got {FLAGS.batch_size}")


def _build_extractor():
  from repro.metrics.extractors import get_extractor  # pylint: disable=g-import-not-at-top
  kwargs = {}
  if FLAGS.extractor == "inception_2015":
    # Resolve the graph before importing TensorFlow, so a missing file fails at once.
    from repro.metrics.extractors.inception_2015 import resolve_graph_path  # pylint: disable=g-import-not-at-top
    kwargs["graph_path"] = resolve_graph_path(FLAGS.inception_graph)
  if FLAGS.batch_size is not None:
    kwargs["batch_size"] = FLAGS.batch_size
  return get_extractor(FLAGS.extractor, **kwargs)


def _folder_statistics(folder, files, extractor):
  from repro.metrics import images as images_lib  # pylint: disable=g-import-not-at-top
  from repro.metrics.statistics import StreamingStatistics  # pylint: disable=g-import-not-at-top
  stats = StreamingStatistics()
  shape = None
  for batch in images_lib.iter_image_batches(files, extractor.default_batch_size):
    shape = shape or list(batch.shape[1:])
    x = images_lib.to_extractor_range(batch, extractor.input_spec)
    stats.update(extractor(x)["features"])
  mu, sigma = stats.result()
  return mu, sigma, {"kind": "images", "path": folder, "count": stats.count,
                     "image_shape": shape}


def _recorded_extractor(info):
  recorded = (info["protocol"] or {}).get("extractor")
  return recorded.get("name") if isinstance(recorded, dict) else recorded


def _check_recorded_extractors(stats_files, any_folder):
  """Statistics files that record their extractor must agree with each other and the flag."""
  names = {path: _recorded_extractor(info) for path, info in stats_files.items()}
  names = {path: name for path, name in names.items() if name}
  explicit = FLAGS["extractor"].present or any_folder
  for path, name in names.items():
    if explicit and name != FLAGS.extractor:
      raise UsageError(f"statistics file {path} was made with extractor {name!r}, not "
                       f"--extractor={FLAGS.extractor}: pass --extractor={name} or matching files")
  if len(set(names.values())) > 1:
    raise UsageError(f"the statistics files were made with different extractors: {names}")
  return next(iter(names.values()), None)


def main(argv):
  from repro.metrics import images as images_lib  # pylint: disable=g-import-not-at-top
  from repro.metrics.stats_io import read_statistics_file  # pylint: disable=g-import-not-at-top
  paths = argv[1:]
  if not paths or len(paths) > 2:
    raise UsageError("give two paths (image folders or .npz statistics), or one folder with "
                     "--save_stats=PATH")
  if len(paths) == 1 and not FLAGS.save_stats:
    raise UsageError(f"only one path given ({paths[0]}): give a second one, or --save_stats=PATH "
                     f"to write its statistics")
  if FLAGS.save_stats and _is_stats(paths[0]):
    raise UsageError(f"--save_stats needs an image folder as the first argument, got {paths[0]}")
  _check_extractor_name()
  # Check every input before loading a network: typos fail in a fraction of a second.
  for p in paths:
    if not os.path.exists(p):
      raise UsageError(f"{'statistics file' if _is_stats(p) else 'image folder'} {p} not found")
  stats_files = {p: read_statistics_file(p) for p in paths if _is_stats(p)}
  folders = {p: images_lib.list_images(p) for p in paths if not _is_stats(p)}
  stats_extractor = _check_recorded_extractors(stats_files, bool(folders))
  extractor = _build_extractor() if folders else None
  results = []
  for p in paths:
    if p in stats_files:
      info = stats_files[p]
      results.append((info["mu"], info["sigma"], {"kind": "statistics", "path": p,
                                                  "count": info["count"],
                                                  "protocol": info["protocol"]}))
    else:
      results.append(_folder_statistics(p, folders[p], extractor))
  if FLAGS.save_stats:
    from repro.metrics.stats_io import save_statistics  # pylint: disable=g-import-not-at-top
    mu, sigma, desc = results[0]
    save_statistics(FLAGS.save_stats, mu, sigma, count=desc["count"],
                    protocol={"extractor": extractor.info(), "count": desc["count"],
                              "quantize": "none (8-bit image files)",
                              "image_shape": desc["image_shape"],
                              "source": os.path.abspath(paths[0])})
    print(f"saved statistics of {desc['count']} images of {paths[0]} to {FLAGS.save_stats}")
  if len(paths) == 2:
    from repro.metrics.fid import frechet_distance  # pylint: disable=g-import-not-at-top
    (mu1, s1, d1), (mu2, s2, d2) = results
    if mu1.shape != mu2.shape:
      raise UsageError(f"{paths[0]} has {mu1.shape[0]}-d features and {paths[1]} has "
                       f"{mu2.shape[0]}-d: both must come from the same extractor")
    value = frechet_distance(mu1, s1, mu2, s2)
    if extractor is not None:
      extractor_desc = extractor.info()
    else:
      extractor_desc = stats_extractor or "unrecorded (statistics files only)"
    protocol = {"extractor": extractor_desc, "A": d1, "B": d2,
                "statistics": "mean and unbiased covariance, float64",
                "distance": "Frechet distance (TTUR formula; trace term from Cholesky factors and "
                            "symmetric eigenvalues, no sqrtm)"}
    print(f"FID: {value:.6f}")
    print("protocol: " + json.dumps(protocol, sort_keys=True))
  sys.stdout.flush()


def run():
  app.run(errors.exit_on_error(main), flags_parser=errors.parse_flags_or_exit)


if __name__ == "__main__":
  run()
