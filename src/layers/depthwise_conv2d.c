/* depthwise_conv2d.c - Keras DepthwiseConv2D: each input channel convolved with its
 * own depth_multiplier filters (output channel ci*dm + m), any kernel size and stride,
 * 'valid'/'same' padding with TensorFlow's asymmetric rule, optional bias, fused
 * activation; channels_last.  The kernel stays in Keras' layout (kh, kw, c, dm), which
 * read as a (kh*kw) x (c*dm) matrix has one column per output channel - the form the
 * BatchNorm fold (src/net/fuse.c) works on.  Also the first half of SeparableConv2D
 * (separable_conv2d.c). */
#include <stdlib.h>
#include <string.h>

#include "layers/kernels.h"
#include "layers/ops.h"

typedef struct {
    int kh, kw, sh, sw, same, dm, use_bias;
    float *bias;      /* c*dm values; owned; zeros when the layer has no bias */
} dw_params;

void fn_depthwise_naive(const fn_conv_geom *g, int dm, const float *in, const float *kernel,
                        const float *bias, float *out)
{
    for (int n = 0; n < g->n; n++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                float *o = out + (((size_t)n * g->oh + oy) * g->ow + ox) * g->ldo;
                for (int c = 0; c < g->c; c++)
                    for (int m = 0; m < dm; m++) {
                        double acc = bias ? bias[c * dm + m] : 0.0;
                        for (int ky = 0; ky < g->kh; ky++) {
                            int y = oy * g->sh - g->pt + ky;
                            if (y < 0 || y >= g->h)
                                continue;
                            for (int kx = 0; kx < g->kw; kx++) {
                                int x = ox * g->sw - g->pl + kx;
                                if (x < 0 || x >= g->w)
                                    continue;
                                const float *px = in + (((size_t)n * g->h + y) * g->w + x) * g->ldi;
                                acc += (double)px[c] *
                                       kernel[((size_t)ky * g->kw + kx) * g->c * dm + (size_t)c * dm + m];
                            }
                        }
                        o[c * dm + m] = (float)acc;
                    }
            }
}

/* The general fast path (any depth multiplier; also the portable one): float sums over
 * whole pixel rows, bias first, then the taps in (ky, kx) order. */
static void dw_rows_c(const fn_conv_geom *g, int dm, const float *in, const float *kernel, const float *bias,
                      float *out)
{
    const int f = g->c * dm;
    for (int n = 0; n < g->n; n++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                float *restrict o = out + (((size_t)n * g->oh + oy) * g->ow + ox) * g->ldo;
                for (int i = 0; i < f; i++)
                    o[i] = bias ? bias[i] : 0.0f;
                for (int ky = 0; ky < g->kh; ky++) {
                    int y = oy * g->sh - g->pt + ky;
                    if (y < 0 || y >= g->h)
                        continue;
                    for (int kx = 0; kx < g->kw; kx++) {
                        int x = ox * g->sw - g->pl + kx;
                        if (x < 0 || x >= g->w)
                            continue;
                        const float *restrict px = in + (((size_t)n * g->h + y) * g->w + x) * g->ldi;
                        const float *restrict kp = kernel + ((size_t)ky * g->kw + kx) * f;
                        if (dm == 1) {
                            for (int c = 0; c < g->c; c++)
                                o[c] += px[c] * kp[c];
                        } else {
                            for (int c = 0; c < g->c; c++)
                                for (int m = 0; m < dm; m++)
                                    o[c * dm + m] += px[c] * kp[c * dm + m];
                        }
                    }
                }
            }
}

/* ---- depth multiplier 1 with AVX2 / AVX-512: the common case (MobileNet) ----------
 * One task = a range of output rows (image, y).  Per output pixel and block of
 * channels (16 with AVX-512, 8 with AVX2), the sum starts from the bias and adds the
 * in-range taps in (ky, kx) order with fused multiply-adds; relu / relu6 are applied in
 * registers before the one store.  Both ISAs compute every value with the same chain
 * of fused multiply-adds (the AVX2 path does its last channels one at a time with
 * fmaf), so they agree bitwise; at any thread count too (a value is never split). */
typedef struct {
    const fn_conv_geom *g;
    const float *in, *kernel, *bias; /* bias NULL: sums start from 0 */
    float *out;
    int act; /* 0 linear, 1 relu, 2 relu6 */
} dw_job;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FN_DW_X86 1
#ifndef DW_P
#define DW_P 4 /* output pixels per step in a row's interior */
#endif

