"""`python -m repro.verify`: tolerances, cannot-run listing, exit codes, the KL-WGAN table, evaluators."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from repro import verify
from repro.verify import evaluators, registry
from repro.verify.evaluators import Context, Measured

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, env=None, timeout=600):
  environment = dict(os.environ, **(env or {}))
  return subprocess.run([sys.executable, "-m", "repro.verify", *args], capture_output=True,
                        text=True, cwd=ROOT, timeout=timeout, env=environment)


@pytest.fixture
def bare_machine(tmp_path):
  """No tfds data, no Inception graph (an empty cache and data dir)."""
  env = {"TFDS_DATA_DIR": str(tmp_path / "tfds"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
  env_without = {k: v for k, v in os.environ.items() if k != "REPRO_INCEPTION_GRAPH"}
  return dict(env_without, **env)


# ---- judging ---------------------------------------------------------------------------------

def _entry(**kw):
  e = {"id": "x", "metric": "fid", "value": 10.0, "tolerance": {"abs": 1.0}}
  e.update(kw)
  return e


@pytest.mark.parametrize("tolerance, ours, se, ok", [
    ({"abs": 1.0}, 10.9, None, True), ({"abs": 1.0}, 11.1, None, False),
    ({"abs": 1.0}, 8.95, None, False), ({"rel": 0.1}, 10.99, None, True),
    ({"rel": 0.1}, 8.9, None, False),
    ({"se_multiple": 2.0, "abs": 0.5}, 13.9, None, True),     # 2 * sqrt(2²) = 4 with plus_minus 2
    ({"se_multiple": 2.0, "abs": 0.5}, 14.5, None, False),
    ({"se_multiple": 2.0, "abs": 0.5}, 14.5, 1.5, True),      # 2 * sqrt(4 + 2.25) = 5
])
def test_tolerances(tolerance, ours, se, ok):
  e = _entry(tolerance=tolerance, plus_minus=2.0)
  outcome = verify.judge(e, Measured(ours, se=se))
  assert (outcome.status == "reproduced") == ok
  assert outcome.delta == pytest.approx(ours - 10.0)


@pytest.mark.parametrize("op, value, ours, ok", [(">=", 8, 8, True), (">=", 8, 7, False),
                                                 ("<", 0, -0.1, True), ("<", 0, 0.0, False),
                                                 (">=", 0.5, float("nan"), False)])
def test_criteria(op, value, ours, ok):
  e = {"id": "q", "metric": "m", "criterion": {"op": op, "value": value}}
  assert (verify.judge(e, Measured(ours)).status == "reproduced") == ok


def test_nan_is_never_reproduced():
  assert verify.judge(_entry(), Measured(float("nan"))).status == "not reproduced"


def test_exit_code_counts_only_entries_that_ran():
  e = _entry()
  ok, bad = verify.judge(e, Measured(10.0)), verify.judge(e, Measured(20.0))
  cannot = verify.Outcome(e, "cannot run", needs=[evaluators.Need("x")])
  assert verify.exit_code([ok, cannot]) == 0
  assert verify.exit_code([cannot]) == 0
  assert verify.exit_code([ok, bad, cannot]) == 0    # ran what it could
  assert verify.exit_code([ok, cannot], strict=True) == 0
  assert verify.exit_code([ok, bad, cannot], strict=True) == verify.NOT_REPRODUCED_EXIT == 5


# ---- the command line ------------------------------------------------------------------------

def test_ttur_lists_every_table1_row_as_cannot_run(bare_machine):
  result = run("--paper=ttur", env=bare_machine, timeout=120)
  assert result.returncode == 0, result.stderr
  out = result.stdout
  entries = registry.load_registry("ttur")["entries"]
  ids = [e["id"] for e in entries if e["id"].startswith("table1-")]
  rows = [l for l in out.splitlines() if l.split(" ")[0] in ids]
  assert len(rows) == 16
  assert all("cannot run: needs" in r for r in rows), rows
  # the toy-saddle and Fashion-MNIST disturbance entries run anywhere (seconds of numpy; recorded
  # FIDs), and so does the whole-run study of the DCGAN (its recorded per-seed numbers)
  cpu = [e["id"] for e in entries if e["id"].startswith(("saddle-", "whole-run-")) or
         (e["id"].startswith("fid-disturbance-") and e["dataset"] == "fashion_mnist")]
  assert len(cpu) == 15
  for line in out.splitlines():
    if line.split(" ")[0] in cpu:
      assert line.rstrip().endswith("✓"), line
  assert f"15 of {len(entries)} entries ran: 15 reproduced" in out
  assert "python -m tensorflow_datasets.scripts.download_and_prepare --datasets=cifar10" in out
  assert "inception-2015-12-05.tgz http://download.tensorflow.org/models/image/imagenet/" in out
  assert "python -m repro.papers.ttur --dataset=cifar10 --model=wgan_gp --workdir=" in out
  for row in rows:
    if "1bw" not in row:
      assert "the Inception graph" in row and "(tfds)" in row and "a trained generator" in row


def test_ttur_json_and_markdown(bare_machine):
  result = run("--paper=ttur", "--format=json", env=bare_machine, timeout=120)
  data = json.loads(result.stdout)
  assert len([e for e in data["entries"] if e["id"].startswith("table1-")]) == 16
  assert data["exit_code"] == 0
  saddle = [e for e in data["entries"] if e["id"] == "saddle-ttur-x-slow-converges"][0]
  assert saddle["status"] == "reproduced" and saddle["ours"] == 1.0
  cifar = [e for e in data["entries"] if e["id"] == "table1-wgangp-cifar10-ttur"][0]
  assert cifar["status"] == "cannot run" and cifar["paper"] == 24.8 and cifar["ours"] is None
  commands = [n["command"] for n in cifar["needs"]]
  assert any("--datasets=cifar10" in c for c in commands)
  md = run("--paper=ttur", "--format=markdown", env=bare_machine, timeout=120).stdout
  assert md.count("| table1-") == 16 and "```sh" in md


def test_klwgan_prints_the_synthetic_table_ours_against_the_paper():
  result = run("--paper=klwgan", "--format=json", "--strict", timeout=120)
  assert result.returncode in (0, 5), result.stderr
  data = json.loads(result.stdout)
  numeric = [e for e in data["entries"] if e["paper"] is not None]
  table = [e for e in numeric if not e["id"].startswith("whole-run-")]
  assert len(table) == 24 and len(numeric) == 28
  assert all(e["status"] != "cannot run" and e["ours"] is not None for e in numeric)
  # "ours" equals the notebook's summary of the recorded runs (loglik: runs 0-1; mmd: all runs)
  recorded = json.load(open(os.path.join(ROOT, "papers/results/klwgan_synthetic.json")))["runs"]
  mog_kl = sorted((r for r in recorded if r["dataset"] == "mog" and r["loss"] == "kl"),
                  key=lambda r: r["seed"])
  row = [e for e in numeric if e["id"] == "mmd-kl-mog"][0]
  assert row["ours"] == pytest.approx(np.mean([r["mmd_x1e3"] for r in mog_kl]))
  assert result.returncode == (5 if any(e["status"] == "not reproduced" for e in data["entries"])
                               else 0)
  plain = run("--paper=klwgan", timeout=120)   # without --strict: it ran what it could
  assert plain.returncode == 0, plain.stderr
  text = plain.stdout
  assert "loglik-kl-mog" in text and "-2.54" in text and "cannot run:" not in text
  # the paper's table layout: one row per metric and set, paper vs ours for each loss
  assert "| loglik | mog | -2.61 ± 0.03 |" in text and "| mmd_x1e3 | funnel | 1.27 ± 0.27 |" in text


def test_klwgan_reads_a_table_workdir(tmp_path):
  for loss, mmd in (("hinge", 20.0), ("kl", 7.0)):
    cell = tmp_path / f"mog_{loss}_run0"
    cell.mkdir()
    (cell / "result.json").write_text(json.dumps(
        {"dataset": "mog", "loss": loss, "seed": 0, "epochs": 500, "loglik": -2.6, "mmd_x1e3": mmd}))
  result = run("--paper=klwgan", f"--workdir={tmp_path}", "--entry=mog-kl-beats-hinge-mmd",
               timeout=120)
  assert result.returncode == 0, result.stdout + result.stderr
  assert "✓" in result.stdout and "-13" in result.stdout
  result = run("--paper=klwgan", f"--workdir={tmp_path}", "--entry=mmd-kl-banana", timeout=120)
  assert result.returncode == 0 and "cannot run: needs recorded runs of banana/kl" in result.stdout


def test_klwgan_record_names_a_command_per_run_count_and_rewrites_the_readme_block(tmp_path):
  """The whole table once (1 run) plus more MoG seeds: two commands, not "--runs=4" for all."""
  from repro.data import fwgan_synthetic
  work = tmp_path / "table"
  for name in fwgan_synthetic.NAMES:
    for loss in ("hinge", "kl"):
      for seed in range(4 if name == "mog" else 1):
        cell = work / f"{name}_{loss}_run{seed}"
        cell.mkdir(parents=True)
        (cell / "result.json").write_text(json.dumps(
            {"dataset": name, "loss": loss, "seed": seed, "epochs": 500, "steps": 10000,
             "loglik": -3.0, "mmd_x1e3": 2.0 if loss == "kl" else 3.0 + seed,
             "cpu_seconds": 200.0, "wall_seconds": 300.0}))
  recorded = evaluators.record_klwgan_results(str(work), str(tmp_path / "out.json"))
  assert recorded["commands"] == [
      f"python -m repro.papers.klwgan --table=synthetic --runs=1 "
      f"--sets=banana,ring,square,cosine,funnel --workdir={work}",
      f"python -m repro.papers.klwgan --table=synthetic --runs=4 --sets=mog --workdir={work}"]
  assert not any(registry.check_commands(recorded["commands"]).values())
  assert recorded["runs_per_set"]["mog"] == 4 and recorded["training_time"]["runs"] == 18
  assert json.load(open(tmp_path / "out.json"))["runs"] == recorded["runs"]
  data, outcomes = verify.run("klwgan", ctx=Context(workdir=str(work)))
  block = verify.recorded_block(recorded, data, outcomes)
  assert "| mmd_x1e3 | mog | 21.70 ± 5.77 | 4.50 ± 0.56 (n=4)" in block
  assert "KL-WGAN 2.00 vs hinge 4.50 (mean of n=4 runs each)" in block
  readme = tmp_path / "README.md"
  begin, end = verify.README_MARKERS
  readme.write_text(f"intro\n{begin}\nold\n{end}\noutro\n")
  assert verify.update_readme(str(readme), block)
  text = readme.read_text()
  assert text.startswith("intro\n") and text.endswith(f"{end}\noutro\n") and "old" not in text
  assert block in text
  (tmp_path / "plain.md").write_text("no markers\n")
  assert not verify.update_readme(str(tmp_path / "plain.md"), block)


@pytest.mark.parametrize("args", [["--paper=nope"], ["--paper=ttur", "--entry=nope"],
                                  ["--paper=ttur", "--format=xml"], [],
                                  ["--paper=wgan", "--checkpoint=../../etc/passwd"],
                                  ["--paper=wgan", "--checkpoint=../generators/x"],
                                  ["--paper=ttur", "stray"],
                                  ["--paper=klwgan", "--workdir=/no/such/dir"]])
def test_usage_errors_exit_2_with_one_line(args):
  result = run(*args, timeout=120)
  assert result.returncode == 2, (result.stdout, result.stderr)
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_list():
  result = run("--list", timeout=120)
  assert result.returncode == 0
  assert "ttur:" in result.stdout and "table1-dcgan-celeba-ttur" in result.stdout


def test_a_generator_of_another_dataset_cannot_run():
  from repro import checkpoints
  if "klwgan_mog" not in checkpoints.generator_entries():
    pytest.skip("klwgan_mog not shipped")
  result = run("--paper=wgan", "--entry=wgangp-8gaussians-all-modes", "--checkpoint=klwgan_mog",
               timeout=120)
  assert result.returncode == 0
  assert "cannot run: needs a generator of 8gaussians" in result.stdout


# ---- evaluators on runnable stand-ins ----------------------------------------------------------

def test_spearman_matches_scipy():
  from scipy import stats
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=30), rng.normal(size=30)
  y[3] = y[7]
  assert evaluators.spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
  assert evaluators.spearman([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]) == pytest.approx(1.0)


def _fake_run(workdir, w_values, quality):
  import tensorflow as tf
  os.makedirs(workdir, exist_ok=True)
  writer = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))
  with writer.as_default():
    for step, w in enumerate(w_values, start=1):
      tf.summary.scalar("critic/wasserstein_estimate", w, step=step * 10)
  writer.flush()
  with open(os.path.join(workdir, "eval.jsonl"), "w") as f:
    for k, q in enumerate(quality):
      f.write(json.dumps({"step": (k + 1) * 20, "modes_covered": 8, "hq_fraction": q}) + "\n")


def test_w_estimate_tracks_quality(tmp_path):
  entry = [e for e in registry.load_registry("wgan")["entries"]
           if e["id"] == "wgan-w-estimate-tracks-quality"][0]
  good = str(tmp_path / "good")
  # W falls as the high-quality fraction rises: strong positive correlation with 1 - hq.
  _fake_run(good, [3, 2.8, 2.0, 1.9, 1.2, 1.0, 0.6, 0.5, 0.3, 0.2], [.1, .3, .5, .6, .8])
  outcome = verify.verify_entry(entry, Context(workdir=good))
  assert outcome.status == "reproduced" and outcome.measured.value == pytest.approx(1.0)
  bad = str(tmp_path / "bad")
  _fake_run(bad, [0.2, 0.3, 0.5, 0.6, 1.0, 1.2, 1.9, 2.0, 2.8, 3], [.1, .3, .5, .6, .8])
  assert verify.verify_entry(entry, Context(workdir=bad)).status == "not reproduced"
  assert verify.verify_entry(dict(entry, recorded_run=None), Context()).status == "cannot run"
  # a recorded run (repro.verify --record --entry=...) is evaluated without its workdir
  out = str(tmp_path / "recorded.json")
  evaluators.record_run(good, out, entry["command"])
  recorded = verify.verify_entry(dict(entry, recorded_run=out), Context())
  assert recorded.status == "reproduced" and recorded.measured.value == pytest.approx(1.0)


def _write_registry(folder, text):
  os.makedirs(folder, exist_ok=True)
  with open(os.path.join(folder, "suite.toml"), "w") as f:
    f.write(textwrap.dedent(text))


def test_reference_fid_on_fashion_mnist_runs_and_matches_a_direct_computation(tmp_path):
  from repro.data import catalog
  try:
    catalog.check_prepared("fashion_mnist")
  except Exception:  # pylint: disable=broad-except
    pytest.skip("Fashion-MNIST not on this machine")
  from repro import data
  from repro.metrics.extractors import get_extractor
  from repro.metrics.fid import fid_from_activations
  from repro.metrics import images
  extractor = get_extractor("fashion_mnist_cnn")
  feats = []
  for split in ("train", "test"):
    x = data.load_array("fashion_mnist", split)[:1500]
    feats.append(extractor(images.to_extractor_range(x, extractor.input_spec, "none"))["features"])
  expected = fid_from_activations(*feats)
  folder = str(tmp_path / "registry")
  _write_registry(folder, f"""
      paper = "suite"
      title = "test"
      module = "repro.metrics.fid"
      [[entry]]
      id = "fm-train-vs-test"
      dataset = "fashion_mnist"
      model = "none"
      variant = "real images"
      metric = "fid"
      better = "closer"
      value = {expected!r}
      tolerance = {{ abs = 1e-6 }}
      tolerance_note = "test"
      source = "a direct computation in the test"
      command = "python -m repro.metrics.fid A B --extractor=fashion_mnist_cnn"
      evaluate = "reference_fid"
      [entry.protocol]
      extractor = "fashion_mnist_cnn"
      extractor_name = "fashion_mnist_cnn"
      n_fake = 1500
      n_real = 1500
      set_a = "fashion_mnist train, first 1500 images"
      set_b = "fashion_mnist test, first 1500 images"
      reference = "test"
      quantization = "none"
      statistics = "FID"
      """)
  result = run("--paper=suite", f"--registry={folder}", "--format=json", timeout=600)
  assert result.returncode == 0, result.stdout + result.stderr
  row = json.loads(result.stdout)["entries"][0]
  assert row["status"] == "reproduced" and row["ours"] == pytest.approx(expected, abs=1e-6)


def test_generator_fid_with_the_classifier_reproduces_a_shipped_checkpoint(tmp_path):
  from repro import checkpoints
  entries = checkpoints.generator_entries()
  names = [n for n, e in entries.items() if e["dataset"] == "fashion_mnist"]
  if not names:
    pytest.skip("no Fashion-MNIST generator shipped")
  name = names[0]
  recorded = entries[name]["metrics"]["fid"]
  folder = str(tmp_path / "registry")
  _write_registry(folder, f"""
      paper = "suite"
      title = "test"
      module = "repro.papers.wgan"
      [[entry]]
      id = "shipped-fid"
      dataset = "fashion_mnist"
      model = "shipped"
      variant = "{name}"
      metric = "fid"
      better = "lower"
      value = {recorded!r}
      tolerance = {{ rel = 1e-3 }}
      tolerance_note = "test"
      source = "checkpoints/manifest.json"
      command = "python -m repro.papers.wgan --dataset=fashion_mnist"
      evaluate = "generator_fid"
      default_checkpoint = "{name}"
      [entry.protocol]
      extractor = "fashion_mnist_cnn"
      extractor_name = "fashion_mnist_cnn"
      n_fake = 10000
      n_real = 60000
      reference = "fashion_mnist train"
      quantization = "none"
      statistics = "FID"
      noise_seed = 0
      """)
  result = run("--paper=suite", f"--registry={folder}", timeout=900)
  assert result.returncode == 0, result.stdout + result.stderr
  assert "✓" in result.stdout and f"generator: {name}" in result.stdout


def test_readme_checkpoint_command_judges_that_generator_and_only_entries_of_its_method():
  """The README's `--checkpoint` example evaluates an entry about that generator; an entry of
  another method on the same dataset (WGAN clipping vs the gradient-penalty generator) says what
  it needs instead of judging it."""
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    line = next(l for l in f if "-m repro.verify" in l and "--checkpoint=" in l)
  args = line.split("#")[0].split("-m repro.verify", 1)[1].split()
  result = run(*args, timeout=300)
  assert result.returncode == 0, result.stderr
  rows = {l.split(" ")[0]: l for l in result.stdout.splitlines() if l and not l.startswith(" ")}
  assert rows["wgangp-8gaussians-all-modes"].rstrip().endswith("✓"), result.stdout
  assert "cannot run: needs a generator trained with wgan (clip, clip_order)" in rows[
      "wgan-clip-8gaussians-all-modes"]
