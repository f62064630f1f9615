#!/usr/bin/env bash
# ort_setup.sh - install ONNX Runtime for Node (onnxruntime-node, pinned) into
# $ORT_DIR/node_modules (default build/ort) for bench/ort_bench.js: `make ort`,
# `make bench-compare` and the ONNX Runtime half of tests/test_keras2onnx.c.
#
# npm install --ignore-scripts: the package's install script only fetches binaries
# that are not in the npm tarball (the CUDA provider, from NuGet); the CPU provider
# ships prebuilt in the package (bin/napi-v*/linux/x64).  After installing, the
# binding is loaded once to prove it works.  Idempotent and quick when the pinned
# version is already there.  Exit 0 when usable, 1 with a one-line reason otherwise.
#
# Environment: ORT_DIR (default build/ort), NPM (the npm client, default npm).
set -euo pipefail
VERSION=1.30.0
ORT_DIR=${ORT_DIR:-build/ort}
NPM=${NPM:-npm}

die() {
    echo "ort_setup: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node not found (apt-get install nodejs npm)"
mkdir -p "$ORT_DIR"
ABS=$(cd "$ORT_DIR" && pwd)
PKG=$ABS/node_modules/onnxruntime-node

# 0 when the pinned version is installed and its native binding loads
usable() {
    node -e "
const p = require('$PKG/package.json');
if (p.version !== '$VERSION') process.exit(1);
const ort = require('$PKG');
if (typeof ort.InferenceSession !== 'function') process.exit(1);" >/dev/null 2>&1
}

usable && exit 0
command -v "$NPM" >/dev/null 2>&1 || die "npm not found; it is needed to install onnxruntime-node@$VERSION"
[ -f "$ABS/package.json" ] || echo '{"private": true, "description": "onnxruntime-node for bench/ort_bench.js"}' >"$ABS/package.json"
echo "ort_setup: installing onnxruntime-node@$VERSION into $ORT_DIR (npm install --ignore-scripts)" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! (cd "$ABS" && "$NPM" install --ignore-scripts --no-audit --no-fund --save-exact "onnxruntime-node@$VERSION") >"$log" 2>&1; then
    die "npm install onnxruntime-node@$VERSION failed (registry unreachable?): $(grep -m1 -i 'err' "$log" || head -n 1 "$log")"
fi
usable || die "onnxruntime-node@$VERSION is installed but its native binding does not load on this machine ($(uname -m))"
echo "ort_setup: onnxruntime-node@$VERSION ready" >&2
