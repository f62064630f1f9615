#!/usr/bin/env bash
# tsan.sh - the threaded code under ThreadSanitizer (`make tsan`, in CI): the thread
# pool's own test, the kernel tests that run on the pool, and the CLI on 2-3 threads
# (encode with detection - the decoding thread, three nets' pools - and encode of
# face crops, unreadable photos among good ones, an enroll that refuses one, and
# detect).  Any data race report fails the run (TSan exits 66).
# Prints "N passed, N failed".  BUILD: the TSan build folder (default build-tsan).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-tsan}
SH=${FACENET_SHARED:-../shared}
export FACENET_SHARED=$SH FACENET_BUILD=$BUILD
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
export OPENBLAS_NUM_THREADS=1
H=$SH/images/happy-house
M=$SH/keras-real/tiny-resnet8-k2.4.0
pass=0 fail=0
# clang 14's TSan cannot map its shadow memory when the kernel randomises mappings
# with more than 28 bits ("FATAL: ThreadSanitizer: unexpected memory mapping"; newer
# kernels allow 32): the programs run with address randomisation off where setarch can
# turn it off.
NORAND=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
    NORAND=(setarch "$(uname -m)" -R)
fi
# run NAME [--exit N] COMMAND...: passes when COMMAND exits N (default 0) and TSan
# reported nothing
run() {
    local name=$1 want=0 log rc
    shift
    if [ "$1" = --exit ]; then
        want=$2
        shift 2
    fi
    log=$(mktemp)
    "${NORAND[@]}" "$@" >"$log" 2>&1 </dev/null
    rc=$?
    if [ $rc -eq "$want" ] && ! grep -q 'WARNING: ThreadSanitizer' "$log"; then
        pass=$((pass + 1))
        echo "tsan: $name: ok"
    else
        fail=$((fail + 1))
        echo "tsan: $name: FAILED (exit $rc, expected $want)"
        grep -A 30 'WARNING: ThreadSanitizer' "$log" | head -n 60
        [ $rc -ne 66 ] && tail -n 5 "$log" | cut -c1-300
    fi
    rm -f "$log"
}
for t in test_thread_pool test_gemm_packed test_winograd test_detect_layers; do
    run "$t" "$BUILD/tests/$t"
done
run "encode, detection, 2 threads" "$BUILD/facenet" encode --threads 2 "$H"
run "encode, face crops, 3 threads" env FACENET_NO_SANDBOX=1 "$BUILD/facenet" encode --no-detect --threads 3 \
    --weights "$M/model.h5" "$H"
# error paths: unreadable photos among good ones (decoded ahead, reported, skipped),
# and a run that stops at its first failure with photos still decoded ahead
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "not a photo" >"$T/broken.jpg"
head -c 2000 "$H/kian.jpg" >"$T/cut.jpg"
run "encode, unreadable photos among good ones" --exit 2 "$BUILD/facenet" encode --threads 2 "$H/andrew.jpg" \
    "$T/broken.jpg" "$H/kian.jpg" "$T/cut.jpg" "$H/danielle.png"
run "enroll refusing an unreadable photo" --exit 2 "$BUILD/facenet" enroll --threads 2 --db "$T/g.db" bob \
    "$H/andrew.jpg" "$T/broken.jpg" "$H/kian.jpg" "$H/danielle.png"
run "detect, 2 threads" "$BUILD/facenet" detect --threads 2 "$H/kian.jpg" "$SH/images/dlib-faces/2008_002506.jpg"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
