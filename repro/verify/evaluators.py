"""How `repro.verify` gets "ours" for each kind of registry entry, and what each kind needs.

Every evaluator first lists what is missing on this machine (`Need`s: a one-line reason and the
command that prepares it); an entry with a missing need is reported as "cannot run: needs ...",
never run halfway, never counted as passed. Only then does it measure.
"""

import dataclasses
import datetime
import glob
import json
import math
import os
import shutil
from typing import List, Optional

import numpy as np

from repro import resources
from repro.errors import DataUnavailableError, UsageError
from repro.fileio import atomic_output


@dataclasses.dataclass
class Need:
  what: str                 # short: "cifar10 (tfds)"
  command: str = ""         # how to get it (one shell line), or "" if nothing can be run
  detail: str = ""          # longer explanation (where it is looked for, caveats)


@dataclasses.dataclass
class Context:
  """Command-line inputs shared by the entries of one verify run."""
  checkpoint: Optional[str] = None
  workdir: Optional[str] = None
  data_dir: Optional[str] = None
  inception_graph: Optional[str] = None
  fid_stats: Optional[str] = None
  n_fake: Optional[int] = None          # override of the protocol's sample count (reported)
  recompute: bool = False               # compute instead of reading recorded results (ttur_claims)
  results: Optional[str] = None         # recorded-results file of the paper (registry `results`)
  paper: str = ""
  _cache: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Measured:
  value: float
  se: Optional[float] = None            # standard error of ours, when ours is a mean over runs
  n: Optional[int] = None               # runs behind ours
  details: dict = dataclasses.field(default_factory=dict)
  deviations: List[str] = dataclasses.field(default_factory=list)   # protocol differences


# ---- needs ---------------------------------------------------------------------------------------

def has_gpu():
  """True if an NVIDIA GPU is visible (checked without importing TensorFlow)."""
  return os.path.exists("/proc/driver/nvidia/version") or shutil.which("nvidia-smi") is not None


def data_need(dataset, data_dir=None):
  from repro.data import catalog  # pylint: disable=g-import-not-at-top
  if dataset not in catalog.DATASETS:
    return Need(f"the {dataset} dataset", detail="repro.data has no loader for it")
  try:
    catalog.check_prepared(dataset, data_dir)
    return None
  except DataUnavailableError:
    info = catalog.DATASETS[dataset]
    root = catalog.tfds_root(data_dir)
    manual = {"celeb_a": " (tfds needs the CelebA files downloaded by hand into "
                         f"{root}/downloads/manual first)",
              "lsun_bedroom": " (tfds needs the LSUN bedroom files downloaded by hand into "
                              f"{root}/downloads/manual first)"}.get(dataset, "")
    return Need(f"{dataset} (tfds)",
                f"python -m tensorflow_datasets.scripts.download_and_prepare "
                f"--datasets={info.tfds_name} --data_dir={root}",
                f"not prepared in {root} (or --data_dir){manual}")


def graph_need(graph_path=None):
  from repro.metrics.extractors import inception_2015 as inc  # pylint: disable=g-import-not-at-top
  try:
    inc.resolve_graph_path(graph_path)
    return None
  except DataUnavailableError:
    folder = inc.default_dir()
    return Need("the Inception graph",
                f"mkdir -p {folder} && curl -L -o {folder}/{inc.ARCHIVE_FILENAME} {inc.INCEPTION_URL}",
                f"{inc.GRAPH_FILENAME} (or {inc.ARCHIVE_FILENAME}) not in {folder}/; or pass "
                f"--inception_graph=PATH or set ${inc.ENV_VAR}")


def extractor_need(name, ctx):
  if name == "inception_2015":
    return graph_need(ctx.inception_graph)
  if name == "fashion_mnist_cnn":
    from repro.metrics.extractors import fashion_mnist_cnn as fm  # pylint: disable=g-import-not-at-top
    if not os.path.isfile(fm.DEFAULT_WEIGHTS):
      return Need("the Fashion-MNIST classifier", fm.TRAIN_COMMAND, f"{fm.DEFAULT_WEIGHTS} not found")
  return None


