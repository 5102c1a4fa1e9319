"""The README's "Using the suite from Python" example runs as written (in a fresh process, from the
repository root, as a user would paste it)."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_example():
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    text = f.read()
  block = re.search(r"<!-- python-example -->\n```python\n(.*?)```\n<!-- /python-example -->", text,
                    re.S)
  assert block, "README.md lost its python-example block"
  return block.group(1)


def test_readme_python_example_runs(tmp_path):
  code = readme_example().replace('"runs/python_example', f'"{tmp_path}/python_example')
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                        env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3"),
                        timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "of 8 modes after 20 steps" in proc.stdout
  recorded = (tmp_path / "python_example" / "recipe.json").read_text()
  assert '"gp_weight": 0.5' in recorded and '"steps": 20' in recorded
