"""Entry point for the Bazel py_test targets in //:BUILD: runs pytest on the files given as arguments.

`bazel test //:test_foo` runs `pytest -q tests/test_foo.py` from the runfiles tree. Also usable by hand:
`python tests/pytest_main.py tests/test_foo.py`.
"""

import os
import sys

import pytest


def main(argv):
  args = ["-q", "-p", "no:cacheprovider"]  # the runfiles tree is not the place for .pytest_cache
  xml = os.environ.get("XML_OUTPUT_FILE")  # set by `bazel test`: per-test-case results
  if xml:
    args.append("--junitxml=" + xml)
  only = os.environ.get("TESTBRIDGE_TEST_ONLY")  # set by `bazel test --test_filter=...`
  if only:
    args += ["-k", only]
  return pytest.main(args + list(argv))


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
