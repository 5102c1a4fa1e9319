"""Functional Keras 3 model builders and a registry `build_models(arch, ...)` used by the papers."""

from repro.errors import UsageError
from repro.models.dcgan import dcgan_critic, dcgan_generator
from repro.models.mlp import mlp_critic, mlp_generator
from repro.models.resnet import cifar_critic, cifar_generator, good_critic, good_generator


def build_models(arch, data_shape, z_dim, **kw):
  """Returns (generator, critic) for an architecture name and one example's shape.

  arch: "mlp" (2-D data), "dcgan", "resnet_good" (gan_64x64.py), "resnet_cifar" (gan_cifar_resnet.py),
    "dcgan_tf" (carpedm20/DCGAN-tensorflow as TTUR/FOGAN use it), "coulomb" (Coulomb GAN "my" nets),
    "language" (gan_language.py's 1-D conv ResNets; data_shape = (length, vocabulary)).
  kw: width (channels/units), g_norm, d_norm, hidden (MLP layer sizes), kernel_size;
    coulomb: g_width, d_width, d_layers, l2, g_l2; language: width (DIM), g_norm, init, l2, g_l2.
  """
  if arch == "mlp":
    if len(data_shape) != 1:
      raise UsageError(f"the MLP models take vector data, got examples of shape {data_shape}")
    hidden = tuple(kw.get("hidden", (512, 512, 512)))
    return (mlp_generator(z_dim, data_shape[0], hidden), mlp_critic(data_shape[0], hidden))
  if arch == "language":
    if len(data_shape) != 2:
      raise UsageError(f"the language models take one-hot text [length, vocabulary], got examples "
                       f"of shape {data_shape}")
    from repro.models import language  # pylint: disable=g-import-not-at-top
    seq_len, vocab = data_shape
    width, init = kw.get("width", 512), kw.get("init", "tflib")
    return (language.language_generator(seq_len, vocab, z_dim, width, kw.get("g_norm", "none"),
                                        init, kw.get("g_l2", kw.get("l2", 0.0))),
            language.language_critic(seq_len, vocab, width, init, kw.get("l2", 0.0)))
  if len(data_shape) != 3:
    raise UsageError(f"{arch} needs image data (H, W, C), got examples of shape {data_shape}")
  size, _, channels = data_shape
  if arch == "dcgan":
    width = kw.get("width", 64)
    ks = kw.get("kernel_size", 4)
    return (dcgan_generator(size, channels, z_dim, width, kw.get("g_norm", "batch"), ks),
            dcgan_critic(size, channels, width, kw.get("d_norm", "none"), ks))
  if arch == "resnet_good":
    dim = kw.get("width", 64)
    return (good_generator(size, channels, z_dim, dim, kw.get("g_norm", "batch")),
            good_critic(size, channels, dim, kw.get("d_norm", "layer")))
  if arch == "resnet_cifar":
    dim = kw.get("width", 128)
    return (cifar_generator(z_dim, dim, channels, kw.get("g_norm", "batch")),
            cifar_critic(dim, channels, size, kw.get("d_norm", "none")))
  if arch == "dcgan_tf":
    from repro.models.dcgan_tf import dcgan_tf_critic, dcgan_tf_generator  # pylint: disable=g-import-not-at-top
    width = kw.get("width", 64)
    return (dcgan_tf_generator(size, channels, z_dim, width, kw.get("g_norm", "batch")),
            dcgan_tf_critic(size, channels, width, kw.get("d_norm", "batch")))
  if arch == "coulomb":
    from repro.models import coulomb_models as cm  # pylint: disable=g-import-not-at-top
    return (cm.coulomb_generator(size, channels, z_dim, kw.get("g_width", 1024),
                                 kw.get("g_l2", kw.get("l2", 0.0))),
            cm.coulomb_critic(size, channels, kw.get("d_width", 64), kw.get("d_layers", 4),
                              kw.get("l2", 0.0)))
  raise UsageError(f"unknown architecture {arch!r}; use mlp, dcgan, resnet_good, resnet_cifar, "
                   "dcgan_tf, coulomb or language")
