"""The PyTorch papers' networks as the official code builds them (issue 17), beyond the parameter
shapes of test_official_shapes.py: WassersteinGAN's DCGAN ("dcgan_wgan": no biases, weights_init's
N(0, 0.02) kernels and N(1, 0.02) BN gammas, BN placement, PyTorch BN momentum/eps, 64 px CIFAR-10
through data.image_size resized as PIL does) and KL-WGAN's BigGAN with the unconditional run's
10-class tables (ccbn gain/bias, the critic's SN projection, y = 0). Networks are built, never
trained.
"""

import numpy as np
import pytest
import tensorflow as tf

from repro.errors import UsageError

GOLDEN_COUNTS = {"generator": 3576704, "critic": 2765568}   # wgan_*.json


def _count(model):
  return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


@pytest.fixture(scope="module")
def wgan_nets():
  import keras
  from repro.models import dcgan_torch
  keras.utils.set_random_seed(0)
  return dcgan_torch.build((64, 64, 3), 100)


# ---- WassersteinGAN DCGAN ------------------------------------------------------------------------

def test_wgan_dcgan_has_no_biases_and_the_official_counts(wgan_nets):
  import keras
  for model, side in zip(wgan_nets, ("generator", "critic")):
    assert _count(model) == GOLDEN_COUNTS[side]
    for layer in model.layers:
      if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
        assert not layer.use_bias, layer.name
    # Only conv kernels (4-D) and BN gammas/betas (1-D) are trainable.
    assert {len(v.shape) for v in model.trainable_variables} == {1, 4}


def test_wgan_dcgan_initialisation_is_weights_init(wgan_nets):
  import keras
  kernels, gammas, betas = [], [], []
  for model in wgan_nets:
    for layer in model.layers:
      if isinstance(layer, keras.layers.BatchNormalization):
        assert layer.momentum == pytest.approx(0.9) and layer.epsilon == pytest.approx(1e-5)
        gammas.append(layer.gamma.numpy().ravel())
        betas.append(layer.beta.numpy().ravel())
      elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
        kernels.append(layer.kernel.numpy().ravel())
  kernels, gammas, betas = map(np.concatenate, (kernels, gammas, betas))
  assert abs(kernels.mean()) < 1e-3 and kernels.std() == pytest.approx(0.02, rel=0.02)
  assert gammas.size == (512 + 256 + 128) * 2 + 64 and betas.size == gammas.size
  assert gammas.mean() == pytest.approx(1.0, abs=3e-3)
  assert gammas.std() == pytest.approx(0.02, rel=0.1)
  assert not betas.any()


def _sequence(model):
  import keras
  kinds = []
  for layer in model.layers:
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
      kinds.append("conv")
    elif isinstance(layer, keras.layers.BatchNormalization):
      kinds.append("bn")
    elif isinstance(layer, keras.layers.ReLU) or type(layer).__name__ == "LeakyReLU":
      kinds.append("act")
  return kinds


def test_wgan_dcgan_layer_order(wgan_nets):
  generator, critic = wgan_nets
  # G: BN after every deconvolution but the last; D: no BN after the first and the last conv.
  assert _sequence(generator) == ["conv", "bn", "act"] * 4 + ["conv"]
  assert _sequence(critic) == ["conv", "act"] + ["conv", "bn", "act"] * 3 + ["conv"]
  slopes = {l.negative_slope for l in critic.layers if type(l).__name__ == "LeakyReLU"}
  assert slopes == {0.2}


def test_wgan_dcgan_output_shapes_and_per_example_scores(wgan_nets):
  generator, critic = wgan_nets
  z = np.random.default_rng(0).standard_normal((3, 100)).astype(np.float32)
  x = generator(z, training=True).numpy()
  assert x.shape == (3, 64, 64, 3) and np.abs(x).max() <= 1.0
  scores = critic(x, training=True)
  assert scores.shape == (3, 1)
  # DCGAN_D returns output.mean(0); the WGAN losses only read reduce_mean of each call's scores.
  from repro.train.objective import StepInputs, WassersteinObjective
  objective = WassersteinObjective(clip=0.01, clip_order="before")
  inputs = StepInputs(real=tf.constant(x[::-1].copy()), fake=tf.constant(x), u=tf.zeros([3]),
                      seed=tf.constant([0, 0]), step=tf.constant(0, tf.int64))
  loss, terms = objective.critic_loss(critic, inputs)
  batch_mean = lambda t: float(tf.reduce_mean(critic(t, training=True)))
  assert float(loss) == pytest.approx(batch_mean(inputs.fake) - batch_mean(inputs.real), abs=1e-6)
  assert float(terms["wasserstein_estimate"]) == pytest.approx(-float(loss), abs=1e-6)


