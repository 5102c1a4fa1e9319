"""Whole-run studies: the suite's training command against the official code over many seeds.

  python -m repro.studies.whole_run --study=wgan_gp_8gaussians --seeds=1-8 --workdir=runs/whole_run

trains the study's suite command once per seed (a finished run resumes without training), scores
every final generator with the study's scorer, and compares the per-seed scores with the official
code's per metric: a one-sided rank test of "the suite is worse" at level ALPHA, and the means
within the official runs' standard deviation (repro.studies.two_sample.compare). The official
runs are the numbers recorded in papers/results/whole_run_<study>.json, or, with --official=DIR,
the official code's own samples (DIR/<prefix>_seed<S>.npy or .npz with `samples`, produced by
running the official code outside the suite), scored here by the same scorer. Writes
<workdir>/<study>.json; --results also rewrites the recorded file (a source checkout only).
`python -m repro.verify --paper=P` checks the recorded comparison (entries with evaluate =
"whole_run_study").
"""

import dataclasses
import datetime
import json
import os
import subprocess
import sys
from typing import Callable, Tuple

import numpy as np

from repro.errors import DataUnavailableError, StoppedBySignal, UsageError
from repro.studies import two_sample

ALPHA = 0.05
MIN_SEEDS = 8
# The suite's generator is sampled with numpy noise default_rng(SAMPLE_SEED_OFFSET + seed); the
# 8gaussians reference points are eight_gaussians_batch(N_SCORE, [REAL_SEED, seed]).
SAMPLE_SEED_OFFSET = 10000
REAL_SEED = 987654
N_SCORE = 4000


@dataclasses.dataclass(frozen=True)
class Study:
  name: str
  paper: str
  description: str
  metrics: Tuple[Tuple[str, str, float], ...]   # (metric, "higher"|"lower" is better, resolution)
  commands: Callable                            # (seeds, workdir) -> [argv after `python`]
  samples: Callable                             # (workdir, seed) -> the suite's final samples
  score: Callable                               # (samples, seed) -> {metric: value}
  official: dict                                # source, settings, seeding, prefix
  scorer: str
  default_seeds: Tuple[int, ...]


# ---- gan_toy.py (WGAN-GP and WGAN with clipping on 8gaussians) ------------------------------------

def _toy_commands(variant):
  def commands(seeds, workdir):
    return [["-m", "repro.papers.wgan", "--dataset=8gaussians", f"--variant={variant}",
             "--steps=2000", f"--seed={s}", f"--workdir={os.path.join(workdir, f'seed{s}')}"]
            for s in seeds]
  return commands


def _final_samples(steps, n):
  """(workdir, seed) -> n samples of the final generator of <workdir>/seed<seed> (noise seed
  SAMPLE_SEED_OFFSET + seed), refusing a run that did not reach `steps`."""
  def samples(workdir, seed):
    from repro import checkpoints  # pylint: disable=g-import-not-at-top
    generator = checkpoints.load_from_workdir(os.path.join(workdir, f"seed{seed}"))
    if generator.entry.get("steps") != steps:
      raise DataUnavailableError(f"{workdir}/seed{seed} ends at step "
                                 f"{generator.entry.get('steps')}, not {steps}: run the study "
                                 "without --score_only to finish it")
    return generator.sample(n, seed=SAMPLE_SEED_OFFSET + seed)
  return samples


def _toy_score(samples, seed):
  from repro.data import toy  # pylint: disable=g-import-not-at-top
  from repro.metrics import toy as toy_metrics  # pylint: disable=g-import-not-at-top
  centers, std = toy.mixture_spec("8gaussians")
  real = np.asarray(toy.eight_gaussians_batch(N_SCORE, [REAL_SEED, seed]))
  scores = toy_metrics.mixture_run_scores(samples, real, centers, std)
  return {k: scores[k] for k in ("near", "mmd2", "energy", "modes")}


