"""Whole-run studies (issue 27): the rank test against SciPy, the comparison, the recorded studies
and their registry entries, the study command's errors."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from repro.studies import two_sample, whole_run
from repro.verify import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_exact_rank_test_matches_scipy_without_ties():
  stats = pytest.importorskip("scipy.stats")
  rng = np.random.default_rng(0)
  for n, m in ((8, 8), (5, 7), (10, 9)):
    x, y = rng.normal(size=n), rng.normal(0.6, 1.0, size=m)
    expected = stats.mannwhitneyu(x, y, alternative="less", method="exact").pvalue
    assert math.comb(n + m, n) <= two_sample.EXACT_LIMIT
    assert abs(two_sample.p_smaller(x, y) - expected) < 1e-12
    assert abs(two_sample.p_worse(x, y, "higher") - expected) < 1e-12
    assert abs(two_sample.p_worse(-x, -y, "lower") - expected) < 1e-12


def test_exact_rank_test_with_ties_matches_scipy_permutation_test():
  stats = pytest.importorskip("scipy.stats")
  x = np.array([3, 4, 4, 6, 8, 8, 5, 2], float)      # integer metrics (modes) tie often
  y = np.array([4, 7, 7, 8, 8, 5, 6, 7], float)
  expected = stats.permutation_test(
      (x, y), lambda a, b: two_sample.u_statistic(a, b), permutation_type="independent",
      alternative="less", n_resamples=np.inf, vectorized=False).pvalue
  assert abs(two_sample.p_smaller(x, y) - expected) < 1e-12
  assert two_sample.u_statistic([1, 2], [2, 3]) == 0.5


def test_large_samples_use_scipys_normal_approximation():
  stats = pytest.importorskip("scipy.stats")
  rng = np.random.default_rng(1)
  x, y = np.round(rng.normal(size=13), 1), np.round(rng.normal(0.3, 1, size=12), 1)
  assert math.comb(25, 13) > two_sample.EXACT_LIMIT
  expected = stats.mannwhitneyu(x, y, alternative="less", method="asymptotic",
                                use_continuity=True).pvalue
  assert abs(two_sample.p_smaller(x, y) - expected) < 1e-12


def test_compare_fails_a_worse_code_and_passes_an_equal_one():
  rng = np.random.default_rng(2)
  official = rng.normal(0.3, 0.05, size=8)
  same = two_sample.compare(rng.normal(0.3, 0.05, size=8), official, "higher", 0.05)
  worse = two_sample.compare(official - 0.1, official, "higher", 0.05)
  assert same["passed"] and same["not_worse"] and same["within_margin"]
  assert not worse["passed"] and not worse["not_worse"] and worse["p_worse"] < 0.01
  lower_better = two_sample.compare(official + 0.1, official, "lower", 0.05)   # e.g. a larger MMD
  assert not lower_better["not_worse"]
  far_better = two_sample.compare(official + 1.0, official, "higher", 0.05)    # outside the spread
  assert far_better["not_worse"] and not far_better["within_margin"] and not far_better["passed"]
  assert same["margin"] == pytest.approx(np.std(official, ddof=1))
  counts = two_sample.compare([7, 8, 8, 8, 6, 8, 8, 8], [8] * 8, "higher", 0.05, resolution=1.0)
  assert counts["sd"][1] == 0.0 and counts["margin"] == 1.0 and counts["within_margin"]


def test_parse_seeds():
  assert whole_run.parse_seeds("1-8") == list(range(1, 9))
  assert whole_run.parse_seeds("0,2, 5-6,2") == [0, 2, 5, 6]
  for bad in ("", "a", "3-1", "-2", "1-"):
    with pytest.raises(whole_run.UsageError):
      whole_run.parse_seeds(bad)


def test_recorded_studies_hold_their_comparison_and_provenance():
  studies = whole_run.recorded_studies()
  assert studies, "no recorded whole-run study in papers/results"
  for name, data in studies:
    study = whole_run.get(name)
    official, suite = data["official"]["runs"], data["suite"]["runs"]
    assert min(len(official), len(suite)) >= whole_run.MIN_SEEDS, name
    assert sorted(r["seed"] for r in suite) == sorted({r["seed"] for r in suite}), name
    assert "@" in data["official"]["source"] and data["official"]["seeding"], name
    again = whole_run.compare(study, official, suite, data["alpha"])
    for metric, _, _ in study.metrics:
      for key in ("mean", "sd", "margin", "p_worse", "passed"):
        assert again[metric][key] == pytest.approx(data["comparison"][metric][key]), (name, metric)


def test_registry_entries_of_each_recorded_study_state_its_official_numbers():
  studies = dict(whole_run.recorded_studies())
  entries = [e for paper in registry.available_papers()
             for e in registry.load_registry(paper)["entries"]
             if e["evaluate"] == "whole_run_study"]
  covered = {(e["study"], e["metric"]) for e in entries}
  for name, data in studies.items():
    for metric, _, _ in whole_run.get(name).metrics:
      assert (name, metric) in covered, f"no verify entry for {name} {metric}"
  for e in entries:
    data = studies[e["study"]]
    c = data["comparison"][e["metric"]]
    assert e["value"] == pytest.approx(c["mean"][1], abs=5e-4, rel=1e-3), e["id"]
    assert e["tolerance"]["abs"] == pytest.approx(c["margin"], abs=5e-4, rel=1e-3), e["id"]
    assert e["alpha"] == data["alpha"]


def test_verify_judges_a_study_workdir_by_its_test_and_margin(tmp_path):
  from repro import verify
  from repro.verify.evaluators import Context
  recorded = whole_run.recorded("wgan_gp_8gaussians")
  official = recorded["official"]["runs"]
  outcomes = {}
  for label, shift in (("same", 0.0), ("worse", -0.5), ("better", +0.5)):   # x the official sd
    sd = recorded["comparison"]["near"]["margin"]
    suite = [dict(r, near=r["near"] + shift * sd * 3) for r in official]
    folder = tmp_path / label
    folder.mkdir()
    (folder / "wgan_gp_8gaussians.json").write_text(json.dumps(
        dict(recorded, suite=dict(recorded["suite"], runs=suite))))
    _, [outcomes[label]] = verify.run("wgan", "whole-run-gp-8gaussians-near",
                                      Context(workdir=str(folder)))
  assert outcomes["same"].status == "reproduced"
  assert outcomes["same"].measured.details["p_worse"] > 0.4
  assert outcomes["worse"].status == "not reproduced"
  assert outcomes["worse"].measured.details["p_worse"] < 0.05
  # better by 1.5 sd: the test passes, the means are outside the official spread
  assert outcomes["better"].status == "not reproduced"
  assert outcomes["better"].measured.details["p_worse"] > 0.9


def _command(*args, cwd):
  env = dict(os.environ, PYTHONPATH=ROOT)
  return subprocess.run([sys.executable, "-m", "repro.studies.whole_run", *args], cwd=cwd,
                        env=env, capture_output=True, text=True, timeout=300, check=False)


def test_study_command_usage_errors_are_one_line(tmp_path):
  for args, needle in ((["--study=nope"], "unknown study"), ([], "give --study"),
                       (["--study=wgan_gp_8gaussians", "--seeds=x"], "--seeds"),
                       (["--study=klwgan_mog_kl", "--seeds=1-8", "--score_only"], "0..N-1"),
                       (["--study=wgan_gp_8gaussians", f"--official={tmp_path}/none"], "not a folder")):
    out = _command(*args, f"--workdir={tmp_path}/w", cwd=tmp_path)
    assert out.returncode == 2, (args, out.stderr)
    lines = [l for l in out.stderr.strip().splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and needle in lines[0], (args, out.stderr)


def test_study_command_scores_given_runs_against_given_official_samples(tmp_path):
  from repro.papers import klwgan
  points = klwgan.evaluation_points("mog")
  rng = np.random.default_rng(0)
  official, workdir = tmp_path / "official", tmp_path / "runs"
  official.mkdir()
  for seed in range(8):
    np.save(official / f"mog_kl_seed{seed}.npy", points + rng.normal(0, 0.01, points.shape))
    cell = workdir / f"mog_kl_run{seed}"
    cell.mkdir(parents=True)
    np.save(cell / "generated.npy", points + rng.normal(0, 0.01, points.shape))
  out = _command("--study=klwgan_mog_kl", "--seeds=0-7", f"--workdir={workdir}",
                 f"--official={official}", "--score_only", cwd=tmp_path)
  assert out.returncode in (0, 5), out.stderr
  record = json.loads((workdir / "klwgan_mog_kl.json").read_text())
  assert [r["seed"] for r in record["suite"]["runs"]] == list(range(8))
  assert len(record["official"]["runs"]) == 8 and "loglik" in record["comparison"]
  expected = klwgan.evaluate_samples(np.load(workdir / "mog_kl_run3" / "generated.npy"), points)
  assert record["suite"]["runs"][3]["loglik"] == pytest.approx(expected["loglik"])
  assert "loglik" in out.stdout and "p(worse)" in out.stdout


def test_make_target_runs_every_study():
  with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
    text = f.read().replace("\\\n", " ")
  line = next(l for l in text.splitlines() if l.startswith("WHOLE_RUN_STUDIES"))
  listed = {pair.split(":")[0] for pair in line.split("=", 1)[1].split()}
  assert listed == set(whole_run.STUDIES)


def test_image_study_scores_official_npz_samples_with_the_benchmark_metrics(tmp_path):
  """The TTUR DCGAN study: its command is the paper module's, its official samples are read from
  the harness's npz (`samples`, float in [-1, 1]), and its scorer is repro.benchmark's, against
  the first test images."""
  from repro import benchmark, data
  from repro.errors import DataUnavailableError
  study = whole_run.get("ttur_dcgan_fashion_mnist")
  argv = study.commands([3], "/w")[0]
  assert argv[:2] == ["-m", "repro.papers.ttur"] and "--steps=500" in argv
  assert '--net={"width": 32}' in argv and "--seed=3" in argv
  try:
    test = data.load_array("fashion_mnist", "test")
  except DataUnavailableError:
    pytest.skip("Fashion-MNIST not installed (make data)")
  fake = test[10000 - 300:] if len(test) >= 10000 else test[-300:]
  fake = fake.astype(np.float32) / 127.5 - 1
  np.savez(tmp_path / "ttur_dcgan_seed3.npz", samples=fake)
  runs = whole_run.score_official(study, str(tmp_path), [3])
  expected = benchmark.scores(benchmark.features(test[:whole_run.N_IMAGES]),
                             benchmark.features(fake))
  assert set(runs[0]) == {"seed", "fid", "kid", "precision", "coverage"}
  for key in ("fid", "kid", "precision", "coverage"):
    assert runs[0][key] == pytest.approx(expected[key], rel=1e-6)
