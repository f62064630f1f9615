#!/usr/bin/env bash
# faces_compare.sh - `make bench-faces`: facenet-c's photo pipeline against face-api's
# own (Node, TensorFlow.js wasm backend), same pixels, same thread count.
#
# Both engines run SSD MobileNetV1 (minConfidence 0.5), the 68-point landmark net and a
# dlib ResNet descriptor for EVERY face found: facenet-c through build/bench/faces_speed
# (app/faces.h, face-api's crop), face-api through bench/faceapi_bench.js
# (detectAllFaces().withFaceLandmarks().withFaceDescriptors()).  The photos are decoded
# once by facenet-c's decoder (faces_speed --dump-rgb: Pillow's pixels) and face-api is
# fed those bytes, so both see identical images; facenet-c's times leave its decoding
# out too.
#   photo rows: each of $PHOTOS, one warm-up, then the median of $RUNS runs (ms/photo);
#   LFW rows:   the first $LFW_LIMIT photos of $FACENET_SHARED/lfw/original-150 (sorted
#               paths), each once after a warm-up: photos/s over the summed per-photo
#               times, the process's CPU time per photo, photos with a face, faces found.  facenet-c's small-photo pass
#               (detection again on a larger canvas when a photo under 300 px gives no
#               face) makes it do more work on those photos and find more faces.
# For every thread count in $THREADS: facenet-c with OPENBLAS_CORETYPE as exported
# (these machines: Haswell), facenet-c with it unset (OpenBLAS picks), and face-api
# (tfjs wasm: 1 thread = the stock SIMD build; more = the threaded SIMD build, see
# bench/faceapi_bench.js), interleaved.  The machine is shared: the load average is
# printed at the start and the end, and each row carries the CPU time of the process
# per photo.  Compare figures from one invocation only.
#
# Environment: BUILD, FACENET_SHARED, RUNS (11), THREADS ("1 2"), LFW_LIMIT (1000; 0
# skips the LFW rows), PHOTOS (dlib-faces 2008_002079.jpg and 2007_007763.jpg: 500x375,
# 6 and 7 faces), CORES ("exported unset").
set -euo pipefail
BUILD=${BUILD:-build}
SHARED=${FACENET_SHARED:-../shared}
RUNS=${RUNS:-11}
THREADS=${THREADS:-"1 2"}
LFW_LIMIT=${LFW_LIMIT:-1000}
PHOTOS=${PHOTOS:-"$SHARED/images/dlib-faces/2008_002079.jpg $SHARED/images/dlib-faces/2007_007763.jpg"}
CORES=${CORES:-"exported unset"}
CORE_EXPORTED=${OPENBLAS_CORETYPE:-}
SPEED=$BUILD/bench/faces_speed

die() {
    echo "bench-faces: $*" >&2
    exit 1
}

[ -x "$SPEED" ] || die "$SPEED is not built (make)"
for d in ssd-mobilenetv1 face-landmark-68 dlib-resnet; do
    [ -f "weights/$d/model.h5" ] || die "weights/$d is missing (make weights)"
done
bash scripts/faceapi_setup.sh || die "face-api is not available (see above)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# decoded pixels for face-api
read -ra photo <<<"$PHOTOS"
np=${#photo[@]}
for i in "${!photo[@]}"; do
    [ -f "${photo[$i]}" ] || die "${photo[$i]} is missing"
    "$SPEED" --dump-rgb "$TMP/photo$i.rgb" "${photo[$i]}" 2>/dev/null || die "cannot decode ${photo[$i]}"
done
if [ "$LFW_LIMIT" -gt 0 ]; then
    [ -d "$SHARED/lfw/original-150" ] || die "$SHARED/lfw/original-150 is missing"
    find "$SHARED/lfw/original-150" -name '*.jpg' | LC_ALL=C sort | awk -v n="$LFW_LIMIT" 'NR <= n' >"$TMP/lfw.txt"
    "$SPEED" --dump-rgb "$TMP/lfw.rgb" --list "$TMP/lfw.txt" 2>/dev/null || die "cannot decode the LFW photos"
fi

# "key=value ..." of the last "result" line of a run -> value of $2
field() { sed -n 's/^result //p' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -n 1; }

# facenet-c: $1 = core ("exported" | "unset"), $2 = threads, the rest = faces_speed arguments
fc() {
    local core=$1 t=$2
    shift 2
    if [ "$core" = exported ] && [ -n "$CORE_EXPORTED" ]; then
        OPENBLAS_CORETYPE=$CORE_EXPORTED "$SPEED" --threads "$t" "$@"
    else
        env -u OPENBLAS_CORETYPE "$SPEED" --threads "$t" "$@"
    fi
}

# face-api; its threaded build now and then stalls or ends early (faceapi_bench.js exits
# non-zero then): up to 3 attempts, each one counted in the table's notes
fa() {
    local t=$1 try
    shift
    for try in 1 2 3; do
        node bench/faceapi_bench.js --threads "$t" "$@" && return 0
        echo "bench-faces: face-api, $t thread(s): attempt $try failed" >&2
        FA_FAILED=$((FA_FAILED + 1))
    done
    return 1
}
FA_FAILED=0

# the result line of a run, or stop with what the run printed
check() {
    grep -q '^result ' "$log" || die "$1: no result (output: $(tail -n 3 "$log" | tr '\n' ' '))"
}

engines=()
for core in $CORES; do
    case $core in exported | unset) ;; *) die "CORES: \"$core\" is not exported or unset" ;; esac
    [ "$core" = exported ] && [ -z "$CORE_EXPORTED" ] && continue
    engines+=("fc-$core")
