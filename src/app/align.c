/* align.c - similarity fit and chip extraction (see align.h). */
#include "app/align.h"

#include <math.h>
#include <stddef.h>

static int all_finite(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

int fn_similarity_fit(const double src[10], const double dst[10], double M[6], fn_err *err)
{
    if (!all_finite(src, 10) || !all_finite(dst, 10))
        return fn_fail(err, FN_E_ARG, "similarity fit: points are not finite");
    double msx = 0, msy = 0, mdx = 0, mdy = 0;
    for (int i = 0; i < 5; i++) {
        msx += src[2 * i];
        msy += src[2 * i + 1];
        mdx += dst[2 * i];
        mdy += dst[2 * i + 1];
    }
    msx /= 5, msy /= 5, mdx /= 5, mdy /= 5;
    /* With centred points the least-squares [a -b; b a] has a closed form
     * (the 2-D case of Umeyama's method; the form cannot reflect). */
    double dot = 0, cross = 0, var = 0;
    for (int i = 0; i < 5; i++) {
        double xs = src[2 * i] - msx, ys = src[2 * i + 1] - msy;
        double xd = dst[2 * i] - mdx, yd = dst[2 * i + 1] - mdy;
        dot += xs * xd + ys * yd;
        cross += xs * yd - ys * xd;
        var += xs * xs + ys * ys;
    }
    if (!(var > 1e-12))
        return fn_fail(err, FN_E_ARG, "similarity fit: source points all coincide");
    double a = dot / var, b = cross / var;
    M[0] = a;
    M[1] = -b;
    M[2] = mdx - (a * msx - b * msy);
    M[3] = b;
    M[4] = a;
    M[5] = mdy - (b * msx + a * msy);
    return 0;
}

void fn_similarity_apply(const double M[6], double x, double y, double *ox, double *oy)
{
    *ox = M[0] * x + M[1] * y + M[2];
    *oy = M[3] * x + M[4] * y + M[5];
}

#define PX(img, x, y, c) ((img)->rgb[((size_t)(y) * (size_t)(img)->w + (size_t)(x)) * 3 + (c)])

/* Bilinear with edge clamping inside the image's pixel area (half a pixel
 * beyond the outer centres), 0 outside, rounded to nearest. */
static void sample_clamped(const fn_image *img, double x, double y, unsigned char *out)
{
    if (!(x >= -0.5 && y >= -0.5 && x <= img->w - 0.5 && y <= img->h - 0.5)) {
        out[0] = out[1] = out[2] = 0;
        return;
    }
    double fx0 = floor(x), fy0 = floor(y);
    double fx = x - fx0, fy = y - fy0;
    int x0 = (int)fx0, y0 = (int)fy0, x1 = x0 + 1, y1 = y0 + 1;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > img->w - 1 ? img->w - 1 : x1;
    y1 = y1 > img->h - 1 ? img->h - 1 : y1;
    for (int c = 0; c < 3; c++) {
        double v = (1 - fy) * ((1 - fx) * PX(img, x0, y0, c) + fx * PX(img, x1, y0, c)) +
                   fy * ((1 - fx) * PX(img, x0, y1, c) + fx * PX(img, x1, y1, c));
        out[c] = (unsigned char)floor(v + 0.5);
    }
}

/* dlib's interpolate_bilinear: all four neighbours must be inside (else 0),
 * and the result is truncated, as its static_cast to the pixel type does. */
static void sample_dlib(const fn_image *img, double x, double y, unsigned char *out)
{
    double fx0 = floor(x), fy0 = floor(y);
    if (!(fx0 >= 0 && fy0 >= 0 && fx0 + 1 < img->w && fy0 + 1 < img->h)) {
        out[0] = out[1] = out[2] = 0;
        return;
    }
    int x0 = (int)fx0, y0 = (int)fy0;
    double fx = x - fx0, fy = y - fy0;
    for (int c = 0; c < 3; c++) {
        double v = (1 - fy) * ((1 - fx) * PX(img, x0, y0, c) + fx * PX(img, x0 + 1, y0, c)) +
                   fy * ((1 - fx) * PX(img, x0, y0 + 1, c) + fx * PX(img, x0 + 1, y0 + 1, c));
        out[c] = (unsigned char)v;
    }
}

int fn_align_face(const fn_image *img, const double lm[10], const double tmpl[10], int out_w,
                  int out_h, fn_align_mode mode, fn_image *chip, fn_err *err)
{
    chip->w = chip->h = 0;
    chip->rgb = NULL;
    if (!img->rgb || img->w <= 0 || img->h <= 0)
        return fn_fail(err, FN_E_ARG, "align: empty source image");
    if (mode != FN_ALIGN_SIMILARITY && mode != FN_ALIGN_DLIB)
        return fn_fail(err, FN_E_ARG, "align: unknown mode %d", (int)mode);
    if (out_w < 2 || out_h < 2)
        return fn_fail(err, FN_E_ARG, "align: chip size %dx%d is too small", out_w, out_h);
    if (!all_finite(lm, 10))
        return fn_fail(err, FN_E_ARG, "align: landmarks are not finite");
    double M[6] = {0};
    if (fn_similarity_fit(tmpl, lm, M, err))
        return fn_wrap(err, "align: template: ");
    double scale = hypot(M[0], M[3]);
    if (!(scale > 1e-9))
        return fn_fail(err, FN_E_ARG, "align: the five landmarks coincide");

    /* DLIB: chip (u, v) -> centre + R(angle) * (kx * (u - (W-1)/2), ky * (v - (H-1)/2)),
     * from chip_details(from, to, dims) and get_mapping_to_chip. */
    double cx = 0, cy = 0, kx = 0, ky = 0, ca = 0, sa = 0;
    if (mode == FN_ALIGN_DLIB) {
        double angle = atan2(M[3], M[0]);
        fn_similarity_apply(M, out_w / 2.0, out_h / 2.0, &cx, &cy);
        kx = (out_w * scale - 1) / (out_w - 1);
        ky = (out_h * scale - 1) / (out_h - 1);
        if (!(kx > 0 && ky > 0))
            return fn_fail(err, FN_E_ARG, "align: face spans less than one pixel per chip pixel");
        ca = cos(angle);
        sa = sin(angle);
    }
    if (fn_image_alloc(chip, out_w, out_h, err))
        return fn_wrap(err, "align: ");
    for (int v = 0; v < out_h; v++) {
        for (int u = 0; u < out_w; u++) {
            unsigned char *o = chip->rgb + ((size_t)v * out_w + u) * 3;
            double x, y;
            if (mode == FN_ALIGN_DLIB) {
                double du = (u - (out_w - 1) / 2.0) * kx, dv = (v - (out_h - 1) / 2.0) * ky;
                x = cx + ca * du - sa * dv;
                y = cy + sa * du + ca * dv;
                sample_dlib(img, x, y, o);
            } else {
                fn_similarity_apply(M, u, v, &x, &y);
                sample_clamped(img, x, y, o);
            }
        }
    }
    return 0;
}

void fn_align_default_template(int w, int h, double tmpl[10])
{
    static const double arcface112[10] = {38.2946, 51.6963, 73.5318, 51.5014, 56.0252,
                                          71.7366, 41.5493, 92.3655, 70.7299, 92.2041};
    double f = 0.8 * (w < h ? w : h) / 112.0;
    for (int i = 0; i < 5; i++) {
        tmpl[2 * i] = ((arcface112[2 * i] - 55.5) * f + (w - 1) / 2.0);
        tmpl[2 * i + 1] = ((arcface112[2 * i + 1] - 55.5) * f + (h - 1) / 2.0);
    }
}

void fn_align_dlib_template(int size, double padding, double tmpl[10])
{
    /* dlib's mean_face_shape_{x,y} (get_face_chip_details), points 36..41
     * (left eye in the image), 42..47 (right eye), 30, 48, 54. */
    static const double eye_l[2][6] = {
        {0.121737, 0.187122, 0.265825, 0.334606, 0.260918, 0.182743},
        {0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077}};
    static const double eye_r[2][6] = {
        {0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335},
        {0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099}};
    static const double rest[3][2] = {{0.490127, 0.515625}, {0.254149, 0.780233},
                                      {0.726104, 0.780233}};
    double pts[10];
    for (int c = 0; c < 2; c++) {
        double l = 0, r = 0;
        for (int i = 0; i < 6; i++) {
            l += eye_l[c][i];
            r += eye_r[c][i];
        }
        pts[c] = l / 6;
        pts[2 + c] = r / 6;
        for (int k = 0; k < 3; k++)
            pts[4 + 2 * k + c] = rest[k][c];
    }
    for (int i = 0; i < 10; i++)
        tmpl[i] = ((padding + pts[i]) / (2 * padding + 1) * size);
}