def extractor_name(entry):
  return entry["protocol"].get("extractor_name", "inception_2015")


def _train_workdir(entry):
  return f"runs/{entry['paper']}_{entry['dataset']}_{entry['id']}"


def _given_record(ctx):
  """The manifest entry / recipe of the --checkpoint / --workdir generator, read without loading
  it ({} when unknown)."""
  from repro import checkpoints  # pylint: disable=g-import-not-at-top
  if ctx.workdir:
    return workdir_record(ctx.workdir) or {}
  kind, value = checkpoints.resolve(ctx.checkpoint)
  if kind == "name":
    return value
  side = checkpoints.sidecar_path(value)
  return _read_json(side) if os.path.isfile(side) else {}


def given_dataset(ctx):
  """The dataset of the --checkpoint / --workdir generator, read without loading it (or None)."""
  return _given_record(ctx).get("dataset")


def _method(recipe):
  """What a generator was trained with: its objective's name and the names of its parameters
  (WGAN with a gradient penalty and WGAN with clipping share the name, not the parameters)."""
  objective = (recipe or {}).get("objective") or {}
  if not objective.get("name"):
    return None
  return objective["name"], tuple(sorted(objective.get("params") or {}))


def _same_method(a, b):
  """One objective, and one's parameter names contain the other's (a later recipe may record a
  parameter an older one left at its default)."""
  return a[0] == b[0] and (set(a[1]) <= set(b[1]) or set(b[1]) <= set(a[1]))


def _describe_method(method):
  name, params = method
  return f"{name} ({', '.join(params)})" if params else name


def _method_need(entry, ctx):
  """A Need when the entry names a default generator trained with another method than the given
  one (the clipping entry does not judge a gradient-penalty generator)."""
  from repro import checkpoints  # pylint: disable=g-import-not-at-top
  default = checkpoints.generator_entries().get(entry.get("default_checkpoint") or "")
  given = _given_record(ctx)
  wanted, have = _method((default or {}).get("recipe")), _method(given.get("recipe", given))
  if wanted and have and not _same_method(wanted, have):
    flag = f"--checkpoint={ctx.checkpoint}" if ctx.checkpoint else f"--workdir={ctx.workdir}"
    return Need(f"a generator trained with {_describe_method(wanted)}",
                f"{entry['command']} --workdir={_train_workdir(entry)}" if entry.get("command") else "",
                f"{flag} was trained with {_describe_method(have)}")
  return None


def generator_need(entry, ctx):
  """None if a generator of the entry's dataset is at hand (--checkpoint, --workdir, default)."""
  if ctx.checkpoint or ctx.workdir:
    given = given_dataset(ctx)
    if given and given != entry["dataset"]:
      flag = f"--checkpoint={ctx.checkpoint}" if ctx.checkpoint else f"--workdir={ctx.workdir}"
      return Need(f"a generator of {entry['dataset']}",
                  f"{entry['command']} --workdir={_train_workdir(entry)}" if entry.get("command") else "",
                  f"{flag} makes {given}")
    return _method_need(entry, ctx)
  default = entry.get("default_checkpoint")
  if default:
    from repro import checkpoints  # pylint: disable=g-import-not-at-top
    if default in checkpoints.generator_entries():
      return None
  workdir = _train_workdir(entry)
  if not entry.get("command"):
    return Need("a trained generator", detail=entry.get("missing", "no suite command"))
  gpu = "on a GPU (the paper's run is far too long for a CPU); " if entry.get("gpu") else ""
  return Need("a trained generator (GPU)" if entry.get("gpu") else "a trained generator",
              f"{entry['command']} --workdir={workdir}",
              f"train {gpu}then pass --workdir={workdir} (or --checkpoint=NAME|PATH)")


