"""Verify reported numbers: evaluate each registry entry (``papers/*.toml``) under its protocol.

  python -m repro.verify --paper=P [--entry=ID] [--checkpoint=NAME|PATH | --workdir=W]
                         [--format=text|markdown|json]
  python -m repro.verify --list
  python -m repro.verify --all [--format=...]    # one summary row per paper and the total

Prints one row per entry: the paper's value, ours, Δ, reproduced ✓/✗ (within the entry's tolerance,
or the qualitative criterion met), and the protocol. Entries that cannot run on this machine (data,
extractor file, generator or GPU missing) are listed as "cannot run: needs X" with the command that
prepares X; they are never skipped silently and never count as passed.

Exit code: 0 when every entry that ran is within tolerance (also when none could run), 1 when one
is not, 2 for usage errors (unknown paper or entry, bad flags, a generator of another dataset).
"""

import collections
import dataclasses
import json
import math
import operator
from typing import List, Optional

from repro import fileio
from repro.errors import DataUnavailableError, UsageError
from repro.verify import evaluators, registry
from repro.verify.evaluators import Context, Measured, Need

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
       "==": operator.eq}
PROTOCOL_KEYS = ("extractor", "n_fake", "n_real", "reference", "quantization", "statistics",
                 "splits", "selection")


@dataclasses.dataclass
class Outcome:
  entry: dict
  status: str                       # "reproduced" | "not reproduced" | "cannot run"
  measured: Optional[Measured] = None
  needs: List[Need] = dataclasses.field(default_factory=list)
  delta: Optional[float] = None
  allowed: Optional[float] = None

  @property
  def ran(self):
    return self.status != "cannot run"


def allowed_deviation(entry, ours_se=None):
  """The largest |ours - paper| that counts as reproduced, from the entry's tolerance."""
  tol = entry["tolerance"]
  allowed = tol.get("abs", 0.0)
  if "rel" in tol:
    allowed = max(allowed, tol["rel"] * abs(entry["value"]))
  if "se_multiple" in tol:
    se = math.sqrt(entry.get("plus_minus", 0.0) ** 2 + (ours_se or 0.0) ** 2)
    allowed = max(allowed, tol["se_multiple"] * se)
  return allowed


def judge(entry, measured):
  """Outcome of a measured entry."""
  if "criterion" in entry:
    c = entry["criterion"]
    ok = (not math.isnan(measured.value)) and OPS[c["op"]](measured.value, c["value"])
    return Outcome(entry, "reproduced" if ok else "not reproduced", measured)
  delta = measured.value - entry["value"]
  allowed = allowed_deviation(entry, measured.se)
  ok = math.isfinite(delta) and abs(delta) <= allowed + 1e-12
  if "alpha" in entry:   # and the one-sided test of "ours is worse" does not reject
    ok = ok and measured.details.get("p_worse", 0.0) >= entry["alpha"]
  return Outcome(entry, "reproduced" if ok else "not reproduced", measured, delta=delta,
                 allowed=allowed)


def verify_entry(entry, ctx):
  missing = evaluators.needs(entry, ctx)
  if missing:
    return Outcome(entry, "cannot run", needs=missing)
  try:
    measured = evaluators.measure(entry, ctx)
  except DataUnavailableError as e:
    return Outcome(entry, "cannot run", needs=[Need("its inputs", detail=str(e))])
  return judge(entry, measured)


def run(paper, entry_id=None, ctx=None, registry_dir=None):
  """(registry data, [Outcome]) for one paper (or one entry of it)."""
  data = registry.load_registry(paper, registry_dir)
  entries = data["entries"]
  if entry_id:
    entries = [e for e in entries if e["id"] == entry_id]
    if not entries:
      raise UsageError(f"{paper} has no entry {entry_id!r}; entries: "
                       f"{', '.join(e['id'] for e in data['entries'])}")
  ctx = ctx or Context()
  ctx.paper = paper
  if ctx.results is None:
    ctx.results = data.get("results")
  if ctx.checkpoint and ctx.workdir:
    raise UsageError("give --checkpoint or --workdir, not both")
  if ctx.checkpoint:
    from repro import checkpoints  # pylint: disable=g-import-not-at-top
    checkpoints.resolve(ctx.checkpoint)       # bad names fail before anything runs
  if ctx.workdir and not __import__("os").path.isdir(ctx.workdir):
    raise UsageError(f"--workdir {ctx.workdir} does not exist")
  return data, [verify_entry(e, ctx) for e in entries]


