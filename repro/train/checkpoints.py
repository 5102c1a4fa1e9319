"""Training checkpoints that survive kills, truncation and corruption.

Writes: `tf.train.CheckpointManager` (TensorFlow writes each file under a temporary name and renames
it, and rewrites the `checkpoint` state file atomically), so a process killed at any moment leaves
complete checkpoints plus, at worst, the leftovers of one unfinished write (`ckpt-N_temp/`,
`*.tempstate*`), which the next run removes.

Reads: `restore_latest` tries checkpoints newest first. Each one is *validated* before anything is
assigned: every tensor is read back with RestoreV2, which checks the crc32c TensorFlow stored for it,
so a truncated or bit-flipped `.index` / `.data` file is detected without touching the model. An
unreadable checkpoint is skipped with a warning naming it; a readable one that does not fit the model
(another architecture or image size) is a usage error, not a reason to silently fall back.

Multi-worker runs: every worker saves (saving may involve collectives), but only the chief saves
into the run's folder; the other workers write to a private temporary folder that is deleted right
away. Every worker restores from the chief's folder, so the workdir must be on storage all workers see.

Only files named `ckpt-<step>` directly inside the folder are ever read: a state file that names a
path elsewhere (`../x`, an absolute path) is ignored with a warning.
"""

import glob
import os
import re
import shutil
import tempfile

from absl import logging
import tensorflow as tf

from repro.errors import StorageError, UsageError, one_line

_CKPT_RE = re.compile(r"^ckpt-(\d+)$")


def _inside(path, folder):
  path, folder = os.path.realpath(path), os.path.realpath(folder)
  return os.path.commonpath([path, folder]) == folder


def _reason(e):
  """A TensorFlow error as a short line: no `{{function_node ...}}` prefix, no `[Op:...]` tail."""
  text = e.message if isinstance(e, tf.errors.OpError) and e.message else str(e)
  text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
  text = re.sub(r"\s*\[Op:\w+\]", "", text)
  return one_line(text)[:200]


def _step_of(prefix):
  match = _CKPT_RE.match(os.path.basename(prefix))
  return int(match.group(1)) if match else None


def validate_checkpoint(prefix):
  """Reads every tensor of the checkpoint `prefix` (crc32c-checked by TensorFlow) without
  assigning anything. Raises tf.errors.OpError (or ValueError) when it is truncated or corrupt."""
  if not os.path.isfile(prefix + ".index"):
    raise tf.errors.NotFoundError(None, None, f"{prefix}.index does not exist")
  reader = tf.train.load_checkpoint(prefix)
  dtypes = reader.get_variable_to_dtype_map()
  keys = sorted(dtypes)
  with tf.device("/cpu:0"):
    # In chunks, so a large checkpoint is never held in memory twice over.
    for i in range(0, len(keys), 64):
      chunk = keys[i:i + 64]
      tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=chunk, shape_and_slices=[""] * len(chunk),
                           dtypes=[dtypes[k] for k in chunk])


def candidate_checkpoints(directory):
  """[(step, prefix, recorded)] newest first: checkpoints named in the state file (recorded=True,
  complete writes) and `ckpt-N.index` files found in `directory` (recorded=False: a write the state
  file never saw, e.g. killed between the rename and the state update)."""
  found = {}
  warnings = []
  try:
    state = tf.train.get_checkpoint_state(directory)
  except (tf.errors.OpError, ValueError) as e:   # a garbled `checkpoint` text file
    state = None
    warnings.append(f"the state file {os.path.join(directory, 'checkpoint')} is unreadable "
                    f"({one_line(e)[:120]}); looking at the files instead")
  listed = list(state.all_model_checkpoint_paths) if state is not None else []
  if state is not None and state.model_checkpoint_path:
    listed.append(state.model_checkpoint_path)
  for path in listed:
    full = path if os.path.isabs(path) else os.path.join(directory, path)
    step = _step_of(full)
    if step is None or not _inside(full, directory) or os.path.dirname(
        os.path.realpath(full)) != os.path.realpath(directory):
      warnings.append(f"the state file names {path!r}, which is not a ckpt-<step> in {directory}; "
                      "ignored")
      continue
    found[step] = (os.path.join(directory, f"ckpt-{step}"), True)
  for index in glob.glob(os.path.join(glob.escape(directory), "ckpt-*.index")):
    prefix = index[:-len(".index")]
    step = _step_of(prefix)
    if step is not None and step not in found:
      found[step] = (os.path.join(directory, f"ckpt-{step}"), False)
  for w in warnings:
    logging.warning("%s", w)
  return [(step, prefix, recorded) for step, (prefix, recorded) in sorted(found.items(),
                                                                          reverse=True)]


