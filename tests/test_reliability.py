"""Reliability of the trainer: corrupt checkpoints fall back, NaN/Inf stops (or skips) cleanly,
unfinished writes are cleaned up, state files cannot point outside their folder, a workdir is
trained by one process at a time, a full disk is one line, and nothing is ever unpickled."""

import glob
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from repro.errors import DivergenceError, StorageError, UsageError
from repro.train import checkpoints as ckpt_lib
from repro.recipe import make
from repro.train.objective import WassersteinObjective
from repro.train.runner import Trainer, _WorkdirLock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def small_recipe(**kw):
  base = dict(model=dict(hidden=(16, 16)), objective=("wgan", dict(gp_weight=0.1)), z_dim=2,
              batch_size=32, steps=6, n_critic=2, g_lr=1e-3, d_lr=1e-3, save_every=2,
              eval_every=1000, log_every=1000, seed=3, keep_checkpoints=5)
  base.update(kw)
  return make("test", "8gaussians", "mlp", **base)


def trainer(workdir, objective=None, **kw):
  """A Trainer of the small recipe (its objective: WGAN-GP λ 0.1, unless `objective` is given)."""
  policy = kw.pop("nan_policy", "stop")
  return Trainer(small_recipe(**kw), str(workdir), deterministic=True, quiet=True,
                 nan_policy=policy, objective=objective)


def weights(t):
  return [w.numpy() for w in t.generator.weights + t.critic.weights]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  """A 6-step run: its checkpoints 2, 4, 6 and the weights each one holds."""
  workdir = tmp_path_factory.mktemp("reference")
  t = trainer(workdir)
  t.train()
  held = {}
  for step in (2, 4, 6):
    t.checkpoint.restore(os.path.join(workdir, "checkpoints", f"ckpt-{step}"))
    held[step] = weights(t)
  return workdir, held


def copy_run(reference, dest):
  import shutil
  shutil.copytree(reference[0], dest)
  return dest


# ---- corrupt or partial checkpoints ------------------------------------------------------------

@pytest.mark.parametrize("damage", ["truncate_data", "flip_data_byte", "empty_index",
                                    "truncate_index", "delete_data"])
