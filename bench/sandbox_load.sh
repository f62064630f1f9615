#!/usr/bin/env bash
# sandbox_load.sh - what the weights sandbox costs: `facenet info` (load the model,
# plan one input; no forward pass) on a model the user names, with the sandbox (the
# CLI's default for such a model: libhdf5 runs in a forked child that hands the
# arrays back) and without it (FACENET_NO_SANDBOX=1).  Runs alternate between the two
# so machine noise falls on both; prints the median and min wall time of RUNS runs.
#   bench/sandbox_load.sh [RUNS]      (default 11)
# Models: FaceNet (Inception-ResNet-v1, 92 MB of generated weights from
# `make bench-compare`) and dlib-resnet (23 MB), when present.
set -euo pipefail
BUILD=${BUILD:-build}
SHARED=${FACENET_SHARED:-../shared}
RUNS=${1:-11}
export OPENBLAS_NUM_THREADS=1
now() { date +%s%N; }
median() { sort -n | awk '{v[NR] = $1} END {printf "%.1f ms (min %.1f)", v[int((NR + 1) / 2)] / 1e6, v[1] / 1e6}'; }
bench() { # name, model args...
    local name=$1 on off t0 i
    shift
    on=$(mktemp) off=$(mktemp)
    "$BUILD/facenet" info "$@" >/dev/null # warm the page cache
    for ((i = 0; i < RUNS; i++)); do
        t0=$(now)
        "$BUILD/facenet" info "$@" >/dev/null
        echo $(($(now) - t0)) >>"$on"
        t0=$(now)
        FACENET_NO_SANDBOX=1 "$BUILD/facenet" info "$@" >/dev/null
        echo $(($(now) - t0)) >>"$off"
    done
    printf '%-12s sandbox on  %s\n' "$name" "$(median <"$on")"
    printf '%-12s sandbox off %s\n' "$name" "$(median <"$off")"
    rm -f "$on" "$off"
}
[ -f weights/facenet-random.h5 ] &&
    bench facenet --model-json "$SHARED/models/keras-facenet/model.json" --weights weights/facenet-random.h5
[ -f weights/dlib-resnet/model.h5 ] && bench dlib-resnet --model weights/dlib-resnet
exit 0
