"""`repro.verify` evaluators of TTUR's CPU-sized claims (registry kinds `saddle_claim`, `fid_disturbance`).

* `saddle_claim`: the toy saddle of bioinf-jku/TTUR `Toy_Data_Example/ttur_example_saddle.ipynb`
  (`repro.papers.ttur.run_saddle`, seconds of numpy). The notebook's claims are about what
  "usually" happens, so an entry measures a statistic over `protocol.seeds` seeds (0, 1, ...), each
  seed running the notebook's four cases for `protocol.n_iter` steps:
  - `settled_fraction`: the fraction of seeds whose run of `case` settles (mean |f - 100| over its
    last 10 % of steps below `repro.papers.ttur.SETTLED_TOLERANCE`);
  - `steps_to_norm_ratio`: median over seeds of the first step with norm sqrt(x² + y²) below
    `protocol.norm_threshold` for `against`, divided by the same for `case` (> 1: `case` is faster);
  - `tail_deviation_ratio`: median over seeds of the final mean |f - 100| of `against` divided by
    that of `case` (> 1: `case` stays nearer the saddle).
* `fid_disturbance`: TTUR's FID vs disturbance level (`repro.metrics.fid_disturbance`). Ours is the
  smallest FID increase from one level of the entry's `family` to the next (> 0: the FID rises
  monotonically). The numbers come from `--workdir` (a folder with ttur_disturbance.json written by
  `python -m repro.metrics.fid_disturbance --out=W/ttur_disturbance.json`), else from the registry's
  recorded results (papers/results/ttur_disturbance.json), else, or with `--recompute`, they are
  computed here (data, extractor and, for contamination, the other data set must be at hand).
"""

import json
import os

import numpy as np

from repro import resources
from repro.errors import DataUnavailableError, UsageError

KINDS = ("saddle_claim", "fid_disturbance")
SADDLE_STATISTICS = ("settled_fraction", "steps_to_norm_ratio", "tail_deviation_ratio")


def validate(entry):
  """Problems of one entry of these kinds (for repro.verify.registry.validate)."""
  where = f"entry {entry.get('id', '?')!r}"
  problems = []
  if entry.get("evaluate") == "saddle_claim":
    if entry.get("statistic") not in SADDLE_STATISTICS:
      problems.append(f"{where}: saddle_claim needs statistic, one of {SADDLE_STATISTICS}")
    if not entry.get("case") or (entry.get("statistic", "").endswith("_ratio") and
                                 not entry.get("against")):
      problems.append(f"{where}: saddle_claim needs 'case' (and 'against' for a ratio)")
  if entry.get("evaluate") == "fid_disturbance":
    from repro.metrics import disturb  # pylint: disable=g-import-not-at-top
    if entry.get("family") not in disturb.FAMILIES:
      problems.append(f"{where}: fid_disturbance needs family, one of {disturb.FAMILIES}")
  return problems


# ---- the toy saddle ----------------------------------------------------------------------------

def saddle_runs(seeds, n_iter, norm_threshold):
  """{case: {"settled": [...], "tail": [...], "steps_to_norm": [...]}} over seeds 0..seeds-1."""
  from repro.papers import ttur  # pylint: disable=g-import-not-at-top
  out = {}
  for seed in range(seeds):
    for r in ttur.run_saddle(seed=seed, n_iter=n_iter):
      norm = r["trajectory"]["norm"]
      below = np.nonzero(norm < norm_threshold)[0]
      case = out.setdefault(r["case"], {"settled": [], "tail": [], "steps_to_norm": []})
      case["settled"].append(bool(r["settled"]))
      case["tail"].append(r["tail_mean_abs_deviation"])
      case["steps_to_norm"].append(int(below[0]) if len(below) else n_iter + 1)
  return out


def _saddle(entry, ctx):
  from repro.verify.evaluators import Measured  # pylint: disable=g-import-not-at-top
  p = entry["protocol"]
  seeds, n_iter = int(p["seeds"]), int(p["n_iter"])
  threshold = float(p.get("norm_threshold", 0.2))
  key = ("saddle", seeds, n_iter, threshold)
  if key not in ctx._cache:  # pylint: disable=protected-access
    ctx._cache[key] = saddle_runs(seeds, n_iter, threshold)  # pylint: disable=protected-access
  runs = ctx._cache[key]  # pylint: disable=protected-access
  stat, case, against = entry["statistic"], entry["case"], entry.get("against")
  if case not in runs or (against and against not in runs):
    raise UsageError(f"entry {entry['id']}: the saddle has the cases {', '.join(runs)}")
  details = {}
  if stat == "settled_fraction":
    value = float(np.mean(runs[case]["settled"]))
    details = {"settled_seeds": int(np.sum(runs[case]["settled"])),
               "median_tail_deviation": float(np.median(runs[case]["tail"]))}
  else:
    key = "steps_to_norm" if stat == "steps_to_norm_ratio" else "tail"
    ours, theirs = float(np.median(runs[case][key])), float(np.median(runs[against][key]))
    value = theirs / ours if ours > 0 else float("inf")
    details = {f"median_{key}_{case}": ours, f"median_{key}_{against}": theirs}
  details["settled_fraction"] = {c: float(np.mean(r["settled"])) for c, r in runs.items()}
  return Measured(value, n=seeds, details=details)


