"""The dataset catalog: names, shapes and tfds names. Imports no TensorFlow (fast CLI checks)."""

import dataclasses
import glob
import os

from repro.errors import DataUnavailableError, UsageError


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  name: str
  shape: tuple            # one example's shape
  kind: str               # "image", "points" or "text" (one-hot characters, repro/data/text.py)
  tfds_name: str = ""     # tfds builder name, "" for generated sets
  num_classes: int = 0
  # Examples per split: "train" (tfds's train split), "all" (every image of the set, as the
  # DCGAN-tensorflow loaders glob a folder of CelebA); generated and text sets have none.
  sizes: tuple = ()
  family: str = ""        # generated sets: "gan_toy" (improved_wgan_training gan_toy.py), "fwgan"

  def size(self, split="train"):
    sizes = dict(self.sizes)
    if split not in sizes:
      raise UsageError(f"{self.name} has no recorded size for split {split!r}")
    return sizes[split]


DATASETS = {
    "cifar10": DatasetInfo("cifar10", (32, 32, 3), "image", "cifar10", 10, (("train", 50000),)),
    "celeb_a": DatasetInfo("celeb_a", (64, 64, 3), "image", "celeb_a",
                           sizes=(("train", 162770), ("all", 202599))),
    "lsun_bedroom": DatasetInfo("lsun_bedroom", (64, 64, 3), "image", "lsun/bedroom",
                                sizes=(("train", 3033042),)),
    "svhn": DatasetInfo("svhn", (32, 32, 3), "image", "svhn_cropped", 10, (("train", 73257),)),
    "mnist": DatasetInfo("mnist", (28, 28, 1), "image", "mnist", 10, (("train", 60000),)),
    "fashion_mnist": DatasetInfo("fashion_mnist", (28, 28, 1), "image", "fashion_mnist", 10,
                                 (("train", 60000),)),
}
DATASETS.update({name: DatasetInfo(name, (2,), "points", family="gan_toy")
                 for name in ("8gaussians", "25gaussians", "swissroll")})
MIXTURES = ("8gaussians", "25gaussians")   # the Gaussian mixtures (repro.data.toy.mixture_spec)
# KL-WGAN's six 2-D sets (ermongroup/f-wgan synthetic/datasets.py): repro/data/fwgan_synthetic.py.
DATASETS.update({name: DatasetInfo(name, (2,), "points", family="fwgan")
                 for name in ("mog", "banana", "ring", "square", "cosine", "funnel")})

# Character-level text for the language GANs: shape (SEQ_LEN, vocabulary size); the vocabulary comes
# from the loaded lines (repro/data/text.py), hence None here. "text" reads --text_file.
DATASETS.update({
    "lm1b": DatasetInfo("lm1b", (32, None), "text", "lm1b"),
    "text": DatasetInfo("text", (32, None), "text"),
})


def names(kind=None, family=None):
  """Dataset names of a kind ("image", "points", "text") and/or family ("gan_toy", "fwgan")."""
  return tuple(n for n, info in DATASETS.items()
               if (kind is None or info.kind == kind) and (family is None or info.family == family))


# DCGAN-tensorflow (the base of TTUR's DCGAN_FID_batched, also used by Coulomb GAN and FOGAN) crops
# CelebA to the central 108x108 and resizes to 64x64 (`--input_height=108 --crop`).
CELEBA_CROP = 108


def dataset_info(name):
  if name not in DATASETS:
    raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(sorted(DATASETS))}")
  return DATASETS[name]



def tfds_root(data_dir=None):
  return data_dir or os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")


def check_prepared(name, data_dir=None, text_file=None):
  """Fails in milliseconds, before TensorFlow is imported, when a tfds dataset is not prepared.

  Looks for tfds's `<data_dir>/<name>/<version>/dataset_info.json`; generated sets and
  Fashion-MNIST IDX files pass; the "text" dataset checks `text_file` (UsageError, exit 2).
  """
  info = dataset_info(name)
  if name == "text":
    from repro.data import text  # pylint: disable=g-import-not-at-top
    if not text_file:
      raise UsageError("the text dataset needs --text_file=PATH (one sentence per line)")
    text.check_text_file(text_file)
    return
  if not info.tfds_name:
    return
  if name == "fashion_mnist":
    from repro.data import idx  # pylint: disable=g-import-not-at-top
    folder = data_dir or idx.DEFAULT_FASHION_MNIST_DIR
    if os.path.exists(os.path.join(folder, "train-images-idx3-ubyte.gz")):
      return
  root = tfds_root(data_dir)
  pattern = os.path.join(root, info.tfds_name, "*", "dataset_info.json")
  pattern_cfg = os.path.join(root, info.tfds_name, "*", "*", "dataset_info.json")
  if glob.glob(pattern) or glob.glob(pattern_cfg):
    return
  raise DataUnavailableError(not_prepared_message(info, root))


def not_prepared_message(info, root):
  extra = ("(celeb_a and lsun need their files downloaded by hand first) " if info.kind == "image"
           else "(it downloads the One Billion Word archive from statmt.org) ")
  alternative = (", or train on a local file with --text_file=PATH" if info.kind == "text" else "")
  return (f"dataset {info.name} (tfds {info.tfds_name}) is not prepared in {root}: run "
          f"`python -m tensorflow_datasets.scripts.download_and_prepare --datasets={info.tfds_name}"
          f" --data_dir={root}` {extra}or pass --download{alternative}")
