r"""Benchmark 4: `repro.losses.sinkhorn.entropic_ot` against POT `ot.sinkhorn2(method="sinkhorn_log")`.

    .venv/bin/python bench/bench_sinkhorn.py                 # n = 256, 1024; ε = 0.1, 0.01 x mean cost
    .venv/bin/python bench/bench_sinkhorn.py --smoke         # n = 32 (seconds)

Needs POT (benchmark-only: `pip install -r bench/requirements.txt`). POT is imported with
POT_BACKEND_DISABLE_TENSORFLOW=1 (and JAX/torch/cupy) so it does not import TensorFlow a second
time. Without POT the script still times the suite and writes `"pot": null`.

Both solve the same problem from the same float64 point clouds (two Gaussian clouds in 16-d, n
points each, uniform weights): squared-Euclidean cost, ε = rel x mean(C), log-domain Sinkhorn,
the same stopping threshold `--tol` and iteration cap. Each is timed from the points (POT:
`ot.dist` + `ot.sinkhorn2`; the suite: `entropic_ot`, which builds the cost itself), interleaved,
median of `--repeats`. The values compared are the transport cost <π, C> (what `sinkhorn2`
returns; the suite's `transport_cost`). The stopping rules differ in form: POT checks the L2 norm
of the column-marginal error every 10 iterations, the suite the L1 norm of the row-marginal error
after every iteration, so the iteration counts are shown too. Targets: >= 2x at n = 1024, values
within 1e-6 relative.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  pylint: disable=g-import-not-at-top

common.quiet_tensorflow()
common.pot_env()


def point_clouds(n, dim=16, seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, dim))
  y = rng.normal(size=(n, dim)) * 0.8 + 0.5
  return x, y


def import_pot():
  try:
    import ot  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  return ot


def main(argv=None):
  parser = common.add_common_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
  parser.add_argument("--sizes", default="256,1024")
  parser.add_argument("--rel_eps", default="0.1,0.01")
  parser.add_argument("--tol", type=float, default=1e-9)
  parser.add_argument("--max_iters", type=int, default=100000)
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args(argv)
  if args.smoke:   # seconds: the small-ε case would otherwise run to tens of thousands of iterations
    args.max_iters, args.tol = min(args.max_iters, 500), max(args.tol, 1e-6)
  ot = import_pot()
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from repro.losses import sinkhorn  # pylint: disable=g-import-not-at-top
  sizes = [32] if args.smoke else [int(s) for s in args.sizes.split(",")]
  rel_eps = [float(e) for e in args.rel_eps.split(",")]
  repeats = 1 if args.smoke else args.repeats
  load_before = common.load_average()
  print(f"load before: {load_before['uptime']}\nPOT: {ot.__version__ if ot else 'not installed'}"
        f"; TensorFlow imported once: {'tensorflow' in sys.modules and ot is not None}",
        flush=True)
  results, rows = [], []
  for n in sizes:
    x, y = point_clouds(n)
    mean_cost = float(np.mean(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)))
    xt, yt = tf.constant(x), tf.constant(y)
    for rel in rel_eps:
      eps = rel * mean_cost
      fns = {}
      info = {}

      def suite(eps=eps, xt=xt, yt=yt):
        r = sinkhorn.entropic_ot(xt, yt, eps, max_iters=args.max_iters, tol=args.tol)
        info["suite_iterations"] = int(r.iterations)
        return float(r.transport_cost)

      fns["suite"] = suite
      if ot is not None:
        def pot(eps=eps, x=x, y=y):
          a = np.full(x.shape[0], 1.0 / x.shape[0])
          b = np.full(y.shape[0], 1.0 / y.shape[0])
          m = ot.dist(x, y)
          value, log = ot.sinkhorn2(a, b, m, eps, method="sinkhorn_log", stopThr=args.tol,
                                    numItermax=args.max_iters, log=True)
          info["pot_iterations"] = int(log.get("niter", -1))
          return float(value)

        fns["pot"] = pot
      times, values = common.interleaved(fns, repeats, warmup=1)
      entry = {"n": n, "rel_eps": rel, "epsilon": eps, "tol": args.tol,
               "suite_seconds": common.summary(times["suite"]), "suite_value": values["suite"],
               "suite_iterations": info["suite_iterations"]}
      if ot is not None:
        entry.update(pot_seconds=common.summary(times["pot"]), pot_value=values["pot"],
                     pot_iterations=info["pot_iterations"],
                     speed_ratio=common.summary(times["pot"])["median"] /
                     entry["suite_seconds"]["median"],
                     relative_difference=abs(values["suite"] - values["pot"]) / abs(values["pot"]))
      results.append(entry)
      rows.append([n, rel, entry["suite_seconds"]["median"], entry["suite_iterations"],
                   entry.get("pot_seconds", {}).get("median", float("nan")),
                   entry.get("pot_iterations", "-"),
                   f"{entry['speed_ratio']:.2f}x" if ot else "-",
                   f"{entry['relative_difference']:.1e}" if ot else "-"])
      print(f"  n={n} ε={rel}·mean(C): done", flush=True)
  common.print_table(["n", "ε / mean C", "suite s", "suite iters", "POT s", "POT iters",
                      "POT/suite", "rel. diff"], rows,
                     title=f"entropic OT, log-domain Sinkhorn, tol {args.tol:g} (median)")
  load_after = common.load_average()
  print(f"load after: {load_after['uptime']}")
  common.write_result("sinkhorn", {
      "smoke": args.smoke, "repeats": repeats, "pot": ot.__version__ if ot else None,
      "load_before": load_before, "load_after": load_after,
      "targets": {"speed_ratio_at_1024": 2.0, "relative_difference": 1e-6},
      "results": results}, args.out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
