#!/usr/bin/env bash
# run.sh - forward-pass benchmarks (`make bench`): the full-size FaceNet architecture
# with generated weights (batch 1 and 8), and the dlib ResNet default model when
# `make weights` has fetched it.  Prints medians; compare figures from one run only.
set -euo pipefail
BUILD=${BUILD:-build}
SHARED=${FACENET_SHARED:-../shared}
mkdir -p weights/gen
GEN=weights/gen/keras-facenet-seed1.h5
[ -f "$GEN" ] || "$BUILD/tools/gen_weights" --model-json "$SHARED/models/keras-facenet/model.json" -o "$GEN" --seed 1
echo "== keras-facenet (Inception-ResNet-v1, 160x160, generated weights)"
"$BUILD/bench/bench_forward" --model-json "$SHARED/models/keras-facenet/model.json" --weights "$GEN" --batch 1 --runs 15 --reference
"$BUILD/bench/bench_forward" --model-json "$SHARED/models/keras-facenet/model.json" --weights "$GEN" --batch 8 --runs 5
if [ -f weights/dlib-resnet/model.h5 ]; then
    echo "== dlib-resnet (150x150, the default model)"
    "$BUILD/bench/bench_forward" --model-json weights/dlib-resnet/model.json --weights weights/dlib-resnet/model.h5 --batch 1 --runs 15
    "$BUILD/bench/bench_forward" --model-json weights/dlib-resnet/model.json --weights weights/dlib-resnet/model.h5 --batch 8 --runs 5
fi
