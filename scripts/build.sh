#!/usr/bin/env bash
# Installs what is missing, configures and builds recstream into build/
# (Release unless BUILD_TYPE says otherwise). Extra arguments go to cmake.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
build_dir=${BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@" >/dev/null
# Two cores and heavy headers (RocksDB, simdjson): two jobs is the sweet spot.
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}"
