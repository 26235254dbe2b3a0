#!/usr/bin/env bash
# Builds helm (v3) for meshlb's tests of deploy/helm/, from the Go module proxy,
# once. Prints the path of the helm binary on stdout (progress on stderr).
#
#   tools/helm/build.sh            # → ~/.cache/meshlb/helm-v3.19.5-<hash>/helm
#
# The cache key is the version plus a hash of this script, so a version bump (or
# any change here) builds anew and a second call builds nothing. MESHLB_CACHE_DIR
# overrides ~/.cache/meshlb. Concurrent calls are serialised by a lock; the
# result appears atomically (built in a temp dir, then renamed). Go is needed
# only for this build; meshlb contains no Go.
#
# helm.sh/helm/v3's go.mod has no replace directives, so a module-mode
# `go install helm.sh/helm/v3/cmd/helm@VERSION` builds it exactly as released
# (dependencies pinned by its go.sum, verified against the checksum database).
# v3.19 is built on the Kubernetes v0.34 libraries, as the test control plane
# (tools/controlplane, v1.34.4) is.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HELM_VERSION=v3.19.5
K8S_MINOR=34 # the Kubernetes minor of helm's client-go: .Capabilities.KubeVersion of `helm template`
cache="${MESHLB_CACHE_DIR:-$HOME/.cache/meshlb}"
sum="$(sha256sum "$here/build.sh" | cut -c1-12)"
dir="$cache/helm-$HELM_VERSION-$sum"
say() { echo "meshlb-helm: $*" >&2; }

if [ -x "$dir/helm" ]; then
  echo "$dir/helm"
  exit 0
fi

go=go
command -v go >/dev/null 2>&1 || go=/usr/local/go/bin/go
if ! command -v "$go" >/dev/null 2>&1; then
  say "Go is needed once to build helm (it is not part of meshlb): install Go 1.24+ and run this again"
  exit 1
fi

mkdir -p "$cache"
exec 9>"$cache/helm.lock"
flock 9
if [ -x "$dir/helm" ]; then
  echo "$dir/helm" # another caller built it while we waited
  exit 0
fi

start=$SECONDS
tmp="$(mktemp -d "$cache/.build-helm-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Module mode, outside any module or workspace; the caller's GOFLAGS (e.g.
# -mod=vendor) would not apply to `go install pkg@version` and could break it.
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOWORK=off GO111MODULE=on GOBIN="$tmp"
# Helm's Makefile stamps these with -X; without them `helm version` says v3.19 and
# `helm template` assumes Kubernetes v1.20.
ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$K8S_MINOR"
done
say "building helm $HELM_VERSION from the Go module proxy; the first build takes about 2 minutes"
(cd "$tmp" && "$go" install -trimpath -ldflags="$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
"$tmp/helm" version --short >/dev/null
printf '%s\n' "helm $HELM_VERSION" "built in $((SECONDS - start)) s on $(date -u +%FT%TZ)" >"$tmp/BUILD"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir/helm"
