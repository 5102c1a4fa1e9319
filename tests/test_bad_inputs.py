"""The bad-input table: every command-line entry point, given a bad flag, dataset, model, metric
input, registry entry, checkpoint or file, exits with the documented code (2 for usage errors, 1 for
something missing on this machine), prints exactly one `error: ...` line on stderr (no traceback,
no TensorFlow start-up notices) that says what to do, and leaves every file already there unchanged.

The rows run as subprocesses, a few at a time, in a session fixture; each row is then one test.
"""

import collections
import concurrent.futures
import gzip
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WGAN = ["repro.papers.wgan"]
TOY = WGAN + ["--dataset=8gaussians", "--steps=2", "--log_every=1"]
SMALL = '--net={"hidden": [8]}'

Row = collections.namedtuple("Row", "id argv code message setup env", defaults=(None, None))

# ---- file makers -------------------------------------------------------------------------------


def png(path, height, width, channels=1, seed=0):
  """A valid 8-bit PNG of random pixels (no image library needed)."""
  rng = np.random.default_rng(seed)
  pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
  color = {1: 0, 3: 2}[channels]
  raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

  def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

  header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
  with open(path, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def images(folder, n, height=28, width=28, channels=1):
  os.makedirs(folder, exist_ok=True)
  for i in range(n):
    png(os.path.join(folder, f"{i:03d}.png"), height, width, channels, seed=i)
  return folder


def stats(path, mu, sigma):
  np.savez(path, mu=mu, sigma=sigma)
  return path


def config_json(workdir, hidden):
  """A pre-recipe workdir's config.json (its architecture fields)."""
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "config.json"), "w") as f:
    json.dump({"dataset": "8gaussians", "arch": "mlp", "model": {"hidden": hidden}, "z_dim": 2}, f)


def recipe_json(workdir, hidden):
  """The recipe.json of wgan's 8gaussians gp run with MLP hidden layers `hidden`."""
  from repro.papers import wgan  # pylint: disable=g-import-not-at-top
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "recipe.json"), "w") as f:
    f.write(wgan.recipe("8gaussians", variant="gp", net={"hidden": hidden}).to_json())


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
  """A finished 2-step run of an MLP with one hidden layer of 8 (wgan's 8gaussians gp settings)."""
  from repro.train.runner import Trainer  # pylint: disable=g-import-not-at-top
  from repro.papers import wgan  # pylint: disable=g-import-not-at-top
  # its objective: WGAN-GP, λ 0.1; the command line's --net='{"hidden": [8]}' gives the same recipe
  recipe = wgan.recipe("8gaussians", variant="gp", net={"hidden": [8]}, steps=2, save_every=1,
                       log_every=1)
  workdir = str(tmp_path_factory.mktemp("small_run"))
  Trainer(recipe, workdir, quiet=True).train()
  return workdir


# ---- setups: f(tmp, small_run) -> None, or a function undoing what must not outlive the row ------

def s_empty_dir(tmp, _):
  os.makedirs(os.path.join(tmp, "empty"))


def s_bad_idx(tmp, _):
  folder = os.path.join(tmp, "fm")
  os.makedirs(folder)
  for name, magic in (("train-images-idx3-ubyte.gz", 2049), ("train-labels-idx1-ubyte.gz", 2049),
                      ("t10k-images-idx3-ubyte.gz", 2051), ("t10k-labels-idx1-ubyte.gz", 2049)):
    with gzip.open(os.path.join(folder, name), "wb") as f:
      f.write(struct.pack(">II", magic, 10) + bytes(10 * 28 * 28))


def s_file_in_path(tmp, _):
  with open(os.path.join(tmp, "file"), "w") as f:
    f.write("a file, not a folder")


def s_other_model(tmp, _):
  recipe_json(os.path.join(tmp, "w"), [32, 32])


def s_other_model_legacy(tmp, _):
  config_json(os.path.join(tmp, "w"), [32, 32])


def s_corrupt_recipe(tmp, _):
  os.makedirs(os.path.join(tmp, "w"))
  with open(os.path.join(tmp, "w", "recipe.json"), "w") as f:
    f.write('{"dataset": "8gauss')


def s_corrupt_config(tmp, _):
  os.makedirs(os.path.join(tmp, "w"))
  with open(os.path.join(tmp, "w", "config.json"), "w") as f:
    f.write('{"dataset": "8gauss')


def s_checkpoint_other_arch(tmp, run):
  shutil.copytree(os.path.join(run, "checkpoints"), os.path.join(tmp, "w", "checkpoints"))