/* The window of output column ox: kx in [*k0, *k1), starting at input column *x0. */
static inline void dw_span(int o, int s, int pad, int k, int n, int *x0, int *k0, int *k1)
{
    *x0 = o * s - pad;
    *k0 = *x0 < 0 ? -*x0 : 0;
    *k1 = n - *x0 < k ? n - *x0 : k;
}

/* Output row r (image n, row oy): its input rows' span; returns the row's first output. */
static inline float *dw_row(const dw_job *j, size_t r, int *n, int *y0, int *ky0, int *ky1)
{
    const fn_conv_geom *g = j->g;
    *n = (int)(r / (size_t)g->oh);
    dw_span((int)(r % (size_t)g->oh), g->sh, g->pt, g->kh, g->h, y0, ky0, ky1);
    return j->out + r * (size_t)g->ow * g->ldo;
}

/* Output pixel ox of a row: its first tap in range (input pixel (n, y0 + ky0, x0 + kx0),
 * kernel tap (ky0, kx0)), the taps in range, and whether the DW_P pixels from it have
 * whole windows inside the row (run). */
typedef struct {
    const float *in0, *k0;
    int nky, nkx, run;
} dw_px;

static inline dw_px dw_pixel(const dw_job *j, int n, int y0, int ky0, int ky1, int ox)
{
    const fn_conv_geom *g = j->g;
    int x0, kx0, kx1;
    dw_span(ox, g->sw, g->pl, g->kw, g->w, &x0, &kx0, &kx1);
    return (dw_px){j->in + (((size_t)n * g->h + (size_t)(y0 + ky0)) * g->w + (size_t)(x0 + kx0)) * g->ldi,
                   j->kernel + ((size_t)ky0 * g->kw + (size_t)kx0) * g->c, ky1 - ky0, kx1 - kx0,
                   x0 >= 0 && ox + DW_P <= g->ow && x0 + (DW_P - 1) * g->sw + g->kw <= g->w};
}

static inline const float *dw_bias(const dw_job *j, int c)
{
    return j->bias ? j->bias + c : NULL;
}

/* One block of 16 channels (mask m; full: all 16, so plain loads and stores - masked
 * stores are slow on some CPUs) for np output pixels starting at o: nky x nkx taps from
 * input pixel in_row0 and kernel tap kp0 on (np > 1: whole windows inside the row, the
 * next pixel's window sw columns on). */
__attribute__((target("avx512f"), always_inline)) static inline void
dw_block512(const dw_job *j, const float *bias, const float *in_row0, const float *kp0, int nky, int nkx, float *o,
            __mmask16 m, const int full, const int np)
{
    const fn_conv_geom *g = j->g;
    const size_t ldi = (size_t)g->ldi, rowstride = (size_t)g->w * ldi, kstride = (size_t)g->kw * g->c;
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f);
    __m512 acc[DW_P];
    acc[0] = !bias ? _mm512_setzero_ps() : full ? _mm512_loadu_ps(bias) : _mm512_maskz_loadu_ps(m, bias);
#pragma GCC unroll 8
    for (int q = 1; q < np; q++)
        acc[q] = acc[0];
    for (int ky = 0; ky < nky; ky++) {
        const float *ip = in_row0 + (size_t)ky * rowstride, *kp = kp0 + (size_t)ky * kstride;
        for (int kx = 0; kx < nkx; kx++) {
            const float *wp = kp + (size_t)kx * g->c, *xp = ip + (size_t)kx * ldi;
            const __m512 wv = full ? _mm512_loadu_ps(wp) : _mm512_maskz_loadu_ps(m, wp);
#pragma GCC unroll 8
            for (int q = 0; q < np; q++) {
                const float *xq = xp + (size_t)q * g->sw * ldi;
                acc[q] = _mm512_fmadd_ps(full ? _mm512_loadu_ps(xq) : _mm512_maskz_loadu_ps(m, xq), wv, acc[q]);
            }
        }
    }
#pragma GCC unroll 8
    for (int q = 0; q < np; q++) {
        if (j->act == 1) /* max(x, 0) is 0 for NaN, as the reference's x > 0 ? x : 0 */
            acc[q] = _mm512_max_ps(acc[q], zero);
        else if (j->act == 2) /* NaN stays NaN and -0 stays -0, as the reference's rule */
            acc[q] = _mm512_min_ps(six, _mm512_max_ps(zero, acc[q]));
        if (full)
            _mm512_storeu_ps(o + (size_t)q * g->ldo, acc[q]);
        else
            _mm512_mask_storeu_ps(o + (size_t)q * g->ldo, m, acc[q]);
    }
}