def test_damaged_latest_checkpoint_falls_back_with_warning(reference, tmp_path, damage):
  workdir = copy_run(reference, tmp_path / "w")
  data = glob.glob(str(workdir / "checkpoints" / "ckpt-6.data-*"))[0]
  index = str(workdir / "checkpoints" / "ckpt-6.index")
  if damage == "truncate_data":
    os.truncate(data, os.path.getsize(data) // 2)
  elif damage == "flip_data_byte":
    raw = bytearray(open(data, "rb").read())
    raw[len(raw) // 3] ^= 0x40
    open(data, "wb").write(bytes(raw))
  elif damage == "empty_index":
    open(index, "wb").close()
  elif damage == "truncate_index":
    os.truncate(index, os.path.getsize(index) // 2)
  else:
    os.remove(data)
  t = trainer(workdir, steps=6)
  with _absl_warnings() as warned:
    restored = t.store.restore_latest()
  assert restored.endswith("ckpt-4")
  assert int(t.step.numpy()) == 4
  assert any("ckpt-6" in w and ("corrupt" in w or "truncated" in w) for w in warned), warned
  assert t.store.skipped and t.store.skipped[0].startswith("ckpt-6 (")
  for a, b in zip(weights(t), reference[1][4]):
    np.testing.assert_array_equal(a, b)


def test_resume_after_fallback_reaches_the_uninterrupted_weights(reference, tmp_path):
  workdir = copy_run(reference, tmp_path / "w")
  data = glob.glob(str(workdir / "checkpoints" / "ckpt-6.data-*"))[0]
  os.truncate(data, 10)
  (workdir / "checkpoints" / "ckpt-6.index").unlink()   # simulates a write killed before the index
  t = trainer(workdir, steps=6)
  t.train()
  assert int(t.step.numpy()) == 6
  for a, b in zip(weights(t), reference[1][6]):
    np.testing.assert_array_equal(a, b)
  ckpt_lib.validate_checkpoint(str(workdir / "checkpoints" / "ckpt-6"))


def test_every_checkpoint_unreadable_is_a_usage_error(reference, tmp_path):
  workdir = copy_run(reference, tmp_path / "w")
  for data in glob.glob(str(workdir / "checkpoints" / "ckpt-*.data-*")):
    os.truncate(data, 7)
  t = trainer(workdir, steps=6)
  with pytest.raises(UsageError, match=r"no checkpoint in .*checkpoints is readable"):
    t.train()


def test_garbled_state_file_falls_back_to_the_files(reference, tmp_path):
  workdir = copy_run(reference, tmp_path / "w")
  (workdir / "checkpoints" / "checkpoint").write_text("model_checkpoint_path: \x00\x01 {{{{ garbage")
  t = trainer(workdir, steps=6)
  assert t.store.restore_latest().endswith("ckpt-6")
  assert (workdir / "checkpoints" / "checkpoint.unreadable").exists()


def test_state_file_cannot_point_outside_its_folder(reference, tmp_path):
  """CheckpointManager deletes the files its state names when it rotates; a state file naming
  ../decoy must neither be restored from nor cause the decoy's deletion."""
  workdir = copy_run(reference, tmp_path / "w")
  decoy = tmp_path / "decoy-1"
  for suffix in (".index", ".data-00000-of-00001"):
    (tmp_path / f"decoy-1{suffix}").write_text("precious")
  (workdir / "checkpoints" / "checkpoint").write_text(
      f'model_checkpoint_path: "../../decoy-1"\n'
      f'all_model_checkpoint_paths: "../../decoy-1"\n'
      f'all_model_checkpoint_paths: "{decoy}"\n'
      f'all_model_checkpoint_paths: "ckpt-6"\n')
  t = trainer(workdir, steps=12, keep_checkpoints=1)
  t.train()
  assert (tmp_path / "decoy-1.index").read_text() == "precious"
  assert (tmp_path / "decoy-1.data-00000-of-00001").read_text() == "precious"
  state = (workdir / "checkpoints" / "checkpoint").read_text()
  assert "decoy" not in state and "ckpt-12" in state


def test_leftovers_of_a_killed_write_are_removed(reference, tmp_path):
  workdir = copy_run(reference, tmp_path / "w")
  temp = workdir / "checkpoints" / "ckpt-8_temp"
  temp.mkdir()
  (temp / "part-00000-of-00001.data-00000-of-00001.tempstate123").write_bytes(b"half")
  (workdir / "checkpoints" / "ckpt-8.index.tempstate99").write_bytes(b"half")
  (workdir / "checkpoints" / "ckpt-1.data-00000-of-00001").write_bytes(b"rotated")  # index deleted
  t = trainer(workdir, steps=6)
  assert t.store.restore_latest().endswith("ckpt-6")
  assert not temp.exists()
  assert not list((workdir / "checkpoints").glob("*tempstate*"))
  assert not (workdir / "checkpoints" / "ckpt-1.data-00000-of-00001").exists()
  assert (workdir / "checkpoints" / "ckpt-6.data-00000-of-00001").exists()


def test_checkpoint_of_another_architecture_is_a_usage_error(reference, tmp_path):
  workdir = tmp_path / "w"
  t = trainer(workdir, model=dict(hidden=(8,)))
  import shutil
  shutil.copytree(reference[0] / "checkpoints", workdir / "checkpoints")
  with pytest.raises(UsageError, match="does not fit this model"):
    t.train()


# ---- divergence ------------------------------------------------------------------------------

class Poisoned(WassersteinObjective):
  """WGAN-GP whose critic loss (what="loss") or only its gradients (what="grads") become NaN at
  generator step `at` (0-based)."""

  def __init__(self, at, what):
    super().__init__(gp_weight=0.1)
    self.at, self.what = at, what

  def critic_loss(self, critic, inputs):
    loss, terms = super().critic_loss(critic, inputs)
    on = tf.equal(inputs.step, self.at)
    if self.what == "loss":
      return loss + tf.where(on, np.float32(np.nan), np.float32(0.0)), terms

    @tf.custom_gradient
    def nan_gradient(x):
      def grad(dy):
        return tf.where(on, tf.fill(tf.shape(dy), np.float32(np.nan)), dy)
      return tf.identity(x), grad

    return nan_gradient(loss), terms


@pytest.mark.parametrize("what, message", [
    ("loss", r"training diverged at step 4, critic update 1 of 2: critic/loss is NaN;"),
    ("grads", r"training diverged at step 4, critic update 1 of 2: critic gradients are non-finite "
              r"\(the loss is finite\);"),
])
def test_nan_stops_at_that_step_and_keeps_the_last_checkpoint(tmp_path, what, message):
  t = trainer(tmp_path, Poisoned(at=3, what=what), steps=6, save_every=3)
  with pytest.raises(DivergenceError, match=message) as info:
    t.train()
  assert "ckpt-3" in str(info.value) and "--nan_policy=skip" in str(info.value)
  assert "\n" not in str(info.value)
  steps = sorted(int(re.search(r"ckpt-(\d+)\.index", p).group(1))
                 for p in glob.glob(str(tmp_path / "checkpoints" / "ckpt-*.index")))
  assert steps == [3]
  ckpt_lib.validate_checkpoint(str(tmp_path / "checkpoints" / "ckpt-3"))
  reader = tf.train.load_checkpoint(str(tmp_path / "checkpoints" / "ckpt-3"))
  for key, dtype in reader.get_variable_to_dtype_map().items():
    if dtype.is_floating and not key.startswith("best/"):   # best: NaN until a metric is kept
      assert np.all(np.isfinite(reader.get_tensor(key))), key


def test_nan_policy_skip_undoes_only_the_bad_updates(tmp_path):
  t = trainer(tmp_path, Poisoned(at=3, what="grads"), steps=6, nan_policy="skip")
  t.train()
  assert int(t.step.numpy()) == 6
  assert t.skipped_updates == 2           # both critic updates of step 4 (n_critic = 2)
  assert int(t.d_opt.iterations.numpy()) == 6 * 2 - 2
  assert int(t.g_opt.iterations.numpy()) == 6
  assert all(np.all(np.isfinite(w)) for w in weights(t))


def test_nan_policy_skip_gives_up_when_every_step_is_bad(tmp_path):
  class AlwaysNan(Poisoned):
    def critic_loss(self, critic, inputs):
      loss, terms = WassersteinObjective.critic_loss(self, critic, inputs)
      return loss * np.float32(np.nan), terms

  t = trainer(tmp_path, AlwaysNan(at=0, what="loss"), steps=40, save_every=1000, nan_policy="skip")
  with pytest.raises(DivergenceError, match="20 generator steps in a row"):
    t.train()
  assert all(np.all(np.isfinite(w)) for w in weights(t))   # every bad update was undone


def test_bad_nan_policy_is_a_usage_error(tmp_path):
  with pytest.raises(UsageError, match="--nan_policy"):
    trainer(tmp_path, nan_policy="ignore")


# ---- one process per workdir; full disks -------------------------------------------------------

def test_a_workdir_in_use_is_refused(tmp_path):
  t = trainer(tmp_path, steps=2)
  other = _WorkdirLock(str(tmp_path))
  other.acquire()
  try:
    with pytest.raises(UsageError, match=f"in use by a running training process \\(pid {os.getpid()}"):
      t.train()
  finally:
    other.release()
  t.train()   # free again
  assert int(t.step.numpy()) == 2


def test_a_failed_checkpoint_write_is_one_line_and_keeps_the_previous(tmp_path, monkeypatch):
  t = trainer(tmp_path, steps=4)
  real_save = t.store.manager.save

  def full_disk(checkpoint_number=None, **kw):
    if checkpoint_number == 4:
      raise OSError(28, "No space left on device")
    return real_save(checkpoint_number=checkpoint_number, **kw)

  monkeypatch.setattr(t.store.manager, "save", full_disk)
  with pytest.raises(StorageError, match=r"cannot write checkpoint 4 .*No space left on device.*"
                                         r"resumes from .*ckpt-2"):
    t.train()
  ckpt_lib.validate_checkpoint(str(tmp_path / "checkpoints" / "ckpt-2"))


# ---- loading never unpickles -------------------------------------------------------------------

def _calls(text, name):
  """The argument text of every call `name(...)` in `text` (balanced parentheses)."""
  for m in re.finditer(re.escape(name) + r"\(", text):
    depth, i = 1, m.end()
    while depth and i < len(text):
      depth += {"(": 1, ")": -1}.get(text[i], 0)
      i += 1
    yield " ".join(text[m.end():i - 1].split())


def test_no_pickle_on_any_load_path():
  """Every np.load in the package passes allow_pickle=False, no module imports pickle / dill /
  joblib / cloudpickle / shelve, and every Keras model load is in safe mode."""
  offenders = []
  for path in glob.glob(os.path.join(ROOT, "repro", "**", "*.py"), recursive=True):
    text = open(path, encoding="utf-8").read()
    rel = os.path.relpath(path, ROOT)
    for args in _calls(text, "np.load"):
      if "allow_pickle=False" not in args:
        offenders.append(f"{rel}: np.load({args})")
    for m in re.finditer(r"^\s*(?:import|from)\s+(pickle|cPickle|dill|joblib|cloudpickle|shelve)\b",
                         text, re.M):
      offenders.append(f"{rel}: imports {m.group(1)}")
    for name in ("load_model", "saving.load_model"):
      for args in _calls(text, name):
        if "safe_mode=True" not in args:
          offenders.append(f"{rel}: {name}({args}) without safe_mode=True")
  assert not offenders, offenders


@pytest.mark.parametrize("content", ['{"checkpoints": {"fashion', "[1, 2]", "\x00\xff garbage",
                                     '{"checkpoints": []}'])
def test_damaged_manifest_is_one_line_naming_the_file(tmp_path, content):
  """A damaged checkpoint manifest (truncated, wrong type, binary) is a one-line usage error that
  names the file, both when read directly and when the classifier's sha256 is looked up in it."""
  from repro.metrics import manifest as manifest_lib  # pylint: disable=g-import-not-at-top
  from repro.metrics.extractors.fashion_mnist_cnn import FashionMnistCnnExtractor  # pylint: disable=g-import-not-at-top
  path = tmp_path / "manifest.json"
  path.write_bytes(content.encode("latin-1"))
  weights = tmp_path / "fashion_mnist_cnn.weights.h5"
  weights.write_bytes(b"weights")
  for load in (lambda: manifest_lib.read_manifest(str(path)),
               lambda: FashionMnistCnnExtractor(weights=str(weights), manifest=str(path))):
    with pytest.raises(UsageError) as e:
      load()
    message = str(e.value)
    assert str(path) in message and "\n" not in message, message


# ---- helpers ---------------------------------------------------------------------------------

class _absl_warnings:  # pylint: disable=invalid-name
  """Collects absl WARNING messages emitted inside the block."""

  def __enter__(self):
    import logging
    from absl import logging as absl_logging
    self.messages = []
    outer = self

    class Handler(logging.Handler):
      def emit(self, record):
        if record.levelno >= logging.WARNING:
          outer.messages.append(record.getMessage())

    self._handler = Handler()
    self._logger = absl_logging.get_absl_logger()
    # an in-process command that exited on an error leaves the logger at ERROR
    # (repro.errors silences teardown warnings): collect regardless of what ran before
    self._level = self._logger.level
    self._logger.setLevel(logging.WARNING)
    self._logger.addHandler(self._handler)
    return self.messages

  def __exit__(self, *exc):
    self._logger.removeHandler(self._handler)
    self._logger.setLevel(self._level)
    return False