def s_checkpoints_corrupt(tmp, run):
  shutil.copytree(run, os.path.join(tmp, "w"))
  for name in os.listdir(os.path.join(tmp, "w", "checkpoints")):
    if ".data-" in name:
      os.truncate(os.path.join(tmp, "w", "checkpoints", name), 10)


def s_workdir_in_use(tmp, run):
  from repro.train.runner import _WorkdirLock  # pylint: disable=g-import-not-at-top
  shutil.copytree(run, os.path.join(tmp, "w"))
  lock = _WorkdirLock(os.path.join(tmp, "w"))
  lock.acquire()
  return lock.release


def s_stats(tmp, _):
  stats(os.path.join(tmp, "good3.npz"), np.zeros(3), np.eye(3))
  stats(os.path.join(tmp, "good4.npz"), np.zeros(4), np.eye(4))
  np.savez(os.path.join(tmp, "nokey.npz"), mu=np.zeros(3))
  stats(os.path.join(tmp, "dims.npz"), np.zeros(3), np.eye(4))
  stats(os.path.join(tmp, "nan.npz"), np.full(3, np.nan), np.eye(3))
  np.savez(os.path.join(tmp, "pickled.npz"), mu=np.array([{"a": 1}], dtype=object),
           sigma=np.eye(1))
  with open(os.path.join(tmp, "corrupt.npz"), "wb") as f:
    f.write(b"PK\x03\x04" + os.urandom(200))
  raw = open(os.path.join(tmp, "good3.npz"), "rb").read()
  with open(os.path.join(tmp, "truncated.npz"), "wb") as f:
    f.write(raw[:len(raw) // 2])


def s_one_image(tmp, _):
  images(os.path.join(tmp, "one"), 1)
  images(os.path.join(tmp, "one_more"), 1)


def s_images(tmp, _):
  images(os.path.join(tmp, "imgs"), 3)


def s_rgb_images(tmp, _):
  images(os.path.join(tmp, "rgb"), 3, 32, 32, 3)
  images(os.path.join(tmp, "gray"), 3)


def s_garbage_graph(tmp, _):
  images(os.path.join(tmp, "imgs"), 3)
  with open(os.path.join(tmp, "graph.pb"), "wb") as f:
    f.write(b"this is not a GraphDef" * 10)


def s_registry(tmp, _):
  os.makedirs(os.path.join(tmp, "reg"))
  with open(os.path.join(tmp, "reg", "wgan.toml"), "w") as f:
    f.write("title = 'x'\n[[entries]\nid = ")


def s_keras_bad_sha(tmp, _):
  with open(os.path.join(tmp, "g.keras"), "wb") as f:
    f.write(b"not really a keras file")
  with open(os.path.join(tmp, "g.keras.json"), "w") as f:
    json.dump({"sha256": "0" * 64, "recipe": {}}, f)


def s_keras_bad_sidecar(tmp, _):
  with open(os.path.join(tmp, "g.keras"), "wb") as f:
    f.write(b"not really a keras file")
  with open(os.path.join(tmp, "g.keras.json"), "w") as f:
    f.write("{ not json")


def tf_config(index=0, workers=("localhost:1", "localhost:2")):
  return json.dumps({"cluster": {"worker": list(workers)}, "task": {"type": "worker",
                                                                    "index": index}})


# ---- the table ------------------------------------------------------------------------------------
# {tmp} is the row's own folder. Messages are regular expressions.

ROWS = [
    # flags of the paper modules
    Row("flag_unknown_dataset", WGAN + ["--dataset=imagenet", "--workdir={tmp}/w"], 2,
        r"wgan has no settings for --dataset=imagenet; choose one of"),
    Row("flag_steps_zero", TOY + ["--steps=0", "--workdir={tmp}/w"], 2, r"--steps=0"),
    Row("flag_steps_negative", TOY + ["--steps=-5", "--workdir={tmp}/w"], 2, r"--steps=-5"),
    Row("flag_batch_zero", TOY + ["--batch_size=0", "--workdir={tmp}/w"], 2, r"--batch_size=0"),
    Row("flag_batch_negative", TOY + ["--batch_size=-64", "--workdir={tmp}/w"], 2,
        r"--batch_size=-64"),
    Row("flag_learning_rate_negative", TOY + ["--d_lr=-0.1", "--workdir={tmp}/w"], 2,
        r"--d_lr must be positive"),
    Row("flag_ema_decay_out_of_range", TOY + ["--ema_decay=1.5", "--workdir={tmp}/w"], 2,
        r"--ema_decay must be in \[0, 1\)"),
    Row("flag_not_a_number", TOY + ["--steps=ten", "--workdir={tmp}/w"], 2, r"--steps=ten"),
    Row("flag_unknown", TOY + ["--stepz=10", "--workdir={tmp}/w"], 2, r"stepz"),
    Row("flag_positional_argument", TOY + ["--workdir={tmp}/w", "8gaussians"], 2,
        r"unexpected arguments 8gaussians; flags look like --name=value"),
    Row("flag_unknown_variant", WGAN + ["--variant=lsgan", "--workdir={tmp}/w"], 2, r"--variant"),
    Row("flag_unknown_strategy", TOY + ["--strategy=gpus", "--workdir={tmp}/w"], 2,
        r"--strategy must be one of auto, one, mirrored, multiworker, tpu"),
    Row("flag_cpu_devices_negative", TOY + ["--cpu_devices=-2", "--workdir={tmp}/w"], 2,
        r"--cpu_devices must be >= 0"),
    Row("flag_nan_policy_unknown", TOY + ["--nan_policy=ignore", "--workdir={tmp}/w"], 2,
        r"--nan_policy=ignore"),
    # models
    Row("model_unknown_key", TOY + ['--net={"hiden": [8]}', "--workdir={tmp}/w"], 2,
        r"architecture mlp takes no argument hiden \(--net\); it takes .*hidden"),
    Row("model_not_json", TOY + ["--net=hidden=8", "--workdir={tmp}/w"], 2,
        r"--net is not valid JSON"),
    Row("model_zero_width", TOY + ['--net={"hidden": [0, 8]}', "--workdir={tmp}/w"], 2,
        r"--net hidden must be a positive integer"),
    # scale-out
    Row("multiworker_without_tf_config", TOY + ["--strategy=multiworker", "--workdir={tmp}/w"], 2,
        r"--strategy=multiworker needs the TF_CONFIG environment variable"),
    Row("tf_config_not_json", TOY + ["--strategy=multiworker", "--workdir={tmp}/w"], 2,
        r"TF_CONFIG is not valid JSON", None, {"TF_CONFIG": "{cluster: workers"}),
    Row("tf_config_task_out_of_range", TOY + ["--strategy=multiworker", "--workdir={tmp}/w"], 2,
        r"TF_CONFIG task index 5 is not in 0..1", None, {"TF_CONFIG": tf_config(5)}),
    Row("tf_config_bad_address", TOY + ["--strategy=multiworker", "--workdir={tmp}/w"], 2,
        r'TF_CONFIG cluster .worker. must be a list of "host:port" strings', None,
        {"TF_CONFIG": tf_config(0, ("localhost",))}),
    Row("batch_not_divisible_by_replicas",
        TOY + ["--strategy=mirrored", "--cpu_devices=2", "--batch_size=33", SMALL,
               "--workdir={tmp}/w"], 2,
        r"--batch_size=33 is not divisible by the 2 replicas"),
    Row("tpu_not_present", TOY + ["--strategy=tpu", SMALL, "--workdir={tmp}/w"], 2,
        r"--strategy=tpu: no TPU found.*use --strategy=auto"),
    # datasets
    Row("dataset_not_prepared", WGAN + ["--dataset=cifar10", "--data_dir={tmp}/empty",
                                        "--workdir={tmp}/w"], 1,
        r"dataset cifar10 .* is not prepared in .*empty: run .*download_and_prepare", s_empty_dir),
    Row("dataset_not_prepared_tfds_env", WGAN + ["--dataset=mnist", "--workdir={tmp}/w"], 1,
        r"dataset mnist .* is not prepared in .*empty", s_empty_dir,
        {"TFDS_DATA_DIR": "{tmp}/empty"}),
    Row("dataset_idx_bad_magic", WGAN + ["--dataset=fashion_mnist", "--data_dir={tmp}/fm",
                                         "--steps=1", "--workdir={tmp}/w"], 2,
        r"IDX file .*train-images-idx3-ubyte.gz has magic number 2049, expected 2051", s_bad_idx),
    # workdirs and checkpoints
    Row("workdir_unwritable", TOY + [SMALL, "--workdir={tmp}/file/w"], 2,
        r"cannot write to --workdir .*file/w.*choose a writable folder", s_file_in_path),
    Row("workdir_of_another_model", TOY + [SMALL, "--workdir={tmp}/w"], 2,
        r"--workdir .*w holds a run of another recipe \(model\.args\.hidden: workdir \[32, 32\], "
        r"now \[8\]\)", s_other_model),
    Row("workdir_legacy_of_another_model", TOY + [SMALL, "--workdir={tmp}/w"], 2,
        r"--workdir .*w was written before recipes \(config.json\) and differs from this recipe "
        # (legacy workdirs were trained with Keras Adam; the gan_toy recipe is adam_tf1 now)
        r"\(g_opt\.kind: workdir 'adam', now 'adam_tf1'; d_opt\.kind: workdir 'adam', now "
        r"'adam_tf1'; model\.args\.hidden: workdir \[32, 32\], now \[8\]\)", s_other_model_legacy),
    Row("workdir_recipe_unreadable", TOY + [SMALL, "--workdir={tmp}/w"], 2,
        r"recipe.json is unreadable", s_corrupt_recipe),
    Row("workdir_config_unreadable", TOY + [SMALL, "--workdir={tmp}/w"], 2,
        r"config.json is unreadable", s_corrupt_config),
    Row("checkpoint_of_another_architecture",
        TOY + ['--net={"hidden": [16, 16]}', "--workdir={tmp}/w"], 2,
        r"checkpoint .*ckpt-2 does not fit this model \(another architecture", s_checkpoint_other_arch),
    Row("checkpoints_all_corrupt", TOY + [SMALL, "--steps=4", "--workdir={tmp}/w"], 2,
        r"no checkpoint in .*checkpoints is readable \(ckpt-2 .*ckpt-1 .*\): restore the folder",
        s_checkpoints_corrupt),
    Row("workdir_in_use", TOY + [SMALL, "--steps=4", "--workdir={tmp}/w"], 2,
        r"--workdir .*w is in use by a running training process \(pid \d+\)", s_workdir_in_use),
    Row("checkpoint_name_escapes", WGAN + ["--checkpoint=../../etc/secret"], 2,
        r"'../../etc/secret' is not a checkpoint name"),
    Row("checkpoint_name_unknown", WGAN + ["--checkpoint=no_such_generator"], 2,
        r"no generator named 'no_such_generator'"),
    Row("checkpoint_sha256_mismatch", ["repro.checkpoints", "evaluate", "{tmp}/g.keras"], 2,
        r"weight file .*g.keras has sha256 .* expects 0000", s_keras_bad_sha),
    Row("checkpoint_sidecar_unreadable", ["repro.checkpoints", "evaluate", "{tmp}/g.keras"], 2,
        r"cannot read .*g.keras.json", s_keras_bad_sidecar),
    Row("checkpoint_show_escapes", ["repro.checkpoints", "show", "../manifest"], 2,
        r"'../manifest' is not a checkpoint name"),
    # registry / verify
    Row("verify_unknown_paper", ["repro.verify", "--paper=wgan_gp3"], 2,
        r"no registry file for --paper=wgan_gp3 in .*; choose one of"),
    Row("verify_paper_escapes", ["repro.verify", "--paper=../README"], 2,
        r"no registry file for --paper=../README"),
    Row("verify_unknown_entry", ["repro.verify", "--paper=wgan", "--entry=nope"], 2,
        r"wgan has no entry 'nope'; entries:"),
    Row("verify_registry_unreadable", ["repro.verify", "--paper=wgan", "--registry={tmp}/reg"], 2,
        r"cannot read registry file .*reg/wgan.toml", s_registry),
    # metrics: python -m repro.metrics.fid
    Row("stats_missing_key", ["repro.metrics.fid", "{tmp}/nokey.npz", "{tmp}/good3.npz"], 2,
        r"statistics file .*nokey.npz lacks key\(s\) sigma", s_stats),
    Row("stats_wrong_dimensions", ["repro.metrics.fid", "{tmp}/dims.npz", "{tmp}/good3.npz"], 2,
        r"dims.npz: sigma must be \[d, d\]", s_stats),
    Row("stats_not_a_zip", ["repro.metrics.fid", "{tmp}/corrupt.npz", "{tmp}/good3.npz"], 2,
        r"cannot read statistics file .*corrupt.npz", s_stats),
    Row("stats_truncated", ["repro.metrics.fid", "{tmp}/truncated.npz", "{tmp}/good3.npz"], 2,
        r"truncated.npz", s_stats),
    Row("stats_pickled_object_array", ["repro.metrics.fid", "{tmp}/pickled.npz",
                                       "{tmp}/good3.npz"], 2,
        r"cannot read statistics file .*pickled.npz: Object arrays cannot be loaded when "
        r"allow_pickle=False", s_stats),
    Row("stats_nan", ["repro.metrics.fid", "{tmp}/nan.npz", "{tmp}/good3.npz"], 2,
        r"nan.npz contains NaN or Inf values", s_stats),
    Row("stats_feature_dims_differ", ["repro.metrics.fid", "{tmp}/good4.npz", "{tmp}/good3.npz"],
        2, r"good4.npz has 4-d features and .*good3.npz has 3-d", s_stats),
    Row("stats_not_found", ["repro.metrics.fid", "{tmp}/missing.npz", "{tmp}/good3.npz"], 2,
        r"statistics file .*missing.npz not found", s_stats),
    Row("fid_one_path", ["repro.metrics.fid", "{tmp}/good3.npz"], 2,
        r"only one path given", s_stats),
    Row("fid_unknown_extractor", ["repro.metrics.fid", "{tmp}/imgs", "{tmp}/imgs",
                                  "--extractor=vgg"], 2, r"unknown --extractor=vgg", s_images),
    Row("fid_folder_without_images", ["repro.metrics.fid", "{tmp}/empty", "{tmp}/empty"], 2,
        r"no .png/.jpg images in .*empty", s_empty_dir),
    Row("fid_fewer_than_two_samples", ["repro.metrics.fid", "{tmp}/one", "{tmp}/one_more",
                                       "--extractor=fake"], 2,
        r"need at least 2 samples", s_one_image),
    Row("inception_graph_path_wrong", ["repro.metrics.fid", "{tmp}/imgs", "{tmp}/imgs",
                                       "--inception_graph={tmp}/nowhere/graph.pb"], 1,
        r"nowhere/graph.pb", s_images),
    Row("inception_graph_not_a_graph", ["repro.metrics.fid", "{tmp}/imgs", "{tmp}/imgs",
                                        "--inception_graph={tmp}/graph.pb"], 2,
        r"graph.pb", s_garbage_graph),
    Row("images_wrong_shape", ["repro.metrics.fid", "{tmp}/rgb", "{tmp}/gray",
                               "--extractor=fashion_mnist_cnn"], 2,
        r"32.*28|28.*32", s_rgb_images),
]

assert len(ROWS) >= 30 and len({r.id for r in ROWS}) == len(ROWS)


# ---- running ------------------------------------------------------------------------------------

def _fill(text, tmp):
  return text.replace("{tmp}", tmp)


def _snapshot(folder):
  """{path: (sha256, mtime_ns)} of every file under `folder`."""
  out = {}
  for dirpath, _, files in os.walk(folder):
    for name in files:
      if name == ".lock":   # the workdir lock of a run: rewritten by every run, holds no result
        continue
      path = os.path.join(dirpath, name)
      with open(path, "rb") as f:
        out[path] = (hashlib.sha256(f.read()).hexdigest(), os.stat(path).st_mtime_ns)
  return out


def _run_row(row, tmp, small_run):
  os.makedirs(tmp, exist_ok=True)
  undo = row.setup(tmp, small_run) if row.setup else None
  try:
    before = _snapshot(tmp)
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("TF_CONFIG", None)
    env.pop("TFDS_DATA_DIR", None)
    env.update({k: _fill(v, tmp) for k, v in (row.env or {}).items()})
    argv = [sys.executable, "-m"] + [_fill(a, tmp) for a in row.argv]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return result, before, _snapshot(tmp)
  finally:
    if undo:
      undo()


@pytest.fixture(scope="session")
def outcomes(request, tmp_path_factory, small_run):
  """Runs the selected rows, three at a time."""
  wanted = {item.callspec.params["row"].id for item in request.session.items
            if getattr(item, "callspec", None) and "row" in item.callspec.params
            and item.originalname == "test_bad_input"}
  root = str(tmp_path_factory.mktemp("bad_inputs"))
  rows = [r for r in ROWS if r.id in wanted]
  with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
    futures = {r.id: pool.submit(_run_row, r, os.path.join(root, r.id), small_run) for r in rows}
    return {k: f.result() for k, f in futures.items()}


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input(row, outcomes):
  result, before, after = outcomes[row.id]
  lines = [l for l in result.stderr.splitlines() if l.strip()]
  assert result.returncode == row.code, (result.returncode, result.stderr[-3000:])
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-3000:]
  assert re.search(row.message, lines[0]), lines[0]
  changed = [p for p, v in before.items() if after.get(p) != v]
  assert not changed, f"files changed or removed: {changed}"


def test_the_table_covers_every_area():
  areas = collections.Counter(r.argv[0] for r in ROWS)
  assert areas["repro.papers.wgan"] >= 20 and areas["repro.metrics.fid"] >= 10
  assert areas["repro.verify"] >= 3 and areas["repro.checkpoints"] >= 2
