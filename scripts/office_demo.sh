#!/usr/bin/env bash
# office_demo.sh - the course's "happy house" door on the default model: enroll the 12
# employees from one photo each, verify two camera shots, identify all six.  Every
# photo goes through face detection, 68 landmarks and the 5-point alignment, as any
# photo does (docs/detection.md); --no-detect would take the 96x96 crops as they are.
# Run by `make demo` (after `make weights`).  Uses a fresh gallery in $BUILD/.
set -euo pipefail
BUILD=${BUILD:-build}
SHARED=${FACENET_SHARED:-../shared}
MODEL=${FACENET_MODEL:-weights/dlib-resnet}
H=$SHARED/images/happy-house
DB=$BUILD/office.db
FN="$BUILD/facenet"
[ -d "$H" ] || { echo "office_demo: $H not found (set FACENET_SHARED)" >&2; exit 2; }
rm -f "$DB" "$DB-wal" "$DB-shm"
echo "== enrolling the office ($MODEL)"
for p in andrew arnaud benoit bertrand dan danielle felix kevin kian sebastiano tian younes; do
    f=$(ls "$H/$p".* | head -n 1)
    "$FN" enroll --model "$MODEL" --db "$DB" "$p" "$f"
done
echo "== verify (exit status 0 = door opens)"
"$FN" verify --model "$MODEL" --db "$DB" younes "$H/camera_0.jpg" || true
"$FN" verify --model "$MODEL" --db "$DB" kian "$H/camera_2.jpg" || true
if [ "$MODEL" = weights/dlib-resnet ]; then
    echo "   (camera_2 is benoit, not kian: the door stays shut)"
fi
echo "== identify"
"$FN" identify --model "$MODEL" --db "$DB" "$H"/camera_{0,1,2,3,4,5}.jpg
