"""Recipes (issue 16): every paper's `recipe(dataset)` is pure (no absl flag read or defined), JSON
round trips, unknown overrides, `replace`, what a resumed run may change, frozen parameters."""

import dataclasses
import functools
import importlib
import json
import os
import subprocess
import sys

import pytest

from repro import recipe as recipe_lib
from repro import registry
from repro.errors import UsageError
from repro.recipe import Recipe, resume_differences

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPERS = ("wgan", "ttur", "fogan", "coulomb", "sinkhorn", "klwgan")
FID_PAPERS = ("ttur", "fogan", "coulomb")


def paper_module(name):
  return importlib.import_module(f"repro.papers.{name}")


def paper_cases(name):
  """[(dataset, options)]: every dataset of the paper, with the option variants that pick
  different settings (TTUR: every model allowed for the dataset; Sinkhorn: both solvers/spaces)."""
  module = paper_module(name)
  if name == "ttur":
    allowed = {"dcgan": module.DCGAN_DATASETS, "wgan_gp": module.WGAN_GP_DATASETS,
               "language": module.LANGUAGE_DATASETS}
    cases = []
    for dataset in module.TRAIN_DATASETS:
      cases.append((dataset, {}))
      for model in module.MODELS:
        if dataset in allowed[model]:
          cases += [(dataset, {"model": model}), (dataset, {"model": model, "ttur": False})]
    return cases
  variants = {
      "wgan": [{"variant": "gp"}, {"variant": "clip"}],
      "fogan": [{}, {"gan_method": "improved_wgan"}],
      "coulomb": [{}],
      "sinkhorn": [{}, {"solver": "dual", "space": "pixel"},
                   {"solver": "sinkhorn", "space": "pixel"},
                   {"solver": "sinkhorn", "space": "feature"}],
      "klwgan": [{}, {"loss": "hinge"}],
  }[name]
  return [(dataset, dict(options)) for dataset in module.DATASETS for options in variants]


CASES = [(paper, dataset, options) for paper in PAPERS for dataset, options in paper_cases(paper)]


def case_id(case):
  paper, dataset, options = case
  return "-".join([paper, dataset] + [f"{k}={v}" for k, v in sorted(options.items())])


# ---- every recipe: pure, serialisable, made of registered parts --------------------------------------

@pytest.mark.parametrize("paper, dataset, options", CASES, ids=[case_id(c) for c in CASES])
def test_recipe_round_trips_and_names_registered_parts(paper, dataset, options):
  r = paper_module(paper).recipe(dataset, **options)
  assert isinstance(r, Recipe) and (r.paper, r.dataset) == (paper, dataset)
  assert Recipe.from_json(r.to_json()) == r
  assert Recipe.from_dict(json.loads(r.to_json())) == r
  assert json.loads(r.to_json()) == r.to_dict()
  assert r.validate() is r
  registry.ARCHITECTURES.check_args(r.model.arch, r.model.args)
  registry.EVALUATORS.check(r.eval.metric)
  assert registry.build_objective(r) is not None     # the parameters the objective takes


# The script a fresh interpreter runs: it imports only repro.recipe and the paper module (and absl's
# flags, to look at them), with flag-like arguments on its command line that a recipe must ignore.
PURE_SCRIPT = r"""
import importlib, json, sys
request = json.loads(sys.stdin.read())
sys.argv = ["paper", "--steps=7", "--dataset=mnist", "--g_lr=0.5", "--batch_size=3"]
from absl import flags
from repro import recipe as recipe_lib
paper = importlib.import_module("repro.papers." + request["paper"])
imported = sorted(flags.FLAGS)
recipes = [paper.recipe(dataset, **options).to_json() for dataset, options in request["cases"]]
print(json.dumps({"parsed": flags.FLAGS.is_parsed(), "imported": imported,
                  "after": sorted(flags.FLAGS), "recipes": recipes,
                  "modules": sorted(m for m in sys.modules if m.startswith("repro"))}))
"""

# Flags the command line defines (repro.train.cli.define_common_flags / define_fid_flags).
CLI_FLAGS = (set(recipe_lib.COMMON) | set(recipe_lib.MERGED) | set(recipe_lib.FID) |
             {"text_file", "dataset", "workdir", "deterministic", "strategy", "cpu_devices", "tpu",
              "nan_policy", "checkpoint"})


