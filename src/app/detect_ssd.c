/* detect_ssd.c - SSD MobileNetV1 post-processing (see detect.h): box decoding with
 * the anchors, face scores, final boxes in image pixels.  The NMS is in nms.c. */
/* float32 results must equal TF.js's unfused multiply-adds: GCC does not contract in
 * ISO C mode (-std=c11); clang needs telling (its default fuses within expressions). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
#include "app/detect.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* tf.sigmoid as TF.js's wasm backend computes it: XNNPACK's f32 vsigmoid "rr2-p5-div"
 * kernel (the wasm SIMD one, no fused multiply-add), one lane at a time.  With
 * z = |x|: e = exp(-z) from a range reduction by ln 2 in two steps (hi/lo) and a
 * degree-5 polynomial, f = e / (e + 1) = sigmoid(-z), flushed to 0 for z beyond the
 * denormal cutoff; sigmoid(x) = f for negative x, else 1 - f.  Bit-equal to face-api's
 * scores (docs/detection-post.md), where 1 / (1 + expf(-x)) differs by 1 ulp on 64% of
 * them (see the FP_CONTRACT note above: a fused multiply-add would change bits). */
static float sigmoid_xnnpack(float x)
{
    const float magic_bias = 0x1.8000FEp23f, minus_log2e = -0x1.715476p+0f;
    const float ln2_hi = 0x1.62E400p-1f, ln2_lo = 0x1.7F7D1Cp-20f;
    const float c5 = -0x1.0F9F9Cp-7f, c4 = 0x1.573A1Ap-5f, c3 = -0x1.555A80p-3f;
    const float c2 = 0x1.FFFDC6p-2f, c1 = -0x1.FFFFF6p-1f;
    const float denorm_cutoff = 0x1.5D589Ep+6f;
    float z = fabsf(x);
    float n = z * minus_log2e + magic_bias;
    uint32_t bits;
    memcpy(&bits, &n, sizeof bits);
    bits <<= 23; /* 2^round(-z / ln 2) from the low bits of the biased n */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    n -= magic_bias;
    float t = n * ln2_hi + z;
    t = n * ln2_lo + t;
    float p = t * c5 + c4;
    p = t * p + c3;
    p = t * p + c2;
    p = t * p + c1;
    t *= scale;
    float e = t * p + scale;
    float f = e / (e + 1.0f);
    if (z > denorm_cutoff)
        f = 0.0f;
    return signbit(x) ? f : 1.0f - f;
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
            scores[i] = sigmoid_xnnpack(logits[3 * i + 1]);
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
