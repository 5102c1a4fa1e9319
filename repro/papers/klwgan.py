"""KL-WGAN (Song & Ermon, ICML 2020, "Bridging the Gap Between f-GANs and Wasserstein GANs",
https://arxiv.org/abs/1910.09779), with its hinge baseline.

  python -m repro.papers.klwgan --dataset=mog [--loss=kl|hinge]          # one 2-D run
  python -m repro.papers.klwgan --table=synthetic [--runs=4] [--epochs=500] [--sets=mog,ring]
  python -m repro.papers.klwgan --dataset=cifar10 [--loss=kl --temperature=5]   # GPU

Sources: ermongroup/f-wgan `synthetic/kl_wgan.py` (2-D training), `synthetic/datasets.py` (data),
`synthetic/generative_modeling_plots.ipynb` (evaluation and the reported table),
`image_generation/train_C10U.sh`, `train_fns.py`, `utils.py`, `BigGAN.py` (images).
Hardware: the 2-D sets run on a 2-core CPU: one run (500 epochs, 10000 generator steps) takes 1.5-4
CPU minutes, the full table (4 runs x 12 cells) about 2 CPU hours; the recorded runs, their times and
the table are in papers/results/klwgan_synthetic.json and the README ("KL-WGAN's synthetic table");
the image configs are meant for a GPU (~97k generator steps of a BigGAN ResNet with 256-channel
blocks: minutes per step on a busy 2-core CPU). On a CPU, `--ch=8` or `--ch=16` makes it usable.
"""

import json
import linecache
import os
import sys
import time

import numpy as np
import tensorflow as tf

from repro import recipe as recipe_lib
from repro.data import catalog, fwgan_synthetic
from repro.errors import StoppedBySignal, UsageError, exit_on_error, parse_flags_or_exit
from repro.papers.evaluation import Evaluator
from repro.train.objective import Objective

PAPER = "klwgan"
SYNTHETIC = fwgan_synthetic.NAMES
IMAGES = ("cifar10", "celeb_a", "mnist", "fashion_mnist")
DATASETS = SYNTHETIC + IMAGES
# The paper's own options (`recipe(dataset, **options)`, the command line's flags of these names).
OPTIONS = ("loss", "temperature", "epochs", "ch")
LOSSES = ("kl", "hinge")

# The paper's synthetic table: f-wgan synthetic/generative_modeling_plots.ipynb, cell 4 output
# (LaTeX rows). Log-likelihood: mean ± s.e. over runs 0-1; MMD x 1e3: over runs 0-3.
PAPER_TABLE = {
    "loglik": {
        "hinge": {"mog": (-2.61, 0.03), "banana": (-3.59, 0.00), "ring": (-4.26, 0.01),
                  "square": (-3.71, 0.01), "cosine": (-3.99, 0.01), "funnel": (-3.57, 0.00)},
        "kl": {"mog": (-2.54, 0.00), "banana": (-3.61, 0.03), "ring": (-4.25, 0.00),
               "square": (-3.71, 0.01), "cosine": (-3.98, 0.00), "funnel": (-3.57, 0.00)}},
    "mmd": {
        "hinge": {"mog": (21.70, 5.77), "banana": (2.94, 0.59), "ring": (2.25, 0.42),
                  "square": (2.05, 0.40), "cosine": (1.23, 0.40), "funnel": (1.27, 0.27)},
        "kl": {"mog": (7.03, 2.97), "banana": (1.61, 0.16), "ring": (1.33, 0.18),
               "square": (1.18, 0.18), "cosine": (1.20, 0.27), "funnel": (1.26, 0.34)}},
}
LOGLIK_RUNS = 2   # notebook cell 4: lld_dict[key][:2]
# The notebook draws one evaluation set per data set, `samples = v().sample(5000)` (cell 3, before
# the loops over losses and runs), and scores every run of both losses against it. Here it is
# fwgan_synthetic.evaluation_points(name, EVAL_SEED) for every run (for MoG, Grid's reseed makes
# it the training set whatever the seed, as in f-wgan).
EVAL_SEED = 0


def evaluation_points(dataset):
  return fwgan_synthetic.evaluation_points(dataset, EVAL_SEED)