def run_all(ctx_factory, registry_dir=None):
  """{paper: [Outcome]} for every registry file (a fresh Context per paper from ctx_factory())."""
  return {paper: run(paper, None, ctx_factory(), registry_dir)[1]
          for paper in registry.available_papers(registry_dir)}


def _reasons(outcomes):
  """The distinct things the entries that cannot run here need, most frequent first."""
  counts = collections.Counter(n.what for o in outcomes if not o.ran for n in o.needs)
  return [f"{what} ({n})" if n > 1 else what for what, n in counts.most_common()]


def summary_rows(results):
  """[(paper, entries, reproduced, not reproduced, cannot run, why)], the last row the total."""
  rows = []
  for paper, outcomes in results.items():
    count = collections.Counter(o.status for o in outcomes)
    rows.append((paper, len(outcomes), count["reproduced"], count["not reproduced"],
                 count["cannot run"], "; ".join(_reasons(outcomes)) or "—"))
  total = [sum(r[i] for r in rows) for i in range(1, 5)]
  rows.append(("total", *total, ""))
  return rows


def format_summary(results, markdown=False):
  rows = summary_rows(results)
  head = ("paper", "entries", "reproduced", "not reproduced", "cannot run here", "why not here")
  if markdown:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md(str(c)) if i == 5 else str(c) for i, c in enumerate(r)) + " |"
              for r in rows]
    return "\n".join(lines)
  lines = [f"{head[0]:9s} {head[1]:>7s} {head[2]:>10s} {head[3]:>14s} {head[4]:>15s}  {head[5]}"]
  lines += [f"{r[0]:9s} {r[1]:7d} {r[2]:10d} {r[3]:14d} {r[4]:15d}  {r[5]}" for r in rows]
  return "\n".join(lines)


# `verify --strict` exits with this code when an entry that ran was not reproduced (without --strict,
# verify exits 0 whenever it ran what it could: 1 and 2 stay the suite's missing-data / usage codes).
NOT_REPRODUCED_EXIT = 5


def exit_code(outcomes, strict=False):
  failed = any(o.status == "not reproduced" for o in outcomes)
  return NOT_REPRODUCED_EXIT if strict and failed else 0


# ---- formatting ------------------------------------------------------------------------------------

def _num(value, digits=None):
  if value is None:
    return "—"
  if isinstance(value, float) and math.isnan(value):
    return "nan"
  if digits is None:
    digits = 4 if abs(value) < 100 else 1
  return f"{value:.{digits}f}".rstrip("0").rstrip(".") if "." in f"{value:.{digits}f}" else f"{value}"


def paper_value(entry):
  if "criterion" in entry:
    c = entry["criterion"]
    return f"{entry['metric']} {c['op']} {_num(c['value'])}"
  text = _num(entry["value"], 10 if abs(entry["value"]) < 100 else 2)
  if "plus_minus" in entry:
    text += f" ± {entry['plus_minus']:.2f}"
  return text


def ours_value(outcome):
  m = outcome.measured
  if m is None:
    return "—"
  text = _num(m.value)
  if m.se is not None and m.n and m.n > 1:
    text += f" ± {m.se:.2f}"
  if m.n is not None:
    text += f" (n={m.n})"
  return text


def delta_value(outcome):
  if outcome.delta is None:
    return "—"
  return f"{outcome.delta:+.4g} (tol {outcome.allowed:.3g})"


def verdict(outcome, mark=True):
  if outcome.status == "cannot run":
    return "cannot run: needs " + ", ".join(n.what for n in outcome.needs)
  ok = outcome.status == "reproduced"
  text = ("✓" if ok else "✗") if mark else ("reproduced" if ok else "not reproduced")
  if outcome.measured and outcome.measured.deviations:
    text += " (protocol differs: " + "; ".join(outcome.measured.deviations) + ")"
  return text


