"""Where the files the commands read at run time are, and where outputs and caches go.

Shipped data: the claims registry (``papers/*.toml`` and ``papers/results/``) and the shipped weights
(``checkpoints/manifest.json``, the Fashion-MNIST classifier, ``checkpoints/generators/``). In a source
checkout they are the checkout's own ``papers/`` and ``checkpoints/`` folders; an installed package
(``pip install``) carries the same files as ``repro/_data/papers`` and ``repro/_data/checkpoints``
(pyproject.toml maps the folders there). `data_path` is the one way the code finds them.

Outputs: training runs go under the current directory (``runs/...``, relative paths); caches
(reference statistics, the Inception graph) under `cache_dir()`: ``$REPRO_CACHE_DIR``, else
``$XDG_CACHE_HOME/repro``, else ``~/.cache/repro``. Nothing is ever written inside an installed
package: the commands that update shipped files (maintainers') call `writable_data_path`, which
refuses outside a source checkout. No TensorFlow here.
"""

import importlib.resources
import os

from repro.errors import UsageError

CACHE_ENV_VAR = "REPRO_CACHE_DIR"
_INSTALLED_DATA = "_data"


def _package_dir():
  return os.fspath(importlib.resources.files("repro"))


def installed():
  """True when the shipped data lies inside the package (a pip-installed wheel)."""
  return os.path.isdir(os.path.join(_package_dir(), _INSTALLED_DATA))


def data_root():
  """The folder holding ``papers/`` and ``checkpoints/``: ``repro/_data`` when installed, else the
  source checkout (the folder above the ``repro`` package, also Bazel's runfiles tree)."""
  package = _package_dir()
  if installed():
    return os.path.join(package, _INSTALLED_DATA)
  return os.path.dirname(package)


def data_path(*parts):
  """Absolute path of a shipped file, e.g. data_path("papers", "wgan.toml") or a registry path
  written relative to the repository such as data_path("papers/results/ttur_disturbance.json")."""
  return os.path.join(data_root(), *parts)


def display_path(path):
  """`path` relative to the data root when it lies inside it (for messages), else unchanged."""
  root = data_root()
  path = os.fspath(path)
  if os.path.isabs(path) and os.path.commonpath([os.path.abspath(path), root]) == root:
    return os.path.relpath(path, root)
  return path


def writable_data_path(*parts, flag=None):
  """data_path(*parts) for a command that rewrites a shipped file (a maintainer's update of the
  registry results, the manifest, the README); a UsageError when the package is installed, where
  that file lies inside site-packages. `flag` names the option that writes elsewhere."""
  if installed():
    where = "/".join(parts)
    other = f" or pass {flag}=PATH" if flag else ""
    raise UsageError(f"this would rewrite the shipped file {where} inside the installed package; "
                     f"run it from a source checkout{other}")
  return data_path(*parts)


def cache_dir(*parts):
  """$REPRO_CACHE_DIR, else $XDG_CACHE_HOME/repro, else ~/.cache/repro (joined with `parts`)."""
  root = os.environ.get(CACHE_ENV_VAR)
  if not root:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    root = os.path.join(base, "repro")
  return os.path.join(os.path.expanduser(root), *parts)
