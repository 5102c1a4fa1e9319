"""--init_from / recipe.init_from: a run starts from the weights of an .npz (repro.train.initial)."""

import os

import numpy as np
import pytest

import cli_runs
from repro.errors import DataUnavailableError, UsageError
from repro.recipe import make
from repro.train import initial
from repro.train.runner import Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "goldens", "train_step", "wgan_gp.npz")


def toy_recipe(**kw):
  base = dict(model=dict(hidden=(16, 16, 16), init="he"), objective=("wgan", dict(gp_weight=0.1)),
              z_dim=2, batch_size=8, steps=1, n_critic=5, seed=1, eval_every=1000,
              save_every=1000, log_every=1000)
  base.update(kw)
  return make("test", "8gaussians", "mlp", **base)


def network_values(trainer):
  return {k: v.numpy() for k, v in
          initial.network_variables(trainer.generator, trainer.critic).items()}


def test_suite_names_file_sets_every_weight_and_the_ema(tmp_path):
  donor = Trainer(toy_recipe(seed=7), str(tmp_path / "donor"), quiet=True)
  path = str(tmp_path / "w.npz")
  initial.save(path, donor.generator, donor.critic)
  own = network_values(Trainer(toy_recipe(), str(tmp_path / "own"), quiet=True))
  run = Trainer(toy_recipe(init_from=path, ema_decay=0.9), str(tmp_path / "run"), quiet=True)
  given = dict(np.load(path))
  got = network_values(run)
  assert sorted(got) == sorted(given)
  for name, value in given.items():
    np.testing.assert_array_equal(got[name], value, err_msg=name)
  assert any(not np.array_equal(own[k], given[k]) for k in given)   # not the seed's own weights
  for e, g in zip(run.ema.weights, run.generator.weights):
    np.testing.assert_array_equal(e.numpy(), g.numpy())
  run.train()   # trains from there; the recipe records the file
  assert '"init_from"' in open(os.path.join(run.workdir, "recipe.json")).read()


def test_gan_toy_names_of_a_golden_are_mapped(tmp_path):
  run = Trainer(toy_recipe(init_from=GOLDEN), str(tmp_path), quiet=True)
  golden = dict(np.load(GOLDEN))
  got = network_values(run)
  np.testing.assert_array_equal(got["generator/dense_0/kernel"],
                                golden["init/Generator.1.Linear/Generator.1.Linear.W"])
  np.testing.assert_array_equal(got["critic/out/bias"], golden["init/Discriminator.4/Discriminator.4.b"])
  assert len(got) == 16 and all(
      any(np.array_equal(v, golden[k]) for k in golden if k.startswith("init/")) for v in got.values())


def test_bad_files(tmp_path):
  with pytest.raises(DataUnavailableError, match="no such file"):
    Trainer(toy_recipe(init_from=str(tmp_path / "missing.npz")), str(tmp_path / "a"), quiet=True)
  text = tmp_path / "text.npz"
  text.write_text("not an npz")
  with pytest.raises(UsageError, match="not a readable .npz"):
    Trainer(toy_recipe(init_from=str(text)), str(tmp_path / "b"), quiet=True)
  golden = dict(np.load(GOLDEN))
  partial = str(tmp_path / "partial.npz")
  np.savez(partial, **{"generator/dense_0/kernel": golden["init/Generator.1.Linear/Generator.1.Linear.W"]})
  with pytest.raises(UsageError, match="lacks"):
    Trainer(toy_recipe(init_from=partial), str(tmp_path / "c"), quiet=True)
  with pytest.raises(UsageError, match="shape"):   # the golden's nets are 16 wide
    Trainer(toy_recipe(init_from=GOLDEN, **{"model": dict(hidden=(8, 8, 8), init="he")}),
            str(tmp_path / "d"), quiet=True)


def test_cli_missing_file_exits_1_before_tensorflow(tmp_path):
  proc = cli_runs.run_module("repro.papers.wgan", "--dataset=8gaussians", "--steps=1",
                             f"--workdir={tmp_path / 'w'}",
                             f"--init_from={tmp_path / 'none.npz'}", timeout=60)
  assert proc.returncode == 1, proc.stderr
  assert "--init_from" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
