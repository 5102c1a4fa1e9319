"""The six 2-D sets of KL-WGAN's synthetic experiments, generated exactly as ermongroup/f-wgan does.

Source: f-wgan `synthetic/datasets.py` (classes Grid, Banana, Ring, Uniform, Cosine, Funnel, with
defaults D=2) and `synthetic/nystrom_kexpfam/` (GaussianGrid, rings_sample, sample_gaussian), used by
`synthetic/kl_wgan.py` and `synthetic/generative_modeling_plots.ipynb`.

| name here | f-wgan  | definition (defaults of datasets.py)                                          |
|-----------|---------|-------------------------------------------------------------------------------|
| mog       | grid    | GaussianGrid(D=2, sigma=0.5, sep=8) after np.random.seed(1): corners 3 and 2  |
|           |         | of {0,1}^2 ·8, centred -> means (4, 0), (-4, 0); Cholesky factor 0.5·I        |
| banana    | banana  | x0 ~ N(0, 2²), x1 ~ N(0.2 (x0² - 4), 1)                                       |
| ring      | rings   | radius 5 + N(0, 0.2²), angle U[0, 2π); x = r sin a, y = r cos a              |
| square    | uniform | U[-3, 3]²                                                                     |
| cosine    | cosine  | x0 ~ U[-4, 4], x1 ~ N(3 cos(2 x0), 1)                                         |
| funnel    | funnel  | x0 ~ N(0, 2²), x1 ~ N(0, clip(exp(-x0), 0, 10)) (variance)                    |

Every sampler makes the same numpy calls in the same order as the f-wgan code, on a
`np.random.RandomState` (the legacy generator behind `np.random.*`), so with the same state it
returns the same points. Quirks kept on purpose:

* MoG: `Grid()` calls `np.random.seed(1)` in its constructor, so every f-wgan MoG run trains on
  the same 5000 points whatever the process seed, and the notebook's evaluation set
  (`v().sample(5000)`, a new Grid) *equals* the training set. `source(...)` reproduces this.
* The other five are unseeded in f-wgan (each run draws new data); here a run's points
  come from RandomState(the dataset seed it is given), so runs are reproducible.
* Training batches come in f-wgan's DataLoader order: no shuffling, batch 256, the last batch of
  each epoch has 5000 - 19·256 = 136 points.
"""

import numpy as np

# name here -> f-wgan name (kl_wgan.py `name_to_dataset`; the paper's titles in the notebook).
FWGAN_NAMES = {"mog": "grid", "banana": "banana", "ring": "rings", "square": "uniform",
               "cosine": "cosine", "funnel": "funnel"}
NAMES = tuple(FWGAN_NAMES)
TITLES = {"mog": "MoG", "banana": "Banana", "ring": "Ring", "square": "Square",
          "cosine": "Cosine", "funnel": "Funnel"}

TRAIN_SIZE = 5000        # kl_wgan.py: train_samples = dataset.sample(5000)
EVAL_SIZE = 5000         # kl_wgan.py / notebook: 5000 generated vs 5000 data points
BATCH_SIZE = 256         # kl_wgan.py: DataLoader(..., batch_size=256), no shuffle

# datasets.py defaults.
MOG_SIGMA, MOG_SEP, MOG_SEED = 0.5, 8.0, 1        # Grid(sigma=0.5, D=2, sep=8); np.random.seed(1)
BANANA_BANANICITY, BANANA_SIGMA = 0.2, 2.0        # Banana(bananicity=0.2, sigma=2)
RING_RADIUS, RING_SIGMA = 5.0, 0.2                # Ring(sigma=0.2): radia = [5]
SQUARE_LIMIT = 3.0                                # Uniform(lims=3)
COSINE_SIGMA, COSINE_XLIM, COSINE_OMEGA, COSINE_A = 1.0, 4.0, 2.0, 3.0   # Cosine defaults
FUNNEL_SIGMA, FUNNEL_LIM, FUNNEL_LOW = 2.0, 10.0, 0.0                    # Funnel defaults


def _hypercube(d):
  """nystrom_kexpfam.mathematics.hypercube: corners of {0,1}^d, first coordinate fastest."""
  if d <= 1:
    return [[0], [1]]
  previous = _hypercube(d - 1)
  return [c + [0] for c in previous] + [c + [1] for c in previous]


