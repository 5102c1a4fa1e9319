"""Runs the golden tests under several numeric configurations and tabulates what every check measured.

    python -m tests.golden_spread [--configs=all|NAME,...] [--write]      (make golden-spread)

A configuration is a process environment: oneDNN on or off (TF_ENABLE_ONEDNN_OPTS) and 1 or 2
intra-op threads (TF_NUM_INTRAOP_THREADS). Each runs the golden test files in its own pytest process
with $REPRO_GOLDEN_LOG set (tests/step_goldens.py appends every check's measured value and bound).
The result, per processor, goes to tests/goldens/train_step/spread.json (`--write`; results of other
processors already in the file are kept) and, as a table, between the markers of
tests/goldens/train_step/README.md. Exit 1 when a check's bound is under MARGIN times the largest
value it took in any configuration, on any processor in the file, or in the official code's re-runs.
"""

import argparse
import collections
import fnmatch
import glob
import json
import os
import subprocess
import sys
import tempfile

from repro.machine import cpu_model
from tests import step_goldens

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPREAD = os.path.join(step_goldens.GOLDENS, "spread.json")
README = os.path.join(step_goldens.GOLDENS, "README.md")
BEGIN, END = "<!-- spread:begin -->", "<!-- spread:end -->"
FILES = ("tests/test_official_step_*.py", "tests/test_official_multistep*.py", "tests/test_optimizers.py")
CONFIGS = {f"onednn{o}-threads{t}": {"TF_ENABLE_ONEDNN_OPTS": str(o), "TF_NUM_INTRAOP_THREADS": str(t),
                                     "TF_NUM_INTEROP_THREADS": str(t), "OMP_NUM_THREADS": str(t)}
           for o in (1, 0) for t in (1, 2)}
# The official code re-run against its own golden, per case and configuration (two layouts, below).
OFFICIAL = ("official_spread.json", "official_spread_torch.json")


def run_config(name, env, patterns=FILES):
  """{(test, check): (measured, bound)} of one configuration, measured in a fresh process."""
  files = sorted(f for pattern in patterns for f in glob.glob(os.path.join(ROOT, pattern)))
  with tempfile.TemporaryDirectory() as tmp:
    log = os.path.join(tmp, "log.jsonl")
    child = dict(os.environ, **env, **{step_goldens.LOG_ENV: log})
    print(f"{name}: pytest {len(files)} files", flush=True)
    code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
                           cwd=ROOT, env=child)
    if code not in (0, 1):
      raise SystemExit(f"{name}: pytest exited {code}")
    out = {}
    with open(log) as f:
      for line in f:
        r = json.loads(line)
        key = f"{r['test']}::{r['check']}"
        measured = max(r["measured"], out.get(key, (0.0, 0.0))[0])
        out[key] = (measured, r["bound"])
  return code, out


def official_spread():
  """{case: (largest, largest outside the tensors with their own looser bound)}: the relative
  difference of the official code re-run against its golden, over the configurations whose inputs
  were the golden's (a row whose initial state differs in round-off measures something else)."""
  out = {}
  for name in OFFICIAL:
    path = os.path.join(step_goldens.GOLDENS, name)
    if not os.path.exists(path):
      continue
    with open(path) as f:
      data = json.load(f)
    if "results" in data:    # {case: {configuration: {"max_rel", "max_rel_other_tensors"}}}
      for case, configs in data["results"].items():
        rows = [c for c in configs.values() if c.get("inputs_identical", True)]
        out[case] = (max(c["max_rel"] for c in rows),
                     max(c.get("max_rel_other_tensors", c["max_rel"]) for c in rows))
    else:                    # {case: {"configs": {configuration: {"max_rel_state": x}}}}
      # state tensors only: gan_toy.py's disc_cost fetched beside its update races with it under
      # 2 threads (2e-4), which says nothing of the state the tests compare (official_spread.json)
      for case, entry in data["cases"].items():
        largest = max(c["max_rel_state"] for c in entry["configs"].values())
        out[case] = (largest, largest)
  return out


def case_of(test):
  """The golden case a test id belongs to (its file's name after test_official_step_)."""
  stem = os.path.basename(test.split("::")[0])[:-len(".py")]
  for prefix in ("test_official_step_", "test_official_multistep_"):
    if stem.startswith(prefix):
      return stem[len(prefix):]
  return None