__attribute__((target("avx512f"))) static void dw_rows_avx512(void *arg, size_t r0, size_t r1)
{
    const dw_job *j = arg;
    const int C = j->g->c, cv = C & ~15;
    const __mmask16 tail = (__mmask16)((1u << (C - cv)) - 1);
    for (size_t r = r0; r < r1; r++) {
        int n, y0, ky0, ky1;
        float *orow = dw_row(j, r, &n, &y0, &ky0, &ky1);
        for (int ox = 0; ox < j->g->ow; ox++) {
            const dw_px p = dw_pixel(j, n, y0, ky0, ky1, ox);
            float *o = orow + (size_t)ox * j->g->ldo;
            if (p.run) { /* DW_P pixels with whole windows in the row: DW_P independent sums
                          * (one chain of fused multiply-adds alone waits on its latency) */
                for (int c = 0; c < cv; c += 16)
                    dw_block512(j, dw_bias(j, c), p.in0 + c, p.k0 + c, p.nky, p.nkx, o + c, 0xffff, 1, DW_P);
                if (cv < C)
                    dw_block512(j, dw_bias(j, cv), p.in0 + cv, p.k0 + cv, p.nky, p.nkx, o + cv, tail, 0, DW_P);
                ox += DW_P - 1;
                continue;
            }
            for (int c = 0; c < cv; c += 16)
                dw_block512(j, dw_bias(j, c), p.in0 + c, p.k0 + c, p.nky, p.nkx, o + c, 0xffff, 1, 1);
            if (cv < C)
                dw_block512(j, dw_bias(j, cv), p.in0 + cv, p.k0 + cv, p.nky, p.nkx, o + cv, tail, 0, 1);
        }
    }
}

__attribute__((target("avx2,fma"))) static float dw_act1(float v, int act)
{
    if (act == 1)
        return v > 0.0f ? v : 0.0f;
    if (act == 2)
        return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    return v;
}

/* As dw_block512 with 8 channels (all present) and np pixels. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
dw_block256(const dw_job *j, const float *bias, const float *in_row0, const float *kp0, int nky, int nkx, float *o,
            const int np)
{
    const fn_conv_geom *g = j->g;
    const size_t ldi = (size_t)g->ldi, rowstride = (size_t)g->w * ldi, kstride = (size_t)g->kw * g->c;
    const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6.0f);
    __m256 acc[DW_P];
    acc[0] = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int q = 1; q < np; q++)
        acc[q] = acc[0];
    for (int ky = 0; ky < nky; ky++) {
        const float *ip = in_row0 + (size_t)ky * rowstride, *kp = kp0 + (size_t)ky * kstride;
        for (int kx = 0; kx < nkx; kx++) {
            const float *xp = ip + (size_t)kx * ldi;
            const __m256 wv = _mm256_loadu_ps(kp + (size_t)kx * g->c);
#pragma GCC unroll 8
            for (int q = 0; q < np; q++)
                acc[q] = _mm256_fmadd_ps(_mm256_loadu_ps(xp + (size_t)q * g->sw * ldi), wv, acc[q]);
        }
    }
#pragma GCC unroll 8
    for (int q = 0; q < np; q++) {
        if (j->act == 1)
            acc[q] = _mm256_max_ps(acc[q], zero);
        else if (j->act == 2)
            acc[q] = _mm256_min_ps(six, _mm256_max_ps(zero, acc[q]));
        _mm256_storeu_ps(o + (size_t)q * g->ldo, acc[q]);
    }
}

__attribute__((target("avx2,fma"))) static void dw_rows_avx2(void *arg, size_t r0, size_t r1)
{
    const dw_job *j = arg;
    const fn_conv_geom *g = j->g;
    const int C = g->c, cv = C & ~7;
    for (size_t r = r0; r < r1; r++) {
        int n, y0, ky0, ky1;
        float *orow = dw_row(j, r, &n, &y0, &ky0, &ky1);
        for (int ox = 0; ox < g->ow; ox++) {
            const dw_px p = dw_pixel(j, n, y0, ky0, ky1, ox);
            float *o = orow + (size_t)ox * g->ldo;
            if (cv == C && p.run) { /* DW_P pixels at once, as the AVX-512 kernel */
                for (int c = 0; c < C; c += 8)
                    dw_block256(j, dw_bias(j, c), p.in0 + c, p.k0 + c, p.nky, p.nkx, o + c, DW_P);
                ox += DW_P - 1;
                continue;
            }
            for (int c = 0; c < cv; c += 8)
                dw_block256(j, dw_bias(j, c), p.in0 + c, p.k0 + c, p.nky, p.nkx, o + c, 1);
            for (int c = cv; c < C; c++) { /* the last channels one at a time, fused as above */
                float acc = j->bias ? j->bias[c] : 0.0f;
                for (int ky = 0; ky < p.nky; ky++)
                    for (int kx = 0; kx < p.nkx; kx++)
                        acc = __builtin_fmaf(p.in0[((size_t)ky * g->w + kx) * g->ldi + c],
                                             p.k0[((size_t)ky * g->kw + kx) * C + c], acc);
                o[c] = dw_act1(acc, j->act);
            }
        }
    }
}
#endif

