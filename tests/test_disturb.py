"""The TTUR disturbances (repro.metrics.disturb) on small fixed arrays: closed forms and SciPy."""

import math

import numpy as np
import pytest

from repro.errors import UsageError
from repro.metrics import disturb


def _images(n=6, h=12, w=10, c=1, seed=0):
  return np.random.default_rng(seed).uniform(-1, 1, size=(n, h, w, c))


@pytest.mark.parametrize("family", disturb.FAMILIES)
def test_level_zero_is_the_identity(family):
  x = _images(c=3)
  other = _images(seed=5, c=3)
  out = disturb.disturb(family, x, 0.0, np.random.default_rng(1), other=other)
  np.testing.assert_allclose(out, x, atol=1e-12, rtol=0)
  assert out is not x


def test_levels_are_the_official_ones():
  assert disturb.LEVELS["gaussian_noise"] == disturb.LEVELS["black_rectangles"] == \
      disturb.LEVELS["contamination"] == (0, 0.25, 0.5, 0.75)
  assert disturb.LEVELS["gaussian_blur"] == disturb.LEVELS["swirl"] == (0, 1, 2, 4)
  assert disturb.LEVELS["salt_and_pepper"] == (0, 0.1, 0.2, 0.3)


def test_gaussian_noise_is_a_convex_mix_with_min_max_scaled_noise():
  x = _images(n=20)
  a = 0.25
  out = disturb.gaussian_noise(x, a, np.random.default_rng(3))
  noise = (out - (1 - a) * x) / a
  assert noise.min() == pytest.approx(-1.0) and noise.max() == pytest.approx(1.0)
  # the scaled noise is a linear image of N(0, 1): its standardisation is N(0, 1)
  z = (noise - noise.mean()) / noise.std()
  assert abs(z.mean()) < 1e-12 and abs(np.mean(z ** 4) - 3.0) < 0.3
  raw = np.random.default_rng(3).standard_normal(x.shape)
  np.testing.assert_allclose(z, (raw - raw.mean()) / raw.std(), atol=1e-12)
  assert out.min() >= -1 and out.max() <= 1


def test_gaussian_blur_matches_scipy_and_keeps_constants():
  from scipy import ndimage
  x = _images(c=3)
  for sigma in (1.0, 2.0, 4.0):
    ours = disturb.gaussian_blur(x, sigma)
    ref = ndimage.gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="nearest", truncate=4.0)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
  flat = np.full((2, 7, 7, 1), 0.3)
  np.testing.assert_allclose(disturb.gaussian_blur(flat, 2.0), flat, atol=1e-12)
  assert disturb.gaussian_kernel(1.0).shape == (9,) and disturb.gaussian_kernel(1.0).sum() == \
      pytest.approx(1.0)


def test_black_rectangles_area_and_value():
  x = np.ones((50, 20, 20, 1))
  rng = np.random.default_rng(0)
  out = disturb.black_rectangles(x, 0.25, rng, n_rect=1)     # one 5x5 rectangle
  assert np.all((out == -1).sum(axis=(1, 2, 3)) == 25)
  out = disturb.black_rectangles(x, 0.75, rng)               # five 15x15: at least one, at most all
  black = (out == -1).sum(axis=(1, 2, 3))
  assert black.min() >= 225 and black.max() <= 400
  assert set(np.unique(out)) <= {-1.0, 1.0}
  # each rectangle is a full int(a H) x int(a W) block inside the image
  one = disturb.black_rectangles(np.ones((1, 9, 13, 3)), 0.5, np.random.default_rng(4), n_rect=1)
  rows, cols = np.nonzero(one[0, :, :, 0] == -1)
  assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (4, 6)
  assert np.all(one[0][one[0, :, :, 0] == -1] == -1)        # all channels


def test_salt_and_pepper_rate_and_values():
  x = np.zeros((40, 25, 25, 3))
  out = disturb.salt_and_pepper(x, 0.2, np.random.default_rng(0))
  changed = np.any(out != 0, axis=3)
  assert abs(changed.mean() - 0.2) < 0.01
  assert np.all(out[changed] != 0) and set(np.unique(out)) == {-1.0, 0.0, 1.0}
  assert np.all(out[..., 0] == out[..., 2])                   # the same value in every channel
  white = (out[..., 0] == 1).sum() / changed.sum()
  assert abs(white - 0.5) < 0.03


