r"""Benchmark: repro.metrics.fid.frechet_distance vs TTUR's scipy.linalg.sqrtm formula.

    .venv/bin/python bench/bench_fid.py                  # d = 2048, as Inception pool_3
    .venv/bin/python bench/bench_fid.py --dim=512 --repeats=5
    .venv/bin/python bench/bench_fid.py --smoke             # d = 64, seconds (CI: JSON shape)

Prints, for each case, both values, their relative difference, the wall-clock time of each (best of
--repeats / --ttur_repeats, runs interleaved so that other load on the machine affects both alike),
the process CPU time of each, and the speed ratios. The verdict uses wall-clock time. On a shared machine, compare with one BLAS thread (OPENBLAS_NUM_THREADS=1):
oversubscribed multi-threaded BLAS spins and distorts both timings. The acceptance criteria of the metrics issue are
agreement to 1e-6 relative and a speed ratio >= 10 at d = 2048 on full-rank statistics; the script
prints PASS/FAIL for them and exits 1 on FAIL (not with --smoke). It is a measurement, not a test: run it by hand.

The statistics are made like Inception features: non-negative, correlated, activations
softplus(z W + b) for Gaussian z, with different W, b per side; mean and unbiased covariance from
``n`` samples. Case "full rank" uses n = 2.5 d; case "rank deficient" uses n = d / 2, where sqrtm of
the singular product is itself inaccurate (shown for information, not judged).

The reference is TTUR ``fid.py`` ``calculate_frechet_distance`` (bioinf-jku/TTUR) verbatim except
``sqrtm(..., disp=False)``, which SciPy >= 1.16 deprecates; ``sqrtm(m)`` returns the same matrix.
Needs SciPy (a test-only dependency, not in requirements.txt).
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  pylint: disable=g-import-not-at-top

from repro.metrics import fid  # noqa: E402  pylint: disable=g-import-not-at-top


def ttur_frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
  """TTUR fid.py calculate_frechet_distance (scipy.linalg.sqrtm of the non-symmetric product)."""
  from scipy import linalg  # pylint: disable=g-import-not-at-top
  mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
  sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
  diff = mu1 - mu2
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
      offset = np.eye(sigma1.shape[0]) * eps
      covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
  if np.iscomplexobj(covmean):
    if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
      raise ValueError(f"Imaginary component {np.max(np.abs(covmean.imag))}")
    covmean = covmean.real
  tr_covmean = np.trace(covmean)
  return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def make_statistics(dim, n, seed):
  """(mu, sigma) of n Inception-like activations: softplus(z W + b), z ~ N(0, I_dim)."""
  rng = np.random.default_rng(seed)
  w = rng.normal(size=(dim, dim)) / np.sqrt(dim)
  b = rng.normal(size=dim) * 0.5
  acts = np.logaddexp(0.0, rng.normal(size=(n, dim)) @ w + b)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # n < dim in the rank-deficient case
    return fid.activation_statistics(acts)


def main(argv=None):
  parser = common.add_common_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
  parser.add_argument("--dim", type=int, default=2048)
  parser.add_argument("--repeats", type=int, default=5, help="timed runs of frechet_distance")
  parser.add_argument("--ttur_repeats", type=int, default=3, help="timed runs of the sqrtm formula")
  args = parser.parse_args(argv)
  try:
    import scipy  # pylint: disable=g-import-not-at-top
  except ImportError:
    print("SciPy is not installed: pip install -r bench/requirements.txt", file=sys.stderr)
    return 2
  d = 64 if args.smoke else args.dim
  repeats, ttur_repeats = (1, 1) if args.smoke else (args.repeats, args.ttur_repeats)
  threads = {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
             if k in os.environ}
  load_before = common.load_average()
  print(f"numpy {np.__version__}, scipy {scipy.__version__}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, BLAS threads {threads or 'default'}, d = {d}\n"
        f"load before: {load_before['uptime']}")
  ok, cases, rows = True, [], []
  for case, n in (("full rank", int(2.5 * d)), ("rank deficient", d // 2)):
    mu1, s1 = make_statistics(d, n, seed=1)
    mu2, s2 = make_statistics(d, n, seed=2)
    # Interleaved: ours, TTUR, ours, ... (TTUR only for its first ttur_repeats rounds).
    times, values = {"suite": [], "ttur_sqrtm": []}, {}
    for r in range(max(repeats, ttur_repeats) + 1):   # round 0 warms up (BLAS/LAPACK threads)
      fns = [("suite", lambda: fid.frechet_distance(mu1, s1, mu2, s2), repeats),
             ("ttur_sqrtm", lambda: ttur_frechet_distance(mu1, s1, mu2, s2), ttur_repeats)]
      for name, fn, count in (fns if r % 2 == 0 else fns[::-1]):
        if r == 0 and name == "ttur_sqrtm" and not args.smoke:
          continue   # sqrtm needs no warm-up and is slow
        if r > count:
          continue
        start = time.perf_counter()
        values[name] = fn()
        if r > 0:
          times[name].append(time.perf_counter() - start)
    ours, ref = values["suite"], values["ttur_sqrtm"]
    t_ours, t_ref = common.summary(times["suite"]), common.summary(times["ttur_sqrtm"])
    rel = abs(ours - ref) / abs(ref)
    ratio = t_ref["median"] / t_ours["median"]
    judged = case == "full rank"
    agree, fast = rel <= 1e-6, ratio >= 10.0
    if judged:
      ok = ok and agree and fast
    cases.append({"case": case, "dim": d, "samples_per_side": n, "suite_value": ours,
                  "ttur_value": ref, "relative_difference": rel, "suite_seconds": t_ours,
                  "ttur_seconds": t_ref, "speed_ratio": ratio, "judged": judged,
                  "agreement_1e-6": agree, "speed_ratio_ge_10": fast})
    rows.append([case, n, t_ours["median"], t_ref["median"], f"{ratio:.1f}x", f"{rel:.1e}",
                 ("PASS" if agree and fast else "FAIL") if judged else "(not judged)"])
  common.print_table(["statistics", "n/side", "suite s (median)", "TTUR sqrtm s (median)",
                      "speed ratio", "rel. diff", "target >= 10x, <= 1e-6"], rows,
                     title=f"Fréchet distance at d = {d}")
  print("rank deficient: sigma1 sigma2 is singular, where sqrtm is itself inaccurate "
        "(shown, not judged)")
  load_after = common.load_average()
  print(f"load after: {load_after['uptime']}")
  common.write_result("fid", {"smoke": args.smoke, "load_before": load_before,
                              "load_after": load_after, "pass": ok, "cases": cases}, args.out)
  return 0 if (ok or args.smoke) else 1


if __name__ == "__main__":
  sys.exit(main())