int fn_depthwise_run(const fn_conv_geom *g, int dm, const float *in, const float *kernel, const float *bias,
                     fn_act act, float *out, fn_pool *pool)
{
    const int fused = act == FN_ACT_RELU ? 1 : act == FN_ACT_RELU6 ? 2 : 0;
#ifdef FN_DW_X86
    fn_range_fn rows = NULL;
    if (dm == 1 && fn_cpu_isa() >= FN_ISA_AVX512)
        rows = dw_rows_avx512;
    else if (dm == 1 && fn_cpu_isa() >= FN_ISA_AVX2)
        rows = dw_rows_avx2;
    if (rows) {
        const int lin = act == FN_ACT_LINEAR || fused;
        dw_job j = {g, in, kernel, bias, out, lin ? fused : 0};
        const size_t n_rows = (size_t)g->n * g->oh, row = (size_t)g->ow * g->c * g->kh * g->kw;
        fn_pool_for(pool, n_rows, (65536 + row - 1) / (row ? row : 1), rows, &j);
        return lin ? 0 : 1;
    }
#else
    (void)pool, (void)fused;
#endif
    dw_rows_c(g, dm, in, kernel, bias, out);
    return act == FN_ACT_LINEAR ? 0 : 1;
}

/* Config shared with SeparableConv2D: kernel_size, strides, padding, depth_multiplier,
 * dilation_rate (1 only), data_format (channels_last only), activation. */
int fn_depthwise_parse_common(fn_layer *L, const cJSON *cfg, int k[2], int s[2], int *same, int *dm,
                              fn_err *err)
{
    int dil[2];
    const char *pad;
    if (fn_cfg_string(L, cfg, "padding", "valid", &pad, err) || fn_cfg_pair(L, cfg, "kernel_size", 0, k, err) ||
        fn_cfg_pair(L, cfg, "strides", 1, s, err) || fn_cfg_pair(L, cfg, "dilation_rate", 1, dil, err) ||
        fn_cfg_int(L, cfg, "depth_multiplier", 1, dm, err) || fn_cfg_data_format(L, cfg, err) ||
        fn_cfg_act(L, cfg, err))
        return -1;
    if (k[0] <= 0 || k[1] <= 0 || s[0] <= 0 || s[1] <= 0 || *dm <= 0)
        return fn_fail(err, FN_E_FORMAT, "layer %s: kernel_size, strides and depth_multiplier must be positive",
                       L->name);
    if (dil[0] != 1 || dil[1] != 1)
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: dilation_rate %dx%d is not supported (only 1)",
                       L->name, dil[0], dil[1]);
    if (strcmp(pad, "valid") && strcmp(pad, "same"))
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: padding '%s' is not supported", L->name, pad);
    if (fn_layer_channels_first(L))
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: %s with data_format channels_first is not supported",
                       L->name, L->class_name ? L->class_name : "depthwise convolution");
    *same = !strcmp(pad, "same");
    L->flags = FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return 0;
}

static int dw_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    dw_params *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = p;
    int k[2], s[2];
    if (fn_depthwise_parse_common(L, cfg, k, s, &p->same, &p->dm, err) ||
        fn_cfg_bool(L, cfg, "use_bias", 1, &p->use_bias, err))
        return -1;
    p->kh = k[0], p->kw = k[1], p->sh = s[0], p->sw = s[1];
    return 0;
}

