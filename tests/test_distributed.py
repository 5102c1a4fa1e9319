"""tf.distribute: MirroredStrategy on 2 logical CPUs agrees with one device (losses every step,
the gradient penalty per replica, the weights), and MultiWorkerMirroredStrategy with two local
worker processes on loopback ports trains, only the chief writes, and the pair resumes after a
worker is killed. Both run in subprocesses: logical devices and the collective runtime must be set
up before TensorFlow starts."""

import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_MIRRORED = r"""
import json, sys
import numpy as np
from repro.train import distribute
n = int(sys.argv[1])
distribute.split_cpu(n)
import tensorflow as tf
from repro.losses import wgan
from repro.recipe import make, n_critic_at
from repro.train.runner import Trainer
strategy = (tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(n)])
            if n > 1 else tf.distribute.get_strategy())
# Adam epsilon 1e-4 (not 1e-8): a weight whose gradient is zero in exact arithmetic (a critic bias
# of a unit active on every example: the real and fake terms cancel) gets a round-off gradient of
# ~1e-9 whose value depends on the replicas' summation order, and Adam turns it into a step of
# ~0.1 lr; a larger epsilon keeps such steps at round-off size and barely changes the others.
recipe = make("test", "8gaussians", "mlp", model=dict(hidden=(16, 16)),
              objective=("wgan", dict(gp_weight=0.1)), z_dim=2, batch_size=32, steps=4,
              n_critic=2, g_lr=1e-3, d_lr=1e-3, epsilon=1e-4, seed=5, eval_every=1000,
              log_every=1000)
trainer = Trainer(recipe, sys.argv[2], strategy=strategy, deterministic=True, quiet=True)
terms = []
for step in range(recipe.steps):
  t, _ = trainer._traced_step(tf.constant(n_critic_at(recipe, step), tf.int32))
  terms.append({k: float(v) for k, v in t.items()})

# The penalty computed per replica on its slice, averaged over replicas, is the penalty of the
# global batch (each replica holds an equal share and the penalty is a mean over examples).
rng = np.random.default_rng(0)
real = tf.constant(rng.normal(size=(32, 2)), tf.float32)
fake = tf.constant(rng.normal(size=(32, 2)), tf.float32)
alpha = tf.constant(rng.uniform(size=(32,)), tf.float32)

def replica_gp():
  ctx = tf.distribute.get_replica_context()
  per = 32 // ctx.num_replicas_in_sync
  s = slice(ctx.replica_id_in_sync_group * per, (ctx.replica_id_in_sync_group + 1) * per)
  return wgan.gradient_penalty(trainer.critic, real[s], fake[s], alpha=alpha[s])

gp = strategy.reduce(tf.distribute.ReduceOp.MEAN, strategy.run(tf.function(replica_gp)), axis=None)
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "terms": terms, "gp": float(gp),
                  "weights": [w.numpy().tolist() for w in
                              trainer.generator.weights + trainer.critic.weights]}))
"""


def test_two_logical_cpus_agree_with_one_device(tmp_path):
  out = {}
  procs = {n: subprocess.Popen([sys.executable, "-c", _MIRRORED, str(n), str(tmp_path / str(n))],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
           for n in (1, 2)}
  for n, proc in procs.items():
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-2000:]
    out[n] = json.loads(stdout.strip().splitlines()[-1])
  assert out[1]["replicas"] == 1 and out[2]["replicas"] == 2
  for step, (a, b) in enumerate(zip(out[1]["terms"], out[2]["terms"])):
    assert a.keys() == b.keys() and "critic/gradient_penalty" in a
    for k in a:
      if k.endswith("grad_norm"):   # a diagnostic: the norm of each replica's own share, averaged
        continue
      assert abs(a[k] - b[k]) <= 1e-5 * max(1.0, abs(a[k])), (step, k, a[k], b[k])
  assert abs(out[1]["gp"] - out[2]["gp"]) <= 1e-6 * max(1.0, abs(out[1]["gp"]))
  for a, b in zip(out[1]["weights"], out[2]["weights"]):
    assert np.max(np.abs(np.asarray(a) - np.asarray(b))) <= 1e-5


# ---- MultiWorkerMirroredStrategy -------------------------------------------------------------

def _free_ports(n):
  socks = []
  for _ in range(n):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
  ports = [s.getsockname()[1] for s in socks]
  for s in socks:
    s.close()
  return ports


def _ckpt_steps(workdir):
  return sorted(int(re.search(r"ckpt-(\d+)\.index$", p).group(1))
                for p in glob.glob(os.path.join(workdir, "checkpoints", "ckpt-*.index")))


class Cluster:
  """Two `python -m repro.papers.wgan --strategy=multiworker` workers on loopback ports."""

  def __init__(self, tmp_path, workdir, steps, tag):
    self.workdir, self.logs = workdir, tmp_path
    ports = _free_ports(2)
    self.procs, self.tmpdirs, self.files = [], [], []
    for i in range(2):
      tf_config = {"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                   "task": {"type": "worker", "index": i}}
      tmpdir = tmp_path / f"tmp_{tag}_{i}"   # where a worker's own temporary files go
      tmpdir.mkdir()
      self.tmpdirs.append(tmpdir)
      env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), TMPDIR=str(tmpdir),
                 PYTHONUNBUFFERED="1")
      out = open(tmp_path / f"{tag}_{i}.out", "w")
      err = open(tmp_path / f"{tag}_{i}.err", "w")
      self.files.append((out, err))
      self.procs.append(subprocess.Popen(
          [sys.executable, "-m", "repro.papers.wgan", "--dataset=8gaussians", "--variant=gp",
           "--strategy=multiworker", f"--workdir={workdir}", f"--steps={steps}",
           "--batch_size=32", "--n_critic=2", "--save_every=5", "--log_every=5",
           f"--eval_every={steps}", '--net={"hidden": [16, 16]}', "--deterministic"],
          cwd=ROOT, env=env, stdout=out, stderr=err))
    self.tag = tag

  def output(self, i):
    return ((self.logs / f"{self.tag}_{i}.out").read_text(),
            (self.logs / f"{self.tag}_{i}.err").read_text())

  def wait(self, i, timeout):
    try:
      return self.procs[i].wait(timeout=timeout)
    except subprocess.TimeoutExpired:
      self.kill()
      raise

  def kill(self):
    for p in self.procs:
      if p.poll() is None:
        p.send_signal(signal.SIGKILL)
        p.wait()

  def close(self):
    self.kill()
    for out, err in self.files:
      out.close()
      err.close()


