"""Every benchmark script runs in its --smoke mode (tiny sizes, seconds) and writes its JSON report.

The numbers come from full runs by hand (bench/README.md); this only keeps the scripts working.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("script, extra, keys", [
    ("bench_fid.py", [], {"cases"}),
    ("bench_statistics.py", [], {"smoke"}),
    ("bench_sinkhorn.py", [], {"results", "pot"}),
    ("bench_features.py", [], {"matmul_gflops", "dcgan32_step_flops"}),
    ("bench_prdc.py", [], {"reference", "large"}),
    ("bench_train_step.py", ["--cases=klwgan_kl,dcgan32", "--jit=off"], {"results", "targets"}),
])
def test_benchmark_smoke_mode_writes_its_report(tmp_path, script, extra, keys):
  out = tmp_path / "report.json"
  env = dict(os.environ, PYTHONPATH=ROOT, OPENBLAS_NUM_THREADS="1")
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", script), "--smoke",
                         f"--out={out}"] + extra, cwd=str(tmp_path), env=env,
                        capture_output=True, text=True, timeout=600, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  report = json.loads(out.read_text())
  assert report["smoke"] is True and keys <= set(report), sorted(report)
  assert report["machine"]["cpus"] >= 1
  if script == "bench_train_step.py":
    for case in report["results"]:
      for rate in case["variants"].values():
        assert rate["median"] > 0 and rate["n"] == 1