def test_wgan_dcgan_options_and_sizes():
  from repro.models import dcgan_torch
  g, d = dcgan_torch.build((32, 32, 1), 8, width=4, extra_layers=1, g_batch_norm=False)
  assert g.output_shape == (None, 32, 32, 1) and d.output_shape == (None, 1)
  assert "bn" not in _sequence(g) and _sequence(g).count("conv") == 5   # 3 deconvs + extra + final
  assert _sequence(d) == ["conv", "act", "conv", "bn", "act", "conv", "bn", "act", "conv", "bn",
                          "act", "conv"]
  for shape in ((28, 28, 1), (48, 32, 3)):
    with pytest.raises(UsageError):
      dcgan_torch.build(shape, 8)


def test_wgan_clip_recipes_use_the_official_net_and_64_px():
  from repro import checkpoints
  from repro.data import example_shape
  from repro.papers import wgan
  cifar, lsun = wgan.recipe("cifar10", variant="clip"), wgan.recipe("lsun_bedroom", variant="clip")
  assert cifar.model.arch == lsun.model.arch == "dcgan_wgan"
  assert cifar.data.image_size == 64 and lsun.data.image_size == 0
  assert example_shape("cifar10", cifar.data.image_size) == (64, 64, 3)
  assert example_shape("lsun_bedroom", 0) == (64, 64, 3)
  small = cifar.replace(**{"model.args": dict(width=4)})
  assert checkpoints.generator_from_recipe(small).output_shape == (None, 64, 64, 3)
  assert wgan.recipe("cifar10", variant="gp").data.image_size == 0


# ---- data.image_size --------------------------------------------------------------------------------

@pytest.mark.parametrize("size_in,size_out,channels", [(32, 64, 3), (28, 64, 1), (64, 32, 3),
                                                       (7, 19, 3), (30, 16, 1)])
def test_resize_images_is_pil_bilinear(size_in, size_out, channels):
  image_lib = pytest.importorskip("PIL.Image")
  from repro.data.pipeline import resize_images
  rng = np.random.default_rng(size_in * 100 + size_out)
  a = rng.integers(0, 256, (2, size_in, size_in, channels), dtype=np.uint8)
  ours = resize_images(a, size_out).numpy()
  for i in range(2):
    pil = image_lib.fromarray(a[i, ..., 0] if channels == 1 else a[i])
    ref = np.asarray(pil.resize((size_out, size_out), image_lib.BILINEAR), np.float32)
    np.testing.assert_array_equal(ours[i], ref.reshape(ours[i].shape))
    np.testing.assert_array_equal(resize_images(a[i], size_out).numpy(), ours[i])


def test_upsampling_by_two_is_half_pixel_bilinear():
  from repro.data.pipeline import resize_images
  a = np.array([[0, 40], [80, 200]], np.uint8)[..., None]
  out = resize_images(a, 4).numpy()[..., 0]
  # Output pixel centres at (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 (clamped at the edges).
  np.testing.assert_array_equal(out[0], [0, 10, 30, 40])
  np.testing.assert_array_equal(out[:, 0], [0, 20, 60, 80])
  assert out[1, 1] == np.floor(0.75 * 0.75 * 0 + 0.75 * 0.25 * (40 + 80) + 0.25 * 0.25 * 200 + 0.5)


def test_image_size_checks():
  from repro.data import example_shape
  with pytest.raises(UsageError, match="image datasets"):
    example_shape("8gaussians", 64)
  with pytest.raises(UsageError, match="positive integer"):
    example_shape("cifar10", -1)
  assert example_shape("mnist", 0) == (28, 28, 1) and example_shape("mnist", 64) == (64, 64, 1)


def _serve(images):
  def as_dataset(self, *args, **kwargs):
    del self, args, kwargs
    return tf.data.Dataset.from_tensor_slices({"image": images,
                                               "label": np.zeros(len(images), np.int64)})
  return as_dataset


def test_get_dataset_resizes_cifar10_like_torchvision_scale():
  tfds = pytest.importorskip("tensorflow_datasets")
  image_lib = pytest.importorskip("PIL.Image")
  from repro import data
  images = np.random.default_rng(1).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
  with tfds.testing.mock_data(num_examples=4, as_dataset_fn=_serve(images)):
    batch = next(iter(data.get_dataset("cifar10", batch_size=4, shuffle=False, repeat=False,
                                       image_size=64))).numpy()
  assert batch.shape == (4, 64, 64, 3)
  for i in range(4):   # ToTensor + Normalize((0.5,) * 3, (0.5,) * 3) of PIL's Scale(64)
    ref = np.asarray(image_lib.fromarray(images[i]).resize((64, 64), image_lib.BILINEAR))
    np.testing.assert_allclose(batch[i], ref / 127.5 - 1.0, atol=1e-6)