def needs(entry, ctx):
  """The unmet needs of an entry on this machine (empty: it can run)."""
  kind = entry["evaluate"]
  out = []
  if kind == "unavailable":
    return [Need(entry.get("needs_label", "what the suite lacks"), detail=entry["missing"])]
  if kind in ("saddle_claim", "fid_disturbance"):
    from repro.verify import ttur_claims  # pylint: disable=g-import-not-at-top
    return ttur_claims.needs(entry, ctx)
  if kind in ("generator_fid", "generator_is", "reference_fid", "reference_is"):
    if entry.get("order") == "original":
      out.append(Need(f"{entry['dataset']} in its original file order",
                      detail="tfds reorders the examples and the suite has no reader of the "
                             "original files"))
    need = extractor_need(extractor_name(entry), ctx)
    if need:
      out.append(need)
    if kind == "generator_fid" and ctx.fid_stats:
      if not os.path.isfile(ctx.fid_stats):
        out.append(Need("the --fid_stats file", detail=f"{ctx.fid_stats} not found"))
    elif kind != "generator_is":
      need = data_need(entry["dataset"], ctx.data_dir)
      if need:
        out.append(need)
    if kind.startswith("generator_"):
      need = generator_need(entry, ctx)
      if need:
        out.append(need)
    return out
  if kind == "mode_coverage":
    need = generator_need(entry, ctx)
    return [need] if need else []
  if kind == "w_estimate_tracks_quality":
    workdir = ctx.workdir
    if not workdir and recorded_run_path(entry):
      return []
    if not workdir or not os.path.isfile(os.path.join(workdir, "eval.jsonl")):
      where = f" ({workdir} has no eval.jsonl)" if workdir else ""
      return [Need("--workdir of a run with evaluations",
                   f"{entry['command']} --workdir={_train_workdir(entry)}",
                   f"then pass --workdir={_train_workdir(entry)}{where}")]
    return []
  if kind == "logged_best":
    key, workdir = entry["logged"], ctx.workdir
    if not workdir or not os.path.isfile(os.path.join(workdir, "eval.jsonl")):
      where = f" ({workdir} has no eval.jsonl)" if workdir else ""
      gpu = "on a GPU (the paper's run is far too long for a CPU); " if entry.get("gpu") else ""
      data = [] if workdir else [n for n in [data_need(entry["dataset"], ctx.data_dir)] if n]
      return data + [Need(f"--workdir of a run logging {key}",
                   f"{entry['command']} --workdir={_train_workdir(entry)}",
                   f"train {gpu}then pass --workdir={_train_workdir(entry)}{where}")]
    return []
  if kind in ("klwgan_synthetic", "klwgan_synthetic_compare"):
    try:
      runs = klwgan_runs(ctx)
    except UsageError as e:
      return [Need("recorded runs of the table", f"{entry['command']} --workdir=runs/klwgan_table",
                   str(e))]
    sets = [entry["dataset"]]
    losses = [entry["loss"]] if kind == "klwgan_synthetic" else ["hinge", "kl"]
    missing = [f"{s}/{l}" for s in sets for l in losses
               if not [r for r in runs if r["dataset"] == s and r["loss"] == l]]
    if missing:
      return [Need(f"recorded runs of {', '.join(missing)}",
                   f"{entry['command']} --workdir=runs/klwgan_table",
                   "then pass --workdir=runs/klwgan_table")]
    return []
  if kind == "whole_run_study":
    try:
      whole_run_record(entry, ctx)
    except DataUnavailableError as e:
      return [Need(f"the {entry['study']} study's runs", f"{entry['command']} --workdir=runs/whole_run",
                   str(e))]
    return []
  raise UsageError(f"unknown evaluator {kind!r}")


# ---- generators --------------------------------------------------------------------------------

def generator_for(entry, ctx):
  """The LoadedGenerator to evaluate: --checkpoint, else --workdir, else the entry's default."""
  from repro import checkpoints  # pylint: disable=g-import-not-at-top
  key = ("gen", ctx.checkpoint, ctx.workdir, entry.get("default_checkpoint"))
  if key not in ctx._cache:  # pylint: disable=protected-access
    if ctx.checkpoint:
      gen = checkpoints.load_generator(ctx.checkpoint)
    elif ctx.workdir:
      gen = checkpoints.load_from_workdir(ctx.workdir)
    else:
      gen = checkpoints.load_generator(entry["default_checkpoint"])
    ctx._cache[key] = gen  # pylint: disable=protected-access
  gen = ctx._cache[key]  # pylint: disable=protected-access
  if gen.dataset != entry["dataset"]:
    raise UsageError(f"entry {entry['id']} is about {entry['dataset']}, the generator "
                     f"{gen.name} makes {gen.dataset}: pass a generator of {entry['dataset']}")
  return gen