GAN_TOY = ("igul222/improved_wgan_training@fa66c574a54c4916d27c55441d33753dcc78f6bc gan_toy.py, "
           "run under tf.compat.v1 (TF 2.21, CPU) with lib2to3 and matplotlib/sklearn stubs only")
TOY_SCORER = (f"repro.metrics.toy.mixture_run_scores of {N_SCORE} samples of the final generator "
              "(near: within 0.1 of the nearest 8gaussians centre; modes: centres holding >= 2% "
              f"of the near samples; mmd2: unbiased RBF MMD^2, h = 0.1, and energy: the energy "
              f"distance (V statistics), both against {N_SCORE} points "
              f"eight_gaussians_batch(n, [{REAL_SEED}, seed])); suite noise "
              f"default_rng({SAMPLE_SEED_OFFSET} + seed), official: the graph's own noise")
TOY_METRICS = (("near", "higher", 0.0), ("mmd2", "lower", 0.0), ("energy", "lower", 0.0),
               ("modes", "higher", 1.0))


# ---- KL-WGAN synthetic (f-wgan kl_wgan.py, MoG) ---------------------------------------------------

def _klwgan_commands(seeds, workdir):
  if sorted(seeds) != list(range(len(seeds))):
    raise UsageError("the KL-WGAN studies run the synthetic table's seeds 0..N-1: "
                     f"use --seeds=0-{len(seeds) - 1}")
  return [["-m", "repro.papers.klwgan", "--table=synthetic", "--sets=mog", f"--runs={len(seeds)}",
           f"--workdir={workdir}"]]


def _klwgan_samples(loss):
  def samples(workdir, seed):
    path = os.path.join(workdir, f"mog_{loss}_run{seed}", "generated.npy")
    if not os.path.isfile(path):
      raise DataUnavailableError(f"{path} missing: run the study without --score_only")
    return np.load(path, allow_pickle=False)
  return samples


def _klwgan_score(samples, seed):
  del seed   # one evaluation set for every run (the notebook's)
  from repro.papers import klwgan  # pylint: disable=g-import-not-at-top
  return klwgan.evaluate_samples(samples, klwgan.evaluation_points("mog"))


F_WGAN = ("ermongroup/f-wgan@adb22dcfbbb8199e88b521308925232f8684119c synthetic/kl_wgan.py "
          "(PyTorch 2.13 CPU, one thread) with shims only: tqdm as the identity, the hard-coded "
          ".to('cuda') on the CPU, the per-epoch progress print skipped")
KLWGAN_SCORER = ("repro.papers.klwgan.evaluate_samples of the 5000 generated points (G_x) against "
                 "evaluation_points('mog'): Gaussian-KDE log-likelihood (Scott) and MMD x 1e3 as the "
                 "notebook (generative_modeling_plots.ipynb cell 3)")
KLWGAN_METRICS = (("loglik", "higher", 0.0), ("mmd_x1e3", "lower", 0.0))


# ---- TTUR's DCGAN at reduced width on Fashion-MNIST (DCGAN_FID_batched) -------------------------

IMAGE_STEPS, IMAGE_WIDTH, N_IMAGES = 500, 32, 10000


def _image_commands(seeds, workdir):
  return [["-m", "repro.papers.ttur", "--dataset=fashion_mnist", f"--steps={IMAGE_STEPS}",
           f'--net={{"width": {IMAGE_WIDTH}}}', f"--seed={s}",
           f"--workdir={os.path.join(workdir, f'seed{s}')}"] for s in seeds]


def _image_score(samples, seed):
  del seed   # one reference for every run: the first N_IMAGES test images
  from repro import benchmark  # pylint: disable=g-import-not-at-top
  scores = benchmark.scores(benchmark.reference_features(N_IMAGES), benchmark.features(samples))
  return {k: scores[k] for k in ("fid", "kid", "precision", "coverage")}


