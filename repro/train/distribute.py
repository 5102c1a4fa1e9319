"""tf.distribute strategy selection (`--strategy`), kept in one place.

  one          the default strategy (one device)
  mirrored     MirroredStrategy over every GPU of this machine (else its logical CPU devices)
  multiworker  MultiWorkerMirroredStrategy across hosts, cluster and task from $TF_CONFIG
  tpu          TPUStrategy (--tpu=NAME or address; "" finds the TPU of a Cloud TPU VM)
  auto         mirrored when this machine has more than one GPU, else one

The trainer draws noise for the global batch and slices it per replica, so the numbers do not
depend on the strategy; only the chief (`is_chief`) writes checkpoints, summaries and samples.
"""

import json
import os

from repro.errors import UsageError

STRATEGIES = ("auto", "one", "mirrored", "multiworker", "tpu")


def split_cpu(n):
  """Exposes the CPU as `n` logical devices (for testing Mirrored on one machine). Call first."""
  if n is not None and n < 0:
    raise UsageError(f"--cpu_devices must be >= 0, got {n}")
  if n and n > 1:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
      tf.config.set_logical_device_configuration(
          cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError as e:
      raise UsageError(f"--cpu_devices={n}: {e}") from None


def parse_tf_config(text=None):
  """Checks $TF_CONFIG (or `text`): returns (cluster dict, task type, task index).

  The layout is TensorFlow's: {"cluster": {"worker": ["host:port", ...], "chief": [...]},
  "task": {"type": "worker", "index": 0}}.
  """
  text = os.environ.get("TF_CONFIG") if text is None else text
  if not text:
    raise UsageError("--strategy=multiworker needs the TF_CONFIG environment variable (cluster and "
                     "task of this process); see the README section 'Running on several GPUs, "
                     "hosts or a TPU'")
  try:
    config = json.loads(text)
  except json.JSONDecodeError as e:
    raise UsageError(f"TF_CONFIG is not valid JSON ({e.msg} at character {e.pos})") from None
  cluster = config.get("cluster") if isinstance(config, dict) else None
  task = config.get("task") if isinstance(config, dict) else None
  if not isinstance(cluster, dict) or not cluster:
    raise UsageError('TF_CONFIG has no "cluster" object, e.g. {"cluster": {"worker": '
                     '["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}')
  for job, addresses in cluster.items():
    if job not in ("chief", "worker"):
      raise UsageError(f"TF_CONFIG cluster job {job!r} is not used by MultiWorkerMirroredStrategy; "
                       "use 'worker' (and optionally one 'chief')")
    if (not isinstance(addresses, list) or not addresses
        or not all(isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses)):
      raise UsageError(f"TF_CONFIG cluster {job!r} must be a list of \"host:port\" strings, "
                       f"got {addresses!r}")
  if len(cluster.get("chief", [])) > 1:
    raise UsageError("TF_CONFIG may name at most one chief")
  if not isinstance(task, dict) or task.get("type") not in cluster:
    raise UsageError(f"TF_CONFIG task must be {{\"type\": one of {sorted(cluster)}, \"index\": i}}, "
                     f"got {task!r}")
  index = task.get("index")
  if not isinstance(index, int) or isinstance(index, bool) or not (
      0 <= index < len(cluster[task["type"]])):
    raise UsageError(f"TF_CONFIG task index {index!r} is not in 0..{len(cluster[task['type']]) - 1}")
  return cluster, task["type"], index


def make_strategy(name="auto", tpu=""):
  """The tf.distribute strategy for `--strategy=name`. Call before any other TensorFlow op: a
  multi-worker strategy must configure the runtime first."""
  if name not in STRATEGIES:
    raise UsageError(f"unknown --strategy {name!r}; use one of {', '.join(STRATEGIES)}")
  if name == "multiworker":
    parse_tf_config()
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    try:
      return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as e:  # e.g. the runtime was already initialised in this process
      raise UsageError(f"--strategy=multiworker: {e}") from None
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if name == "tpu":
    return _tpu_strategy(tf, tpu)
  if name == "auto":
    name = "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "one"
  if name == "one":
    return tf.distribute.get_strategy()
  gpus = tf.config.list_logical_devices("GPU")
  devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
  return tf.distribute.MirroredStrategy(devices=devices)


def _tpu_strategy(tf, tpu):
  try:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
  except (ValueError, RuntimeError, tf.errors.OpError) as e:
    where = f"--tpu={tpu}" if tpu else "this machine (no --tpu given)"
    first = " ".join(str(e).split())[:200]
    raise UsageError(f"--strategy=tpu: no TPU found at {where} ({first}); run on a Cloud TPU VM "
                     "or pass --tpu=NAME, or use --strategy=auto") from None
  return tf.distribute.TPUStrategy(resolver)


def describe(strategy):
  """The devices and strategy in a few words: "CPU", "1×GPU", "Mirrored 4×GPU",
  "MultiWorkerMirrored, 2 workers × 1 GPU", "TPU (8 cores)"."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  replicas = strategy.num_replicas_in_sync
  gpus = len(tf.config.list_logical_devices("GPU"))
  kind = "GPU" if gpus else "CPU"
  name = type(strategy).__name__
  if name.startswith("TPU"):
    return f"TPU ({replicas} cores)"
  if is_multi_worker(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    spec = resolver.cluster_spec().as_dict() if resolver is not None else {}
    workers = max(1, len(spec.get("worker", [])) + len(spec.get("chief", [])))
    return f"MultiWorkerMirrored, {workers} workers, {replicas} replicas ({kind})"
  if name.startswith("Mirrored"):
    return f"Mirrored {replicas}×{kind}"
  return "1×GPU" if gpus else "CPU"


def is_chief(strategy):
  """Only the chief writes checkpoints, summaries and samples.

  The chief is task "chief" if the cluster has one, else worker 0 (TensorFlow's convention).
  """
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not getattr(resolver, "task_type", None):
    return True
  if resolver.task_type == "chief":
    return True
  cluster = resolver.cluster_spec().as_dict()
  return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster


def is_multi_worker(strategy):
  return bool(getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)())