def _source_line(gen):
  steps = gen.entry.get("steps")
  where = gen.entry.get("checkpoint") or gen.path
  return f"{gen.name} ({steps if steps is not None else '?'} steps; {resources.display_path(where)})"


def _quantize(entry):
  from repro.metrics import images  # pylint: disable=g-import-not-at-top
  text = str(entry["protocol"].get("quantize") or entry["protocol"]["quantization"])
  first = text.split(":")[0].strip()
  if first in images.QUANTIZE_MODES:
    return first
  return "truncate" if "astype" in text else "none"


def _n_fake(entry, ctx, deviations):
  n = int(entry["protocol"]["n_fake"])
  if ctx.n_fake and ctx.n_fake != n:
    deviations.append(f"n_fake {ctx.n_fake} instead of the protocol's {n}")
    return int(ctx.n_fake)
  return n


def _extractor(entry, ctx):
  from repro.metrics.extractors import get_extractor  # pylint: disable=g-import-not-at-top
  name = extractor_name(entry)
  key = ("extractor", name, ctx.inception_graph)
  if key not in ctx._cache:  # pylint: disable=protected-access
    kwargs = {"graph_path": ctx.inception_graph} if name == "inception_2015" and ctx.inception_graph else {}
    ctx._cache[key] = get_extractor(name, **kwargs)  # pylint: disable=protected-access
  return ctx._cache[key]  # pylint: disable=protected-access


def _is_from_images(batches, extractor, quantize, splits):
  from repro.metrics import images  # pylint: disable=g-import-not-at-top
  from repro.metrics.inception_score import inception_score  # pylint: disable=g-import-not-at-top
  logits = []
  for batch in batches:
    x = images.to_extractor_range(np.asarray(batch), extractor.input_spec, quantize)
    logits.append(extractor(x)["logits"])
  return inception_score(np.concatenate(logits), splits=splits)


# ---- measuring ---------------------------------------------------------------------------------

def measure(entry, ctx):
  """Measured for a runnable entry (call `needs` first)."""
  kind = entry["evaluate"]
  if kind in ("saddle_claim", "fid_disturbance"):
    from repro.verify import ttur_claims  # pylint: disable=g-import-not-at-top
    return ttur_claims.MEASURE[kind](entry, ctx)
  return MEASURE[kind](entry, ctx)


def _generator_fid(entry, ctx):
  from repro.metrics.evaluate import DatasetReference, evaluate_generator  # pylint: disable=g-import-not-at-top
  deviations = []
  gen = generator_for(entry, ctx)
  n = _n_fake(entry, ctx, deviations)
  reference = ctx.fid_stats or DatasetReference(entry["dataset"], "train", None, ctx.data_dir)
  state = {"z": gen.noise(n, entry["protocol"].get("noise_seed", 0)), "i": 0}

  def sample_fn(k):
    z = state["z"][state["i"]:state["i"] + k]
    state["i"] += k
    return gen.sample(z=z)

  result = evaluate_generator(sample_fn, reference, extractor=_extractor(entry, ctx), n_fake=n,
                              quantize=_quantize(entry))
  return Measured(result.fid, details={"generator": _source_line(gen),
                                       "protocol": result.protocol}, deviations=deviations)


def _generator_is(entry, ctx):
  deviations = []
  gen = generator_for(entry, ctx)
  n = _n_fake(entry, ctx, deviations)
  z = gen.noise(n, entry["protocol"].get("noise_seed", 0))
  batches = (gen.sample(z=z[i:i + 500]) for i in range(0, n, 500))
  mean, std = _is_from_images(batches, _extractor(entry, ctx), _quantize(entry),
                              int(entry["protocol"].get("splits", 10)))
  return Measured(mean, details={"generator": _source_line(gen), "is_std": std},
                  deviations=deviations)


