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
  return _run(f"repro.papers.{paper}", "main")


def verify():
  return _run("repro.verify.__main__", "run")


def checkpoints():
  return _run("repro.checkpoints", "main")


def fid():
  return _run("repro.metrics.fid_cli", "run")


def benchmark():
  return _run("repro.benchmark", "main")


def train_classifier():
  return _run("repro.metrics.train_classifier", "run")


def _run(module_name, function):
  """Runs a command module's main as `python -m` would (its docstring is what --help shows);
  absl's app.run exits through SystemExit with the command's code."""
  module = importlib.import_module(module_name)
  main_module = sys.modules.get("__main__")
  if main_module is not None and module.__doc__:
    main_module.__doc__ = module.__doc__
  result = getattr(module, function)()
  return result if isinstance(result, int) else 0
