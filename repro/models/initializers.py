"""Weight initialisers, chosen in one place.

- "dcgan": N(0, 0.02) for every conv/dense kernel (DCGAN; WassersteinGAN main.py `weights_init`).
- "he": He-uniform for convolutions and dense layers followed by ReLU, as improved_wgan_training's
  tflib (`he_init=True`) does for its ResNets; Glorot-uniform for output layers.
- "keras": Keras defaults (Glorot-uniform).
"""

import keras

_SCHEMES = ("dcgan", "he", "keras")


def kernel(scheme, output=False):
  if scheme not in _SCHEMES:
    raise ValueError(f"unknown initialiser scheme {scheme!r}; use one of {_SCHEMES}")
  if scheme == "dcgan":
    return keras.initializers.RandomNormal(0.0, 0.02)
  if scheme == "he" and not output:
    return keras.initializers.HeUniform()
  return keras.initializers.GlorotUniform()