def _split_of(text):
  return "test" if " test" in f" {text}" else "train"


def _reference_images(entry, key, ctx):
  """uint8 images of a protocol's set_a / set_b ("<dataset> <split>, all ... | first N images")."""
  import re  # pylint: disable=g-import-not-at-top
  from repro import data  # pylint: disable=g-import-not-at-top
  spec = entry["protocol"][key]
  images = data.load_array(entry["dataset"], _split_of(spec), ctx.data_dir)
  first = re.search(r"first (\d+)", spec)
  if first:
    images = images[:int(first.group(1))]
  return images, spec


def _reference_fid(entry, ctx):
  from repro.metrics.evaluate import reference_statistics  # pylint: disable=g-import-not-at-top
  from repro.metrics.fid import frechet_distance  # pylint: disable=g-import-not-at-top
  extractor = _extractor(entry, ctx)
  stats = []
  for key in ("set_a", "set_b"):
    images, spec = _reference_images(entry, key, ctx)
    stats.append(reference_statistics(images, extractor, cache_dir=False))
  value = frechet_distance(stats[0].mu, stats[0].sigma, stats[1].mu, stats[1].sigma)
  return Measured(value, details={"counts": [s.count for s in stats]})


def _reference_is(entry, ctx):
  images, _ = _reference_images(entry, "set_a", ctx)
  batches = (images[i:i + 500] for i in range(0, len(images), 500))
  mean, std = _is_from_images(batches, _extractor(entry, ctx), "none",
                              int(entry["protocol"].get("splits", 10)))
  return Measured(mean, details={"is_std": std, "count": len(images)})


def _mode_coverage(entry, ctx):
  from repro import checkpoints  # pylint: disable=g-import-not-at-top
  gen = generator_for(entry, ctx)
  protocol = dict(checkpoints.MIXTURE_COVERAGE, n=int(entry["protocol"]["n_fake"]),
                  noise_seed=int(entry["protocol"].get("noise_seed", 0)))
  metrics, _ = checkpoints.evaluate(gen, protocol)
  return Measured(float(metrics["modes_covered"]),
                  details={"generator": _source_line(gen), "hq_fraction": metrics["hq_fraction"]})


# ---- W-estimate vs sample quality ----------------------------------------------------------------

def read_scalars(logdir, tag):
  """[(step, value)] of a TensorBoard scalar written by tf.summary (all event files under logdir)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  points = {}
  for path in sorted(glob.glob(os.path.join(logdir, "**", "events.out.tfevents.*"), recursive=True)):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == tag:
          number = (float(tf.make_ndarray(value.tensor)) if value.HasField("tensor")
                    else float(value.simple_value))
          points[int(event.step)] = number
  return sorted(points.items())


def rank(values):
  """Ranks 1..n with ties averaged (as scipy.stats.rankdata)."""
  values = np.asarray(values, np.float64)
  order = np.argsort(values, kind="mergesort")
  ranks = np.empty(len(values))
  ranks[order] = np.arange(1, len(values) + 1)
  for v in np.unique(values):
    tie = values == v
    ranks[tie] = ranks[tie].mean()
  return ranks


def spearman(x, y):
  rx, ry = rank(x), rank(y)
  rx, ry = rx - rx.mean(), ry - ry.mean()
  denom = math.sqrt(float(rx @ rx) * float(ry @ ry))
  return float(rx @ ry / denom) if denom > 0 else float("nan")


def recorded_run_path(entry):
  """The entry's recorded run (registry `recorded_run`, under the repository) if it exists."""
  path = entry.get("recorded_run")
  path = path and resources.data_path(path)
  return path if path and os.path.isfile(path) else None


def read_run(workdir):
  """(evaluations of eval.jsonl, [(step, W-estimate)] of the TensorBoard log) of a workdir."""
  evals = []
  with open(os.path.join(workdir, "eval.jsonl"), encoding="utf-8") as f:
    for line in f:
      if line.strip():
        evals.append(json.loads(line))
  return evals, read_scalars(os.path.join(workdir, "tensorboard"), "critic/wasserstein_estimate")


