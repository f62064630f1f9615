#!/usr/bin/env bash
# sweep.sh - allocation-failure sweep of the CLI: for each scenario, count the
# allocations main makes (tests/alloc/failmalloc.so, FACENET_FAIL_ALLOC=0) and note
# who makes each one, then run the scenario again once per chosen i with the i-th
# allocation failing, and check:
#   - exit status 0 or 2 (never a signal, an abort, a hang or another status);
#   - on status 2, stderr is one error line (commands that go on past a failed image -
#     encode, identify, distance - may add one "... (skipped)" line per image and
#     their summary line; every line starts with "facenet");
#   - enroll: the gallery is absent or passes `facenet db check` (never half-made or
#     0 bytes);
#   - nothing leaked: the shim counts what the program (and cJSON, libjpeg/libpng on
#     its behalf) allocated and had not freed when main returned (FACENET_FAIL_ALLOC_LEAKS;
#     0 in a normal run) - LeakSanitizer cannot run beside the shim.
# Scenarios (small model: keras-real tiny-resnet8-k2.4.0, a full-model .h5; sandbox
# off, or on with ALLOC_SANDBOX=1): info, embed (its raw input), encode (3 course
# photos), enroll (2 photos into a fresh gallery) - these two taking the photos as face
# crops (--no-detect) - and detect (face detection and landmarks on one photo: the SSD
# and landmark nets of weights/, about 30k allocations; not in the default list).
# With the sandbox the model file is read in forked children (the config, then the
# weights), which inherit the count: failing i fails the parent's i-th allocation and
# each child's i-th (counted from main, through the fork).  The chosen i then cover
# the longest of the parent's and the children's allocation maps (the owner letter is
# the parent's where it has one).
#
# Chosen i: every ALLOC_OWN_STRIDE-th allocation made by our code (the CLI and
# libfacenet: the first caller outside libc) and every ALLOC_OTHER_STRIDE-th of the
# rest (libhdf5, cJSON, SQLite, libjpeg/libpng, OpenBLAS).  Defaults 1 and 1: all.
# Problems are put down to libhdf5 when the program dies inside libhdf5, or when the
# failed allocation was libhdf5's and the program then hung, exited by itself or died
# outside our code (libhdf5 1.10 crashes, recurses, calls exit(-1) or corrupts the
# heap when its own allocations fail); those are listed but do not fail the sweep.
# Anything else exits 1.
#
# Environment: BUILD (default build), FACENET_SHARED (default ../shared),
# ALLOC_SCENARIOS (default "info embed encode enroll"), ALLOC_OWN_STRIDE,
# ALLOC_OTHER_STRIDE, ALLOC_SANDBOX (1: the CLI's default sandbox for a named
# model; default 0), ALLOC_JOBS (parallel runs, default 1), ALLOC_OUT (work and
# report directory, default $BUILD/alloc-sweep; emptied first).
# Output: one summary line per scenario; details in $ALLOC_OUT/sweep.log.
# One compound command: bash reads it whole before running it, so editing this file
# while it runs cannot change what runs.
{
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SH=${FACENET_SHARED:-../shared}
OWN=${ALLOC_OWN_STRIDE:-1}
OTHER=${ALLOC_OTHER_STRIDE:-1}
JOBS=${ALLOC_JOBS:-1}
SCEN=${ALLOC_SCENARIOS:-info embed encode enroll}
case $BUILD in /*) B=$BUILD ;; *) B=$PWD/$BUILD ;; esac
CLI=$B/facenet
SHIM=$B/tests/alloc/failmalloc.so
OUT=${ALLOC_OUT:-$B/alloc-sweep}
M=$SH/keras-real/tiny-resnet8-k2.4.0
H=$SH/images/happy-house
for f in "$CLI" "$SHIM" "$M/model.h5" "$H/andrew.jpg"; do
    [ -e "$f" ] || { echo "alloc-sweep: $f is missing" >&2; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT"
LOG=$OUT/sweep.log
SANDBOX=${ALLOC_SANDBOX:-0}
if [ "$SANDBOX" = 1 ]; then
    unset FACENET_NO_SANDBOX FACENET_SANDBOX
else
    export FACENET_NO_SANDBOX=1
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
M=$(cd "$M" && pwd) H=$(cd "$H" && pwd)

# The command of a scenario, run in directory $1 (enroll's gallery lives there).
scenario_cmd() {
    case $2 in
    info) echo "$CLI info --weights $M/model.h5" ;;
    embed) echo "$CLI embed --weights $M/model.h5 --raw $M/input.f32" ;;
    encode) echo "$CLI encode --no-detect --weights $M/model.h5 $H/andrew.jpg $H/kian.jpg $H/danielle.png" ;;
    enroll) echo "$CLI enroll --no-detect --weights $M/model.h5 --db $1/g.db bob $H/andrew.jpg $H/kian.jpg" ;;
    detect) echo "$CLI detect $H/kian.jpg" ;;
    esac
}

# Who owns the first stack frame outside libc and the shim in a backtrace file.
crash_owner() {
    grep -v -E 'libc\.so|failmalloc|^signal' "$1" | head -n 1 |
        sed -e 's/.*libhdf5.*/libhdf5/' -e 's/.*facenet.*/ours/' -e 's/.*\/\(lib[a-z0-9_]*\).*/\1/'
}

