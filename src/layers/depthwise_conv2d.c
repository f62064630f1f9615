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

void fn_depthwise_fast(const fn_conv_geom *g, int dm, const float *in, const float *kernel,
                       const float *bias, float *out)
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
    if (ctx->reference)
        fn_depthwise_naive(&g, p->dm, in[0].p, kernel, p->bias, out.p);
    else
        fn_depthwise_fast(&g, p->dm, in[0].p, kernel, p->bias, out.p);
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
