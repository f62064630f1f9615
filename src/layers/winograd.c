/* winograd.c - 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3).
 *
 * Each 2x2 block of output pixels (a tile) needs a 4x4 window d of the input per
 * channel.  With the transforms (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2015)
 *
 *   B^T = | 1  0 -1  0 |     G = | 1    0    0   |     A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |         | 1/2  1/2  1/2 |           | 0  1 -1 -1 |
 *         | 0 -1  1  0 |         | 1/2 -1/2  1/2 |
 *         | 0  1  0 -1 |         | 0    0    1   |
 *
 *   V = B^T d B (4x4 per tile and input channel)      U = G g G^T (4x4 per channel pair)
 *   M[xi] = sum over input channels c of V[xi][c] U[xi][c][f]      xi = 0..15
 *   out (2x2) = A^T M A + bias, then the activation
 *
 * so the 9 multiply-adds per output pixel, input channel and filter of the direct
 * convolution become 16 per 4 output pixels (2.25x fewer), done as 16 matrix
 * products (tiles x C) (C x F) by the engine's packed SGEMM (gemm.c), with U packed
 * once at load.  The transforms are additions and halvings only.
 *
 * Rounding differs from the direct sum (the transforms round; the reference
 * accumulates in double): |error| stays within a few ulps of the sum of
 * |products| - tests/test_winograd.c checks it against the naive convolution.  Every
 * output depends only on its own tile's inputs, summed in a fixed order, so an image's
 * result is the same whatever the batch size, the tile blocks and the thread count.
 *
 * Work is cut into blocks of tiles (running across images); a block's V (16 x tb x C)
 * and M (16 x tb x F) live in the thread's scratch while its 16 products run. */
#include <stdlib.h>
#include <string.h>

#include "layers/kernels.h"

#define FN_WG_SCRATCH_FLOATS 65536 /* 256 KiB of V and M per block: the block stays in L2 */

int fn_winograd_pack(const float *kernel, const float *bias, int c, int f, fn_winograd_w *out)
{
    memset(out, 0, sizeof *out);
    float *u = malloc(sizeof(float) * 16 * (size_t)c * f), *b = calloc((size_t)f, sizeof(float));
    if (!u || !b) {
        free(u), free(b);
        return -1;
    }
    /* U[xi] (c x f): xi = 4*i + j of G g G^T for kernel g[ky][kx] = kernel[((ky*3 + kx)*c + ci)*f + fo] */
    for (int ci = 0; ci < c; ci++)
        for (int fo = 0; fo < f; fo++) {
            float g[3][3], t[4][3];
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                    g[ky][kx] = kernel[(((size_t)ky * 3 + kx) * c + ci) * f + fo];
            for (int kx = 0; kx < 3; kx++) { /* G g: rows */
                t[0][kx] = g[0][kx];
                t[1][kx] = 0.5f * (g[0][kx] + g[1][kx] + g[2][kx]);
                t[2][kx] = 0.5f * (g[0][kx] - g[1][kx] + g[2][kx]);
                t[3][kx] = g[2][kx];
            }
            for (int i = 0; i < 4; i++) { /* (G g) G^T: columns */
                float r[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]),
                              t[i][2]};
                for (int j = 0; j < 4; j++)
                    u[((size_t)(4 * i + j) * c + ci) * f + fo] = r[j];
            }
        }
    out->c = c, out->f = f;
    for (int xi = 0; xi < 16; xi++)
        if (fn_gemm_pack_b(u + (size_t)xi * c * f, c, f, NULL, &out->u[xi])) {
            free(u), free(b);
            fn_winograd_free(out);
            return -1;
        }
    if (bias)
        memcpy(b, bias, sizeof(float) * (size_t)f);
    out->bias = b;
    free(u);
    return 0;
}

void fn_winograd_free(fn_winograd_w *w)
{
    for (int xi = 0; xi < 16; xi++)
        fn_packed_b_free(&w->u[xi]);
    free(w->bias);
    memset(w, 0, sizeof *w);
}

