/* detect_tiny.c - tiny face detector (TinyYolov2) post-processing (see detect.h):
 * grid decoding with face-api's anchors; the NMS is in nms.c. */
#include "app/detect.h"

#include <math.h>
#include <string.h>

void fn_tiny_default(fn_tiny_params *p)
{
    /* tinyFaceDetector/const.ts BOX_ANCHORS, IOU_THRESHOLD; TinyFaceDetectorOptions */
    static const double anchors[5][2] = {{1.603231, 2.094468},
                                         {6.041143, 7.080126},
                                         {2.882459, 3.518061},
                                         {4.266906, 5.178857},
                                         {9.041765, 10.66308}};
    memset(p, 0, sizeof *p);
    p->input_size = 416;
    p->num_anchors = 5;
    memcpy(p->anchors, anchors, sizeof anchors);
    p->score_threshold = 0.5;
    p->iou_threshold = 0.4;
}

/* ops/index.ts sigmoid, in double like JS */
static double sigmoid(double x)
{
    return 1 / (1 + exp(-x));
}

#define FN_TINY_MAX_REL 1e6 /* relative box coordinates beyond this are no face */

int fn_tiny_decode(const float *raw, int grid, int img_w, int img_h, const fn_tiny_params *p,
                   fn_detection *cands, int cap, int *ncand, fn_err *err)
{
    *ncand = 0;
    if (!raw || (!cands && cap > 0))
        return fn_fail(err, FN_E_ARG, "tiny: missing buffer");
    if (grid <= 0 || grid > 1024 || p->num_anchors <= 0 || p->num_anchors > FN_TINY_MAX_ANCHORS)
        return fn_fail(err, FN_E_ARG, "tiny: invalid grid %d or anchor count %d", grid,
                       p->num_anchors);
    if (img_w <= 0 || img_h <= 0 || p->input_size <= 0)
        return fn_fail(err, FN_E_ARG, "tiny: invalid image size %dx%d or input size %d", img_w,
                       img_h, p->input_size);
    int rw, rh;
    fn_det_reshaped_dims(img_w, img_h, p->input_size, &rw, &rh);
    if (rw <= 0 || rh <= 0)
        return fn_fail(err, FN_E_ARG, "tiny: the %dx%d image is too thin for a %d input", img_w,
                       img_h, p->input_size);
    /* extractBoxes: inputSize = max(reshaped w, h); correction = inputSize / reshaped */
    double in_size = rw > rh ? rw : rh;
    double cfx = in_size / rw, cfy = in_size / rh;
    int na = p->num_anchors, n = 0;
    for (int row = 0; row < grid; row++) {
        for (int col = 0; col < grid; col++) {
            for (int a = 0; a < na; a++) {
                const float *e = raw + (((size_t)row * grid + col) * na + a) * 5;
                double score = sigmoid(e[4]);
                /* `!scoreThreshold || score > scoreThreshold`; a NaN score never passes */
                if (isnan(score) || (p->score_threshold != 0 && !(score > p->score_threshold)))
                    continue;
                double ctx = ((col + sigmoid(e[0])) / grid) * cfx;
                double cty = ((row + sigmoid(e[1])) / grid) * cfy;
                double wl = ((exp(e[2]) * p->anchors[a][0]) / grid) * cfx;
                double hl = ((exp(e[3]) * p->anchors[a][1]) / grid) * cfy;
                double x = ctx - wl / 2, y = cty - hl / 2;
                /* Not in face-api: a box that is not finite (exp overflow, NaN output) is
                 * no candidate, nor one beyond a million times the image (its pixel
                 * coordinates overflowed to infinity: found by fuzz/fuzz_detect_post) */
                if (!(fabs(x) <= FN_TINY_MAX_REL && fabs(y) <= FN_TINY_MAX_REL && wl <= FN_TINY_MAX_REL &&
                      hl <= FN_TINY_MAX_REL))
                    continue;
                if (n >= cap)
                    return fn_fail(err, FN_E_ARG,
                                   "tiny: more than %d candidates above score %g in a %dx%dx%d "
                                   "grid",
                                   cap, p->score_threshold, grid, grid, na);
                /* new BoundingBox(x, y, x + w, y + h): width = right - left */
                cands[n].score = score;
                cands[n].box.x = x;
                cands[n].box.y = y;
                cands[n].box.width = (x + wl) - x;
                cands[n].box.height = (y + hl) - y;
                n++;
            }
        }
    }
    *ncand = n;
    return 0;
}

int fn_tiny_postprocess(const float *raw, int grid, int img_w, int img_h,
                        const fn_tiny_params *p, fn_detection *cands, int *keep,
                        fn_detection *dets, int *ndets, fn_err *err)
{
    *ndets = 0;
    if (grid <= 0 || grid > 1024 || p->num_anchors <= 0 || p->num_anchors > FN_TINY_MAX_ANCHORS)
        return fn_fail(err, FN_E_ARG, "tiny: invalid grid %d or anchor count %d", grid,
                       p->num_anchors);
    int cap = grid * grid * p->num_anchors, nc = 0, nk = 0;
    if (fn_tiny_decode(raw, grid, img_w, img_h, p, cands, cap, &nc, err) ||
        fn_tiny_nms(cands, nc, p, keep, &nk, err))
        return -1;
    for (int k = 0; k < nk; k++) {
        /* ObjectDetection: box = rel.rescale(W, H); FaceDetection(det.relativeBox):
         * box.rescale(1/W, 1/H).rescale(W, H) */
        const fn_box *r = &cands[keep[k]].box;
        double iw = 1.0 / img_w, ih = 1.0 / img_h;
        dets[k].score = cands[keep[k]].score;
        dets[k].box.x = r->x * img_w * iw * img_w;
        dets[k].box.y = r->y * img_h * ih * img_h;
        dets[k].box.width = r->width * img_w * iw * img_w;
        dets[k].box.height = r->height * img_h * ih * img_h;
    }
    *ndets = nk;
    return 0;
}
