"""Figures people can read: axes with ticks, titles, legends. Drawn with Pillow (a dependency
already: TensorBoard's image summaries need it) into uint8 RGB arrays, so one picture goes to a PNG
file and to TensorBoard alike. No TensorFlow here.

  scatter(real, fake, title, centers)      2-D samples over real points, mode centres marked
  curves(panels, title, xlabel, ylabel)    one panel per case, lines with a legend
  labelled_rows(rows, title)               pictures stacked with their names (the benchmark grid)
"""

import math

import numpy as np

REAL = (150, 150, 150)
FAKE = (210, 30, 30)
CENTRE = (0, 0, 0)
GRID = (230, 230, 230)
LINE_COLOURS = ((210, 30, 30), (30, 90, 200), (40, 150, 60), (150, 60, 180), (230, 140, 20),
                (20, 160, 170))


def nice_step(raw):
  """1, 2, 2.5 or 5 times a power of ten, the smallest at least `raw` (> 0)."""
  if raw <= 0:
    return 1.0
  power = 10.0 ** np.floor(np.log10(raw))
  for m in (1.0, 2.0, 2.5, 5.0, 10.0):
    if m * power >= raw - 1e-12:
      return float(m * power)
  return float(10 * power)


def ticks(lo, hi, count=5):
  """Round tick values covering [lo, hi]."""
  step = nice_step((hi - lo) / max(count, 1)) if hi > lo else 1.0
  first = math.ceil(lo / step - 1e-9) * step
  return [round(first + k * step, 10) for k in range(int((hi - first) / step + 1e-9) + 1)]


def _tick_label(value):
  return f"{value:g}"


class _Canvas:
  """A Pillow image with a title line and a font."""

  def __init__(self, width, height, title=""):
    from PIL import Image, ImageDraw, ImageFont  # pylint: disable=g-import-not-at-top
    self.image = Image.new("RGB", (int(width), int(height)), "white")
    self.draw = ImageDraw.Draw(self.image)
    self.font = ImageFont.load_default()
    if title:
      self.draw.text((8, 6), title, fill="black", font=self.font)

  def text(self, xy, text, fill="black"):
    self.draw.text(xy, text, fill=fill, font=self.font)

  def legend(self, x, y, items):
    """items: [(label, colour, "dot"|"line"|"cross")], drawn left to right from (x, y)."""
    for label, colour, mark in items:
      if mark == "line":
        self.draw.line([x, y + 6, x + 14, y + 6], fill=colour, width=2)
      elif mark == "cross":
        self.draw.line([x + 3, y + 2, x + 11, y + 10], fill=colour, width=2)
        self.draw.line([x + 3, y + 10, x + 11, y + 2], fill=colour, width=2)
      else:
        self.draw.ellipse([x + 4, y + 3, x + 10, y + 9], fill=colour)
      self.text((x + 18, y), label)
      x += 26 + 6 * len(label)

  def array(self):
    return np.asarray(self.image, np.uint8).copy()


