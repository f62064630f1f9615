/* fuzz_detect_post.c - the detectors' post-processing on arbitrary raw net outputs
 * (app/detect*.c, nms.c, face_landmarks.c): whatever floats a corrupted or hostile model
 * produces - NaN, infinities, huge or tiny values - must give an error or detections
 * with finite boxes, never a crash or an out-of-bounds access.
 *
 * Byte 0 picks the path and its size: SSD (decode + NMS + image boxes over n anchors,
 * the anchors themselves fuzzed), the tiny detector (decode + NMS on a grid of 1-6),
 * or the 68-landmark chain (crop of a fuzzed detection, decode, face-api's descriptor
 * rect, clipping, the 5 points).  Bytes 1-4 give the image size (1..4096 each side);
 * the rest are the raw outputs as float32, zero past the end of the input. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/detect.h"

static float raw_at(const uint8_t *d, size_t size, size_t i)
{
    float v = 0.0f;
    if (5 + 4 * i + 4 <= size)
        memcpy(&v, d + 5 + 4 * i, 4);
    return v;
}

static void check_dets(const fn_detection *dets, int n)
{
    for (int k = 0; k < n; k++)
        if (!isfinite(dets[k].box.x) || !isfinite(dets[k].box.y) || !isfinite(dets[k].box.width) ||
            !isfinite(dets[k].box.height) || !(dets[k].score >= 0 && dets[k].score <= 1))
            abort(); /* a detection the pipeline would take must be finite */
}

static void ssd(const uint8_t *d, size_t size, int w, int h, int n)
{
    float *enc = malloc(sizeof(float) * 4 * n), *logits = malloc(sizeof(float) * 3 * n);
    float *anchors = malloc(sizeof(float) * 4 * n), *boxes = malloc(sizeof(float) * 4 * n);
    float *scores = malloc(sizeof(float) * n);
    fn_detection *dets = malloc(sizeof *dets * n);
    size_t i = 0;
    for (int k = 0; k < 4 * n; k++)
        enc[k] = raw_at(d, size, i++);
    for (int k = 0; k < 3 * n; k++)
        logits[k] = raw_at(d, size, i++);
    for (int k = 0; k < 4 * n; k++)
        anchors[k] = raw_at(d, size, i++);
    fn_ssd_params p;
    fn_ssd_default(&p);
    p.min_confidence = d[0] & 1 ? 0.0 : 0.5;
    int nd = 0;
    fn_err err;
    if (!fn_ssd_postprocess(enc, logits, anchors, (size_t)n, w, h, &p, boxes, scores, dets, &nd, &err))
        check_dets(dets, nd);
    free(enc), free(logits), free(anchors), free(boxes), free(scores), free(dets);
}

static void tiny(const uint8_t *d, size_t size, int w, int h, int grid)
{
    fn_tiny_params p;
    fn_tiny_default(&p);
    p.score_threshold = d[0] & 1 ? 0.0 : 0.5;
    const int cells = grid * grid * p.num_anchors;
    float *raw = malloc(sizeof(float) * 5 * cells);
    for (int k = 0; k < 5 * cells; k++)
        raw[k] = raw_at(d, size, (size_t)k);
    fn_detection *cands = malloc(sizeof *cands * cells), *dets = malloc(sizeof *dets * cells);
    int *keep = malloc(sizeof(int) * cells), nd = 0;
    fn_err err;
    if (!fn_tiny_postprocess(raw, grid, w, h, &p, cands, keep, dets, &nd, &err))
        check_dets(dets, nd);
    free(raw), free(cands), free(dets), free(keep);
}

static void landmarks(const uint8_t *d, size_t size, int w, int h)
{
    fn_detection det = {raw_at(d, size, 0), {raw_at(d, size, 1), raw_at(d, size, 2), raw_at(d, size, 3),
                                             raw_at(d, size, 4)}};
    float raw[136], rel[136];
    for (int k = 0; k < 136; k++)
        raw[k] = raw_at(d, size, (size_t)k + 5);
    fn_irect crop, dcrop;
    fn_err err;
    double pts[136], five[10];
    fn_box rect;
    if (fn_landmark_crop(&det, w, h, &crop, &err))
        return;
    if (crop.width <= 0 || crop.height <= 0 || crop.x < 0 || crop.y < 0 || crop.x + crop.width > w ||
        crop.y + crop.height > h)
        abort(); /* the crop must lie inside the image */
    if (fn_landmarks_decode(raw, &crop, &det.box, 112, rel, pts, &err))
        return;
    if (!fn_descriptor_rect(pts, crop.width, crop.height, &rect, &err) && !fn_clip_box(&rect, w, h, &dcrop, &err))
        if (dcrop.width <= 0 || dcrop.height <= 0 || dcrop.x < 0 || dcrop.y < 0 || dcrop.x + dcrop.width > w ||
            dcrop.y + dcrop.height > h)
            abort();
    (void)fn_landmarks68_to5(pts, FN_LANDMARKS_PIXEL_OFFSET, five, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    int w = 1 + ((data[1] | data[2] << 8) & 4095), h = 1 + ((data[3] | data[4] << 8) & 4095);
    switch ((data[0] >> 1) % 3) {
    case 0:
        ssd(data, size, w, h, 1 + (data[0] >> 3) % 64);
        break;
    case 1:
        tiny(data, size, w, h, 1 + (data[0] >> 3) % 6);
        break;
    default:
        landmarks(data, size, w, h);
    }
    return 0;
}
