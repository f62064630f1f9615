#!/usr/bin/env bash
# make_docs.sh - regenerate every figure of docs/walkthrough.md from the shared data
# with the project's own commands (run by `make docs`, after `make weights`):
#   docs/figures/office_distances.{png,svg}  facenet distance --plot, the happy-house photos
#   docs/figures/lfw_roc.png                  facenet evaluate --plot --log-far, LFW View 1
#   docs/figures/aligned_chip*.png            --save-chips (when this build has it)
#   docs/figures/feature_maps_*.png           facenet trace --maps (when this build has it)
#   docs/figures/dlib_resnet_graph.svg        facenet graph (when this build has it)
# and the generated blocks of docs/walkthrough.md (between <!-- generated:NAME --> and
# <!-- /generated:NAME -->): command outputs quoted as they are printed, and the
# triplet table of bench/triplet_examples (the project's fn_triplet_loss on LFW
# embeddings). Intermediate files go to $BUILD/docs/.
set -euo pipefail
BUILD=${BUILD:-build}
SHARED=${FACENET_SHARED:-../shared}
MODEL=weights/dlib-resnet
FN="$BUILD/facenet"
OUT=docs/figures
WORK=$BUILD/docs
DOC=docs/walkthrough.md
H=$SHARED/images/happy-house
L=$SHARED/lfw
for need in "$H" "$L/original-150" "$L/pairsDevTest.txt" "$MODEL/model.h5" "$SHARED/models/keras-facenet/model.json"; do
    [ -e "$need" ] || { echo "make docs: $need not found (FACENET_SHARED=$SHARED; make weights)" >&2; exit 2; }
