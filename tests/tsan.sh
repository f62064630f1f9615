#!/usr/bin/env bash
# tsan.sh - the threaded code under ThreadSanitizer (`make tsan`, in CI): the thread
# pool's own test, the kernel tests that run on the pool, and the CLI on 2-3 threads
# (encode with detection - the decoding thread, three nets' pools - and encode of
# face crops, and detect).  Any data race report fails the run (TSan exits 66).
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
run() { # name, command...
    local name=$1 log rc
    shift
    log=$(mktemp)
    "$@" >"$log" 2>&1 </dev/null
    rc=$?
    if [ $rc -eq 0 ] && ! grep -q 'WARNING: ThreadSanitizer' "$log"; then
        pass=$((pass + 1))
        echo "tsan: $name: ok"
    else
        fail=$((fail + 1))
        echo "tsan: $name: FAILED (exit $rc)"
        grep -A 30 'WARNING: ThreadSanitizer' "$log" | head -n 60
        [ $rc -ne 66 ] && tail -n 20 "$log"
    fi
    rm -f "$log"
}
for t in test_thread_pool test_gemm_packed test_winograd test_detect_layers; do
    run "$t" "$BUILD/tests/$t"
done
run "encode, detection, 2 threads" "$BUILD/facenet" encode --threads 2 "$H"
run "encode, face crops, 3 threads" env FACENET_NO_SANDBOX=1 "$BUILD/facenet" encode --no-detect --threads 3 \
    --weights "$M/model.h5" "$H"
run "detect, 2 threads" "$BUILD/facenet" detect --threads 2 "$H/kian.jpg" "$SH/images/dlib-faces/2008_002506.jpg"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