TTUR_DCGAN = ("bioinf-jku/TTUR@73ab375cdf952a12686d9aa7978567771084da42 DCGAN_FID_batched/"
              "model.py (DCGAN, train, sampler_func) with ops.py and utils.py, under tf.compat.v1 "
              "(TF 2.21, CPU, session threads 1) with the shims of tests/goldens/train_step/"
              "README_ttur.md (tf_slim batch norm with fused=False, conv2d_transpose's static shape, "
              "fid and scipy.misc inert) and a loader: glob lists the 60000 Fashion-MNIST training "
              "images, utils.imread returns image i as float (28x28, grayscale), get_image/transform "
              "as published (x / 127.5 - 1, no crop or resize)")
IMAGE_SCORER = (f"{N_IMAGES} samples of the final generator (inference-mode batch norm: the "
                "official sampler_func, train=False) in the Fashion-MNIST classifier's features "
                f"(repro.benchmark.features) against the first {N_IMAGES} Fashion-MNIST test "
                "images: FID, KID (blocks of 1000), precision (k = 3) and coverage (k = 5) as "
                "repro.benchmark.scores (recall, k = 3, is 0 for every run of this length); suite "
                f"noise U(-1, 1) from default_rng({SAMPLE_SEED_OFFSET} + seed), official: "
                "np.random.uniform(-1, 1) after training")
IMAGE_METRICS = (("fid", "lower", 0.0), ("kid", "lower", 0.0), ("precision", "higher", 0.0),
                 ("coverage", "higher", 0.0))


def _image_study():
  return Study(
      name="ttur_dcgan_fashion_mnist", paper="ttur",
      description=f"TTUR's DCGAN at width {IMAGE_WIDTH} on Fashion-MNIST (28x28), "
                  f"{IMAGE_STEPS} iterations, TTUR rates 1e-4 / 5e-4",
      metrics=IMAGE_METRICS, commands=_image_commands,
      samples=_final_samples(IMAGE_STEPS, N_IMAGES), score=_image_score, scorer=IMAGE_SCORER,
      default_seeds=tuple(range(1, 9)),
      official={"source": TTUR_DCGAN,
                "settings": f"DCGAN(input/output 28x28, is_crop False, c_dim 1, gf_dim = df_dim "
                            f"{IMAGE_WIDTH} (published 64), z_dim 100, batch_size 64, beta1 0.5, "
                            "counter_start 1); train(config) with epoch 1, train_size "
                            f"{64 * IMAGE_STEPS} ({IMAGE_STEPS} batches of the epoch's shuffle), "
                            "learning_rate_d 1e-4, learning_rate_g 5e-4 (Table 1's CIFAR-10 TTUR "
                            "rates, as the suite's Fashion-MNIST recipe), fid_eval_steps 1e9 (no "
                            "FID evaluation during training); then 10 x 1000 samples from "
                            "sampler_fid with z = np.random.uniform(-1, 1, (1000, 100))",
                "seeding": "np.random.seed and tf.set_random_seed = seed before DCGAN(...)",
                "prefix": "ttur_dcgan"})


def _klwgan_study(loss, label, n_seeds):
  return Study(
      name=f"klwgan_mog_{loss}", paper="klwgan",
      description=f"{label} on MoG (f-wgan synthetic), 500 epochs, seeds 0-{n_seeds - 1}",
      metrics=KLWGAN_METRICS, commands=_klwgan_commands, samples=_klwgan_samples(loss),
      score=_klwgan_score, scorer=KLWGAN_SCORER, default_seeds=tuple(range(n_seeds)),
      official={"source": F_WGAN,
                "settings": f"train_network('grid', num_epochs=500, loss_type='{loss}', "
                            "save_id=seed): MoG, 500 epochs of 5000 points (10000 generator "
                            "steps), batch 256, the file's defaults otherwise",
                "seeding": "random.seed, np.random.seed and torch.manual_seed = seed before "
                           "train_network", "prefix": f"mog_{loss}"})


