#!/usr/bin/env bash
# The whole test suite, from nothing: installs what is missing, builds, runs
# every test registered with ctest (unit, integration on the embedded broker
# and on a real Kafka broker, the replay/eval command line). Extra arguments
# go to ctest (e.g. -L unit, -R Restart).
#
# In CI (CI=true), or with SANITIZE=1, a second pass follows: an
# AddressSanitizer + UBSan build in build-asan/ running the unit and
# embedded-broker tests (the real-broker tests run once, in the first pass:
# they exercise Kafka more than our memory handling).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
(cd "${BUILD_DIR:-$root/build}" && ctest --output-on-failure --timeout 900 -j "${JOBS:-$(nproc)}" "$@")

if [ "${CI:-}" = "true" ] || [ "${SANITIZE:-}" = "1" ]; then
  echo "test: sanitizer pass (ASan + UBSan)" >&2
  asan="$root/build-asan"
  cmake -S "$root" -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECSTREAM_SANITIZE=ON \
    -DRECSTREAM_BUILD_BENCH=OFF >/dev/null
  cmake --build "$asan" -j "${JOBS:-$(nproc)}"
  (cd "$asan" && ctest --output-on-failure --timeout 900 -j "${JOBS:-$(nproc)}" -E "RealKafka|CrashTest" "$@")
fi
