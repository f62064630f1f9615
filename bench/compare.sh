#!/usr/bin/env bash
# compare.sh - `make bench-compare`: facenet-c against ONNX Runtime (onnxruntime-node,
# CPU provider) on the same networks, the same weights and the same input.
#
# Networks: the default model (weights/dlib-resnet, from `make weights`) and the
# full-size FaceNet (Inception-ResNet-v1, $FACENET_SHARED/models/keras-facenet) with
# generated weights (weights/facenet-random.h5, from tools/gen_weights).  Each is
# converted once by build/tools/keras2onnx into $BUILD/onnx/.  For every network,
# thread count and batch size, three runs are interleaved:
#   facenet-c with OPENBLAS_CORETYPE as exported (this machine: Haswell, AVX2 kernels),
#   ONNX Runtime (intra-op threads = N), which also checks that its outputs agree with
#     the facenet-c run's (bench_forward --dump; max |diff| / max |ref| <= 1e-4),
#   facenet-c with OPENBLAS_CORETYPE unset (OpenBLAS picks the kernels for the CPU).
# facenet-c's threads are its own (bench_forward --threads N; OpenBLAS stays on one).  Each figure is the
# median of $RUNS runs after a warm-up; with ROUNDS > 1 the whole grid is repeated
# and the median per cell reported.  Compare figures from one invocation only: the
# machine is shared and timing is noisy.
#
# Environment: BUILD, FACENET_SHARED, RUNS (10), ROUNDS (1), THREADS ("1 2"),
# BATCHES ("1 16"), NETS ("dlib-resnet facenet").
set -euo pipefail
BUILD=${BUILD:-build}
SHARED=${FACENET_SHARED:-../shared}
RUNS=${RUNS:-10}
ROUNDS=${ROUNDS:-1}
THREADS=${THREADS:-"1 2"}
BATCHES=${BATCHES:-"1 16"}
NETS=${NETS:-"dlib-resnet facenet"}
OUT=$BUILD/onnx
CORE_EXPORTED=${OPENBLAS_CORETYPE:-}

die() {
    echo "bench-compare: $*" >&2
    exit 1
}

bash scripts/ort_setup.sh || die "ONNX Runtime is not available (see above)"
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

net_files() { # name -> "model.json weights.h5"
    case $1 in
    dlib-resnet) echo "weights/dlib-resnet/model.json weights/dlib-resnet/model.h5" ;;
    facenet) echo "$SHARED/models/keras-facenet/model.json weights/facenet-random.h5" ;;
    *) die "unknown network $1" ;;
    esac
}

for net in $NETS; do
    read -r json h5 <<<"$(net_files "$net")"
    if [ "$net" = facenet ] && [ ! -f "$h5" ]; then
        "$BUILD/tools/gen_weights" --model-json "$json" -o "$h5" --seed 1 >&2
    fi
    [ -f "$h5" ] || die "$h5 is missing (make weights)"
    onnx=$OUT/$net.onnx
    if [ ! -f "$onnx" ] || [ "$onnx" -ot "$h5" ] || [ "$onnx" -ot "$json" ] || [ "$onnx" -ot "$BUILD/tools/keras2onnx" ]; then
        "$BUILD/tools/keras2onnx" --model-json "$json" --weights "$h5" -o "$onnx" >&2
    fi
done

# facenet-c: ms/image and the kernel set OpenBLAS reports; $1 = coretype ("" = unset)
engine() {
    local core=$1 net=$2 t=$3 b=$4 dump=$5 log json h5
    read -r json h5 <<<"$(net_files "$net")"
    log=$TMP/engine.log
    if [ -n "$core" ]; then
        OPENBLAS_CORETYPE=$core OPENBLAS_NUM_THREADS=$t "$BUILD/bench/bench_forward" --model-json "$json" \
            --weights "$h5" --batch "$b" --runs "$RUNS" --threads "$t" ${dump:+--dump "$dump"} >"$log"
    else
        env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS="$t" "$BUILD/bench/bench_forward" --model-json "$json" \
            --weights "$h5" --batch "$b" --runs "$RUNS" --threads "$t" ${dump:+--dump "$dump"} >"$log"
    fi
    echo "$(sed -n 's/^gemm .*(\([0-9.]*\) ms\/image.*/\1/p' "$log") $(sed -n 's/^openblas core \([^,]*\),.*/\1/p' "$log")"
}

