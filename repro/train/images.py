"""Sample grids (images) and scatter pictures (2-D points) as uint8 arrays and PNG files."""

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


def scatter_image(real, fake, size=256, extent=None):
  """Real points grey, generated points red, on a white square covering both sets."""
  real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
  both = np.concatenate([real, fake])
  both = both[np.all(np.isfinite(both), axis=1)]
  extent = extent or float(np.max(np.abs(both))) * 1.05 if len(both) else 1.0
  picture = np.full((size, size, 3), 255, np.uint8)
  for points, colour in ((real, (150, 150, 150)), (fake, (220, 30, 30))):
    points = points[np.all(np.isfinite(points), axis=1)]
    cols = ((points[:, 0] / extent + 1) / 2 * (size - 1)).round().astype(int)
    rows = ((1 - (points[:, 1] / extent + 1) / 2) * (size - 1)).round().astype(int)
    keep = (cols >= 0) & (cols < size) & (rows >= 0) & (rows < size)
    picture[rows[keep], cols[keep]] = colour
  return picture


def write_png(path, picture):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path + ".tmp"
  tf.io.write_file(tmp, tf.io.encode_png(picture))
  os.replace(tmp, path)
