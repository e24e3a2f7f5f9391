#!/usr/bin/env bash
# Installs the Debian packages recstream builds and tests with. Idempotent:
# prints nothing and changes nothing when every package is already present.
# Usage: scripts/setup.sh            (build + test dependencies)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev          # Kafka client and its in-process mock cluster
  librocksdb-dev          # state
  libssl-dev              # HMAC-SHA256 of user ids (state/user_key.h)
  libsimdjson-dev         # input parsing
  libtomlplusplus-dev     # configuration files
  libcli11-dev            # command line
  libspdlog-dev           # logging
  libeigen3-dev           # model linear algebra
  libboost-dev libboost-system-dev  # admin HTTP (Asio/Beast)
  libgtest-dev libgmock-dev         # tests
  libbenchmark-dev                  # micro-benchmarks
  clang libclang-rt-14-dev          # libFuzzer target (tests/fuzz, CI only)
  python3-confluent-kafka           # examples/ (Python producer and consumer) and their test
  python3-jsonschema                # the test that validates messages against configs/schemas/
  python3-yaml                      # the Helm chart's test reads the rendered manifests
  gnuplot-nox                       # the plots of `recstream eval --report`
  chromium                          # the report test opens the page headless
  prometheus                        # promtool: checks /metrics and the alert rules in tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
