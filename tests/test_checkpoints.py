"""Shipped generators: golden metrics, sha256 before loading, no pickle, safe names, export, CLI."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from repro import checkpoints
from repro.errors import DataUnavailableError, UsageError
from repro.metrics import manifest as manifest_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = checkpoints.generator_entries()
NAMES = sorted(SHIPPED)


def test_generators_are_shipped():
  assert {"wgan_gp_fashion_mnist", "wgan_gp_8gaussians", "klwgan_mog", "sinkhorn_8gaussians",
          "coulomb_8gaussians"} <= set(NAMES), NAMES


@pytest.mark.parametrize("name", NAMES)
def test_manifest_entry_is_complete(name):
  e = SHIPPED[name]
  for key in ("paper", "dataset", "file", "sha256", "recipe", "command", "steps", "metrics",
              "protocol", "train_wall_seconds", "samples"):
    assert e.get(key) not in (None, "", {}), (name, key)
  assert e["command"].startswith((f"python -m repro.papers.{e['paper']} ",
                                  "python -m repro.benchmark "))
  path = checkpoints.entry_file(e)
  assert os.path.isfile(path) and path.startswith(os.path.join(ROOT, "checkpoints", "generators"))
  assert manifest_lib.sha256_file(path) == e["sha256"]
  assert os.path.getsize(path) == e["size_bytes"] < 8_000_000
  assert os.path.isfile(os.path.join(ROOT, "checkpoints", e["samples"]))
  with np.load(path, allow_pickle=False) as data:   # plain arrays: no object arrays, no pickle
    assert all(data[k].dtype == np.float16 for k in data.files)


@pytest.mark.parametrize("name", NAMES)
def test_golden_metric_is_reproduced_after_reloading(name):
  generator = checkpoints.load_generator(name)
  recorded = SHIPPED[name]["metrics"]
  metrics, _ = checkpoints.evaluate(generator, SHIPPED[name]["protocol"])
  for metric, value in recorded.items():
    if metric in checkpoints.GOLDEN_TOLERANCE:
      assert checkpoints.within_golden_tolerance(metric, value, metrics[metric]), \
          (name, metric, value, metrics[metric])


def test_rebuilt_architectures_match_the_paper_factories():
  from repro import registry
  from repro.data import dataset_info
  from repro.papers import klwgan, sinkhorn
  from repro.recipe import Recipe
  recipes = [klwgan.recipe("mog", epochs=1),
             sinkhorn.recipe("8gaussians", solver="dual"),
             sinkhorn.recipe("fashion_mnist", solver="dual")]
  assert [r.model.args.get("critic") for r in recipes[1:]] == ["dual", "dual"]
  for recipe in recipes:
    ours = checkpoints.generator_from_recipe(recipe)
    # what the trainer builds for the same recipe (repro.train.runner.Trainer)
    theirs = registry.build_models(recipe, dataset_info(recipe.dataset).shape)[0]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
  assert isinstance(Recipe(), Recipe)


def recorded_leaves(values, prefix=""):
  """{dotted path: value} of a recorded recipe dict."""
  out = {}
  for k, v in values.items():
    out.update(recorded_leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
  return out


@pytest.mark.parametrize("name", NAMES)
def test_manifest_recipe_names_the_entry_paper_and_dataset(name):
  from repro.recipe import Recipe
  e = SHIPPED[name]
  assert "config" not in e and "paper_flags" not in e, sorted(e)
  recipe = Recipe.from_dict(e["recipe"])
  assert (recipe.paper, recipe.dataset) == (e["paper"], e["dataset"]), (name, recipe.paper,
                                                                         recipe.dataset)
  # Every recorded field reads back unchanged (fields added to Recipe since take their defaults).
  leaves = recorded_leaves(e["recipe"])
  assert {k: recipe.flat().get(k) for k in leaves} == leaves


# ---- names and files ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["../x", "../../etc/passwd", "a/b", "", "..", "/etc/passwd",
                                  "generators/../../x", "x;rm"])
def test_names_cannot_escape_the_folder(spec):
  with pytest.raises(UsageError):
    checkpoints.load_generator(spec)


def test_unknown_name_and_missing_keras_file():
  with pytest.raises(UsageError, match="no generator named"):
    checkpoints.load_generator("no_such_generator")
  with pytest.raises(DataUnavailableError):
    checkpoints.load_generator("/tmp/definitely_missing_dir/g.keras")


def _copy_manifest(tmp_path, name):
  folder = tmp_path / "checkpoints"
  (folder / "generators").mkdir(parents=True)
  entry = dict(SHIPPED[name])
  shutil.copy(checkpoints.entry_file(entry), folder / entry["file"])
  manifest = folder / "manifest.json"
  manifest.write_text(json.dumps({"checkpoints": {name: entry}}))
  return str(manifest), folder / entry["file"], entry


def test_sha256_is_checked_before_loading(tmp_path, monkeypatch):
  manifest, path, entry = _copy_manifest(tmp_path, "klwgan_mog")
  assert checkpoints.load_generator("klwgan_mog", manifest).sha256 == entry["sha256"]
  data = bytearray(path.read_bytes())
  data[-40] ^= 0xFF
  path.write_bytes(bytes(data))
  built = []
  monkeypatch.setattr(checkpoints, "generator_from_recipe", lambda r: built.append(r))
  with pytest.raises(UsageError, match="sha256"):
    checkpoints.load_generator("klwgan_mog", manifest)
  assert not built   # nothing was built or read before the check


def test_manifest_files_cannot_point_outside(tmp_path):
  manifest, _, entry = _copy_manifest(tmp_path, "klwgan_mog")
  for bad in ("../outside.npz", "/etc/passwd", "generators/../../outside.npz"):
    data = {"checkpoints": {"klwgan_mog": dict(entry, file=bad)}}
    with open(manifest, "w") as f:
      json.dump(data, f)
    with pytest.raises(UsageError, match="inside|outside"):
      checkpoints.load_generator("klwgan_mog", manifest)


def test_a_legacy_manifest_entry_is_a_one_line_usage_error(tmp_path):
  """An entry shipped before recipes (a TrainConfig under "config", no "recipe")."""
  manifest, _, entry = _copy_manifest(tmp_path, "klwgan_mog")
  legacy = {k: v for k, v in entry.items() if k != "recipe"}
  legacy["config"] = {"dataset": "mog", "arch": "fwgan_mlp", "z_dim": 2, "model": {}}
  legacy["paper_flags"] = {"loss": "kl"}
  with open(manifest, "w") as f:
    json.dump({"checkpoints": {"klwgan_mog": legacy}}, f)
  with pytest.raises(UsageError, match="predates recipes") as raised:
    checkpoints.load_generator("klwgan_mog", manifest)
  assert "\n" not in str(raised.value) and "klwgan_mog" in str(raised.value)


def test_the_classifier_entry_is_kept_and_still_loads():
  data = manifest_lib.read_manifest()
  assert data["checkpoints"]["fashion_mnist_cnn"]["kind"] == "feature_extractor"
  assert "fashion_mnist_cnn" not in SHIPPED
  from repro.metrics.extractors.fashion_mnist_cnn import _expected_sha256, DEFAULT_WEIGHTS
  assert _expected_sha256(DEFAULT_WEIGHTS, None) == data["checkpoints"]["fashion_mnist_cnn"]["sha256"]


# ---- export ------------------------------------------------------------------------------------

def test_export_keras_and_saved_model(tmp_path):
  import tensorflow as tf
  keras_path = str(tmp_path / "g.keras")
  saved = str(tmp_path / "saved")
  written = checkpoints.export("klwgan_mog", keras_path, saved)
  assert keras_path in written and os.path.isfile(keras_path + ".json")
  original = checkpoints.load_generator("klwgan_mog")
  z = original.noise(64, seed=3)
  expected = original.sample(z=z)
  reloaded = checkpoints.load_generator(keras_path)       # sha256 from the sidecar, safe mode
  assert reloaded.dataset == "mog" and reloaded.sha256 == manifest_lib.sha256_file(keras_path)
  np.testing.assert_allclose(reloaded.sample(z=z), expected, rtol=1e-6, atol=1e-6)
  served = tf.saved_model.load(saved).signatures["serving_default"](z=tf.constant(z))
  np.testing.assert_allclose(served["samples"].numpy(), expected, rtol=1e-6, atol=1e-6)
  metrics, _ = checkpoints.evaluate(reloaded)
  assert checkpoints.within_golden_tolerance("loglik", SHIPPED["klwgan_mog"]["metrics"]["loglik"],
                                             metrics["loglik"])


def test_keras_file_needs_a_recorded_sha256(tmp_path):
  keras_path = str(tmp_path / "g.keras")
  checkpoints.export("klwgan_mog", keras_path)
  with open(keras_path, "ab") as f:
    f.write(b"tampered")
  with pytest.raises(UsageError, match="sha256"):
    checkpoints.load_generator(keras_path)
  os.remove(keras_path + ".json")
  with pytest.raises(UsageError, match="no sha256 recorded"):
    checkpoints.load_generator(keras_path)


def test_keras_safe_mode_refuses_lambda_layers(tmp_path):
  import keras
  z = keras.Input((2,))
  model = keras.Model(z, keras.layers.Lambda(lambda t: t * 2)(z))
  path = str(tmp_path / "lambda.keras")
  model.save(path)
  meta = {"sha256": manifest_lib.sha256_file(path), "recipe": SHIPPED["klwgan_mog"]["recipe"]}
  with open(path + ".json", "w") as f:
    json.dump(meta, f)
  with pytest.raises(UsageError, match="safe mode"):
    checkpoints.load_generator(path)


# ---- command lines -----------------------------------------------------------------------------

def run(*args, timeout=600):
  return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT,
                        timeout=timeout)


def test_paper_module_checkpoint_mode_samples_and_evaluates(tmp_path):
  result = run("repro.papers.klwgan", "--checkpoint=klwgan_mog", f"--workdir={tmp_path}")
  assert result.returncode == 0, result.stderr
  assert "no training" in result.stdout and "reproduced" in result.stdout
  assert "DIFFERENT" not in result.stdout
  assert os.path.isfile(tmp_path / "samples.png")
  saved = json.load(open(tmp_path / "evaluation.json"))
  assert saved["sha256"] == SHIPPED["klwgan_mog"]["sha256"]
  assert not os.path.exists(tmp_path / "checkpoints")   # nothing trained


@pytest.mark.parametrize("args, code", [
    (["repro.papers.klwgan", "--checkpoint=../../etc/passwd"], 2),
    (["repro.papers.klwgan", "--checkpoint=/tmp/no_such_dir_x/g.keras"], 1),
])
def test_paper_module_checkpoint_errors(args, code, tmp_path):
  result = run(*args, f"--workdir={tmp_path}", timeout=300)
  assert result.returncode == code, (result.stdout, result.stderr)
  # one message line (TensorFlow's own C++ start-up lines may precede it)
  errors = [l for l in result.stderr.splitlines() if l.startswith("error: ")]
  assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr


@pytest.mark.parametrize("paper, spec, dataset, message", [
    ("wgan", "klwgan_mog", None, "trained by repro.papers.klwgan"),
    ("klwgan", "../klwgan_mog", None, "not a checkpoint name"),
    ("klwgan", "nope", None, "no generator named"),
    ("klwgan", "klwgan_mog", "ring", "generates mog"),
])
def test_checkpoint_mode_usage_errors(paper, spec, dataset, message, tmp_path):
  with pytest.raises(UsageError, match=message):
    checkpoints.run_checkpoint(paper, spec, str(tmp_path), dataset)


def test_checkpoints_cli(tmp_path):
  result = run("repro.checkpoints", "list", timeout=120)
  assert result.returncode == 0 and "klwgan_mog" in result.stdout
  result = run("repro.checkpoints", "evaluate", "klwgan_mog", timeout=300)
  assert result.returncode == 0 and "reproduced" in result.stdout, result.stdout + result.stderr
  result = run("repro.checkpoints", "show", "../x", timeout=120)
  assert result.returncode == 2


def test_export_to_an_unwritable_path_exits_2_with_one_line(tmp_path):
  result = run("repro.checkpoints", "export", "klwgan_mog", "--keras=/proc/nope/x.keras",
               timeout=300)
  assert result.returncode == 2, (result.stdout, result.stderr)
  assert "Traceback" not in result.stderr, result.stderr
  # one message line (TensorFlow's own C++ start-up lines may precede it)
  errors = [l for l in result.stderr.splitlines() if l.startswith("error: ")]
  assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr
  assert "/proc/nope/x.keras" in errors[0]
  assert not os.path.exists("/proc/nope/x.keras.json")