def latest_valid_checkpoint(directory):
  """The newest checkpoint prefix in `directory` that reads back intact, or None (a drop-in for
  `tf.train.latest_checkpoint` that skips truncated or corrupt files with a warning)."""
  for _, prefix, _ in candidate_checkpoints(directory):
    try:
      validate_checkpoint(prefix)
      return prefix
    except (tf.errors.OpError, ValueError) as e:
      logging.warning("checkpoint %s is unreadable (%s); trying an older one", prefix, _reason(e))
  return None


def remove_unfinished_writes(directory):
  """Deletes what a write (or a rotation) killed half-way leaves: `ckpt-N_temp/` folders,
  `*.tempstate*` files, and `ckpt-N.data-*` files whose `ckpt-N.index` is gone. Returns the
  removed names."""
  removed = []
  folder = glob.escape(directory)
  orphans = [p for p in glob.glob(os.path.join(folder, "ckpt-*.data-?????-of-?????"))
             if _step_of(p.rsplit(".data-", 1)[0]) is not None
             and not os.path.exists(p.rsplit(".data-", 1)[0] + ".index")]
  for path in (glob.glob(os.path.join(folder, "*_temp")) + glob.glob(
      os.path.join(folder, "*.tempstate*")) + orphans):
    name = os.path.basename(path)
    if not (_CKPT_RE.match(name.rsplit("_temp", 1)[0]) or ".tempstate" in name
            or ".data-" in name):
      continue
    try:
      if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
      else:
        os.remove(path)
      removed.append(name)
    except OSError:
      pass
  return removed


def sanitize_state_file(directory):
  """Makes the `checkpoint` state file safe for tf.train.CheckpointManager, which would otherwise
  delete whatever paths it names when it rotates old checkpoints: entries that are not a
  `ckpt-<step>` directly inside `directory` are dropped; an unparsable file is moved aside to
  `checkpoint.unreadable`. Both with a warning."""
  path = os.path.join(directory, "checkpoint")
  if not os.path.isfile(path):
    return
  try:
    state = tf.train.get_checkpoint_state(directory)   # None (and a TF warning) if unparsable
    problem = None if state is not None else "it does not parse"
  except (tf.errors.OpError, ValueError) as e:
    state, problem = None, one_line(e)[:120]
  if state is None:
    os.replace(path, path + ".unreadable")
    logging.warning("the state file %s is unreadable (%s); moved it to %s.unreadable and looking at "
                    "the checkpoint files instead", path, problem, path)
    return

  def ok(p):
    full = p if os.path.isabs(p) else os.path.join(directory, p)
    return _step_of(full) is not None and os.path.dirname(
        os.path.realpath(full)) == os.path.realpath(directory)

  listed = list(state.all_model_checkpoint_paths)
  bad = list(dict.fromkeys(p for p in listed + [state.model_checkpoint_path] if p and not ok(p)))
  if not bad:
    return
  good = [os.path.basename(p) for p in listed if ok(p)]
  latest = (os.path.basename(state.model_checkpoint_path) if ok(state.model_checkpoint_path)
            else (good[-1] if good else None))
  logging.warning("the state file %s names paths outside %s (%s); dropped them", path, directory,
                  ", ".join(repr(p) for p in bad))
  if latest is None:
    os.replace(path, path + ".unreadable")
    return
  lines = [f'model_checkpoint_path: "{latest}"'] + [f'all_model_checkpoint_paths: "{g}"'
                                                     for g in good]
  tmp = path + ".sanitized.tmp"
  with open(tmp, "w") as f:
    f.write("\n".join(lines) + "\n")
  os.replace(tmp, path)


