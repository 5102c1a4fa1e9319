"""tf.distribute strategy selection (`--strategy`), kept in one place."""

import json
import os

import tensorflow as tf

from repro.errors import UsageError

STRATEGIES = ("auto", "one", "mirrored", "multiworker", "tpu")


def split_cpu(n):
  """Exposes the CPU as `n` logical devices (for testing Mirrored on one machine). Call first."""
  if n and n > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])


def make_strategy(name="auto", tpu=""):
  if name not in STRATEGIES:
    raise UsageError(f"unknown --strategy {name!r}; use one of {', '.join(STRATEGIES)}")
  gpus = tf.config.list_logical_devices("GPU")
  cpus = tf.config.list_logical_devices("CPU")
  if name == "auto":
    name = "mirrored" if len(gpus) > 1 else "one"
  if name == "one":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    devices = [d.name for d in gpus] or [d.name for d in cpus]
    return tf.distribute.MirroredStrategy(devices=devices)
  if name == "multiworker":
    if "TF_CONFIG" not in os.environ:
      raise UsageError("--strategy=multiworker needs the TF_CONFIG environment variable "
                       "(cluster and task); see the README's scale-out section")
    try:
      json.loads(os.environ["TF_CONFIG"])
    except json.JSONDecodeError as e:
      raise UsageError(f"TF_CONFIG is not valid JSON: {e}") from None
    return tf.distribute.MultiWorkerMirroredStrategy()
  resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
  tf.config.experimental_connect_to_cluster(resolver)
  tf.tpu.experimental.initialize_tpu_system(resolver)
  return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy):
  """Only the chief writes checkpoints, summaries and samples."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not getattr(resolver, "task_type", None):
    return True
  if resolver.task_type == "chief":
    return True
  cluster = resolver.cluster_spec().as_dict()
  return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster
