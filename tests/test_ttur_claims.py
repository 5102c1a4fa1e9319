"""TTUR's CPU claims in the registry: the toy saddle (saddle_claim) and FID vs disturbance level
(fid_disturbance), evaluated by repro.verify from run_saddle, the recorded results and a tiny
recomputation."""

import copy
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from repro import verify
from repro.verify import registry
from repro.verify.evaluators import Context

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _entries(prefix):
  return [e for e in registry.load_registry("ttur")["entries"] if e["id"].startswith(prefix)]


def _ctx(**kw):
  ctx = Context(**kw)
  ctx.results = registry.load_registry("ttur")["results"]
  return ctx


def _fashion_mnist_ready():
  from repro.data import catalog
  from repro.metrics.extractors import fashion_mnist_cnn as fm
  try:
    catalog.check_prepared("fashion_mnist")
  except Exception:  # pylint: disable=broad-except
    return False
  return os.path.isfile(fm.DEFAULT_WEIGHTS)


# ---- the toy saddle ----------------------------------------------------------------------------

def test_saddle_entries_are_registered_with_the_notebook_as_source():
  entries = {e["id"]: e for e in _entries("saddle-")}
  assert set(entries) == {"saddle-orig-fast-does-not-converge", "saddle-orig-slow-converges",
                          "saddle-ttur-x-slow-converges", "saddle-ttur-x-faster-than-orig-slow",
                          "saddle-ttur-y-more-stable-than-orig-fast"}
  for e in entries.values():
    assert "ttur_example_saddle.ipynb @5fcda1c" in e["source"] and e["criterion"] and e["claim"]
    assert e["evaluate"] == "saddle_claim" and e["protocol"]["seeds"] == 20


def test_saddle_entries_are_reproduced():
  _, outcomes = verify.run("ttur", ctx=_ctx())
  saddle = {o.entry["id"]: o for o in outcomes if o.entry["id"].startswith("saddle-")}
  assert len(saddle) == 5
  assert all(o.status == "reproduced" for o in saddle.values()), \
      {k: (o.status, o.measured and o.measured.value) for k, o in saddle.items()}
  assert saddle["saddle-orig-fast-does-not-converge"].measured.value <= 0.1
  assert saddle["saddle-orig-slow-converges"].measured.value == 1.0
  assert saddle["saddle-ttur-x-slow-converges"].measured.value == 1.0
  assert saddle["saddle-ttur-x-faster-than-orig-slow"].measured.value > 3
  assert saddle["saddle-ttur-y-more-stable-than-orig-fast"].measured.value > 1.5
  # a claim the saddle does not support is judged "not reproduced", not hidden
  wrong = copy.deepcopy(saddle["saddle-orig-fast-does-not-converge"].entry)
  wrong["criterion"] = {"op": ">=", "value": 0.5}
  assert verify.verify_entry(wrong, _ctx()).status == "not reproduced"


def test_saddle_entry_validation():
  e = copy.deepcopy(_entries("saddle-ttur-x-faster")[0])
  data = {"paper": "ttur", "title": "t", "module": "m", "path": "ttur.toml", "entries": [e]}
  assert registry.validate(data) == []
  del e["against"]
  assert any("against" in p for p in registry.validate(data))
  e["statistic"] = "guess"
  assert any("statistic" in p for p in registry.validate(data))


# ---- FID vs disturbance ------------------------------------------------------------------------

FAMILIES = ("gaussian_noise", "gaussian_blur", "black_rectangles", "swirl", "salt_and_pepper",
            "contamination")


def test_disturbance_entries_cover_every_family_for_both_protocols():
  entries = _entries("fid-disturbance-")
  for dataset in ("fashion_mnist", "celeb_a"):
    fams = sorted(e["family"] for e in entries if e["dataset"] == dataset)
    assert fams == sorted(FAMILIES), dataset
  for e in entries:
    assert e["criterion"] == {"op": ">", "value": 0} and "FIDvsINC/main.py" in e["source"]


def test_disturbance_entries_reproduced_from_the_recorded_results():
  with open(os.path.join(ROOT, "papers/results/ttur_disturbance.json")) as f:
    recorded = json.load(f)
  study = [s for s in recorded["studies"] if s["dataset"] == "fashion_mnist"][0]
  assert study["n"] == 10000 and study["extractor"] == "fashion_mnist_cnn"
  ctx = _ctx()
  for e in _entries("fid-disturbance-"):
    outcome = verify.verify_entry(e, ctx)
    if e["dataset"] == "fashion_mnist":
      fids = study["families"][e["family"]]["fid"]
      assert outcome.status == "reproduced", e["id"]
      assert outcome.measured.value == pytest.approx(np.min(np.diff(fids)))
      assert outcome.measured.details["source"].startswith("recorded: papers/results/")
      assert outcome.measured.deviations == []
      assert fids[0] == pytest.approx(study["families"]["gaussian_noise"]["fid"][0])  # level 0
    elif e["family"] == "contamination":
      assert outcome.status == "cannot run" and "ImageNet" in outcome.needs[0].what
    else:   # the Inception graph and CelebA: "cannot run" here, with the commands that prepare them
      from repro.verify.evaluators import graph_need
      if graph_need() is not None:
        assert outcome.status == "cannot run"
        assert any("Inception graph" in n.what for n in outcome.needs)


