#!/usr/bin/env bash
# CI: the real WebGL path of the optional `gpu` backend (gpu.js on headless-gl, Mesa's software
# renderer under Xvfb). Installs the Debian packages, builds the native `gl` module (skipped by the
# default `npm ci`: package.json allowScripts has "gl": false), then runs spec/engine/backend-gpu.spec.ts
# under xvfb-run with SEQGRAD_REQUIRE_GPU=1, so a silent fallback to gpu.js' WebAssembly/CPU kernels
# fails the run. Prints the gpu.js mode it got. Exits non-zero on any failure.
# Called from .ci/run after `npm ci` (needs node_modules). Takes 2–5 minutes, most of it the gl build.
set -uo pipefail
cd "$(dirname "$0")/.."

say() { printf 'gpu.sh: %s\n' "$*"; }
fail() { say "FAILED: $*"; exit 1; }

PACKAGES=(xvfb xauth libgl1-mesa-dri build-essential python3 pkg-config libxi-dev libglew-dev libgl1-mesa-dev)

# 1. Debian packages (as root; elsewhere they must be there already).
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing Debian packages (${missing[*]}) and not root: apt-get install -y ${PACKAGES[*]}"
  export DEBIAN_FRONTEND=noninteractive
  say "apt-get install ${missing[*]}"
  if ! apt-get install -y -qq "${PACKAGES[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed (trying the install anyway)"
    apt-get install -y -qq "${PACKAGES[@]}" >/dev/null || fail "apt-get install ${PACKAGES[*]}"
  fi
fi

# 2. The native gl module (node-gyp against the installed Node headers, nothing downloaded).
[ -d node_modules/gl ] || fail "node_modules/gl is missing (run npm ci first; gl comes with gpu.js as its optional dependency)"
if node -e "require('gl')" >/dev/null 2>&1; then
  say "gl is built already"
else
  # build against the installed Node headers (node-gyp would otherwise try to download them)
  if [ -f /usr/include/node/node.h ] && [ -z "${npm_config_nodedir:-}" ] \
     && [ "$(npm config get nodedir 2>/dev/null)" = "undefined" ]; then export npm_config_nodedir=/usr; fi
  say "building gl (1.5–4 minutes)"
  start=$(date +%s)
  JOBS=max npm rebuild gl --dangerously-allow-all-scripts >/tmp/seqgrad-gl-build.log 2>&1 || {
    tail -n 40 /tmp/seqgrad-gl-build.log
    fail "npm rebuild gl"
  }
  node -e "require('gl')" || fail "gl was rebuilt but does not load"
  say "gl built in $(( $(date +%s) - start )) s"
fi

# 3. The gpu spec on the WebGL path. --reporter=default: leave reports/vitest.json to the main run.
log=/tmp/seqgrad-gpu-spec.log
SEQGRAD_REQUIRE_GPU=1 NO_COLOR=1 xvfb-run -a npx vitest run spec/engine/backend-gpu.spec.ts --reporter=default 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
mode=$(grep -o "asked gpu.js for 'gpu', it runs: [a-z0-9]*" "$log" | head -n 1 | sed 's/.*it runs: //')
say "gpu.js mode under xvfb-run: ${mode:-unknown}"
[ "$status" = 0 ] || fail "spec/engine/backend-gpu.spec.ts under xvfb-run (exit $status)"
case "$mode" in
  headlessgl|webgl|webgl2|webgpu) say "OK: the WebGL path was exercised ($mode)" ;;
  *) fail "expected a WebGL mode, got '${mode:-none}'" ;;
esac
