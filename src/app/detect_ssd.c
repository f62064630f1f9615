/* detect_ssd.c - SSD MobileNetV1 post-processing (see detect.h): box decoding with
 * the anchors, face scores, final boxes in image pixels.  The NMS is in nms.c. */
#include "app/detect.h"

#include <math.h>
#include <stdlib.h>

void fn_ssd_default(fn_ssd_params *p)
{
    p->input_size = 512;
    p->scale_y = 10.0f;
    p->scale_x = 10.0f;
    p->scale_h = 5.0f;
    p->scale_w = 5.0f;
    p->min_confidence = 0.5;
    p->iou_threshold = 0.5;
    p->max_results = 100;
}

/* tf.sigmoid in float32.  XNNPACK's vsigmoid is a polynomial within a few ulp of this
 * (measured against the dump: docs/detection-post.md). */
static float sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

void fn_ssd_decode(const float *enc, const float *logits, const float *anchors, size_t n,
                   const fn_ssd_params *p, float *boxes, float *scores)
{
    for (size_t i = 0; i < n; i++) {
        const float *a = anchors + 4 * i; /* ymin, xmin, ymax, xmax */
        const float *e = enc + 4 * i;     /* ty, tx, th, tw */
        /* outputLayer.ts, op by op in float32 */
        float ha = a[2] - a[0], wa = a[3] - a[1];
        float ya = a[0] + ha / 2.0f, xa = a[1] + wa / 2.0f;
        float half_h = expf(e[2] / p->scale_h) * ha / 2.0f;
        float yc = e[0] / p->scale_y * ha + ya;
        float half_w = expf(e[3] / p->scale_w) * wa / 2.0f;
        float xc = e[1] / p->scale_x * wa + xa;
        float *b = boxes + 4 * i;
        b[0] = yc - half_h;
        b[1] = xc - half_w;
        b[2] = yc + half_h;
        b[3] = xc + half_w;
        if (scores)
            scores[i] = sigmoidf(logits[3 * i + 1]);
    }
}

/* Math.max / Math.min: NaN if either argument is NaN (C's fmax would drop it). */
static double js_max(double a, double b)
{
    return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
}

static double js_min(double a, double b)
{
    return isnan(a) || isnan(b) ? NAN : a < b ? a : b;
}

void fn_ssd_final_box(const float box[4], int img_w, int img_h, const fn_ssd_params *p,
                      fn_box *out)
{
    int rw, rh;
    fn_det_reshaped_dims(img_w, img_h, p->input_size, &rw, &rh);
    double pad_x = (double)p->input_size / rw, pad_y = (double)p->input_size / rh;
    double top = js_max(0, box[0]) * pad_y, bottom = js_min(1.0, box[2]) * pad_y;
    double left = js_max(0, box[1]) * pad_x, right = js_min(1.0, box[3]) * pad_x;
    /* new FaceDetection(score, Rect(left, top, w, h), dims): Box.rescale(dims) */
    out->x = left * img_w;
    out->y = top * img_h;
    out->width = (right - left) * img_w;
    out->height = (bottom - top) * img_h;
}

int fn_ssd_postprocess(const float *enc, const float *logits, const float *anchors, size_t n,
                       int img_w, int img_h, const fn_ssd_params *p, float *boxes,
                       float *scores, fn_detection *dets, int *ndets, fn_err *err)
{
    *ndets = 0;
    if (!enc || !logits || !anchors || !boxes || !scores || (!dets && p->max_results > 0))
        return fn_fail(err, FN_E_ARG, "ssd: missing buffer");
    if (img_w <= 0 || img_h <= 0 || p->input_size <= 0)
        return fn_fail(err, FN_E_ARG, "ssd: invalid image size %dx%d or input size %d", img_w,
                       img_h, p->input_size);
    int rw, rh;
    fn_det_reshaped_dims(img_w, img_h, p->input_size, &rw, &rh);
    if (rw <= 0 || rh <= 0)
        return fn_fail(err, FN_E_ARG, "ssd: the %dx%d image is too thin for a %d input", img_w,
                       img_h, p->input_size);
    fn_ssd_decode(enc, logits, anchors, n, p, boxes, scores);
    int cap = p->max_results < 0 ? 0 : p->max_results;
    if ((size_t)cap > n)
        cap = (int)n;
    int *keep = malloc(sizeof *keep * (size_t)(cap > 0 ? cap : 1));
    if (!keep)
        return fn_fail(err, FN_E_NOMEM, "ssd: out of memory");
    int nk = 0;
    if (fn_ssd_nms(boxes, scores, n, p, keep, &nk, err)) {
        free(keep);
        return -1;
    }
    for (int k = 0; k < nk; k++) {
        dets[k].score = scores[keep[k]];
        fn_ssd_final_box(boxes + 4 * (size_t)keep[k], img_w, img_h, p, &dets[k].box);
    }
    *ndets = nk;
    free(keep);
    return 0;
}
