"""Writing files so that a crash or a kill never leaves a partial file under the final name."""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_output(path, binary=False, suffix=".tmp"):
  """Yields a file object for a temporary file next to `path`; renames it over `path` on success.

  Readers see the old file or the new one, never a partial write. On an error (or a
  KeyboardInterrupt) the temporary file is removed and `path` is left as it was.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, suffix=suffix)
  try:
    with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
      yield f
    _chmod_like_open(tmp)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def _chmod_like_open(path):
  """mkstemp creates 0600 files; give the result the mode open() would (0666 minus umask)."""
  umask = os.umask(0)
  os.umask(umask)
  os.chmod(path, 0o666 & ~umask)


def replace_block(path, block, markers):
  """Replaces the text between the (begin, end) markers in `path` (atomically); False when the
  markers are missing."""
  with open(path, encoding="utf-8") as f:
    text = f.read()
  begin, end = markers
  if begin not in text or end not in text:
    return False
  head, rest = text.split(begin, 1)
  _, tail = rest.split(end, 1)
  with atomic_output(path) as f:
    f.write(head + begin + "\n" + block + "\n" + end + tail)
  return True