class KLWGANObjective(Objective):
  """KL-WGAN (loss="kl", temperature T) or the hinge baseline (loss="hinge").

  joint_batch: the critic scores the fake and real batches in one call on their concatenation
  (BigGAN.py G_D.forward without --split_D: D(cat([G_z, x]))), so a spectral-norm critic does one
  power iteration per critic update; False: two calls, real first (synthetic/kl_wgan.py)."""

  def __init__(self, loss="kl", temperature=1.0, joint_batch=False):
    if loss not in LOSSES:
      raise UsageError(f"--loss must be kl or hinge, got {loss!r}")
    if loss == "kl" and not (temperature is not None and temperature > 0 and
                             np.isfinite(temperature)):
      raise UsageError(f"--temperature must be a positive finite number, got {temperature!r}")
    self.loss = loss
    self.temperature = float(temperature) if loss == "kl" else None
    self.name = "klwgan" if loss == "kl" else "hinge"
    self.joint_batch = bool(joint_batch)

  # Not converted by AutoGraph: the only branch is on a Python string, so there is nothing to
  # convert, and conversion re-reads the source from disk at trace time. A table run traces once
  # per cell; when klwgan.py was edited while runs/klwgan_table_r4_b was going, AutoGraph parsed
  # the lines at critic_loss's old line number -- __init__'s body -- and raised "--loss must be kl
  # or hinge, got <Functional name=critic>" (tests/test_klwgan.py reproduces it).
  @tf.autograph.experimental.do_not_convert
  def critic_loss(self, critic, inputs):
    from repro.losses import klwgan  # pylint: disable=g-import-not-at-top
    if self.joint_batch:
      n_fake = tf.shape(inputs.fake)[0]
      scores = critic(tf.concat([inputs.fake, inputs.real], 0), training=True)
      d_fake, d_real = scores[:n_fake], scores[n_fake:]
    else:
      d_real = critic(inputs.real, training=True)    # kl_wgan.py: dis_real first, then dis_fake
      d_fake = critic(inputs.fake, training=True)
    if self.loss == "kl":
      real_term, fake_term = klwgan.discriminator_loss_terms(d_real, d_fake, self.temperature)
      estimate = klwgan.kl_divergence_estimate(d_real, d_fake)
    else:
      real_term, fake_term = klwgan.hinge_discriminator_loss_terms(d_real, d_fake)
      estimate = klwgan.hinge_divergence_estimate(d_real, d_fake)
    return real_term + fake_term, {"loss_real": real_term, "loss_fake": fake_term,
                                   "divergence_estimate": estimate}

  @tf.autograph.experimental.do_not_convert
  def generator_loss(self, critic, inputs):
    from repro.losses import klwgan  # pylint: disable=g-import-not-at-top
    d_fake = critic(inputs.fake, training=True)   # the critic stays in training mode (kl_wgan.py)
    if self.loss == "kl":
      return klwgan.generator_loss(d_fake, self.temperature), {}
    return klwgan.hinge_generator_loss(d_fake), {}


# ---- settings ------------------------------------------------------------------------------------

