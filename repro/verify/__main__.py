"""`python -m repro.verify`: see repro/verify/__init__.py."""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # pylint: disable=g-import-not-at-top

from repro import resources  # pylint: disable=g-import-not-at-top
from repro.errors import UsageError, exit_on_error, parse_flags_or_exit  # pylint: disable=g-import-not-at-top

__doc__ = sys.modules["repro.verify"].__doc__   # what --help shows  # pylint: disable=redefined-builtin
FLAGS = flags.FLAGS
flags.DEFINE_string("paper", None, "Registry file papers/<paper>.toml (ttur, fogan, wgan, klwgan, "
                    "coulomb, sinkhorn, metrics).")
flags.DEFINE_string("entry", None, "Only this entry id.")
flags.DEFINE_string("checkpoint", None, "Generator to evaluate: a name from "
                    "checkpoints/manifest.json or a .keras file.")
flags.DEFINE_string("workdir", None, "A training workdir (its latest checkpoint; KL-WGAN: a "
                    "--table=synthetic workdir with one result.json per run). Without --paper: "
                    "the paper of its recipe.json.")
flags.DEFINE_enum("format", "text", ["text", "markdown", "json"], "Output format.")
flags.DEFINE_boolean("strict", False, "Exit 5 when an entry that ran was not reproduced (default: "
                     "exit 0 once everything that can run here ran).")
flags.DEFINE_boolean("list", False, "List the registry files and their entries.")
flags.DEFINE_boolean("all", False, "Every paper: one summary table of reproduced / not reproduced "
                     "/ cannot run here (and why), with the grand total.")
flags.DEFINE_boolean("record", False, "KL-WGAN: write the runs of --workdir to the registry's "
                     "recorded-results file (papers/results/klwgan_synthetic.json); with --entry "
                     "of an entry that has a recorded_run: write the run of --workdir there.")
flags.DEFINE_boolean("recompute", False, "TTUR's FID vs disturbance entries: compute the FIDs "
                     "instead of reading the recorded results (papers/results/ttur_disturbance.json).")
flags.DEFINE_string("registry", None, "Registry folder (default: papers/ of the repository).")
flags.DEFINE_string("data_dir", None, "tfds data dir, or a folder of Fashion-MNIST IDX .gz files.")
flags.DEFINE_string("inception_graph", None, "classify_image_graph_def.pb or "
                    "inception-2015-12-05.tgz (or $REPRO_INCEPTION_GRAPH).")
flags.DEFINE_string("fid_stats", None, "Reference statistics .npz (e.g. TTUR's "
                    "fid_stats_cifar10_train.npz) instead of statistics of the training split.")
flags.DEFINE_integer("n_fake", None, "Generated samples (overrides the protocol; reported as a "
                     "protocol difference).", lower_bound=2)


@exit_on_error
def main(argv):
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  if len(argv) > 1:
    raise UsageError(f"unexpected arguments {' '.join(argv[1:])}; flags look like --name=value")
  from repro import verify  # pylint: disable=g-import-not-at-top
  from repro.verify import evaluators, registry  # pylint: disable=g-import-not-at-top
  if FLAGS.list:
    for paper in registry.available_papers(FLAGS.registry):
      data = registry.load_registry(paper, FLAGS.registry)
      print(f"{paper}: {data['title']} — {len(data['entries'])} entries")
      for e in data["entries"]:
        value = e.get("value", e.get("criterion"))
        print(f"  {e['id']}: {e['metric']} {value}")
    return 0
  ctx = lambda: evaluators.Context(  # pylint: disable=g-long-lambda
      checkpoint=FLAGS.checkpoint, workdir=None if FLAGS.record else FLAGS.workdir,
      data_dir=FLAGS.data_dir, inception_graph=FLAGS.inception_graph, fid_stats=FLAGS.fid_stats,
      n_fake=FLAGS.n_fake, recompute=FLAGS.recompute)
  if FLAGS.all:
    if FLAGS.paper or FLAGS.entry or FLAGS.checkpoint or FLAGS.workdir or FLAGS.record:
      raise UsageError("--all evaluates every registry entry from shipped results and checkpoints; "
                       "drop --paper/--entry/--checkpoint/--workdir/--record")
    results = verify.run_all(ctx, FLAGS.registry)
    if FLAGS.format == "json":
      keys = ("paper", "entries", "reproduced", "not_reproduced", "cannot_run", "why")
      print(json.dumps([dict(zip(keys, row)) for row in verify.summary_rows(results)], indent=1))
    else:
      print(verify.format_summary(results, markdown=FLAGS.format == "markdown"), flush=True)
    return verify.exit_code([o for outcomes in results.values() for o in outcomes], FLAGS.strict)
  if not FLAGS.paper and FLAGS.workdir and not FLAGS.record:
    FLAGS.paper = _paper_of_workdir(FLAGS.workdir)
  if not FLAGS.paper:
    raise UsageError("--paper is required (or --list or --all); papers: "
                     f"{', '.join(registry.available_papers(FLAGS.registry))}")
  if FLAGS.record and FLAGS.entry:
    data = registry.load_registry(FLAGS.paper, FLAGS.registry)
    entry = next((e for e in data["entries"] if e["id"] == FLAGS.entry), {})
    if not entry.get("recorded_run") or not FLAGS.workdir:
      raise UsageError("--record --entry=ID takes an entry with a recorded_run and --workdir=<its run>")
    out = resources.writable_data_path(entry["recorded_run"])
    evaluators.record_run(FLAGS.workdir, out, entry["command"])
    print(f"recorded the run of {FLAGS.workdir} in {out}")
  elif FLAGS.record:
    data = registry.load_registry(FLAGS.paper, FLAGS.registry)
    if FLAGS.paper != "klwgan" or not FLAGS.workdir or not data.get("results"):
      raise UsageError("--record takes --paper=klwgan --workdir=<a --table=synthetic workdir>")
    out = resources.writable_data_path(data["results"])
    recorded = evaluators.record_klwgan_results(FLAGS.workdir, out)
    print(f"recorded {len(recorded['runs'])} runs in {out}")
  data, outcomes = verify.run(FLAGS.paper, FLAGS.entry, ctx(), FLAGS.registry)
  if FLAGS.record and not FLAGS.entry and not FLAGS.registry:   # the repository's own registry
    readme = resources.writable_data_path("README.md")
    if verify.update_readme(readme, verify.recorded_block(recorded, data, outcomes)):
      print(f"updated the recorded table in {readme}")
    else:
      print(f"{readme} has no {verify.README_MARKERS[0]} ... block; not updated")
  print(verify.FORMATS[FLAGS.format](data, outcomes), flush=True)
  return verify.exit_code(outcomes, FLAGS.strict)


def _paper_of_workdir(workdir):
  """The paper of a training workdir (its recipe.json), or None."""
  try:
    with open(os.path.join(workdir, "recipe.json"), encoding="utf-8") as f:
      return json.load(f).get("paper") or None
  except (OSError, ValueError):
    return None


def run():
  app.run(main, flags_parser=parse_flags_or_exit)


if __name__ == "__main__":
  run()
  sys.exit(0)
