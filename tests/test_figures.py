"""Figures: axes, legends and marks land where the data says."""

import numpy as np

from repro import figures


def _has_colour(picture, colour, box=None):
  if box is not None:
    (top, bottom), (left, right) = box
    picture = picture[top:bottom, left:right]
  return bool(np.any(np.all(picture == np.array(colour, np.uint8), axis=-1)))


def test_ticks_are_round_and_cover_the_range():
  assert figures.ticks(-4.2, 4.2) == [-4.0, -2.0, 0.0, 2.0, 4.0]
  assert figures.ticks(90, 200) == [100.0, 125.0, 150.0, 175.0, 200.0]
  assert figures.nice_step(41.6) == 50.0


def test_scatter_puts_generated_points_and_centres_where_they_are():
  fake = np.array([[1.0, 1.0]] * 10 + [[np.nan, 0.0]])
  real = np.array([[-1.0, -1.0]] * 10)
  picture = figures.scatter(real, fake, "a title", centers=[[1.0, -1.0]], extent=2.0, size=200)
  assert picture.shape == (280, 270, 3) and picture.dtype == np.uint8
  # axes box (56, 40)-(256, 240), data [-2, 2]: (1, 1) -> (206, 90), (-1, -1) -> (106, 190)
  assert _has_colour(picture, figures.FAKE, ((88, 93), (204, 209)))
  assert _has_colour(picture, figures.REAL, ((188, 193), (104, 109)))
  assert not _has_colour(picture, figures.FAKE, ((40, 240), (56, 150)))   # the NaN point is dropped
  assert _has_colour(picture, figures.CENTRE, ((186, 195), (202, 211)))  # the cross at (1, -1)
  assert _has_colour(picture, figures.FAKE, ((255, 280), (0, 270)))      # the legend's swatch
  assert np.any(picture[:20, :100] < 128)                                   # the title's text


def test_curves_draw_each_panel_with_its_reference_level():
  x = np.arange(100)
  panels = [dict(title="one", x=x, lines=[("f", 100 + x)], levels=[("level 100", 100.0)]),
            dict(title="two", x=x, lines=[("f", 200 - x)])]
  picture = figures.curves(panels, "title", "iteration", "f", y_range=(90, 200), panel_size=(400, 150))
  assert picture.shape == (26 + 2 * 150, 400, 3)
  first, second = picture[26:176], picture[176:]
  assert _has_colour(first, figures.LINE_COLOURS[0]) and _has_colour(second, figures.LINE_COLOURS[0])
  assert _has_colour(first, (120, 120, 120)) and not _has_colour(second, (120, 120, 120))


def test_labelled_rows_paste_each_picture_unchanged():
  rng = np.random.default_rng(0)
  a = rng.integers(0, 256, (28, 60), dtype=np.uint8)
  b = rng.integers(0, 256, (28, 60, 3), dtype=np.uint8)
  picture = figures.labelled_rows([("wgan_gp", a), ("ttur", b)], "title")
  left = 12 + 6 * len("wgan_gp")
  np.testing.assert_array_equal(picture[26:54, left:left + 60], np.repeat(a[..., None], 3, -1))
  np.testing.assert_array_equal(picture[58:86, left:left + 60], b)
  assert np.any(picture[26:54, :left] < 128)    # the label's text
