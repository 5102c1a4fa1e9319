"""Checkpoints that survive kills: atomic TF checkpoint writes, and restore that falls back to the
newest readable checkpoint when the latest one is truncated or corrupt."""

import os

from absl import logging
import tensorflow as tf

from repro.errors import UsageError


class CheckpointStore:
  """A tf.train.CheckpointManager over `directory` with a fallback restore."""

  def __init__(self, checkpoint: tf.train.Checkpoint, directory, max_to_keep=3):
    self.checkpoint = checkpoint
    self.directory = directory
    self.manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=max_to_keep)

  def save(self, step):
    return self.manager.save(checkpoint_number=step)

  def _candidates(self):
    listed = list(self.manager.checkpoints)
    # Checkpoints present on disk but not in the state file (e.g. killed before it was updated).
    state = tf.train.get_checkpoint_state(self.directory)
    if state is not None:
      listed = list(state.all_model_checkpoint_paths) or listed
    return list(reversed(listed))

  def restore_latest(self):
    """Restores the newest readable checkpoint; returns its path or None for a fresh run."""
    errors = []
    for path in self._candidates():
      try:
        self.checkpoint.restore(path).assert_existing_objects_matched()
        if errors:
          logging.warning("restored %s after skipping unreadable checkpoints: %s", path,
                          "; ".join(errors))
        return path
      except (tf.errors.OpError, ValueError, AssertionError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        errors.append(f"{os.path.basename(path)} ({first_line[:200]})")
        logging.warning("checkpoint %s is unreadable, trying an older one: %s", path, first_line)
    if errors:
      raise UsageError(f"no checkpoint in {self.directory} can be restored into this model "
                       f"({'; '.join(errors)}); use a new --workdir or the matching flags")
    return None