static int dw_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    dw_params *p = L->priv;
    if (n_in != 1 || in->rank != 3)
        return fn_fail(err, FN_E_SHAPE, "layer %s: DepthwiseConv2D needs one input of rank 3", L->name);
    int h = in->d[0], w = in->d[1], c = in->d[2], oh, ow, pt, pl;
    if (c <= 0)
        return fn_fail(err, FN_E_SHAPE, "layer %s: the number of input channels must be known", L->name);
    if ((long long)c * p->dm > 1000000000)
        return fn_fail(err, FN_E_SHAPE, "layer %s: %d channels x depth_multiplier %d is too many", L->name, c,
                       p->dm);
    if (fn_op_window(L, "height", h, p->kh, p->sh, p->same, &oh, &pt, err) ||
        fn_op_window(L, "width", w, p->kw, p->sw, p->same, &ow, &pl, err))
        return -1;
    *out = (fn_shape){3, {oh, ow, c * p->dm, 0}};
    int kdims[4] = {p->kh, p->kw, c, p->dm}, f = c * p->dm;
    if (fn_layer_declare(L, "depthwise_kernel", 4, kdims, 0, err))
        return -1;
    if (p->use_bias && fn_layer_declare(L, "bias", 1, &f, 0, err))
        return -1;
    return 0;
}

static int dw_prepare(fn_layer *L, fn_err *err)
{
    dw_params *p = L->priv;
    if (L->theano_kernels)
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: DepthwiseConv2D from a Theano-backend file is not supported",
                       L->name);
    const fn_weight *k = fn_layer_weight_c(L, "depthwise_kernel");
    size_t f = (size_t)k->shape.d[2] * (size_t)k->shape.d[3];
    free(p->bias);
    p->bias = calloc(f, sizeof(float));
    if (!p->bias)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    const fn_weight *b = fn_layer_weight_c(L, "bias");
    if (p->use_bias && b && b->data)
        memcpy(p->bias, b->data, sizeof(float) * f);
    return 0;
}

fn_conv_geom fn_depthwise_geom(int kh, int kw, int sh, int sw, int same, const fn_shape *in, int n)
{
    fn_conv_geom g = {0};
    g.n = n, g.h = in->d[0], g.w = in->d[1], g.c = in->d[2];
    g.kh = kh, g.kw = kw, g.sh = sh, g.sw = sw;
    fn_window_out(g.h, kh, sh, same, &g.oh, &g.pt);
    fn_window_out(g.w, kw, sw, same, &g.ow, &g.pl);
    g.ldi = g.c;
    return g;
}

static void dw_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in, fn_view out,
                       const fn_ctx *ctx)
{
    (void)n_in;
    const dw_params *p = L->priv;
    const float *kernel = fn_layer_weight_c(L, "depthwise_kernel")->data;
    fn_conv_geom g = fn_depthwise_geom(p->kh, p->kw, p->sh, p->sw, p->same, in_shape, ctx->n);
    g.f = g.c * p->dm, g.ldi = in[0].ld, g.ldo = out.ld;
    if (ctx->reference) {
        fn_depthwise_naive(&g, p->dm, in[0].p, kernel, p->bias, out.p);
        fn_layer_act(L, out.p, (size_t)g.n * g.oh * g.ow, g.f, out.ld);
    } else if (fn_depthwise_run(&g, p->dm, in[0].p, kernel, p->bias, L->act, out.p, ctx->pool))
        fn_layer_act(L, out.p, (size_t)g.n * g.oh * g.ow, g.f, out.ld);
}

static double dw_macs(const fn_layer *L, const fn_shape *in)
{
    const dw_params *p = L->priv;
    fn_conv_geom g = fn_depthwise_geom(p->kh, p->kw, p->sh, p->sw, p->same, in, 1);
    return (double)g.oh * g.ow * g.c * p->dm * g.kh * g.kw;
}

static void dw_destroy(fn_layer *L)
{
    dw_params *p = L->priv;
    if (p)
        free(p->bias);
    free(p);
    L->priv = NULL;
}

static int dw_fold_params(fn_layer *L, float **kernel, size_t *rows, float **bias, int *channels)
{
    dw_params *p = L->priv;
    fn_weight *k = p ? fn_layer_weight(L, "depthwise_kernel") : NULL;
    if (!p || !p->bias || !k || !k->data)
        return -1;
    *kernel = k->data;
    *rows = (size_t)p->kh * p->kw;
    *bias = p->bias;
    *channels = k->shape.d[2] * k->shape.d[3];
    return 0;
}

const fn_op fn_op_depthwise_conv2d = {
    .class_name = "DepthwiseConv2D",
    .parse = dw_parse,
    .infer = dw_infer,
    .prepare = dw_prepare,
    .forward = dw_forward,
    .destroy = dw_destroy,
    .macs = dw_macs,
    .fold_params = dw_fold_params,
};