# ONNX Runtime: "ms/image relative-diff ok"
ort() {
    local net=$1 t=$2 b=$3 ref=$4
    node bench/ort_bench.js --model "$OUT/$net.onnx" --threads "$t" --batch "$b" --runs "$RUNS" \
        --compare "$ref" --json 2>"$TMP/ort.err" |
        node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
                 console.log(r.ms_per_image.toFixed(3), r.agree.relative.toExponential(1), r.agree.ok ? "yes" : "NO")' ||
        { cat "$TMP/ort.err" >&2; echo "nan nan NO"; }
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

declare -A cell
CORE_AUTO=?
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
    for net in $NETS; do
        for t in $THREADS; do
            for b in $BATCHES; do
                key=$net/$t/$b
                echo "bench-compare: round $round, $net, $t thread(s), batch $b" >&2
                [ -n "$CORE_EXPORTED" ] && read -r ms_e _ <<<"$(engine "$CORE_EXPORTED" "$net" "$t" "$b" "$TMP/ref.f32")"
                read -r ms_a CORE_AUTO <<<"$(engine "" "$net" "$t" "$b" "$TMP/ref_auto.f32")"
                [ -n "$CORE_EXPORTED" ] || cp "$TMP/ref_auto.f32" "$TMP/ref.f32"
                read -r ms_o rel ok <<<"$(ort "$net" "$t" "$b" "$TMP/ref.f32")"
                cell[$key/e]="${cell[$key/e]:-} ${ms_e:-}"
                cell[$key/a]="${cell[$key/a]:-} $ms_a"
                cell[$key/o]="${cell[$key/o]:-} $ms_o"
                cell[$key/rel]="$rel"
                [ "$ok" = yes ] || cell[$key/bad]=1
            done
        done
    done
done

echo
echo "facenet-c vs ONNX Runtime $(node -p "require('./$BUILD/ort/node_modules/onnxruntime-node/package.json').version" 2>/dev/null || echo '?') (CPU)" \
     "- $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores visible"
echo "OPENBLAS_CORETYPE exported: ${CORE_EXPORTED:-<unset>}; unset, OpenBLAS picks: $CORE_AUTO" \
     "- medians of $RUNS runs, $ROUNDS round(s); ratio = facenet-c / ORT (above 1: ORT is faster)"
echo "load average (1/5/15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %7s %5s | %13s %13s | %9s | %14s %14s | %s\n' network threads batch \
    "fc ${CORE_EXPORTED:-exported}" "fc $CORE_AUTO" "ORT" "ratio(${CORE_EXPORTED:-exp})" "ratio(auto)" "max rel diff"
printf '%-12s %7s %5s | %13s %13s | %9s | %14s %14s | %s\n' "" "" "" "ms/image" "ms/image" "ms/image" "" "" ""
fail=0
for net in $NETS; do
    for t in $THREADS; do
        for b in $BATCHES; do
            key=$net/$t/$b
            e=$(echo "${cell[$key/e]}" | median); a=$(echo "${cell[$key/a]}" | median); o=$(echo "${cell[$key/o]}" | median)
            re=$(awk -v x="${e:-nan}" -v y="$o" 'BEGIN {if (x == "nan" || x == "" || y + 0 == 0) print "-"; else printf "%.2f", x / y}')
            ra=$(awk -v x="$a" -v y="$o" 'BEGIN {if (y + 0 == 0) print "-"; else printf "%.2f", x / y}')
            agree=${cell[$key/rel]}
            [ -z "${cell[$key/bad]:-}" ] || { agree="$agree DISAGREE"; fail=1; }
            printf '%-12s %7s %5s | %13s %13s | %9s | %14s %14s | %s\n' "$net" "$t" "$b" "${e:--}" "$a" "$o" "$re" "$ra" "$agree"
        done
    done
done
[ $fail -eq 0 ] || die "outputs disagree (tolerance 1e-4 relative)"