int fn_winograd_fits(const fn_conv_geom *g)
{
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && fn_gemm_available();
}

/* Tiles per block for c input and f output channels: V and M within the scratch
 * budget, a whole number of micro-tile heights (24 = both kernels' 6 and 8). */
static int block_tiles(int c, int f)
{
    int tb = FN_WG_SCRATCH_FLOATS / (16 * (c + f));
    tb = tb / 24 * 24;
    return tb < 24 ? 24 : tb > 192 ? 192 : tb;
}

size_t fn_winograd_scratch(const fn_conv_geom *g)
{
    return (size_t)16 * block_tiles(g->c, g->f) * ((size_t)g->c + g->f);
}

typedef struct {
    const fn_conv_geom *g;
    const float *in;
    const fn_winograd_w *w;
    fn_act act;
    float *out, *scratch;
    size_t stride;
    int th, tw, tb, blocks, chunks; /* tiles per column and row of an image, per block; tasks */
    size_t tiles;
} wg_job;

/* The transforms run on W channels at a time with GCC's vector extensions: 16 with
 * AVX-512, else 8 (one AVX register; the packed GEMM, hence this code, needs AVX2).
 * A last group of fewer channels goes through a zero-padded copy.  Both widths
 * compute the same operations per channel, so the results do not depend on which
 * runs. */
typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

/* Loads and stores of whole vectors (unaligned); pixels outside the image read
 * fn_wg_zeros, and a partial group of channels goes through a zero-padded copy. */