done
mkdir -p "$OUT" "$WORK"
has_opt() { "$FN" "$1" --help 2>/dev/null | grep -q -- "$2"; }
# splice NAME FILE: the generated block NAME of $DOC becomes FILE's lines
splice() {
    grep -q "<!-- generated:$1 -->" "$DOC" || { echo "make docs: $DOC has no block $1" >&2; exit 2; }
    awk -v name="$1" -v file="$2" '
        $0 == "<!-- generated:" name " -->" { print; while ((getline l < file) > 0) print l; skip = 1; next }
        $0 == "<!-- /generated:" name " -->" { skip = 0 }
        !skip' "$DOC" > "$WORK/walkthrough.tmp"
    mv "$WORK/walkthrough.tmp" "$DOC"
}
# paths under the shared folder as ../shared/... (its default place), whatever
# FACENET_SHARED was: the page must not carry one machine's absolute paths
SHARED_ABS=$(cd "$SHARED" && pwd -P)
shared_rel() {
    local l
    while IFS= read -r l || [ -n "$l" ]; do
        l=${l//"$SHARED_ABS"/../shared}
        l=${l//"$SHARED"/../shared}
        printf '%s\n' "$l"
    done
}
quote() { { echo '```text'; echo "\$ $1"; shared_rel; echo '```'; } > "$WORK/$2.md"; splice "$2" "$WORK/$2.md"; }

echo "make docs: the office photos (distance --plot)"
office=("$H"/{andrew,arnaud,benoit,bertrand,dan,felix,kevin,kian,sebastiano,tian,younes}.jpg "$H"/danielle.png
        "$H"/camera_{0,1,2,3,4,5}.jpg)
"$FN" distance --model "$MODEL" --plot "$OUT/office_distances.svg" "${office[@]}" > /dev/null
"$FN" distance --model "$MODEL" --plot "$OUT/office_distances.png" "${office[@]}" > "$WORK/office.txt"

echo "make docs: LFW View 1 (evaluate --plot --scores; about a minute)"
lfw_args=(--pairs "$L/pairsDevTest.txt" --train-pairs "$L/pairsDevTrain.txt" --images "$L/original-150"
          --landmarks "$L/landmarks-5pt-250px.txt" --landmark-scale 0.6)
"$FN" evaluate --model "$MODEL" "${lfw_args[@]}" --plot "$OUT/lfw_roc.png" --log-far --scores "$WORK/lfw_scores.csv" \
    2> "$WORK/lfw_eval.err" | quote "facenet evaluate --pairs pairsDevTest.txt --train-pairs pairsDevTrain.txt --images original-150 --landmarks landmarks-5pt-250px.txt --landmark-scale 0.6 --plot docs/figures/lfw_roc.png --log-far --scores lfw_scores.csv" lfw-eval

echo "make docs: triplets from the LFW DevTest embeddings (encode, then bench/triplet_examples)"
awk -F'\t' 'NR > 1 { if (NF == 3) { a = $1 "/" $1 sprintf("_%04d.jpg", $2); b = $1 "/" $1 sprintf("_%04d.jpg", $3) }
                      else { a = $1 "/" $1 sprintf("_%04d.jpg", $2); b = $3 "/" $3 sprintf("_%04d.jpg", $4) }
                      print a; print b }' "$L/pairsDevTest.txt" | sort -u | while read -r p; do
    [ -f "$L/original-150/$p" ] && echo "$L/original-150/$p"
done > "$WORK/lfw_test.list"
"$FN" encode --model "$MODEL" --landmarks "$L/landmarks-5pt-250px.txt" --landmark-scale 0.6 \
    -o "$WORK/lfw_test.csv" @"$WORK/lfw_test.list" 2> "$WORK/lfw_encode.err" > /dev/null
"$BUILD/bench/triplet_examples" "$WORK/lfw_test.csv" 0.2 > "$WORK/triplets.md"
splice triplets "$WORK/triplets.md"

echo "make docs: the blocks, as facenet info --layers plans them"
"$FN" info --model-json "$SHARED/models/keras-facenet/model.json" --layers | awk 'NR <= 3 || /^#/ || /Block35_1_/' \
    | quote "facenet info --model-json keras-facenet/model.json --layers   # the rows of Block35_1" block35
"$FN" info --model "$MODEL" --layers | awk 'NR <= 4 || /^#/ || / conv32_1/ || / (input|conv32_down|maxpool)  /' \
    | quote "facenet info --layers   # the stem and the first ResNet block of the default model" resblock
"$FN" info --model "$MODEL" --layers | awk '/^#/ || / conv256_down_out/ || / global_avg / || / fc /' \
    | quote "facenet info --layers   # the end of the network: pooling and the 128-d bottleneck" bottleneck

# Figures from commands that may not be in this build yet (issue #12 part 1: trace
# --maps and graph; the face pipeline: --save-chips).  Each step says when it is skipped.
IMG=$L/original-150/Aaron_Peirsol/Aaron_Peirsol_0004.jpg
note() { echo "$2" > "$WORK/$1.md"; splice "$1" "$WORK/$1.md"; }
rm -f "$OUT"/aligned_chip*.png "$OUT"/feature_maps_*.png "$OUT"/dlib_resnet_graph.svg
if has_opt encode --save-chips; then
    echo "make docs: the aligned chip (encode --save-chips)"
    rm -rf "$WORK/chips" && mkdir -p "$WORK/chips"
    "$FN" encode --model "$MODEL" --landmarks "$L/landmarks-5pt-250px.txt" --landmark-scale 0.6 \
        --save-chips "$WORK/chips" "$IMG" > /dev/null
    chip=$(ls "$WORK"/chips/*.png | head -n 1)
    cp "$chip" "$OUT/aligned_chip.png"
    note chip "![The aligned chip the network sees](figures/aligned_chip.png)

\`facenet encode --landmarks landmarks-5pt-250px.txt --landmark-scale 0.6 --save-chips DIR Aaron_Peirsol_0004.jpg\`:
the 150×150 chip of an LFW photo, aligned from its five landmarks."
else
    echo "make docs: skipping the aligned chip (this facenet has no --save-chips)"
    note chip "*(The aligned chip appears here when \`make docs\` runs a facenet with \`--save-chips\`.)*"
fi
if has_opt trace --maps; then
    echo "make docs: feature maps (trace --maps) and the trace of one block"
    links=""
    for layer in conv32_down conv32_1 conv128_1; do
        "$FN" trace --model "$MODEL" --maps "$layer" -o "$OUT/feature_maps_$layer.png" "$IMG" > /dev/null
        links="$links
![Feature maps of $layer](figures/feature_maps_$layer.png)"
    done
    note maps "What the channels respond to, on the LFW photo above (\`facenet trace --maps LAYER -o FILE.png IMG\`),
after the stem, after the first block and deep in the network:
$links"
    "$FN" trace --model "$MODEL" "$IMG" | awk 'NR <= 3 || /^#/ || / conv32_1/' \
        | quote "facenet trace Aaron_Peirsol_0004.jpg   # the first ResNet block, layer by layer" trace
else
    echo "make docs: skipping the feature maps (this facenet has no trace --maps)"
    note maps "*(Feature maps appear here when \`make docs\` runs a facenet with \`trace --maps\`.)*"
    note trace ""
fi
if has_opt graph --output; then
    echo "make docs: the block graph (graph)"
    "$FN" graph --model "$MODEL" -o "$OUT/dlib_resnet_graph.svg"
    note graph "The whole default network as a graph of blocks (\`facenet graph -o FILE.svg\`):
[docs/figures/dlib_resnet_graph.svg](figures/dlib_resnet_graph.svg)."
else
    echo "make docs: skipping the block graph (this facenet has no graph command)"
    note graph "*(The block graph appears here when \`make docs\` runs a facenet with \`graph\`.)*"
fi
echo "make docs: done; figures in $OUT, intermediate files in $WORK"
ls -l "$OUT"
