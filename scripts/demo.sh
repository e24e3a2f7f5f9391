#!/usr/bin/env bash
# The main job, from nothing: installs what is missing, builds, then runs the
# processor on the embedded Kafka broker fed by the sample-event generator,
# prints a few recommendation lists and a summary, and exits.
# Extra arguments go to `recstream demo` (e.g. -n 50000, --set key=value).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh" >&2
exec "${BUILD_DIR:-$root/build}/app/recstream" demo "$@"