class CheckpointStore:
  """A tf.train.CheckpointManager over `directory` with validated, falling-back restores.

  chief=False (a non-chief worker of a multi-worker run): `save` writes to a private temporary
  folder and deletes it; `restore_latest` reads the chief's `directory`.
  """

  def __init__(self, checkpoint: tf.train.Checkpoint, directory, max_to_keep=3, chief=True):
    self.checkpoint = checkpoint
    self.directory = directory
    self.chief = chief
    self._write_dir = directory if chief else tempfile.mkdtemp(prefix="repro_worker_ckpt_")
    if chief:
      sanitize_state_file(directory)
    self.manager = tf.train.CheckpointManager(checkpoint, self._write_dir, max_to_keep=max_to_keep)
    self.skipped = []   # "ckpt-N (reason)" of unreadable checkpoints passed over by restore_latest

  @property
  def latest(self):
    """The newest intact checkpoint of this run: the last one saved or restored (else None)."""
    return self._latest

  _latest = None

  def save(self, step):
    """Writes checkpoint `step`; returns its path (None on non-chief workers)."""
    try:
      path = self.manager.save(checkpoint_number=step)
    except (OSError, tf.errors.OpError) as e:
      raise StorageError(
          f"cannot write checkpoint {step} to {self._write_dir}: {_reason(e)}; free space "
          f"or fix the folder and run the same command again (it resumes from "
          f"{self.latest or 'the start'})") from None
    if not self.chief:
      shutil.rmtree(self._write_dir, ignore_errors=True)
      self._latest = os.path.join(self.directory, os.path.basename(path))
      return None
    self._latest = path
    return path

  def restore_latest(self):
    """Restores the newest intact checkpoint; returns its path, or None for a fresh run.

    Unreadable checkpoints are skipped with a warning. Raises UsageError when a readable checkpoint
    does not fit the model, or when every recorded checkpoint is unreadable.
    """
    if self.chief and os.path.isdir(self.directory):
      removed = remove_unfinished_writes(self.directory)
      if removed:
        logging.warning("removed the leftovers of an interrupted checkpoint write in %s: %s",
                        self.directory, ", ".join(sorted(removed)))
    self.skipped = []
    candidates = candidate_checkpoints(self.directory) if os.path.isdir(self.directory) else []
    any_recorded = False
    for _, prefix, recorded in candidates:
      any_recorded = any_recorded or recorded
      try:
        validate_checkpoint(prefix)
      except (tf.errors.OpError, ValueError) as e:
        self.skipped.append(f"{os.path.basename(prefix)} ({_reason(e)})")
        continue
      status = None
      try:
        status = self.checkpoint.restore(prefix)
        status.assert_existing_objects_matched()
      except (tf.errors.OpError, ValueError, AssertionError) as e:
        if status is not None:
          status.expect_partial()   # no "unrestored values" warning when the process exits
        raise UsageError(
            f"checkpoint {prefix} does not fit this model (another architecture, image size or "
            f"z_dim?): {_reason(e)}; use a new --workdir or the flags it was trained "
            f"with") from None
      if self.skipped:
        logging.warning("skipped truncated or corrupt checkpoint(s) in %s: %s; restored the older %s",
                        self.directory, "; ".join(self.skipped), prefix)
      self._latest = prefix
      return prefix
    if self.skipped and any_recorded:
      raise UsageError(f"no checkpoint in {self.directory} is readable ({'; '.join(self.skipped)}): "
                       "restore the folder from a backup, or use a new --workdir to start over")
    if self.skipped:   # only never-recorded writes (killed during the very first save): start over
      logging.warning("ignoring unfinished checkpoint write(s) in %s: %s; starting from step 0",
                      self.directory, "; ".join(self.skipped))
    return None
