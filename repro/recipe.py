"""`Recipe`: the whole description of one training run, frozen and JSON-serializable.

A paper module's `recipe(dataset, **overrides)` returns one; `repro.train.run(recipe, workdir)`
trains it; the workdir keeps it in `recipe.json`, and a resumed run must bring the same recipe
(only the fields in `RESUMABLE` may change). Imports no TensorFlow.

  r = repro.papers.wgan.recipe("8gaussians", variant="gp")
  r = r.replace(steps=10, **{"objective.params.gp_weight": 0.5})
  Recipe.from_json(r.to_json()) == r
"""

import dataclasses
import json
import typing

from repro.errors import UsageError


class FrozenDict(dict):
  """A dict that refuses changes (recipe parameters); equal to the plain dict it holds."""

  def _refuse(self, *args, **kw):
    raise TypeError("recipe parameters are frozen: use Recipe.replace")

  __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
  __ior__ = _refuse

  def __hash__(self):
    return hash(json.dumps(self, sort_keys=True))


def freeze(value):
  """Dicts → FrozenDict, lists → tuples, recursively (JSON round trips give back equal values)."""
  if isinstance(value, dict):
    return FrozenDict({str(k): freeze(v) for k, v in value.items()})
  if isinstance(value, (list, tuple)):
    return tuple(freeze(v) for v in value)
  return value


def thaw(value):
  """The inverse of `freeze`: plain dicts and lists (what json writes)."""
  if isinstance(value, dict):
    return {k: thaw(v) for k, v in value.items()}
  if isinstance(value, tuple):
    return [thaw(v) for v in value]
  return value


class _Spec:
  """Freezes mapping fields after construction; shared by every part of a recipe."""

  def __post_init__(self):
    for f in dataclasses.fields(self):
      value = getattr(self, f.name)
      if isinstance(value, (dict, list, tuple)):
        object.__setattr__(self, f.name, freeze(value))


@dataclasses.dataclass(frozen=True)
class Data(_Spec):
  """Where the examples come from. text: {"file", "seq_len", "max_lines", "max_vocab"} (lm1b/text);
  image_size: square images resized to this size (0: the dataset's own, e.g. WassersteinGAN
  main.py's Scale(64) of CIFAR-10 is 64)."""
  data_dir: str = ""
  download: bool = False
  source: str = "auto"
  text: dict = dataclasses.field(default_factory=dict)
  image_size: int = 0


@dataclasses.dataclass(frozen=True)
class Model(_Spec):
  """An architecture of `repro.registry.ARCHITECTURES` and its builder's arguments."""
  arch: str = "mlp"
  args: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Objective(_Spec):
  """An objective of `repro.registry.OBJECTIVES` and every parameter its constructor takes."""
  name: str = "wgan"
  params: dict = dataclasses.field(default_factory=dict)


# kind: "adam" (Keras/TF Adam, epsilon added to sqrt(v̂)); "adam_tf1" (tf.compat.v1 AdamOptimizer:
# the same update with β1, β2 held in float32, so 1 - β2 is float32's 1 - 0.999f = 9.9998713e-4
# where Keras forms 1e-3 from the Python float); "rmsprop_torch" (PyTorch RMSprop:
# lr·g / (sqrt(v) + eps), v starts at 0); "rmsprop_tf1" (tf.compat.v1 RMSProp: lr·g / sqrt(v + eps),
# v starts at 1); repro/train/optimizers.py. For RMSprop, beta2 is the decay ρ of the mean square.
# schedule: "constant" or "linear" (to 0 at the last step, gan_cifar_resnet.py).
OPTIMIZERS = ("adam", "adam_tf1", "rmsprop_torch", "rmsprop_tf1")


@dataclasses.dataclass(frozen=True)
class Optimizer(_Spec):
  kind: str = "adam"
  lr: float = 1e-4
  beta1: float = 0.5          # adam: beta_1; rmsprop: unused
  beta2: float = 0.9          # adam: beta_2; rmsprop: the decay ρ of the mean square
  epsilon: float = 1e-8
  schedule: str = "constant"


@dataclasses.dataclass(frozen=True)
class EMA(_Spec):
  """Exponential moving average of the generator (decay 0: none); copied before `start`."""
  decay: float = 0.0
  start: int = 0


