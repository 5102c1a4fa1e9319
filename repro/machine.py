"""What machine a measurement was made on (recorded beside timings and whole-run studies)."""

import os
import platform


def cpu_model():
  """The processor's model name (/proc/cpuinfo), else platform.processor()."""
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor()


def description():
  """One line: processor, core count, architecture."""
  return f"{cpu_model() or 'unknown processor'}, {os.cpu_count()} cores ({platform.machine()})"
