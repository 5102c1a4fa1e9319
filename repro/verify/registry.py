"""The registry of reported numbers (``papers/*.toml``): loading, validation, command checks.

See ``papers/README.md`` for the schema. No TensorFlow here.
"""

import copy
import glob
import json
import os
import shlex
import subprocess
import sys
import tomllib

from repro import resources
from repro.errors import UsageError

REGISTRY_DIR = resources.data_path("papers")
# The folder holding the `repro` package: a command check runs there, so `python -m repro...`
# imports this very package (a checkout, or site-packages when installed); it writes nothing.
_IMPORT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EVALUATORS = ("generator_fid", "generator_is", "reference_fid", "reference_is", "mode_coverage",
              "w_estimate_tracks_quality", "klwgan_synthetic", "klwgan_synthetic_compare",
              "logged_best", "unavailable", "whole_run_study",
              "saddle_claim", "fid_disturbance")   # TTUR's CPU claims: repro/verify/ttur_claims.py
BETTER = ("lower", "higher", "closer")
CRITERION_OPS = (">=", ">", "<=", "<", "==")
REQUIRED = ("id", "dataset", "model", "variant", "metric", "better", "protocol", "source",
            "command", "evaluate")
PROTOCOL_REQUIRED = ("extractor", "n_fake", "n_real", "reference", "quantization", "statistics")
TOP_REQUIRED = ("paper", "title", "module")
# Modules a registry command may run.
COMMAND_MODULES = ("repro.papers.", "repro.metrics.fid", "repro.verify", "repro.checkpoints",
                   "repro.studies.")


def _merge(defaults, entry):
  out = copy.deepcopy(defaults)
  for key, value in entry.items():
    if key == "protocol" and isinstance(value, dict):
      out["protocol"] = dict(out.get("protocol", {}), **value)
    else:
      out[key] = value
  return out


def load_paper(path):
  """{top-level fields..., "entries": [entry, ...], "path": path} of one registry file."""
  try:
    with open(path, "rb") as f:
      data = tomllib.load(f)
  except (OSError, tomllib.TOMLDecodeError) as e:
    raise UsageError(f"cannot read registry file {path}: {e}") from None
  defaults = data.pop("defaults", {})
  entries = [_merge(defaults, e) for e in data.pop("entry", [])]
  for e in entries:
    e.setdefault("paper", data.get("paper"))
  return dict(data, entries=entries, path=path)


def available_papers(registry_dir=None):
  folder = registry_dir or REGISTRY_DIR
  return sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(folder, "*.toml")))


def load_registry(paper, registry_dir=None):
  """The registry file of `paper` (validated)."""
  folder = registry_dir or REGISTRY_DIR
  names = available_papers(folder)
  if paper not in names:
    raise UsageError(f"no registry file for --paper={paper} in {folder}; choose one of "
                     f"{', '.join(names) or '(none)'}")
  data = load_paper(os.path.join(folder, paper + ".toml"))
  problems = validate(data)
  if problems:
    raise UsageError(f"{data['path']} is malformed: {'; '.join(problems[:5])}")
  return data


def _number(value):
  return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate(data):
  """A list of problems (empty when the file is well formed)."""
  problems = []
  for key in TOP_REQUIRED:
    if not data.get(key):
      problems.append(f"missing top-level '{key}'")
  expected = os.path.basename(data.get("path", ""))[:-5]
  if data.get("paper") and expected and data["paper"] != expected:
    problems.append(f"paper = {data['paper']!r} but the file is {expected}.toml")
  seen = set()
  if not data["entries"]:
    problems.append("no [[entry]]")
  for e in data["entries"]:
    where = f"entry {e.get('id', '?')!r}"
    for key in REQUIRED:
      if key not in e or e[key] is None or (key != "command" and e[key] == ""):
        problems.append(f"{where}: missing '{key}'")
    if e.get("id") in seen:
      problems.append(f"{where}: duplicate id")
    seen.add(e.get("id"))
    if e.get("better") not in BETTER:
      problems.append(f"{where}: better must be one of {BETTER}")
    if e.get("evaluate") not in EVALUATORS:
      problems.append(f"{where}: evaluate must be one of {EVALUATORS}")
    has_value, has_criterion = "value" in e, "criterion" in e
    if has_value == has_criterion:
      problems.append(f"{where}: give exactly one of value (a reported number) or criterion "
                      "(a qualitative claim)")
    if has_value:
      if not _number(e["value"]):
        problems.append(f"{where}: value must be a number")
      if "plus_minus" in e and not (_number(e["plus_minus"]) and e["plus_minus"] >= 0):
        problems.append(f"{where}: plus_minus must be a non-negative number")
      tol = e.get("tolerance")
      if not isinstance(tol, dict) or not tol or set(tol) - {"abs", "rel", "se_multiple"} or \
          not all(_number(v) and v >= 0 for v in tol.values()) or \
          ("se_multiple" in tol and "abs" not in tol):
        problems.append(f"{where}: tolerance must be {{abs = a}}, {{rel = r}} or "
                        "{se_multiple = k, abs = a} with non-negative numbers")
    if has_criterion:
      c = e["criterion"]
      if not isinstance(c, dict) or c.get("op") not in CRITERION_OPS or not _number(c.get("value")):
        problems.append(f"{where}: criterion must be {{op = '>=', value = number}}")
      if not e.get("claim"):
        problems.append(f"{where}: a qualitative entry needs the paper's 'claim'")
    if not e.get("tolerance_note"):
      problems.append(f"{where}: missing 'tolerance_note' (why this tolerance or criterion)")
    protocol = e.get("protocol")
    if not isinstance(protocol, dict):
      problems.append(f"{where}: protocol must be a table")
    else:
      for key in PROTOCOL_REQUIRED:
        if key not in protocol:
          problems.append(f"{where}: protocol misses '{key}'")
    command = e.get("command", "")
    if command == "":
      if not e.get("missing"):
        problems.append(f"{where}: an empty command needs 'missing' (why the suite cannot run it)")
    elif isinstance(command, str):
      try:
        parse_command(command)
      except UsageError as err:
        problems.append(f"{where}: {err}")
    else:
      problems.append(f"{where}: command must be a string")
    if e.get("evaluate") == "unavailable" and not e.get("missing"):
      problems.append(f"{where}: evaluate = 'unavailable' needs 'missing'")
    if e.get("evaluate") == "logged_best" and not e.get("logged"):
      problems.append(f"{where}: evaluate = 'logged_best' needs 'logged' (the eval.jsonl key)")
    if e.get("evaluate") == "whole_run_study":
      from repro.studies import whole_run  # pylint: disable=g-import-not-at-top
      if e.get("study") not in whole_run.STUDIES:
        problems.append(f"{where}: evaluate = 'whole_run_study' needs 'study', one of "
                        f"{', '.join(whole_run.STUDIES)}")
      elif e.get("metric") not in [m[0] for m in whole_run.STUDIES[e["study"]].metrics]:
        problems.append(f"{where}: study {e['study']} has no metric {e.get('metric')!r}")
    if "alpha" in e and not (_number(e["alpha"]) and 0 < e["alpha"] < 1):
      problems.append(f"{where}: alpha (the one-sided test's level) must be in (0, 1)")
    if e.get("evaluate") == "whole_run_study" and "alpha" not in e:
      problems.append(f"{where}: evaluate = 'whole_run_study' needs 'alpha'")
    if e.get("evaluate") in ("saddle_claim", "fid_disturbance"):
      from repro.verify import ttur_claims  # pylint: disable=g-import-not-at-top
      problems += ttur_claims.validate(e)
  return problems


def parse_command(command):
  """(module, args) of 'python -m MODULE ARGS...'; raises UsageError for anything else."""
  try:
    words = shlex.split(command)
  except ValueError as e:
    raise UsageError(f"command {command!r} does not parse as a shell command: {e}") from None
  if len(words) < 3 or words[0] not in ("python", "python3") or words[1] != "-m":
    raise UsageError(f"command {command!r} must read 'python -m MODULE [ARGS]'")
  module = words[2]
  if not any(module == m.rstrip(".") or module.startswith(m) for m in COMMAND_MODULES):
    raise UsageError(f"command {command!r} runs {module}, not a module of this suite")
  return module, words[3:]


_CHECKER = r"""
import json, sys, importlib
from absl import flags
module, commands = sys.argv[1], json.loads(sys.argv[2])
flag_module = {"repro.metrics.fid": "repro.metrics.fid_cli"}.get(module, module)
try:
  mod = importlib.import_module(flag_module)
  if module.startswith("repro.papers."):   # the flags the module's main() defines
    importlib.import_module("repro.train.cli").define_paper_flags(mod)
  elif module.startswith("repro.studies."):
    mod.define_flags()
except Exception as e:
  print(json.dumps({"import": f"{type(e).__name__}: {e}"})); sys.exit(0)
results = {}
positional_ok = module == "repro.metrics.fid"
for command, args in commands:
  try:
    rest = flags.FLAGS([module] + args)
    problem = None
    if len(rest) > 1 and not positional_ok:
      problem = f"unexpected arguments {rest[1:]}"
    datasets = getattr(mod, "DATASETS", None)
    if problem is None and datasets and "dataset" in flags.FLAGS and flags.FLAGS.dataset and \
        flags.FLAGS.dataset not in datasets and flags.FLAGS.dataset not in getattr(mod, "TRAIN_DATASETS", ()):
      problem = f"--dataset={flags.FLAGS.dataset} is not one of {module}'s datasets"
    if problem is None and module == "repro.papers.klwgan" and flags.FLAGS.sets:
      mod._parse_sets(flags.FLAGS.sets)
  except Exception as e:
    problem = f"{type(e).__name__}: {e}"
  finally:
    flags.FLAGS.unparse_flags()
  results[command] = problem
print(json.dumps(results))
"""


def check_commands(commands, python=None):
  """{command: problem or None}: each command's flags parsed by its module's own absl flags.

  One subprocess per module (each defines its paper's flags; they must not meet).
  """
  by_module = {}
  out = {}
  for command in commands:
    try:
      module, args = parse_command(command)
    except UsageError as e:
      out[command] = str(e)
      continue
    by_module.setdefault(module, []).append((command, args))
  for module, items in sorted(by_module.items()):
    result = subprocess.run([python or sys.executable, "-c", _CHECKER, module, json.dumps(items)],
                            capture_output=True, text=True, cwd=_IMPORT_ROOT, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    lines = [l for l in result.stdout.strip().splitlines() if l.startswith("{")]
    if result.returncode != 0 or not lines:
      for command, _ in items:
        out[command] = f"checker failed for {module}: {result.stderr.strip()[-500:]}"
      continue
    answer = json.loads(lines[-1])
    if "import" in answer:
      for command, _ in items:
        out[command] = f"cannot import {module}: {answer['import']}"
      continue
    out.update(answer)
  return out
