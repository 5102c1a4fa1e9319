"""Image disturbances of TTUR's "FID vs disturbance level" experiment, in pure numpy.

TTUR (Heusel et al. 2017) shows that the FID rises with the disturbance level of six kinds of
disturbed images (paper appendix, experiments "FID vs Inception Score"; the same text is
bioinf-jku/TTUR `FID_vs_Inception_Score/README.md`, the code `FIDvsINC/main.py` and
`FIDvsINC/fidutils.py` @73ab375). The official code disturbs images in [-1, 1] (`mi=-1, ma=1`) and
then maps them to [0, 255] for the Inception net. Here every function takes float images in
[-1, 1], NHWC (`[n, H, W, C]`), a level, and a `numpy.random.Generator` where randomness is
involved, and returns a new float64 array; level 0 is the identity for every family.

Families and levels (`FIDvsINC/main.py`, `alphas`):

  gaussian_noise    0, .25, .5, .75   (1 - a) X + a N; N ~ normal over the whole array of images,
                                      min-max scaled to [-1, 1] over that whole array
                                      (`apply_gauss_noise`)
  gaussian_blur     0, 1, 2, 4        Gaussian filter of standard deviation a over height and width
                                      only, border mode 'nearest', truncate 4 (skimage
                                      `filters.gaussian` as `apply_gaussian_blur` calls it)
  black_rectangles  0, .25, .5, .75   5 rectangles of int(a H) x int(a W) pixels at uniformly random
                                      positions set to black, -1 (`apply_mult_rect`, `drop_rect`;
                                      the official value is the data set's minimum, -1 here)
  swirl             0, 1, 2, 4        one swirl of strength a and random direction at the centre,
                                      radius 25 (70 for CelebA), skimage `transform.swirl`'s inverse
                                      map with bilinear interpolation, border mode 'reflect',
                                      clipped to the image's range; the 3 outer rows and columns
                                      (4 at the bottom and right) are restored (`lokal_swirl`)
  salt_and_pepper   0, .1, .2, .3     each pixel (all channels together) with probability a set
                                      to black or white, 50 % each (`salt_and_pepper`)
  contamination     0, .25, .5, .75   a fraction a of the images replaced by images of another data
                                      set (the paper: ImageNet into CelebA; `mixed` in main.py has
                                      no implementation in the repository)
"""

import math

import numpy as np

from repro.errors import UsageError

LEVELS = {
    "gaussian_noise": (0.0, 0.25, 0.5, 0.75),
    "gaussian_blur": (0.0, 1.0, 2.0, 4.0),
    "black_rectangles": (0.0, 0.25, 0.5, 0.75),
    "swirl": (0.0, 1.0, 2.0, 4.0),
    "salt_and_pepper": (0.0, 0.1, 0.2, 0.3),
    "contamination": (0.0, 0.25, 0.5, 0.75),
}
FAMILIES = tuple(LEVELS)
# The names of FIDvsINC/main.py --noise_type.
OFFICIAL_NAMES = {"gaussian_noise": "gn", "gaussian_blur": "blur", "black_rectangles": "rect",
                  "swirl": "swirl", "salt_and_pepper": "sp", "contamination": "mixed"}
N_RECTANGLES = 5            # main.py: n_rect = 5
SWIRL_RADIUS = 25.0         # main.py: radius=25 (any data set but CelebA)
SWIRL_RADIUS_CELEBA = 70.0  # main.py: "bigger radius to make the effect more visible"
SWIRL_BORDER = 3            # fidutils.lokal_swirl: corr_size=3
BLUR_TRUNCATE = 4.0         # skimage.filters.gaussian / scipy.ndimage default


def _images(x):
  x = np.asarray(x, dtype=np.float64)
  if x.ndim != 4:
    raise UsageError(f"images must be [n, H, W, C], got shape {x.shape}")
  return x


