"""FID vs disturbance level: TTUR's check that the FID rises as images are disturbed more.

  python -m repro.metrics.fid_disturbance --dataset=fashion_mnist \\
      --out=papers/results/ttur_disturbance.json --plot=papers/results/ttur_disturbance.png
  python -m repro.metrics.fid_disturbance --families=swirl,gaussian_blur --n=1000   # a quick look
  python -m repro.metrics.fid_disturbance --dataset=celeb_a --extractor=inception_2015 \\
      --fid_stats=fid_stats_celeba.npz --out=...          # the paper's protocol (GPU: 24 x 50k images)

The paper (appendix, "FID vs Inception Score"; bioinf-jku/TTUR `FIDvsINC/main.py` @73ab375)
disturbs 50,000 CelebA images with six kinds of disturbance at four levels each
(`repro.metrics.disturb`) and computes the FID of each disturbed set against the statistics of
CelebA (`fid_stats_celeba.npz`, the same images undisturbed among them) with the 2015 Inception
graph. Its figures show the FID rising with the level for every kind.

Protocols here (one study per data set and extractor, written as JSON):

* `fashion_mnist` (the suite's offline stand-in; default): the 10,000 test images, disturbed, against
  the statistics of the 60,000 training images, through the suite's Fashion-MNIST classifier
  (`fashion_mnist_cnn`, 128-d features; FIDs comparable only with FIDs of the same weights). Level 0
  is therefore the train-vs-test FID, not 0. Swirl radius 25 (main.py's value for non-CelebA data).
  Contamination: MNIST is not available offline, so the other data set is scikit-learn's bundled
  handwritten digits (1,797 images of 8x8 pixels, 17 grey levels), resized bilinearly to 20x20 and
  centred in 28x28 like MNIST digits, drawn with replacement when more are needed (the family
  cannot run without scikit-learn).
* `celeb_a`: the first `--n` (default 50,000) CelebA training images (tfds, 108x108 centre crop ->
  64x64) against `--fid_stats` or the statistics of the tfds training split; swirl radius 70 (main.py
  for CelebA). Contamination needs ImageNet images, which the suite has no loader for: that family
  cannot run.

Images are disturbed in [-1, 1] in chunks of 10,000 (the Gaussian noise is min-max scaled over each
chunk; the official code scales over all images at once, the same thing for n <= 10,000), each
(family, level, chunk) with its own seeded generator, so a family's numbers do not depend on which
other families run. Disturbed images are fed to the extractor as floats (no 8-bit rounding; the
official code also feeds floats, (x + 1) * 127.5).
"""

import json
import os
import sys
import time

import numpy as np
from absl import app, flags

from repro import figures
from repro.errors import (DataUnavailableError, UsageError, exit_on_error,
                          parse_flags_or_exit)
from repro.metrics import disturb

DATASETS = ("fashion_mnist", "celeb_a")
DEFAULTS = {
    "fashion_mnist": dict(extractor="fashion_mnist_cnn", split="test", n=10000, swirl_radius=25.0),
    "celeb_a": dict(extractor="inception_2015", split="train", n=50000, swirl_radius=70.0),
}
CHUNK = 10000
RESULT_NAME = "ttur_disturbance.json"
DIGITS_NOTE = ("scikit-learn's bundled digits (1,797 images of 8x8, 0..16) resized bilinearly to "
               "20x20 and centred in 28x28 (as MNIST), drawn with replacement where needed")

FLAGS = flags.FLAGS


def _define(kind, name, *args, **kw):
  """Defines a flag unless the process already has one of that name (repro.verify imports this
  module next to its own --data_dir, --fid_stats, --inception_graph)."""
  if name not in FLAGS:
    getattr(flags, f"DEFINE_{kind}")(name, *args, **kw)


