"""The command line of every paper module: absl flags mapped onto `recipe(dataset, **overrides)`.

Flags exist only here, at the command-line edge: a paper module defines its own flags in
`define_flags(flags)`, called by its `main()`; the common flags below are defined once, when a
paper's command line is built. A flag the user did not give leaves the paper's default.
"""

import os
import sys

from absl import app, flags, logging

# TensorFlow's C++ INFO/WARNING start-up lines would bury the one-line errors; TF_CPP_MIN_LOG_LEVEL=0
# in the environment brings them back.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from repro import recipe as recipe_lib
from repro.errors import DataUnavailableError, UsageError, exit_on_error, parse_flags_or_exit

FLAGS = flags.FLAGS


def define_common_flags():
  """The flags every paper takes (recipe overrides plus how to run)."""
  if "dataset" in FLAGS:
    return
  flags.DEFINE_string("dataset", None, "Dataset name (see repro.data.DATASETS).")
  flags.DEFINE_string("workdir", None, "Folder for checkpoints, TensorBoard events, samples. "
                      "Default: runs/<paper>_<dataset>.")
  flags.DEFINE_integer("steps", None, "Generator steps (default: the paper's).", lower_bound=1)
  flags.DEFINE_integer("batch_size", None, "Global batch size.", lower_bound=1)
  flags.DEFINE_integer("seed", None, "Seed for weights, noise and data order.")
  flags.DEFINE_integer("save_every", None, "Checkpoint every N generator steps.", lower_bound=1)
  flags.DEFINE_integer("eval_every", None, "Samples (and metrics) every N generator steps.",
                       lower_bound=1)
  flags.DEFINE_integer("log_every", None, "Progress line and TensorBoard scalars every N steps.",
                       lower_bound=1)
  flags.DEFINE_integer("n_critic", None, "Critic steps per generator step.", lower_bound=1)
  flags.DEFINE_float("g_lr", None, "Generator learning rate.")
  flags.DEFINE_float("d_lr", None, "Critic (discriminator) learning rate.")
  flags.DEFINE_integer("z_dim", None, "Noise dimension.", lower_bound=1)
  flags.DEFINE_float("ema_decay", None, "EMA decay of generator weights (0 disables).")
  flags.DEFINE_integer("ema_start", None, "Generator step from which the EMA averages (copies "
                       "before).", lower_bound=0)
  flags.DEFINE_string("data_dir", None, "tfds data dir, or a folder of Fashion-MNIST IDX .gz files.")
  flags.DEFINE_string("text_file", None, "Language GANs: a UTF-8 text file, one sentence per line "
                      "(or the extracted One Billion Word folder); selects --dataset=text.")
  flags.DEFINE_boolean("download", None, "Let tfds download and prepare the dataset.")
  flags.DEFINE_string("init_from", None, "Initial network weights from an .npz: {generator/<keras "
                      "path>: array, critic/<keras path>: array} for every variable, or gan_toy.py's "
                      "variable names for the mlp (README, Initial weights from a file).")
  flags.DEFINE_boolean("deterministic", False, "Turn on TensorFlow op determinism.")
  flags.DEFINE_string("strategy", "auto", "auto|one|mirrored|multiworker|tpu")
  flags.DEFINE_integer("cpu_devices", 0, "Split the CPU into N logical devices (testing Mirrored).")
  flags.DEFINE_string("tpu", "", "TPU address for --strategy=tpu.")
  flags.DEFINE_boolean("jit_compile", None, "XLA-compile the training step (default: the paper "
                       "recipe's choice, on where bench/bench_train_step.py measured it faster).")
  flags.DEFINE_enum("nan_policy", "stop", ["stop", "skip"], "On a NaN/Inf loss or gradient: stop "
                    "(exit 3, the last good checkpoint kept) or skip that update and go on.")
  flags.DEFINE_string("net", None, "Network-builder arguments overriding the paper's, as a JSON "
                      "object, e.g. --net='{\"hidden\": [64, 64]}' (MLP) or '{\"width\": 32}'.")
  flags.DEFINE_string("checkpoint", None, "Pretrained generator: a name from "
                      "checkpoints/manifest.json or a .keras file. Writes a sample grid and "
                      "evaluates it; no training.")
  flags.register_validator("g_lr", lambda v: v is None or v > 0, "--g_lr must be positive")
  flags.register_validator("d_lr", lambda v: v is None or v > 0, "--d_lr must be positive")
  flags.register_validator("ema_decay", lambda v: v is None or 0 <= v < 1,
                           "--ema_decay must be in [0, 1)")
  flags.register_validator("strategy",
                           lambda v: v in ("auto", "one", "mirrored", "multiworker", "tpu"),
                           "--strategy must be one of auto, one, mirrored, multiworker, tpu")
  flags.register_validator("cpu_devices", lambda v: v is not None and v >= 0,
                           "--cpu_devices must be >= 0")
  flags.register_validator("net", _check_net_flag)


