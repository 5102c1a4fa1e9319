r"""Benchmark 3: streaming FID statistics over 50 000 x 2048 activations — peak extra memory and time.

    .venv/bin/python bench/bench_statistics.py                   # 50 000 x 2048, batches of 50 and 500
    .venv/bin/python bench/bench_statistics.py --smoke           # 2 000 x 64 (seconds)

`repro.metrics.StreamingStatistics` is fed the activations batch by batch, as the evaluation code
does (one extractor batch at a time; 50 is the Inception extractor's default batch), against what
TTUR's `calculate_activation_statistics` does: hold all N x d activations and take mean and
`np.cov` (`repro.metrics.activation_statistics`, the same formula). Peak *extra* memory is measured
with `tracemalloc` (NumPy reports its buffers to it): the peak of traced allocations during the
computation minus what was allocated before it, so the activations' source (a pool of distinct
float32 batches, cycled; or, for the one-shot baseline, the float32 array it receives) is not
counted. Variants run interleaved; the table shows the median time. Target: < 200 MB extra.
"""

import argparse
import os
import sys
import time
import tracemalloc
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  pylint: disable=g-import-not-at-top

from repro.metrics import statistics  # noqa: E402  pylint: disable=g-import-not-at-top

MB = 1024.0 ** 2


def activation_pool(n_pool, batch, dim, seed=0):
  """n_pool distinct float32 batches of Inception-like (non-negative, correlated, mean ~0.5)
  activations; the stream cycles through them."""
  rng = np.random.default_rng(seed)
  mix = (rng.normal(size=(dim, dim)) / np.sqrt(dim)).astype(np.float32)
  pool = []
  for _ in range(n_pool):
    z = rng.normal(size=(batch, dim)).astype(np.float32)
    pool.append(np.logaddexp(0.0, z @ mix + 0.3).astype(np.float32))
  return pool


def batches(pool, n):
  produced, i = 0, 0
  while produced < n:
    b = pool[i % len(pool)][:n - produced]
    produced += b.shape[0]
    i += 1
    yield b


def measure(fn):
  """(result, seconds, peak extra bytes) of fn() under tracemalloc."""
  tracemalloc.start()
  tracemalloc.reset_peak()
  before = tracemalloc.get_traced_memory()[0]
  start = time.perf_counter()
  result = fn()
  seconds = time.perf_counter() - start
  peak = tracemalloc.get_traced_memory()[1] - before
  tracemalloc.stop()
  return result, seconds, peak


def main(argv=None):
  parser = common.add_common_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
  parser.add_argument("--n", type=int, default=50000)
  parser.add_argument("--dim", type=int, default=2048)
  parser.add_argument("--batches", default="50,500", help="streaming batch sizes")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--no_one_shot", action="store_true",
                      help="skip the hold-everything baseline (needs ~2 GB)")
  args = parser.parse_args(argv)
  n, d = (2000, 64) if args.smoke else (args.n, args.dim)
  repeats = 1 if args.smoke else args.repeats
  sizes = [int(b) for b in args.batches.split(",") if b]
  load_before = common.load_average()
  print(f"load before: {load_before['uptime']}\nN = {n}, d = {d}", flush=True)
  pool_rows = max(sizes)
  pool = activation_pool(8, pool_rows, d)
  full = None
  if not args.no_one_shot:
    full = np.concatenate(list(batches(pool, n)))   # the same rows as every stream

  def streaming(batch):
    def run():
      stats = statistics.StreamingStatistics()
      for b in batches([p[:batch] for p in pool], n) if batch < pool_rows else batches(pool, n):
        stats.update(b)
      return stats.result()
    return run

  fns = {f"streaming batch {b}": streaming(b) for b in sizes}
  if full is not None:
    fns["one-shot (TTUR: all activations, np.cov)"] = lambda: statistics.activation_statistics(full)
  record = {k: {"seconds": [], "peak_bytes": []} for k in fns}
  values = {}
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for r in range(repeats):
      for name in (list(fns) if r % 2 == 0 else list(fns)[::-1]):
        values[name], seconds, peak = measure(fns[name])
        record[name]["seconds"].append(seconds)
        record[name]["peak_bytes"].append(peak)
  results, rows = [], []
  ref = values.get("one-shot (TTUR: all activations, np.cov)")
  for name, rec in record.items():
    entry = {"variant": name, "seconds": common.summary(rec["seconds"]),
             "peak_extra_mb": max(rec["peak_bytes"]) / MB}
    if ref is not None and name == f"streaming batch {pool_rows}":
      mu, sigma = values[name]
      entry["max_rel_diff_vs_one_shot"] = float(max(
          np.max(np.abs(mu - ref[0])) / np.max(np.abs(ref[0])),
          np.max(np.abs(sigma - ref[1])) / np.max(np.abs(ref[1]))))
    results.append(entry)
    rows.append([name, entry["seconds"]["median"], entry["peak_extra_mb"],
                 "met" if name.startswith("streaming") and entry["peak_extra_mb"] < 200 else
                 ("MISSED" if name.startswith("streaming") else "(baseline)")])
  common.print_table(["variant", "seconds (median)", "peak extra MB", "target < 200 MB"], rows,
                     title=f"mean + covariance of {n} x {d} activations (float64 accumulation)")
  for e in results:
    if "max_rel_diff_vs_one_shot" in e:
      print(f"{e['variant']} vs one-shot: max relative difference "
            f"{e['max_rel_diff_vs_one_shot']:.1e}")
  load_after = common.load_average()
  print(f"load after: {load_after['uptime']}")
  common.write_result("statistics", {
      "smoke": args.smoke, "n": n, "dim": d, "repeats": repeats, "load_before": load_before,
      "load_after": load_after, "target_peak_extra_mb": 200, "results": results}, args.out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
