r"""Benchmark: repro.metrics.prdc (blocked) vs the prdc package's compute_prdc (full matrices).

    nice .venv/bin/python bench/bench_prdc.py       # 5000/side vs prdc, then 50k x 2048 alone
    .venv/bin/python bench/bench_prdc.py --n=20000 --ref_n=2000
    .venv/bin/python bench/bench_prdc.py --smoke     # 2000 x 64, seconds (JSON shape only)

Case "reference": ``ref_n`` features per side; ``repro.metrics.prdc.prdc(real, fake, k, k)`` and
``prdc.compute_prdc(real, fake, k)`` (clovaai/generative-evaluation-prdc, which forms the N x N,
M x M and N x M distance matrices) run interleaved for k = 3 and 5; prints the largest absolute
difference of the four metrics, the median wall time and the peak of NumPy allocations of each
(``tracemalloc``: NumPy reports its buffers to it; BLAS work space is not included).
Case "large": ``n`` x ``dim`` per side, ``prdc(real, fake)`` (k = 3 for precision/recall, 5 for
density/coverage) once: wall time and allocation peak on top of the two float64 feature arrays.

Features are Inception-like: softplus(z W + b) for z ~ N(0, I_64) and a 64 x dim W; the fake
side's W has 0.3 x noise added. Needs the prdc package (requirements-test.txt). A measurement, not
a test.
"""

import argparse
import contextlib
import io
import os
import resource
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  pylint: disable=g-import-not-at-top

from repro.metrics import prdc  # noqa: E402  pylint: disable=g-import-not-at-top

KEYS = ("precision", "recall", "density", "coverage")


def make_features(n, dim, seed, perturb=0.0, latent=64):
  """n Inception-like feature vectors [n, dim]: softplus(z W + b), z ~ N(0, I_latent); W and b are
  shared by all seeds, plus `perturb` times seed-dependent noise on W (a "generator" off target)."""
  model = np.random.default_rng(0)
  w = model.normal(size=(latent, dim)) / np.sqrt(latent)
  b = model.normal(size=dim) * 0.5
  rng = np.random.default_rng(seed)
  w += perturb * rng.normal(size=w.shape) / np.sqrt(latent)
  out = rng.normal(size=(n, latent)) @ w
  out += b
  return np.logaddexp(0.0, out, out=out)


def measured(fn):
  """(value, seconds, peak MB of NumPy/Python allocations during fn)."""
  tracemalloc.start()
  tracemalloc.reset_peak()
  start = time.perf_counter()
  value = fn()
  seconds = time.perf_counter() - start
  peak = tracemalloc.get_traced_memory()[1] / 2**20
  tracemalloc.stop()
  return value, seconds, peak


def reference_prdc(real, fake, k):
  import prdc as reference  # pylint: disable=g-import-not-at-top
  with contextlib.redirect_stdout(io.StringIO()):
    return {key: float(v) for key, v in reference.compute_prdc(real, fake, k).items()}


def reference_case(n, dim, repeats):
  real, fake = make_features(n, dim, 1), make_features(n, dim, 2, perturb=0.3)
  cases, rows = [], []
  for k in (3, 5):
    fns = {"suite": lambda: measured(lambda: prdc.prdc(real, fake, k, k)),
           "prdc_package": lambda: measured(lambda: reference_prdc(real, fake, k))}
    runs = {name: [] for name in fns}
    for r in range(repeats + 1):   # round 0 warms up (imports sklearn, starts BLAS threads)
      for name in (list(fns) if r % 2 == 0 else list(fns)[::-1]):
        value = fns[name]()
        if r > 0:
          runs[name].append(value)
    ours, ref = runs["suite"][-1][0], runs["prdc_package"][-1][0]
    diff = max(abs(ours[key] - ref[key]) for key in KEYS)
    result = {"k": k, "n_per_side": n, "dim": dim, "suite": ours, "prdc_package": ref,
              "max_abs_difference": diff}
    for name, values in runs.items():
      result[f"{name}_seconds"] = common.summary([v[1] for v in values])
      result[f"{name}_peak_mb"] = max(v[2] for v in values)
    cases.append(result)
    rows.append([k, n, f"{diff:.1e}", result["suite_seconds"]["median"],
                 result["prdc_package_seconds"]["median"], round(result["suite_peak_mb"]),
                 round(result["prdc_package_peak_mb"])])
  common.print_table(["k", "n/side", "max |diff|", "suite s", "prdc s", "suite peak MB",
                      "prdc peak MB"], rows, title=f"vs prdc.compute_prdc at d = {dim}")
  return cases


def large_case(n, dim):
  real, fake = make_features(n, dim, 3), make_features(n, dim, 4, perturb=0.3)
  inputs_mb = (real.nbytes + fake.nbytes) / 2**20
  value, seconds, peak = measured(lambda: prdc.prdc(real, fake))
  rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  common.print_table(["n/side", "dim", "seconds", "peak MB (beyond inputs)", "inputs MB",
                      "process max RSS MB"] + list(KEYS),
                     [[n, dim, seconds, round(peak), round(inputs_mb), round(rss_mb)] +
                      [value[key] for key in KEYS]], title="prdc(real, fake), k = 3 / 5")
  return {"n_per_side": n, "dim": dim, "seconds": seconds, "peak_mb": peak,
          "inputs_mb": inputs_mb, "process_max_rss_mb": rss_mb, "values": value}


def main(argv=None):
  parser = common.add_common_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
  parser.add_argument("--n", type=int, default=50000, help="features per side, large case")
  parser.add_argument("--dim", type=int, default=2048)
  parser.add_argument("--ref_n", type=int, default=5000, help="features per side vs prdc")
  parser.add_argument("--repeats", type=int, default=3, help="interleaved runs vs prdc")
  args = parser.parse_args(argv)
  n, dim, ref_n = (2000, 64, 500) if args.smoke else (args.n, args.dim, args.ref_n)
  repeats = 1 if args.smoke else args.repeats
  load_before = common.load_average()
  print(f"{os.cpu_count()} CPUs, load before: {load_before['uptime']}")
  cases = reference_case(ref_n, dim, repeats)
  large = large_case(n, dim) if n > 0 else None
  load_after = common.load_average()
  print(f"load after: {load_after['uptime']}")
  common.write_result("prdc", {"smoke": args.smoke, "load_before": load_before,
                               "load_after": load_after, "reference": cases, "large": large},
                      args.out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