# sampler: "inference" (batch norm on moving averages, training=False), "training" (batch
# statistics of each sampling batch, moving averages left untouched).
SAMPLERS = ("inference", "training")


@dataclasses.dataclass(frozen=True)
class Evaluation(_Spec):
  """What runs every `every` steps: an evaluator of `repro.registry.EVALUATORS` ("none": sample
  grids only), on `n_samples` samples drawn with fresh noise by `sampler` in batches of
  `sample_batch`, from the EMA generator when there is one and `use_ema`; `best`: the metric whose
  best value's weights are kept in <workdir>/best ("" for none), `best_mode` "min" or "max";
  `params`: the evaluator's other arguments (extractor, quantisation, reference statistics...).
  The noise is fresh at every evaluation (seeded by the run's seed and the step); `at_start` also
  evaluates the untrained generator (step 0); `first_step`: no metric before this step (sample
  grids are still written)."""
  metric: str = "none"
  every: int = 1000
  first_step: int = 0
  n_samples: int = 0
  sampler: str = "inference"
  sample_batch: int = 500
  use_ema: bool = True
  at_start: bool = False
  best: str = ""
  best_mode: str = "min"
  params: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Recipe(_Spec):
  """One run: paper, data, networks, objective, optimizers, schedule, EMA, evaluation, seed.

  n_critic_schedule: "constant" or "wgan" (100 critic updates for the first 25 generator steps
  and every 500th, WassersteinGAN main.py). real_batches: "fresh" (a new real batch per critic
  update) or "shared" (one per generator step, f-wgan kl_wgan.py). The generator update sees
  generator_real: "critic" (the last critic update's real batch) or "fresh" (a new one), and
  generator_noise: "fresh" (new noise) or "critic" (the last critic update's noise).
  """
  paper: str = ""
  dataset: str = "8gaussians"
  data: Data = Data()
  model: Model = Model()
  z_dim: int = 2
  z_dist: str = "normal"        # "normal": N(0, I); "uniform": U[-1, 1]
  objective: Objective = Objective()
  g_opt: Optimizer = Optimizer()
  d_opt: Optimizer = Optimizer()
  batch_size: int = 64
  steps: int = 1000             # generator steps
  n_critic: int = 5
  n_critic_schedule: str = "constant"
  real_batches: str = "fresh"
  generator_real: str = "critic"
  generator_noise: str = "fresh"
  ema: EMA = EMA()
  eval: Evaluation = Evaluation()
  seed: int = 0
  init_from: str = ""           # initial weights from an .npz (repro.train.initial); "": the seed's
  save_every: int = 1000
  log_every: int = 100
  keep_checkpoints: int = 3
  jit_compile: bool = False     # XLA: one computation per step where possible (bench/README.md)

  # ---- serialisation ---------------------------------------------------------------------------
  def to_dict(self):
    return thaw(dataclasses.asdict(self))

  def to_json(self):
    return json.dumps(self.to_dict(), indent=2, sort_keys=True)

  @classmethod
  def from_dict(cls, values):
    return _build(cls, values, "")

  @classmethod
  def from_json(cls, text):
    try:
      values = json.loads(text)
    except ValueError as e:
      raise UsageError(f"a recipe must be a JSON object: {e}") from None
    return cls.from_dict(values)

  # ---- changes -----------------------------------------------------------------------------------
  def replace(self, **changes):
    """A copy with fields changed: top-level names (`steps=10`) or dotted paths
    (`**{"g_opt.lr": 3e-4, "objective.params.gp_weight": 5}`); a dict for a params field
    replaces it whole. Unknown paths are a UsageError naming the known ones."""
    values = self.to_dict()
    for path, value in changes.items():
      _set_path(values, path, thaw(value) if isinstance(value, (dict, tuple)) and not
                dataclasses.is_dataclass(value) else value)
    return Recipe.from_dict(values).validate()

  def flat(self):
    """{dotted path: value} of every leaf (params dicts expanded)."""
    return _flatten(self.to_dict())

  def diff(self, other):
    """[(path, self's value, other's value)] of every leaf that differs."""
    a, b = self.flat(), other.flat()
    return [(k, a.get(k, "(absent)"), b.get(k, "(absent)")) for k in sorted(set(a) | set(b))
            if a.get(k, _MISSING) != b.get(k, _MISSING)]

  def __str__(self):
    lines = [f"Recipe {self.paper} / {self.dataset}"]
    lines += [f"  {k} = {v!r}" for k, v in self.flat().items() if k not in ("paper", "dataset")]
    return "\n".join(lines)

  # ---- checks --------------------------------------------------------------------------------------
  def validate(self):
    positive = {"batch_size": self.batch_size, "steps": self.steps, "n_critic": self.n_critic,
                "z_dim": self.z_dim, "save_every": self.save_every, "eval_every": self.eval.every,
                "log_every": self.log_every, "keep_checkpoints": self.keep_checkpoints}
    for name, value in positive.items():
      if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise UsageError(f"--{name} must be a positive integer, got {value!r}")
    for side, opt in (("g", self.g_opt), ("d", self.d_opt)):
      if not (isinstance(opt.lr, (int, float)) and opt.lr > 0):
        raise UsageError(f"--{side}_lr must be a positive learning rate, got {opt.lr!r}")
      for name in ("beta1", "beta2"):
        if not 0 <= getattr(opt, name) < 1:
          raise UsageError(f"{side}_opt.{name} must be in [0, 1), got {getattr(opt, name)!r}")
      _choose(f"{side}_opt.kind", opt.kind, OPTIMIZERS)
      _choose(f"{side}_opt.schedule", opt.schedule, ("constant", "linear"))
    if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
      raise UsageError(f"--seed must be a non-negative integer, got {self.seed!r}")
    if not isinstance(self.init_from, str):
      raise UsageError(f"--init_from must be a path to an .npz file, got {self.init_from!r}")
    if not isinstance(self.jit_compile, bool):
      raise UsageError(f"--jit_compile must be true or false, got {self.jit_compile!r}")
    if not isinstance(self.ema.start, int) or self.ema.start < 0:
      raise UsageError(f"--ema_start must be a non-negative integer, got {self.ema.start!r}")
    if not 0 <= self.ema.decay < 1:
      raise UsageError(f"--ema_decay must be in [0, 1), got {self.ema.decay!r}")
    _choose("z_dist", self.z_dist, ("normal", "uniform"))
    _choose("n_critic_schedule", self.n_critic_schedule, ("constant", "wgan"))
    _choose("real_batches", self.real_batches, ("fresh", "shared"))
    _choose("generator_real", self.generator_real, ("critic", "fresh"))
    _choose("generator_noise", self.generator_noise, ("fresh", "critic"))
    _choose("eval.sampler", self.eval.sampler, SAMPLERS)
    _choose("eval.best_mode", self.eval.best_mode, ("min", "max"))
    if not isinstance(self.eval.n_samples, int) or self.eval.n_samples < 0:
      raise UsageError(f"eval.n_samples must be a non-negative integer, got {self.eval.n_samples!r}")
    return self


