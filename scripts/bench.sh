#!/usr/bin/env bash
# The benchmarks, from nothing: installs what is missing (scripts/setup.sh),
# builds micro_bench and e2e_bench (Release) into build/, runs the
# micro-benchmarks and the end-to-end benchmark on a real Kafka broker
# (scripts/kafka.sh; the embedded broker when java or mvn are missing) in
# backlog and paced mode, with and without coalescing, and prints a table.
# Figures only: nothing fails on timing. About 4-5 minutes on 2 cores.
#
# Environment: BUILD_DIR (default build/), EVENTS (backlog events, 60000),
# RATE (paced events/s, 2000), PACED_EVENTS (20000), COALESCE_MS (100),
# E2E_ARGS (extra e2e_bench options, e.g. "--users 1000000"),
# MICRO_MIN_TIME (seconds per micro-benchmark, 0.2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
events=${EVENTS:-60000}
rate=${RATE:-2000}
paced_events=${PACED_EVENTS:-20000}
coalesce=${COALESCE_MS:-100}
read -r -a extra <<<"${E2E_ARGS:-}"
log=$(mktemp -d "${TMPDIR:-/tmp}/recstream-bench-XXXXXX")

"$root/scripts/setup.sh" >&2
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" -DRECSTREAM_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target micro_bench e2e_bench >&2

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "== micro-benchmarks (Google Benchmark)"
"$build_dir/bench/micro_bench" --benchmark_min_time="${MICRO_MIN_TIME:-0.2}" 2>/dev/null | tee "$log/micro.txt" | grep '^BM_' || true

# The coalescing rows only when this build knows the key.
has_coalesce=0
if "$build_dir/bench/e2e_bench" --check-config --set "processing.coalesce_ms=$coalesce" 2>/dev/null; then has_coalesce=1; fi

run() {  # run NAME ARGS...: one e2e_bench run, its output in $log/NAME.txt
  local name=$1
  shift
  echo "== e2e $name: e2e_bench $*" >&2
  "$build_dir/bench/e2e_bench" "$@" "${extra[@]}" >"$log/$name.txt" 2>"$log/$name.err" || echo "   ($name exited $?; see $log/$name.err)" >&2
  grep -v '^\(BENCH\|CEILING\)' "$log/$name.txt" | sed -n '/^results/,$p' >&2 || true
}
run backlog -n "$events" --ceilings
[ "$has_coalesce" = 1 ] && run backlog-coalesce -n "$events" --set "processing.coalesce_ms=$coalesce"
run paced -n "$paced_events" --rate "$rate"
[ "$has_coalesce" = 1 ] && run paced-coalesce -n "$paced_events" --rate "$rate" --set "processing.coalesce_ms=$coalesce"

field() { grep -o "\b$2=[^ ]*" "$log/$1.txt" 2>/dev/null | head -1 | cut -d= -f2; }
echo
echo "== end to end ($(grep -m1 '^recstream e2e_bench' "$log/backlog.txt" | cut -d, -f1 | sed 's/recstream e2e_bench: //'))"
printf '%-17s %8s %9s %11s %9s %7s %7s %8s %9s %10s %9s %9s\n' run events events/s ev/CPU-s thread-CPU p50ms p99ms p999ms 'RSS MiB' 'user B' lists coalesced
for name in backlog backlog-coalesce paced paced-coalesce; do
  [ -f "$log/$name.txt" ] || continue
  printf '%-17s %8s %9s %11s %9s %7s %7s %8s %9s %10s %9s %9s\n' "$name" "$(field $name events)" \
    "$(field $name events_per_s)" "$(field $name events_per_cpu_s)" "$(field $name thread_cpu_s)" \
    "$(field $name p50_ms)" "$(field $name p99_ms)" "$(field $name p999_ms)" "$(field $name rss_mib)" \
    "$(field $name user_row_bytes)" "$(field $name published)" "$(field $name coalesced)"
done
[ "$has_coalesce" = 1 ] || echo "(coalescing rows skipped: this build has no processing.coalesce_ms)"
echo
echo "== ceilings (same broker, same messages; from the backlog run)"
grep -A6 '^ceilings' "$log/backlog.txt" | tail -n +2 | grep -v '^CEILING' || true
echo
echo "(all output in $log)"
