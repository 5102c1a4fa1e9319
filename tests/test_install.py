"""The package as a user installs it: a wheel built from this checkout, installed (not editable) into
a fresh virtualenv, every README command run from an empty folder elsewhere, and nothing written
inside the installed package.

The fresh venv has no pip and downloads nothing: its site-packages gets a .pth line that adds this
interpreter's site-packages (TensorFlow and the other dependencies), and the wheel is installed with
`pip --python VENV install --no-deps`. The venv's own `repro` (with its data in repro/_data) comes
first on its path; the checkout is not on it.

Slow (a BUILD SLOW_TESTS file): ~2.5 min on the 2 shared cores, mostly TensorFlow starting in each
of 8 command processes.
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib

import numpy as np
import pytest

from repro.verify import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What a copy of the checkout leaves out: local state at its top, caches anywhere.
_NOT_SOURCES = (".git", ".venv", "runs", "workdirs", "data", "build", ".pytest_cache")


def _not_sources(folder, names):
  top = os.path.samefile(folder, ROOT)
  return [n for n in names if n == "__pycache__" or n.endswith(".egg-info") or
          (top and (n in _NOT_SOURCES or n.startswith("bazel-")))]


def _pyproject():
  with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
    return tomllib.load(f)


# ---- fast checks of pyproject.toml against the tree ----------------------------------------------

def test_pyproject_lists_every_package_and_entry_point():
  setuptools_cfg = _pyproject()["tool"]["setuptools"]
  listed = {p for p in setuptools_cfg["packages"] if not p.startswith("repro._data.")}
  found = {os.path.relpath(d, ROOT).replace(os.sep, ".")
           for d, _, files in os.walk(os.path.join(ROOT, "repro")) if "__init__.py" in files}
  assert listed == found
  mapped = setuptools_cfg["package-dir"]
  assert mapped == {"repro._data.papers": "papers", "repro._data.checkpoints": "checkpoints"}
  for target in _pyproject()["project"]["scripts"].values():
    module, function = target.split(":")
    tree = ast.parse(open(os.path.join(ROOT, *module.split(".")) + ".py", encoding="utf-8").read())
    assert function in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, target


def _shipped(package, data):
  """Files of the checkout that the package-data globs of `package` select (as relative paths)."""
  folder = os.path.join(ROOT, _pyproject()["tool"]["setuptools"]["package-dir"][package])
  out = set()
  import glob  # pylint: disable=g-import-not-at-top
  for pattern in data[package]:
    out |= {os.path.relpath(p, folder) for p in glob.glob(os.path.join(folder, pattern))}
  return folder, out


def test_package_data_holds_what_the_commands_read():
  data = _pyproject()["tool"]["setuptools"]["package-data"]
  folder, shipped = _shipped("repro._data.checkpoints", data)
  with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
    manifest = json.load(f)["checkpoints"]
  needed = {"manifest.json"} | {e["file"] for e in manifest.values()}
  assert needed <= shipped, needed - shipped
  folder, shipped = _shipped("repro._data.papers", data)
  needed = {os.path.basename(p) for p in os.listdir(folder) if p.endswith(".toml")}
  for paper in registry.available_papers():
    loaded = registry.load_registry(paper)
    for path in [loaded.get("results")] + [e.get("recorded_run") for e in loaded["entries"]]:
      if path:
        assert path.startswith("papers/"), path
        needed.add(path[len("papers/"):])
  assert needed <= shipped, needed - shipped


# ---- the installed package -----------------------------------------------------------------------

def _files(folder):
  return sorted(os.path.relpath(os.path.join(d, f), folder)
                for d, _, files in os.walk(folder) for f in files)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
  """(venv python, its site-packages, an empty working folder, env) with the wheel installed."""
  base = tmp_path_factory.mktemp("install")
  source = base / "checkout"
  shutil.copytree(ROOT, source, symlinks=True, ignore=_not_sources)
  pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
  wheels = base / "wheels"
  proc = subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "--no-index",
                               "-w", str(wheels), str(source)], capture_output=True, text=True,
                        timeout=300)
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
  wheel = next(wheels.glob("repro_gan-*.whl"))
  venv = base / "venv"
  subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
  python = str(venv / "bin" / "python")
  site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        capture_output=True, text=True, check=True).stdout.strip()
  parent = sysconfig.get_paths()["purelib"]
  with open(os.path.join(site, "_repro_test_parent_env.pth"), "w", encoding="utf-8") as f:
    f.write(f"import site; site.addsitedir({parent!r})\n")
  proc = subprocess.run(pip + ["--python", python, "install", "--no-deps", "--no-index", str(wheel)],
                        capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
  work = base / "elsewhere"
  work.mkdir()
  env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
  env.update(TF_CPP_MIN_LOG_LEVEL="3", REPRO_CACHE_DIR=str(base / "cache"),
             PATH=str(venv / "bin") + os.pathsep + env.get("PATH", ""))
  return python, site, work, env


def _run(installed, *command, timeout=300):
  python, _, work, env = installed
  del python
  proc = subprocess.run(list(command), capture_output=True, text=True, cwd=work, env=env,
                        timeout=timeout)
  return proc


def _example():
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    text = f.read()
  block = re.search(r"<!-- python-example -->\n```python\n(.*?)```\n<!-- /python-example -->", text,
                    re.S)
  assert block, "README.md lost its python-example block"
  return block.group(1)


def _verify_commands():
  """The repro.verify command lines of the README's "Verifying reported numbers" block, as the
  arguments after the command (comments dropped); training lines of the block are not included."""
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    text = f.read()
  section = text[text.index("## Verifying reported numbers"):]
  block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
  commands = []
  for line in block.splitlines():
    line = line.split("#")[0].strip()
    if "-m repro.verify" in line:
      commands.append(line.split("-m repro.verify", 1)[1].split())
    elif line.startswith("repro-verify"):
      commands.append(line.split()[1:])
  assert len(commands) >= 5, block
  return commands


def _write_folder(folder, images):
  from repro.train import images as images_lib  # pylint: disable=g-import-not-at-top
  os.makedirs(folder)
  for i, image in enumerate(images):
    images_lib.write_png(os.path.join(folder, f"{i:03d}.png"), image)


def test_installed_package_runs_the_readme_commands_from_elsewhere(installed):
  python, site, work, _ = installed
  package = os.path.join(site, "repro")
  before = _files(site)
  where = _run(installed, python, "-c", "import repro, repro.resources as r; "
               "print(repro.__file__); print(r.data_root())")
  assert where.returncode == 0, where.stderr
  assert where.stdout.split() == [os.path.join(package, "__init__.py"),
                                  os.path.join(package, "_data")]

  train = _run(installed, "repro-train", "wgan", "--dataset=8gaussians", "--steps=20",
               "--net={\"hidden\": [32, 32]}", "--eval_every=10", "--log_every=10",
               "--workdir=runs/toy")
  assert train.returncode == 0, train.stdout[-1500:] + train.stderr[-1500:]
  assert re.search(r"^final .*modes_covered \d", train.stdout, re.M), train.stdout
  assert (work / "runs" / "toy" / "recipe.json").is_file()

  # every command of the README's verify block evaluates something (the toy run above stands in
  # for the block's runs/toy training line)
  for args in _verify_commands():
    out = _run(installed, "repro-verify", *args)
    assert out.returncode == 0, (args, out.stdout[-1500:] + out.stderr[-1500:])
    if args == ["--list"]:
      assert len(out.stdout.splitlines()) >= 50, out.stdout
      continue
    ran = re.search(r"^(\d+) of \d+ entries ran", out.stdout, re.M)
    assert ran and int(ran.group(1)) >= 1, (args, out.stdout[-2000:])
    if "--workdir=runs/toy" in args:   # the run itself is judged, not only recorded numbers
      row = next(l for l in out.stdout.splitlines() if l.startswith("wgangp-8gaussians-all-modes"))
      assert "cannot run" not in row, row

  listing = _run(installed, "repro-checkpoints", "list")
  assert listing.returncode == 0, listing.stderr
  with open(os.path.join(ROOT, "checkpoints", "manifest.json"), encoding="utf-8") as f:
    names = [k for k, v in json.load(f)["checkpoints"].items() if v.get("kind") == "generator"]
  assert names and all(re.search(rf"^{n} ", listing.stdout, re.M) for n in names), listing.stdout

  evaluate = _run(installed, "repro-checkpoints", "evaluate", "wgan_gp_8gaussians")
  assert evaluate.returncode == 0, evaluate.stdout + evaluate.stderr[-1500:]
  assert evaluate.stdout.count("reproduced") == 2, evaluate.stdout

  sample = _run(installed, "repro-checkpoints", "sample", "wgan_gp_8gaussians", "--n=100",
                "--out=samples/points.npz")
  assert sample.returncode == 0, sample.stderr[-1500:]
  with np.load(work / "samples" / "points.npz", allow_pickle=False) as points:
    assert points["arr_0"].shape == (100, 2)

  verify = _run(installed, "repro-verify", "--all", "--format=json")
  assert verify.returncode == 0, verify.stdout[-1500:] + verify.stderr[-1500:]
  rows = {r["paper"]: r for r in json.loads(verify.stdout)}
  assert set(rows) == set(registry.available_papers()) | {"total"}
  del rows["total"]
  for paper, row in rows.items():
    assert row["entries"] == len(registry.load_registry(paper)["entries"]), row
  # Read from the installed data: KL-WGAN's recorded table, the shipped Coulomb generator.
  assert rows["klwgan"]["cannot_run"] == 0 and rows["klwgan"]["reproduced"] > 0, rows["klwgan"]
  assert rows["coulomb"]["reproduced"] == 1, rows["coulomb"]

  with open(work / "example.py", "w", encoding="utf-8") as f:
    f.write(_example())
  example = _run(installed, python, "example.py")
  assert example.returncode == 0, example.stderr[-2000:]
  assert "of 8 modes after 20 steps" in example.stdout
  assert (work / "runs" / "python_example" / "recipe.json").is_file()

  rng = np.random.default_rng(0)
  _write_folder(work / "a", rng.integers(0, 256, (40, 28, 28, 1)).astype(np.uint8))
  _write_folder(work / "b", rng.integers(100, 156, (40, 28, 28, 1)).astype(np.uint8))
  fid = _run(installed, "repro-fid", "a", "b", "--extractor=fashion_mnist_cnn")
  assert fid.returncode == 0, fid.stderr[-1500:]
  assert re.search(r"^FID: \d+\.\d+$", fid.stdout, re.M), fid.stdout

  assert _files(site) == before   # nothing written inside site-packages (nor the package)


# ---- repro.resources in the checkout --------------------------------------------------------------

def test_resources_find_the_checkout_data_and_refuse_writing_an_installed_package(monkeypatch):
  from repro import resources  # pylint: disable=g-import-not-at-top
  from repro.errors import UsageError  # pylint: disable=g-import-not-at-top
  assert not resources.installed()
  assert os.path.samefile(resources.data_root(), ROOT)
  assert os.path.isfile(resources.data_path("papers/wgan.toml"))
  assert os.path.samefile(resources.writable_data_path("checkpoints", "manifest.json"),
                          os.path.join(ROOT, "checkpoints", "manifest.json"))
  assert resources.display_path(resources.data_path("papers", "x.json")) == os.path.join("papers",
                                                                                         "x.json")
  monkeypatch.setattr(resources, "installed", lambda: True)
  with pytest.raises(UsageError, match="inside the installed package.*--manifest=PATH"):
    resources.writable_data_path("checkpoints", "manifest.json", flag="--manifest")
  monkeypatch.setenv("REPRO_CACHE_DIR", "/x/cache")
  assert resources.cache_dir("fid_stats") == "/x/cache/fid_stats"
  monkeypatch.delenv("REPRO_CACHE_DIR")
  monkeypatch.setenv("XDG_CACHE_HOME", "/y")
  assert resources.cache_dir() == "/y/repro"
