#!/usr/bin/env bash
# Shared by tools/*/build.sh: each builds Go programs that meshlb's tests and
# lab run (never part of meshlb itself) from the Go module proxy, once, into
# ~/.cache/meshlb/<name>-<versions>-<hash>/ (MESHLB_CACHE_DIR overrides the
# root). Concurrent calls are serialised by a lock; a result appears atomically
# (built in a temp dir, then renamed), so an interrupted build leaves nothing.
# Source it; it defines:
#   tools_go                      the go binary (exits 1 with a hint when none)
#   tools_k8s_ldflags VERSION     the -X flags Kubernetes' own build stamps
#   tools_cached DIR FILE...      prints DIR/bin and exits 0 when every FILE is in DIR/bin
#   tools_lock NAME               takes ~/.cache/meshlb/NAME.lock for the rest of the script

MESHLB_CACHE="${MESHLB_CACHE_DIR:-$HOME/.cache/meshlb}"

tools_go() {
  local go=go
  command -v go >/dev/null 2>&1 || go=/usr/local/go/bin/go
  if ! command -v "$go" >/dev/null 2>&1; then
    echo "meshlb-tools: Go is needed once to build the test cluster's programs (it is not part of meshlb): install Go 1.24+ and run this again" >&2
    exit 1
  fi
  echo "$go"
}

# Kubernetes' own build stamps its version with -X; without it /version and
# the kubelet's Node status say v0.0.0-master.
tools_k8s_ldflags() {
  local version="$1" minor ldflags="" pkg
  minor="$(cut -d. -f2 <<<"$version")"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "$ldflags"
}

tools_cached() {
  local dir="$1" f
  shift
  for f in "$@"; do [ -x "$dir/bin/$f" ] || return 0; done
  echo "$dir/bin"
  exit 0
}

tools_lock() {
  mkdir -p "$MESHLB_CACHE"
  exec 9>"$MESHLB_CACHE/$1.lock"
  flock 9
}
