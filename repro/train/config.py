"""The training configuration every paper module fills in (its defaults per dataset) and flags override."""

import dataclasses
import json

from repro.errors import UsageError


@dataclasses.dataclass
class TrainConfig:
  dataset: str = "8gaussians"
  arch: str = "mlp"
  model: dict = dataclasses.field(default_factory=dict)   # build_models kwargs (width, norms, ...)
  z_dim: int = 2
  z_dist: str = "normal"            # "normal": N(0, I); "uniform": U[-1, 1]
  batch_size: int = 64
  steps: int = 1000                 # generator steps
  n_critic: int = 5
  n_critic_schedule: str = "constant"   # "constant" or "wgan" (100 for the first 25 steps and every 500th)
  optimizer: str = "adam"           # "adam" or "rmsprop"
  g_lr: float = 1e-4
  d_lr: float = 1e-4
  g_beta1: float = 0.5
  g_beta2: float = 0.9
  d_beta1: float = 0.5
  d_beta2: float = 0.9
  lr_decay: str = "none"            # "none" or "linear" (to 0 at `steps`, gan_cifar_resnet.py)
  ema_decay: float = 0.0            # 0 disables the EMA generator
  ema_start: int = 0                # the EMA copies the generator before this step (BigGAN-style)
  seed: int = 0
  save_every: int = 1000
  eval_every: int = 1000
  log_every: int = 100
  keep_checkpoints: int = 3
  # XLA-compile the step (all its updates as one computation when n_critic is constant and there is
  # one replica, else each update). Paper configs turn it on where bench/bench_train_step.py
  # measured it faster on CPU (the 2-D MLPs), off elsewhere (see bench/README.md).
  jit_compile: bool = False
  data_dir: str = ""
  download: bool = False
  source: str = "auto"
  # Text datasets (lm1b, text): {"file": --text_file, "seq_len", "max_lines", "max_vocab"}
  # (repro/data/text.py); empty for the other datasets.
  text: dict = dataclasses.field(default_factory=dict)

  def validate(self):
    positive = ("batch_size", "steps", "n_critic", "z_dim", "save_every", "eval_every", "log_every",
                "keep_checkpoints")
    for name in positive:
      value = getattr(self, name)
      if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise UsageError(f"--{name} must be a positive integer, got {value!r}")
    for name in ("g_lr", "d_lr"):
      value = getattr(self, name)
      if not value > 0:
        raise UsageError(f"--{name} must be a positive learning rate, got {value!r}")
    for name in ("g_beta1", "g_beta2", "d_beta1", "d_beta2"):
      if not 0 <= getattr(self, name) < 1:
        raise UsageError(f"--{name} must be in [0, 1), got {getattr(self, name)!r}")
    if not isinstance(self.jit_compile, bool):
      raise UsageError(f"--jit_compile must be true or false, got {self.jit_compile!r}")
    if not isinstance(self.ema_start, int) or self.ema_start < 0:
      raise UsageError(f"--ema_start must be a non-negative integer, got {self.ema_start!r}")
    if not 0 <= self.ema_decay < 1:
      raise UsageError(f"--ema_decay must be in [0, 1), got {self.ema_decay!r}")
    choices = {"z_dist": ("normal", "uniform"), "n_critic_schedule": ("constant", "wgan"),
               "optimizer": ("adam", "rmsprop"), "lr_decay": ("none", "linear")}
    for name, allowed in choices.items():
      if getattr(self, name) not in allowed:
        raise UsageError(f"--{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
    return self

  def replace(self, **kw):
    unknown = set(kw) - {f.name for f in dataclasses.fields(self)}
    if unknown:
      raise ValueError(f"unknown config fields {sorted(unknown)}")
    return dataclasses.replace(self, **kw)

  def to_json(self):
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


# Fields that fix the shapes of the saved networks: a workdir cannot be resumed with others.
ARCHITECTURE_FIELDS = ("dataset", "arch", "model", "z_dim")


def n_critic_at(config, step):
  """Critic updates before generator step `step` (0-based).

  "wgan": WassersteinGAN main.py uses 100 critic iterations for the first 25 generator iterations
  and every 500th one, `n_critic` otherwise.
  """
  if config.n_critic_schedule == "wgan" and (step < 25 or step % 500 == 0):
    return 100
  return config.n_critic
