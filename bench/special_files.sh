#!/usr/bin/env bash
# special_files.sh - how long a command takes to refuse a FIFO given where it reads a
# file (docs/robustness.md, "Special files"): each case runs RUNS times, alternating
# between two builds of facenet so machine noise falls on both, and prints the median
# wall time and the exit status of each.  A run is killed after 30 s (a blocking open
# of the FIFO: status 124).
#   bench/special_files.sh OLD_FACENET [NEW_FACENET] [RUNS]
#       (NEW default $BUILD/facenet, RUNS default 5)
# The default model (weights/dlib-resnet; `make weights`) and face-api's detector are
# what loads when a command gets that far.
set -euo pipefail
BUILD=${BUILD:-build}
SHARED=${FACENET_SHARED:-../shared}
[ $# -ge 1 ] || { echo "usage: bench/special_files.sh OLD_FACENET [NEW_FACENET] [RUNS]" >&2; exit 2; }
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
OLD=$(abs "$1") NEW=$(abs "${2:-$BUILD/facenet}") RUNS=${3:-5}
IMG=$(abs "$SHARED/images/happy-house/camera_0.jpg")
PAIRS=$(abs "$SHARED/lfw/pairsDevTest.txt")
MODEL=$(cd weights/dlib-resnet && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
mkfifo fifo
mkdir mdir && ln -s "$MODEL/model.json" "$MODEL/model.h5" mdir/ && ln -s "$W/fifo" mdir/facenet.json
"$NEW" enroll --no-detect --db g.db alice "$IMG" >/dev/null 2>&1
now() { date +%s%N; }
while IFS='|' read -r label args; do
    for b in old new; do : >"t_$b"; done
    for _ in $(seq "$RUNS"); do
        for b in old new; do
            f=$OLD
            [ $b = new ] && f=$NEW
            t0=$(now)
            st=0
            eval "timeout 30 \"$f\" $args" >/dev/null 2>&1 || st=$?
            echo "$(($(now) - t0)) $st" >>"t_$b"
        done
    done
    med() { sort -n "$1" | awk '{v[NR] = $1; s = $2} END {printf "%7.0f ms (exit %s)", v[int((NR + 1) / 2)] / 1e6, s}'; }
    printf "%-44s old %s   new %s\n" "$label" "$(med t_old)" "$(med t_new)"
done <<CASES
distance FIFO FIFO|distance fifo fifo
encode FIFO (with detection)|encode fifo
encode @FIFO|encode @fifo
identify --db g.db FIFO|identify --db g.db fifo
enroll --db FIFO bob IMG|enroll --db fifo bob "$IMG"
encode --model DIR IMG, facenet.json a FIFO|encode --model mdir "$IMG"
evaluate --images FIFO|evaluate --pairs "$PAIRS" --images fifo
trace --model DIR IMG, facenet.json a FIFO|trace --model mdir "$IMG"
distance IMG FIFO (one usable image)|distance "$IMG" fifo
CASES
