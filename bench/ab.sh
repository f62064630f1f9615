#!/usr/bin/env bash
# ab.sh - comparison of bench_forward binaries (A, B, ...), interleaved in one sitting
# (the machine is shared: alternate them so all see the same load), on both
# networks, 1 and 2 threads, batch 1 and 16.  Prints per-configuration medians of
# the per-invocation medians in ms/image, each binary's speed-up over A (ratio of
# those medians), and the fastest single run in ms/image (the least disturbed one).
#
#   REPS=3 bench/ab.sh A_BINARY B_BINARY [C_BINARY ...]
# A binary that does not know --threads (the pre-threads baseline) is given
# OPENBLAS_NUM_THREADS=N instead; every binary also gets OPENBLAS_NUM_THREADS=N.
# Set OPENBLAS_CORETYPE (or unset it) in the environment to choose OpenBLAS's kernels.
set -euo pipefail
BINS=("$@") REPS=${REPS:-3}
SHARED=${FACENET_SHARED:-../shared}
FN_JSON=$SHARED/models/keras-facenet/model.json
FN_H5=${FN_H5:-weights/gen/keras-facenet-seed1.h5}
[ -f "$FN_H5" ] || { mkdir -p "$(dirname "$FN_H5")"; "${BUILD:-build}/tools/gen_weights" --model-json "$FN_JSON" -o "$FN_H5" --seed 1 >/dev/null; }
DL_JSON=weights/dlib-resnet/model.json DL_H5=weights/dlib-resnet/model.h5
run() { # bin threads net batch -> "median_ms/image:min_ms/image"
    local bin=$1 t=$2 net=$3 b=$4 runs extra=()
    runs=$([ "$b" -eq 1 ] && echo 9 || echo 3)
    "$bin" --help 2>&1 | grep -q -- --threads && extra=(--threads "$t")
    if [ "$net" = facenet ]; then set -- --model-json "$FN_JSON" --weights "$FN_H5"; else set -- --model-json "$DL_JSON" --weights "$DL_H5"; fi
    OPENBLAS_NUM_THREADS=$t "$bin" "$@" --batch "$b" --runs "$runs" "${extra[@]}" |
        awk -v b="$b" '/^gemm/ {sub(/\(/, "", $9); printf "%s:%.3f\n", $9, $(NF-2) / b}'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}  $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
hdr=$(printf "%-8s %-3s %-5s" net thr batch)
for ((i = 0; i < ${#BINS[@]}; i++)); do hdr+=$(printf " %9s" "ms/img[$i]"); done
for ((i = 1; i < ${#BINS[@]}; i++)); do hdr+=$(printf " %7s" "x[$i]"); done
hdr+="   | fastest run:"
for ((i = 0; i < ${#BINS[@]}; i++)); do hdr+=$(printf " %7s" "[$i]"); done
echo "$hdr"
for ((i = 0; i < ${#BINS[@]}; i++)); do echo "  [$i] ${BINS[$i]}"; done
for net in facenet dlib; do for t in 1 2; do for b in 1 16; do
    declare -A res=()
    for ((r = 0; r < REPS; r++)); do
        for ((i = 0; i < ${#BINS[@]}; i++)); do res[$i]+="$(run "${BINS[$i]}" $t $net $b) "; done
    done
    line=$(printf "%-8s %-3s %-5s" $net $t $b) med=() mins=""
    for ((i = 0; i < ${#BINS[@]}; i++)); do
        med[$i]=$(printf "%s\n" ${res[$i]} | cut -d: -f1 | median)
        line+=$(printf " %9.2f" "${med[$i]}")
        mins+=$(printf " %7.2f" "$(printf "%s\n" ${res[$i]} | cut -d: -f2 | sort -g | head -1)")
    done
    for ((i = 1; i < ${#BINS[@]}; i++)); do line+=$(printf " %7.2f" "$(echo "${med[0]} / ${med[$i]}" | bc -l)"); done
    line+="   |$mins"
    echo "$line"
    unset res
done; done; done