static const float fn_wg_zeros[16] = {0};
#define FN_WG_TRANSFORMS(W, VT, VI, TARGET)                                                                   \
    TARGET __attribute__((always_inline)) static inline VT ld_##W(const float *p)                              \
    {                                                                                                          \
        VT v;                                                                                                  \
        memcpy(&v, p, sizeof v);                                                                               \
        return v;                                                                                              \
    }                                                                                                          \
    TARGET __attribute__((always_inline)) static inline void st_##W(float *p, VT v)                            \
    {                                                                                                          \
        memcpy(p, &v, sizeof v);                                                                               \
    }                                                                                                          \
                                                                                                               \
    TARGET static void input_tile_##W(const fn_conv_geom *g, const float *img, int y0, int x0, float *v,        \
                                      size_t vstride)                                                          \
    {                                                                                                          \
        const float *px[16];                                                                                   \
        for (int q = 0; q < 16; q++) {                                                                         \
            int y = y0 + q / 4, x = x0 + q % 4;                                                                \
            px[q] = y >= 0 && y < g->h && x >= 0 && x < g->w ? img + ((size_t)y * g->w + x) * g->ldi : NULL;   \
        }                                                                                                      \
        for (int ci = 0; ci < g->c; ci += W) {                                                                 \
            const int n = g->c - ci < W ? g->c - ci : W;                                                       \
            float pad[16][W];                                                                                  \
            const float *src[16];                                                                              \
            if (n == W) { /* pixels outside the image read zeros */                                            \
                for (int q = 0; q < 16; q++)                                                                   \
                    src[q] = px[q] ? px[q] + ci : fn_wg_zeros;                                                 \
            } else {                                                                                           \
                memset(pad, 0, sizeof pad);                                                                    \
                for (int q = 0; q < 16; q++) {                                                                 \
                    if (px[q])                                                                                 \
                        memcpy(pad[q], px[q] + ci, sizeof(float) * (size_t)n);                                 \
                    src[q] = pad[q];                                                                           \
                }                                                                                              \
            }                                                                                                  \
            VT t[4][4];                                                                                        \
            _Pragma("GCC unroll 4")                                                                            \
            for (int j = 0; j < 4; j++) { /* B^T d, column j */                                                \
                const VT d0 = ld_##W(src[j]), d1 = ld_##W(src[4 + j]), d2 = ld_##W(src[8 + j]),                \
                         d3 = ld_##W(src[12 + j]);                                                             \
                t[0][j] = d0 - d2, t[1][j] = d1 + d2, t[2][j] = d2 - d1, t[3][j] = d1 - d3;                    \
            }                                                                                                  \
            _Pragma("GCC unroll 4")                                                                            \
            for (int i = 0; i < 4; i++) { /* (B^T d) B, row i */                                               \
                const VT r[4] = {t[i][0] - t[i][2], t[i][1] + t[i][2], t[i][2] - t[i][1], t[i][1] - t[i][3]};  \
                _Pragma("GCC unroll 4")                                                                        \
                for (int j = 0; j < 4; j++) {                                                                  \
                    float *dst = v + (size_t)(4 * i + j) * vstride + ci;                                       \
                    if (n == W)                                                                                \
                        st_##W(dst, r[j]);                                                                     \
                    else                                                                                       \
                        memcpy(dst, &r[j], sizeof(float) * (size_t)n);                                         \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
    }                                                                                                          \
                                                                                                               \
    TARGET static void output_tile_##W(const fn_conv_geom *g, const float *m, size_t mstride, const float *bias, \
                                       int relu, float *img_out, int oy0, int ox0)                             \
    {                                                                                                          \
        float *o[4];                                                                                           \
        for (int q = 0; q < 4; q++)                                                                            \
            o[q] = oy0 + q / 2 < g->oh && ox0 + q % 2 < g->ow                                                  \
                       ? img_out + ((size_t)(oy0 + q / 2) * g->ow + (ox0 + q % 2)) * g->ldo                    \
                       : NULL;                                                                                 \
        for (int fo = 0; fo < g->f; fo += W) {                                                                 \
            const int n = g->f - fo < W ? g->f - fo : W;                                                       \
            float pad[17][W]; /* a partial group: M's 16 rows and the bias, zero-padded */                     \
            const float *src[17];                                                                              \
            for (int q = 0; q < 16; q++)                                                                       \
                src[q] = m + (size_t)q * mstride + fo;                                                         \
            src[16] = bias + fo;                                                                               \
            if (n < W) {                                                                                       \
                memset(pad, 0, sizeof pad);                                                                    \
                for (int q = 0; q < 17; q++)                                                                   \
                    memcpy(pad[q], src[q], sizeof(float) * (size_t)n), src[q] = pad[q];                        \
            }                                                                                                  \
            VT s[2][4];                                                                                        \
            _Pragma("GCC unroll 4")                                                                            \
            for (int j = 0; j < 4; j++) { /* A^T M, column j */                                                \
                const VT m0 = ld_##W(src[j]), m1 = ld_##W(src[4 + j]), m2 = ld_##W(src[8 + j]),                \
                         m3 = ld_##W(src[12 + j]);                                                             \
                s[0][j] = m0 + m1 + m2;                                                                        \
                s[1][j] = m1 - m2 - m3;                                                                        \
            }                                                                                                  \
            const VT b = ld_##W(src[16]), z = {0};                                                             \
            _Pragma("GCC unroll 4")                                                                            \
            for (int i = 0; i < 2; i++) { /* (A^T M) A + bias */                                               \
                VT y[2] = {s[i][0] + s[i][1] + s[i][2] + b, s[i][1] - s[i][2] - s[i][3] + b};                  \
                _Pragma("GCC unroll 4")                                                                        \
                for (int j = 0; j < 2; j++) {                                                                  \
                    if (relu) /* keeps x > 0, else +0 (NaN too): the GEMM's max(x, 0) */                       \
                        y[j] = (VT)((VI)y[j] & (y[j] > z));                                                    \
                    float *dst = o[2 * i + j];                                                                 \
                    if (dst && n == W)                                                                         \
                        st_##W(dst + fo, y[j]);                                                                \
                    else if (dst)                                                                              \
                        memcpy(dst + fo, &y[j], sizeof(float) * (size_t)n);                                    \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
    }

#if defined(__x86_64__) && defined(__GNUC__)
FN_WG_TRANSFORMS(8, v8, v8i, __attribute__((target("avx2"))))
FN_WG_TRANSFORMS(16, v16, v16i, __attribute__((target("avx512f"))))
#else
FN_WG_TRANSFORMS(8, v8, v8i, )
#define input_tile_16 input_tile_8
#define output_tile_16 output_tile_8
#endif

/* Task t: block t / chunks of tiles (tiles tb*b .. , across images), output columns
 * chunk t % chunks: transform the inputs, 16 products, transform the outputs. */
static void wg_task(void *arg, int t, int thread)
{
    const wg_job *j = arg;
    const fn_conv_geom *g = j->g;
    const int chunk = t % j->chunks, blk = t / j->chunks;
    const size_t t0 = (size_t)blk * j->tiles / (size_t)j->blocks, t1 = (size_t)(blk + 1) * j->tiles / (size_t)j->blocks;
    const int nt = (int)(t1 - t0), per = j->th * j->tw;
    float *v = j->scratch + (size_t)thread * j->stride, *m = v + (size_t)16 * j->tb * g->c;
    const size_t vstride = (size_t)j->tb * g->c, mstride = (size_t)j->tb * g->f;
    const int wide = fn_cpu_isa() >= FN_ISA_AVX512;
    for (size_t q = t0; q < t1; q++) {
        const int n = (int)(q / (size_t)per), r = (int)(q % (size_t)per), ty = r / j->tw, tx = r % j->tw;
        (wide ? input_tile_16 : input_tile_8)(g, j->in + (size_t)n * g->h * g->w * g->ldi, 2 * ty - g->pt, 2 * tx - g->pl,
                   v + (q - t0) * (size_t)g->c, vstride);
    }
    const int panels = (g->f + FN_GEMM_NR - 1) / FN_GEMM_NR, np = fn_gemm_np(), groups = (panels + np - 1) / np;
    const int p0 = chunk * groups / j->chunks * np, p1e = (chunk + 1) * groups / j->chunks * np;
    const int p1 = p1e < panels ? p1e : panels;
    for (int xi = 0; xi < 16; xi++)
        fn_gemm_packed(nt, p0, p1, v + (size_t)xi * vstride, g->c, &j->w->u[xi], FN_ACT_LINEAR,
                       m + (size_t)xi * mstride, g->f);
    /* the output transform of this chunk's columns only */
    fn_conv_geom sub = *g;
    const int c0 = p0 * FN_GEMM_NR, c1 = p1 * FN_GEMM_NR < g->f ? p1 * FN_GEMM_NR : g->f;
    sub.f = c1 - c0;
    for (size_t q = t0; q < t1; q++) {
        const int n = (int)(q / (size_t)per), r = (int)(q % (size_t)per), ty = r / j->tw, tx = r % j->tw;
        (wide ? output_tile_16 : output_tile_8)(&sub, m + (q - t0) * (size_t)g->f + c0, mstride, j->w->bias + c0, j->act == FN_ACT_RELU,
                    j->out + (size_t)n * g->oh * g->ow * g->ldo + c0, 2 * ty, 2 * tx);
    }
}

void fn_conv2d_winograd(const fn_conv_geom *g, const float *in, const fn_winograd_w *w, fn_act act, float *out,
                        float *scratch, size_t scratch_stride, fn_pool *pool)
{
    wg_job j = {g, in, w, act, out, scratch, scratch_stride, (g->oh + 1) / 2, (g->ow + 1) / 2,
                block_tiles(g->c, g->f), 0, 1, 0};
    j.tiles = (size_t)g->n * j.th * j.tw;
    j.blocks = (int)((j.tiles + (size_t)j.tb - 1) / (size_t)j.tb);
    const int threads = fn_pool_threads(pool);
    if (threads > 1) {
        const int panels = (g->f + FN_GEMM_NR - 1) / FN_GEMM_NR, groups = (panels + fn_gemm_np() - 1) / fn_gemm_np();
        if (j.tiles >= (size_t)threads * 16) /* rows enough: blocks, a multiple of the threads */
            j.blocks = (j.blocks + threads - 1) / threads * threads;
        else if (j.blocks < threads)
            j.chunks = groups < threads ? groups : threads;
    }
    fn_pool_run(pool, j.blocks * j.chunks, wg_task, &j);
}
