#!/usr/bin/env bash
#SBATCH --job-name=facenet-encode
#SBATCH --cpus-per-task=1
#SBATCH --output=facenet-encode-%A_%a.log
# encode-array.sh - encode a large collection on a Slurm cluster as a job array: task K
# of N encodes shard K/N (`facenet encode --shard $SLURM_ARRAY_TASK_ID/N`), and a last
# job, started when every task succeeded (afterok), merges the shards into one file
# equal to a single `facenet encode` of the whole list.
#
# Submit (from a login node; the image paths and OUTDIR on a shared file system):
#   examples/slurm/encode-array.sh OUT.h5 N IMG|DIR|@LIST...
# which runs
#   sbatch --array=0-(N-1) encode-array.sh ...           the shards
#   sbatch --dependency=afterok:ARRAY encode-array.sh --merge ...   the merge
#
# A failed or preempted task can be resubmitted alone (sbatch --array=K ...): it
# resumes where its shard stops (encode --resume); the merge refuses to run with a
# shard missing and names it.
#
# Environment: FACENET (the program, default facenet on PATH), FACENET_OPTS (more
# encode options, e.g. "--model /shared/models/dlib-resnet"), SBATCH_OPTS (more sbatch
# options: partition, account, time limit).
set -euo pipefail
FACENET=${FACENET:-facenet}
read -r -a extra <<<"${FACENET_OPTS:-}"

if [ "${1:-}" = --merge ]; then # the merge job: OUT N
    out=$2 n=$3
    files=()
    for ((k = 0; k < n; k++)); do files+=("$out.shards/shard-$k.h5"); done
    exec "$FACENET" merge -o "$out" "${files[@]}"
fi

[ $# -ge 3 ] || { echo "usage: $0 OUT.h5|.npy|.csv N IMG|DIR|@LIST..." >&2; exit 2; }
out=$1 n=$2
shift 2

if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then # on the login node: submit the array and the merge
    mkdir -p "$out.shards"
    read -r -a sb <<<"${SBATCH_OPTS:-}"
    self=$(readlink -f "$0")
    array=$(sbatch --parsable "${sb[@]}" --array="0-$((n - 1))" --chdir="$PWD" \
        --export=ALL "$self" "$out" "$n" "$@")
    array=${array%%;*}
    merge=$(sbatch --parsable "${sb[@]}" --dependency="afterok:$array" --chdir="$PWD" \
        --export=ALL --job-name=facenet-merge --output="facenet-merge-%j.log" "$self" --merge "$out" "$n")
    echo "submitted array job $array (shards 0-$((n - 1))) and merge job $merge -> $out"
    exit 0
fi

# one array task: shard K of N, one engine thread per allocated CPU
k=$SLURM_ARRAY_TASK_ID
exec "$FACENET" encode --threads "${SLURM_CPUS_PER_TASK:-1}" "${extra[@]}" --shard "$k/$n" --resume \
    -o "$out.shards/shard-$k.h5" "$@"
