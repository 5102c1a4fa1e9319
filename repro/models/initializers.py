"""Weight initialisers, chosen in one place.

- "dcgan": N(0, 0.02) for every conv/dense kernel (DCGAN; WassersteinGAN main.py `weights_init`).
- "he": Keras He-uniform for convolutions and dense layers followed by ReLU; Glorot-uniform for
  output layers (an approximation of tflib's he_init kept for builders that still ask for it).
- "keras": Keras defaults (Glorot-uniform).
- `TflibUniform` / `tflib(op, he_init, stride)`: improved_wgan_training's tflib initialisers exactly
  (igul222/improved_wgan_training@fa66c57 tflib/ops/{conv2d,deconv2d,linear}.py, copied unchanged
  into bioinf-jku/TTUR WGAN_GP/tflib/ops): every kernel ~ U(-√3·σ, √3·σ) (std σ), biases zero, with
    Conv2D   [k, k, in, out], stride s: fan_in = in·k², fan_out = out·k²/s²
    Deconv2D [k, k, out, in] (always stride 2): fan_in = in·k²/4, fan_out = out·k²
    conv/deconv he_init=True: σ = √(4 / (fan_in + fan_out)); he_init=False: σ = √(2 / (fan_in + fan_out))
    Linear   [in, out]: initialization None/'glorot' σ = √(2 / (in + out)); 'he' σ = √(2 / in).
  For stride-1 convolutions he_init=True equals VarianceScaling(2, "fan_avg", "uniform") and
  he_init=False equals Glorot-uniform; strided convolutions and the transposed convolutions differ
  from any Keras initialiser (Keras would count a Conv2DTranspose kernel's fans the other way round).
"""

import math

import keras

_SCHEMES = ("dcgan", "he", "keras")
TFLIB_OPS = ("conv", "deconv", "linear")


def kernel(scheme, output=False):
  if not isinstance(scheme, str):   # an initialiser object (e.g. a TflibUniform) is used as given
    return scheme
  if scheme not in _SCHEMES:
    raise ValueError(f"unknown initialiser scheme {scheme!r}; use one of {_SCHEMES}")
  if scheme == "dcgan":
    return keras.initializers.RandomNormal(0.0, 0.02)
  if scheme == "he" and not output:
    return keras.initializers.HeUniform()
  return keras.initializers.GlorotUniform()


def tflib_fans(op, shape, stride=1):
  """(fan_in, fan_out) as tflib counts them for a kernel of `shape` (Keras layout = tflib layout)."""
  if op == "linear":
    fan_in, fan_out = shape
    return float(fan_in), float(fan_out)
  k_h, k_w, a, b = shape
  if op == "conv":      # [k, k, in, out]
    return float(a * k_h * k_w), float(b * k_h * k_w) / stride ** 2
  if op == "deconv":    # [k, k, out, in]; tflib's Deconv2D is always stride 2
    return float(b * k_h * k_w) / 4.0, float(a * k_h * k_w)
  raise ValueError(f"unknown tflib op {op!r}; use one of {TFLIB_OPS}")


def tflib_stddev(op, shape, he_init=True, stride=1):
  """σ of tflib's uniform initialiser for a kernel of `shape`."""
  fan_in, fan_out = tflib_fans(op, tuple(int(d) for d in shape), stride)
  if op == "linear":
    return math.sqrt(2.0 / fan_in) if he_init else math.sqrt(2.0 / (fan_in + fan_out))
  return math.sqrt((4.0 if he_init else 2.0) / (fan_in + fan_out))


@keras.saving.register_keras_serializable(package="repro")
class TflibUniform(keras.initializers.RandomUniform):
  """tflib's U(±√3·σ) kernel initialiser (module docstring). op: "conv" (Conv2D, with its stride),
  "deconv" (Conv2DTranspose, stride 2) or "linear" (Dense; he_init=True is tflib's
  initialization='he', False its default 'glorot')."""

  def __init__(self, op="conv", he_init=True, stride=1, seed=None):
    if op not in TFLIB_OPS:
      raise ValueError(f"unknown tflib op {op!r}; use one of {TFLIB_OPS}")
    if op == "deconv" and stride != 2:
      raise ValueError("tflib's Deconv2D is stride 2")
    super().__init__(seed=seed)
    self.op, self.he_init, self.stride = op, bool(he_init), int(stride)

  def limit(self, shape):
    return math.sqrt(3.0) * tflib_stddev(self.op, shape, self.he_init, self.stride)

  def __call__(self, shape, dtype=None):
    limit = self.limit(shape)
    self.minval, self.maxval = -limit, limit
    return super().__call__(shape, dtype=dtype)

  def get_config(self):
    return {"seed": keras.saving.serialize_keras_object(self._init_seed), "op": self.op,
            "he_init": self.he_init, "stride": self.stride}


def tflib(op, he_init=True, stride=None):
  """The tflib initialiser of one layer: tflib(op="conv", he_init, stride), tflib("deconv", he_init)
  (stride 2), tflib("linear") (glorot)."""
  if stride is None:
    stride = 2 if op == "deconv" else 1
  return TflibUniform(op, he_init, stride)
