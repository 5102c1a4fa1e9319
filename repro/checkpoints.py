"""Pretrained generators: load by name or path, sample, evaluate, export; ship new ones.

  python -m repro.checkpoints list
  python -m repro.checkpoints show NAME
  python -m repro.checkpoints evaluate NAME|PATH|WORKDIR    # recompute the recorded metrics
  python -m repro.checkpoints export NAME|PATH|WORKDIR --keras=G.keras [--saved_model=DIR]
  python -m repro.checkpoints sample NAME|PATH|WORKDIR --n=50000 --out=DIR|FILE.npz
  python -m repro.checkpoints ship --workdir=W --name=NAME --command="..."   # maintainers

From Python::

  from repro.checkpoints import load_generator
  g = load_generator("wgan_gp_fashion_mnist")     # sha256 checked first
  images = g.sample(64, seed=0)                    # numpy, [-1, 1]

Shipped generators live in ``checkpoints/generators/<name>.npz``: the generator's weights in
``model.weights`` order as float16 arrays (``w000``, ``w001``, ...), read with
``np.load(allow_pickle=False)``. The architecture is rebuilt from the recipe recorded in
``checkpoints/manifest.json`` (the same file that pins the Fashion-MNIST classifier), next to the
sha256 of the file, the command and steps that trained it, the wall time, and the metrics with their
protocol. Every metric is computed on the float16 weights as shipped, so reloading reproduces it.

A WORKDIR is a training run's folder (its recipe.json and checkpoints): the latest checkpoint's
generator (the EMA copy when the run kept one), or its best one with ``--which=best``.
``sample`` writes uint8 samples that torch-fidelity, clean-fid or TTUR's fid.py read as they are: a
folder of PNG files (000000.png, ...), or an ``.npz`` whose ``arr_0`` is [N, H, W, C] uint8
(``round((x + 1) * 127.5)``); 2-D points go to an ``.npz`` of float32 [N, 2].

A PATH is a standalone ``.keras`` file written by ``export`` (loaded with Keras ``safe_mode=True``);
its sha256 must be recorded, either in the sidecar ``<file>.json`` that ``export`` writes or in the
manifest. Nothing here unpickles anything. A NAME is ``[A-Za-z0-9_-]+`` and its file must lie inside
``checkpoints/``: ``../`` and absolute paths in names or manifest entries are usage errors (exit 2).
"""

import dataclasses
import datetime
import json
import os
import re
import sys
import time

import numpy as np

from repro.errors import DataUnavailableError, UsageError
from repro.metrics import manifest as manifest_lib

CHECKPOINT_DIR = manifest_lib.CHECKPOINT_DIR
GENERATOR_DIR = os.path.join(CHECKPOINT_DIR, "generators")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
KIND = "generator"
STORE_DTYPE = "float16"

# Evaluation protocols of shipped generators (the suite's choices, recorded with every metric).
FASHION_MNIST_FID = dict(kind="classifier_fid", extractor="fashion_mnist_cnn", n_fake=10000,
                         noise_seed=0, reference="fashion_mnist train split, all 60000 images",
                         quantize="none", is_splits=10)
MIXTURE_COVERAGE = dict(kind="mode_coverage", n=2500, noise_seed=0, n_sigma=3.0,
                        min_count="max(1, floor(0.2 * n / modes))")
FWGAN_SYNTHETIC = dict(kind="kde_mmd", n=5000, noise_seed=0, reference_seed=0,
                       reference="fwgan_synthetic.evaluation_points(dataset, seed=0), 5000 points",
                       loglik="gaussian_kde(generated, Scott).logpdf(reference).mean()",
                       mmd="biased MMD^2, k = exp(-(|a-b|/2)^2), x 1e3")
POINTS_MMD = dict(kind="mmd", n=5000, noise_seed=0, reference_seed=1,
                  reference="5000 points of repro.data.get_dataset(dataset, seed=1)",
                  mmd="biased MMD^2, k = exp(-(|a-b|/2)^2), x 1e3")

# How closely a reload must reproduce each recorded metric (float16 weights are stored exactly,
# so only float32 summation order can move a value).
GOLDEN_TOLERANCE = {"fid": ("rel", 1e-3), "inception_score": ("rel", 1e-3),
                    "modes_covered": ("abs", 0), "hq_fraction": ("abs", 2e-3),
                    "loglik": ("abs", 1e-3), "mmd_x1e3": ("abs", 0.02)}


# ---- names, paths, manifest ------------------------------------------------------------------

def check_name(name):
  """Returns `name` if it is a valid checkpoint name, else raises UsageError (exit 2)."""
  if not isinstance(name, str) or not NAME_PATTERN.match(name):
    raise UsageError(f"{name!r} is not a checkpoint name (letters, digits, _ and -) nor an "
                     f"existing .keras file or training workdir; `python -m repro.checkpoints list` "
                     f"shows the names")
  return name


