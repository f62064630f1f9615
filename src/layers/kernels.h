/* kernels.h - the numeric kernels, as pure functions on plain arrays.
 *
 * Ops call them; tests call them directly to compare each fast path with the naive
 * reference beside it on odd shapes.  Images are NHWC with a row stride: pixel
 * (n, y, x) of an input starts at in + ((n*h + y)*w + x)*ldi, channels contiguous.
 */
#ifndef FN_KERNELS_H
#define FN_KERNELS_H

#include <stddef.h>

#include "core/thread_pool.h"
#include "layers/layer.h"

/* The instruction set the tuned kernels use, detected once at run time (cpu.c). */
typedef enum { FN_ISA_PORTABLE = 0, FN_ISA_AVX2 = 1, FN_ISA_AVX512 = 2 } fn_isa;
fn_isa fn_cpu_isa(void);
const char *fn_isa_name(fn_isa isa);      /* "avx2+fma" */
void fn_cpu_model(char *buf, size_t cap); /* "AMD EPYC 9R45" (cpuid brand string) */

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

/* im2col of output rows [r0, r1) of the whole batch (row r = (n*oh + oy)*ow + ox):
 * (r1 - r0) rows of kh*kw*c columns. */
void fn_im2col_rows(const fn_conv_geom *g, const float *in, size_t r0, size_t r1, float *cols);

/* Fast convolution: 1x1/stride-1/no-pad straight into GEMM over the whole batch,
 * otherwise im2col per image + cblas_sgemm.  Same contract as fn_conv2d_naive. */
void fn_conv2d_gemm(const fn_conv_geom *g, const float *in, const float *kernel,
                    const float *bias, float *out, float *scratch);
/* The engine's SGEMM (gemm.c): B (K x N, the weights) packed once into panels of
 * FN_GEMM_NR columns, padded with zeros; bias padded likewise. */
#define FN_GEMM_NR 16
typedef struct {
    int k, n;
    float *panels;   /* ceil(n/16) panels of k x 16, 64-byte aligned */
    float *bias;     /* ceil(n/16)*16 values (zeros past n, or all zeros) */
} fn_packed_b;
int fn_gemm_pack_b(const float *B, int K, int N, const float *bias, fn_packed_b *out); /* -1: no memory */
void fn_packed_b_free(fn_packed_b *pb);
void fn_gemm_unpack_b(const fn_packed_b *pb, float *B); /* the K x N matrix fn_gemm_pack_b was given */
int fn_gemm_available(void); /* the CPU runs the packed kernels (AVX2+FMA or AVX-512F) */
int fn_gemm_mr(void);        /* rows of the full micro-tile for the current ISA (8, 6; 1 without) */
int fn_gemm_np(void);        /* panels the micro-kernel takes at once (2 with AVX-512, else 1) */
/* C[0..M)[panels p0..p1) (ldc) = act(A (M x K, lda) * B + bias): columns 16*p0 ..
 * min(16*p1, N).  Softmax needs p0 = 0, p1 = all panels. */
void fn_gemm_packed(int M, int p0, int p1, const float *A, int lda, const fn_packed_b *B, fn_act act,
                    float *C, int ldc);
/* Force an instruction set (tests: compare the kernels of every ISA the CPU has);
 * -1 restores detection. */
void fn_cpu_force_isa(int isa);

/* The engine's convolution: the output rows of the whole batch cut into tiles, each
 * tile (im2col of its rows, one GEMM, bias + activation while it is in cache) a task
 * of the pool; thread t uses scratch + t*scratch_stride (stride >= fn_conv2d_tile_scratch).
 * pool NULL: one thread. */
void fn_conv2d_fast(const fn_conv_geom *g, const float *in, const float *kernel, const float *bias,
                    fn_act act, float *out, float *scratch, size_t scratch_stride, fn_pool *pool);
/* The same with the packed weights (and their bias) through fn_gemm_packed, when
 * fn_gemm_available(); kernel/bias as above for the cblas path otherwise. */