def protocol_line(entry):
  p = entry["protocol"]
  return "; ".join(f"{k} {p[k]}" for k in PROTOCOL_KEYS if k in p)


def summary(outcomes):
  ran = [o for o in outcomes if o.ran]
  good = sum(o.status == "reproduced" for o in ran)
  return (f"{len(ran)} of {len(outcomes)} entries ran: {good} reproduced, {len(ran) - good} not "
          f"reproduced; {len(outcomes) - len(ran)} cannot run here")


def pivot_table(data, outcomes):
  """The paper's own table layout when the registry file asks for one (top-level [table]:
  rows = [keys], columns = key): each cell "paper | ours" for the entries with numbers."""
  spec = data.get("table")
  if not spec:
    return []
  rows_keys, col_key = spec["rows"], spec["columns"]
  cells, rows, cols = {}, [], []
  for o in outcomes:
    e = o.entry
    if "value" not in e or col_key not in e:
      continue
    row = tuple(str(e[k]) for k in rows_keys)
    col = str(e[col_key])
    if row not in rows:
      rows.append(row)
    if col not in cols:
      cols.append(col)
    ours = "—" if o.measured is None else (
        f"{o.measured.value:.2f}" + (f" ± {o.measured.se:.2f}" if o.measured.se is not None and
                                     (o.measured.n or 0) > 1 else "") +
        (f" (n={o.measured.n})" if o.measured.n is not None else ""))
    mark = {"reproduced": " ✓", "not reproduced": " ✗"}.get(o.status, " (cannot run)")
    cells[row, col] = (f"{e['value']:.2f}" + (f" ± {e['plus_minus']:.2f}" if "plus_minus" in e
                                              else ""), ours + mark)
  if not cells:
    return []
  labels = spec.get("labels", {})
  head = [*rows_keys] + [f"{labels.get(c, c)} {side}" for c in cols for side in ("paper", "ours")]
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for row in rows:
    values = list(row)
    for c in cols:
      values += list(cells.get((row, c), ("—", "—")))
    lines.append("| " + " | ".join(values) + " |")
  return lines


def format_text(data, outcomes):
  lines = [f"{data['paper']}: {data['title']} ({data.get('authors', '')}, {data.get('venue', '')})",
           ""]
  width = max([len(o.entry["id"]) for o in outcomes] + [5])
  head = f"{'entry':{width}s}  {'paper':>16s}  {'ours':>22s}  {'Δ':>22s}  reproduced"
  lines += [head, "-" * len(head)]
  for o in outcomes:
    e = o.entry
    lines.append(f"{e['id']:{width}s}  {paper_value(e):>16s}  {ours_value(o):>22s}  "
                 f"{delta_value(o):>22s}  {verdict(o)}")
    pad = " " * (width + 2)
    lines.append(f"{pad}{e['metric']} of {e['variant']} on {e['dataset']}; protocol: {protocol_line(e)}")
    for need in o.needs:
      lines.append(f"{pad}needs {need.what}" + (f": {need.detail}" if need.detail else ""))
      if need.command:
        lines.append(f"{pad}  $ {need.command}")
    if o.measured and o.measured.details.get("generator"):
      lines.append(f"{pad}generator: {o.measured.details['generator']}")
    if o.measured and "levels" in o.measured.details and "fid" in o.measured.details:
      lines.append(f"{pad}FID at levels " + ", ".join(
          f"{lv:g}: {f:.2f}" for lv, f in zip(o.measured.details["levels"], o.measured.details["fid"]))
          + f" ({o.measured.details.get('source', '')})")
    lines.append(f"{pad}source: {e['source']}")
  table = pivot_table(data, outcomes)
  if table:
    lines += ["", "As the paper's table:", ""] + table
  lines += ["", summary(outcomes)]
  return "\n".join(lines)


def _md(text):
  return str(text).replace("|", "\\|")


