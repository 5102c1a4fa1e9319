"""Shared helpers of the benchmarks: machine description, interleaved A/B timing, tables, JSON.

Every benchmark script:
  * measures its alternatives *interleaved* in one process (A, B, A, B, ...) so that other load on
    the machine hits all of them alike, and reports the median of the repeats and the ratio;
  * records the machine (CPU count, `uptime` load averages before and after, library versions) with
    every result, since absolute numbers on a shared 2-core machine are noisy;
  * prints a small table and writes `bench/results/<name>.json` (or `--out`);
  * has `--smoke`: a tiny configuration that runs in seconds (CI checks the JSON shape only).
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(ROOT, "bench", "results")
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from repro.machine import cpu_model  # pylint: disable=wrong-import-position


def quiet_tensorflow():
  """Fewer start-up lines from TensorFlow (must run before it is imported)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pot_env():
  """Environment for importing POT without it importing TensorFlow (or JAX/torch/cupy) again:
  POT's backend module imports every framework it finds unless told not to."""
  for name in ("TENSORFLOW", "JAX", "TORCH", "CUPY"):
    os.environ.setdefault(f"POT_BACKEND_DISABLE_{name}", "1")


def load_average():
  """The three `uptime` load averages (1, 5, 15 min) and the raw `uptime` line."""
  try:
    raw = subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    raw = ""
  return {"loadavg": [round(x, 2) for x in os.getloadavg()], "uptime": raw}


def machine_info():
  info = {"cpus": os.cpu_count(), "python": platform.python_version(),
          "platform": platform.platform(), "processor": cpu_model()}
  for module in ("numpy", "scipy", "tensorflow", "keras", "ot"):
    mod = sys.modules.get(module)
    if mod is not None:
      info[module if module != "ot" else "pot"] = getattr(mod, "__version__", "?")
  info["threads_env"] = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                    "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")
                         if k in os.environ}
  return info


def interleaved(fns, repeats, warmup=1, self_timed=False, progress=False):
  """Runs fns (name -> zero-argument callable) in turn, `repeats` rounds after `warmup` rounds.

  Each call's wall-clock seconds is recorded, or with `self_timed` the seconds each call returns
  (when it times only part of itself, e.g. `fit` without its start-up); the order within a round
  alternates (A B, B A, ...) so neither side always runs right after the other. `progress` prints
  every call's time as it ends. Returns {name: [seconds, ...]} and the value each function
  returned last.
  """
  names = list(fns)
  times = {n: [] for n in names}
  values = {}
  for r in range(warmup + repeats):
    order = names if r % 2 == 0 else names[::-1]
    for n in order:
      start = time.perf_counter()
      values[n] = fns[n]()
      elapsed = values[n] if self_timed else time.perf_counter() - start
      if progress:
        print(f"  round {r + 1}/{warmup + repeats}{' (warm-up)' if r < warmup else ''} {n}: "
              f"{elapsed:.3f} s", flush=True)
      if r >= warmup:
        times[n].append(elapsed)
  return times, values


def summary(samples):
  """median / min / max of a list of seconds (or rates)."""
  return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
          "n": len(samples), "samples": [round(s, 6) for s in samples]}


def print_table(headers, rows, title=None):
  """A plain Markdown table (also readable in a terminal)."""
  cells = [[_fmt(c) for c in row] for row in rows]
  widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
            for i, h in enumerate(headers)]
  if title:
    print(f"\n{title}")
  print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |")
  print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
  for r in cells:
    print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
  sys.stdout.flush()


def _fmt(value):
  if isinstance(value, float):
    if value == 0 or 1e-3 <= abs(value) < 1e5:
      return f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}"
    return f"{value:.3e}"
  return str(value)


def write_result(name, payload, out=None):
  """Writes {benchmark, machine, load, ...payload} to bench/results/<name>.json (or `out`)."""
  path = out or os.path.join(RESULTS_DIR, f"{name}.json")
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  doc = {"benchmark": name, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
         "machine": machine_info()}
  doc.update(payload)
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=False, default=_json_default)
    f.write("\n")
  os.replace(tmp, path)
  print(f"\nwrote {os.path.relpath(path, os.getcwd()) if path.startswith(os.getcwd()) else path}")
  return path


def _json_default(value):
  try:
    import numpy as np  # pylint: disable=g-import-not-at-top
    if isinstance(value, np.generic):
      return value.item()
    if isinstance(value, np.ndarray):
      return value.tolist()
  except ImportError:
    pass
  return str(value)


def add_common_flags(parser):
  parser.add_argument("--smoke", action="store_true",
                      help="tiny sizes and 1 repeat: checks that the script runs (seconds)")
  parser.add_argument("--out", default=None, help="JSON path (default bench/results/NAME.json)")
  return parser