def test_swirl_map_closed_form():
  # strength s rotates the centre's neighbourhood by s exp(-rho / (r / 5 ln 2)); far away nothing
  rows, cols = disturb.swirl_map(41, 41, strength=2.0, radius=25.0)
  y, x = 20 + 3, 20
  angle = 2.0 * math.exp(-3 / (25 / 5 * math.log(2))) + math.pi / 2
  assert rows[y, x] == pytest.approx(20 + 3 * math.sin(angle))
  assert cols[y, x] == pytest.approx(20 + 3 * math.cos(angle))
  rows, cols = disturb.swirl_map(41, 41, strength=0.0, radius=25.0)
  grid_r, grid_c = np.mgrid[0:41, 0:41]
  np.testing.assert_allclose(rows, grid_r, atol=1e-12)
  np.testing.assert_allclose(cols, grid_c, atol=1e-12)


def test_swirl_interpolation_matches_scipy_mirror_mode():
  from scipy import ndimage
  x = _images(n=1, h=28, w=28, c=1)
  rows, cols = disturb.swirl_map(28, 28, 4.0, 25.0)
  ours = disturb.bilinear(x, rows, cols)[0, :, :, 0]
  ref = ndimage.map_coordinates(x[0, :, :, 0], [rows, cols], order=1, mode="mirror")
  np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_swirl_keeps_the_border_and_the_range():
  x = _images(n=8, h=28, w=28, c=1)
  out = disturb.swirl(x, 4.0, np.random.default_rng(0))
  np.testing.assert_array_equal(out[:, :3], x[:, :3])
  np.testing.assert_array_equal(out[:, -4:], x[:, -4:])
  np.testing.assert_array_equal(out[:, :, :3], x[:, :, :3])
  np.testing.assert_array_equal(out[:, :, -4:], x[:, :, -4:])
  assert np.all(out.min(axis=(1, 2, 3)) >= x.min(axis=(1, 2, 3)))
  assert np.all(out.max(axis=(1, 2, 3)) <= x.max(axis=(1, 2, 3)))
  assert np.abs(out - x).max() > 0.1
  # both directions occur, and the two directions are mirror images for a symmetric picture
  img = np.zeros((1, 29, 29, 1))
  img[0, 14, 14:24] = 1.0
  a = disturb.bilinear(img, *disturb.swirl_map(29, 29, 2.0, 25.0))
  b = disturb.bilinear(img, *disturb.swirl_map(29, 29, -2.0, 25.0))
  np.testing.assert_allclose(a[0, ::-1], b[0], atol=1e-12)


def test_contamination_replaces_the_fraction():
  x = np.zeros((40, 4, 4, 1))
  other = np.ones((7, 4, 4, 1))
  out = disturb.contaminate(x, 0.25, other, np.random.default_rng(0))
  assert (out.reshape(40, -1).max(axis=1) == 1).sum() == 10
  with pytest.raises(UsageError):
    disturb.contaminate(x, 0.5, np.ones((3, 5, 5, 1)), np.random.default_rng(0))
  with pytest.raises(UsageError):
    disturb.disturb("contamination", x, 0.5, np.random.default_rng(0))
  with pytest.raises(UsageError):
    disturb.disturb("fog", x, 0.5, np.random.default_rng(0))


def test_resize_bilinear():
  x = np.arange(4.0).reshape(1, 2, 2, 1)
  out = disturb.resize_bilinear(x, 4, 4)[0, :, :, 0]
  assert out[0, 0] == 0 and out[-1, -1] == 3
  np.testing.assert_allclose(out[1, 1], 0.25 * 1 + 0.25 * 2, atol=1e-12)   # at (0.25, 0.25)
  flat = np.full((1, 8, 8, 1), 0.4)
  np.testing.assert_allclose(disturb.resize_bilinear(flat, 20, 20), 0.4)