class Source:
  """One f-wgan dataset object: `sample(n)` continues the same RandomState stream.

  Constructing it performs the constructor's own random calls (MoG: reseed to 1, then the
  permutation choosing the grid corners), like instantiating the f-wgan class.
  """

  def __init__(self, name, rng):
    if name not in FWGAN_NAMES:
      raise ValueError(f"unknown f-wgan synthetic set {name!r}; use one of {', '.join(NAMES)}")
    self.name = name
    self.rng = rng
    if name == "mog":
      rng.seed(MOG_SEED)                                   # Grid.__init__: np.random.seed(1)
      mus = np.array(_hypercube(2), np.float64) * MOG_SEP  # GaussianGrid: hypercube(D) * sep
      inds = rng.permutation(len(mus))[:2]                 # num_components = D = 2
      mus = mus[inds]
      self.means = mus - mus.mean(0)
      self.chol = np.eye(2) * MOG_SIGMA                    # Sigma=eye*sigma, is_cholesky=True

  def sample(self, n):
    rng, name = self.rng, self.name
    if name == "mog":
      # Mixture.sample: choice(K, N, p=weights), then one sample_gaussian(1) per point:
      # L.dot(randn(D, 1)).T + mu. Consecutive randn calls continue one normal stream, so the
      # per-point loop equals a single randn(N, 2) (tested against the loop).
      comp = rng.choice(2, n, p=np.array([0.5, 0.5]))
      noise = rng.randn(n, 2)
      return noise @ self.chol.T + self.means[comp]
    if name == "banana":
      x = rng.randn(n, 2)
      x[:, 0] = BANANA_SIGMA * x[:, 0]
      x[:, 1] = x[:, 1] + BANANA_BANANICITY * (x[:, 0] ** 2 - BANANA_SIGMA ** 2)
      return x
    if name == "ring":
      # rings_sample(N, D=2, sigma=0.2, radia=[5]).
      radia = np.array([RING_RADIUS])
      angles = rng.rand(n) * 2 * np.pi
      noise = rng.randn(n) * RING_SIGMA
      weights = 2 * np.pi * radia
      weights = weights / np.sum(weights)
      radius = radia[rng.choice(len(radia), n, p=weights)] + noise
      return np.stack([radius * np.sin(angles), radius * np.cos(angles)], axis=1)
    if name == "square":
      return 2 * (rng.rand(n, 2) - 0.5) * SQUARE_LIMIT
    if name == "cosine":
      x0 = rng.uniform(-COSINE_XLIM, COSINE_XLIM, n)
      x = rng.randn(n, 2)
      x[:, 0] = x0
      x[:, 1] = x[:, 1] * COSINE_SIGMA + COSINE_A * np.cos(COSINE_OMEGA * x0)
      return x
    # funnel
    x = rng.randn(n, 2)
    x[:, 0] *= FUNNEL_SIGMA
    v = np.clip(np.exp(-x[:, 0:1]), FUNNEL_LOW, FUNNEL_LIM)
    x[:, 1:] = x[:, 1:] * np.sqrt(v)
    return x


def source(name, seed):
  """A dataset object on RandomState(seed) (MoG reseeds itself to 1, as f-wgan's Grid does)."""
  return Source(name, np.random.RandomState(seed))


def training_points(name, seed, n=TRAIN_SIZE):
  """kl_wgan.py `train_samples = dataset.sample(5000)`, float64 [n, 2]."""
  return source(name, seed).sample(n)


def evaluation_points(name, seed, n=EVAL_SIZE):
  """The notebook's evaluation set `v().sample(5000)`: a new dataset object.

  Drawn from RandomState(seed + 1000) so it is independent of the run's training points, except
  for MoG where the reseed makes it equal to the training set, exactly as in f-wgan.
  """
  return source(name, seed + 1000).sample(n)


def get_dataset(name, batch_size=BATCH_SIZE, seed=0, repeat=True):
  """tf.data over the 5000 training points in f-wgan's DataLoader order (no shuffle; the last
  batch of an epoch is smaller), float32 [batch, 2].

  tf.data autotuning is off: there is nothing to tune in 20 in-memory batches, and deleting an
  autotuned iterator waits, idle, for its tuning thread's current sleep (periods double up to 60 s):
  `--table` spent 27-31 s in `keras.backend.clear_session()` between cells.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  points = training_points(name, seed).astype(np.float32)
  ds = tf.data.Dataset.from_tensor_slices(points).batch(batch_size, drop_remainder=False)
  if repeat:
    ds = ds.repeat()
  options = tf.data.Options()
  options.autotune.enabled = False
  return ds.prefetch(tf.data.AUTOTUNE).with_options(options)


def batches_per_epoch(batch_size=BATCH_SIZE, n=TRAIN_SIZE):
  return -(-n // batch_size)