_SINGLE = r"""
import json, sys
import tensorflow as tf
from repro.papers import wgan
from repro.train.runner import Trainer
recipe = wgan.recipe("8gaussians", variant="gp", net={"hidden": [16, 16]}, batch_size=32, steps=10,
                     n_critic=2, save_every=5, eval_every=10, log_every=5)   # the workers' flags
trainer = Trainer(recipe, sys.argv[1], deterministic=True, quiet=True)
trainer.train()
"""


def test_multiworker_trains_chief_writes_and_resumes_after_a_worker_is_killed(tmp_path):
  workdir = tmp_path / "run"
  # 1. Two workers train 10 steps; at the same time one process trains the same recipe
  #    (wgan.py's 8gaussians gp settings, Adam 1e-4, seed 0, with the flags) on one device.
  single = subprocess.Popen([sys.executable, "-c", _SINGLE, str(tmp_path / "single")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  cluster = Cluster(tmp_path, workdir, steps=10, tag="first")
  try:
    for i in (0, 1):
      assert cluster.wait(i, timeout=900) == 0, cluster.output(i)
    chief_out, chief_err = cluster.output(0)
    worker_out, worker_err = cluster.output(1)
  finally:
    cluster.close()
  assert "step 10/10" in chief_out, chief_out
  assert "step " not in worker_out        # only the chief prints progress
  assert "Traceback" not in chief_err + worker_err
  assert _ckpt_steps(workdir) == [5, 10]
  assert glob.glob(str(workdir / "tensorboard" / "events.out.tfevents.*"))
  assert sorted(os.listdir(workdir / "samples")) == ["step_0000010.png"]
  # Only the chief wrote: one events file, no worker folders in the workdir, and the worker's
  # private checkpoint folder is gone from its temp dir.
  assert len(glob.glob(str(workdir / "tensorboard" / "*"))) == 1
  assert sorted(p for p in os.listdir(workdir)) == [
      ".lock", "checkpoints", "eval.jsonl", "recipe.json", "samples", "tensorboard"]
  assert not list(cluster.tmpdirs[1].glob("repro_worker_ckpt_*"))
  # The two workers (one replica each, 16 examples apiece) match one device with the batch of 32.
  _, single_err = single.communicate(timeout=900)
  assert single.returncode == 0, single_err[-2000:]
  import tensorflow as tf
  a = tf.train.load_checkpoint(str(workdir / "checkpoints" / "ckpt-10"))
  b = tf.train.load_checkpoint(str(tmp_path / "single" / "checkpoints" / "ckpt-10"))
  compared = 0
  for key, dtype in a.get_variable_to_dtype_map().items():
    if dtype == tf.float32:   # both networks (held by the optimizers) and the Adam moments
      np.testing.assert_allclose(a.get_tensor(key), b.get_tensor(key), rtol=0, atol=1e-5,
                                 err_msg=key)
      compared += 1
  assert compared >= 24

  # 2. The pair trains on to step 60; worker 1 is killed once a checkpoint past 10 exists. The
  #    chief notices (TF's cluster health check), exits 4 with one line saying how to resume.
  cluster = Cluster(tmp_path, workdir, steps=60, tag="killed")
  try:
    deadline = time.time() + 900
    while time.time() < deadline and max(_ckpt_steps(workdir)) < 15:
      assert cluster.procs[0].poll() is None, cluster.output(0)
      time.sleep(0.05)
    killed_after = max(_ckpt_steps(workdir))
    assert 15 <= killed_after < 60
    cluster.procs[1].send_signal(signal.SIGKILL)
    cluster.procs[1].wait()
    code = cluster.wait(0, timeout=300)
    chief_out, chief_err = cluster.output(0)
  finally:
    cluster.close()
  assert "resumed from" in chief_out and "at step 10" in chief_out, chief_out
  assert code == 4, (chief_out, chief_err[-3000:])
  error_lines = [l for l in chief_err.splitlines() if l.startswith("error: ")]
  assert len(error_lines) == 1 and "lost contact with a worker" in error_lines[0], chief_err[-3000:]
  assert "restart every worker with the same --workdir" in error_lines[0]
  assert "Traceback" not in chief_err

  # 3. Both restarted: they resume from the chief's newest checkpoint and finish.
  resume_from = max(_ckpt_steps(workdir))
  cluster = Cluster(tmp_path, workdir, steps=60, tag="resumed")
  try:
    for i in (0, 1):
      assert cluster.wait(i, timeout=900) == 0, cluster.output(i)
    chief_out, chief_err = cluster.output(0)
  finally:
    cluster.close()
  assert f"at step {resume_from}" in chief_out and "step 60/60" in chief_out, chief_out
  assert max(_ckpt_steps(workdir)) == 60
