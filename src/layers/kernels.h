/* kernels.h - the numeric kernels, as pure functions on plain arrays.
 *
 * Ops call them; tests call them directly to compare each fast path with the naive
 * reference beside it on odd shapes.  Images are NHWC with a row stride: pixel
 * (n, y, x) of an input starts at in + ((n*h + y)*w + x)*ldi, channels contiguous.
 */
#ifndef FN_KERNELS_H
#define FN_KERNELS_H

#include <stddef.h>

#include "layers/layer.h"

/* Geometry of a 2-D convolution or pooling window over NHWC images. */
typedef struct {
    int n, h, w, c;   /* input batch, height, width, channels */
    int ldi;          /* input row stride (>= c) */
    int kh, kw;       /* window */
    int sh, sw;       /* strides */
    int pt, pl;       /* padding before (top, left); the rest follows from oh, ow */
    int oh, ow;       /* output height, width */
    int f;            /* output channels (conv) */
    int ldo;          /* output row stride (>= f, or >= c for pooling) */
} fn_conv_geom;

/* Output size and leading padding along one axis, TensorFlow's rule:
 * valid: out = floor((in - k) / s) + 1;  same: out = ceil(in / s),
 * pad_total = max((out - 1)*s + k - in, 0), the smaller half before.
 * Returns -1 when the window does not fit ("valid" with in < k). */
int fn_window_out(int in, int k, int s, int same, int *out, int *pad_before);

/* Reference convolution: direct loops, double accumulation.
 * in (n,h,w,c) [ldi], kernel (kh,kw,c,f) HWIO, bias (f) or NULL -> out (n,oh,ow,f) [ldo]. */
void fn_conv2d_naive(const fn_conv_geom *g, const float *in, const float *kernel,
                     const float *bias, float *out);

/* im2col: one image (h,w,c)[ldi] -> rows (oh*ow) x cols (kh*kw*c), zeros for padding.
 * Column order (ky, kx, ci) matches an HWIO kernel read as a (kh*kw*c) x f matrix. */
void fn_im2col(const fn_conv_geom *g, const float *img, float *cols);
size_t fn_conv2d_scratch(const fn_conv_geom *g); /* floats needed by fn_conv2d_gemm */

/* Fast convolution: 1x1/stride-1/no-pad straight into GEMM over the whole batch,
 * otherwise im2col per image + cblas_sgemm.  Same contract as fn_conv2d_naive. */
void fn_conv2d_gemm(const fn_conv_geom *g, const float *in, const float *kernel,
                    const float *bias, float *out, float *scratch);

/* Depthwise convolution: input channel ci is convolved with its own dm filters, giving
 * output channels ci*dm + m (g->f = c*dm).  in (n,h,w,c)[ldi], kernel (kh,kw,c,dm),
 * bias (c*dm) or NULL -> out (n,oh,ow,c*dm)[ldo].  Naive: double accumulation per
 * output value; fast: float accumulation over whole pixel rows (vectorisable). */
void fn_depthwise_naive(const fn_conv_geom *g, int dm, const float *in, const float *kernel,
                        const float *bias, float *out);
void fn_depthwise_fast(const fn_conv_geom *g, int dm, const float *in, const float *kernel,
                       const float *bias, float *out);
/* Window geometry of an (h, w, c) input for n images (f, ldo left 0 for the caller). */
fn_conv_geom fn_depthwise_geom(int kh, int kw, int sh, int sw, int same, const fn_shape *in, int n);

/* Pooling over NHWC (f unused; output channels = c).  Average pooling divides by the
 * number of window cells inside the image (TensorFlow's 'same' behaviour). */
void fn_maxpool2d(const fn_conv_geom *g, const float *in, float *out);
void fn_avgpool2d(const fn_conv_geom *g, const float *in, float *out);

/* Dense: x (rows, in)[ldx] times W (in, out) plus bias (out) or NULL -> y (rows, out)[ldy]. */
void fn_dense_naive(size_t rows, int in, int out, const float *x, int ldx, const float *W,
                    const float *bias, float *y, int ldy);
void fn_dense_gemm(size_t rows, int in, int out, const float *x, int ldx, const float *W,
                   const float *bias, float *y, int ldy);

/* L2 normalisation (l2_normalize.c): each of rows vectors of cols values,
 * y = x / sqrt(max(sum x^2, 1e-12)) - Keras' rule, so a zero vector stays zero.
 * x (rows, cols)[ldx] -> y (rows, cols)[ldy]; x == y allowed. */
void fn_l2_normalize_rows(const float *x, int ldx, float *y, int ldy, size_t rows, int cols);
void fn_l2_normalize(float *v, int d); /* one vector in place */

/* Layout transposes for one image: (c, h*w) <-> (h*w, c). */
void fn_chw_to_hwc(const float *src, int c, int hw, float *dst);
void fn_hwc_to_chw(const float *src, int c, int hw, float *dst);

#endif
