"""Sample grids (images) as uint8 arrays, and PNG files (2-D scatter plots: repro.figures)."""

import math
import os

import numpy as np
import tensorflow as tf


def image_grid(images, columns=None):
  """[N, H, W, C] in [-1, 1] -> one uint8 [rows*H, cols*W, C] picture (TTUR's (x + 1) * 127.5)."""
  images = np.clip((np.asarray(images, np.float32) + 1.0) * 127.5, 0, 255).astype(np.uint8)
  n, h, w, c = images.shape
  columns = columns or int(math.ceil(math.sqrt(n)))
  rows = int(math.ceil(n / columns))
  grid = np.zeros((rows * h, columns * w, c), np.uint8)
  for i, image in enumerate(images):
    r, col = divmod(i, columns)
    grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = image
  return grid


def write_png(path, picture):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path + ".tmp"
  tf.io.write_file(tmp, tf.io.encode_png(picture))
  os.replace(tmp, path)