def _toy_study(variant, label, mode, settings):
  return Study(
      name=f"wgan_{variant}_8gaussians", paper="wgan",
      description=f"{label} on 8gaussians at gan_toy.py's settings, 2000 iterations",
      metrics=TOY_METRICS, commands=_toy_commands(variant), samples=_final_samples(2000, N_SCORE),
      score=_toy_score, scorer=TOY_SCORER, default_seeds=tuple(range(1, 9)),
      official={"source": GAN_TOY,
                "settings": f"MODE '{mode}', DATASET '8gaussians', ITERS 2000 (else as published: "
                            f"DIM 512, BATCH_SIZE 256, CRITIC_ITERS 5, {settings})",
                "seeding": "np.random.seed, random.seed and tf.set_random_seed = seed",
                "prefix": variant})


STUDIES = {s.name: s for s in (
    _toy_study("gp", "WGAN-GP", "wgan-gp", "LAMBDA .1, Adam 1e-4 (0.5, 0.9)"),
    _toy_study("clip", "WGAN (weight clipping)", "wgan", "clip 0.01, RMSProp 5e-5"),
    _klwgan_study("kl", "KL-WGAN", 8),
    # 16 seeds: at 8 the official runs' sd (0.049) was below the spread two suite seeds showed
    _klwgan_study("hinge", "WGAN (hinge), KL-WGAN's baseline", 16),
    _image_study(),
)}


def get(name):
  if name not in STUDIES:
    raise UsageError(f"unknown study {name!r}; studies: {', '.join(STUDIES)}")
  return STUDIES[name]


def results_file(name):
  """The recorded file of a study, relative to the registry's package data."""
  return os.path.join("results", f"whole_run_{name}.json")


def parse_seeds(text):
  """'1-8' or '0,2,5' (or a mix) -> sorted distinct seeds."""
  seeds = set()
  try:
    for part in text.split(","):
      part = part.strip()
      if not part:
        continue
      if "-" in part:
        lo, hi = (int(v) for v in part.split("-", 1))
        if hi < lo:
          raise ValueError
        seeds.update(range(lo, hi + 1))
      else:
        seeds.add(int(part))
  except (TypeError, ValueError):
    raise UsageError(f"--seeds={text!r}: give seeds as 1-8 or 1,2,3") from None
  if not seeds or min(seeds) < 0:
    raise UsageError(f"--seeds={text!r}: give non-negative seeds as 1-8 or 1,2,3")
  return sorted(seeds)


# ---- scoring and comparing ------------------------------------------------------------------------

def score_official(study, folder, seeds):
  """Scores the official code's samples DIR/<prefix>_seed<S>.npy|.npz for every seed."""
  runs = []
  for seed in seeds:
    stem = os.path.join(folder, f"{study.official['prefix']}_seed{seed}")
    path = next((stem + ext for ext in (".npy", ".npz") if os.path.isfile(stem + ext)), None)
    if path is None:
      raise UsageError(f"--official={folder}: no {os.path.basename(stem)}.npy or .npz (the "
                       "official code's final samples for that seed)")
    data = np.load(path, allow_pickle=False)
    samples = data["samples"] if path.endswith(".npz") else data
    runs.append(dict(seed=seed, **_clean(study.score(np.asarray(samples, np.float64), seed))))
  return runs


def _clean(scores):
  return {k: (int(v) if isinstance(v, (int, np.integer)) else float(v)) for k, v in scores.items()}


def compare(study, official_runs, suite_runs, alpha=ALPHA):
  """{metric: two_sample.compare(suite, official)} over the runs' per-seed values."""
  return {metric: two_sample.compare([r[metric] for r in suite_runs],
                                     [r[metric] for r in official_runs], better, alpha, resolution)
          for metric, better, resolution in study.metrics}