def _check_net_flag(value):
  if value is not None:
    try:
      recipe_lib.parse_net(value)
    except UsageError as e:
      raise flags.ValidationError(str(e)) from None
  return True


def define_fid_flags():
  """FID during training (the image settings of TTUR, Coulomb GAN and FOGAN)."""
  flags.DEFINE_enum("fid", None, ["auto", "on", "off"], "FID during training: auto (on when the "
                    "extractor's weights are on this machine, else a one-line notice), on (fail "
                    "fast without them) or off.")
  flags.DEFINE_integer("fid_samples", None, "Generated images per FID evaluation (default: the "
                       "paper's, 10000 for Fashion-MNIST).")
  flags.DEFINE_string("fid_stats", None, "Reference statistics .npz (mu, sigma), e.g. TTUR's "
                      "fid_stats_cifar10_train.npz. Default: computed from the training split and "
                      "cached in ~/.cache/repro/fid_stats ($REPRO_CACHE_DIR/fid_stats).")
  flags.DEFINE_string("fid_extractor", None, "Feature extractor (default: fashion_mnist_cnn for "
                      "fashion_mnist, inception_2015 otherwise).")
  flags.DEFINE_string("inception_graph", None, "classify_image_graph_def.pb or "
                      "inception-2015-12-05.tgz (or $REPRO_INCEPTION_GRAPH).")


def overrides_from_flags(options, extra=()):
  """{override: value} of every flag the user gave among the paper's `options`, the common
  overrides and the `extra` groups (e.g. repro.recipe.FID)."""
  names = list(options) + list(recipe_lib.COMMON) + list(recipe_lib.MERGED) + ["text_file"]
  for group in extra:
    names += list(group)
  overrides = {n: FLAGS[n].value for n in names if n in FLAGS and FLAGS[n].present}
  if "net" in overrides:
    overrides["net"] = recipe_lib.parse_net(overrides["net"])
  return overrides


def text_dataset_flag():
  """--dataset, with --text_file meaning --dataset=text (a usage error with another dataset)."""
  if FLAGS.text_file:
    if FLAGS.dataset not in (None, "text"):
      raise UsageError(f"--text_file trains on a local text file (--dataset=text); it cannot be "
                       f"combined with --dataset={FLAGS.dataset}")
    return "text"
  return FLAGS.dataset


def define_paper_flags(module, default_dataset=None):
  """Every flag of a paper module's command line: the common ones, the FID ones when the module's
  recipe takes them (`module.OVERRIDE_GROUPS`), and its own (`module.define_flags`). --help spells
  out the paper's datasets."""
  define_common_flags()
  FLAGS["dataset"].help = (f"Dataset, one of: {', '.join(module.DATASETS)}"
                           + (f" (default {default_dataset})." if default_dataset else "."))
  if recipe_lib.FID in getattr(module, "OVERRIDE_GROUPS", ()):
    define_fid_flags()
  module.define_flags(flags)


def run_paper(module, default_dataset):
  """The `main` of a paper module: define its flags, map them onto its `recipe`, train."""
  define_paper_flags(module, default_dataset)
  app.run(train_main(module.PAPER, module.recipe, module.OPTIONS, module.DATASETS, default_dataset,
                     getattr(module, "OVERRIDE_GROUPS", ())),
          flags_parser=parse_flags_or_exit)
  sys.exit(0)


