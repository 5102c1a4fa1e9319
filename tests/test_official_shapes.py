"""Each paper configuration's networks against the official networks, parameter by parameter.

The goldens in tests/goldens/official_shapes/ were made by building the official networks with the
official code (provenance in each file and in the README files beside them); only the shapes are
committed. Shapes are compared as multisets with each shape's dimensions sorted, since the frameworks
lay kernels out differently (PyTorch [out, in, kh, kw], TF/Keras [kh, kw, in, out]) and order a
layer's parameters differently (PyTorch's spectral norm registers weight_orig after the bias).

Configurations whose suite network still differs from the official one are listed in KNOWN with the
reason (../shared/notes/fidelity-audit.md, issue 17); they are strict xfails, so a fix that makes one
equal fails the test until it is removed from KNOWN.
"""

import glob
import json
import os

import numpy as np
import pytest

GOLDENS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "goldens", "official_shapes")

# config -> (paper, dataset, recipe overrides, recipe changes)
CONFIGS = {
    "wgan_lsun_bedroom": ("wgan", "lsun_bedroom", dict(variant="clip"), {}),
    "wgan_cifar10": ("wgan", "cifar10", dict(variant="clip"), {}),
    "wgan_gp_toy": ("wgan", "8gaussians", dict(variant="gp"), {}),
    "wgan_gp_mnist": ("wgan", "mnist", dict(variant="gp"), {}),
    "wgan_gp_cifar10": ("wgan", "cifar10", dict(variant="gp"), {}),
    "wgan_gp_lsun_bedroom": ("wgan", "lsun_bedroom", dict(variant="gp"), {}),
    "wgan_gp_cifar_resnet": ("wgan", "cifar10", dict(variant="gp_resnet"), {}),
    "wgan_gp_language": ("ttur", "lm1b", dict(model="language", ttur=False), {}),
    "ttur_dcgan_celeb_a": ("ttur", "celeb_a", dict(model="dcgan"), {}),
    "ttur_dcgan_cifar10": ("ttur", "cifar10", dict(model="dcgan"), {}),
    "ttur_dcgan_svhn": ("ttur", "svhn", dict(model="dcgan"), {}),
    "ttur_dcgan_lsun_bedroom": ("ttur", "lsun_bedroom", dict(model="dcgan"), {}),
    "ttur_wgan_gp_cifar10": ("ttur", "cifar10", dict(model="wgan_gp"), {}),
    "ttur_wgan_gp_lsun_bedroom": ("ttur", "lsun_bedroom", dict(model="wgan_gp"), {}),
    "ttur_language": ("ttur", "lm1b", dict(model="language"), {}),
    "coulomb_celeb_a": ("coulomb", "celeb_a", {}, {}),
    "coulomb_lsun_bedroom": ("coulomb", "lsun_bedroom", {}, {}),
    "coulomb_cifar10": ("coulomb", "cifar10", {}, {}),
    "coulomb_language": ("coulomb", "lm1b", {}, {}),
    "fogan_cifar10": ("fogan", "cifar10", {}, {}),
    "fogan_celeb_a": ("fogan", "celeb_a", {}, {}),
    "fogan_lsun_bedroom": ("fogan", "lsun_bedroom", {}, {}),
    "fogan_language": ("fogan", "lm1b", {}, {}),
    "klwgan_synthetic": ("klwgan", "mog", {}, {}),
    "klwgan_cifar10": ("klwgan", "cifar10", {}, {}),
}
LANGUAGE_VOCAB = 2048   # the goldens' language settings: max_vocab_size 2048, SEQ_LEN 32

# Differences the fidelity review found and issue 17 fixes (the suite's networks as they are now).
KNOWN = {
}


def golden_names():
  return sorted(os.path.basename(p)[:-len(".json")] for p in glob.glob(os.path.join(GOLDENS,
                                                                                    "*.json")))


def canonical(shapes):
  return sorted(tuple(sorted(int(d) for d in shape)) for shape in shapes)


def suite_shapes(config):
  import importlib  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top
  from repro import registry  # pylint: disable=g-import-not-at-top
  from repro.data import dataset_info, example_shape  # pylint: disable=g-import-not-at-top
  paper, dataset, overrides, changes = CONFIGS[config]
  recipe = importlib.import_module(f"repro.papers.{paper}").recipe(dataset, **overrides)
  if changes:
    recipe = recipe.replace(**changes)
  info = dataset_info(dataset)
  # Images at the recipe's data.image_size (WassersteinGAN trains CIFAR-10 at 64 px).
  shape = ((info.shape[0], LANGUAGE_VOCAB) if info.kind == "text"
           else example_shape(dataset, recipe.data.image_size))
  keras.backend.clear_session()
  generator, critic = registry.build_models(recipe, shape)
  return ([tuple(v.shape) for v in generator.trainable_variables],
          [tuple(v.shape) for v in critic.trainable_variables])


def test_every_golden_is_a_known_configuration():
  names = golden_names()
  assert names, "no goldens in tests/goldens/official_shapes"
  assert set(names) <= set(CONFIGS), sorted(set(names) - set(CONFIGS))
  for name in names:
    with open(os.path.join(GOLDENS, name + ".json"), encoding="utf-8") as f:
      golden = json.load(f)
    assert golden["source"]["repository"] and len(golden["source"]["commit"]) == 40
    for side in ("generator", "critic"):
      count = sum(int(np.prod(s)) for _, s in golden[side]["parameters"])
      assert count == golden[side]["count"], (name, side)


def _params(name):
  marks = [pytest.mark.xfail(strict=True, reason=KNOWN[name])] if name in KNOWN else []
  return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("config", [_params(n) for n in golden_names()])
def test_networks_equal_the_official_ones(config):
  with open(os.path.join(GOLDENS, config + ".json"), encoding="utf-8") as f:
    golden = json.load(f)
  ours = dict(zip(("generator", "critic"), suite_shapes(config)))
  for side in ("generator", "critic"):
    theirs = [s for _, s in golden[side]["parameters"]]
    mine = ours[side]
    count = sum(int(np.prod(s)) for s in mine)
    assert (canonical(mine), count) == (canonical(theirs), golden[side]["count"]), (
        f"{config} {side}: {len(mine)} parameters / {count} scalars here, {len(theirs)} / "
        f"{golden[side]['count']} in {golden['source']['repository']} {golden['source']['file']}")