def gaussian_noise(x, alpha, rng, lo=-1.0, hi=1.0):
  """(1 - alpha) x + alpha N, N standard normal scaled to [lo, hi] by its min and max over all of x."""
  x = _images(x)
  noise = rng.standard_normal(x.shape)
  noise = (noise - noise.min()) / (noise.max() - noise.min()) * (hi - lo) + lo
  if alpha <= 1e-6:       # apply_gauss_noise: the noise is drawn, then not used
    return x.copy()
  return (1.0 - alpha) * x + alpha * noise


def gaussian_kernel(sigma, truncate=BLUR_TRUNCATE):
  """The normalised 1-D Gaussian weights of scipy.ndimage.gaussian_filter1d (radius int(4 s + .5))."""
  radius = int(truncate * float(sigma) + 0.5)
  t = np.arange(-radius, radius + 1, dtype=np.float64)
  w = np.exp(-0.5 * t * t / (float(sigma) ** 2))
  return w / w.sum()


def _filter_axis(x, weights, axis):
  radius = len(weights) // 2
  pad = [(0, 0)] * x.ndim
  pad[axis] = (radius, radius)
  padded = np.pad(x, pad, mode="edge")      # mode 'nearest'
  out = np.zeros_like(x)
  n = x.shape[axis]
  for k, w in enumerate(weights):
    out += w * np.take(padded, np.arange(k, k + n), axis=axis)
  return out


def gaussian_blur(x, sigma, truncate=BLUR_TRUNCATE):
  """Separable Gaussian filter over height and width (not channels), border mode 'nearest'."""
  x = _images(x)
  if sigma <= 0:
    return x.copy()
  w = gaussian_kernel(sigma, truncate)
  return _filter_axis(_filter_axis(x, w, 1), w, 2)


def black_rectangles(x, share, rng, n_rect=N_RECTANGLES, value=-1.0):
  """n_rect rectangles of int(share H) x int(share W) pixels per image set to `value`; each top-left
  corner uniform over the positions where the rectangle fits (random.randint(0, H - h) inclusive)."""
  x = _images(x)
  n, h, w, _ = x.shape
  rh, rw = int(h * share), int(w * share)
  out = x.copy()
  if rh == 0 or rw == 0:
    return out
  top = rng.integers(0, h - rh + 1, size=(n, n_rect))
  left = rng.integers(0, w - rw + 1, size=(n, n_rect))
  rows, cols = np.arange(h), np.arange(w)
  in_rows = (rows >= top[..., None]) & (rows < top[..., None] + rh)        # [n, n_rect, h]
  in_cols = (cols >= left[..., None]) & (cols < left[..., None] + rw)      # [n, n_rect, w]
  mask = np.any(in_rows[..., :, None] & in_cols[..., None, :], axis=1)     # [n, h, w]
  out[mask] = value
  return out


def salt_and_pepper(x, p, rng, lo=-1.0, hi=1.0):
  """Each pixel with probability p set (in all channels) to lo or hi with probability 1/2 each."""
  x = _images(x)
  out = x.copy()
  flip = rng.random(x.shape[:3]) < p
  count = int(flip.sum())
  if count:
    values = np.where(rng.random(count) < 0.5, hi, lo)
    out[flip] = values[:, None]
  return out


def _mirror(index, n):
  """scipy.ndimage mode 'mirror' (skimage 'reflect'): ... 2 1 | 0 1 2 ... n-1 | n-2 ..."""
  if n == 1:
    return np.zeros_like(index)
  period = 2 * (n - 1)
  index = np.abs(index) % period
  return np.where(index >= n, period - index, index)