def train_main(paper, recipe_fn, options, datasets, default_dataset, extra=()):
  """The absl `main(argv)` behind `run_paper`, for paper modules that add other modes."""

  @exit_on_error
  def main(argv):
    if not FLAGS["verbosity"].present:  # library INFO chatter (checkpoint sharding...) off by default
      logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
      raise UsageError(f"unexpected arguments {' '.join(argv[1:])}; flags look like --name=value")
    if FLAGS.checkpoint:   # sample grid + evaluation of a pretrained generator (repro/checkpoints.py)
      from repro import checkpoints  # pylint: disable=g-import-not-at-top
      return checkpoints.run_checkpoint(paper, FLAGS.checkpoint, FLAGS.workdir, FLAGS.dataset,
                                        FLAGS.data_dir)
    dataset = text_dataset_flag() or default_dataset
    recipe_lib.check_dataset(paper, dataset, datasets)
    recipe = recipe_fn(dataset, **overrides_from_flags(options, extra))
    from repro import data  # pylint: disable=g-import-not-at-top
    if not recipe.data.download or dataset == "text":
      data.check_prepared(dataset, recipe.data.data_dir, text_file=recipe.data.text.get("file"))
    if dataset == "text":   # read and check the lines before TensorFlow starts (cached)
      from repro.data import text  # pylint: disable=g-import-not-at-top
      text.corpus_for(recipe)
    if recipe.init_from and not os.path.isfile(recipe.init_from):
      raise DataUnavailableError(f"--init_from {recipe.init_from}: no such file")
    from repro import registry  # pylint: disable=g-import-not-at-top
    registry.ARCHITECTURES.check_args(recipe.model.arch, recipe.model.args)   # --net
    from repro.train import distribute  # pylint: disable=g-import-not-at-top
    if FLAGS.strategy == "multiworker":
      distribute.parse_tf_config()   # a bad TF_CONFIG fails before TensorFlow starts
    # Imported here so --help, flag errors and missing data do not pay for TensorFlow.
    from repro.train.runner import Trainer  # pylint: disable=g-import-not-at-top
    distribute.split_cpu(FLAGS.cpu_devices)
    strategy = distribute.make_strategy(FLAGS.strategy, FLAGS.tpu)   # before any other TF op
    workdir = FLAGS.workdir or f"runs/{paper}_{dataset}"
    g, d = recipe.g_opt, recipe.d_opt
    print(f"{paper} on {dataset}: {recipe.model.arch}, {recipe.objective.name}, {recipe.steps} "
          f"steps{'' if FLAGS['steps'].present else ' (the paper recipe)'}, batch "
          f"{recipe.batch_size}, n_critic {recipe.n_critic}, lr G {g.lr} / D {d.lr}; on "
          f"{distribute.describe(strategy)}; workdir {workdir} (recipe in {workdir}/recipe.json)",
          flush=True)
    trainer = Trainer(recipe, workdir, strategy=strategy, deterministic=FLAGS.deterministic,
                      nan_policy=FLAGS.nan_policy)
    logged = trainer.train()
    if trainer.stopped_by:    # saved; the runner printed "stopped at step N of M ..."
      return 128 + int(trainer.stopped_by)   # as shells report it: 130 SIGINT, 143 SIGTERM
    summary(trainer, logged)
    return 0

  return main


SUMMARY_METRICS = ("fid", "inception_score", "modes_covered", "hq_fraction", "precision", "recall",
                   "density", "coverage", "js4", "loglik", "mmd_x1e3")
METRIC_NAMES = {"fid": "FID", "inception_score": "Inception Score"}


def _metrics_line(metrics):
  return ", ".join(f"{METRIC_NAMES.get(k, k)} {v:.4g}" for k, v in sorted(metrics.items()))


def last_recorded(workdir):
  """The last record of <workdir>/eval.jsonl ({} when there is none)."""
  import json  # pylint: disable=g-import-not-at-top
  try:
    with open(os.path.join(workdir, "eval.jsonl"), encoding="utf-8") as f:
      lines = [l for l in f if l.strip()]
    return json.loads(lines[-1]) if lines else {}
  except (OSError, ValueError):
    return {}


def summary(trainer, logged):
  """The closing lines of a run: the last metrics with their protocol, where the samples are, how
  to look at them (the chief's only). A run that was already finished reports its last recorded
  evaluation."""
  if not trainer.chief:
    return
  metrics = {k[len("eval/"):] if k.startswith("eval/") else k: v for k, v in logged.items()
             if k in SUMMARY_METRICS}
  workdir = trainer.workdir
  step = int(trainer.step.numpy())
  from repro.train.runner import metric_protocol  # pylint: disable=g-import-not-at-top
  protocol = metric_protocol(trainer.recipe)
  protocol = f" ({protocol})" if protocol else ""
  if metrics:
    print(f"final {_metrics_line(metrics)}{protocol} at step {step}", flush=True)
  else:
    record = last_recorded(workdir)
    recorded = {k: v for k, v in record.items() if k in SUMMARY_METRICS}
    if recorded and record.get("step") == step:
      print(f"final {_metrics_line(recorded)}{protocol} at step {step} (recorded in "
            f"{os.path.join(workdir, 'eval.jsonl')})", flush=True)
    elif recorded:
      print(f"finished at step {step}; last metric {_metrics_line(recorded)}{protocol} at step "
            f"{record.get('step')}", flush=True)
    else:
      print(f"finished at step {step} (no metric evaluated at the last step)", flush=True)
  print(f"samples: {os.path.join(workdir, 'samples')}/", flush=True)
  print(f"tensorboard --logdir {workdir}", flush=True)