# ---- FID vs disturbance ------------------------------------------------------------------------

def _recorded_path(ctx):
  from repro.metrics import fid_disturbance as fd  # pylint: disable=g-import-not-at-top
  if ctx.workdir:
    return os.path.join(ctx.workdir, fd.RESULT_NAME)
  if ctx.results and str(ctx.results).endswith(fd.RESULT_NAME):
    return ctx.results if os.path.isabs(ctx.results) else resources.data_path(ctx.results)
  return None


def recorded_family(entry, ctx):
  """(study, family dict, path) from --workdir / the recorded results, or None."""
  from repro.metrics import fid_disturbance as fd  # pylint: disable=g-import-not-at-top
  from repro.verify.evaluators import extractor_name  # pylint: disable=g-import-not-at-top
  if getattr(ctx, "recompute", False):
    return None
  path = _recorded_path(ctx)
  if not path or not os.path.isfile(path):
    return None
  with open(path, encoding="utf-8") as f:
    data = json.load(f)
  study = fd.find_study(data, entry["dataset"], extractor_name(entry))
  if not study or entry["family"] not in study["families"]:
    return None
  return study, study["families"][entry["family"]], path


def disturbance_needs(entry, ctx):
  from repro.verify import evaluators  # pylint: disable=g-import-not-at-top
  from repro.verify.evaluators import Need  # pylint: disable=g-import-not-at-top
  found = recorded_family(entry, ctx)
  if found and "fid" in found[1]:
    return []
  if found and "cannot_run" in found[1]:
    return [Need("the contaminating data set", detail=found[1]["cannot_run"])]
  if ctx.workdir:
    return [Need(f"{ctx.workdir}/ttur_disturbance.json with {entry['family']}",
                 f"python -m repro.metrics.fid_disturbance --dataset={entry['dataset']} "
                 f"--families={entry['family']} --out={ctx.workdir}/ttur_disturbance.json")]
  out = []
  need = evaluators.extractor_need(evaluators.extractor_name(entry), ctx)
  if need:
    out.append(need)
  need = evaluators.data_need(entry["dataset"], ctx.data_dir)
  if need:
    out.append(need)
  if entry["family"] == "contamination":
    from repro.metrics import fid_disturbance as fd  # pylint: disable=g-import-not-at-top
    try:
      if entry["dataset"] != "fashion_mnist":
        fd.other_images(entry["dataset"])
      else:
        import sklearn.datasets  # pylint: disable=g-import-not-at-top,unused-import
    except (DataUnavailableError, ImportError) as e:
      out.append(Need("the contaminating data set", "pip install scikit-learn"
                      if isinstance(e, ImportError) else "", str(e)))
  return out


def _disturbance(entry, ctx):
  from repro.metrics import fid_disturbance as fd  # pylint: disable=g-import-not-at-top
  from repro.verify import evaluators  # pylint: disable=g-import-not-at-top
  from repro.verify.evaluators import Measured  # pylint: disable=g-import-not-at-top
  p = entry["protocol"]
  family = entry["family"]
  deviations = []
  found = recorded_family(entry, ctx)
  if found:
    study, fam, path = found
    source = resources.display_path(path)
    n = study["n"]
    fids, levels = fam["fid"], fam["levels"]
    details = {"source": f"recorded: {source} ({study.get('recorded', '?')})"}
  else:
    n = int(p["n_fake"])
    if ctx.n_fake and ctx.n_fake != n:
      n = int(ctx.n_fake)
    extractor = evaluators._extractor(entry, ctx)  # pylint: disable=protected-access
    key = ("disturbance_base", entry["dataset"], extractor.name, n, ctx.data_dir, ctx.fid_stats)
    if key not in ctx._cache:  # pylint: disable=protected-access
      from repro import data  # pylint: disable=g-import-not-at-top
      ref = fd.reference(entry["dataset"], extractor, ctx.data_dir, ctx.fid_stats)
      images = data.load_array(entry["dataset"], fd.DEFAULTS[entry["dataset"]]["split"],
                               ctx.data_dir)
      if n > len(images):
        raise UsageError(f"{entry['id']}: n_fake {n} but the split has {len(images)} images")
      ctx._cache[key] = (ref, fd.to_unit_range(images[:n]))  # pylint: disable=protected-access
    ref, base = ctx._cache[key]  # pylint: disable=protected-access
    other = fd.other_images(entry["dataset"])[0] if family == "contamination" else None
    levels = list(p.get("levels") or fd.disturb.LEVELS[family])
    fids = fd.family_fids(family, base, ref, extractor, int(p.get("seed", 0)), other,
                          float(p.get("swirl_radius", fd.DEFAULTS[entry["dataset"]]["swirl_radius"])),
                          levels)
    details = {"source": "computed now"}
  if n != int(p["n_fake"]):
    deviations.append(f"{n} images instead of the protocol's {p['n_fake']}")
  details.update(levels=levels, fid=[round(f, 4) for f in fids])
  return Measured(fd.monotone_increase(fids), details=details,
                  deviations=deviations)


MEASURE = {"saddle_claim": _saddle, "fid_disturbance": _disturbance}


def needs(entry, ctx):
  if entry["evaluate"] == "fid_disturbance":
    return disturbance_needs(entry, ctx)
  return []
