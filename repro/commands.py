"""Console scripts of the installed package (pyproject.toml ``[project.scripts]``).

  repro-train PAPER [--flags]     = python -m repro.papers.PAPER [--flags]
  repro-verify                    = python -m repro.verify
  repro-checkpoints               = python -m repro.checkpoints
  repro-fid A B                   = python -m repro.metrics.fid A B
  repro-benchmark                 = python -m repro.benchmark
  repro-train-classifier          = python -m repro.metrics.train_classifier

Each one runs the same `main` as its ``python -m`` form; the exit codes are those of repro.errors.
"""

import importlib
import sys

PAPERS = ("wgan", "ttur", "coulomb", "fogan", "sinkhorn", "klwgan")
TRAIN_USAGE = (f"usage: repro-train PAPER [--flags]  (PAPER: {', '.join(PAPERS)}); "
               "`repro-train PAPER --help` lists the paper's flags")


def train(argv=None):
  """`repro-train PAPER --flag=value ...`: the paper module's command line."""
  argv = list(sys.argv if argv is None else argv)
  args = argv[1:]
  if not args or args[0] in ("-h", "--help", "help"):
    print(TRAIN_USAGE)
    return 0 if args else 2
  paper = args[0]
  if paper not in PAPERS:
    print(f"error: unknown paper {paper!r}; {TRAIN_USAGE[len('usage: '):]}", file=sys.stderr)
    return 2
  sys.argv = [f"repro-train {paper}"] + args[1:]
  return _run(importlib.import_module(f"repro.papers.{paper}").main)


def verify():
  from repro.verify import __main__ as verify_main  # pylint: disable=g-import-not-at-top
  return _run(verify_main.run)


def checkpoints():
  from repro import checkpoints as checkpoints_lib  # pylint: disable=g-import-not-at-top
  return checkpoints_lib.main()


def fid():
  from repro.metrics import fid_cli  # pylint: disable=g-import-not-at-top
  return _run(fid_cli.run)


def benchmark():
  from repro import benchmark as benchmark_lib  # pylint: disable=g-import-not-at-top
  return _run(benchmark_lib.main)


def train_classifier():
  from repro.metrics import train_classifier as train_classifier_lib  # pylint: disable=g-import-not-at-top
  return _run(train_classifier_lib.run)


def _run(main):
  """Runs a command's main; absl's app.run exits through SystemExit with the command's code."""
  result = main()
  return result if isinstance(result, int) else 0
