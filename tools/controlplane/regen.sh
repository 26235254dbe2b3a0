#!/usr/bin/env bash
# Regenerates the wrapper modules for another Kubernetes / etcd release:
#
#   tools/controlplane/regen.sh v1.34.4 v3.6.5
#   tools/controlplane/regen.sh --min v1.32.13   # the oldest supported API server only
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every staging
# module (k8s.io/api, apimachinery, apiserver, client-go, … 31 of them) with a
# local ./staging path. The kube wrapper requires k8s.io/kubernetes and points
# each staging module at its published twin, v0.<minor>.<patch>. Take the etcd
# version from the release's build/dependencies.yaml ("etcd" entry). Then set
# K8S_VERSION and ETCD_VERSION in build.sh to match and commit all of it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
min=0
if [ "${1:-}" = --min ]; then
  min=1
  shift
fi
k8s="${1:?usage: regen.sh <k8s version, e.g. v1.34.4> <etcd version, e.g. v3.6.5> | regen.sh --min <k8s version>}"
etcd="${2:-}"
[ "$min" = 1 ] || [ -n "$etcd" ] || { echo "usage: regen.sh <k8s version> <etcd version>" >&2; exit 1; }
staging="v0.${k8s#v1.}"
export GOFLAGS=-mod=mod

modcache="$(go env GOMODCACHE)"
go mod download "k8s.io/kubernetes@$k8s"
# The staging modules are the ones k8s.io/kubernetes replaces with ./staging/… paths.
mapfile -t mods < <(grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$modcache/k8s.io/kubernetes@$k8s/go.mod" | awk '{print $1}')
[ "${#mods[@]}" -gt 0 ] || { echo "regen: no staging replaces found in k8s.io/kubernetes@$k8s/go.mod" >&2; exit 1; }

# wrapper DIR MODULE WHAT TOOL...: a go.mod requiring k8s.io/kubernetes with the staging replaces.
wrapper() {
  local dir="$1" module="$2" what="$3" m
  shift 3
  cd "$dir"
  {
    echo "// Wrapper module: builds $what $k8s for meshlb's tests and lab."
    echo "// k8s.io/kubernetes cannot be 'go install'ed: its go.mod replaces the staging"
    echo "// modules with local paths. This module requires it and points each staging"
    echo "// module at the matching published $staging. Regenerate with tools/controlplane/regen.sh."
    echo "module $module"
    echo
    echo "go 1.24.0"
    echo
    echo "replace ("
    for m in "${mods[@]}"; do echo "	$m => $m $staging"; done
    echo ")"
  } >go.mod
  rm -f go.sum
  # Pin every path to $k8s: a bare `go get -tool pkg` would move to the newest release.
  go get -tool "${@/%/@$k8s}"
  go mod tidy
  echo "regen: $dir: ${#mods[@]} staging modules → $staging"
}
if [ "$min" = 1 ]; then
  # The oldest release docs/install.md and Chart.yaml claim: its API server and
  # kubectl, run by the cluster tier beside the newest (scripts/test). etcd stays the newest's.
  mkdir -p "$here/kube-min"
  wrapper "$here/kube-min" meshlb.io/tools/controlplane/kube-min "kube-apiserver and kubectl" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
  echo "regen: now set K8S_MIN_VERSION=$k8s in build.sh"
  exit 0
fi
wrapper "$here/kube" meshlb.io/tools/controlplane/kube "kube-apiserver and kubectl" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
# The rest of a cluster for the kubelet lab (tools/cluster/build.sh).
wrapper "$here/../cluster/kube" meshlb.io/tools/cluster/kube "kubelet, kube-proxy, kube-controller-manager and kube-scheduler" \
  k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy \
  k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler

cd "$here/etcd"
go get -tool "go.etcd.io/etcd/server/v3@$etcd"
go mod tidy
echo "regen: etcd wrapper → $etcd; now set K8S_VERSION=$k8s and ETCD_VERSION=$etcd in build.sh (and K8S_VERSION in tools/cluster/build.sh)"