# Fields a resumed run may change: how long, how often it logs/evaluates/saves, and I/O that does not
# change the experiment. Any other difference from the workdir's recipe.json is a usage error.
RESUMABLE = ("steps", "save_every", "log_every", "keep_checkpoints", "jit_compile", "eval.every",
             "data.data_dir", "data.download", "eval.params.mode", "eval.params.inception_graph")


def resume_differences(saved, current):
  """[(path, saved value, current value)] of the fields that may not change on resume."""
  return [d for d in saved.diff(current)
          if not any(d[0] == r or d[0].startswith(r + ".") for r in RESUMABLE)]


def n_critic_at(recipe, step):
  """Critic updates before generator step `step` (0-based): "wgan" is WassersteinGAN main.py's
  100 for the first 25 generator iterations and every 500th one, `n_critic` otherwise."""
  if recipe.n_critic_schedule == "wgan" and (step < 25 or step % 500 == 0):
    return 100
  return recipe.n_critic


# ---- overrides: what a paper's `recipe(dataset, **overrides)` accepts besides its own options ----

# override name → recipe path. The command line's flags of the same names map onto these.
COMMON = {
    "steps": "steps", "batch_size": "batch_size", "seed": "seed", "n_critic": "n_critic",
    "g_lr": "g_opt.lr", "d_lr": "d_opt.lr", "z_dim": "z_dim", "ema_decay": "ema.decay",
    "ema_start": "ema.start", "save_every": "save_every", "eval_every": "eval.every",
    "log_every": "log_every", "jit_compile": "jit_compile", "data_dir": "data.data_dir",
    "download": "data.download", "init_from": "init_from",
}
# Merged into a dict field rather than replacing it.
MERGED = {"net": "model.args"}
# FID during training (image papers with an FID evaluation).
FID = {"fid": "eval.params.mode", "fid_samples": "eval.n_samples", "fid_stats": "eval.params.stats",
       "fid_extractor": "eval.params.extractor", "inception_graph": "eval.params.inception_graph"}