def _inside(path, folder):
  # Lexical, not realpath: Bazel runfiles (and some deployments) link each file from elsewhere; the
  # sha256 checked before reading is what vouches for the content.
  path, folder = os.path.normpath(os.path.abspath(path)), os.path.normpath(os.path.abspath(folder))
  return os.path.commonpath([path, folder]) == folder


def entry_file(entry, manifest_path=None):
  """Absolute path of an entry's file, refusing anything outside the manifest's folder."""
  folder = os.path.dirname(os.path.abspath(manifest_path or manifest_lib.DEFAULT_MANIFEST))
  rel = entry.get("file", "")
  if not isinstance(rel, str) or not rel or os.path.isabs(rel) or ".." in rel.replace("\\", "/").split("/"):
    raise UsageError(f"manifest entry {entry.get('name')!r} has file {rel!r}: it must be a "
                     f"relative path inside {folder}")
  path = os.path.join(folder, rel)
  if not _inside(path, folder):
    raise UsageError(f"manifest entry {entry.get('name')!r} points outside {folder}: {rel!r}")
  return path


def generator_entries(manifest_path=None):
  """{name: entry} of the manifest's generators (the classifier and others are left out)."""
  data = manifest_lib.read_manifest(manifest_path)
  return {k: v for k, v in sorted(data["checkpoints"].items()) if v.get("kind") == KIND}


def resolve(spec, manifest_path=None):
  """('path', abspath) for an existing .keras file, ('name', entry) for a manifest name."""
  if not isinstance(spec, str) or not spec:
    raise UsageError("--checkpoint needs a checkpoint name or a .keras file path")
  if os.path.isfile(spec):
    if not spec.endswith(".keras"):
      raise UsageError(f"{spec} is not a .keras file: --checkpoint takes a name from "
                       f"checkpoints/manifest.json or a .keras file written by "
                       f"`python -m repro.checkpoints export`")
    return "path", os.path.abspath(spec)
  if not NAME_PATTERN.match(spec):
    parts = spec.replace("\\", "/").split("/")
    if spec.endswith(".keras") and ".." not in parts:
      raise DataUnavailableError(f"checkpoint file {spec} not found")
    check_name(spec)   # raises: "../x", "a/b", "" ... are neither names nor existing files
  entries = generator_entries(manifest_path)
  if spec not in entries:
    known = ", ".join(entries) or "none"
    raise UsageError(f"no generator named {spec!r} in {manifest_path or manifest_lib.DEFAULT_MANIFEST}"
                     f" (available: {known})")
  return "name", entries[spec]


# ---- building generators -------------------------------------------------------------------------

def recipe_of(record, where):
  """The Recipe recorded in a manifest entry, sidecar or workdir file (`where` names it)."""
  from repro.recipe import Recipe  # pylint: disable=g-import-not-at-top
  if "recipe" not in record:
    if "config" in record:
      raise UsageError(f"{where} predates recipes (it records a TrainConfig, not a recipe): ship or "
                       "export the generator again with this version of the suite")
    raise UsageError(f"{where} records no recipe (dataset, architecture, noise)")
  return Recipe.from_dict(record["recipe"])


def generator_from_recipe(recipe):
  """The generator network of a recipe (weights freshly initialised), built by architecture name
  (repro.registry.ARCHITECTURES) for the recipe's examples (resized to recipe.data.image_size
  when it is set)."""
  from repro import registry  # pylint: disable=g-import-not-at-top
  from repro.data import example_shape  # pylint: disable=g-import-not-at-top
  return registry.build_models(recipe, example_shape(recipe.dataset, recipe.data.image_size))[0]


def custom_objects():
  """Classes and functions a .keras export of the suite's generators may reference."""
  from repro.models import coulomb_models, spectral  # pylint: disable=g-import-not-at-top
  return {"SNDense": spectral.SNDense, "SNConv2D": spectral.SNConv2D,
          "lecun_tanh": coulomb_models.lecun_tanh}


# ---- the loaded generator ------------------------------------------------------------------------

@dataclasses.dataclass
class LoadedGenerator:
  """A generator network with what is known about it (recipe, manifest entry, file, sha256)."""
  name: str
  model: object            # keras.Model: z [n, z_dim] -> samples
  recipe: object           # repro.recipe.Recipe of the run that trained it
  entry: dict
  path: str
  sha256: str

  @property
  def dataset(self):
    return self.recipe.dataset

  @property
  def paper(self):
    return self.entry.get("paper")

  def noise(self, n, seed=0):
    """z for `n` samples from numpy's default_rng(seed), in the recipe's noise distribution."""
    from repro.train import streams  # pylint: disable=g-import-not-at-top
    return streams.noise(n, self.recipe.z_dim, self.recipe.z_dist, seed)

  def sample(self, n=None, seed=0, z=None, batch=500):
    """Samples as numpy float32 (images NHWC in [-1, 1], or points)."""
    if z is None:
      z = self.noise(n, seed)
    z = np.asarray(z, np.float32)
    return np.concatenate([np.asarray(self.model(z[i:i + batch], training=False))
                           for i in range(0, len(z), batch)])


