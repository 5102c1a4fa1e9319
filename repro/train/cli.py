"""Flags shared by every paper module and the `run_paper` entry point they all call.

A paper module supplies `configure(dataset, flags) -> (TrainConfig, Objective, extras)` holding its
settings per dataset (with sources); flags given on the command line override them.
"""

import os
import sys

from absl import app, flags, logging

# TensorFlow's C++ INFO/WARNING start-up lines would bury the one-line errors; TF_CPP_MIN_LOG_LEVEL=0
# in the environment brings them back.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from repro.errors import UsageError, exit_on_error, parse_flags_or_exit

FLAGS = flags.FLAGS

flags.DEFINE_string("dataset", None, "Dataset name (see repro.data.DATASETS).")
flags.DEFINE_string("workdir", None, "Folder for checkpoints, TensorBoard events, samples. "
                    "Default: runs/<paper>_<dataset>.")
flags.DEFINE_integer("steps", None, "Generator steps (default: the paper's).", lower_bound=1)
flags.DEFINE_integer("batch_size", None, "Global batch size.", lower_bound=1)
flags.DEFINE_integer("seed", None, "Seed for weights, noise and data order.")
flags.DEFINE_integer("save_every", None, "Checkpoint every N generator steps.", lower_bound=1)
flags.DEFINE_integer("eval_every", None, "Samples (and metrics) every N generator steps.", lower_bound=1)
flags.DEFINE_integer("log_every", None, "Progress line and TensorBoard scalars every N steps.", lower_bound=1)
flags.DEFINE_integer("n_critic", None, "Critic steps per generator step.", lower_bound=1)
flags.DEFINE_float("g_lr", None, "Generator learning rate.")
flags.DEFINE_float("d_lr", None, "Critic (discriminator) learning rate.")
flags.DEFINE_integer("z_dim", None, "Noise dimension.", lower_bound=1)
flags.DEFINE_float("ema_decay", None, "EMA decay of generator weights (0 disables).")
flags.DEFINE_integer("ema_start", None, "Generator step from which the EMA averages (copies before).",
                     lower_bound=0)
flags.DEFINE_string("data_dir", None, "tfds data dir, or a folder of Fashion-MNIST IDX .gz files.")
flags.DEFINE_string("text_file", None, "Language GANs: a UTF-8 text file, one sentence per line (or "
                    "the extracted One Billion Word folder); selects --dataset=text.")
flags.DEFINE_boolean("download", False, "Let tfds download and prepare the dataset.")
flags.DEFINE_boolean("deterministic", False, "Turn on TensorFlow op determinism.")
flags.DEFINE_string("strategy", "auto", "auto|one|mirrored|multiworker|tpu")
flags.DEFINE_integer("cpu_devices", 0, "Split the CPU into N logical devices (testing Mirrored).")
flags.DEFINE_string("tpu", "", "TPU address for --strategy=tpu.")
flags.DEFINE_boolean("jit_compile", None, "XLA-compile the training step (default: the paper "
                     "config's choice, on where bench/bench_train_step.py measured it faster).")
flags.DEFINE_enum("nan_policy", "stop", ["stop", "skip"], "On a NaN/Inf loss or gradient: stop "
                  "(exit 3, the last good checkpoint kept) or skip that update and go on.")
flags.DEFINE_string("net", None, "Network-builder arguments overriding the paper's, as a JSON "
                    "object, e.g. --net='{\"hidden\": [64, 64]}' (MLP) or '{\"width\": 32}'.")
flags.DEFINE_string("checkpoint", None, "Pretrained generator: a name from checkpoints/manifest.json "
                    "or a .keras file. Writes a sample grid and evaluates it; no training.")

flags.register_validator("g_lr", lambda v: v is None or v > 0, "--g_lr must be positive")
flags.register_validator("d_lr", lambda v: v is None or v > 0, "--d_lr must be positive")
flags.register_validator("ema_decay", lambda v: v is None or 0 <= v < 1, "--ema_decay must be in [0, 1)")
flags.register_validator("strategy", lambda v: v in ("auto", "one", "mirrored", "multiworker", "tpu"),
                         "--strategy must be one of auto, one, mirrored, multiworker, tpu")
flags.register_validator("cpu_devices", lambda v: v is not None and v >= 0,
                         "--cpu_devices must be >= 0")


@flags.validator("net")
def _check_model_flag(value):
  if value is not None:
    try:
      parse_model_flag(value)
    except UsageError as e:
      raise flags.ValidationError(str(e)) from None
  return True