def split_overrides(paper, overrides, options, extra=()):
  """(paper options, common overrides): unknown keys are a UsageError naming the allowed ones.
  `options` are the paper's own keys; `extra` other common groups it accepts (e.g. FID)."""
  allowed = set(options) | set(COMMON) | set(MERGED) | {"text_file"}
  for group in extra:
    allowed |= set(group)
  unknown = sorted(set(overrides) - allowed)
  if unknown:
    raise UsageError(f"{paper}.recipe: unknown override(s) {', '.join(unknown)}; allowed: "
                     f"{', '.join(sorted(allowed))}")
  own = {k: v for k, v in overrides.items() if k in options and v is not None}
  common = {k: v for k, v in overrides.items() if k not in options and v is not None}
  return own, common


def apply_overrides(recipe, common, extra=()):
  """`recipe` with the common overrides (COMMON, MERGED, text_file and the `extra` groups) set."""
  paths = dict(COMMON)
  for group in extra:
    paths.update(group)
  changes = {paths[k]: v for k, v in common.items() if k in paths}
  for key, path in MERGED.items():
    if key in common:
      _check_net(common[key])
      base = dict(_get_path(recipe.to_dict(), path))
      base.update(thaw(common[key]))
      changes[path] = base
  if "text_file" in common:
    changes["data.text"] = dict(recipe.data.text, file=common["text_file"])
  return recipe.replace(**changes) if changes else recipe.validate()


# Sizes among the network builders' arguments (which arguments an architecture takes is checked by
# repro.registry.ARCHITECTURES against its builder).
_SIZE_KEYS = ("width", "hidden", "kernel_size", "g_width", "d_width", "d_layers", "ch", "feature_dim")


def _check_net(value):
  if not isinstance(value, dict):
    raise UsageError(f"--net must be a JSON object such as {{\"hidden\": [64, 64]}}, got {value!r}")
  for key, v in value.items():
    sizes = list(v) if isinstance(v, (list, tuple)) else [v]
    if key in _SIZE_KEYS and not (sizes and all(
        isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in sizes)):
      raise UsageError(f"--net {key} must be a positive integer (or a list of them for hidden), "
                       f"got {v!r}")


def parse_net(text):
  """--net's JSON object of network-builder arguments, checked."""
  try:
    value = json.loads(text)
  except ValueError as e:
    raise UsageError(f"--net is not valid JSON ({e}); write e.g. --net='{{\"hidden\": [64, 64]}}'"
                     ) from None
  _check_net(value)
  return value


# ---- internals ---------------------------------------------------------------------------------------

_MISSING = object()


def _choose(name, value, allowed):
  if value not in allowed:
    raise UsageError(f"--{name} must be one of {', '.join(allowed)}, got {value!r}")


def _flatten(values, prefix=""):
  out = {}
  for k, v in values.items():
    path = f"{prefix}{k}"
    if isinstance(v, dict):   # an empty mapping has no leaves
      out.update(_flatten(v, path + "."))
    else:
      out[path] = v
  return out


def _get_path(values, path):
  for part in path.split("."):
    values = values[part]
  return values


def _set_path(values, path, value):
  parts = path.split(".")
  node = values
  for i, part in enumerate(parts):
    known = isinstance(node, dict) and part in node
    if not known and not (isinstance(node, dict) and _is_params(parts[:i])):
      raise UsageError(f"unknown recipe field {path!r}; known: {', '.join(sorted(_known(values)))}")
    if i == len(parts) - 1:
      node[part] = value
    else:
      node = node.setdefault(part, {})