def _load_npz_weights(model, path):
  try:
    with np.load(path, allow_pickle=False) as data:
      keys = sorted(k for k in data.files if re.fullmatch(r"w\d{3,}", k))
      arrays = [data[k] for k in keys]
  except (OSError, ValueError) as e:
    raise UsageError(f"cannot read generator weights {path}: {' '.join(str(e).split())[:200]}") from None
  weights = model.weights
  if len(arrays) != len(weights):
    raise UsageError(f"{path} holds {len(arrays)} arrays, the rebuilt generator has "
                     f"{len(weights)} weights: the architecture code changed since it was shipped")
  for w, a in zip(weights, arrays):
    if tuple(w.shape) != a.shape:
      raise UsageError(f"{path}: weight {w.path} has shape {tuple(w.shape)}, the file {a.shape}")
  model.set_weights([a.astype(np.float32) for a in arrays])


def _load_named(entry, manifest_path=None):
  path = entry_file(entry, manifest_path)
  if not entry.get("sha256"):
    raise UsageError(f"manifest entry {entry['name']!r} records no sha256")
  sha = manifest_lib.verify_sha256(path, entry["sha256"])   # before anything reads the file
  recipe = recipe_of(entry, f"manifest entry {entry['name']!r}")
  model = generator_from_recipe(recipe)
  _load_npz_weights(model, path)
  return LoadedGenerator(entry["name"], model, recipe, entry, path, sha)


def sidecar_path(keras_path):
  return keras_path + ".json"


def _recorded_sha_for_path(path, manifest_path=None):
  """(sha256, metadata) recorded for a .keras file: the sidecar json, else the manifest."""
  side = sidecar_path(path)
  if os.path.isfile(side):
    try:
      with open(side, encoding="utf-8") as f:
        meta = json.load(f)
    except (OSError, ValueError) as e:
      raise UsageError(f"cannot read {side}: {e}") from None
    if not isinstance(meta, dict) or not meta.get("sha256"):
      raise UsageError(f"{side} records no sha256")
    return meta["sha256"], meta
  for entry in manifest_lib.read_manifest(manifest_path)["checkpoints"].values():
    try:
      if os.path.realpath(entry_file(entry, manifest_path)) == os.path.realpath(path):
        return entry.get("sha256"), entry
    except UsageError:
      continue
  raise UsageError(f"no sha256 recorded for {path}: `python -m repro.checkpoints export` writes "
                   f"it to {os.path.basename(side)} beside the file")


def _load_keras(path, manifest_path=None):
  import keras  # pylint: disable=g-import-not-at-top
  expected, meta = _recorded_sha_for_path(path, manifest_path)
  sha = manifest_lib.verify_sha256(path, expected)
  recipe = recipe_of(meta, sidecar_path(path))
  try:
    model = keras.saving.load_model(path, custom_objects=custom_objects(), compile=False,
                                    safe_mode=True)
  except (ValueError, OSError, TypeError, KeyError) as e:
    raise UsageError(f"cannot load {path} (Keras safe mode): {' '.join(str(e).split())[:300]}") from None
  name = meta.get("name") or os.path.basename(path)[:-len(".keras")]
  return LoadedGenerator(name, model, recipe, dict(meta, file=path), path, sha)


def load_generator(spec, manifest_path=None):
  """A LoadedGenerator from a manifest NAME or a .keras PATH; the sha256 is checked first."""
  kind, value = resolve(spec, manifest_path)
  if kind == "path":
    return _load_keras(value, manifest_path)
  return _load_named(value, manifest_path)


def is_workdir(spec):
  """True for a training workdir (a folder with recipe.json or config.json)."""
  return isinstance(spec, str) and os.path.isdir(spec) and any(
      os.path.isfile(os.path.join(spec, f)) for f in ("recipe.json", "config.json"))


def load(spec, which="latest", manifest_path=None):
  """A LoadedGenerator from a manifest NAME, a .keras PATH or a training WORKDIR (`which`:
  "latest" or "best" checkpoint)."""
  if is_workdir(spec):
    return load_from_workdir(spec, which)
  return load_generator(spec, manifest_path)