def table(spread, official):
  """Markdown: per test file, the largest measured value per configuration (over processors), the
  bound of the check that used the most of its bound, and the smallest margin."""
  configs = sorted({c for checks in spread.values() for check in checks.values()
                    for c in check["measured"]})
  per_check = collections.defaultdict(dict)   # check -> {config: measured}; bound
  bounds = {}
  for checks in spread.values():
    for key, check in checks.items():
      for config, measured in check["measured"].items():
        per_check[key][config] = max(measured, per_check[key].get(config, 0.0))
      bounds[key] = check["bound"]
  rows = collections.defaultdict(lambda: {"checks": 0, "worst": {}, "margin": float("inf"), "at": ""})
  for key, seen in per_check.items():
    test = key.split("::")[0]
    row = rows[test]
    row["checks"] += 1
    for config, measured in seen.items():
      if bounds[key] == step_goldens.RTOL:
        row["worst"][config] = max(measured, row["worst"].get(config, 0.0))
    largest = max(seen.values())
    case = case_of(key)
    if case in official and bounds[key] >= step_goldens.RTOL:   # a tensor against its golden
      largest = max(largest, official[case][1 if bounds[key] == step_goldens.RTOL else 0])
    margin = bounds[key] / largest if largest > 0 else float("inf")
    if margin < row["margin"]:
      row["margin"], row["at"] = margin, f"{key.split('::', 2)[-1]} (bound {bounds[key]:.2g})"
  lines = ["| test file | checks | " + " | ".join(f"{c}: largest at RTOL" for c in configs) +
           " | smallest margin (bound / largest seen), at |",
           "|---|---|" + "---|" * len(configs) + "---|"]
  for test in sorted(rows):
    row = rows[test]
    worst = " | ".join(f"{row['worst'][c]:.2g}" if c in row["worst"] else "-" for c in configs)
    margin = "exact" if row["margin"] == float("inf") else f"{row['margin']:.1f}x"
    lines.append(f"| {test} | {row['checks']} | {worst} | {margin}, {row['at']} |")
  return "\n".join(lines), min((r["margin"] for r in rows.values()), default=float("inf"))


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--configs", default="all", help="all, or names among " + ", ".join(CONFIGS))
  parser.add_argument("--write", action="store_true",
                      help="store the results in spread.json and the README table")
  parser.add_argument("--table", action="store_true", help="only print the table of spread.json")
  parser.add_argument("--files", default=",".join(FILES),
                      help="comma-separated test file patterns (default: every golden test file)")
  args = parser.parse_args(argv)
  spread = {}
  if os.path.exists(SPREAD):
    with open(SPREAD) as f:
      spread = json.load(f)
  if not args.table:
    names = list(CONFIGS) if args.configs == "all" else args.configs.split(",")
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
      print(f"error: unknown configuration(s) {unknown}; choose from {list(CONFIGS)}", file=sys.stderr)
      return 2
    cpu, failed = cpu_model(), []
    patterns = args.files.split(",")
    entry = spread.setdefault(cpu, {})
    for key in [k for k in entry if any(fnmatch.fnmatch(k.split("::")[0], p) for p in patterns)]:
      del entry[key]   # a new measurement replaces these files' (their bounds may have changed)
    for name in names:
      code, checks = run_config(name, CONFIGS[name], patterns)
      for key, (measured, bound) in checks.items():
        entry.setdefault(key, {"bound": bound, "measured": {}})["measured"][name] = float(
            f"{measured:.3g}")
      if code:
        failed.append(name)
    if failed:
      print(f"golden tests failed under {failed}", file=sys.stderr)
  official = official_spread()
  text, margin = table(spread, official)
  print(text)
  print(f"smallest margin: {margin:.1f}x (required: {step_goldens.MARGIN}x)")
  if args.write:
    with open(SPREAD, "w") as f:
      json.dump(spread, f, indent=0, sort_keys=True)
    with open(README) as f:
      readme = f.read()
    head, rest = readme.split(BEGIN, 1) if BEGIN in readme else (readme + "\n" + BEGIN, END)
    tail = rest.split(END, 1)[1] if END in rest else ""
    with open(README, "w") as f:
      f.write(f"{head}{BEGIN}\n{text}\n{END}{tail}")
  return 1 if margin < step_goldens.MARGIN or (not args.table and failed) else 0


if __name__ == "__main__":
  sys.exit(main())