# A report with each frame of the CLI's own code followed by its function and line
# (backtrace_symbols_fd prints only offsets into the executable).
resolve_frames() {
    local line off
    while IFS= read -r line; do
        echo "$line"
        case $line in
        "$CLI("+0x*")"*)
            off=${line#*(+}
            off=${off%%)*}
            addr2line -f -i -p -e "$CLI" "$off" 2>/dev/null | sed 's/^/        = /'
            ;;
        esac
    done
}

# One run: scenario $1, failing allocation $2 whose owner letter is $3.  Prints one
# result line: "<i> <owner> ok|ours|libhdf5|other <what>".
one_run() {
    local sc=$1 i=$2 who=$3 d rc lines verdict what
    d=$(mktemp -d "$OUT/run.XXXXXX")
    FACENET_FAIL_ALLOC=$i FACENET_FAIL_ALLOC_TRACE=$d/trace FACENET_FAIL_ALLOC_LEAKS=$d/leaks LD_PRELOAD=$SHIM \
        timeout 60 $(scenario_cmd "$d" "$sc") >"$d/out" 2>"$d/err" </dev/null
    rc=$?
    lines=$(wc -l <"$d/err")
    # lines other than per-image skip reports and encode's summary must be one
    local errlines foreign
    errlines=$(grep -v -e '(skipped)$' -e '^facenet: encoded [0-9]* image' "$d/err" | wc -l)
    foreign=$(grep -v -c '^facenet' "$d/err")
    verdict=ok what="exit $rc"
    if [ $rc -ne 0 ] && [ $rc -ne 2 ]; then
        if [ -f "$d/trace.sig" ]; then
            what="signal $(head -n 1 "$d/trace.sig" | cut -d' ' -f2) in $(crash_owner "$d/trace.sig")"
            # died elsewhere (free() in another library's exit handler: a heap that
            # the failing library corrupted): whose allocation failed decides below
            case $what in *libhdf5) verdict=libhdf5 ;; *ours) verdict=ours ;; esac
        elif [ $rc -eq 124 ]; then
            what="hang (timeout 60 s)"
        elif [ $rc -gt 128 ] && [ $rc -lt 160 ]; then
            what="signal $((rc - 128))"
        elif [ $rc -eq 255 ]; then
            what="exit 255 (exit(-1))"
        fi
        if [ $verdict = ok ]; then
            case $who in h) verdict=libhdf5 ;; f) verdict=ours ;; *) verdict=other ;; esac
        fi
    elif [ $rc -eq 2 ] && { [ "$foreign" -ne 0 ] || [ "$errlines" -gt 1 ] || [ "$lines" -eq 0 ] ||
                           { [ "$errlines" -eq 0 ] && [ "$sc" != encode ]; }; }; then
        what="exit 2 with $lines stderr lines"
        if grep -q 'HDF5-DIAG' "$d/err"; then verdict=libhdf5; else verdict=ours; fi
    fi
    if [ $verdict = ok ] && [ "$sc" = enroll ] && [ -e "$d/g.db" ]; then
        if [ ! -s "$d/g.db" ]; then
            verdict=ours what="exit $rc, gallery left with 0 bytes"
        elif ! FACENET_FAIL_ALLOC= "$CLI" db check --db "$d/g.db" >/dev/null 2>&1; then
            verdict=ours what="exit $rc, gallery fails db check"
        fi
    fi
    # what the program, cJSON and the image libraries allocated for it and never freed
    # (the shim's count once main has returned; a normal run leaves 0)
    if [ $verdict = ok ] && [ -s "$d/leaks" ] && [ "$(head -n 1 "$d/leaks")" != 0 ]; then
        verdict=ours what="exit $rc, leaked: $(head -n 3 "$d/leaks" | tr '\n' ' ')"
    fi
    echo "$i $who $verdict $what"
    if [ $verdict != ok ]; then
        {
            echo "== $sc i=$i owner=$who: $verdict: $what"
            head -c 600 "$d/err"
            [ -f "$d/trace" ] && head -n 40 "$d/trace"
            [ -f "$d/trace.sig" ] && head -n 40 "$d/trace.sig"
        } >"$d/report"
        mv "$d/report" "$OUT/bad.$sc.$i"
    fi
    rm -rf "$d"
}
export -f one_run scenario_cmd crash_owner resolve_frames
export CLI SHIM OUT M H