def swirl_map(h, w, strength, radius, center=None):
  """(source rows, source cols) [h, w] of skimage.transform.swirl's inverse map (rotation 0).

  For an output pixel at (x = column, y = row), rho its distance to the centre (x0, y0):
  theta = strength exp(-rho / (radius / 5 ln 2)) + atan2(y - y0, x - x0), and the source is
  (x0 + rho cos theta, y0 + rho sin theta).
  """
  x0, y0 = (w // 2, h // 2) if center is None else center
  y, x = np.mgrid[0:h, 0:w].astype(np.float64)
  rho = np.hypot(x - x0, y - y0)
  scale = radius / 5.0 * math.log(2.0)
  theta = strength * np.exp(-rho / scale) + np.arctan2(y - y0, x - x0)
  return y0 + rho * np.sin(theta), x0 + rho * np.cos(theta)


def bilinear(x, rows, cols):
  """x[:, rows, cols, :] interpolated bilinearly (order 1), out-of-range indices mirrored."""
  h, w = x.shape[1:3]
  r0, c0 = np.floor(rows), np.floor(cols)
  fr, fc = rows - r0, cols - c0
  r0, c0 = r0.astype(int), c0.astype(int)
  out = 0.0
  for dr, wr in ((0, 1.0 - fr), (1, fr)):
    for dc, wc in ((0, 1.0 - fc), (1, fc)):
      ri, ci = _mirror(r0 + dr, h), _mirror(c0 + dc, w)
      out = out + (wr * wc)[None, :, :, None] * x[:, ri, ci, :]
  return out


def swirl(x, strength, rng, radius=SWIRL_RADIUS, border=SWIRL_BORDER):
  """One centred swirl of `strength` per image, direction +-1 at random (fidutils.lokal_swirl)."""
  x = _images(x)
  n, h, w, _ = x.shape
  signs = np.sign(rng.random(n) - 0.5)
  out = np.empty_like(x)
  for sign in (-1.0, 1.0):
    pick = signs == sign
    if np.any(pick):
      rows, cols = swirl_map(h, w, sign * strength, radius)
      out[pick] = bilinear(x[pick], rows, cols)
  lo = x.min(axis=(1, 2, 3), keepdims=True)     # skimage warp(clip=True): the input's range
  hi = x.max(axis=(1, 2, 3), keepdims=True)
  out = np.clip(out, lo, hi)
  if border:
    out[:, :border] = x[:, :border]
    out[:, -(border + 1):] = x[:, -(border + 1):]
    out[:, :, :border] = x[:, :, :border]
    out[:, :, -(border + 1):] = x[:, :, -(border + 1):]
  return out


def contaminate(x, alpha, other, rng):
  """A random round(alpha n) of the images replaced by images drawn from `other` (without
  replacement while `other` has enough, else with)."""
  x = _images(x)
  other = _images(other)
  if other.shape[1:] != x.shape[1:]:
    raise UsageError(f"contaminating images are {other.shape[1:]}, the images {x.shape[1:]}")
  out = x.copy()
  k = int(round(alpha * len(x)))
  if k == 0:
    return out
  where = rng.choice(len(x), size=k, replace=False)
  out[where] = other[rng.choice(len(other), size=k, replace=len(other) < k)]
  return out


def disturb(family, x, level, rng, other=None, swirl_radius=SWIRL_RADIUS):
  """Images of `family` at `level` (see the module docstring)."""
  if family == "gaussian_noise":
    return gaussian_noise(x, level, rng)
  if family == "gaussian_blur":
    return gaussian_blur(x, level)
  if family == "black_rectangles":
    return black_rectangles(x, level, rng)
  if family == "swirl":
    return swirl(x, level, rng, radius=swirl_radius)
  if family == "salt_and_pepper":
    return salt_and_pepper(x, level, rng)
  if family == "contamination":
    if other is None:
      raise UsageError("contamination needs the images of another data set")
    return contaminate(x, level, other, rng)
  raise UsageError(f"unknown disturbance {family!r}; choose one of {', '.join(FAMILIES)}")


def resize_bilinear(images, height, width):
  """[n, h, w, c] -> [n, height, width, c], bilinear with half-pixel centres (edges clamped)."""
  images = _images(images)
  h, w = images.shape[1:3]
  rows = np.clip((np.arange(height) + 0.5) * h / height - 0.5, 0, h - 1)
  cols = np.clip((np.arange(width) + 0.5) * w / width - 0.5, 0, w - 1)
  rr, cc = np.meshgrid(rows, cols, indexing="ij")
  return bilinear(images, rr, cc)
