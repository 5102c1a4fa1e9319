"""Errors the command-line entry points turn into one-line messages."""

import functools
import sys


class UsageError(ValueError):
  """Bad flags, names or input files: the user can fix it. Exit code 2."""


class DataUnavailableError(RuntimeError):
  """A dataset, weight file or statistics file is not on this machine. Exit code 1."""


class DivergenceError(RuntimeError):
  """A loss or gradient became NaN/Inf during training. Exit code 3."""


def exit_on_error(main):
  """Wraps an absl `main(argv)` so known errors print one line instead of a traceback."""

  @functools.wraps(main)
  def wrapped(argv):
    try:
      return main(argv)
    except UsageError as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(2)
    except DataUnavailableError as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(1)
    except DivergenceError as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(3)

  return wrapped


def parse_flags_or_exit(argv):
  """absl flags parser for `app.run(..., flags_parser=...)`: bad flags exit 2 with one line."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    print(f"error: {e} (see --helpshort)", file=sys.stderr)
    sys.exit(2)
