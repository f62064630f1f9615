#!/usr/bin/env bash
# parallel.sh - encode a large collection with GNU parallel: the sorted image list is cut
# into N shards (`facenet encode --shard K/N`), the shards run as parallel jobs, and
# `facenet merge` joins them into one file equal to a single `facenet encode`.
#
#   examples/parallel.sh OUT.h5|.npy|.csv N IMG|DIR|@LIST...
#
# Environment:
#   FACENET   the facenet program (default: facenet on PATH)
#   JOBS      jobs at a time (default N); each job runs one engine thread
#   SSHLOGIN  spread the jobs over machines (GNU parallel's --sshlogin, e.g.
#             "4/node1,4/node2,:"); the image paths and the output folder must be the
#             same on every machine (a shared file system)
#   FACENET_OPTS  more encode options (e.g. "--model /models/dlib-resnet --batch 1")
#
# A job that fails stops the run (--halt); run the script again and every shard
# resumes where its output stops (encode --resume), so nothing done is redone.
# The shard files stay in OUT.shards/ until the merge succeeds.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 OUT.h5|.npy|.csv N IMG|DIR|@LIST..." >&2; exit 2; }
out=$1 n=$2
shift 2
FACENET=${FACENET:-facenet}
JOBS=${JOBS:-$n}
read -r -a extra <<<"${FACENET_OPTS:-}"
shards="$out.shards"
mkdir -p "$shards"
ssh=()
[ -n "${SSHLOGIN:-}" ] && ssh=(--sshlogin "$SSHLOGIN")
# -q: the command and the image arguments reach facenet exactly as given (spaces, quotes)
parallel -q --halt now,fail=1 -j "$JOBS" "${ssh[@]}" \
    "$FACENET" encode --threads 1 "${extra[@]}" --shard "{}/$n" --resume -o "$shards/shard-{}.h5" "$@" \
    ::: $(seq 0 $((n - 1)))
"$FACENET" merge -o "$out" "$shards"/shard-*.h5
rm -rf "$shards"
