#!/usr/bin/env bash
# run.sh - run every fuzz target in $FUZZ_BUILD/fuzz/ for $FUZZ_SECONDS seconds each on
# its corpus ($FUZZ_BUILD/corpus/<target>/, kept between runs, where libFuzzer adds
# what it finds) plus its seeds ($FUZZ_BUILD/seeds/<target>/, from make_seeds.sh), and
# print per target: executions, libFuzzer's final coverage (cov: edges, ft: features)
# and crashes.  A crash, leak, timeout or undefined behaviour leaves its input in
# $FUZZ_BUILD/artifacts/<target>/ and makes the script exit 1.  Logs:
# $FUZZ_BUILD/logs/<target>.log.  FUZZ_TARGETS="image pairs" runs only those.
#
# model_h5 runs in libFuzzer's fork mode, which goes on after a crash: libhdf5 1.10
# itself crashes, hangs or asks for absurd allocations on some corrupted files (what
# the CLI's sandbox is for).  Each of its findings is replayed and put down to
# libhdf5 when the first frame of its stack that is in libhdf5 or in this project's
# sources is in libhdf5; those are counted apart and do not fail the run.
# One compound command: bash reads it whole before running it, so editing this file
# while it runs cannot change what runs.
{
set -u
cd "$(dirname "$0")/.."
FB=${FUZZ_BUILD:-build-fuzz}
SECS=${FUZZ_SECONDS:-60}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$FB/logs"
# the targets' scratch files (one directory per fuzzing process) stay in the build dir
case $FB in /*) TMPDIR=$FB/tmp ;; *) TMPDIR=$PWD/$FB/tmp ;; esac
export TMPDIR
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"
bad=0
printf '%-12s %10s %8s %8s  %s\n' target execs cov ft result
for bin in "$FB"/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    t=${bin##*/fuzz_}
    if [ -n "${FUZZ_TARGETS:-}" ] && ! [[ " $FUZZ_TARGETS " == *" $t "* ]]; then
        continue
    fi
    corpus=$FB/corpus/$t art=$FB/artifacts/$t log=$FB/logs/$t.log
    rm -rf "$art"
    mkdir -p "$corpus" "$art"
    seeds=()
    [ -d "$FB/seeds/$t" ] && seeds=("$FB/seeds/$t")
    if [ "$t" = model_h5 ]; then
        ASAN_OPTIONS=$ASAN_OPTIONS:allocator_may_return_null=1 \
        "$bin" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
            -max_total_time="$SECS" -timeout=5 -rss_limit_mb=2048 \
            -artifact_prefix="$art/" "$corpus" "${seeds[@]}" >"$log" 2>&1
        rc=$?
        last=$(grep -E '^#[0-9]+: cov: ' "$log" | tail -n 1)
        execs=$(sed -n 's/^#\([0-9]*\):.*/\1/p' <<<"$last")
        ours=0 h5=0 norepro=0
        for a in "$art"/*; do
            [ -f "$a" ] || continue
            rep=$(ASAN_OPTIONS=$ASAN_OPTIONS:allocator_may_return_null=1:fast_unwind_on_malloc=0 timeout 60 \
                  "$bin" -timeout=5 -rss_limit_mb=2048 "$a" 2>&1)
            if [ $? -eq 0 ]; then
                norepro=$((norepro + 1))
                echo "does not reproduce: $a" >>"$log"
                continue
            fi
            frame=$(grep -E '^ +#[0-9]+ ' <<<"$rep" | grep -m1 -E 'libhdf5|/(src|tools|fuzz)/[^ ]*\.c:[0-9]')
            if [[ "$frame" == *libhdf5* ]]; then
                h5=$((h5 + 1))
                # the HDF5 call our code made (leaks: memory libhdf5 lost inside it)
                entry=$(grep -E '^ +#[0-9]+ ' <<<"$rep" | grep -B1 -m1 -E '/(src|tools|fuzz)/[^ ]*\.c:[0-9]' |
                        head -n 1 | sed -n 's/.* in \([A-Za-z0-9_]*\) .*/\1/p')
                echo "libhdf5: $a: in ${entry:-?} called from $(grep -E '^ +#[0-9]+ ' <<<"$rep" |
                      grep -m1 -oE '[a-z_0-9]+ /[^ ]*/(src|tools|fuzz)/[^ ]*\.c:[0-9]+' || echo '?')" >>"$log"
            else
                ours=$((ours + 1))
                echo "ours: $a: ${frame:-no frame}" >>"$log"
            fi
        done
        # fork mode exits with the status of a finding it was told to ignore (70
        # timeout, 77 crash or leak, 1 for a signal...): once it has run to its end,
        # the replays above decide whose the findings are
        grep -q '^INFO: exiting: ' "$log" && rc=0
        [ $ours -gt 0 ] && rc=1
    else
        "$bin" -max_total_time="$SECS" -print_final_stats=1 -timeout=30 -rss_limit_mb=2048 \
            -artifact_prefix="$art/" "$corpus" "${seeds[@]}" >"$log" 2>&1
        rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -n 1)
    fi
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    if [ "$t" = model_h5 ] && [ $ours -eq 0 ] && [ "$rc" -eq 0 ]; then
        result="ok (libhdf5 findings, not ours: $h5; not reproducible: $norepro; $(sed -n 's/.*\(oom\/timeout\/crash: [0-9\/]*\).*/\1/p' <<<"$last"))"
    elif [ "$rc" -eq 0 ]; then
        result=ok
    elif [ "$t" = model_h5 ]; then
        bad=1
        result="CRASH in our code: $ours input(s) in $art (see ours: lines in $log)"
    else
        bad=1
        what=$(grep -m1 -E '^SUMMARY: |ERROR: libFuzzer|ERROR: AddressSanitizer|runtime error' "$log" | cut -c1-150)
        input=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -n 1)
        result="CRASH (exit $rc): ${what:-see $log} ${input:+input $input}"
    fi
    printf '%-12s %10s %8s %8s  %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
[ $bad -eq 0 ] || echo "fuzz: failures above; inputs in $FB/artifacts/, logs in $FB/logs/" >&2
exit $bad
}
