#!/usr/bin/env bash
# Builds the rest of a real Kubernetes cluster for meshlb's real-kubelet lab:
# kubelet, kube-proxy, kube-controller-manager and kube-scheduler, at the same
# release as tools/controlplane (kube-apiserver, kubectl, etcd), from the Go
# module proxy, once. Prints the bin directory on stdout (progress on stderr).
#
#   tools/cluster/build.sh            # → ~/.cache/meshlb/cluster-k8s-v1.34.4-…/bin
#
# The cache key is the version plus a hash of the wrapper module (kube/go.mod,
# kube/go.sum) and the build scripts, so a version bump (tools/controlplane/regen.sh
# regenerates this wrapper too) builds anew and a second call builds nothing.
# About 5 minutes cold on 2 cores with the control plane's Go build cache warm
# (the packages they share are compiled once); kubelet is 120 MB, the four 330 MB.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib/build.sh"
K8S_VERSION=v1.34.4
PROGRAMS=(kubelet kube-proxy kube-controller-manager kube-scheduler)
sum="$(cat "$here/build.sh" "$here/../lib/build.sh" "$here/kube/go.mod" "$here/kube/go.sum" | sha256sum | cut -c1-12)"
dir="$MESHLB_CACHE/cluster-k8s-$K8S_VERSION-$sum"
say() { echo "meshlb-cluster: $*" >&2; }

tools_cached "$dir" "${PROGRAMS[@]}"
go="$(tools_go)"
tools_lock cluster
tools_cached "$dir" "${PROGRAMS[@]}" # another caller built it while we waited

start=$SECONDS
tmp="$(mktemp -d "$MESHLB_CACHE/.build-cluster-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# CGO off: static binaries; the kubelet works without cgo here (cgroupfs driver,
# no systemd) as KUBELETS.md in shared/ records.
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
say "building ${PROGRAMS[*]} ($K8S_VERSION) from the Go module proxy; the first build takes about 5 minutes"
(cd "$here/kube" && "$go" build -trimpath -ldflags="$(tools_k8s_ldflags "$K8S_VERSION")" -o "$tmp/bin/" \
  "${PROGRAMS[@]/#/k8s.io/kubernetes/cmd/}")
say "built in $((SECONDS - start)) s"
printf '%s\n' "k8s $K8S_VERSION" "built in $((SECONDS - start)) s on $(date -u +%FT%TZ)" >"$tmp/BUILD"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir/bin"
