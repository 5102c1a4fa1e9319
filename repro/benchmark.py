"""The six methods on one benchmark: Fashion-MNIST, one shared network, one budget.

  python -m repro.benchmark                          # 6 methods x 3 seeds, resumable, in runs/benchmark
  python -m repro.benchmark --methods=ttur,fogan --seeds=1 --steps=200 --workdir=/tmp/b
  python -m repro.benchmark --results                # also rewrite the shipped table (a checkout)

Each method keeps its own objective and optimizer settings (its paper's Fashion-MNIST recipe); the
network, batch, noise size and number of generator steps are shared (`SHARED`), EMA is off, and
nothing else changes. Every run is an ordinary recipe trained by `repro.train.run` in
`<workdir>/<method>_s<seed>` (a killed table resumes where it stopped; finished runs are kept), then
evaluated once on 10,000 samples (inference-mode generator, noise seed 0 in the recipe's own noise
distribution) against the 10,000 Fashion-MNIST test images in the features of the Fashion-MNIST
classifier: FID, KID, precision / recall (k = 3) and density / coverage (k = 5). The table (mean ±
std over seeds) is printed, and written with every run's result to
<workdir>/benchmark_fashion_mnist.json next to a sample grid (one row per method, seed 0),
benchmark_fashion_mnist.png. Only --results rewrites the shipped copies
(papers/results/ and the README's block, in a source checkout).
"""

import dataclasses
import functools
import importlib
import json
import os
import sys
import time

import numpy as np

from repro.errors import StoppedBySignal, UsageError
from repro.fileio import atomic_output

# method: (paper module, options of its recipe)
METHODS = {
    "wgan_gp": ("wgan", {"variant": "gp"}),
    "ttur": ("ttur", {}),
    "coulomb": ("coulomb", {}),
    "fogan": ("fogan", {}),
    "sinkhorn": ("sinkhorn", {}),
    "klwgan": ("klwgan", {}),
}
DATASET = "fashion_mnist"
NETWORK = {"width": 32, "g_norm": "batch", "d_norm": "none", "kernel_size": 5}
# Sinkhorn's dual potentials are two critics of the same DCGAN body (repro.models.otnets).
ARCH = {"sinkhorn": ("sinkhorn_dcgan", {"width": 32, "g_norm": "batch", "kernel_size": 5,
                                        "critic": "dual"})}
SHARED = {"batch_size": 64, "z_dim": 64, "steps": 1000}
N_SAMPLES = 10000
NOISE_SEED = 0
CURVE_POINTS = 4   # in-run FID at steps/4, steps/2, 3 steps/4 and steps (the curves)
K_PR, K_DC = 3, 5
KID_BLOCK = 1000
RESULTS = "benchmark_fashion_mnist.json"   # in the workdir, and (--results) in papers/results/
FIGURE = "benchmark_fashion_mnist.png"
CURVES_FIGURE = "benchmark_fashion_mnist_curves.png"
README_MARKERS = ("<!-- benchmark-table: written by python -m repro.benchmark -->",
                  "<!-- /benchmark-table -->")
METRICS = (("fid", "FID ↓", 1.0, 2), ("kid", "KID ↓", 1, 3), ("precision", "precision ↑", 1, 3),
           ("recall", "recall ↑", 1, 3), ("density", "density ↑", 1, 3),
           ("coverage", "coverage ↑", 1, 3))


