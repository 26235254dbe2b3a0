#!/usr/bin/env bash
# Builds the packet-socket addon (native/ -> native/build/Release/meshlb_packet.node)
# with node-gyp against the headers of the Node that runs meshlb ($MESHLB_NODEDIR,
# from scripts/bootstrap.sh): nothing is downloaded. Skipped when a stamp of the C
# sources, binding.gyp and the Node version matches. Needs make, a C compiler and
# python3 (scripts/bootstrap.sh installs them as root: build-essential python3).
#   scripts/build-native.sh           build when out of date
#   scripts/build-native.sh --force   rebuild
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${MESHLB_NODEDIR:-}" ]; then
  source "$root/scripts/bootstrap.sh"
fi
: "${MESHLB_NODEDIR:?no Node headers: source scripts/bootstrap.sh first}"
native="$root/native"
out="$native/build/Release/meshlb_packet.node"
stamp="$native/build/.meshlb-stamp"
want="$(cat "$native"/*.c "$native"/*.h "$native/binding.gyp" | sha256sum | cut -d' ' -f1)-$(node --version)"
if [ "${1:-}" != --force ] && [ -f "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ "${MESHLB_QUIET:-0}" = 1 ] || echo "meshlb-setup: building the packet-socket addon (node-gyp)" >&2
gyp="$root/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || { echo "meshlb-setup: node-gyp is missing: run npm ci (meshlb_ensure_deps)" >&2; exit 1; }
# node-gyp lets npm_config_* variables override its command line, and Debian's npm
# sets nodedir=/usr (the system Node's headers): drop them all, pass ours explicitly.
for v in $(compgen -e); do
  case "$v" in npm_config_* | NPM_CONFIG_*) unset "$v" ;; esac
done
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! (cd "$native" && node "$gyp" rebuild --nodedir="$MESHLB_NODEDIR" --loglevel=warn >"$log" 2>&1); then
  cat "$log" >&2
  echo "meshlb-setup: building native/ failed (needs make, gcc, python3)" >&2
  exit 1
fi
echo "$want" >"$stamp"