def _is_params(parts):
  """Free-form mappings (keys not fixed by the schema): model.args, objective.params, ..."""
  return len(parts) >= 2 and ".".join(parts[:2]) in ("model.args", "objective.params", "eval.params", "data.text")


def _known(values):
  return [k for k in _flatten(values) if "." not in k] + [
      k for k, v in values.items() if isinstance(v, dict)]


def _build(cls, values, prefix):
  if not isinstance(values, dict):
    raise UsageError(f"recipe field {prefix.rstrip('.') or 'recipe'} must be an object, got "
                     f"{values!r}")
  fields = {f.name: f for f in dataclasses.fields(cls)}
  unknown = sorted(set(values) - set(fields))
  if unknown:
    raise UsageError(f"unknown recipe field(s) {', '.join(prefix + u for u in unknown)}; known: "
                     f"{', '.join(prefix + f for f in fields)}")
  hints = typing.get_type_hints(cls)
  kwargs = {}
  for name, value in values.items():
    kind = hints[name]
    if dataclasses.is_dataclass(kind):
      kwargs[name] = _build(kind, value, f"{prefix}{name}.")
    elif kind is float and isinstance(value, int) and not isinstance(value, bool):
      kwargs[name] = float(value)
    else:
      kwargs[name] = value
  return cls(**kwargs)


# ---- building recipes in paper modules --------------------------------------------------------------

_TOP = ("z_dim", "z_dist", "batch_size", "steps", "n_critic", "n_critic_schedule", "real_batches",
        "generator_real", "generator_noise",
        "seed", "init_from", "save_every", "log_every", "keep_checkpoints", "jit_compile")


def make(paper, dataset, arch, model=None, objective=("wgan", None), evaluation=None,
         optimizer="adam", g_lr=1e-4, d_lr=1e-4, g_beta1=0.5, g_beta2=0.9, d_beta1=0.5,
         d_beta2=0.9, epsilon=1e-8, lr_decay="constant", ema_decay=0.0, ema_start=0,
         eval_every=1000, text=None, **top):
  """A Recipe from the flat settings paper modules write down (each with its source).

  optimizer: "adam" / "adam_tf1" (betas as given; see OPTIMIZERS), "rmsprop_torch" (PyTorch RMSprop defaults: alpha 0.99, eps
  1e-8) or "rmsprop_tf1" (tf.train.RMSPropOptimizer defaults: decay 0.9, epsilon 1e-10).
  evaluation: a `repro.recipe.Evaluation` (default: sample grids every `eval_every` steps).
  """
  unknown = sorted(set(top) - set(_TOP))
  if unknown:
    raise TypeError(f"make() got unknown settings {unknown}")
  if optimizer == "rmsprop_torch":
    g = Optimizer("rmsprop_torch", g_lr, 0.0, 0.99, 1e-8, lr_decay)
    d = Optimizer("rmsprop_torch", d_lr, 0.0, 0.99, 1e-8, lr_decay)
  elif optimizer == "rmsprop_tf1":
    g = Optimizer("rmsprop_tf1", g_lr, 0.0, 0.9, 1e-10, lr_decay)
    d = Optimizer("rmsprop_tf1", d_lr, 0.0, 0.9, 1e-10, lr_decay)
  else:
    g = Optimizer(optimizer, g_lr, g_beta1, g_beta2, epsilon, lr_decay)
    d = Optimizer(optimizer, d_lr, d_beta1, d_beta2, epsilon, lr_decay)
  name, params = objective
  return Recipe(paper=paper, dataset=dataset, data=Data(text=text or {}),
                model=Model(arch, model or {}), objective=Objective(name, params or {}),
                g_opt=g, d_opt=d, ema=EMA(ema_decay, ema_start),
                eval=evaluation or Evaluation(every=eval_every), **top).validate()


def check_dataset(paper, dataset, datasets):
  if dataset not in datasets:
    raise UsageError(f"{paper} has no settings for --dataset={dataset}; "
                     f"choose one of {', '.join(datasets)}")
