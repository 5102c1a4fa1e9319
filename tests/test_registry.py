"""The registry of reported numbers (papers/*.toml): well formed, sourced, and every command parses."""

import copy
import os

import pytest

from repro.errors import UsageError
from repro.verify import registry

PAPERS = registry.available_papers()


def test_the_six_papers_and_the_metric_references_are_there():
  assert set(PAPERS) >= {"ttur", "fogan", "wgan", "klwgan", "coulomb", "sinkhorn", "metrics"}


@pytest.mark.parametrize("paper", PAPERS)
def test_every_entry_is_well_formed(paper):
  data = registry.load_paper(os.path.join(registry.REGISTRY_DIR, paper + ".toml"))
  assert registry.validate(data) == []
  for e in data["entries"]:
    assert e["source"].strip(), e["id"]
    assert e["protocol"]["n_fake"], e["id"]


def _values(paper):
  data = registry.load_registry(paper)
  return {e["id"]: e.get("value") for e in data["entries"]}


def test_ttur_table1_values():
  v = {k: x for k, x in _values("ttur").items() if k.startswith("table1-")}   # Table 1 only
  assert len(v) == 16
  expected = {"table1-dcgan-celeba-ttur": 12.5, "table1-dcgan-celeba-orig": 21.4,
              "table1-dcgan-cifar10-ttur": 36.9, "table1-dcgan-cifar10-orig": 37.7,
              "table1-dcgan-svhn-ttur": 12.5, "table1-dcgan-svhn-orig": 21.4,
              "table1-dcgan-lsun-ttur": 57.5, "table1-dcgan-lsun-orig": 70.4,
              "table1-wgangp-cifar10-ttur": 24.8, "table1-wgangp-cifar10-orig": 29.3,
              "table1-wgangp-lsun-ttur": 9.5, "table1-wgangp-lsun-orig": 20.5,
              "table1-wgangp-1bw-jsd4-ttur": 0.35, "table1-wgangp-1bw-jsd4-orig": 0.38,
              "table1-wgangp-1bw-jsd6-ttur": 0.74, "table1-wgangp-1bw-jsd6-orig": 0.77}
  assert v == expected
  svhn = registry.load_registry("ttur")["entries"][4]
  assert "issue 19" in svhn["note"]


def test_other_reported_values():
  assert _values("fogan") == {"cifar10-fid": 27.4, "lsun-fid": 11.4}
  assert _values("wgan")["wgangp-cifar10-resnet-is"] == 7.86
  m = _values("metrics")
  assert m["fid-cifar10-train-vs-test"] == 3.1508
  assert m["is-cifar10-train"] == 11.24 and m["is-cifar10-test"] == 10.98
  assert m["fid-cifar10-first5k-train-vs-test"] == 10.3233274
  assert m["is-cifar10-first100-train"] == 4.51089784587268


def test_klwgan_synthetic_numbers_match_the_paper_module():
  from repro.papers import klwgan  # the module's own copy of the notebook's table
  data = registry.load_registry("klwgan")
  numeric = [e for e in data["entries"] if "value" in e and e["evaluate"] != "whole_run_study"]
  assert len(numeric) == 24
  for e in numeric:
    metric = "loglik" if e["metric"] == "loglik" else "mmd"
    assert (e["value"], e["plus_minus"]) == klwgan.PAPER_TABLE[metric][e["loss"]][e["dataset"]], e["id"]


def test_qualitative_entries_carry_the_claim_and_a_criterion():
  for paper in ("wgan", "coulomb", "sinkhorn"):
    for e in registry.load_registry(paper)["entries"]:
      if "criterion" in e:
        assert e["claim"] and e["tolerance_note"]


def test_default_checkpoints_exist_in_the_manifest():
  from repro import checkpoints
  names = checkpoints.generator_entries()
  for paper in PAPERS:
    for e in registry.load_registry(paper)["entries"]:
      if e.get("default_checkpoint") and e["default_checkpoint"] in names:
        assert names[e["default_checkpoint"]]["dataset"] == e["dataset"]


def test_every_command_parses_with_its_module_flags():
  commands = sorted({e["command"] for p in PAPERS for e in registry.load_registry(p)["entries"]
                     if e["command"]})
  problems = {c: p for c, p in registry.check_commands(commands).items() if p}
  assert not problems, problems


def test_the_checker_catches_bad_commands():
  bad = ["python -m repro.papers.wgan --dataset=8gaussians --no_such_flag=1",
         "python -m repro.papers.wgan --dataset=imagenet",
         "python -m repro.papers.wgan stray_argument",
         "python -m repro.papers.nope --dataset=mnist"]
  found = registry.check_commands(bad)
  assert all(found[c] for c in bad), found
  good = registry.check_commands(["python -m repro.papers.wgan --dataset=8gaussians --variant=clip"])
  assert list(good.values()) == [None]


@pytest.mark.parametrize("command", ["rm -rf /", "python train.py", "python -m os", "python -m 'x"])
def test_commands_must_be_suite_modules(command):
  with pytest.raises(UsageError):
    registry.parse_command(command)


def _one(**changes):
  data = copy.deepcopy(registry.load_paper(os.path.join(registry.REGISTRY_DIR, "fogan.toml")))
  data["entries"] = data["entries"][:1]
  for key, value in changes.items():
    if value is None:
      data["entries"][0].pop(key, None)
    else:
      data["entries"][0][key] = value
  return registry.validate(data)


@pytest.mark.parametrize("changes, message", [
    (dict(source=None), "'source'"),
    (dict(command=""), "missing"),
    (dict(tolerance={"pct": 3}), "tolerance"),
    (dict(tolerance=None), "tolerance"),
    (dict(criterion={"op": ">=", "value": 1}), "exactly one of value"),
    (dict(evaluate="guess"), "evaluate"),
    (dict(protocol={"extractor": "x"}), "protocol misses"),
    (dict(command="python -m pip install x"), "not a module of this suite"),
])
def test_validation_catches_malformed_entries(changes, message):
  problems = _one(**changes)
  assert any(message in p for p in problems), problems


def test_unknown_paper_is_a_usage_error():
  with pytest.raises(UsageError, match="choose one of"):
    registry.load_registry("no_such_paper")
