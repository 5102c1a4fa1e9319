"""Errors the command-line entry points turn into one-line messages.

Exit codes (the README's table): 0 done; 1 something on this machine is missing or full (data,
weights, disk space); 2 usage error (flags, names, input files); 3 training diverged (NaN/Inf); 4 a
worker of a multi-worker run was lost (restart every worker with the same --workdir to resume);
5 not reproduced (verify --strict, checkpoints evaluate); 128 + the signal (130 SIGINT, 143 SIGTERM)
training stopped by a signal after saving its checkpoint.
"""

import functools
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile


class UsageError(ValueError):
  """Bad flags, names or input files: the user can fix it. Exit code 2."""


class DataUnavailableError(RuntimeError):
  """A dataset, weight file or statistics file is not on this machine. Exit code 1."""


class StorageError(RuntimeError):
  """Writing a checkpoint or another output failed (disk full, I/O error). Exit code 1."""


class DivergenceError(RuntimeError):
  """A loss or gradient became NaN/Inf during training. Exit code 3."""


class ClusterError(RuntimeError):
  """A worker of a multi-worker run was lost or the workers disagree. Exit code 4."""


class StoppedBySignal(Exception):
  """A multi-run command (a table, the benchmark) whose current run was stopped by SIGINT or
  SIGTERM after saving its checkpoint. Exit code 128 + the signal (130, 143), as shells report it."""

  def __init__(self, signum, message):
    super().__init__(message)
    self.signum = int(signum)


EXIT_CODES = ((UsageError, 2), (DataUnavailableError, 1), (StorageError, 1),
              (DivergenceError, 3), (ClusterError, 4))


def exit_on_error(main):
  """Wraps an absl `main(argv)` so known errors print one line instead of a traceback.

  It also keeps TensorFlow's C++ start-up notices (printed on stderr while `import tensorflow`
  runs, whatever TF_CPP_MIN_LOG_LEVEL says) from burying those lines; see `quiet_tensorflow_import`.
  """

  @functools.wraps(main)
  def wrapped(argv):
    quiet_tensorflow_import()
    try:
      return main(argv)
    except StoppedBySignal as e:
      print(one_line(e), flush=True)
      sys.exit(128 + e.signum)
    except tuple(cls for cls, _ in EXIT_CODES) as e:
      code = next(code for cls, code in EXIT_CODES if isinstance(e, cls))
      print(f"error: {one_line(e)}", file=sys.stderr, flush=True)
      _silence_warnings_at_exit()
      sys.exit(code)

  return wrapped


def _silence_warnings_at_exit():
  """Keeps the error the last line: objects torn down at exit (e.g. a failed checkpoint restore)
  would otherwise log warnings after it."""
  import logging as std_logging  # pylint: disable=g-import-not-at-top
  std_logging.getLogger("tensorflow").setLevel(std_logging.ERROR)
  std_logging.getLogger("absl").setLevel(std_logging.ERROR)
  std_logging.getLogger().setLevel(std_logging.ERROR)


def one_line(e):
  """An exception's message on one line (newlines and runs of spaces collapsed)."""
  return " ".join(str(e).split()) or type(e).__name__


_SHORT_HELP = ("--help", "-help", "-h", "--helpshort", "-helpshort", "-?")
_FULL_HELP = ("--helpfull", "-helpfull")


def parse_flags_or_exit(argv):
  """absl flags parser for `app.run(..., flags_parser=...)`: bad flags exit 2 with one line;
  --help prints the command's own flags and exits 0 (--helpfull: with absl's, also exit 0)."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  args = list(argv[1:])
  args = args[:args.index("--")] if "--" in args else args
  if any(a in _SHORT_HELP or a in _FULL_HELP for a in args):
    try:
      print(command_help(flags.FLAGS, full=any(a in _FULL_HELP for a in args)), flush=True)
    except BrokenPipeError:   # `--help | head`
      os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    print(f"error: {one_line(e)} (see --helpshort)", file=sys.stderr)
    sys.exit(2)


def command_help(flag_values, full=False):
  """The running command's description (its __main__ docstring) and the flags its modules define,
  module by module with their help and defaults (absl's own logging flags only when `full`)."""
  doc = (getattr(sys.modules.get("__main__"), "__doc__", None) or "").strip()
  parts = [doc] if doc else []
  modules = sorted(flag_values.flags_by_module_dict())
  own = [m for m in modules if not m.startswith("absl.")]
  for module in own + ([m for m in modules if m.startswith("absl.")] if full else []):
    text = flag_values.module_help(module).strip()
    if text:
      parts.append(text)
  if not full:
    parts.append("--helpfull also lists absl's own flags (logging, verbosity).")
  return "\n\n".join(parts)


# ---- TensorFlow's start-up notices ---------------------------------------------------------------
# TensorFlow 2.21 prints these through C++ absl logging before its log level is applied, so
# TF_CPP_MIN_LOG_LEVEL does not silence them. Only lines matching these patterns are dropped; anything
# else TensorFlow prints while importing is passed on to stderr unchanged.
_TF_IMPORT_NOISE = (
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called"),
    re.compile(r"^[IW]\d{4} [\d:. ]+\d+ port\.cc:\d+\] oneDNN custom operations are on"),
    re.compile(r"^[IW]\d{4} [\d:. ]+\d+ cpu_feature_guard\.cc:\d+\]"),
    re.compile(r"^To enable the following instructions: .* rebuild TensorFlow"),
)


class _QuietLoader(importlib.abc.Loader):
  """Runs the real loader of `tensorflow` with file descriptor 2 captured, then replays the
  captured lines that are not known start-up notices."""

  def __init__(self, real):
    self._real = real

  def create_module(self, spec):
    return self._real.create_module(spec)

  def exec_module(self, module):
    with _filtered_stderr_fd():
      self._real.exec_module(module)

  def __getattr__(self, name):   # get_resource_reader, is_package, ... of the real loader
    return getattr(self._real, name)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):

  def find_spec(self, fullname, path, target=None):
    if fullname != "tensorflow":
      return None
    _remove_finder()
    spec = importlib.machinery.PathFinder.find_spec(fullname, path)
    if spec is not None and spec.loader is not None:
      spec.loader = _QuietLoader(spec.loader)
    return spec


def _remove_finder():
  sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietTensorFlowFinder)]


def quiet_tensorflow_import():
  """The first `import tensorflow` after this call runs with TF's C++ start-up notices filtered
  out of stderr. Nothing is imported here (a command that fails before it needs TensorFlow stays
  fast), and it does nothing when TensorFlow is already imported or TF_CPP_MIN_LOG_LEVEL=0."""
  if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
    return
  if not any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _QuietTensorFlowFinder())


class _filtered_stderr_fd:  # pylint: disable=invalid-name
  """Captures what is written to file descriptor 2 into an unlinked temporary file; on exit
  restores fd 2 and writes back every captured line that is not a known TF start-up notice."""

  def __enter__(self):
    try:
      sys.stderr.flush()
    except (AttributeError, ValueError):
      pass
    self._saved = os.dup(2)
    self._capture = tempfile.TemporaryFile()
    os.dup2(self._capture.fileno(), 2)
    return self

  def __exit__(self, *exc):
    os.dup2(self._saved, 2)
    os.close(self._saved)
    self._capture.seek(0)
    text = self._capture.read().decode("utf-8", "replace")
    self._capture.close()
    kept = [line for line in text.splitlines()
            if line.strip() and not any(p.search(line) for p in _TF_IMPORT_NOISE)]
    if kept:
      os.write(2, ("\n".join(kept) + "\n").encode())
    return False