def recorded(name):
  """The recorded study (papers/results/whole_run_<name>.json) as a dict, or None."""
  from repro import resources  # pylint: disable=g-import-not-at-top
  path = resources.data_path("papers", results_file(name))
  if not os.path.isfile(path):
    return None
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def format_table(study, result):
  lines = [f"{study.name}: {study.description}",
           f"official {len(result['official']['runs'])} seeds, suite {len(result['suite']['runs'])}"
           f" seeds; one-sided rank test of 'the suite is worse' at {result['alpha']}, means within "
           "the official runs' standard deviation (or the metric's resolution)",
           f"{'metric':10s} {'better':7s} {'suite mean±sd':>18s} {'official mean±sd':>18s} "
           f"{'Δ':>9s} {'p(worse)':>9s}  verdict"]
  for metric, better, _ in study.metrics:
    c = result["comparison"][metric]
    verdict = "within" if c["passed"] else (
        "WORSE" if not c["not_worse"] else "outside the margin")
    lines.append(f"{metric:10s} {better:7s} {c['mean'][0]:>10.4g}±{c['sd'][0]:<7.3g} "
                 f"{c['mean'][1]:>10.4g}±{c['sd'][1]:<7.3g} {c['difference']:>+9.3g} "
                 f"{c['p_worse']:>9.3f}  {verdict}")
  for r_off, label in ((result["official"]["runs"], "official"), (result["suite"]["runs"], "suite")):
    per_seed = ", ".join(f"{r['seed']}: " + "/".join(f"{r[m[0]]:.3g}" for m in study.metrics)
                         for r in r_off)
    lines.append(f"{label} per seed ({'/'.join(m[0] for m in study.metrics)}): {per_seed}")
  return "\n".join(lines)


README_MARKERS = ("<!-- whole-run-studies: written by python -m repro.studies.whole_run --results -->",
                  "<!-- /whole-run-studies -->")


def _mean_sd(c, side):
  return f"{c['mean'][side]:.4g} ± {c['sd'][side]:.2g}"


def markdown_summary(records):
  """The README table of recorded studies: per study and metric, both sides' mean ± sd over seeds,
  the difference, the margin, the one-sided p-value and the verdict."""
  lines = ["| study | metric | better | official mean ± sd (seeds) | suite mean ± sd (seeds) | Δ | margin "
           "| p(suite worse) | within |", "|---|---|---|---|---|---|---|---|---|"]
  for name, data in records:
    study = get(name)
    n_off, n_suite = len(data["official"]["runs"]), len(data["suite"]["runs"])
    for metric, better, _ in study.metrics:
      c = data["comparison"][metric]
      lines.append(f"| {name} | {metric} | {better} | {_mean_sd(c, 1)} ({n_off}) | "
                   f"{_mean_sd(c, 0)} ({n_suite}) | {c['difference']:+.3g} | {c['margin']:.3g} | "
                   f"{c['p_worse']:.3f} | {'✓' if c['passed'] else '✗'} |")
  return "\n".join(lines)


def recorded_studies():
  return [(name, data) for name, data in ((n, recorded(n)) for n in STUDIES) if data is not None]


def _git_commit():
  here = os.path.dirname(os.path.abspath(__file__))
  try:
    out = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, timeout=10, check=False)
  except OSError:
    return None
  return out.stdout.strip() or None


def run_study(study, seeds, workdir, official=None, score_only=False, log=print):
  """Trains (unless score_only), scores and compares; returns the study record."""
  from repro import machine  # pylint: disable=g-import-not-at-top
  commands = study.commands(seeds, workdir)   # bad seeds for the study fail here, before anything
  if official:
    official_block = dict({k: v for k, v in study.official.items() if k != "prefix"},
                          scorer=study.scorer, runs=score_official(study, official, seeds))
  else:
    previous = recorded(study.name)
    if previous is None:
      raise DataUnavailableError(f"no recorded official runs for {study.name} "
                                 f"({results_file(study.name)}): pass --official=DIR with the "
                                 "official code's samples")
    official_block = previous["official"]
  if not score_only:
    for argv in commands:
      log("training: python " + " ".join(argv))
      code = subprocess.run([sys.executable] + argv, check=False).returncode
      if code in (130, 143):
        raise StoppedBySignal(code - 128, "stopped (checkpoint saved): run the same command to "
                              "resume")
      if code:
        raise DataUnavailableError(f"the training command exited {code}: python {' '.join(argv)}")
  suite_runs = []
  for seed in seeds:
    suite_runs.append(dict(seed=seed, **_clean(study.score(study.samples(workdir, seed), seed))))
  comparison = compare(study, official_block["runs"], suite_runs)
  return {"study": study.name, "paper": study.paper, "description": study.description,
          "recorded": datetime.date.today().isoformat(), "machine": machine.description(),
          "alpha": ALPHA, "metrics": [list(m) for m in study.metrics],
          "criterion": "per metric: one-sided exact Mann-Whitney U test of 'the suite is worse' "
                       f"not rejected at {ALPHA}, and |mean(suite) - mean(official)| <= the "
                       "official runs' standard deviation (ddof 1), or the metric's resolution "
                       "when larger (1 for modes)",
          "official": official_block,
          "suite": {"commands": ["python " + " ".join(a).replace(workdir, "W") for a in commands],
                    "workdir": "W", "scored_at": _git_commit(), "scorer": study.scorer,
                    "runs": suite_runs},
          "comparison": comparison}


