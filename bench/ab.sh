#!/usr/bin/env bash
# ab.sh - A/B comparison of two bench_forward binaries, interleaved in one sitting
# (the machine is shared: alternate A and B so both see the same load), on both
# networks, 1 and 2 threads, batch 1 and 16.  Prints per-configuration medians of
# the per-invocation medians in ms/image and the ratio A/B.
#
#   bench/ab.sh A_BINARY B_BINARY [REPS]
# A binary that does not know --threads (the pre-threads baseline) is given
# OPENBLAS_NUM_THREADS=N instead; every binary also gets OPENBLAS_NUM_THREADS=N.
# Set OPENBLAS_CORETYPE (or unset it) in the environment to choose OpenBLAS's kernels.
set -euo pipefail
A=$1 B=$2 REPS=${3:-3}
SHARED=${FACENET_SHARED:-../shared}
FN_JSON=$SHARED/models/keras-facenet/model.json
FN_H5=${FN_H5:-weights/gen/keras-facenet-seed1.h5}
[ -f "$FN_H5" ] || { mkdir -p "$(dirname "$FN_H5")"; "${BUILD:-build}/tools/gen_weights" --model-json "$FN_JSON" -o "$FN_H5" --seed 1 >/dev/null; }
DL_JSON=weights/dlib-resnet/model.json DL_H5=weights/dlib-resnet/model.h5
run() { # bin threads net batch -> ms/image
    local bin=$1 t=$2 net=$3 b=$4 runs extra=()
    runs=$([ "$b" -eq 1 ] && echo 9 || echo 3)
    "$bin" --help 2>&1 | grep -q -- --threads && extra=(--threads "$t")
    if [ "$net" = facenet ]; then set -- --model-json "$FN_JSON" --weights "$FN_H5"; else set -- --model-json "$DL_JSON" --weights "$DL_H5"; fi
    OPENBLAS_NUM_THREADS=$t "$bin" "$@" --batch "$b" --runs "$runs" "${extra[@]}" |
        sed -n 's/.*(\([0-9.]*\) ms\/image.*/\1/p'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}  $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
printf "%-8s %-3s %-5s %10s %10s %7s\n" net thr batch "A ms/img" "B ms/img" "A/B"
for net in facenet dlib; do for t in 1 2; do for b in 1 16; do
    ra=() rb=()
    for ((r = 0; r < REPS; r++)); do ra+=("$(run "$A" $t $net $b)"); rb+=("$(run "$B" $t $net $b)"); done
    ma=$(printf "%s\n" "${ra[@]}" | median) mb=$(printf "%s\n" "${rb[@]}" | median)
    printf "%-8s %-3s %-5s %10.2f %10.2f %7.2f\n" $net $t $b "$ma" "$mb" "$(echo "$ma / $mb" | bc -l)"
done; done; done
