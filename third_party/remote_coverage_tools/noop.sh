#!/bin/sh
# Stand-in for @remote_coverage_tools: `bazel coverage` is not supported offline.
echo "remote_coverage_tools is stubbed (offline); bazel coverage is unsupported" >&2
exit 1