def define_flags():
  _define("enum", "dataset", "fashion_mnist", list(DATASETS), "Images to disturb.")
  _define("string", "extractor", None, "Feature extractor (default: fashion_mnist_cnn for "
                      "fashion_mnist, inception_2015 for celeb_a).")
  _define("string", "families", ",".join(disturb.FAMILIES), "Comma-separated disturbances.")
  _define("integer", "n", None, "Images to disturb (default: 10000 Fashion-MNIST test images, "
                       "50000 CelebA images).", lower_bound=2)
  _define("integer", "seed", 0, "Seed of the disturbances.")
  _define("string", "data_dir", None, "tfds data dir, or a folder of Fashion-MNIST IDX .gz files.")
  _define("string", "fid_stats", None, "Reference statistics .npz instead of the training split's.")
  _define("string", "inception_graph", None, "classify_image_graph_def.pb or "
                      "inception-2015-12-05.tgz (or $REPRO_INCEPTION_GRAPH).")
  _define("string", "out", None, "JSON file to write (a study of the same data set and extractor "
                      "in it is replaced, others kept).")
  _define("string", "plot", None, "PNG file: FID vs level, one panel per disturbance.")


# ---- data --------------------------------------------------------------------------------------

def to_unit_range(images):
  """uint8 [0, 255] -> float64 [-1, 1]."""
  return np.asarray(images, np.float64) / 127.5 - 1.0


def digits_28():
  """scikit-learn's digits as 28x28x1 images in [-1, 1] (see DIGITS_NOTE)."""
  try:
    from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise DataUnavailableError("contamination of Fashion-MNIST uses scikit-learn's bundled digits "
                               "(MNIST is not available offline): pip install scikit-learn") from None
  small = load_digits().images[..., None] / 16.0                      # [1797, 8, 8, 1] in [0, 1]
  big = np.clip(disturb.resize_bilinear(small, 20, 20), 0.0, 1.0)
  out = np.zeros((len(small), 28, 28, 1))
  out[:, 4:24, 4:24] = big
  return out * 2.0 - 1.0


def other_images(dataset):
  """(images in [-1, 1], description) of the data set that contaminates `dataset`."""
  if dataset == "fashion_mnist":
    return digits_28(), DIGITS_NOTE
  raise DataUnavailableError(f"contamination of {dataset} needs ImageNet images (the paper: 5 per "
                             "class, 5000 in all); the suite has no ImageNet loader")


# ---- the study ---------------------------------------------------------------------------------

def _features(images, extractor, batch_size=None):
  from repro.metrics import images as images_lib  # pylint: disable=g-import-not-at-top
  x = images_lib.to_extractor_range(images, extractor.input_spec, "none")
  return extractor(x, batch_size=batch_size)["features"]


def reference(dataset, extractor, data_dir=None, fid_stats=None):
  """ReferenceStatistics: --fid_stats, else the whole training split (cached on disk)."""
  from repro.metrics import evaluate  # pylint: disable=g-import-not-at-top
  if fid_stats:
    return evaluate.reference_statistics(fid_stats, extractor)
  return evaluate.cached_dataset_statistics(
      evaluate.DatasetReference(dataset, "train", None, data_dir), extractor)


def family_fids(family, base, ref, extractor, seed=0, other=None, swirl_radius=25.0,
                levels=None):
  """[FID at each level] of `family`: base images ([-1, 1]) disturbed, against `ref` statistics."""
  from repro.metrics.fid import frechet_distance  # pylint: disable=g-import-not-at-top
  from repro.metrics.statistics import StreamingStatistics  # pylint: disable=g-import-not-at-top
  index = disturb.FAMILIES.index(family)
  fids = []
  for j, level in enumerate(levels or disturb.LEVELS[family]):
    stats = StreamingStatistics()
    for k, start in enumerate(range(0, len(base), CHUNK)):
      rng = np.random.default_rng([seed, index, j, k])
      chunk = disturb.disturb(family, base[start:start + CHUNK], level, rng, other=other,
                              swirl_radius=swirl_radius)
      stats.update(_features(chunk, extractor))
    mu, sigma = stats.result()
    fids.append(float(frechet_distance(mu, sigma, ref.mu, ref.sigma)))
  return fids


