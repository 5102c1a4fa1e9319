"""The optimizers of the official code, exactly: PyTorch's RMSprop and TF1's RMSProp.

Keras' RMSprop divides by sqrt(v + ε) with v starting at 0. PyTorch's `optim.RMSprop` (WassersteinGAN
main.py, f-wgan kl_wgan.py) divides by sqrt(v) + ε; TF1's `tf.train.RMSPropOptimizer`
(improved_wgan_training gan_toy.py) divides by sqrt(ms + ε) like Keras but starts its mean-square
slot `ms` at 1, not 0.
"""

import keras
from keras import ops


class TorchRMSprop(keras.optimizers.RMSprop):
  """torch.optim.RMSprop(lr, alpha=rho, eps=epsilon) without momentum or centering:
  v ← ρ v + (1 − ρ) g², θ ← θ − lr g / (√v + ε), v₀ = 0."""

  def update_step(self, gradient, variable, learning_rate):
    lr = ops.cast(learning_rate, variable.dtype)
    gradient = ops.cast(gradient, variable.dtype)
    velocity = self._velocities[self._get_variable_index(variable)]
    self.assign(velocity, ops.add(ops.multiply(self.rho, velocity),
                                  ops.multiply(1 - self.rho, ops.square(gradient))))
    self.assign_sub(variable, ops.divide(ops.multiply(lr, gradient),
                                         ops.add(ops.sqrt(velocity), self.epsilon)))


class TF1RMSProp(keras.optimizers.RMSprop):
  """tf.compat.v1.train.RMSPropOptimizer(lr, decay=rho, epsilon=epsilon) without momentum:
  ms ← ρ ms + (1 − ρ) g², θ ← θ − lr g / √(ms + ε), ms₀ = 1."""

  def build(self, var_list):
    if self.built:
      return
    super().build(var_list)
    for velocity in self._velocities:
      velocity.assign(ops.ones_like(velocity))
