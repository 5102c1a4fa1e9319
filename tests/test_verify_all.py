"""`python -m repro.verify --all`: one summary over every registry file, with the grand total."""

import json

from cli_runs import assert_usage_error, run_module


def test_all_summarises_every_paper_with_a_total():
  proc = run_module("repro.verify", "--all", "--format=json", "--strict", timeout=600)
  assert proc.returncode in (0, 5), proc.stderr[-2000:]
  rows = json.loads(proc.stdout)
  papers = {r["paper"] for r in rows[:-1]}
  assert {"wgan", "ttur", "coulomb", "fogan", "sinkhorn", "klwgan"} <= papers
  total = rows[-1]
  assert total["paper"] == "total"
  for key in ("entries", "reproduced", "not_reproduced", "cannot_run"):
    assert total[key] == sum(r[key] for r in rows[:-1])
  for r in rows[:-1]:
    assert r["reproduced"] + r["not_reproduced"] + r["cannot_run"] == r["entries"]
    assert (r["cannot_run"] == 0) == (r["why"] == "—")
  # with --strict the exit code says whether any entry that ran was not reproduced
  assert proc.returncode == (5 if total["not_reproduced"] else 0)


def test_all_takes_no_single_paper_flags():
  assert_usage_error(run_module("repro.verify", "--all", "--paper=wgan"))