def format_markdown(data, outcomes):
  lines = [f"### {data['paper']}: {data['title']}", "",
           "| entry | paper | ours | Δ | reproduced | protocol |", "|---|---|---|---|---|---|"]
  for o in outcomes:
    e = o.entry
    lines.append("| " + " | ".join(_md(x) for x in (
        e["id"], paper_value(e), ours_value(o), delta_value(o), verdict(o),
        f"{e['metric']}, {e['dataset']}: {protocol_line(e)}")) + " |")
  commands = []
  for o in outcomes:
    for need in o.needs:
      if need.command and need.command not in commands:
        commands.append(need.command)
  table = pivot_table(data, outcomes)
  if table:
    lines += ["", "As the paper's table:", ""] + table
  lines += ["", summary(outcomes)]
  if commands:
    lines += ["", "To prepare what is missing:", "", "```sh"] + commands + ["```"]
  return "\n".join(lines)


def as_json(data, outcomes):
  rows = []
  for o in outcomes:
    e = o.entry
    m = o.measured
    rows.append({
        "id": e["id"], "dataset": e["dataset"], "metric": e["metric"], "variant": e["variant"],
        "paper": e.get("value"), "paper_plus_minus": e.get("plus_minus"),
        "criterion": e.get("criterion"), "ours": None if m is None else m.value,
        "ours_se": None if m is None else m.se, "ours_n": None if m is None else m.n,
        "delta": o.delta, "allowed": o.allowed, "status": o.status,
        "needs": [dataclasses.asdict(n) for n in o.needs],
        "deviations": [] if m is None else m.deviations,
        "details": {} if m is None else m.details, "protocol": e["protocol"],
        "tolerance": e.get("tolerance"), "source": e["source"], "command": e["command"]})
  return json.dumps({"paper": data["paper"], "title": data["title"], "entries": rows,
                     "summary": summary(outcomes), "exit_code": exit_code(outcomes)},
                    indent=1, default=str, ensure_ascii=False)


FORMATS = {"text": format_text, "markdown": format_markdown, "json": as_json}


# ---- the README block of KL-WGAN's recorded synthetic table (--record) -------------------------

README_MARKERS = ("<!-- klwgan-synthetic-table: written by python -m repro.verify --paper=klwgan "
                  "--workdir=W --record -->", "<!-- /klwgan-synthetic-table -->")


def recorded_block(recorded, data, outcomes):
  """Markdown for the README: the commands, machine and time of the recorded runs, the paper's
  table with ours next to it, and the paper's qualitative claims with our verdict."""
  t = recorded["training_time"]
  lines = [f"Recorded {recorded['recorded']} ({recorded['machine']}): {t['runs']} runs of 500 "
           f"epochs, {t['cpu_hours']:.2f} CPU hours / {t['wall_hours']:.2f} wall hours in all, "
           f"{t['cpu_seconds_per_run']} s CPU / {t['wall_seconds_per_run']} s wall per run. "
           f"Runs per set: " + ", ".join(f"{k} {v}" for k, v in recorded["runs_per_set"].items())
           + " (the paper: 4).", "", "```sh"]
  lines += [f".venv/bin/{c}" for c in recorded["commands"]]
  lines += [f".venv/bin/python -m repro.verify --paper=klwgan --workdir={recorded['workdir']} "
            "--record", "```", ""]
  lines += pivot_table(data, outcomes)
  for o in outcomes:
    e = o.entry
    if e.get("evaluate") == "klwgan_synthetic_compare" and o.measured is not None:
      details = o.measured.details
      lines += ["", f"{e['claim']} Ours: KL-WGAN {details['kl_mmd_x1e3']:.2f} vs hinge "
                f"{details['hinge_mmd_x1e3']:.2f} (mean of n={o.measured.n} runs each), "
                f"difference {o.measured.value:+.2f}: {verdict(o)}."]
  return "\n".join(lines)


def update_readme(path, block, markers=README_MARKERS):
  """Replaces the text between the (begin, end) markers in `path`; False when they are missing."""
  return fileio.replace_block(path, block, markers)