def synthetic_recipe(dataset, loss="kl", temperature=1.0, epochs=500, seed=0):
  """synthetic/kl_wgan.py `train_network`, scored as the notebook."""
  steps = epochs * fwgan_synthetic.batches_per_epoch()   # 20 loader batches (19 x 256 + 136)/epoch
  every = max(1, steps // 10)
  return recipe_lib.make(
      PAPER, dataset, "fwgan_mlp", z_dim=2,              # noise_dim = 2; Generator/Discriminator
      objective=("klwgan", dict(loss=loss, temperature=temperature)),   # kl_wgan.py T = 1
      batch_size=fwgan_synthetic.BATCH_SIZE,             # DataLoader(batch_size=256), no shuffle
      steps=steps,                                       # num_epochs=500
      n_critic=5,                                        # `for i in range(5)` critic steps
      real_batches="shared",                             # kl_wgan.py: one x for the 5 critic steps
      optimizer="rmsprop_torch", g_lr=2e-4, d_lr=2e-4,   # optim.RMSprop(lr=0.0002) for G and D
      seed=seed,
      save_every=every, log_every=max(1, steps // 50),
      evaluation=recipe_lib.Evaluation(metric="kde_mmd", every=every,
                                       n_samples=fwgan_synthetic.EVAL_SIZE, use_ema=False),
      jit_compile=True)   # XLA 1.5x faster on these nets (bench/results/train_step_mlp.json)


def _image_steps(dataset, epochs):
  # BigGAN-PyTorch loads batch_size * num_D_steps = 256 images per generator step and drops the
  # last incomplete batch.
  return epochs * (catalog.dataset_info(dataset).size() // (64 * 4))


def image_recipe(dataset, loss="kl", temperature=5.0, epochs=500, ch=64):
  """image_generation/train_C10U.sh (unconditional CIFAR-10, BigGAN-PyTorch flags)."""
  from repro.papers import evaluation  # pylint: disable=g-import-not-at-top
  per_epoch = _image_steps(dataset, 1)
  # train.py L229-246, utils.py L929-954: FID every --test_every 5000 iterations once epoch 50 is
  # reached, on 10000 samples of G_ema in training mode (batch norm on each batch of 64, the
  # batch size), pixels truncated to uint8, against the training statistics; --which_best FID
  # keeps the best weights. (pytorch-fid's Inception is the 2015 graph's weights.)
  fid = evaluation.fid_evaluation(dataset, 10000, "truncate", 5000, sampler="training",
                                  sample_batch=64, first_step=50 * per_epoch)
  return recipe_lib.make(
      PAPER, dataset, "biggan_snresnet",
      # --loss_type kl_5; train.py has --split_D off: D scores cat([G(z), x]) in one call
      objective=("klwgan", dict(loss=loss, temperature=temperature, joint_batch=True)),
      # --G_ch/--D_ch default 64; BigGAN G_arch/D_arch. --dataset C10 gives n_classes 10 although
      # the run is unconditional: the ccbn [10, C] gain/bias tables and the critic's SN projection
      # embedding [10, 256] exist and are used with y = 0 (repro/models/snmodels.py). The suite's
      # other image sets have no official run: no class tables.
      model=dict(ch=ch, n_classes=10 if dataset == "cifar10" else 0),
      z_dim=128,                                 # --dim_z default 128, z ~ N(0, I)
      batch_size=64,                             # --batch_size 64
      steps=_image_steps(dataset, epochs),       # --num_epochs 500, 4 D batches/G step
      n_critic=4,                                # --num_D_steps 4 (a fresh real batch each)
      optimizer="adam", g_lr=2e-4, d_lr=2e-4,    # --G_lr 2e-4 --D_lr 2e-4
      g_beta1=0.0, g_beta2=0.999, d_beta1=0.0, d_beta2=0.999,   # utils.py B1 0, B2 0.999
      ema_decay=0.9999, ema_start=1000,          # --ema --use_ema --ema_start 1000, decay 0.9999
      seed=2,                                    # --seed 2
      save_every=2000,                           # --save_every 2000
      evaluation=fid,
      log_every=100)


def recipe(dataset, **overrides):
  """The paper's recipe for `dataset`; options: loss (kl, hinge), temperature (T; 1 on the 2-D
  sets as kl_wgan.py, 5 on images as train_C10U.sh), epochs, ch (BigGAN channel multiplier), and
  the common overrides of repro.recipe."""
  own, common = recipe_lib.split_overrides(PAPER, overrides, OPTIONS)
  recipe_lib.check_dataset(PAPER, dataset, DATASETS)
  loss = own.get("loss", "kl")
  epochs = own.get("epochs", 500)
  if not (isinstance(epochs, int) and epochs >= 1):
    raise UsageError(f"--epochs must be a positive integer, got {epochs}")
  synthetic = dataset in SYNTHETIC
  temperature = own.get("temperature", 1.0 if synthetic else 5.0)
  KLWGANObjective(loss, temperature)   # the parameters' checks, before anything else
  if synthetic:
    if "ch" in own:
      raise UsageError("--ch applies to the image datasets")
    base = synthetic_recipe(dataset, loss, temperature, epochs)
  else:
    ch = own.get("ch", 64)
    if not (isinstance(ch, int) and ch >= 1):
      raise UsageError(f"--ch must be a positive integer, got {ch}")
    base = image_recipe(dataset, loss, temperature, epochs, ch)
  return recipe_lib.apply_overrides(base, common)


def synthetic_evaluation(recipe):
  """KDE log-likelihood and MMD x 1e3 of `n_samples` generated points vs the set's 5000 evaluation
  points (one set for all runs, as the notebook)."""
  cache = {}

  def eval_fn(trainer, step):
    del step
    if not cache:
      cache["points"] = evaluation_points(recipe.dataset)
    return evaluate_samples(trainer.eval_samples(recipe.eval.n_samples), cache["points"])

  return Evaluator(eval_fn)


def evaluate_samples(generated, reference):
  from repro.metrics import toy  # pylint: disable=g-import-not-at-top
  generated = np.asarray(generated, np.float64)
  if not np.all(np.isfinite(generated)):
    return {"loglik": float("nan"), "mmd_x1e3": float("nan")}
  return {"loglik": toy.kde_log_likelihood(generated, reference),
          "mmd_x1e3": 1e3 * toy.mmd_klwgan(generated, reference)}


# ---- the synthetic table -------------------------------------------------------------------------

def train_cell(dataset, loss, seed, epochs, workdir, quiet=True):
  """Trains one (set, loss, run) cell as kl_wgan.py and scores it as the notebook; cached in
  `workdir/result.json` (a finished cell is not retrained)."""
  from repro.train.runner import Trainer  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top
  path = os.path.join(workdir, "result.json")
  if os.path.exists(path):
    with open(path) as f:
      result = json.load(f)
    if result.get("epochs") == epochs:
      return result
  recipe = synthetic_recipe(dataset, loss, 1.0, epochs, seed)
  keras.backend.clear_session()
  wall, cpu = time.time(), time.process_time()
  trainer = Trainer(recipe, workdir, quiet=quiet)
  trainer.train()
  if trainer.stopped_by:   # saved, not finished: no result.json, the next call resumes the cell
    raise StoppedBySignal(trainer.stopped_by, f"stopped in {workdir} at step "
                          f"{int(trainer.step.numpy())} of {recipe.steps} (checkpoint saved): run "
                          "the same command to resume")
  generated = trainer.sample(fwgan_synthetic.EVAL_SIZE, use_ema=False)
  result = evaluate_samples(generated, evaluation_points(dataset))
  result.update(dataset=dataset, loss=loss, seed=seed, epochs=epochs, steps=recipe.steps,
                cpu_seconds=time.process_time() - cpu, wall_seconds=time.time() - wall)
  os.makedirs(workdir, exist_ok=True)
  np.save(os.path.join(workdir, "generated.npy"), generated)   # kl_wgan.py saves G_x too
  with open(path, "w") as f:
    json.dump(result, f, indent=1)
  return result


def _mean_se(values):
  """Notebook: mean and np.std(values) / sqrt(n) (population std)."""
  values = np.asarray(values, np.float64)
  return float(np.mean(values)), float(np.std(values) / np.sqrt(len(values)))


def summarize(results, sets):
  """{metric: {loss: {set: (mean, se, n)}}} with the notebook's run subsets."""
  table = {"loglik": {"hinge": {}, "kl": {}}, "mmd": {"hinge": {}, "kl": {}}}
  for loss in ("hinge", "kl"):
    for name in sets:
      cell = sorted((r for r in results if r["dataset"] == name and r["loss"] == loss),
                    key=lambda r: r["seed"])
      if not cell:
        continue
      lik = [r["loglik"] for r in cell[:LOGLIK_RUNS]]
      mmd = [r["mmd_x1e3"] for r in cell]
      table["loglik"][loss][name] = _mean_se(lik) + (len(lik),)
      table["mmd"][loss][name] = _mean_se(mmd) + (len(mmd),)
  return table


def format_table(table, sets, header=""):
  lines = [header] if header else []
  lines += ["| metric | set | WGAN (hinge) paper | WGAN (hinge) ours | KL-WGAN paper | KL-WGAN ours |",
            "|---|---|---|---|---|---|"]
  for metric, label, digits in (("loglik", "log-lik ↑", 2), ("mmd", "MMD×1e3 ↓", 2)):
    for name in sets:
      row = [label, fwgan_synthetic.TITLES[name]]
      for loss in ("hinge", "kl"):
        p_mean, p_se = PAPER_TABLE[metric][loss][name]
        row.append(f"{p_mean:.{digits}f} ± {p_se:.{digits}f}")
        ours = table[metric][loss].get(name)
        row.append(f"{ours[0]:.{digits}f} ± {ours[1]:.{digits}f} (n={ours[2]})" if ours else "—")
      lines.append("| " + " | ".join(row) + " |")
  return "\n".join(lines)


def _claim(cell_dir):
  """Lets several `--table` processes share the work: a cell is trained by the process that
  creates `<cell>.lock` first (a lock whose process is gone is taken over)."""
  lock = cell_dir.rstrip("/") + ".lock"
  os.makedirs(os.path.dirname(lock) or ".", exist_ok=True)
  for _ in range(2):
    try:
      fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
      try:
        with open(lock) as f:
          pid = int(f.read().strip() or 0)
        os.kill(pid, 0)
        return None            # another live process is training this cell
      except (ProcessLookupError, ValueError, OSError):
        try:
          os.remove(lock)      # stale: its process died
        except FileNotFoundError:
          pass
        continue
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return lock
  return None


def pin_sources(modules=None):
  """Freezes the source AutoGraph will read for the loaded `repro` modules (or `modules`).

  AutoGraph converts a function by re-reading its file through `linecache` when it traces, and
  `linecache` reloads a file whose size or mtime changed. A `--table` process traces a new
  Trainer for every cell over hours, while the checkout is being edited: a function would then be
  converted from whatever now sits at its old line number (runs/klwgan_table_r4_b.log). Entries
  with mtime None are never reloaded, so pinning the text read now keeps conversions consistent
  with the code this process imported.
  """
  if modules is None:
    modules = [m for name, m in list(sys.modules.items())
               if name == "repro" or name.startswith("repro.") or
               (name == "__main__" and getattr(m, "__spec__", None) is not None and
                m.__spec__.name.startswith("repro."))]
  pinned = 0
  for module in modules:
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
      continue
    lines = linecache.getlines(path, module.__dict__)
    if lines:
      linecache.cache[path] = (sum(len(line) for line in lines), None, lines, path)
      pinned += 1
  return pinned


def run_table(sets, runs, epochs, workdir):
  """Trains every (set, loss, run) cell, run-major (all cells of run 0, then run 1, ...) so a
  partial table has the same number of runs everywhere; finished cells are reused."""
  pin_sources()
  results, start = [], time.time()
  pending = [(seed, name, loss) for seed in range(runs) for name in sets
             for loss in ("hinge", "kl")]
  total = len(pending)
  while pending:
    progressed = False
    for cell in list(pending):
      seed, name, loss = cell
      cell_dir = os.path.join(workdir, f"{name}_{loss}_run{seed}")
      done = os.path.exists(os.path.join(cell_dir, "result.json"))
      lock = None if done else _claim(cell_dir)
      if not done and lock is None:
        continue               # someone else is on it; come back later
      try:
        r = train_cell(name, loss, seed, epochs, cell_dir)
      finally:
        if lock:
          os.remove(lock)
      pending.remove(cell)
      results.append(r)
      progressed = True
      print(f"[{len(results)}/{total}] {name:7s} {loss:5s} run {seed}: log-lik {r['loglik']:.3f}"
            f"  MMD×1e3 {r['mmd_x1e3']:.2f}  ({r['cpu_seconds']:.0f} s CPU, "
            f"{r['wall_seconds']:.0f} s wall)  [{time.time() - start:.0f} s so far]", flush=True)
    if pending and not progressed:
      time.sleep(20)
  table = summarize(results, sets)
  cpu = sum(r["cpu_seconds"] for r in results)
  wall = sum(r["wall_seconds"] for r in results)
  header = (f"KL-WGAN synthetic table: {epochs} epochs ({epochs * 20} generator steps) per run, "
            f"{runs} run(s) per cell (seeds 0..{runs - 1}); log-lik over the first "
            f"{min(runs, LOGLIK_RUNS)} run(s), MMD over all; mean ± np.std/sqrt(n) as the notebook."
            f"\nTraining time of these {len(results)} runs: {cpu / 3600:.2f} CPU hours, "
            f"{wall / 3600:.2f} wall hours (per run: {cpu / len(results):.0f} s CPU, "
            f"{wall / len(results):.0f} s wall).\n")
  text = format_table(table, sets, header)
  print(text, flush=True)
  mog = table["mmd"]
  if "mog" in sets and mog["kl"].get("mog") and mog["hinge"].get("mog"):
    verdict = "beats" if mog["kl"]["mog"][0] < mog["hinge"]["mog"][0] else "does NOT beat"
    print(f"\nMoG MMD: KL-WGAN {verdict} the hinge baseline "
          f"({mog['kl']['mog'][0]:.2f} vs {mog['hinge']['mog'][0]:.2f}; paper 7.03 vs 21.70).")
  with open(os.path.join(workdir, "table.md"), "w") as f:
    f.write(text + "\n")
  with open(os.path.join(workdir, "table.json"), "w") as f:
    json.dump({"epochs": epochs, "runs": runs, "results": results,
               "table": {m: {l: {k: list(v) for k, v in d.items()} for l, d in t.items()}
                         for m, t in table.items()}}, f, indent=1)
  return table


def _parse_sets(text):
  if not text:
    return SYNTHETIC
  sets = tuple(s.strip() for s in text.split(",") if s.strip())
  unknown = [s for s in sets if s not in SYNTHETIC]
  if unknown or not sets:
    raise UsageError(f"--sets: unknown set(s) {', '.join(unknown) or '(none)'}; "
                     f"choose from {', '.join(SYNTHETIC)}")
  return sets


def define_flags(flags):
  flags.DEFINE_enum("loss", None, list(LOSSES), "kl: KL-WGAN (the default); hinge: the hinge "
                    "baseline (the paper's 'WGAN' in the synthetic table).")
  flags.DEFINE_float("temperature", None, "KL-WGAN temperature T (default 1 on 2-D sets as "
                     "kl_wgan.py, 5 on images as train_C10U.sh --loss_type kl_5).")
  flags.DEFINE_string("table", "", "'synthetic': train hinge and KL-WGAN on the six 2-D sets and "
                      "print the paper's table next to ours.")
  flags.DEFINE_integer("runs", 4, "Runs per table cell (the notebook: 4 for MMD, the first 2 "
                       "for the log-likelihood).")
  flags.DEFINE_integer("epochs", None, "Epochs over the 5000 training points (default 500, "
                       "kl_wgan.py num_epochs); 20 generator steps each.")
  flags.DEFINE_integer("ch", None, "BigGAN channel multiplier G_ch = D_ch for image sets (default "
                       "64 as train_C10U.sh; e.g. 16 to try it on a CPU).")
  flags.DEFINE_string("sets", "", "Comma-separated subset of the 2-D sets for --table "
                      "(default all six).")


def validate_flags(FLAGS):  # pylint: disable=invalid-name
  """Checks the table's flags; returns the --table sets (or None to train one run)."""
  if FLAGS.epochs is not None and FLAGS.epochs < 1:
    raise UsageError(f"--epochs must be a positive integer, got {FLAGS.epochs}")
  if FLAGS.temperature is not None and not (FLAGS.temperature > 0 and
                                            np.isfinite(FLAGS.temperature)):
    raise UsageError(f"--temperature must be a positive number, got {FLAGS.temperature}")
  if not FLAGS.table:
    return None
  if FLAGS.table != "synthetic":
    raise UsageError(f"--table must be 'synthetic', got {FLAGS.table!r}")
  if FLAGS.runs < 1:
    raise UsageError(f"--runs must be a positive integer, got {FLAGS.runs}")
  if FLAGS["loss"].present or FLAGS.temperature is not None:
    raise UsageError("--table=synthetic trains both losses at T = 1 (kl_wgan.py); "
                     "drop --loss/--temperature")
  return _parse_sets(FLAGS.sets)


def main():
  from absl import app, flags  # pylint: disable=g-import-not-at-top
  from repro.train import cli  # pylint: disable=g-import-not-at-top
  cli.define_paper_flags(sys.modules[__name__], default_dataset="mog")
  train = cli.train_main(PAPER, recipe, OPTIONS, DATASETS, default_dataset="mog")

  @exit_on_error
  def dispatch(argv):
    FLAGS = flags.FLAGS  # pylint: disable=invalid-name
    sets = validate_flags(FLAGS)
    if sets is None:
      return train(argv)
    if len(argv) > 1:
      raise UsageError(f"unexpected arguments {' '.join(argv[1:])}; flags look like --name=value")
    run_table(sets, FLAGS.runs, FLAGS.epochs or 500, FLAGS.workdir or "runs/klwgan_table")
    return 0

  app.run(dispatch, flags_parser=parse_flags_or_exit)


if __name__ == "__main__":
  main()
