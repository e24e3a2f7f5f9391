#!/usr/bin/env bash
# The whole test suite, from nothing: installs what is missing, builds, runs
# every test registered with ctest (unit, then integration on the embedded
# broker and the replay/eval command line). Extra arguments go to ctest
# (e.g. -L unit, -R Restart).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
cd "${BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 900 -j "${JOBS:-$(nproc)}" "$@"