# Keys of repro.models.build_models(**kw) that --net may set.
MODEL_KEYS = ("width", "g_norm", "d_norm", "hidden", "kernel_size", "g_width", "d_width", "d_layers",
              "l2", "g_l2", "init")

OVERRIDABLE = ("steps", "batch_size", "seed", "save_every", "eval_every", "log_every", "n_critic",
               "g_lr", "d_lr", "z_dim", "ema_decay",
               "ema_start", "jit_compile")


def apply_flags(config):
  """Returns `config` with every flag the user set replacing the paper default."""
  overrides = {name: getattr(FLAGS, name) for name in OVERRIDABLE
               if getattr(FLAGS, name) is not None}
  if FLAGS.data_dir:
    overrides["data_dir"] = FLAGS.data_dir
  overrides["download"] = FLAGS.download
  if FLAGS.net:
    overrides["model"] = dict(config.model, **parse_model_flag(FLAGS.net))
  if FLAGS.text_file:
    overrides["text"] = dict(config.text, file=FLAGS.text_file)
  return config.replace(**overrides).validate()


def parse_model_flag(text):
  """--net's JSON object of build_models arguments, checked."""
  import json  # pylint: disable=g-import-not-at-top
  try:
    value = json.loads(text)
  except ValueError as e:
    raise UsageError(f"--net is not valid JSON ({e}); write e.g. --net='{{\"hidden\": [64, 64]}}'"
                     ) from None
  if not isinstance(value, dict):
    raise UsageError(f"--net must be a JSON object such as {{\"hidden\": [64, 64]}}, got {text}")
  unknown = sorted(set(value) - set(MODEL_KEYS))
  if unknown:
    raise UsageError(f"--net has unknown key(s) {', '.join(unknown)}; known: {', '.join(MODEL_KEYS)}")
  for key, v in value.items():
    sizes = v if isinstance(v, list) else [v]
    if key in ("width", "hidden", "kernel_size", "g_width", "d_width", "d_layers") and not (
        sizes and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in sizes)):
      raise UsageError(f"--net {key} must be a positive integer (or a list of them for hidden), "
                       f"got {v!r}")
  return value


def text_dataset_flag():
  """--dataset, with --text_file meaning --dataset=text (a usage error with another dataset)."""
  if FLAGS.text_file:
    if FLAGS.dataset not in (None, "text"):
      raise UsageError(f"--text_file trains on a local text file (--dataset=text); it cannot be "
                       f"combined with --dataset={FLAGS.dataset}")
    return "text"
  return FLAGS.dataset


def run_paper(paper, configure, datasets, default_dataset):
  """The `main` of a paper module: pick the paper's config for --dataset, apply flags, train."""
  app.run(train_main(paper, configure, datasets, default_dataset),
          flags_parser=parse_flags_or_exit)
  sys.exit(0)


def train_main(paper, configure, datasets, default_dataset):
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
    if dataset not in datasets:
      raise UsageError(f"{paper} has no settings for --dataset={dataset}; "
                       f"choose one of {', '.join(datasets)}")
    from repro import data  # pylint: disable=g-import-not-at-top
    if not FLAGS.download or dataset == "text":
      data.check_prepared(dataset, FLAGS.data_dir, text_file=FLAGS.text_file)
    if dataset == "text":   # read and check the lines before TensorFlow starts (cached)
      from repro.data import text  # pylint: disable=g-import-not-at-top
      text.load_corpus(dataset, FLAGS.text_file, data_dir=FLAGS.data_dir, download=FLAGS.download)
    from repro.train import distribute  # pylint: disable=g-import-not-at-top
    if FLAGS.strategy == "multiworker":
      distribute.parse_tf_config()   # a bad TF_CONFIG fails before TensorFlow starts
    # Imported here so --help, flag errors and missing data do not pay for TensorFlow.
    from repro.train.trainer import Trainer  # pylint: disable=g-import-not-at-top
    distribute.split_cpu(FLAGS.cpu_devices)
    strategy = distribute.make_strategy(FLAGS.strategy, FLAGS.tpu)   # before any other TF op
    config, objective, extras = configure(dataset)
    config = apply_flags(config)
    workdir = FLAGS.workdir or f"runs/{paper}_{dataset}"
    print(f"{paper} on {dataset}: {config.arch}, {config.steps} steps, batch {config.batch_size}, "
          f"n_critic {config.n_critic}, lr G {config.g_lr} / D {config.d_lr}; workdir {workdir}",
          flush=True)
    trainer = Trainer(config, objective, workdir, strategy=strategy,
                      deterministic=FLAGS.deterministic, nan_policy=FLAGS.nan_policy, **extras)
    trainer.train()
    return 0

  return main
