"""Spectral normalisation as PyTorch does it (Miyato et al. 2018, https://arxiv.org/abs/1802.05957).

`SNDense` / `SNConv2D` keep the unnormalised kernel W as the trainable variable and use
W / σ(W) in the forward pass, σ estimated by one power iteration per *training* call:

    v = normalize(Wᵀu),  u = normalize(W v),  σ = uᵀ W v   (u, v held constant for the gradient)

with W the kernel as an [out, in·k·k] matrix; u and v are stored non-trainable variables updated
in training calls only (torch.nn.utils.spectral_norm, n_power_iterations=1, eps=1e-12, the layer
f-wgan's synthetic critic uses; BigGAN's `layers.SN` is the same for one singular value, with its
own eps, `--SN_eps` 1e-8: pass sn_eps=1e-8).
Gradients flow through σ(W), as in PyTorch.

Not `keras.layers.SpectralNormalization`: that wrapper *overwrites* the kernel with W/σ on every
training call (the TF-Addons scheme), so the optimizer updates the normalised kernel and no
gradient flows through σ — a different algorithm from the PyTorch code the papers ran.
"""

import keras
import tensorflow as tf

TORCH_EPS = 1e-12    # torch.nn.utils.spectral_norm eps
BIGGAN_EPS = 1e-8    # BigGAN-PyTorch utils.py --SN_eps default


def _l2_normalize(x, eps):
  # torch.nn.functional.normalize: x / max(||x||, eps)
  return x / tf.maximum(tf.norm(x), eps)


class _SpectralNorm:
  """Mixin: `self._sn_setup(out_dim, in_dim)` in build, `self._normalized(kernel, training)`."""

  def _sn_setup(self, out_dim, in_dim):
    normal = keras.initializers.RandomNormal(0.0, 1.0, seed=self._sn_seed)

    def unit_normal(shape, dtype=None):   # torch: u, v = normalize(randn(...))
      return _l2_normalize(tf.convert_to_tensor(normal(shape, dtype)), self._sn_eps)

    self.sn_u = self.add_weight(shape=(out_dim,), initializer=unit_normal, trainable=False,
                                name="sn_u", aggregation="mean")
    self.sn_v = self.add_weight(shape=(in_dim,), initializer=unit_normal, trainable=False,
                                name="sn_v", aggregation="mean")

  def _matrix(self, kernel):
    # Keras kernels are [..., in, out]; PyTorch's weight matrix is [out, in * k * k].
    return tf.transpose(tf.reshape(kernel, [-1, kernel.shape[-1]]))

  def _normalized(self, kernel, training):
    w = self._matrix(kernel)
    u, v = self.sn_u, self.sn_v
    if training:
      w_const = tf.stop_gradient(w)
      v_new = _l2_normalize(tf.linalg.matvec(w_const, u, transpose_a=True), self._sn_eps)
      u_new = _l2_normalize(tf.linalg.matvec(w_const, v_new), self._sn_eps)
      self.sn_u.assign(u_new)
      self.sn_v.assign(v_new)
      u, v = u_new, v_new
    u, v = tf.stop_gradient(tf.convert_to_tensor(u)), tf.stop_gradient(tf.convert_to_tensor(v))
    sigma = tf.tensordot(u, tf.linalg.matvec(w, v), 1)
    return kernel / sigma

  def _bias_and_activation(self, outputs):
    if self.use_bias:
      outputs = outputs + self.bias
    if self.activation is not None:
      outputs = self.activation(outputs)
    return outputs

  def spectral_norm_estimate(self):
    """σ(W) with the stored vectors (what the last training call divided by)."""
    w = self._matrix(self.kernel)
    return float(tf.tensordot(self.sn_u, tf.linalg.matvec(w, self.sn_v), 1))


class SNDense(_SpectralNorm, keras.layers.Dense):
  """`keras.layers.Dense` whose kernel is spectrally normalised (PyTorch semantics)."""

  def __init__(self, units, sn_seed=None, sn_eps=TORCH_EPS, **kwargs):
    super().__init__(units, **kwargs)
    self._sn_seed, self._sn_eps = sn_seed, sn_eps

  def build(self, input_shape):
    super().build(input_shape)
    self._sn_setup(self.units, int(input_shape[-1]))

  def call(self, inputs, training=False):
    kernel = self._normalized(self.kernel, training)
    return self._bias_and_activation(tf.matmul(inputs, kernel))

  def get_config(self):
    return dict(super().get_config(), sn_seed=self._sn_seed, sn_eps=self._sn_eps)


class SNConv2D(_SpectralNorm, keras.layers.Conv2D):
  """`keras.layers.Conv2D` (NHWC) whose kernel is spectrally normalised (PyTorch semantics)."""

  def __init__(self, filters, kernel_size, sn_seed=None, sn_eps=TORCH_EPS, **kwargs):
    super().__init__(filters, kernel_size, **kwargs)
    self._sn_seed, self._sn_eps = sn_seed, sn_eps

  def build(self, input_shape):
    super().build(input_shape)
    k = self.kernel.shape
    self._sn_setup(int(k[-1]), int(k[0] * k[1] * k[2]))

  def call(self, inputs, training=False):
    kernel = self._normalized(self.kernel, training)
    return self._bias_and_activation(tf.nn.conv2d(
        inputs, kernel, strides=self.strides, padding=self.padding.upper(),
        dilations=self.dilation_rate))

  def get_config(self):
    return dict(super().get_config(), sn_seed=self._sn_seed, sn_eps=self._sn_eps)