def study(dataset="fashion_mnist", extractor=None, families=disturb.FAMILIES, n=None, seed=0,
          data_dir=None, fid_stats=None, extractor_kwargs=None, log=None):
  """One study: {"dataset", "extractor", "protocol", "families": {family: {...}}, ...}."""
  if dataset not in DATASETS:
    raise UsageError(f"--dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
  unknown = [f for f in families if f not in disturb.FAMILIES]
  if unknown:
    raise UsageError(f"unknown disturbance(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(disturb.FAMILIES)}")
  from repro import data  # pylint: disable=g-import-not-at-top
  from repro.metrics.extractors import get_extractor  # pylint: disable=g-import-not-at-top
  settings = DEFAULTS[dataset]
  name = extractor or settings["extractor"]
  n = int(n or settings["n"])
  started = time.time()
  ext = get_extractor(name, **(extractor_kwargs or {}))
  ref = reference(dataset, ext, data_dir, fid_stats)
  images = data.load_array(dataset, settings["split"], data_dir)
  if n > len(images):
    raise UsageError(f"--n={n} but {dataset} {settings['split']} has {len(images)} images")
  base = to_unit_range(images[:n])
  del images
  result = {
      "dataset": dataset, "extractor": name, "n": n, "seed": seed,
      "protocol": {
          "images": f"{dataset} {settings['split']}, first {n} images, disturbed in [-1, 1]",
          "reference": (f"statistics file {os.path.basename(fid_stats)}" if fid_stats else
                        f"{dataset} train, all {ref.count} images"),
          "n_real": ref.count, "extractor": ext.info(), "swirl_radius": settings["swirl_radius"],
          "quantization": "none: disturbed floats, (x + 1) * 127.5 mapped to the extractor range",
          "statistics": "mean and unbiased covariance, Fréchet distance (repro.metrics.fid)",
          "chunk": CHUNK},
      "families": {}}
  for family in families:
    t0 = time.time()
    entry = {"levels": list(disturb.LEVELS[family])}
    try:
      other = None
      if family == "contamination":
        other, entry["other"] = other_images(dataset)
    except DataUnavailableError as e:
      entry["cannot_run"] = str(e)
      result["families"][family] = entry
      if log:
        log(f"{family}: cannot run: {e}")
      continue
    entry["fid"] = family_fids(family, base, ref, ext, seed, other, settings["swirl_radius"])
    entry["seconds"] = round(time.time() - t0, 1)
    result["families"][family] = entry
    if log:
      log(f"{family:17s} " + "  ".join(f"{lv:g}: {f:8.3f}" for lv, f in
                                       zip(entry["levels"], entry["fid"])) +
          f"   ({entry['seconds']} s)")
  result["seconds"] = round(time.time() - started, 1)
  return result


def monotone_increase(fids):
  """The smallest increase of the FID from one level to the next (> 0: strictly increasing)."""
  return float(np.min(np.diff(np.asarray(fids, np.float64))))


# ---- files -------------------------------------------------------------------------------------

def merge_into(path, result, command=None):
  """Writes `result` into the JSON file `path` (replacing a study of the same data set and
  extractor, keeping the others)."""
  import datetime  # pylint: disable=g-import-not-at-top
  import platform  # pylint: disable=g-import-not-at-top
  data = {}
  if os.path.isfile(path):
    with open(path, encoding="utf-8") as f:
      data = json.load(f)
  studies = [s for s in data.get("studies", [])
             if (s["dataset"], s["extractor"]) != (result["dataset"], result["extractor"])]
  result = dict(result, recorded=datetime.date.today().isoformat(),
                machine=f"{os.cpu_count()} CPU cores ({platform.machine()}), no GPU",
                command=command or "")
  studies.append(result)
  data = {"note": "FID vs disturbance level (TTUR appendix; FIDvsINC/main.py), written by "
                  "python -m repro.metrics.fid_disturbance; read by python -m repro.verify "
                  "--paper=ttur", "studies": studies}
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    json.dump(data, f, indent=1, ensure_ascii=False)
    f.write("\n")
  os.replace(path + ".tmp", path)
  return data


def find_study(data, dataset, extractor):
  for s in data.get("studies", []):
    if s["dataset"] == dataset and s["extractor"] == extractor:
      return s
  return None


# ---- the plot (Pillow, which TensorBoard already needs) ----------------------------------------

def plot(result, path, panel=(300, 230)):
  """PNG: one panel per family, FID (y) vs disturbance level (x)."""
  from PIL import Image, ImageDraw, ImageFont  # pylint: disable=g-import-not-at-top
  families = list(result["families"])
  cols = 3
  rows = (len(families) + cols - 1) // cols
  pw, ph = panel
  head = 30
  img = Image.new("RGB", (cols * pw, rows * ph + head), "white")
  draw = ImageDraw.Draw(img)
  font = ImageFont.load_default()
  draw.text((8, 8), f"FID vs disturbance level: {result['dataset']}, {result['extractor']}, "
                    f"{result['n']} images vs {result['protocol']['reference']}",
            fill="black", font=font)
  for i, family in enumerate(families):
    fam = result["families"][family]
    ox, oy = (i % cols) * pw, (i // cols) * ph + head
    left, right, top, bottom = ox + 52, ox + pw - 14, oy + 24, oy + ph - 36
    draw.text((ox + 120, oy + 6), family.replace("_", " "), fill="black", font=font)
    draw.rectangle([left, top, right, bottom], outline="black")
    if "fid" not in fam:
      draw.text((left + 6, (top + bottom) // 2 - 10), "cannot run here:", fill="gray", font=font)
      draw.text((left + 6, (top + bottom) // 2 + 4), fam.get("cannot_run", "")[:34], fill="gray",
                font=font)
      continue
    levels, fids = fam["levels"], fam["fid"]
    step = figures.nice_step(max(fids) / 5)
    hi = step * (int(max(fids) / step) + 1)
    for t in np.arange(0, hi + step / 2, step):
      y = bottom - (t / hi) * (bottom - top)
      draw.line([left + 1, y, right - 1, y], fill=(225, 225, 225))
      draw.line([left - 4, y, left, y], fill="black")
      draw.text((ox + 4, y - 6), f"{t:g}", fill="black", font=font)
    draw.line([left, top, left, bottom], fill="black")
    draw.line([left, bottom, right, bottom], fill="black")
    draw.text((ox + 4, top - 16), "FID", fill="black", font=font)
    xs = [left + 16 + k * (right - left - 32) / max(1, len(levels) - 1) for k in range(len(levels))]
    ys = [bottom - (f / hi) * (bottom - top) for f in fids]
    for x, lv in zip(xs, levels):
      draw.line([x, bottom, x, bottom + 4], fill="black")
      draw.text((x - 8, bottom + 6), f"{lv:g}", fill="black", font=font)
    draw.text(((left + right) // 2 - 14, bottom + 20), "level", fill="black", font=font)
    draw.line(list(zip(xs, ys)), fill=(200, 30, 30), width=2)
    for x, y in zip(xs, ys):
      draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(200, 30, 30))
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  img.save(path)


# ---- command line ------------------------------------------------------------------------------

def command_line(argv_flags):
  return "python -m repro.metrics.fid_disturbance " + " ".join(argv_flags)


@exit_on_error
def main(argv):
  if len(argv) > 1:
    raise UsageError(f"unexpected arguments {' '.join(argv[1:])}; flags look like --name=value")
  families = [f.strip() for f in FLAGS.families.split(",") if f.strip()]
  kwargs = {}
  name = FLAGS.extractor or DEFAULTS[FLAGS.dataset]["extractor"]
  if name == "inception_2015" and FLAGS.inception_graph:
    kwargs["graph_path"] = FLAGS.inception_graph
  result = study(FLAGS.dataset, name, families, FLAGS.n, FLAGS.seed, FLAGS.data_dir,
                 FLAGS.fid_stats, kwargs, log=lambda s: print(s, flush=True))
  shown = [a for a in sys.argv[1:] if not a.startswith(("--data_dir", "--inception_graph"))]
  if FLAGS.out:
    merge_into(FLAGS.out, result, command_line(shown))
    print(f"wrote {FLAGS.out}")
  if FLAGS.plot:
    plot(result, FLAGS.plot)
    print(f"wrote {FLAGS.plot}")
  for family, fam in result["families"].items():
    if "fid" in fam:
      d = monotone_increase(fam["fid"])
      print(f"{family}: smallest increase {d:+.3f} -> "
            f"{'monotone increase' if d > 0 else 'NOT monotone'}")
  print(f"{result['seconds']} s")
  return 0


define_flags()

if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  app.run(main, flags_parser=parse_flags_or_exit)