def record_run(workdir, out_path, command):
  """Writes a run's evaluations and logged W-estimates (and its recipe) to `out_path`, so the
  entry is evaluated from the repository without the workdir."""
  evals, w = read_run(workdir)
  record = {"recorded": datetime.date.today().isoformat(), "command": command,
            "recipe": workdir_record(workdir), "evaluations": evals,
            "w_estimate": [[int(s), float(v)] for s, v in w]}
  with atomic_output(out_path) as f:
    json.dump(record, f, indent=1)
  return record


def _w_estimate_tracks_quality(entry, ctx):
  if ctx.workdir:
    source = ctx.workdir
    evals, w = read_run(ctx.workdir)
  else:
    source = recorded_run_path(entry)
    recorded = _read_json(source)
    evals, w = recorded["evaluations"], [tuple(p) for p in recorded["w_estimate"]]
  evals = [e for e in evals if "hq_fraction" in e or "fid" in e]
  if len(evals) < 5 or not w:
    raise DataUnavailableError(f"{source} has {len(evals)} evaluations and {len(w)} logged "
                               f"W-estimates; the criterion needs >= 5 of each (lower --eval_every)")
  steps = np.array([s for s, _ in w])
  values = np.array([v for _, v in w])
  xs, ys, previous = [], [], 0
  for e in sorted(evals, key=lambda e: e["step"]):
    window = (steps > previous) & (steps <= e["step"])
    previous = e["step"]
    if not np.any(window):
      continue
    xs.append(float(np.mean(values[window])))
    ys.append(float(e["fid"]) if "fid" in e else 1.0 - float(e["hq_fraction"]))
  if len(xs) < 5:
    raise DataUnavailableError(f"{source}: only {len(xs)} evaluations have logged W-estimates "
                               "before them; lower --log_every or --eval_every")
  return Measured(spearman(xs, ys), n=len(xs),
                  details={"run": os.path.relpath(source), "w_estimates": [round(x, 5) for x in xs],
                           "quality_distance": [round(y, 5) for y in ys]})


def _logged_best(entry, ctx):
  """The best value of `entry["logged"]` (e.g. js4) over a run's eval.jsonl (the papers report the
  best JSD of a run); a run on another dataset than the entry's is reported as a deviation."""
  key, workdir = entry["logged"], ctx.workdir
  values = []
  with open(os.path.join(workdir, "eval.jsonl"), encoding="utf-8") as f:
    for line in f:
      if line.strip():
        record = json.loads(line)
        if key in record:
          values.append((record["step"], float(record[key])))
  if not values:
    raise DataUnavailableError(f"{workdir}/eval.jsonl has no {key} values")
  pick = min if entry["better"] == "lower" else max
  step, value = pick(values, key=lambda sv: sv[1])
  deviations = []
  record = workdir_record(workdir)
  if record and record.get("dataset") != entry["dataset"]:
    deviations.append(f"trained on {record.get('dataset')}, not {entry['dataset']}")
  return Measured(value, n=len(values), deviations=deviations,
                  details={"best_step": step, "evaluations": len(values),
                           "last_step": values[-1][0]})


# ---- KL-WGAN synthetic table ---------------------------------------------------------------------

def _read_json(path):
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def workdir_record(workdir):
  """A training workdir's recipe.json (or a pre-recipe workdir's config.json) as a dict, or None."""
  for name in ("recipe.json", "config.json"):
    path = os.path.join(workdir, name)
    if os.path.isfile(path):
      return _read_json(path)
  return None