fail=0
echo "alloc-sweep: strides own=$OWN other=$OTHER sandbox=$SANDBOX" | tee "$LOG"
for sc in $SCEN; do
    d=$(mktemp -d "$OUT/count.XXXXXX")
    FACENET_FAIL_ALLOC=0 FACENET_FAIL_ALLOC_COUNT=$d/count FACENET_FAIL_ALLOC_MAP=$d/map \
        LD_PRELOAD=$SHIM $(scenario_cmd "$d" "$sc") >/dev/null 2>&1
    rc=$?
    if [ $rc -ne 0 ] || [ ! -s "$d/map" ]; then
        echo "alloc-sweep: $sc: the run without failures did not succeed (exit $rc)" | tee -a "$LOG"
        fail=1
        continue
    fi
    # the parent's letters, continued by the longest child map (sandbox children)
    cp "$d/map" "$OUT/map.$sc"
    longest=$(ls -S "$d"/map.* 2>/dev/null | head -n 1)
    if [ -n "$longest" ] && [ "$(wc -c <"$longest")" -gt "$(wc -c <"$d/map")" ]; then
        tail -c +$(($(wc -c <"$d/map") + 1)) "$longest" >>"$OUT/map.$sc"
    fi
    rm -rf "$d"
    n=$(wc -c <"$OUT/map.$sc")
    # chosen indices with their owner letters
    awk -v own="$OWN" -v other="$OTHER" '{
        n = split($0, c, "")
        for (i = 1; i <= n; i++) {
            if (c[i] == "f") { if (nf++ % own == 0) print i, c[i] }
            else if (no++ % other == 0) print i, c[i]
        }
    }' "$OUT/map.$sc" >"$OUT/chosen.$sc"
    # (bash's own "Segmentation fault" notices go to the log)
    xargs -P "$JOBS" -n 2 bash -c "one_run $sc \"\$0\" \"\$1\"" <"$OUT/chosen.$sc" >"$OUT/results.$sc" 2>>"$LOG"
    runs=$(wc -l <"$OUT/results.$sc")
    summary=$(awk '{k = $3; if ($3 != "ok") k = $3 ":" $2; c[k]++} END {for (k in c) printf "%s=%d ", k, c[k]}' "$OUT/results.$sc")
    exits=$(awk '$3 == "ok" {c[$5]++} END {for (k in c) printf "exit %s: %d, ", k, c[k]}' "$OUT/results.$sc")
    owners=$(fold -w1 "$OUT/map.$sc" | sort | uniq -c | awk '{printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1}')
    echo "alloc-sweep: $sc: $n allocations ($owners), $runs runs: ${summary}(${exits%, })" | tee -a "$LOG"
    if awk '$3 == "ours" || $3 == "other" {bad = 1} END {exit !bad}' "$OUT/results.$sc"; then
        fail=1
        awk '$3 == "ours" || $3 == "other"' "$OUT/results.$sc" | head -n 20 | sed "s/^/  $sc i=/" | tee -a "$LOG"
        # the first few reports whole, our frames named (a CI log is all there is)
        awk '$3 == "ours" || $3 == "other" {print $1}' "$OUT/results.$sc" | head -n 3 | while read -r i; do
            resolve_frames <"$OUT/bad.$sc.$i" | sed 's/^/    /' | tee -a "$LOG"
        done
    fi
    awk '$3 == "libhdf5"' "$OUT/results.$sc" | cut -d' ' -f4- | sort | uniq -c |
        sed "s/^/  $sc libhdf5: /" | tee -a "$LOG"
done
echo "alloc-sweep: owners f = our code, h = libhdf5, j = cJSON, s = SQLite, i = libjpeg/png, b = OpenBLAS; details in $OUT/bad.*" | tee -a "$LOG"
exit $fail
}
