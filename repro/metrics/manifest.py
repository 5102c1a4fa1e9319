"""``checkpoints/manifest.json``: the record of shipped weight files, their sha256 and metrics.

Layout: ``{"checkpoints": {name: {"file": ..., "sha256": ..., "kind": ..., "metrics": {...},
"command": ..., ...}}}``. ``file`` is relative to the manifest's folder. Updates merge one entry
into the existing file (other entries and top-level keys are kept) and replace the file atomically.
No TensorFlow here.
"""

import hashlib
import json
import os

from repro import fileio, resources
from repro.errors import DataUnavailableError, UsageError

CHECKPOINT_DIR = resources.data_path("checkpoints")
DEFAULT_MANIFEST = os.path.join(CHECKPOINT_DIR, "manifest.json")


def sha256_file(path, chunk=1 << 20):
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(chunk), b""):
      h.update(block)
  return h.hexdigest()


def read_manifest(path=None):
  """Returns the manifest dict ({"checkpoints": {}} if the file does not exist)."""
  path = path or DEFAULT_MANIFEST
  if not os.path.exists(path):
    return {"checkpoints": {}}
  try:
    with open(path, encoding="utf-8") as f:
      data = json.load(f)
  except (OSError, ValueError) as e:
    raise UsageError(f"cannot read checkpoint manifest {path}: {' '.join(str(e).split())}") from None
  if not isinstance(data, dict) or not isinstance(data.get("checkpoints", {}), dict):
    raise UsageError(f"checkpoint manifest {path} must be a JSON object with a 'checkpoints' object")
  data.setdefault("checkpoints", {})
  return data


def manifest_entry(name, path=None):
  """Returns the entry `name` of the manifest, or None."""
  return read_manifest(path)["checkpoints"].get(name)


def update_manifest_entry(name, entry, path=None):
  """Sets checkpoints[name] = entry, keeping everything else in the file; returns the path."""
  path = path or DEFAULT_MANIFEST
  data = read_manifest(path)
  data["checkpoints"][name] = entry
  with fileio.atomic_output(path, suffix=".json.tmp") as f:
    json.dump(data, f, indent=2, sort_keys=True)
    f.write("\n")
  return path


def verify_sha256(path, expected):
  """Raises DataUnavailableError if `path` is missing, UsageError if its sha256 differs."""
  if not os.path.isfile(path):
    raise DataUnavailableError(f"weight file {path} not found")
  actual = sha256_file(path)
  if actual != expected:
    raise UsageError(f"weight file {path} has sha256 {actual[:16]}..., the manifest expects "
                     f"{expected[:16]}...: the file is corrupt or stale; retrain or restore it")
  return actual