def klwgan_runs(ctx):
  """Per-run results of the synthetic table: from --workdir (cell folders with result.json) or
  the recorded-results file of the registry. Raises UsageError when there are none."""
  key = ("klwgan_runs", ctx.workdir, ctx.results)
  if key in ctx._cache:  # pylint: disable=protected-access
    return ctx._cache[key]  # pylint: disable=protected-access
  if ctx.workdir:
    paths = sorted(glob.glob(os.path.join(ctx.workdir, "*", "result.json")))
    if not paths:
      raise UsageError(f"--workdir {ctx.workdir} holds no <set>_<loss>_run<k>/result.json "
                       f"(written by python -m repro.papers.klwgan --table=synthetic)")
    runs = [_read_json(p) for p in paths]
  else:
    path = ctx.results if ctx.results and os.path.isabs(ctx.results) else resources.data_path(
        ctx.results or "")
    if not ctx.results or not os.path.isfile(path):
      raise UsageError(f"recorded results {ctx.results or '(none in the registry)'} not found; "
                       "pass --workdir=<a --table=synthetic workdir>")
    runs = _read_json(path)["runs"]
  ctx._cache[key] = runs  # pylint: disable=protected-access
  return runs


LOGLIK_RUNS = 2   # the notebook's lld_dict[key][:2]


def _mean_se(values):
  values = np.asarray(values, np.float64)
  return float(np.mean(values)), float(np.std(values) / math.sqrt(len(values)))


def _cell(runs, dataset, loss, metric):
  cell = sorted((r for r in runs if r["dataset"] == dataset and r["loss"] == loss),
                key=lambda r: r["seed"])
  if metric == "loglik":
    cell = cell[:LOGLIK_RUNS]
  key = "loglik" if metric == "loglik" else "mmd_x1e3"
  values = [r[key] for r in cell]
  epochs = sorted({r.get("epochs") for r in cell})
  return values, epochs, [r["seed"] for r in cell]


def _klwgan_synthetic(entry, ctx):
  runs = klwgan_runs(ctx)
  values, epochs, seeds = _cell(runs, entry["dataset"], entry["loss"], entry["metric"])
  mean, se = _mean_se(values)
  deviations = []
  if epochs != [500]:
    deviations.append(f"{'/'.join(map(str, epochs))} epochs instead of 500")
  wanted = LOGLIK_RUNS if entry["metric"] == "loglik" else 4
  if len(values) < wanted:
    deviations.append(f"{len(values)} run(s) instead of {wanted}")
  return Measured(mean, se=se, n=len(values), details={"runs": values, "seeds": seeds},
                  deviations=deviations)


def _klwgan_synthetic_compare(entry, ctx):
  runs = klwgan_runs(ctx)
  kl, epochs_kl, _ = _cell(runs, entry["dataset"], "kl", "mmd")
  hinge, epochs_h, _ = _cell(runs, entry["dataset"], "hinge", "mmd")
  deviations = []
  epochs = sorted(set(epochs_kl) | set(epochs_h))
  if epochs != [500]:
    deviations.append(f"{'/'.join(map(str, epochs))} epochs instead of 500")
  if min(len(kl), len(hinge)) < 4:
    deviations.append(f"{len(kl)}/{len(hinge)} runs instead of 4")
  return Measured(float(np.mean(kl) - np.mean(hinge)), n=min(len(kl), len(hinge)),
                  details={"kl_mmd_x1e3": float(np.mean(kl)), "hinge_mmd_x1e3": float(np.mean(hinge))},
                  deviations=deviations)