def recipe(method, seed=0, steps=None, curve_stats=None, n_samples=N_SAMPLES):
  """The benchmark recipe of `method`: its paper's Fashion-MNIST recipe on the shared network.
  With `curve_stats` (a statistics file of the reference images, `reference_statistics_file`) the
  run evaluates the classifier FID of `n_samples` inference-mode samples against it at
  CURVE_POINTS evenly spaced steps (the convergence curve); otherwise it evaluates nothing."""
  if method not in METHODS:
    raise UsageError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
  module, options = METHODS[method]
  paper = importlib.import_module(f"repro.papers.{module}")
  arch, args = ARCH.get(method, ("dcgan", NETWORK))
  changes = dict(SHARED, seed=seed, **{"model.arch": arch, "model.args": args, "ema.decay": 0.0,
                                       "eval.metric": "none", "eval.n_samples": 0,
                                       "eval.best": ""})
  if steps is not None:
    changes["steps"] = steps
  if curve_stats:
    changes.update({"eval.metric": "fid", "eval.n_samples": n_samples, "eval.sampler": "inference",
                    "eval.use_ema": False, "eval.at_start": False, "eval.first_step": 0,
                    "eval.every": max(1, changes["steps"] // CURVE_POINTS),
                    "eval.params": dict(mode="on", extractor="fashion_mnist_cnn", quantize="none",
                                        stats=os.path.abspath(curve_stats), inception_graph="",
                                        n_real=0)})
  changes["save_every"] = min(500, changes["steps"])
  changes["log_every"] = min(100, changes["steps"])
  return paper.recipe(DATASET, **options).replace(**changes)


def reference_statistics_file(workdir, n_samples=N_SAMPLES):
  """<workdir>/fashion_mnist_test<n>_fashion_mnist_cnn.npz: classifier statistics (with protocol)
  of the first n test images, the reference of the in-run curves; computed once."""
  from repro.metrics import evaluate  # pylint: disable=g-import-not-at-top
  path = os.path.join(workdir, f"fashion_mnist_test{n_samples}_fashion_mnist_cnn.npz")
  if not os.path.isfile(path):
    os.makedirs(workdir, exist_ok=True)
    evaluate.save_reference_statistics(
        path, evaluate.DatasetReference(DATASET, "test", n_samples), "fashion_mnist_cnn",
        source="repro.benchmark: the first test images")
  return path


# ---- metrics ---------------------------------------------------------------------------------------

def features(images, extractor="fashion_mnist_cnn"):
  """Classifier features [N, 128] of images (uint8, or float in [-1, 1])."""
  from repro.metrics import evaluate  # pylint: disable=g-import-not-at-top
  return evaluate.reference_statistics(np.asarray(images), extractor, keep_features=True,
                                       cache_dir=False).features


@functools.lru_cache(maxsize=2)
def reference_features(n=N_SAMPLES):
  """Classifier features of the first n Fashion-MNIST test images: the benchmark's reference."""
  from repro import data  # pylint: disable=g-import-not-at-top
  return features(data.load_array(DATASET, "test")[:n])


def scores(real, fake):
  """FID, KID (mean over blocks), precision, recall, density, coverage of two feature sets."""
  from repro.metrics import fid, kid, prdc  # pylint: disable=g-import-not-at-top
  real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
  out = {"fid": fid.frechet_distance(real.mean(0), np.cov(real, rowvar=False),
                                     fake.mean(0), np.cov(fake, rowvar=False))}
  rng = np.random.default_rng(0)
  out["kid"] = float(kid.kernel_inception_distance(rng.permutation(real), rng.permutation(fake),
                                                   block_size=KID_BLOCK)[0])
  out.update({k: float(v) for k, v in prdc.prdc(real, fake, k_pr=K_PR, k_dc=K_DC).items()})
  return out


# ---- runs ------------------------------------------------------------------------------------------

def run_one(method, seed, workdir, steps=None, real_features=None, n_samples=N_SAMPLES,
            curve_stats=None):
  """Trains (or resumes) one run and evaluates it; returns its result dict (also written to
  <workdir>/benchmark.json, which a later call reads instead of repeating the work). With
  `curve_stats` the run also records its FID curve ("curve": [[step, fid], ...])."""
  from repro.train import streams  # pylint: disable=g-import-not-at-top
  from repro.train.runner import Trainer  # pylint: disable=g-import-not-at-top
  path = os.path.join(workdir, "benchmark.json")
  r = recipe(method, seed, steps, curve_stats, n_samples)
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      done = json.load(f)
    if done.get("recipe") == r.to_dict():
      return done
  resumed = os.path.isdir(os.path.join(workdir, "checkpoints"))
  trainer = Trainer(r, workdir, quiet=True)
  curve_seconds = _time_evaluations(trainer)
  t0, c0 = time.time(), time.process_time()
  trainer.train()
  if trainer.stopped_by:   # saved, not finished: no benchmark.json, the next call resumes the run
    raise StoppedBySignal(trainer.stopped_by, f"stopped in {workdir} at step "
                          f"{int(trainer.step.numpy())} of {r.steps} (checkpoint saved): run the "
                          "same command to resume")
  wall = time.time() - t0 - curve_seconds["wall"]
  cpu = time.process_time() - c0 - curve_seconds["cpu"]
  # the recipe's own noise distribution (TTUR's DCGAN draws z ~ U(-1, 1)); noise seed NOISE_SEED
  z = streams.noise(n_samples, r.z_dim, r.z_dist, NOISE_SEED)
  fake = trainer.sample(z=z, use_ema=False)
  t1 = time.time()
  result = scores(real_features, features(fake))
  result = {"method": method, "seed": seed, "steps": r.steps, "metrics": result,
            "train_wall_seconds": round(wall, 1), "train_cpu_seconds": round(cpu, 1),
            "resumed": resumed,   # True: the times cover only the session that finished it
            "evaluation_seconds": round(time.time() - t1, 1),
            "curve": _curve(workdir), "curve_seconds": round(curve_seconds["wall"], 1),
            "recipe": r.to_dict(), "samples_preview": np.round(fake[:10, :, :, 0], 3).tolist()}
  with atomic_output(path) as f:
    json.dump(result, f)
  return result


def _time_evaluations(trainer):
  """Wraps the trainer's evaluation so its time can be taken out of the training time."""
  spent = {"wall": 0.0, "cpu": 0.0}
  inner = trainer.eval_fn
  if inner is None:
    return spent

  def timed(tr, step):
    t, c = time.time(), time.process_time()
    try:
      return inner(tr, step)
    finally:
      spent["wall"] += time.time() - t
      spent["cpu"] += time.process_time() - c
  trainer.eval_fn = timed
  return spent


def _curve(workdir):
  """[[step, fid], ...] from <workdir>/eval.jsonl (the last record of each step)."""
  points = {}
  try:
    with open(os.path.join(workdir, "eval.jsonl"), encoding="utf-8") as f:
      for line in f:
        record = json.loads(line)
        if "fid" in record:
          points[int(record["step"])] = float(record["fid"])
  except FileNotFoundError:
    return []
  return [[step, points[step]] for step in sorted(points)]


def mean_curves(runs):
  """{method: (steps, mean FID over the seeds that reached each step)} of the runs' curves."""
  out = {}
  for method in METHODS:
    per_step = {}
    for r in runs:
      if r["method"] == method:
        for step, value in r.get("curve") or []:
          per_step.setdefault(step, []).append(value)
    if per_step:
      steps = sorted(per_step)
      out[method] = (steps, [float(np.mean(per_step[s])) for s in steps])
  return out


def write_curves(runs, path):
  """One figure: each method's mean FID curve over its seeds (None when no run has a curve)."""
  from repro import figures  # pylint: disable=g-import-not-at-top
  from repro.metrics import labels  # pylint: disable=g-import-not-at-top
  from repro.train import images  # pylint: disable=g-import-not-at-top
  curves = mean_curves(runs)
  if not curves:
    return None
  steps = sorted({s for xs, _ in curves.values() for s in xs})
  lines = [(m, [ys[xs.index(s)] if s in xs else np.nan for s in steps])
           for m, (xs, ys) in curves.items()]
  n = next(r["recipe"]["eval"]["n_samples"] for r in runs if r.get("curve"))
  label = labels.fid("fashion_mnist_cnn", n, labels.reference("test", n))
  images.write_png(path, figures.curves(
      [{"title": "", "x": steps, "lines": lines}],
      "Fashion-MNIST benchmark: FID during training, mean over seeds", "generator step", label,
      panel_size=(720, 300)))
  return list(curves)


def summarize(runs):
  """{method: {metric: (mean, std, n)}} over seeds (std with ddof 1; 0 for one run)."""
  table = {}
  for method in METHODS:
    mine = [r for r in runs if r["method"] == method]
    if not mine:
      continue
    row = {}
    for key, *_ in METRICS:
      values = np.array([r["metrics"][key] for r in mine])
      row[key] = (float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                  len(values))
    whole = [r["train_wall_seconds"] for r in mine if not r.get("resumed")]
    row["wall"] = float(np.mean(whole)) if whole else float("nan")
    table[method] = row
  return table


def markdown(table, steps, n_samples, hardware, curves=None):
  """The README table; with `curves` (mean_curves) a column of the mean in-run FID per step."""
  from repro.metrics import labels  # pylint: disable=g-import-not-at-top
  ref = labels.reference("test", n_samples)
  named = {"fid": labels.fid("fashion_mnist_cnn", n_samples, ref) + " ↓",
           "kid": labels.kid("fashion_mnist_cnn", n_samples, ref, scale=1) + " ↓"}
  curves = curves or {}
  curve_steps = sorted({s for xs, _ in curves.values() for s in xs})
  head = (["method", "seeds"] + [named.get(key, label) for key, label, _, _ in METRICS]
          + (["FID at step " + " / ".join(str(s) for s in curve_steps)] if curves else [])
          + ["train wall / run"])
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for method, row in table.items():
    cells = [method, str(row["fid"][2])]
    for key, _, scale, digits in METRICS:
      mean, std, _ = row[key]
      cells.append(f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}")
    if curves:
      xs, ys = curves.get(method, ([], []))
      cells.append(" / ".join(f"{ys[xs.index(s)]:.1f}" if s in xs else "–" for s in curve_steps))
    cells.append(f"{row['wall'] / 60:.1f} min")
    lines.append("| " + " | ".join(cells) + " |")
  lines.append("")
  lines.append(f"Fashion-MNIST, {steps} generator steps of batch {SHARED['batch_size']} per run, "
               f"z_dim {SHARED['z_dim']}, DCGAN width {NETWORK['width']} (G batch norm, critic "
               f"without normalisation), no EMA; each method's own objective, optimizer and "
               f"n_critic. Metrics on {n_samples} samples vs the first {n_samples} test images in the "
               f"Fashion-MNIST classifier's features; mean ± std over seeds. {hardware}")
  return "\n".join(lines)


def write_figure(runs, path):
  """One row of seed 0's preview samples per method, each named."""
  from repro import figures  # pylint: disable=g-import-not-at-top
  from repro.train import images  # pylint: disable=g-import-not-at-top
  rows = [r for m in METHODS for r in runs if r["method"] == m and r["seed"] == 0]
  if not rows:
    return None
  named = [(r["method"], images.image_grid(np.asarray(r["samples_preview"], np.float32)[..., None],
                                           columns=10)) for r in rows]
  images.write_png(path, figures.labelled_rows(
      named, "Fashion-MNIST samples of each method (seed 0, final step)"))
  return [r["method"] for r in rows]


# ---- command line ----------------------------------------------------------------------------------

def main(argv=None):
  from absl import app, flags  # pylint: disable=g-import-not-at-top
  from repro.errors import exit_on_error, parse_flags_or_exit  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("workdir", "runs/benchmark", "Folder of the runs (<method>_s<seed>).")
  flags.DEFINE_list("methods", list(METHODS), "Methods to run: " + ", ".join(METHODS))
  flags.DEFINE_integer("seeds", 3, "Seeds 0..N-1 per method.", lower_bound=1)
  flags.DEFINE_integer("steps", SHARED["steps"], "Generator steps per run.", lower_bound=1)
  flags.DEFINE_integer("n_samples", N_SAMPLES, "Generated and test images per evaluation.",
                       lower_bound=10)
  flags.DEFINE_boolean("results", False, f"Also rewrite the shipped results: papers/results/"
                       f"{RESULTS}, {FIGURE}, {CURVES_FIGURE} and the README's table (a source "
                       "checkout only). Without it only <workdir>/ is written.")
  flags.DEFINE_string("hardware", "", "Hardware line for the table caption.")
  FLAGS = flags.FLAGS

  @exit_on_error
  def run(argv):
    if len(argv) > 1:
      raise UsageError(f"unexpected arguments {' '.join(argv[1:])}; flags look like --name=value")
    unknown = [m for m in FLAGS.methods if m not in METHODS]
    if unknown:
      raise UsageError(f"unknown method(s) {', '.join(unknown)}; use some of {', '.join(METHODS)}")
    if FLAGS.results:   # before any training: refused outside a source checkout
      from repro import resources  # pylint: disable=g-import-not-at-top
      shipped = resources.writable_data_path("papers", "results")
      readme = resources.writable_data_path("README.md")
    real_features = reference_features(FLAGS.n_samples)
    curve_stats = reference_statistics_file(FLAGS.workdir, FLAGS.n_samples)
    runs = []
    for seed in range(FLAGS.seeds):   # seed-major: an interrupted table has every method
      for method in FLAGS.methods:
        workdir = os.path.join(FLAGS.workdir, f"{method}_s{seed}")
        result = run_one(method, seed, workdir, FLAGS.steps, real_features, FLAGS.n_samples,
                         curve_stats)
        m = result["metrics"]
        print(f"{method} seed {seed}: FID {m['fid']:.2f}  KID {m['kid']:.3f}  "
              f"P {m['precision']:.3f} R {m['recall']:.3f} D {m['density']:.3f} "
              f"C {m['coverage']:.3f}  ({result['train_wall_seconds']:.0f} s)", flush=True)
        runs.append(result)
    table = summarize(runs)
    text = markdown(table, FLAGS.steps, FLAGS.n_samples, FLAGS.hardware, mean_curves(runs))
    print(text)
    record = {"command": " ".join(sys.argv), "steps": FLAGS.steps, "shared": SHARED,
              "network": NETWORK, "n_samples": FLAGS.n_samples, "hardware": FLAGS.hardware,
              "table": table, "runs": [dict(r, samples_preview=None) for r in runs]}
    folders = [FLAGS.workdir] + ([shipped] if FLAGS.results else [])
    for folder in folders:
      with atomic_output(os.path.join(folder, RESULTS)) as f:
        json.dump(record, f, indent=1)
      order = write_figure(runs, os.path.join(folder, FIGURE))
      drawn = write_curves(runs, os.path.join(folder, CURVES_FIGURE))
      print(f"wrote {os.path.join(folder, RESULTS)}"
            + (f", the sample grid (rows: {', '.join(order)}) {FIGURE}" if order else "")
            + (f" and the FID curves ({', '.join(drawn)}) {CURVES_FIGURE}" if drawn else ""))
    if FLAGS.results:
      from repro import verify  # pylint: disable=g-import-not-at-top
      if not verify.update_readme(readme, text, README_MARKERS):
        print(f"{readme} has no {README_MARKERS[0]} block; not updated")

  app.run(run, argv=argv, flags_parser=parse_flags_or_exit)


if __name__ == "__main__":
  main()
