/* nms.c - face-api's two non-maximum suppressions (see detect.h):
 *  fn_ssd_nms   ssdMobilenetv1/nonMaxSuppression.ts (score threshold, IoU on the
 *               relative [ymin, xmin, ymax, xmax] boxes, max results);
 *  fn_tiny_nms  ops/nonMaxSuppression.ts + ops/iou.ts (pick the best, drop overlaps).
 * Arithmetic in doubles, comparisons exactly as written in the TypeScript, NaN
 * propagating like Math.min/Math.max.  One deliberate difference: fn_ssd_nms takes no
 * box with a non-finite coordinate as a candidate (the networks only produce such
 * boxes from broken weights or inputs; face-api would let one suppress all others). */
#include "app/detect.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

static double js_max(double a, double b)
{
    return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
}

static double js_min(double a, double b)
{
    return isnan(a) || isnan(b) ? NAN : a < b ? a : b;
}

typedef struct {
    double score;
    int index;
} candidate;

/* Array.prototype.sort is stable: ties keep index order.  NaN (never produced by the
 * callers' thresholds) sorts as the lowest score. */
static int by_score_desc(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;
    int an = isnan(a->score), bn = isnan(b->score);
    if (an != bn)
        return an - bn;
    if (!an && a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static int by_score_asc(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;
    int an = isnan(a->score), bn = isnan(b->score);
    if (an != bn)
        return bn - an;
    if (!an && a->score != b->score)
        return a->score < b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* nonMaxSuppression.ts IOU(boxes, i, j) on [ymin, xmin, ymax, xmax] */
static double ssd_iou(const float *bi, const float *bj)
{
    double ymin_i = js_min(bi[0], bi[2]), xmin_i = js_min(bi[1], bi[3]);
    double ymax_i = js_max(bi[0], bi[2]), xmax_i = js_max(bi[1], bi[3]);
    double ymin_j = js_min(bj[0], bj[2]), xmin_j = js_min(bj[1], bj[3]);
    double ymax_j = js_max(bj[0], bj[2]), xmax_j = js_max(bj[1], bj[3]);
    double area_i = (ymax_i - ymin_i) * (xmax_i - xmin_i);
    double area_j = (ymax_j - ymin_j) * (xmax_j - xmin_j);
    if (area_i <= 0 || area_j <= 0)
        return 0.0;
    double iy0 = js_max(ymin_i, ymin_j), ix0 = js_max(xmin_i, xmin_j);
    double iy1 = js_min(ymax_i, ymax_j), ix1 = js_min(xmax_i, xmax_j);
    double inter = js_max(iy1 - iy0, 0.0) * js_max(ix1 - ix0, 0.0);
    return inter / (area_i + area_j - inter);
}

int fn_ssd_nms(const float *boxes, const float *scores, size_t n, const fn_ssd_params *p,
               int *keep, int *nkeep, fn_err *err)
{
    *nkeep = 0;
    if (n > (size_t)INT_MAX)
        return fn_fail(err, FN_E_ARG, "ssd nms: %zu boxes is too many", n);
    if (n == 0 || p->max_results <= 0)
        return 0;
    if (!boxes || !scores || !keep)
        return fn_fail(err, FN_E_ARG, "ssd nms: missing buffer");
    size_t out_size = (size_t)p->max_results < n ? (size_t)p->max_results : n;
    candidate *c = malloc(sizeof *c * n);
    if (!c)
        return fn_fail(err, FN_E_NOMEM, "ssd nms: out of memory for %zu candidates", n);
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        const float *b = boxes + 4 * i;
        /* Not in face-api: a box that is not finite is no candidate (face-api would
         * keep it and, its IoU being NaN, let it suppress every later candidate). */
        if (!isfinite(b[0]) || !isfinite(b[1]) || !isfinite(b[2]) || !isfinite(b[3]))
            continue;
        if ((double)scores[i] > p->min_confidence) {
            c[nc].score = scores[i];
            c[nc].index = (int)i;
            nc++;
        }
    }
    qsort(c, nc, sizeof *c, by_score_desc);
    size_t ns = 0;
    for (size_t k = 0; k < nc && ns < out_size; k++) {
        double original = c[k].score, score = original;
        for (size_t j = ns; j-- > 0;) {
            double iou = ssd_iou(boxes + 4 * (size_t)c[k].index, boxes + 4 * (size_t)keep[j]);
            if (iou == 0.0)
                continue;
            score *= iou <= p->iou_threshold ? 1 : 0;
            if (score <= p->min_confidence)
                break;
        }
        if (original == score)
            keep[ns++] = c[k].index;
    }
    *nkeep = (int)ns;
    free(c);
    return 0;
}

/* ops/iou.ts on boxes scaled by s (Box.rescale(inputSize)) */
static double tiny_iou(const fn_box *a, const fn_box *b, double s)
{
    double ax = a->x * s, ay = a->y * s, aw = a->width * s, ah = a->height * s;
    double bx = b->x * s, by = b->y * s, bw = b->width * s, bh = b->height * s;
    double w = js_max(0.0, js_min(ax + aw, bx + bw) - js_max(ax, bx));
    double h = js_max(0.0, js_min(ay + ah, by + bh) - js_max(ay, by));
    double inter = w * h;
    return inter / (aw * ah + bw * bh - inter);
}

int fn_tiny_nms(const fn_detection *cands, int n, const fn_tiny_params *p, int *keep, int *nkeep,
                fn_err *err)
{
    *nkeep = 0;
    if (n <= 0)
        return 0;
    if (!cands || !keep)
        return fn_fail(err, FN_E_ARG, "tiny nms: missing buffer");
    candidate *order = malloc(sizeof *order * (size_t)n);
    if (!order)
        return fn_fail(err, FN_E_NOMEM, "tiny nms: out of memory for %d candidates", n);
    for (int i = 0; i < n; i++) {
        order[i].score = cands[i].score;
        order[i].index = i;
    }
    qsort(order, (size_t)n, sizeof *order, by_score_asc);
    int left = n, picked = 0;
    double s = p->input_size;
    while (left > 0) {
        int curr = order[--left].index; /* pop(): the highest score, the last of ties */
        keep[picked++] = curr;
        int m = 0;
        for (int i = 0; i < left; i++)
            if (tiny_iou(&cands[curr].box, &cands[order[i].index].box, s) <= p->iou_threshold)
                order[m++] = order[i];
        left = m;
    }
    *nkeep = picked;
    free(order);
    return 0;
}
