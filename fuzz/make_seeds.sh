#!/usr/bin/env bash
# make_seeds.sh - seed corpora for the fuzz targets, into $FUZZ_BUILD/seeds/<target>/:
# the small committed seeds of fuzz/seeds/, copies of small shared files (never
# committed: shared/ stays outside the repository) and files generated here (a model
# config pulled out of a small .h5, odd-sized PNGs, a gallery enrolled by the CLI,
# tfjs manifests with their shards).  Idempotent; takes a few seconds.
#
# Environment: FUZZ_BUILD (default build-fuzz, holding fuzz/seedgen and facenet),
# FACENET_SHARED (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
FB=${FUZZ_BUILD:-build-fuzz}
SH=${FACENET_SHARED:-../shared}
S=$FB/seeds
KR=$SH/keras-real
[ -d "$SH" ] || { echo "make_seeds: FACENET_SHARED=$SH does not exist" >&2; exit 1; }
export ASAN_OPTIONS=detect_leaks=0
rm -rf "$S"
mkdir -p "$S"/{model_json,model_h5,image,landmarks,profile,pairs,gallery,tfjs}
for t in model_json profile pairs landmarks; do
    cp fuzz/seeds/$t/* "$S/$t/"
done

# model.json: the real FaceNet architecture (Lambdas, 426 layers), a Sequential
# model.json, and configs of small full-model files.
cp "$SH/models/keras-facenet/model.json" "$S/model_json/keras-facenet.json"
cp "$KR/hls4ml-conv2d-k2.0.0/model.json" "$S/model_json/hls4ml.json"
# model.h5: only the small ones (HDF5 parsing is slow).
for m in dl4j-cnn-bn-k2.1.3 dl4j-conv2d-theano-k2.1.3 mtcnn-pnet-k2.2.0 hls4ml-conv2d-k2.0.0; do
    cp "$KR/$m/model.h5" "$S/model_h5/$m.h5"
done
for m in dl4j-cnn-bn-k2.1.3 mtcnn-pnet-k2.2.0 tiny-resnet8-k2.4.0 fer-mini-xception-k2.0.5; do
    "$FB/fuzz/seedgen" h5config "$KR/$m/model.h5" "$S/model_json/$m.json"
done

# images: the small course photos (JPEG; one RGBA PNG) and odd-sized RGB PNGs.
for f in andrew.jpg kevin.jpg tian.jpg danielle.png; do
    cp "$SH/images/happy-house/$f" "$S/image/"
done
"$FB/fuzz/seedgen" png 37 5 "$S/image/wide.png"
# and two with an Exif segment after SOI: Orientation 6 big-endian ("MM"), 8
# little-endian ("II") - the decoder turns them upright (src/io/exif.c)
exif_jpeg() { # in.jpg out.jpg "MM"|"II" tiff-body-bytes (printf escapes)
    { head -c 2 "$1"; printf '\xff\xe1\x00\x22Exif\x00\x00'; printf '%s' "$3"; printf "$4"; tail -c +3 "$1"; } >"$2"
}
exif_jpeg "$SH/images/happy-house/kevin.jpg" "$S/image/exif-mm-6.jpg" MM \
    '\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00'
exif_jpeg "$SH/images/happy-house/tian.jpg" "$S/image/exif-ii-8.jpg" II \
    '\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00'
"$FB/fuzz/seedgen" png 3 17 "$S/image/tall.png"

# landmarks: the first lines of the LFW file, behind the scale byte (0x66 ~ 0.95).
{ printf '\x66'; head -n 20 "$SH/lfw/landmarks-5pt-250px.txt"; } > "$S/landmarks/lfw20.txt"

# pairs: the LFW View 1 test file (26 KB).
cp "$SH/lfw/pairsDevTest.txt" "$S/pairs/"

# gallery: two identities enrolled by the CLI with a small model.
G=$(mktemp -d)
trap 'rm -rf "$G"' EXIT
FACENET_NO_SANDBOX=1 "$FB/facenet" enroll --weights "$KR/tiny-resnet8-k2.4.0/model.h5" \
    --db "$G/g.db" andrew "$SH/images/happy-house/andrew.jpg" >/dev/null
FACENET_NO_SANDBOX=1 "$FB/facenet" enroll --weights "$KR/tiny-resnet8-k2.4.0/model.h5" \
    --db "$G/g.db" kian "$SH/images/happy-house/kian.jpg" "$SH/images/happy-house/tian.jpg" >/dev/null
cp "$G/g.db" "$S/gallery/two.db"

# tfjs: manifest text, a NUL byte, then the shard w.bin (see fuzz/fuzz_tfjs.c).
tfjs() { { printf '%s' "$2"; printf '\0'; printf "$3"; } > "$S/tfjs/$1"; }
tfjs raw '[{"paths":["w.bin"],"weights":[{"name":"a/k","shape":[2,1],"dtype":"float32"}]}]' \
    '\x00\x00\x80\x3f\x00\x00\x00\xc0'
tfjs quant '[{"paths":["w.bin"],"weights":[{"name":"u8","shape":[3],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.5,"min":-1}},{"name":"u16","shape":[1,2],"dtype":"float32","quantization":{"dtype":"uint16","scale":0.01,"min":0}},{"name":"h","shape":[2],"dtype":"float32","quantization":{"dtype":"float16"}}]}]' \
    '\x01\x02\xff\x10\x00\xff\xff\x00\x3c\x01\x00'
tfjs groups '[{"paths":["w.bin"],"weights":[{"name":"s","shape":[],"dtype":"float32"}]},{"paths":["w.bin"],"weights":[{"name":"e","shape":[0,4],"dtype":"float32"}]}]' \
    '\x00\x00\x00\x00'
echo "make_seeds: $(find "$S" -type f | wc -l) seed files in $S"
