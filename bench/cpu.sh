#!/usr/bin/env bash
# cpu.sh - processor time per image (all threads together) of bench_forward binaries,
# for a machine too busy for wall-clock medians: the task-clock (perf stat) of a run
# with R2 timed runs minus one with R1, over (R2 - R1) x batch images.  Loading and
# warm-up cancel out.  On an idle machine one thread's wall time is close to this.
#
#   bench/cpu.sh A_BINARY [B_BINARY ...]     (env: THREADS=1, REPS=3)
set -euo pipefail
SHARED=${FACENET_SHARED:-../shared}
FN_JSON=$SHARED/models/keras-facenet/model.json
FN_H5=${FN_H5:-weights/gen/keras-facenet-seed1.h5}
DL_JSON=weights/dlib-resnet/model.json DL_H5=weights/dlib-resnet/model.h5
T=${THREADS:-1} REPS=${REPS:-3}
clock() { # bin net batch runs -> task-clock ms
    local bin=$1 net=$2 b=$3 runs=$4 extra=()
    "$bin" --help 2>&1 | grep -q -- --threads && extra=(--threads "$T")
    if [ "$net" = facenet ]; then set -- --model-json "$FN_JSON" --weights "$FN_H5"; else set -- --model-json "$DL_JSON" --weights "$DL_H5"; fi
    OPENBLAS_NUM_THREADS=$T perf stat -x, -e task-clock "$bin" "$@" --batch "$b" --runs "$runs" "${extra[@]}" 2>&1 >/dev/null |
        awk -F, '/task-clock/ {print $1}'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}, threads $T: CPU ms per image (median of $REPS)"
for ((i = 1; i <= $#; i++)); do echo "  [$((i - 1))] ${!i}"; done
for net in facenet dlib; do for b in 1 16; do
    r1=1 r2=$([ "$b" -eq 1 ] && echo 21 || echo 4)
    line=$(printf "%-8s batch %-3s" $net $b)
    for bin in "$@"; do
        v=()
        for ((r = 0; r < REPS; r++)); do
            lo=$(clock "$bin" $net $b $r1) hi=$(clock "$bin" $net $b $r2)
            v+=("$(echo "($hi - $lo) / ($r2 - $r1) / $b" | bc -l)")
        done
        line+=$(printf " %8.2f" "$(printf "%s\n" "${v[@]}" | median)")
    done
    echo "$line"
done; done