done
engines+=(faceapi)
label() {
    case $1 in
    fc-exported) echo "facenet-c (OPENBLAS_CORETYPE=$CORE_EXPORTED)" ;;
    fc-unset) echo "facenet-c (OPENBLAS_CORETYPE unset)" ;;
    faceapi) echo "face-api 1.7.15 (tfjs wasm)" ;;
    esac
}

declare -A cell
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log=$TMP/run.log
for t in $THREADS; do
    for i in $(seq 0 $((np - 1))); do
        p=${photo[$i]}
        for e in "${engines[@]}"; do
            echo "bench-faces: $(label "$e"), $t thread(s), $(basename "$p")" >&2
            case $e in
            fc-*) fc "${e#fc-}" "$t" --runs "$RUNS" "$p" >"$log" || die "faces_speed failed on $p" ;;
            faceapi) fa "$t" --rgb "$TMP/photo$i.rgb" --runs "$RUNS" >"$log" || die "faceapi_bench failed on $p" ;;
            esac
            check "$(label "$e"), $p"
            cell[$e/$t/p$i]="$(field "$log" ms) $(field "$log" cpu_ms) $(field "$log" faces)"
            [ "$e" != faceapi ] || cell[$e/$t/used]="$(field "$log" threads_used) $(field "$log" wasm_binary)"
            [ "$e" = faceapi ] || cell[$e/$t/used]="$(field "$log" threads)"
        done
    done
    if [ "$LFW_LIMIT" -gt 0 ]; then
        for e in "${engines[@]}"; do
            echo "bench-faces: $(label "$e"), $t thread(s), $(wc -l <"$TMP/lfw.txt") LFW photos" >&2
            case $e in
            fc-*) fc "${e#fc-}" "$t" --list "$TMP/lfw.txt" >"$log" || die "faces_speed failed on the LFW list" ;;
            faceapi) fa "$t" --rgb "$TMP/lfw.rgb" --mode list >"$log" || die "faceapi_bench failed on the LFW photos" ;;
            esac
            check "$(label "$e"), LFW"
            cell[$e/$t/lfw]="$(field "$log" photos_per_s) $(field "$log" cpu_ms) $(field "$log" with_face) $(field "$log" faces) $(field "$log" images)"
        done
    fi
done

echo
echo "facenet-c vs face-api 1.7.15 (Node $(node --version), tfjs 4.22.0 wasm backend)" \
     "- $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores visible"
echo "detect (SSD, min score 0.5) + 68 landmarks + a descriptor for every face; same decoded pixels;" \
     "photo: median of $RUNS runs after a warm-up; LFW: the first $LFW_LIMIT photos of original-150, once each"
echo "load average (1/5/15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
hdr="%-40s %7s |"
args=(engine threads)
for i in $(seq 0 $((np - 1))); do
    p=$(basename "${photo[$i]}" .jpg)
    hdr+=" %24s |"
    args+=("$p: ms (CPU ms) faces")
done
[ "$LFW_LIMIT" -gt 0 ] && { hdr+=" %10s %11s %11s %6s"; args+=("LFW ph/s" "CPU ms/ph" "with a face" faces); }
# shellcheck disable=SC2059
printf "$hdr\n" "${args[@]}"
for t in $THREADS; do
    for e in "${engines[@]}"; do
        read -r used _ <<<"${cell[$e/$t/used]:-?}"
        row=("$(label "$e")" "$t${used:+ ($used)}")
        [ "$used" = "$t" ] && row[1]=$t
        for i in $(seq 0 $((np - 1))); do
            read -r ms cms nf <<<"${cell[$e/$t/p$i]}"
            row+=("$(printf '%.1f (%.1f) %s' "$ms" "$cms" "$nf")")
        done
        if [ "$LFW_LIMIT" -gt 0 ]; then
            read -r pps cms wf nf ni <<<"${cell[$e/$t/lfw]}"
            row+=("$(printf '%.2f' "$pps")" "$(printf '%.1f' "$cms")" "$wf/$ni" "$nf")
        fi
        # shellcheck disable=SC2059
        printf "$hdr\n" "${row[@]}"
    done
done
bins=
for t in $THREADS; do bins+=" $t thread(s): ${cell[faceapi/$t/used]#* };"; done
[ "$FA_FAILED" -eq 0 ] || echo "face-api runs that stalled or ended early and were run again: $FA_FAILED"
echo "threads: facenet-c's own (faces_speed --threads; OpenBLAS kept on one); face-api: the XNNPACK" \
     "threads tfjs reports (getThreadsCount), in () when it differs from the count asked;" \
     "face-api's wasm binary:${bins%;}"