def test_trainer_builds_64_px_nets_for_wgan_cifar10(tmp_path):
  tfds = pytest.importorskip("tensorflow_datasets")
  from repro.papers import wgan
  from repro.train.runner import Trainer
  recipe = wgan.recipe("cifar10", variant="clip").replace(
      steps=1, batch_size=4, **{"model.args": dict(width=4)})
  images = np.random.default_rng(2).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
  with tfds.testing.mock_data(num_examples=16, as_dataset_fn=_serve(images)):
    # The trainer checks that its data (64 px after data.image_size) fits the generator.
    trainer = Trainer(recipe, str(tmp_path / "run"), quiet=True)
    assert trainer.generator.output_shape == (None, 64, 64, 3)
    assert trainer.critic.input_shape == (None, 64, 64, 3)
    assert next(trainer.iterator).shape == (4, 64, 64, 3)


# ---- KL-WGAN BigGAN with the unconditional run's class tables ------------------------------------

@pytest.fixture(scope="module")
def biggan_nets():
  import keras
  from repro.models import snmodels
  keras.utils.set_random_seed(0)
  return snmodels.build_biggan((32, 32, 3), 16, ch=16)


def test_biggan_class_tables(biggan_nets):
  from repro.models import snmodels
  generator, critic = biggan_nets
  ccbn = [l for l in generator.layers if isinstance(l, snmodels.ClassConditionalBatchNorm)]
  assert len(ccbn) == 6
  tables = np.concatenate([np.concatenate([l.gain.numpy(), l.bias.numpy()]) for l in ccbn])
  assert all(l.gain.shape == (10, 64) and l.bias.shape == (10, 64) for l in ccbn)
  assert abs(tables.mean()) < 2e-3 and tables.std() == pytest.approx(0.02, rel=0.05)
  # No affine parameters in the ccbn's own batch norm, no spectral norm on G's embeddings.
  assert all(not l.norm.trainable_variables for l in ccbn)
  assert not any("sn_" in v.path for l in ccbn for v in l.weights)
  embed = critic.get_layer("embed")
  assert isinstance(embed, snmodels.ClassProjection)
  assert embed.embeddings.shape == (10, 64) and embed.sn_u.shape == (10,)
  assert embed.embeddings.numpy().std() == pytest.approx(0.02, rel=0.1)


def test_biggan_uses_class_zero_only(biggan_nets):
  from repro.models import snmodels
  generator, critic = biggan_nets
  z = np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32)
  before = generator(z, training=False).numpy()
  layer = next(l for l in generator.layers if isinstance(l, snmodels.ClassConditionalBatchNorm))
  saved = layer.gain.numpy()
  try:
    layer.gain.assign(np.concatenate([saved[:1], saved[1:] + 1.0]))      # rows 1..9: unused
    np.testing.assert_array_equal(generator(z, training=False).numpy(), before)
    layer.gain.assign(np.concatenate([saved[:1] + 1.0, saved[1:]]))      # row 0: used
    assert np.abs(generator(z, training=False).numpy() - before).max() > 1e-3
  finally:
    layer.gain.assign(saved)
  # Critic: the projection h · E[0] / σ(E) is added to the linear head.
  embed = critic.get_layer("embed")
  h = np.random.default_rng(1).standard_normal((3, 64)).astype(np.float32)
  table = embed.embeddings.numpy()
  sigma = embed.sn_u.numpy() @ table @ embed.sn_v.numpy()
  np.testing.assert_allclose(embed(h, training=False).numpy()[:, 0], h @ (table[0] / sigma),
                             rtol=1e-4, atol=1e-6)


def test_biggan_without_class_tables_and_the_recipes():
  from repro.models import snmodels
  from repro.papers import klwgan
  g, d = snmodels.build_biggan((32, 32, 3), 16, ch=2, n_classes=0)
  assert not any(2 == len(v.shape) and v.shape[0] == 10 for v in g.trainable_variables)
  assert "embed" not in [l.name for l in d.layers]
  assert klwgan.recipe("cifar10").model.args["n_classes"] == 10
  assert klwgan.recipe("celeb_a").model.args["n_classes"] == 0
  with pytest.raises(UsageError):
    snmodels.build_biggan((32, 32, 3), 16, ch=2, n_classes=-1)


def test_with_class_labels_copies_the_generator():
  import keras
  from repro.models import snmodels
  keras.utils.set_random_seed(0)
  generator = snmodels.biggan_generator(32, 3, 16, ch=2)
  z = np.random.default_rng(0).standard_normal((64, 16)).astype(np.float32)
  fixed = snmodels.with_class_labels(generator, "fixed", label=0)
  np.testing.assert_array_equal(fixed(z, training=False).numpy(),
                                generator(z, training=False).numpy())
  uniform = snmodels.with_class_labels(generator, "uniform", seed=3)
  labels = uniform.get_layer("class_labels")(z).numpy()
  assert labels.min() >= 0 and labels.max() <= 9 and len(set(labels.tolist())) > 5
  assert uniform(z, training=True).shape == (64, 32, 32, 3)
  with pytest.raises(ValueError):
    snmodels.with_class_labels(snmodels.biggan_generator(32, 3, 16, ch=2, n_classes=0))
