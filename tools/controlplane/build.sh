#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd for meshlb's tests and the lab, from the
# Go module proxy, once. Prints the bin directory on stdout (progress on stderr).
#
#   tools/controlplane/build.sh            # → ~/.cache/meshlb/controlplane-…/bin
#
# The cache key is the versions plus a hash of the committed wrapper modules
# and this script (kube/go.mod, kube/go.sum, etcd/go.mod, etcd/go.sum, build.sh), so a version bump
# (tools/controlplane/regen.sh) builds anew and a second call builds nothing.
# MESHLB_CACHE_DIR overrides ~/.cache/meshlb. Concurrent calls are serialised by
# a lock; the result appears atomically (built in a temp dir, then renamed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.5
cache="${MESHLB_CACHE_DIR:-$HOME/.cache/meshlb}"
sum="$(cat "$here"/build.sh "$here"/kube/go.mod "$here"/kube/go.sum "$here"/etcd/go.mod "$here"/etcd/go.sum | sha256sum | cut -c1-12)"
dir="$cache/controlplane-k8s-$K8S_VERSION-etcd-$ETCD_VERSION-$sum"
bin="$dir/bin"
say() { echo "meshlb-controlplane: $*" >&2; }

if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kubectl" ] && [ -x "$bin/etcd" ]; then
  echo "$bin"
  exit 0
fi

go=go
command -v go >/dev/null 2>&1 || go=/usr/local/go/bin/go
if ! command -v "$go" >/dev/null 2>&1; then
  say "Go is needed once to build kube-apiserver, kubectl and etcd (it is not part of meshlb): install Go 1.24+ and run this again"
  exit 1
fi

mkdir -p "$cache"
exec 9>"$cache/controlplane.lock"
flock 9
if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kubectl" ] && [ -x "$bin/etcd" ]; then
  echo "$bin" # another caller built it while we waited
  exit 0
fi

start=$SECONDS
tmp="$(mktemp -d "$cache/.build-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
say "building kube-apiserver, kubectl ($K8S_VERSION) and etcd ($ETCD_VERSION) from the Go module proxy; the first build takes about 4 minutes"
(cd "$here/etcd" && "$go" build -trimpath -ldflags="-X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" -o "$tmp/bin/etcd" go.etcd.io/etcd/server/v3)
say "etcd built ($((SECONDS - start)) s)"
# Kubernetes' own build stamps its version with -X; without it /version says v0.0.0-master.
minor="$(cut -d. -f2 <<<"$K8S_VERSION")"
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
(cd "$here/kube" && "$go" build -trimpath -ldflags="$ldflags" -o "$tmp/bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
say "kube-apiserver and kubectl built ($((SECONDS - start)) s)"
printf '%s\n' "k8s $K8S_VERSION" "etcd $ETCD_VERSION" "built in $((SECONDS - start)) s on $(date -u +%FT%TZ)" >"$tmp/BUILD"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$bin"
