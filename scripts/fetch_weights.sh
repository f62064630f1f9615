#!/usr/bin/env bash
# fetch_weights.sh - fetch the dlib ResNet face-recognition weights shipped in the npm
# package @vladmandic/face-api 1.7.15, check them against weights/SHA256SUMS and convert
# them with $BUILD/tools/faceapi2keras into weights/dlib-resnet/{model.json,model.h5,
# facenet.json}.  Run by `make weights` (which builds the converters first).
#
# The same package's detection and landmark nets (SSD MobileNetV1, tiny face detector,
# 68-point landmarks and their tiny variant) are converted too, by
# $BUILD/tools/faceapi_nets2keras into weights/{ssd-mobilenetv1,tiny-face-detector,
# face-landmark-68,face-landmark-68-tiny}/ (docs/detection.md) - each one whose model
# files SHA256SUMS lists (all four in the committed SHA256SUMS).
#
# Quick and idempotent: the npm tarball is cached in weights/.cache/ and not fetched
# again while the files extracted from it verify; the conversion is skipped while its
# outputs are newer than the model files and the converter.  On any failure the
# previous weights/dlib-resnet/ (if any) is left untouched and nothing partial appears:
# the converter writes into a temporary directory inside weights/ that is renamed
# into place at the end.
#
# Environment: BUILD (build dir, default build), WEIGHTS_DIR (default weights),
# NPM (the npm client, default npm; the tests substitute a stub).
set -euo pipefail

PKG=@vladmandic/face-api
VERSION=1.7.15
BUILD=${BUILD:-build}
WEIGHTS_DIR=${WEIGHTS_DIR:-weights}
NPM=${NPM:-npm}

CACHE=$WEIGHTS_DIR/.cache
SRC=$CACHE/face-api-$VERSION           # what we extract (npm's package/ prefix dropped)
SUMS=$WEIGHTS_DIR/SHA256SUMS
OUT=$WEIGHTS_DIR/dlib-resnet
CONV=$BUILD/tools/faceapi2keras
MANIFEST=model/face_recognition_model-weights_manifest.json
BIN=model/face_recognition_model.bin
# The model files, plus the sources that define the network and the weight decoding
# (kept for reference: docs/dlib-resnet.md cites them).
MEMBERS=("package/$MANIFEST" "package/$BIN" package/package.json package/LICENSE
         package/src/faceRecognitionNet package/src/ops package/src/common
         package/dist/tfjs.esm.js)
CONV_NETS=$BUILD/tools/faceapi_nets2keras
# Detection/landmark nets: output folder, face-api model name, the sources that define it.
NETS=("ssd-mobilenetv1 ssd_mobilenetv1_model src/ssdMobilenetv1"
      "tiny-face-detector tiny_face_detector_model src/tinyFaceDetector src/tinyYolov2"
      "face-landmark-68 face_landmark_68_model src/faceLandmarkNet src/faceFeatureExtractor src/faceProcessor"
      "face-landmark-68-tiny face_landmark_68_tiny_model src/faceLandmarkNet src/faceFeatureExtractor src/faceProcessor")

die() {
    echo "fetch_weights: $*" >&2
    exit 1
}

TMPS=()
cleanup() {
    local t
    for t in "${TMPS[@]+"${TMPS[@]}"}"; do rm -rf -- "$t"; done
}
trap cleanup EXIT

[ -x "$CONV" ] || die "converter $CONV is not built (run make)"
[ -f "$SUMS" ] || die "$SUMS is missing"
# the nets SHA256SUMS lists, and their files in the tarball
LISTED=()
for spec in "${NETS[@]}"; do
    read -r _ model srcs <<<"$spec"
    if grep -q " model/$model-weights_manifest.json\$" "$SUMS"; then
        LISTED+=("$spec")
        MEMBERS+=("package/model/$model-weights_manifest.json" "package/model/$model.bin")
        for d in $srcs; do
            case " ${MEMBERS[*]} " in *" package/$d "*) ;; *) MEMBERS+=("package/$d") ;; esac
        done
    fi
