/* im2col.c - unfold image patches into rows so a convolution becomes one GEMM. */
#include "layers/kernels.h"

#include <string.h>

int fn_window_out(int in, int k, int s, int same, int *out, int *pad_before)
{
    if (in <= 0 || k <= 0 || s <= 0)
        return -1;
    if (same) {
        int o = (in + s - 1) / s;
        long total = (long)(o - 1) * s + k - in;
        if (total < 0)
            total = 0;
        *out = o;
        *pad_before = (int)(total / 2);
        return 0;
    }
    if (in < k)
        return -1;
    *out = (in - k) / s + 1;
    *pad_before = 0;
    return 0;
}

/* One output pixel's patch: (ky, kx, ci) values of image img, zeros outside it. */
static void im2col_pixel(const fn_conv_geom *g, const float *img, int oy, int ox, float *row)
{
    for (int ky = 0; ky < g->kh; ky++) {
        int y = oy * g->sh - g->pt + ky;
        float *dst = row + (size_t)ky * g->kw * g->c;
        if (y < 0 || y >= g->h) {
            memset(dst, 0, sizeof(float) * (size_t)g->kw * g->c);
            continue;
        }
        int x0 = ox * g->sw - g->pl;
        if (g->ldi == g->c && x0 >= 0 && x0 + g->kw <= g->w) { /* the window's row is one run */
            memcpy(dst, img + ((size_t)y * g->w + x0) * g->c, sizeof(float) * (size_t)g->kw * g->c);
            continue;
        }
        for (int kx = 0; kx < g->kw; kx++) {
            int x = ox * g->sw - g->pl + kx;
            if (x < 0 || x >= g->w)
                memset(dst + (size_t)kx * g->c, 0, sizeof(float) * (size_t)g->c);
            else
                memcpy(dst + (size_t)kx * g->c, img + ((size_t)y * g->w + x) * g->ldi,
                       sizeof(float) * (size_t)g->c);
        }
    }
}

void fn_im2col(const fn_conv_geom *g, const float *img, float *cols)
{
    const size_t K = (size_t)g->kh * g->kw * g->c;
    for (int oy = 0; oy < g->oh; oy++)
        for (int ox = 0; ox < g->ow; ox++)
            im2col_pixel(g, img, oy, ox, cols + ((size_t)oy * g->ow + ox) * K);
}

void fn_im2col_rows(const fn_conv_geom *g, const float *in, size_t r0, size_t r1, float *cols)
{
    const size_t K = (size_t)g->kh * g->kw * g->c, per = (size_t)g->oh * g->ow;
    for (size_t r = r0; r < r1; r++) {
        size_t n = r / per, p = r % per;
        im2col_pixel(g, in + n * g->h * g->w * g->ldi, (int)(p / g->ow), (int)(p % g->ow),
                     cols + (r - r0) * K);
    }
}

void fn_chw_to_hwc(const float *src, int c, int hw, float *dst)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < hw; i++)
            dst[(size_t)i * c + ch] = src[(size_t)ch * hw + i];
}

void fn_hwc_to_chw(const float *src, int c, int hw, float *dst)
{
    for (int i = 0; i < hw; i++)
        for (int ch = 0; ch < c; ch++)
            dst[(size_t)ch * hw + i] = src[(size_t)i * c + ch];
}
