#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd for meshlb's tests and the lab, from the
# Go module proxy, once. Prints the bin directory on stdout (progress on stderr).
#
#   tools/controlplane/build.sh            # → ~/.cache/meshlb/controlplane-…/bin
#   tools/controlplane/build.sh min        # the oldest supported kube-apiserver and kubectl
#                                          # (K8S_MIN_VERSION, wrapper kube-min/), with the same etcd
#
# The cache key is the versions plus a hash of the committed wrapper modules
# and this script (kube/go.mod, kube/go.sum, etcd/go.mod, etcd/go.sum, build.sh), so a version bump
# (tools/controlplane/regen.sh) builds anew and a second call builds nothing.
# MESHLB_CACHE_DIR overrides ~/.cache/meshlb; locking and caching: tools/lib/build.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/build.sh"
K8S_VERSION=v1.34.4
# The oldest Kubernetes meshlb supports (Chart.yaml kubeVersion, docs/install.md):
# the IPPool CEL rules use two-variable `exists`, which v1.32.13's API server
# refuses ("undeclared reference to 'exists'"): 1.33. scripts/test runs the
# API-server tests against it too.
K8S_MIN_VERSION=v1.33.13
ETCD_VERSION=v3.6.5
kube=kube
if [ "${1:-}" = min ]; then
  K8S_VERSION=$K8S_MIN_VERSION
  kube=kube-min
fi
sum="$(cat "$here"/build.sh "$here"/../lib/build.sh "$here/$kube"/go.mod "$here/$kube"/go.sum "$here"/etcd/go.mod "$here"/etcd/go.sum | sha256sum | cut -c1-12)"
dir="$MESHLB_CACHE/controlplane-k8s-$K8S_VERSION-etcd-$ETCD_VERSION-$sum"
say() { echo "meshlb-controlplane: $*" >&2; }

tools_cached "$dir" kube-apiserver kubectl etcd
go="$(tools_go)"
tools_lock controlplane
tools_cached "$dir" kube-apiserver kubectl etcd # another caller built it while we waited

start=$SECONDS
tmp="$(mktemp -d "$MESHLB_CACHE/.build-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
say "building kube-apiserver, kubectl ($K8S_VERSION) and etcd ($ETCD_VERSION) from the Go module proxy; the first build takes about 4 minutes"
(cd "$here/etcd" && "$go" build -trimpath -ldflags="-X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" -o "$tmp/bin/etcd" go.etcd.io/etcd/server/v3)
say "etcd built ($((SECONDS - start)) s)"
(cd "$here/$kube" && "$go" build -trimpath -ldflags="$(tools_k8s_ldflags "$K8S_VERSION")" -o "$tmp/bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
say "kube-apiserver and kubectl built ($((SECONDS - start)) s)"
printf '%s\n' "k8s $K8S_VERSION" "etcd $ETCD_VERSION" "built in $((SECONDS - start)) s on $(date -u +%FT%TZ)" >"$tmp/BUILD"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir/bin"