class _Axes:
  """A plot box on a canvas mapping data (x, y) to pixels, with ticks and axis labels."""

  def __init__(self, canvas, box, x_range, y_range, xlabel="", ylabel=""):
    self.c, (self.left, self.top, self.right, self.bottom) = canvas, box
    self.x0, self.x1 = x_range
    self.y0, self.y1 = y_range
    draw = canvas.draw
    for t in ticks(self.y0, self.y1):
      y = self.py(t)
      draw.line([self.left + 1, y, self.right - 1, y], fill=GRID)
      draw.line([self.left - 4, y, self.left, y], fill="black")
      label = _tick_label(t)
      canvas.text((self.left - 8 - 6 * len(label), y - 6), label)
    for t in ticks(self.x0, self.x1):
      x = self.px(t)
      draw.line([x, self.top + 1, x, self.bottom - 1], fill=GRID)
      draw.line([x, self.bottom, x, self.bottom + 4], fill="black")
      label = _tick_label(t)
      canvas.text((x - 3 * len(label), self.bottom + 6), label)
    draw.rectangle([self.left, self.top, self.right, self.bottom], outline="black")
    if xlabel:
      canvas.text(((self.left + self.right) // 2 - 3 * len(xlabel), self.bottom + 20), xlabel)
    if ylabel:
      canvas.text((self.left - 44, self.top - 14), ylabel)

  def px(self, x):
    return self.left + (np.asarray(x, np.float64) - self.x0) / (self.x1 - self.x0) * (
        self.right - self.left)

  def py(self, y):
    return self.bottom - (np.asarray(y, np.float64) - self.y0) / (self.y1 - self.y0) * (
        self.bottom - self.top)

  def inside(self, xs, ys):
    return (xs >= self.left) & (xs <= self.right) & (ys >= self.top) & (ys <= self.bottom)


def _finite(points):
  points = np.asarray(points, np.float64).reshape(-1, 2)
  return points[np.all(np.isfinite(points), axis=1)]


def scatter(real, fake, title="", centers=None, extent=None, size=360):
  """Generated points (red) over real points (grey) on square axes; mode centres as crosses."""
  real, fake = _finite(real), _finite(fake)
  both = np.concatenate([real, fake]) if len(real) + len(fake) else np.zeros((1, 2))
  if extent is None:
    extent = float(np.max(np.abs(both))) * 1.05 or 1.0
  canvas = _Canvas(size + 70, size + 80, title)
  axes = _Axes(canvas, (56, 40, 56 + size, 40 + size), (-extent, extent), (-extent, extent))
  pixels = canvas.image.load()
  for points, colour in ((real, REAL), (fake, FAKE)):
    xs, ys = axes.px(points[:, 0]), axes.py(points[:, 1])
    keep = axes.inside(xs, ys)
    for x, y in zip(xs[keep].round().astype(int), ys[keep].round().astype(int)):
      pixels[int(x), int(y)] = colour
      if x + 1 < axes.right:
        pixels[int(x) + 1, int(y)] = colour
  items = [(f"real ({len(real)})", REAL, "dot"), (f"generated ({len(fake)})", FAKE, "dot")]
  if centers is not None:
    for cx, cy in np.asarray(centers, np.float64).reshape(-1, 2):
      x, y = float(axes.px(cx)), float(axes.py(cy))
      canvas.draw.line([x - 4, y - 4, x + 4, y + 4], fill=CENTRE, width=1)
      canvas.draw.line([x - 4, y + 4, x + 4, y - 4], fill=CENTRE, width=1)
    items.append(("mode centres", CENTRE, "cross"))
  canvas.legend(56, size + 62, items)
  return canvas.array()


def curves(panels, title="", xlabel="", ylabel="", y_range=None, panel_size=(640, 170)):
  """One panel per case, stacked. panels: [{"title": str, "x": values, "lines": [(label, y)],
  "levels": [(label, value)]}]: lines in colour, horizontal reference levels in grey dashes;
  y clipped to y_range (default: the data's range)."""
  width, height = panel_size
  head = 26 if title else 6
  canvas = _Canvas(width, head + len(panels) * height, title)
  for i, panel in enumerate(panels):
    top = head + i * height
    values = [np.asarray(y, np.float64) for _, y in panel["lines"]] + [
        np.asarray([v], np.float64) for _, v in panel.get("levels", [])]
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(1)
    lo, hi = y_range or (float(finite.min()), float(finite.max()))
    if hi <= lo:
      lo, hi = lo - 1.0, hi + 1.0
    x = np.asarray(panel["x"], np.float64)
    axes = _Axes(canvas, (70, top + 22, width - 16, top + height - 40), (float(x[0]), float(x[-1])),
                 (lo, hi), xlabel if i == len(panels) - 1 else "", ylabel)
    canvas.text((70, top + 6), panel.get("title", ""))
    items = []
    for label, value in panel.get("levels", []):
      y = float(axes.py(np.clip(value, lo, hi)))
      for x0 in range(axes.left + 1, axes.right - 1, 8):
        canvas.draw.line([x0, y, min(x0 + 4, axes.right - 1), y], fill=(120, 120, 120))
      items.append((label, (120, 120, 120), "line"))
    for (label, y), colour in zip(panel["lines"], LINE_COLOURS * len(panel["lines"])):
      ys = axes.py(np.clip(np.asarray(y, np.float64), lo, hi))
      canvas.draw.line(list(zip(axes.px(x).tolist(), ys.tolist())), fill=colour, width=1)
      items.append((label, colour, "line"))
    canvas.legend(axes.right - 12 - sum(26 + 6 * len(l) for l, _, _ in items), top + 4, items)
  return canvas.array()


def _rgb(picture):
  picture = np.asarray(picture, np.uint8)
  if picture.ndim == 2:
    picture = picture[..., None]
  if picture.shape[-1] == 1:
    picture = np.repeat(picture, 3, axis=-1)
  return np.ascontiguousarray(picture[..., :3])


def labelled_rows(rows, title=""):
  """[(label, uint8 picture [H, W] or [H, W, C])] stacked, each with its label on the left."""
  pictures = [_rgb(p) for _, p in rows]
  label_width = 12 + 6 * max((len(l) for l, _ in rows), default=0)
  head = 26 if title else 4
  width = label_width + max((p.shape[1] for p in pictures), default=0) + 4
  height = head + sum(p.shape[0] + 4 for p in pictures)
  canvas = _Canvas(width, height, title)
  from PIL import Image  # pylint: disable=g-import-not-at-top
  y = head
  for (label, _), picture in zip(rows, pictures):
    canvas.image.paste(Image.fromarray(picture), (label_width, y))
    canvas.text((6, y + picture.shape[0] // 2 - 6), label)
    y += picture.shape[0] + 4
  return canvas.array()