def test_a_workdir_without_the_family_and_a_family_that_could_not_run(tmp_path):
  e = [x for x in _entries("fid-disturbance-contamination-fashion") ][0]
  outcome = verify.verify_entry(e, _ctx(workdir=str(tmp_path)))
  assert outcome.status == "cannot run"
  assert "--families=contamination" in outcome.needs[0].command
  (tmp_path / "ttur_disturbance.json").write_text(json.dumps({"studies": [{
      "dataset": "fashion_mnist", "extractor": "fashion_mnist_cnn", "n": 10000,
      "families": {"contamination": {"levels": [0, .25, .5, .75], "cannot_run": "no digits"},
                   "swirl": {"levels": [0, 1, 2, 4], "fid": [1.0, 2.0, 1.5, 3.0]}}}]}))
  outcome = verify.verify_entry(e, _ctx(workdir=str(tmp_path)))
  assert outcome.status == "cannot run" and outcome.needs[0].detail == "no digits"
  swirl = [x for x in _entries("fid-disturbance-swirl-fashion")][0]
  outcome = verify.verify_entry(swirl, _ctx(workdir=str(tmp_path)))
  assert outcome.status == "not reproduced" and outcome.measured.value == pytest.approx(-0.5)


def _tiny_reference(tmp_path):
  from repro import data
  from repro.metrics import evaluate
  path = str(tmp_path / "ref.npz")
  images = data.load_array("fashion_mnist", "train")[:400]
  evaluate.save_reference_statistics(path, images, extractor="fashion_mnist_cnn")
  return path


def test_verify_recomputes_a_family_on_a_few_images(tmp_path):
  if not _fashion_mnist_ready():
    pytest.skip("Fashion-MNIST or the classifier weights not on this machine")
  from repro import data
  from repro.metrics import evaluate, fid_disturbance as fd
  from repro.metrics.extractors import get_extractor
  stats = _tiny_reference(tmp_path)
  ctx = _ctx(recompute=True, n_fake=200, fid_stats=stats)
  for family in ("contamination",):   # the other data set's path; the rest is shared
    e = [x for x in _entries(f"fid-disturbance-{family.replace('_', '-')}-fashion")][0]
    outcome = verify.verify_entry(e, ctx)
    assert outcome.status == "reproduced", (family, outcome.measured and outcome.measured.details)
    assert outcome.measured.details["source"] == "computed now"
    assert outcome.measured.deviations == ["200 images instead of the protocol's 10000"]
    # the same numbers as the study function computes directly
    ext = get_extractor("fashion_mnist_cnn")
    base = fd.to_unit_range(data.load_array("fashion_mnist", "test")[:200])
    other = fd.other_images("fashion_mnist")[0] if family == "contamination" else None
    direct = fd.family_fids(family, base, evaluate.reference_statistics(stats, ext), ext, 0, other)
    np.testing.assert_allclose(outcome.measured.details["fid"], np.round(direct, 4), atol=1e-3)


def test_the_command_writes_results_and_a_plot(tmp_path):
  if not _fashion_mnist_ready():
    pytest.skip("Fashion-MNIST or the classifier weights not on this machine")
  stats = _tiny_reference(tmp_path)
  out = tmp_path / "ttur_disturbance.json"
  out.write_text(json.dumps({"studies": [{"dataset": "celeb_a", "extractor": "inception_2015",
                                          "n": 5, "families": {}}]}))
  result = subprocess.run(
      [sys.executable, "-m", "repro.metrics.fid_disturbance", "--n=200", f"--fid_stats={stats}",
       "--families=salt_and_pepper", f"--out={out}", f"--plot={tmp_path / 'p.png'}"],
      cwd=ROOT, capture_output=True, text=True, timeout=300,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 0, result.stderr[-2000:]
  assert "salt_and_pepper: smallest increase" in result.stdout
  data = json.loads(out.read_text())
  assert [s["dataset"] for s in data["studies"]] == ["celeb_a", "fashion_mnist"]   # merged
  study = data["studies"][1]
  assert study["n"] == 200 and list(study["families"]) == ["salt_and_pepper"]
  assert study["command"].startswith("python -m repro.metrics.fid_disturbance --n=200")
  fids = study["families"]["salt_and_pepper"]["fid"]
  assert len(fids) == 4 and fids[3] > fids[0]
  assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
  # the verify command reads a --workdir holding that file
  sp = [x for x in _entries("fid-disturbance-salt-and-pepper-fashion")][0]
  outcome = verify.verify_entry(sp, _ctx(workdir=str(tmp_path)))
  assert outcome.ran and outcome.measured.deviations == ["200 images instead of the protocol's 10000"]
  bad = subprocess.run([sys.executable, "-m", "repro.metrics.fid_disturbance", "--families=fog"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_contamination_images_look_like_mnist_digits():
  pytest.importorskip("sklearn")
  from repro.metrics import fid_disturbance as fd
  digits = fd.digits_28()
  assert digits.shape == (1797, 28, 28, 1)
  assert digits.min() == -1.0 and digits.max() <= 1.0
  assert np.all(digits[:, :4] == -1) and np.all(digits[:, :, 24:] == -1)   # a 20x20 box, as MNIST


def test_plot_ticks_are_round_numbers():
  from repro.metrics import fid_disturbance as fd
  from repro import figures
  assert [figures.nice_step(x) for x in (41.6, 29.2, 5.9, 0.3, 2.0)] == [50.0, 50.0, 10.0, 0.5, 2.0]
  assert fd.monotone_increase([0.1, 4.0, 12.2, 29.5]) == pytest.approx(3.9)
  assert fd.monotone_increase([1.0, 3.0, 2.0]) == pytest.approx(-1.0)
