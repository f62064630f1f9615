#!/usr/bin/env bash
# faceapi_setup.sh - install face-api's own pipeline for Node into
# $FACEAPI_DIR/node_modules (default build/faceapi) for bench/faceapi_bench.js (`make
# bench-faces`): @vladmandic/face-api 1.7.15 (the package `make weights` converts the
# nets of) with the TensorFlow.js packages of the version its dist build names
# (dist/tfjs.version.js: 4.22.0): @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm.
#
# npm install --ignore-scripts (none of them needs an install script: the wasm
# binaries are in the tfjs-backend-wasm tarball).  After installing, face-api's node-wasm
# build is loaded once to prove it resolves its dependencies.  Idempotent and quick when
# the pinned versions are there.  Exit 0 when usable, 1 with a one-line reason otherwise.
#
# Environment: FACEAPI_DIR (default build/faceapi), NPM (the npm client, default npm).
set -euo pipefail
FACEAPI_VERSION=1.7.15
TFJS_VERSION=4.22.0
FACEAPI_DIR=${FACEAPI_DIR:-build/faceapi}
NPM=${NPM:-npm}

die() {
    echo "faceapi_setup: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node not found (apt-get install nodejs npm)"
mkdir -p "$FACEAPI_DIR"
ABS=$(cd "$FACEAPI_DIR" && pwd)
NM=$ABS/node_modules

# 0 when the pinned versions are installed and face-api's node-wasm build loads
usable() {
    node -e "
const v = (p) => require('$NM/' + p + '/package.json').version;
if (v('@vladmandic/face-api') !== '$FACEAPI_VERSION' || v('@tensorflow/tfjs') !== '$TFJS_VERSION' ||
    v('@tensorflow/tfjs-backend-wasm') !== '$TFJS_VERSION') process.exit(1);
const f = require('$NM/@vladmandic/face-api/dist/face-api.node-wasm.js');
if (typeof f.detectAllFaces !== 'function') process.exit(1);" >/dev/null 2>&1
}

usable && exit 0
command -v "$NPM" >/dev/null 2>&1 || die "npm not found; it is needed to install @vladmandic/face-api@$FACEAPI_VERSION"
[ -f "$ABS/package.json" ] || echo '{"private": true, "description": "face-api + tfjs wasm for bench/faceapi_bench.js"}' >"$ABS/package.json"
echo "faceapi_setup: installing @vladmandic/face-api@$FACEAPI_VERSION, @tensorflow/tfjs@$TFJS_VERSION and" \
     "@tensorflow/tfjs-backend-wasm@$TFJS_VERSION into $FACEAPI_DIR (npm install --ignore-scripts)" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! (cd "$ABS" && "$NPM" install --ignore-scripts --no-audit --no-fund --save-exact \
        "@vladmandic/face-api@$FACEAPI_VERSION" "@tensorflow/tfjs@$TFJS_VERSION" \
        "@tensorflow/tfjs-backend-wasm@$TFJS_VERSION") >"$log" 2>&1; then
    die "npm install failed (registry unreachable?): $(grep -m1 -i 'err' "$log" || head -n 1 "$log")"
fi
usable || die "face-api $FACEAPI_VERSION is installed but its node-wasm build does not load"
echo "faceapi_setup: face-api $FACEAPI_VERSION (tfjs $TFJS_VERSION, wasm) ready" >&2
