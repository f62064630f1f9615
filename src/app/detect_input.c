/* detect_input.c - face-api's detector/landmark/recognition input tensors and box
 * clipping (see detect.h): NetInput.toBatchTensor = padToSquare + TF.js legacy
 * resizeBilinear, then each net's normalisation. */
/* float32 results must equal TF.js's unfused multiply-adds: GCC does not contract in
 * ISO C mode (-std=c11); clang needs telling (its default fuses within expressions). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
#include "app/detect.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_INPUT_SIDE 8192

static void set_params(fn_det_input_params *p, int size, int center, float r, float g, float b,
                       float divisor, float offset)
{
    p->size = size;
    p->center = center;
    p->mean[0] = r;
    p->mean[1] = g;
    p->mean[2] = b;
    p->divisor = divisor;
    p->offset = offset;
}

void fn_det_input_ssd_default(fn_det_input_params *p)
{
    /* tf.sub(tf.div(x, 127.5), 1): subtracting a zero mean first is exact */
    set_params(p, 512, 0, 0.0f, 0.0f, 0.0f, 127.5f, 1.0f);
}

void fn_det_input_tiny_default(fn_det_input_params *p)
{
    set_params(p, 416, 0, 117.001f, 114.697f, 97.404f, 255.0f, 0.0f);
}

void fn_det_input_landmarks_default(fn_det_input_params *p)
{
    set_params(p, 112, 1, 122.782f, 117.001f, 104.298f, 255.0f, 0.0f);
}

void fn_det_input_recognition_default(fn_det_input_params *p)
{
    set_params(p, 150, 1, 122.782f, 117.001f, 104.298f, 255.0f, 0.0f);
}

void fn_det_reshaped_dims(int w, int h, int size, int *rw, int *rh)
{
    /* computeReshapedDimensions: scale = size / max(h, w); Math.round(w * scale) */
    double scale = (double)size / (double)(h > w ? h : w);
    *rw = (int)floor(w * scale + 0.5);
    *rh = (int)floor(h * scale + 0.5);
}

/* The crop of the image seen through padToSquare: a side x side square whose pixel
 * (sx, sy) is image pixel (cx + sx - ox, cy + sy - oy) inside the crop, else 0. */
typedef struct {
    const fn_image *img;
    fn_irect crop;
    int side, ox, oy;
} padded_view;

/* XNNPACK's legacy-mode indirection: source index and weight of output index i. */
static void legacy_coord(int i, float scale, int side, int *i0, int *i1, float *alpha)
{
    float s = (float)i * scale;
    int f = (int)s;
    *i0 = f;
    *i1 = f + 1 < side - 1 ? f + 1 : side - 1;
    *alpha = s - (float)f;
}

