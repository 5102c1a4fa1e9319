"""Your own runs are first-class: `checkpoints evaluate|export|sample` take a training workdir as well
as a shipped name, and `sample` writes what torch-fidelity / clean-fid / TTUR's fid.py read (a PNG
folder, or an .npz whose arr_0 is uint8 NHWC)."""

import json
import os

import numpy as np
import pytest

from repro import checkpoints
from repro.errors import UsageError
from repro.recipe import make
from repro.train.runner import Trainer


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("run") / "toy")
  recipe = make("wgan", "8gaussians", "mlp", model=dict(hidden=(16, 16)),
                objective=("wgan", dict(gp_weight=0.1)), z_dim=2, batch_size=32, steps=4,
                n_critic=1, save_every=2, eval_every=1000, log_every=1000, seed=1)
  Trainer(recipe, path, quiet=True).train()
  return path


def test_sample_of_a_workdir_is_its_latest_generator(workdir, tmp_path):
  out = str(tmp_path / "points.npz")
  assert checkpoints.main(["sample", workdir, "--n=37", f"--out={out}", "--seed=3"]) == 0
  with np.load(out, allow_pickle=False) as data:
    points = data["arr_0"]
  assert points.shape == (37, 2) and points.dtype == np.float32
  generator = checkpoints.load_from_workdir(workdir)
  assert generator.entry["steps"] == 4
  np.testing.assert_allclose(points, generator.sample(37, seed=3), rtol=1e-6, atol=1e-6)
  with pytest.raises(UsageError, match="must be a .npz file"):
    checkpoints.write_samples(generator, 3, str(tmp_path / "folder"))


def test_evaluate_and_export_take_a_workdir(workdir, tmp_path, capsys):
  assert checkpoints.main(["evaluate", workdir]) == 0
  out = capsys.readouterr().out
  assert "modes_covered[2500 samples]: " in out and "protocol: kind=mode_coverage" in out
  keras_path = str(tmp_path / "g.keras")
  assert checkpoints.main(["export", workdir, f"--keras={keras_path}"]) == 0
  with open(keras_path + ".json", encoding="utf-8") as f:
    assert json.load(f)["exported_from"]["workdir"] == os.path.abspath(workdir)
  reloaded = checkpoints.load_generator(keras_path)
  original = checkpoints.load_from_workdir(workdir)
  np.testing.assert_allclose(reloaded.sample(8, seed=0), original.sample(8, seed=0), atol=1e-6)


def test_sample_png_folder_and_uint8_npz_of_a_shipped_generator(tmp_path):
  from repro.metrics import images  # pylint: disable=g-import-not-at-top
  name = "wgan_gp_fashion_mnist"
  expected = checkpoints.load_generator(name).sample(5, seed=0)
  expected = np.floor((np.clip(expected, -1, 1) + 1) * 127.5 + 0.5).astype(np.uint8)
  folder = tmp_path / "png"
  assert checkpoints.main(["sample", name, "--n=5", f"--out={folder}"]) == 0
  files = sorted(os.listdir(folder))
  assert files == [f"{i:06d}.png" for i in range(5)]
  decoded = np.stack([images.read_image(str(folder / f)) for f in files])
  np.testing.assert_array_equal(decoded, expected)
  npz = tmp_path / "s.npz"
  assert checkpoints.main(["sample", name, "--n=5", f"--out={npz}"]) == 0
  with np.load(npz, allow_pickle=False) as data:
    np.testing.assert_array_equal(data["arr_0"], expected)


def test_a_folder_that_is_not_a_workdir_is_a_usage_error(tmp_path, capsys):
  with pytest.raises(SystemExit) as exit_info:
    checkpoints.main(["sample", str(tmp_path), "--n=2", f"--out={tmp_path / 'x.npz'}"])
  assert exit_info.value.code == 2
  assert "nor an existing .keras file or training workdir" in capsys.readouterr().err
