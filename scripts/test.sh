#!/usr/bin/env bash
# The whole test suite, from nothing: installs what is missing, builds, runs
# every test registered with ctest (unit, integration on the embedded broker
# and on a real Kafka broker, the replay/eval command line). Extra arguments
# go to ctest (e.g. -L unit, -R Restart).
#
# In CI (CI=true), or with SANITIZE=1, a second pass follows: an
# AddressSanitizer + UBSan build in build-asan/ running the unit and
# embedded-broker tests (the real-broker tests run once, in the first pass:
# they exercise Kafka more than our memory handling), then the libFuzzer
# target on the parser (clang, tests/fuzz/) for FUZZ_SECONDS (default 60).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
# Helm for the chart's test, built from its Go module the first time
# (scripts/helm.sh); the test fails in CI and skips elsewhere without it.
"$root/scripts/helm.sh" >/dev/null || true
build_dir=${BUILD_DIR:-$root/build}
(cd "$build_dir" && ctest --output-on-failure --timeout 900 -j "${JOBS:-$(nproc)}" "$@")
# ctest shows a passing test's output only in its log: repeat the figures the
# fault tests print (crash/restart, failing state store, rebalance, outage).
summary=$(grep -E '^\[ (crash|fault|rebalance|outage) \]' "$build_dir/Testing/Temporary/LastTest.log" 2>/dev/null || true)
[ -z "$summary" ] || printf 'test: fault-test figures\n%s\n' "$summary"

if [ "${CI:-}" = "true" ] || [ "${SANITIZE:-}" = "1" ]; then
  echo "test: sanitizer pass (ASan + UBSan)" >&2
  asan="$root/build-asan"
  cmake -S "$root" -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECSTREAM_SANITIZE=ON \
    -DRECSTREAM_BUILD_BENCH=OFF >/dev/null
  cmake --build "$asan" -j "${JOBS:-$(nproc)}"
  (cd "$asan" && ctest --output-on-failure --timeout 900 -j "${JOBS:-$(nproc)}" -E "RealKafka|CrashTest" "$@")

  # libFuzzer on the parser (tests/fuzz/README.md), seeded with the
  # malformed corpus; a copy, because libFuzzer adds what it finds to it.
  echo "test: fuzzing the parser for ${FUZZ_SECONDS:-60} s" >&2
  fuzz="$root/build-fuzz"
  cmake -S "$root" -B "$fuzz" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRECSTREAM_FUZZ=ON -DRECSTREAM_BUILD_TESTS=OFF -DRECSTREAM_BUILD_BENCH=OFF >/dev/null
  cmake --build "$fuzz" -j "${JOBS:-$(nproc)}" --target fuzz_parse
  rm -rf "$fuzz/corpus" && mkdir -p "$fuzz/corpus"
  cp "$root"/tests/data/malformed/*.msg "$fuzz/corpus/"
  if ! (cd "$fuzz" && tests/fuzz/fuzz_parse -max_total_time="${FUZZ_SECONDS:-60}" -print_final_stats=1 \
      corpus >fuzz.log 2>&1); then
    tail -n 60 "$fuzz/fuzz.log" >&2
    echo "test: the fuzzer found a failing input (crash-* in $fuzz, log $fuzz/fuzz.log)" >&2
    exit 1
  fi
  grep -E '^(Done |stat::number_of_executed_units|stat::new_units_added)' "$fuzz/fuzz.log" || true
fi