done
[ ${#LISTED[@]} -eq 0 ] || [ -x "$CONV_NETS" ] || die "converter $CONV_NETS is not built (run make)"
SUMS_ABS=$(cd "$(dirname "$SUMS")" && pwd)/$(basename "$SUMS")
mkdir -p "$CACHE"
# npm pack runs in its own directory: keep the cache paths absolute.
CACHE=$(cd "$CACHE" && pwd)
SRC=$CACHE/face-api-$VERSION

# 0 when the extracted model files match SHA256SUMS; otherwise prints the failures
# on one line and returns 1.
verify() {
    local out
    [ -f "$SRC/$MANIFEST" ] && [ -f "$SRC/$BIN" ] || { echo "model files not extracted"; return 1; }
    if out=$(cd "$SRC" && sha256sum -c "$SUMS_ABS" 2>&1); then
        return 0
    fi
    echo "$out" | grep -v ': OK$' | grep -v '^sha256sum: WARNING' | paste -sd ' ' -
    return 1
}

# Extract the members from tarball $1 into $SRC (replacing it); on failure sets ERRMSG.
# -m: stamp the files with the extraction time (npm tarballs carry 1985 dates), so a
# re-extraction makes the conversion outputs out of date.
ERRMSG=
extract() {
    local tmp
    tmp=$(mktemp -d "$CACHE/.extract.XXXXXX")
    TMPS+=("$tmp")
    if ! tar -xzmf "$1" -C "$tmp" --strip-components=1 "${MEMBERS[@]}" 2>"$tmp/.err"; then
        ERRMSG="cannot extract $1: $(grep -m 1 . "$tmp/.err")"
        return 1
    fi
    rm -f "$tmp/.err"
    chmod 755 "$tmp"
    rm -rf "$SRC"
    mv "$tmp" "$SRC"
}

fetch() {
    command -v "$NPM" >/dev/null 2>&1 ||
        die "npm not found (install Node.js and npm, e.g. make deps); it is needed to download $PKG@$VERSION"
    local tmp name
    tmp=$(mktemp -d "$CACHE/.pack.XXXXXX")
    TMPS+=("$tmp")
    echo "fetch_weights: downloading $PKG@$VERSION with npm pack" >&2
    if ! name=$(cd "$tmp" && "$NPM" pack --silent "$PKG@$VERSION" 2>"$tmp/.err"); then
        die "npm pack $PKG@$VERSION failed (registry unreachable?): $(grep -m1 -i 'err' "$tmp/.err" || head -n 1 "$tmp/.err")"
    fi
    name=$(printf '%s\n' "$name" | tail -n 1)
    [ -n "$name" ] && [ -f "$tmp/$name" ] || die "npm pack $PKG@$VERSION produced no tarball"
    mv "$tmp/$name" "$CACHE/$name"
    TARBALL=$CACHE/$name
}

TARBALL=$CACHE/vladmandic-face-api-$VERSION.tgz
if ! verify >/dev/null; then
    ok=0
    if [ -f "$TARBALL" ]; then
        if extract "$TARBALL" && msg=$(verify); then
            ok=1
        else
            echo "fetch_weights: cached $TARBALL is unusable (${msg:-$ERRMSG}); downloading again" >&2
        fi
    fi
    if [ "$ok" = 0 ]; then
        rm -f "$TARBALL"
        fetch
        extract "$TARBALL" || die "$ERRMSG"
        if ! msg=$(verify); then
            rm -rf "$SRC" "$TARBALL"
            die "checksum mismatch for $PKG@$VERSION: $msg (expected values in $SUMS)"
        fi
    fi
fi

# up_to_date OUT DEPS...: every output file of OUT is newer than every dependency.
up_to_date() {
    local out=$1 f dep
    shift
    for f in "$out"/*; do
        [ -f "$f" ] || return 1
        for dep in "$@"; do
            [ "$f" -nt "$dep" ] || return 1
        done
    done
    [ -f "$out/model.json" ] && [ -f "$out/model.h5" ] && [ -f "$out/facenet.json" ]
}

# install NAME CMD...: run CMD with a fresh temporary directory inside weights/ as its last
# argument, then rename that directory to weights/NAME (the old one, if any, goes away).
install() {
    local name=$1 new old
    shift
    new=$(mktemp -d "$WEIGHTS_DIR/.$name.new.XXXXXX")
    TMPS+=("$new")
    # The converters print their own one-line error naming the file and tensor.
    "$@" "$new" >/dev/null || exit 1
    chmod 755 "$new"
    if [ -e "$WEIGHTS_DIR/$name" ]; then
        old=$(mktemp -d "$WEIGHTS_DIR/.$name.old.XXXXXX")
        TMPS+=("$old")
        mv "$WEIGHTS_DIR/$name" "$old/"
    fi
    mv "$new" "$WEIGHTS_DIR/$name"
}

if up_to_date "$OUT" "$SRC/$MANIFEST" "$SRC/$BIN" "$CONV"; then
    echo "fetch_weights: $OUT is up to date"
else
    install dlib-resnet "$CONV" "$SRC/$MANIFEST"
    echo "fetch_weights: wrote $OUT/{model.json,model.h5,facenet.json} from $PKG@$VERSION"
fi

for spec in "${LISTED[@]+"${LISTED[@]}"}"; do
    read -r name model _ <<<"$spec"
    m=$SRC/model/$model-weights_manifest.json
    if up_to_date "$WEIGHTS_DIR/$name" "$m" "$SRC/model/$model.bin" "$CONV_NETS"; then
        echo "fetch_weights: $WEIGHTS_DIR/$name is up to date"
    else
        install "$name" "$CONV_NETS" "$name" "$m"
        echo "fetch_weights: wrote $WEIGHTS_DIR/$name/ from $PKG@$VERSION $model"
    fi
done