def record_klwgan_results(workdir, out_path):
  """Copies the per-run results of a --table=synthetic workdir into a recorded-results file, with
  the commands that trained them (one per group of sets with the same number of runs, e.g. the
  whole table once and more MoG seeds), the machine and the training time."""
  import platform  # pylint: disable=g-import-not-at-top
  from repro.data import fwgan_synthetic  # pylint: disable=g-import-not-at-top
  ctx = Context(workdir=workdir)
  runs = klwgan_runs(ctx)
  epochs = sorted({r.get("epochs") for r in runs})
  sets = [s for s in fwgan_synthetic.NAMES if any(r["dataset"] == s for r in runs)]
  runs_per_set = {s: max(r["seed"] for r in runs if r["dataset"] == s) + 1 for s in sets}
  commands = []
  for n_runs in sorted(set(runs_per_set.values())):
    group = [s for s in sets if runs_per_set[s] == n_runs]
    command = f"python -m repro.papers.klwgan --table=synthetic --runs={n_runs}"
    if epochs != [500]:
      command += f" --epochs={'/'.join(map(str, epochs))}"
    if set(group) != set(fwgan_synthetic.NAMES):
      command += f" --sets={','.join(group)}"
    commands.append(command + f" --workdir={workdir}")
  keep = ("dataset", "loss", "seed", "epochs", "steps", "loglik", "mmd_x1e3", "cpu_seconds",
          "wall_seconds")
  runs = [{k: r.get(k) for k in keep} for r in sorted(runs, key=lambda r: (r["dataset"], r["loss"],
                                                                           r["seed"]))]
  cpu = sum(r["cpu_seconds"] or 0.0 for r in runs)
  wall = sum(r["wall_seconds"] or 0.0 for r in runs)
  data = {"command": " && ".join(commands), "commands": commands, "workdir": workdir,
          "recorded": datetime.date.today().isoformat(),
          "machine": f"{os.cpu_count()} CPU cores ({platform.machine()}), shared with other jobs "
                     f"(training under nice), no GPU",
          "runs_per_set": runs_per_set,
          "training_time": {"cpu_hours": round(cpu / 3600, 3), "wall_hours": round(wall / 3600, 3),
                            "runs": len(runs), "cpu_seconds_per_run": round(cpu / len(runs)),
                            "wall_seconds_per_run": round(wall / len(runs))},
          "note": "per-run results of repro.papers.klwgan --table=synthetic (result.json of each "
                  "cell); repro.verify computes the table from them as the notebook does",
          "runs": runs}
  os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
  with open(out_path, "w", encoding="utf-8") as f:
    json.dump(data, f, indent=1)
    f.write("\n")
  return data


def whole_run_record(entry, ctx):
  """A whole-run study's record: <--workdir>/<study>.json (written by the study's command), else
  the recorded papers/results/whole_run_<study>.json (also when --workdir is one training run,
  which is not a study's folder)."""
  from repro.studies import whole_run  # pylint: disable=g-import-not-at-top
  study = whole_run.get(entry["study"])
  if ctx.workdir:
    path = os.path.join(ctx.workdir, f"{study.name}.json")
    if os.path.isfile(path):
      return study, _read_json(path)
    if not workdir_record(ctx.workdir):
      raise DataUnavailableError(f"{path} missing (written by {entry['command']} "
                                 f"--workdir={ctx.workdir})")
  data = whole_run.recorded(study.name)
  if data is None:
    raise DataUnavailableError(f"no recorded study {whole_run.results_file(study.name)}")
  return study, data


def _whole_run_study(entry, ctx):
  """Ours = the suite's mean over seeds; the official runs' mean is the entry's value. The
  comparison is recomputed from the recorded per-seed numbers."""
  from repro.studies import two_sample, whole_run  # pylint: disable=g-import-not-at-top
  study, data = whole_run_record(entry, ctx)
  metric = entry["metric"]
  _, better, resolution = next(m for m in study.metrics if m[0] == metric)
  suite = [r[metric] for r in data["suite"]["runs"]]
  official = [r[metric] for r in data["official"]["runs"]]
  c = two_sample.compare(suite, official, better, entry["alpha"], resolution)
  deviations = []
  if min(len(suite), len(official)) < whole_run.MIN_SEEDS:
    deviations.append(f"{len(suite)}/{len(official)} seeds (suite/official) instead of "
                      f">= {whole_run.MIN_SEEDS}")
  return Measured(c["mean"][0], se=c["sd"][0] / math.sqrt(len(suite)), n=len(suite),
                  details={"p_worse": c["p_worse"], "official_mean": c["mean"][1],
                           "official_sd": c["sd"][1], "suite_runs": suite,
                           "official_runs": official},
                  deviations=deviations)


MEASURE = {
    "whole_run_study": _whole_run_study,
    "generator_fid": _generator_fid,
    "generator_is": _generator_is,
    "reference_fid": _reference_fid,
    "reference_is": _reference_is,
    "mode_coverage": _mode_coverage,
    "w_estimate_tracks_quality": _w_estimate_tracks_quality,
    "logged_best": _logged_best,
    "klwgan_synthetic": _klwgan_synthetic,
    "klwgan_synthetic_compare": _klwgan_synthetic_compare,
}