def load_from_workdir(workdir, which="latest", step=None):
  """The generator (the EMA copy when the run kept one) of a training workdir's checkpoint:
  the latest one, the best one (which="best") or the one of generator step `step`."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  path = os.path.join(workdir, "recipe.json")
  if not os.path.isfile(path):
    if os.path.isfile(os.path.join(workdir, "config.json")):
      raise UsageError(f"--workdir {workdir} predates recipes (config.json, no recipe.json): run "
                       "its training command once more; it resumes and records recipe.json")
    raise UsageError(f"--workdir {workdir} has no recipe.json: not a training workdir")
  with open(path, encoding="utf-8") as f:
    recipe = recipe_of({"recipe": json.load(f)}, path)
  folder = os.path.join(workdir, "best" if which == "best" else "checkpoints")
  ckpt = tf.train.latest_checkpoint(folder)
  if step is not None:
    ckpt = os.path.join(folder, f"ckpt-{int(step)}")
    if not tf.io.gfile.exists(ckpt + ".index"):
      raise DataUnavailableError(f"no checkpoint of step {step} in {folder}")
  if ckpt is None:
    raise DataUnavailableError(f"no checkpoint in {folder}: train first (the paper module's "
                               f"command with --workdir={workdir})")
  model = generator_from_recipe(recipe)
  slot = "ema" if recipe.ema.decay else "generator"
  status = tf.train.Checkpoint(**{slot: model}).restore(ckpt).expect_partial()
  try:
    status.assert_existing_objects_matched()
  except AssertionError as e:
    raise UsageError(f"{ckpt} does not hold a generator of this architecture: {e}") from None
  step = int(ckpt.rsplit("-", 1)[-1]) if ckpt.rsplit("-", 1)[-1].isdigit() else None
  entry = {"name": os.path.basename(os.path.normpath(workdir)), "workdir": workdir,
           "checkpoint": ckpt, "steps": step, "weights": slot}
  return LoadedGenerator(entry["name"], model, recipe, entry, ckpt, "")


# ---- evaluation ----------------------------------------------------------------------------------

def evaluation_protocol(dataset):
  """The protocol shipped generators of `dataset` are scored with (a dict), or None."""
  from repro.data import catalog, dataset_info, fwgan_synthetic  # pylint: disable=g-import-not-at-top
  info = dataset_info(dataset)
  if dataset == "fashion_mnist":
    return dict(FASHION_MNIST_FID)
  if dataset in catalog.MIXTURES:
    return dict(MIXTURE_COVERAGE)
  if dataset in fwgan_synthetic.NAMES:
    return dict(FWGAN_SYNTHETIC)
  if info.kind == "points":
    return dict(POINTS_MMD)
  return dict(kind="inception_fid", extractor="inception_2015", n_fake=50000, noise_seed=0,
              reference=f"{dataset} train split, all images", quantize="none")


def evaluate(generator, protocol=None, data_dir=None, inception_graph=None):
  """({metric: value}, protocol) of a LoadedGenerator under `protocol` (default: its dataset's)."""
  dataset = generator.dataset
  protocol = dict(protocol or evaluation_protocol(dataset))
  kind = protocol["kind"]
  if kind in ("classifier_fid", "inception_fid"):
    from repro.metrics.evaluate import DatasetReference, evaluate_samples  # pylint: disable=g-import-not-at-top
    kwargs = {}
    if protocol["extractor"] == "inception_2015" and inception_graph:
      kwargs["graph_path"] = inception_graph
    from repro.metrics.extractors import get_extractor  # pylint: disable=g-import-not-at-top
    extractor = get_extractor(protocol["extractor"], **kwargs)
    from repro import data  # pylint: disable=g-import-not-at-top
    data.check_prepared(dataset, data_dir)
    samples = generator.sample(protocol["n_fake"], seed=protocol["noise_seed"])
    result = evaluate_samples(samples, DatasetReference(dataset, "train", None, data_dir),
                              extractor=extractor, quantize=protocol["quantize"],
                              inception_score=extractor.num_classes is not None,
                              is_splits=protocol.get("is_splits", 10))
    metrics = {"fid": float(result.fid)}
    if result.inception_score is not None:
      metrics["inception_score"] = float(result.inception_score[0])
      metrics["inception_score_std"] = float(result.inception_score[1])
    protocol["details"] = _jsonable(result.protocol)
    return metrics, protocol
  from repro.metrics import toy  # pylint: disable=g-import-not-at-top
  if kind == "mode_coverage":
    from repro.data import toy as toy_data  # pylint: disable=g-import-not-at-top
    centers, std = toy_data.mixture_spec(dataset)
    samples = generator.sample(protocol["n"], seed=protocol["noise_seed"])
    if not np.all(np.isfinite(samples)):
      return {"modes_covered": 0, "hq_fraction": 0.0}, protocol
    cov = toy.mode_coverage(samples, centers, std, n_sigma=protocol["n_sigma"])
    protocol["n_modes"] = cov.n_modes
    return {"modes_covered": int(cov.modes_covered),
            "hq_fraction": float(cov.high_quality_fraction)}, protocol
  if kind == "kde_mmd":
    from repro.data import fwgan_synthetic  # pylint: disable=g-import-not-at-top
    reference = fwgan_synthetic.evaluation_points(dataset, protocol["reference_seed"])
    samples = np.asarray(generator.sample(protocol["n"], seed=protocol["noise_seed"]), np.float64)
    return {"loglik": toy.kde_log_likelihood(samples, reference),
            "mmd_x1e3": 1e3 * toy.mmd_klwgan(samples, reference)}, protocol
  if kind == "mmd":
    from repro import data  # pylint: disable=g-import-not-at-top
    reference = next(iter(data.get_dataset(dataset, "train", protocol["n"],
                                           protocol["reference_seed"]))).numpy()
    samples = generator.sample(protocol["n"], seed=protocol["noise_seed"])
    return {"mmd_x1e3": 1e3 * toy.mmd_klwgan(samples, reference)}, protocol
  raise UsageError(f"unknown evaluation kind {kind!r}")


def _jsonable(value):
  return json.loads(json.dumps(value, default=str))


def within_golden_tolerance(metric, recorded, value):
  """True if `value` reproduces `recorded` for `metric` (GOLDEN_TOLERANCE; exact otherwise)."""
  mode, tol = GOLDEN_TOLERANCE.get(metric, ("abs", 1e-6))
  allowed = tol * abs(recorded) if mode == "rel" else tol
  return abs(value - recorded) <= allowed + 1e-12


# ---- pictures ------------------------------------------------------------------------------------

def sample_picture(generator, seed=0):
  """uint8 picture: an 8x8 grid for images, a scatter of 1000 points over real data for 2-D."""
  from repro import data  # pylint: disable=g-import-not-at-top
  from repro.train import images  # pylint: disable=g-import-not-at-top
  info = data.dataset_info(generator.dataset)
  if info.kind == "image":
    return images.image_grid(generator.sample(64, seed=seed))
  from repro import figures  # pylint: disable=g-import-not-at-top
  from repro.data import toy  # pylint: disable=g-import-not-at-top
  real = next(iter(data.get_dataset(generator.dataset, "train", 1000, seed + 1))).numpy()
  return figures.scatter(real, generator.sample(1000, seed=seed),
                         f"{generator.name} ({generator.dataset}), sample seed {seed}",
                         centers=toy.centres_or_none(generator.dataset))


# ---- --checkpoint mode of the paper modules -----------------------------------------------------

def run_checkpoint(paper, spec, workdir=None, dataset=None, data_dir=None):
  """`python -m repro.papers.<paper> --checkpoint=NAME|PATH`: sample grid + evaluation, no training.

  Returns 0; raises UsageError / DataUnavailableError (exit 2 / 1) with one line.
  """
  generator = load_generator(spec)
  if generator.paper and generator.paper != paper:
    raise UsageError(f"checkpoint {generator.name} was trained by repro.papers.{generator.paper}; "
                     f"run `python -m repro.papers.{generator.paper} --checkpoint={spec}`")
  if dataset and dataset != generator.dataset:
    raise UsageError(f"checkpoint {generator.name} generates {generator.dataset}, not "
                     f"--dataset={dataset}")
  from repro.train import images  # pylint: disable=g-import-not-at-top
  workdir = workdir or os.path.join("runs", f"{paper}_checkpoint_{generator.name}")
  os.makedirs(workdir, exist_ok=True)
  print(f"{paper}: pretrained generator {generator.name} ({generator.dataset}, "
        f"{generator.entry.get('steps', '?')} steps, sha256 {generator.sha256[:12]}... verified); "
        f"no training", flush=True)
  grid = os.path.join(workdir, "samples.png")
  images.write_png(grid, sample_picture(generator))
  print(f"sample grid: {grid}", flush=True)
  recorded = generator.entry.get("metrics") or {}
  metrics, protocol = evaluate(generator, generator.entry.get("protocol"), data_dir=data_dir)
  from repro.metrics import labels  # pylint: disable=g-import-not-at-top
  for name, value in metrics.items():
    line = f"{labels.from_protocol(name, protocol)}: {value:.6g}"
    if name in recorded:
      ok = within_golden_tolerance(name, recorded[name], value)
      line += f"  (recorded {recorded[name]:.6g}: {'reproduced' if ok else 'DIFFERENT'})"
    print(line, flush=True)
  print(f"protocol: {protocol_line(protocol)}", flush=True)
  with open(os.path.join(workdir, "evaluation.json"), "w", encoding="utf-8") as f:
    json.dump({"checkpoint": generator.name, "sha256": generator.sha256, "metrics": metrics,
               "protocol": protocol}, f, indent=1, default=str)
  return 0


def protocol_line(protocol):
  keys = [k for k in protocol if k != "details"]
  return "; ".join(f"{k}={protocol[k]}" for k in keys)


# ---- shipping and exporting -------------------------------------------------------------------

def _float16_round_trip(model):
  model.set_weights([np.asarray(w, np.float16).astype(np.float32) for w in model.get_weights()])


def _check_float16_range(model):
  for w in model.weights:
    a = np.asarray(w)
    if np.any(np.abs(a) > np.finfo(np.float16).max):
      raise UsageError(f"weight {w.path} exceeds the float16 range: cannot ship as float16")


def ship(workdir, name, command, wall_seconds=None, cpu_seconds=None, notes="",
         manifest_path=None, data_dir=None, step=None):
  """Stores the generator of `workdir` as checkpoints/generators/<name>.npz (float16), scores it
  under its dataset's protocol and writes its manifest entry with the run's whole recipe. Returns
  the entry."""
  check_name(name)
  from repro import resources  # pylint: disable=g-import-not-at-top
  manifest_path = manifest_path or resources.writable_data_path("checkpoints", "manifest.json",
                                                                flag="--manifest")
  generator = load_from_workdir(workdir, step=step)
  paper = generator.recipe.paper
  _check_float16_range(generator.model)
  _float16_round_trip(generator.model)
  folder = os.path.dirname(os.path.abspath(manifest_path))
  rel = f"generators/{name}.npz"
  path = os.path.join(folder, rel)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  arrays = {f"w{i:03d}": np.asarray(w, np.float16) for i, w in enumerate(generator.model.get_weights())}
  tmp = path + ".tmp.npz"
  np.savez(tmp, **arrays)
  os.replace(tmp, path)
  from repro.train import images  # pylint: disable=g-import-not-at-top
  picture = f"generators/{name}.png"
  images.write_png(os.path.join(folder, picture), sample_picture(generator))
  start = time.time()
  metrics, protocol = evaluate(generator, data_dir=data_dir)
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  entry = {
      "name": name, "kind": KIND, "paper": paper, "dataset": generator.dataset,
      "file": rel, "sha256": manifest_lib.sha256_file(path), "size_bytes": os.path.getsize(path),
      "dtype": STORE_DTYPE, "parameters": int(sum(np.prod(w.shape) for w in generator.model.weights)),
      "weights": generator.entry["weights"], "steps": generator.entry["steps"],
      "recipe": generator.recipe.to_dict(),
      "command": command, "train_wall_seconds": wall_seconds, "train_cpu_seconds": cpu_seconds,
      "machine": "2 CPU cores shared with other jobs (load average 6-10), no GPU",
      "framework": f"tensorflow {tf.__version__}, keras {keras.__version__}",
      "created": datetime.date.today().isoformat(), "samples": picture,
      "metrics": metrics, "protocol": protocol, "evaluation_seconds": round(time.time() - start, 1),
      "notes": notes,
  }
  manifest_lib.update_manifest_entry(name, _jsonable(entry), manifest_path)
  return entry


def export(spec, keras_path=None, saved_model_dir=None, which="latest"):
  """Writes a generator as a standalone .keras file (+ sidecar .json with its sha256 and config)
  and/or a TensorFlow SavedModel (signature `serve`: z [n, z_dim] float32 -> samples)."""
  if not keras_path and not saved_model_dir:
    raise UsageError("export needs --keras=FILE.keras and/or --saved_model=DIR")
  generator = load(spec, which)
  written = []
  if keras_path:
    if not keras_path.endswith(".keras"):
      raise UsageError(f"--keras must end in .keras, got {keras_path}")
    try:
      os.makedirs(os.path.dirname(os.path.abspath(keras_path)), exist_ok=True)
      generator.model.save(keras_path)
    except OSError as e:
      raise UsageError(f"cannot write --keras {keras_path}: {e.strerror or e}; choose a writable "
                       "path") from None
    source = ({"workdir": os.path.abspath(generator.entry["workdir"]),
               "checkpoint": generator.entry["checkpoint"]} if "workdir" in generator.entry else
              {"name": generator.name, "sha256": generator.sha256})
    meta = {"name": generator.name, "paper": generator.paper or generator.recipe.paper,
            "dataset": generator.dataset, "sha256": manifest_lib.sha256_file(keras_path),
            "recipe": generator.recipe.to_dict(), "exported_from": source,
            "steps": generator.entry.get("steps"), "metrics": generator.entry.get("metrics"),
            "protocol": generator.entry.get("protocol"),
            "load": "repro.checkpoints.load_generator(PATH) or keras.saving.load_model(PATH, "
                    "safe_mode=True, custom_objects=repro.checkpoints.custom_objects())"}
    with open(sidecar_path(keras_path), "w", encoding="utf-8") as f:
      json.dump(_jsonable(meta), f, indent=1)
    written += [keras_path, sidecar_path(keras_path)]
  if saved_model_dir:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    model = generator.model
    spec_in = tf.TensorSpec([None, generator.recipe.z_dim], tf.float32, name="z")

    class Serving(tf.Module):

      def __init__(self):
        super().__init__()
        self.model = model

      @tf.function(input_signature=[spec_in])
      def serve(self, z):
        return {"samples": self.model(z, training=False)}

    module = Serving()
    tf.saved_model.save(module, saved_model_dir, signatures={"serving_default": module.serve,
                                                             "serve": module.serve})
    written.append(saved_model_dir)
  return written


def write_samples(generator, n, out, seed=0, batch=500):
  """`n` samples of `generator` to `out`: a folder of PNG files (images), or an .npz holding
  arr_0 (images: uint8 [n, H, W, C]; points: float32 [n, d]). Returns what was written (a line)."""
  from repro.data import dataset_info  # pylint: disable=g-import-not-at-top
  if n < 1:
    raise UsageError(f"--n must be >= 1, got {n}")
  images = dataset_info(generator.dataset).kind == "image"
  as_npz = out.lower().endswith(".npz")
  if not images and not as_npz:
    raise UsageError(f"{generator.name} generates {generator.dataset} points: --out must be a "
                     ".npz file")
  if as_npz:
    parent = os.path.dirname(os.path.abspath(out))
  else:
    if os.path.isfile(out):
      raise UsageError(f"--out {out} is a file: give a folder for PNG files or a .npz path")
    parent = out
  try:
    os.makedirs(parent, exist_ok=True)
  except OSError as e:
    raise UsageError(f"cannot create {parent}: {e.strerror or e}") from None
  z = generator.noise(n, seed)
  chunks = []
  if not as_npz:
    from repro.train import images as images_lib  # pylint: disable=g-import-not-at-top
  for start in range(0, n, batch):
    x = generator.sample(z=z[start:start + batch], batch=batch)
    if images:
      x = np.clip(np.floor((np.clip(x, -1.0, 1.0) + 1.0) * 127.5 + 0.5), 0, 255).astype(np.uint8)
    if as_npz:
      chunks.append(x.astype(np.uint8 if images else np.float32))
    else:
      for i, picture in enumerate(x):
        images_lib.write_png(os.path.join(out, f"{start + i:06d}.png"), picture)
  if as_npz:
    from repro import fileio  # pylint: disable=g-import-not-at-top
    with fileio.atomic_output(out, binary=True, suffix=".tmp.npz") as f:
      np.savez(f, np.concatenate(chunks))
    kind = "uint8 images" if images else "float32 points"
    return f"wrote {n} {kind} ({generator.name}, noise seed {seed}) to {out} (arr_0)"
  return f"wrote {n} PNG files ({generator.name}, noise seed {seed}) to {out}/"


# ---- command line ------------------------------------------------------------------------------

def _print_list():
  entries = generator_entries()
  if not entries:
    print("no pretrained generators in the manifest")
    return
  print(f"{'name':32s} {'paper':8s} {'dataset':14s} {'steps':>6s} {'size':>8s}  metrics")
  for name, e in entries.items():
    metrics = labelled_metrics(e.get("metrics"), e.get("protocol"))
    print(f"{name:32s} {e.get('paper', ''):8s} {e.get('dataset', ''):14s} {e.get('steps') or 0:6d} "
          f"{(e.get('size_bytes') or 0) / 1e6:7.2f}M  {metrics}")


def labelled_metrics(metrics, protocol, digits=4):
  """"FID[fashion_mnist_cnn, train 60k, 10k samples] 67.22, IS[...] 3.643" (no _std entries)."""
  from repro.metrics import labels  # pylint: disable=g-import-not-at-top
  return ", ".join(f"{labels.from_protocol(k, protocol)} {v:.{digits}g}"
                   for k, v in (metrics or {}).items()
                   if isinstance(v, (int, float)) and not k.endswith("_std"))


def markdown_table(dataset_kind=None):
  """A README table of the shipped generators (command, steps, wall time, metrics, sample grid)."""
  from repro.data import dataset_info  # pylint: disable=g-import-not-at-top
  rows = ["| method | generator | dataset | steps | train time | metrics | samples | command |",
          "|---|---|---|---|---|---|---|---|"]
  for name, e in generator_entries().items():
    kind = dataset_info(e["dataset"]).kind
    if dataset_kind and kind != dataset_kind:
      continue
    metrics = labelled_metrics(e["metrics"], e.get("protocol"))
    wall = e.get("train_wall_seconds")
    rows.append(f"| {e['paper']} | `{name}` | {e['dataset']} | {e['steps']} | "
                f"{wall / 60:.0f} min | {metrics} | ![{name}](checkpoints/{e['samples']}) | "
                f"`{e['command']}` |" if wall else
                f"| {e['paper']} | `{name}` | {e['dataset']} | {e['steps']} | ? | {metrics} | "
                f"![{name}](checkpoints/{e['samples']}) | `{e['command']}` |")
  return "\n".join(rows)


def main(argv=None):
  import argparse  # pylint: disable=g-import-not-at-top
  from repro.errors import exit_on_error  # pylint: disable=g-import-not-at-top
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  parser = argparse.ArgumentParser(prog="python -m repro.checkpoints", description=__doc__.split("\n")[0])
  sub = parser.add_subparsers(dest="command", required=True)
  sub.add_parser("list", help="the shipped generators")
  p = sub.add_parser("table", help="README table of the shipped generators (markdown)")
  p.add_argument("--kind", choices=["image", "points"], default=None)
  p = sub.add_parser("show", help="one manifest entry as JSON")
  p.add_argument("name")
  which = dict(choices=["latest", "best"], default="latest",
               help="a WORKDIR's latest checkpoint or its best (best-metric) one")
  p = sub.add_parser("evaluate", help="reload and recompute the recorded metrics (a WORKDIR: "
                     "its metrics under the shipped generators' protocol)")
  p.add_argument("spec", metavar="NAME|PATH|WORKDIR")
  p.add_argument("--which", **which)
  p.add_argument("--data_dir", default=None)
  p = sub.add_parser("export", help="standalone .keras file and/or SavedModel")
  p.add_argument("spec", metavar="NAME|PATH|WORKDIR")
  p.add_argument("--which", **which)
  p.add_argument("--keras", default=None, help="output .keras file")
  p.add_argument("--saved_model", default=None, help="output SavedModel folder")
  p = sub.add_parser("sample", help="samples as a PNG folder or a uint8 .npz (arr_0) for "
                     "torch-fidelity, clean-fid or TTUR's fid.py")
  p.add_argument("spec", metavar="NAME|PATH|WORKDIR")
  p.add_argument("--which", **which)
  p.add_argument("--n", type=int, default=50000, help="number of samples (default 50000)")
  p.add_argument("--out", required=True, help="a folder (PNG files) or a FILE.npz")
  p.add_argument("--seed", type=int, default=0, help="noise seed (numpy default_rng)")
  p = sub.add_parser("ship", help="store a training workdir's generator (float16) + manifest entry")
  p.add_argument("--workdir", required=True)
  p.add_argument("--name", required=True)
  p.add_argument("--command", required=True, dest="train_command")
  p.add_argument("--timing", default=None, help="JSON file with wall_seconds and cpu_seconds")
  p.add_argument("--notes", default="")
  p.add_argument("--data_dir", default=None)
  p.add_argument("--step", type=int, default=None, help="a kept checkpoint other than the latest")
  p.add_argument("--manifest", default=None, help="manifest to update (default: the source "
                 "checkout's checkpoints/manifest.json; its folder receives generators/NAME.npz)")
  try:
    args = parser.parse_args(argv)
  except SystemExit as e:
    return int(e.code or 0)

  @exit_on_error
  def run(_):
    if args.command == "list":
      _print_list()
    elif args.command == "table":
      print(markdown_table(args.kind))
    elif args.command == "show":
      kind, entry = resolve(check_name(args.name))
      print(json.dumps(entry, indent=1))
    elif args.command == "evaluate":
      generator = load(args.spec, args.which)
      metrics, protocol = evaluate(generator, generator.entry.get("protocol"),
                                   data_dir=args.data_dir)
      recorded = generator.entry.get("metrics") or {}
      bad = 0
      from repro.metrics import labels  # pylint: disable=g-import-not-at-top
      for name, value in metrics.items():
        line = f"{labels.from_protocol(name, protocol)}: {value:.6g}"
        if name in recorded:
          ok = within_golden_tolerance(name, recorded[name], value)
          bad += not ok
          line += f"  (recorded {recorded[name]:.6g}: {'reproduced' if ok else 'DIFFERENT'})"
        print(line)
      print(f"protocol: {protocol_line(protocol)}")
      from repro.verify import NOT_REPRODUCED_EXIT  # pylint: disable=g-import-not-at-top
      return NOT_REPRODUCED_EXIT if bad else 0
    elif args.command == "export":
      for path in export(args.spec, args.keras, args.saved_model, args.which):
        print(f"wrote {path}")
    elif args.command == "sample":
      print(write_samples(load(args.spec, args.which), args.n, args.out, args.seed))
    elif args.command == "ship":
      timing = {}
      if args.timing:
        with open(args.timing, encoding="utf-8") as f:
          timing = json.load(f)
      entry = ship(args.workdir, args.name, args.train_command, timing.get("wall_seconds"),
                   timing.get("cpu_seconds"), args.notes, manifest_path=args.manifest,
                   data_dir=args.data_dir, step=args.step)
      print(json.dumps({k: entry[k] for k in ("name", "file", "sha256", "steps", "metrics")},
                       indent=1))
    return 0

  return run([])


if __name__ == "__main__":
  sys.exit(main())
