#!/usr/bin/env bash
# mem_inputs.sh - peak memory (max RSS, /usr/bin/time -v) of `facenet` on large generated
# inputs: what the parsers keep must be what the memory measures, not a multiple of
# the file (docs/robustness.md, "Memory").  The files are generated into a temporary
# folder and removed; nothing big is committed.
#   bench/mem_inputs.sh [BUILD]      (default build: BUILD/facenet, BUILD/bench/bench_pairs)
# The model.json cases run `facenet info`, the pairs cases the reader alone
# (bench_pairs).  Prints one line per case: exit status, peak RSS, wall time, and the
# first line of stderr.
set -uo pipefail
B=${1:-build}
FACENET=$B/facenet
PAIRS=$B/bench/bench_pairs
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

python3 - "$T" <<'PY'
import sys, os
t = sys.argv[1]
# model.json of 16M numbers (32 MB): a valid Sequential model carrying a huge unused array
with open(os.path.join(t, "numbers.json"), "w") as f:
    f.write('{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "d", '
            '"units": 2, "batch_input_shape": [null, 4]}}], "junk": [')
    f.write("0," * (16 * 1000 * 1000 - 1))
    f.write('0]}')
# pairs: header "sets per", then per set `per` same pairs and `per` different pairs.
# 9M lines of one-letter names (63 MB, the outside review's file), and 2M lines of
# distinct names (every image path different: nothing to share).
def pairs(path, sets, per, name):
    with open(path, "w") as f:
        f.write(f"{sets} {per}\n")
        k = 0
        for s in range(sets):
            lines = []
            for i in range(per):
                lines.append(f"{name(k)} 1 2\n")
                k += 1
            for i in range(per):
                lines.append(f"{name(k)} 1 {name(k + 1)} 3\n")
                k += 2
            f.write("".join(lines))
letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
pairs(os.path.join(t, "pairs-9M-lines.txt"), 10, 450000, lambda k: letters[k % 52])
pairs(os.path.join(t, "pairs-distinct.txt"), 10, 100000, lambda k: f"Person_{k:07d}")
PY

run() { # name, then the command
    local name=$1
    shift
    /usr/bin/time -v -o "$T/time" "$@" >/dev/null 2>"$T/err"
    local st=$?
    local rss wall size
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$T/time")
    wall=$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$T/time")
    printf '%-28s exit %d  peak %7.1f MB  wall %s  %s\n' "$name" "$st" "$(echo "$rss / 1024" | bc -l)" "$wall" \
        "$(head -c 160 "$T/err" | head -1)"
}
ls -l "$T" | awk 'NR > 1 {printf "%-24s %6.1f MB\n", $9, $5 / 1e6}'
run "model.json 16M numbers" "$FACENET" info --model-json "$T/numbers.json"
run "  same, --limit raised" "$FACENET" info --model-json "$T/numbers.json" --limit json-values=20000000
for p in pairs-9M-lines pairs-distinct; do
    run "$p" "$PAIRS" "$T/$p.txt"
    run "  same, limit 10M" "$PAIRS" "$T/$p.txt" 10000000
done