void fn_conv2d_packed(const fn_conv_geom *g, const float *in, const fn_packed_b *pb, const float *kernel,
                      const float *bias, fn_act act, float *out, float *scratch, size_t scratch_stride,
                      fn_pool *pool);
size_t fn_conv2d_tile_scratch(const fn_conv_geom *g); /* floats per thread */

/* 3x3 stride-1 convolution by Winograd F(2x2,3x3) (winograd.c): the kernel (HWIO,
 * 3x3xcxf) transformed once into 16 packed c x f matrices, products by fn_gemm_packed.
 * fits: the geometry is 3x3 stride 1 and the packed GEMM runs on this CPU.  act: linear
 * or relu.  Scratch per thread: fn_winograd_scratch floats (stride >= that). */
typedef struct {
    int c, f;
    fn_packed_b u[16];
    float *bias; /* f values (zeros without a bias) */
} fn_winograd_w;
int fn_winograd_pack(const float *kernel, const float *bias, int c, int f, fn_winograd_w *out); /* -1: memory */
void fn_winograd_free(fn_winograd_w *w);
int fn_winograd_fits(const fn_conv_geom *g);
size_t fn_winograd_scratch(const fn_conv_geom *g);
void fn_conv2d_winograd(const fn_conv_geom *g, const float *in, const fn_winograd_w *w, fn_act act, float *out,
                        float *scratch, size_t scratch_stride, fn_pool *pool);

/* Bias (cols values, or NULL) and activation over rows x cols [ld] in place, in one
 * pass; relu and linear vectorised.  Same values as adding the bias, then fn_apply_act. */
void fn_bias_act(float *out, size_t rows, int cols, int ld, const float *bias, fn_act act);

/* BLAS: the engine parallelises itself, so it keeps OpenBLAS on one thread. */
void fn_blas_single_thread(void);
void fn_blas_info(char *buf, size_t cap); /* "OpenBLAS 0.3.21 ... (core Haswell)" */

/* Depthwise convolution: input channel ci is convolved with its own dm filters, giving
 * output channels ci*dm + m (g->f = c*dm).  in (n,h,w,c)[ldi], kernel (kh,kw,c,dm),
 * bias (c*dm) or NULL -> out (n,oh,ow,c*dm)[ldo].  Naive: double accumulation per
 * output value. */
void fn_depthwise_naive(const fn_conv_geom *g, int dm, const float *in, const float *kernel,
                        const float *bias, float *out);
/* Fast: over the pool (NULL: the caller's thread), float sums (fused multiply-adds on
 * AVX2/AVX-512 for depth multiplier 1), the activation applied in the store when it is
 * linear, relu or relu6 (returns 0); any other act is not applied (returns 1: the
 * caller applies it). */
int fn_depthwise_run(const fn_conv_geom *g, int dm, const float *in, const float *kernel, const float *bias,
                     fn_act act, float *out, fn_pool *pool);
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
/* The engine's dense: output columns split across the pool, bias + activation fused. */
void fn_dense_fast(size_t rows, int in, int out, const float *x, int ldx, const float *W,
                   const float *bias, fn_act act, float *y, int ldy, fn_pool *pool);

/* L2 normalisation (l2_normalize.c): each of rows vectors of cols values,
 * y = x / sqrt(max(sum x^2, 1e-12)) - Keras' rule, so a zero vector stays zero.
 * x (rows, cols)[ldx] -> y (rows, cols)[ldy]; x == y allowed. */
void fn_l2_normalize_rows(const float *x, int ldx, float *y, int ldy, size_t rows, int cols);
void fn_l2_normalize(float *v, int d); /* one vector in place */

/* Residual sums over n values (add.c, scale_sum.c), vectorised; o may be a or b.
 * Each value is the scalar expression's result: a + b, a + b * scale. */
void fn_add_vec(float *o, const float *a, const float *b, int n);
void fn_scale_add_vec(float *o, const float *a, const float *b, float scale, int n);

/* Layout transposes for one image: (c, h*w) <-> (h*w, c). */
void fn_chw_to_hwc(const float *src, int c, int hw, float *dst);
void fn_hwc_to_chw(const float *src, int c, int hw, float *dst);

#endif