def paper_flag_names(module):
  """The flags the paper's `define_flags` defines, on a FlagValues of their own."""
  from absl import flags
  values = flags.FlagValues()

  class Into:
    def __getattr__(self, name):
      return functools.partial(getattr(flags, name), flag_values=values)

  module.define_flags(Into())
  return set(values)


@pytest.mark.parametrize("paper", PAPERS)
def test_recipes_need_no_flags_in_a_fresh_process(paper):
  cases = paper_cases(paper)
  proc = subprocess.run([sys.executable, "-c", PURE_SCRIPT],
                        input=json.dumps({"paper": paper, "cases": cases}), capture_output=True,
                        text=True, cwd=ROOT, timeout=300,
                        env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads(proc.stdout.strip().splitlines()[-1])
  assert out["parsed"] is False
  module = paper_module(paper)
  ours = paper_flag_names(module) | CLI_FLAGS
  assert set(module.OPTIONS) <= ours     # every option of the paper is a flag of its command line
  assert not ours & set(out["imported"]), sorted(ours & set(out["imported"]))
  assert not ours & set(out["after"]), sorted(ours & set(out["after"]))
  assert "repro.train.cli" not in out["modules"]
  # The same recipes as in this process (whatever its flags and command line).
  for (dataset, options), text in zip(cases, out["recipes"]):
    assert Recipe.from_json(text) == module.recipe(dataset, **options), (dataset, options)
  assert len(out["recipes"]) == len(cases)


@pytest.mark.parametrize("paper", PAPERS)
def test_unknown_override_is_a_usage_error_naming_the_allowed_keys(paper):
  module = paper_module(paper)
  expected = (set(module.OPTIONS) | set(recipe_lib.COMMON) | set(recipe_lib.MERGED) |
              {"text_file"} | (set(recipe_lib.FID) if paper in FID_PAPERS else set()))
  for dataset in {dataset for dataset, _ in paper_cases(paper)}:
    with pytest.raises(UsageError) as e:
      module.recipe(dataset, learning_rate=1e-3, steps=10)
    message = str(e.value)
    assert "unknown override(s) learning_rate;" in message, message
    allowed = set(message.split("allowed: ", 1)[1].split(", "))
    assert expected <= allowed, sorted(expected - allowed)
    assert "learning_rate" not in allowed


# ---- replace ------------------------------------------------------------------------------------------

def test_replace_top_level_and_dotted_paths():
  from repro.papers import wgan
  r = wgan.recipe("cifar10")
  assert (r.steps, r.g_opt.lr, r.model.args["width"]) == (200000, 1e-4, 128)
  changed = r.replace(steps=10, seed=3, **{"g_opt.lr": 3e-4, "objective.params.gp_weight": 5.0,
                                           "model.args.width": 64, "eval.every": 7})
  assert (changed.steps, changed.seed, changed.g_opt.lr, changed.eval.every) == (10, 3, 3e-4, 7)
  assert changed.objective.params == {"gp_weight": 5.0}
  assert changed.model.args == dict(r.model.args, width=64)
  assert changed.d_opt == r.d_opt and changed.g_opt.beta1 == r.g_opt.beta1
  assert [path for path, _, _ in r.diff(changed)] == sorted(
      ["steps", "seed", "g_opt.lr", "objective.params.gp_weight", "model.args.width",
       "eval.every"])
  # The original is untouched; a params key that did not exist is added; a dict replaces whole.
  assert r == wgan.recipe("cifar10")
  assert r.replace(**{"objective.params.extra": 1}).objective.params == {"gp_weight": 10.0,
                                                                          "extra": 1}
  whole = r.replace(**{"model.args": {"width": 8}})
  assert whole.model.args == {"width": 8} and whole.model.arch == r.model.arch
  assert Recipe.from_json(changed.to_json()) == changed


@pytest.mark.parametrize("changes, message", [
    ({"stepz": 1}, "unknown recipe field 'stepz'"),
    ({"g_opt.learning_rate": 1e-3}, "unknown recipe field 'g_opt.learning_rate'"),
    ({"steps": 0}, "--steps must be a positive integer"),
    ({"g_opt.lr": -1.0}, "--g_lr must be a positive learning rate"),
    ({"ema.decay": 1.5}, "--ema_decay must be in"),
    ({"z_dist": "cauchy"}, "--z_dist must be one of"),
])
def test_replace_rejects_unknown_paths_and_bad_values(changes, message):
  from repro.papers import wgan
  with pytest.raises(UsageError, match=message):
    wgan.recipe("8gaussians").replace(**changes)


# ---- resuming: only RESUMABLE fields may change ----------------------------------------------------------

def _other(value):
  """A different value of the same kind (for a recipe built without validation)."""
  if isinstance(value, bool):
    return not value
  if isinstance(value, (int, float)):
    return value * 2 + 1
  if isinstance(value, str):
    return value + "_other"
  if isinstance(value, (list, tuple)):
    return list(value) + [1]
  raise AssertionError(f"no other value for {value!r}")


def _with(recipe, path, value):
  values = recipe.to_dict()
  node = values
  *parents, last = path.split(".")
  for part in parents:
    node = node[part]
  node[last] = value
  return Recipe.from_dict(values)


def test_resume_differences_ignore_resumable_fields_only():
  from repro.papers import ttur
  saved = ttur.recipe("cifar10", model="wgan_gp")
  leaves = {path: value for path, value in saved.flat().items() if value != {}}
  assert set(recipe_lib.RESUMABLE) <= set(leaves)    # every resumable field is in this recipe
  everything = saved
  for path in recipe_lib.RESUMABLE:
    everything = _with(everything, path, _other(leaves[path]))
  assert len(saved.diff(everything)) == len(recipe_lib.RESUMABLE)
  assert resume_differences(saved, everything) == []
  for path, value in leaves.items():
    current = _with(saved, path, _other(value))
    assert [d[0] for d in saved.diff(current)] == [path]
    expected = [] if path in recipe_lib.RESUMABLE else [(path, value, _other(value))]
    assert resume_differences(saved, current) == expected, path
    # A resumable change does not hide another one.
    both = _with(everything, path, _other(value)) if path not in recipe_lib.RESUMABLE else None
    if both is not None:
      assert [d[0] for d in resume_differences(saved, both)] == [path]


def test_resumable_eval_param_added_to_empty_params():
  from repro.papers import ttur
  saved = ttur.recipe("8gaussians")            # eval.params == {} (mode coverage)
  assert saved.eval.params == {}
  assert resume_differences(saved, ttur.recipe("8gaussians", fid="off")) == []
  assert resume_differences(ttur.recipe("8gaussians", fid="off"), saved) == []


# ---- frozen ---------------------------------------------------------------------------------------------

def test_recipe_and_its_params_cannot_be_mutated():
  from repro.papers import ttur
  r = ttur.recipe("cifar10", model="wgan_gp", fid="off")
  params, args = r.objective.params, r.model.args
  for mutate in (lambda: params.__setitem__("gp_weight", 1.0),
                 lambda: params.update(gp_weight=1.0),
                 lambda: params.pop("gp_weight"),
                 lambda: params.popitem(),
                 lambda: params.setdefault("other", 1),
                 lambda: params.clear(),
                 lambda: args.__delitem__("width"),
                 lambda: r.eval.params.__setitem__("mode", "on"),
                 lambda: r.data.text.__setitem__("file", "x")):
    with pytest.raises(TypeError, match="frozen"):
      mutate()
  with pytest.raises(TypeError, match="frozen"):
    args |= {"width": 1}
  for obj, field in ((r, "steps"), (r.g_opt, "lr"), (r.model, "args"), (r.objective, "params"),
                     (r.eval, "every")):
    with pytest.raises(dataclasses.FrozenInstanceError):
      setattr(obj, field, None)
  toy = ttur.recipe("8gaussians", model="wgan_gp")
  assert isinstance(toy.model.args["hidden"], tuple)   # lists are frozen to tuples
  # Frozen after a JSON round trip too, and still equal to plain dicts.
  loaded = Recipe.from_json(r.to_json())
  with pytest.raises(TypeError, match="frozen"):
    loaded.objective.params["gp_weight"] = 1.0
  assert loaded.objective.params == {"gp_weight": 10.0} and r == loaded
  assert r == ttur.recipe("cifar10", model="wgan_gp", fid="off")
  assert hash(r) == hash(loaded)