def write_json(path, data):
  os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(data, f, indent=1)
    f.write("\n")
  os.replace(tmp, path)


def define_flags():
  """The command's absl flags (also read by the registry's command checker)."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("study", None, "Study: " + ", ".join(STUDIES))
  flags.DEFINE_string("seeds", "", "Seeds, e.g. 1-8 (default: the study's, at least "
                      f"{MIN_SEEDS}).")
  flags.DEFINE_string("workdir", "runs/whole_run", "Folder of the suite's runs.")
  flags.DEFINE_string("official", "", "Folder of the official code's samples "
                      "(<prefix>_seed<S>.npy|.npz); default: the recorded official runs.")
  flags.DEFINE_boolean("score_only", False, "Score the runs in --workdir without training.")
  flags.DEFINE_boolean("results", False, "Also rewrite papers/results/whole_run_<study>.json "
                       "and the README's table (a source checkout only).")


def main(argv=None):
  from absl import app, flags  # pylint: disable=g-import-not-at-top
  from repro.errors import exit_on_error, parse_flags_or_exit  # pylint: disable=g-import-not-at-top
  define_flags()
  FLAGS = flags.FLAGS

  @exit_on_error
  def run(argv):
    if len(argv) > 1:
      raise UsageError(f"unexpected arguments {' '.join(argv[1:])}; flags look like --name=value")
    if not FLAGS.study:
      raise UsageError(f"give --study (one of {', '.join(STUDIES)})")
    study = get(FLAGS.study)
    seeds = parse_seeds(FLAGS.seeds) if FLAGS.seeds else list(study.default_seeds)
    if FLAGS.official and not os.path.isdir(FLAGS.official):
      raise UsageError(f"--official={FLAGS.official} is not a folder")
    shipped = readme = None
    if FLAGS.results:
      from repro import resources  # pylint: disable=g-import-not-at-top
      shipped = resources.writable_data_path("papers", results_file(study.name))
      readme = resources.writable_data_path("README.md")
    result = run_study(study, seeds, os.path.abspath(FLAGS.workdir), FLAGS.official or None,
                       FLAGS.score_only)
    print(format_table(study, result))
    if len(seeds) < MIN_SEEDS:
      print(f"note: {len(seeds)} seeds; a recorded study needs at least {MIN_SEEDS}")
    out = os.path.join(FLAGS.workdir, f"{study.name}.json")
    write_json(out, result)
    print(f"wrote {out}")
    if shipped:
      if len(seeds) < MIN_SEEDS:
        raise UsageError(f"--results needs at least {MIN_SEEDS} seeds (got {len(seeds)})")
      write_json(shipped, result)
      print(f"wrote {shipped}")
      from repro import fileio  # pylint: disable=g-import-not-at-top
      if fileio.replace_block(readme, markdown_summary(recorded_studies()), README_MARKERS):
        print(f"updated the whole-run table in {readme}")
    return 0 if all(c["passed"] for c in result["comparison"].values()) else 5

  app.run(run, argv=argv, flags_parser=parse_flags_or_exit)


if __name__ == "__main__":
  main()
