#!/usr/bin/env bash
# run.sh - run every test program under $BUILD/tests and print one summary line
# "N passed, N failed" (cmocka's per-test counts, summed over programs).
# A test program that crashes or prints no cmocka summary counts as one failure.
set -u
BUILD=${BUILD:-build}
export FACENET_SHARED=${FACENET_SHARED:-../shared}
export FACENET_BUILD=$BUILD
if [ ! -d "$FACENET_SHARED" ]; then
    echo "tests: FACENET_SHARED=$FACENET_SHARED does not exist (the shared data is required)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
pass=0; fail=0
# the programs of the sources in tests/ (a stale binary left in $BUILD does not count)
for src in tests/test_*.c; do
    t="$BUILD/tests/$(basename "$src" .c)"
    if [ ! -x "$t" ]; then
        echo "$(basename "$t"): not built" >&2
        fail=$((fail + 1))
        continue
    fi
    log=$(mktemp)
    "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$(basename "$t"): exited with status $rc" >&2
        f=1
    fi
    pass=$((pass + p)); fail=$((fail + f))
    rm -f "$log"
done
# the layering, environment and file-size rules of docs/architecture.md
if bash scripts/check_structure.sh; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
