#!/usr/bin/env bash
# Prints the path of a Helm binary for the chart's tests (docker/helm/),
# building one when none is on PATH. No Debian package serves Helm, so it is
# built from its Go module (helm.sh/helm/v4) into the git-ignored
# scripts/.helm/bin, once (a few minutes on 2 cores; the module cache makes
# a rebuild quick).
#
# Usage: scripts/helm.sh            print the path (build first if needed)
# Environment:
#   HELM_VERSION     module version to build (default v4.3.2)
#   HELM_CACHE_DIR   where the built binary goes (default scripts/.helm)
#   GO               the go command (default: go on PATH, else /usr/local/go/bin/go)
#
# Exit codes: 0 ok (path on stdout); 1 the build failed; 3 neither helm nor
# go is available (tests skip on 3, except in CI).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${HELM_CACHE_DIR:-$here/.helm}
version=${HELM_VERSION:-v4.3.2}

if command -v helm >/dev/null 2>&1; then
  command -v helm
  exit 0
fi
bin=$cache/bin/helm
if [ -x "$bin" ] && [ "$(cat "$cache/version" 2>/dev/null)" = "$version" ]; then
  echo "$bin"
  exit 0
fi
go=${GO:-$(command -v go 2>/dev/null || true)}
[ -z "$go" ] && [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go
if [ -z "$go" ]; then
  echo "helm.sh: neither helm nor go found" >&2
  exit 3
fi
mkdir -p "$cache/bin"
echo "helm.sh: building helm $version from helm.sh/helm/v4 (once)" >&2
if ! GOBIN="$cache/bin" GOFLAGS=-buildvcs=false "$go" install "helm.sh/helm/v4/cmd/helm@$version" >&2; then
  echo "helm.sh: go install helm.sh/helm/v4/cmd/helm@$version failed" >&2
  exit 1
fi
echo "$version" > "$cache/version"
echo "$bin"
