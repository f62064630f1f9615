#!/usr/bin/env bash
# setup.sh - install the Debian packages facenet-c builds against, if missing.
# Idempotent: does nothing when every package is already installed.
# python3-numpy is for examples/python (its test runs with or without it); parallel
# (GNU parallel) for examples/parallel.sh, which make test runs.
# cairo (and the DejaVu fonts it draws text with) draws the figures of `distance --plot`,
# `evaluate --plot` and `trace --maps`; graphviz (libgvc, libcgraph) lays out
# `facenet graph`; libxml2 is for the tests that parse the SVG ones.
# gfortran: OpenBLAS's `pkg-config --static --libs` names -lgfortran, which only the
# compiler's libgfortran-N-dev provides (gfortran brings the one of the default gcc);
# a static link against libfacenet.a (README "From C", tests/test_install.c) needs it.
# --list prints the package names, one a line (scripts/check-fresh.sh reads them).
# --fuzz installs what `make fuzz` needs instead (clang and its libFuzzer runtime).
set -euo pipefail
pkgs=(build-essential pkg-config libopenblas-dev libcjson-dev libhdf5-dev libcmocka-dev
      libjpeg-dev libpng-dev libsqlite3-dev libcairo2-dev libfontconfig-dev zlib1g-dev libxml2-dev fonts-dejavu-core
      graphviz libgraphviz-dev nodejs npm python3-numpy parallel gfortran)
if [ "${1:-}" = --fuzz ]; then
    pkgs=(clang libclang-rt-dev)
    shift
fi
if [ "${1:-}" = --list ]; then
    printf '%s\n' "${pkgs[@]}"
    exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from elsewhere (nvm, a tarball): accept whatever is on PATH.
if command -v npm >/dev/null 2>&1; then
    missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}" >&2
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
        { echo "setup: not root and no sudo: as root, run apt-get install ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
fi
# DEBIAN_FRONTEND through env: sudo's env_reset (Debian's default) would drop it from
# the environment, and debconf would then ask its questions on a terminal there may not be
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