int fn_det_input_tensor(const fn_image *img, const fn_irect *crop, const fn_det_input_params *p,
                        float *out, fn_err *err)
{
    if (!img || !img->rgb || img->w <= 0 || img->h <= 0)
        return fn_fail(err, FN_E_ARG, "detector input: empty image");
    if (!p || p->size <= 0 || p->size > MAX_INPUT_SIDE)
        return fn_fail(err, FN_E_ARG, "detector input: invalid input size %d", p ? p->size : 0);
    if (!out)
        return fn_fail(err, FN_E_ARG, "detector input: no output buffer");
    if (!isfinite(p->divisor) || p->divisor == 0 || !isfinite(p->offset) ||
        !isfinite(p->mean[0]) || !isfinite(p->mean[1]) || !isfinite(p->mean[2]))
        return fn_fail(err, FN_E_ARG, "detector input: mean, divisor and offset must be finite "
                                      "and the divisor non-zero (divisor %g)", p->divisor);
    padded_view v = {img, {0, 0, img->w, img->h}, 0, 0, 0};
    if (crop) {
        const fn_irect *c = crop;
        if (c->width <= 0 || c->height <= 0 || c->x < 0 || c->y < 0 || c->x > img->w - c->width ||
            c->y > img->h - c->height)
            return fn_fail(err, FN_E_ARG,
                           "detector input: crop %dx%d at (%d, %d) is empty or not inside the "
                           "%dx%d image",
                           c->width, c->height, c->x, c->y, img->w, img->h);
        v.crop = *c;
    }
    int w = v.crop.width, h = v.crop.height;
    v.side = w > h ? w : h;
    int diff = v.side - (w < h ? w : h);
    int before = p->center ? diff - (diff + 1) / 2 : 0; /* Math.round(diff / 2) goes after */
    v.ox = w < v.side ? before : 0;
    v.oy = h < v.side ? before : 0;

    int n = p->size;
    float scale = (float)v.side / (float)n;
    /* The source columns of every output column, once (the same for every row): the
     * byte offsets of the two taps in an image row, -1 where padToSquare's padding is,
     * and the weight. */
    long *xo = malloc(sizeof *xo * 2 * (size_t)n);
    float *ax = malloc(sizeof *ax * (size_t)n);
    if (!xo || !ax) {
        free(xo), free(ax);
        return fn_fail(err, FN_E_NOMEM, "detector input: out of memory");
    }
    for (int ox = 0; ox < n; ox++) {
        int x[2];
        if (v.side == n)
            x[0] = x[1] = ox, ax[ox] = 0.0f;
        else
            legacy_coord(ox, scale, v.side, &x[0], &x[1], &ax[ox]);
        for (int t = 0; t < 2; t++) {
            int ix = x[t] - v.ox;
            xo[2 * ox + t] = ix < 0 || ix >= v.crop.width ? -1 : (long)(v.crop.x + ix) * 3;
        }
    }
    for (int oy = 0; oy < n; oy++) {
        int y[2];
        float ay;
        if (v.side == n)
            y[0] = y[1] = oy, ay = 0.0f;
        else
            legacy_coord(oy, scale, v.side, &y[0], &y[1], &ay);
        const uint8_t *row[2]; /* NULL: a padding row */
        for (int t = 0; t < 2; t++) {
            int iy = y[t] - v.oy;
            row[t] = iy < 0 || iy >= v.crop.height ? NULL
                                                   : v.img->rgb + (size_t)(v.crop.y + iy) * (size_t)v.img->w * 3;
        }
        for (int ox = 0; ox < n; ox++) {
            const long l = xo[2 * ox], r = xo[2 * ox + 1];
            float *o = out + ((size_t)oy * n + ox) * 3;
            for (int c = 0; c < 3; c++) {
                float tl = row[0] && l >= 0 ? (float)row[0][l + c] : 0.0f;
                float tr = row[0] && r >= 0 ? (float)row[0][r + c] : 0.0f;
                float bl = row[1] && l >= 0 ? (float)row[1][l + c] : 0.0f;
                float br = row[1] && r >= 0 ? (float)row[1][r + c] : 0.0f;
                /* the same operations as XNNPACK's legacy bilinear, in the same order
                 * (with a zero weight they give the top-left value exactly) */
                float top = tl + (tr - tl) * ax[ox];
                float bot = bl + (br - bl) * ax[ox];
                float val = top + (bot - top) * ay;
                o[c] = (val - p->mean[c]) / p->divisor - p->offset;
            }
        }
    }
    free(xo), free(ax);
    return 0;
}

int fn_clip_box(const fn_box *box, int img_w, int img_h, fn_irect *crop, fn_err *err)
{
    crop->x = crop->y = crop->width = crop->height = 0;
    if (img_w <= 0 || img_h <= 0)
        return fn_fail(err, FN_E_ARG, "clip box: invalid image size %dx%d", img_w, img_h);
    if (!isfinite(box->x) || !isfinite(box->y) || !isfinite(box->width) ||
        !isfinite(box->height))
        return fn_fail(err, FN_E_ARG, "clip box: box (%g, %g, %g, %g) is not finite", box->x,
                       box->y, box->width, box->height);
    /* Box.clipAtImageBorders: right and bottom are x + width, y + height */
    double right = box->x + box->width, bottom = box->y + box->height;
    double cx = box->x > 0 ? box->x : 0, cy = box->y > 0 ? box->y : 0;
    double nw = right - cx, nh = bottom - cy;
    double cw = nw < img_w - cx ? nw : img_w - cx;
    double ch = nh < img_h - cy ? nh : img_h - cy;
    double fx = floor(cx), fy = floor(cy), fw = floor(cw), fh = floor(ch);
    /* face-api drops faces whose clipped box is empty (extractFaceTensors) */
    if (!(fw > 0 && fh > 0) || fx >= img_w || fy >= img_h)
        return fn_fail(err, FN_E_ARG,
                       "clip box: box (%g, %g, %g, %g) leaves nothing of the %dx%d image",
                       box->x, box->y, box->width, box->height, img_w, img_h);
    crop->x = (int)fx;
    crop->y = (int)fy;
    crop->width = (int)fw;
    crop->height = (int)fh;
    return 0;
}
