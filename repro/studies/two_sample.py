"""Two-sample comparison of per-seed results: is one code's distribution worse than another's?

The rank test is the Wilcoxon-Mann-Whitney U test, one-sided, with its exact permutation
distribution (every split of the pooled values into the two group sizes, ties at mid-ranks) when
there are at most EXACT_LIMIT splits, else the normal approximation with the tie correction.
"""

import itertools
import math

import numpy as np

EXACT_LIMIT = 200_000


def midranks(values):
  """Ranks 1..n of `values`, tied values sharing the mean of their ranks."""
  values = np.asarray(values, np.float64)
  order = np.argsort(values, kind="mergesort")
  ranks = np.empty(len(values))
  sorted_values = values[order]
  i = 0
  while i < len(values):
    j = i
    while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
      j += 1
    ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
    i = j + 1
  return ranks


def u_statistic(x, y):
  """Mann-Whitney U of x against y: the number of pairs with x_i > y_j, ties counting 1/2."""
  ranks = midranks(np.concatenate([x, y]))
  n = len(x)
  return float(ranks[:n].sum() - n * (n + 1) / 2.0)


def p_smaller(x, y):
  """One-sided p-value of the hypothesis "x tends to be smaller than y" (small U)."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  n, m = len(x), len(y)
  if n == 0 or m == 0:
    raise ValueError("both samples need at least one value")
  u = u_statistic(x, y)
  ranks = midranks(np.concatenate([x, y]))
  if math.comb(n + m, n) <= EXACT_LIMIT:
    splits = np.array(list(itertools.combinations(range(n + m), n)))
    u_all = ranks[splits].sum(axis=1) - n * (n + 1) / 2.0
    return float(np.mean(u_all <= u + 1e-9))
  mean = n * m / 2.0
  ties = np.unique(ranks, return_counts=True)[1]
  var = n * m / 12.0 * ((n + m + 1) - float(np.sum(ties ** 3 - ties)) / ((n + m) * (n + m - 1)))
  if var <= 0:
    return 1.0
  z = (u + 0.5 - mean) / math.sqrt(var)   # continuity correction towards the null
  return 0.5 * math.erfc(-z / math.sqrt(2.0))


def p_worse(candidate, reference, better):
  """One-sided p-value of "candidate is worse than reference", where `better` is "higher" or
  "lower" (which direction of the metric is better)."""
  if better == "higher":
    return p_smaller(candidate, reference)
  if better == "lower":
    return p_smaller(-np.asarray(candidate, np.float64), -np.asarray(reference, np.float64))
  raise ValueError(f"better must be 'higher' or 'lower', not {better!r}")


def compare(candidate, reference, better, alpha, resolution=0.0):
  """The whole-run criterion: the candidate (the suite) is not worse than the reference (the
  official code) by the one-sided rank test at level `alpha`, and the two means differ by at most
  the reference runs' standard deviation (ddof 1), the run-to-run spread of the reference code, or
  by the metric's `resolution` when that is larger (1 for a count such as modes, whose official
  runs may all hit the same value)."""
  c, r = np.asarray(candidate, np.float64), np.asarray(reference, np.float64)
  p = p_worse(c, r, better)
  spread = float(np.std(r, ddof=1)) if len(r) > 1 else 0.0
  margin = max(spread, float(resolution))
  diff = float(c.mean() - r.mean())
  return {"n": [len(c), len(r)], "mean": [float(c.mean()), float(r.mean())],
          "sd": [float(np.std(c, ddof=1)) if len(c) > 1 else 0.0, spread],
          "difference": diff, "margin": margin, "p_worse": p, "alpha": alpha,
          "not_worse": p >= alpha, "within_margin": abs(diff) <= margin,
          "passed": bool(p >= alpha and abs(diff) <= margin)}
