/* separable_conv2d.c - Keras SeparableConv2D: a depthwise convolution (the kernel of
 * depthwise_conv2d.c, no bias) followed by a 1x1 pointwise convolution with bias and
 * fused activation (the Conv2D kernels: the engine's packed GEMM with bias and
 * activation in its store, or the naive loops on the reference path).  channels_last.
 * Weights: depthwise_kernel (kh, kw, c, dm), pointwise_kernel (1, 1, c*dm, filters),
 * bias (filters).  The depthwise result of one image lives in scratch (oh*ow*c*dm
 * floats). */
#include <stdlib.h>
#include <string.h>

#include "layers/kernels.h"
#include "layers/ops.h"

typedef struct {
    int kh, kw, sh, sw, same, dm, filters, use_bias;
    float *bias;      /* filters values; owned; zeros when the layer has no bias */
    fn_packed_b pb;   /* pointwise kernel and bias packed for fn_gemm_packed (after folding), or empty */
} sep_params;

static int sep_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    sep_params *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = p;
    int k[2], s[2];
    if (fn_depthwise_parse_common(L, cfg, k, s, &p->same, &p->dm, err) ||
        fn_cfg_int(L, cfg, "filters", 0, &p->filters, err) || fn_cfg_bool(L, cfg, "use_bias", 1, &p->use_bias, err))
        return -1;
    if (p->filters <= 0)
        return fn_fail(err, FN_E_FORMAT, "layer %s: filters must be positive", L->name);
    p->kh = k[0], p->kw = k[1], p->sh = s[0], p->sw = s[1];
    return 0;
}

static int sep_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    sep_params *p = L->priv;
    if (n_in != 1 || in->rank != 3)
        return fn_fail(err, FN_E_SHAPE, "layer %s: SeparableConv2D needs one input of rank 3", L->name);
    int h = in->d[0], w = in->d[1], c = in->d[2], oh, ow, pt, pl;
    if (c <= 0)
        return fn_fail(err, FN_E_SHAPE, "layer %s: the number of input channels must be known", L->name);
    if ((long long)c * p->dm > 1000000000)
        return fn_fail(err, FN_E_SHAPE, "layer %s: %d channels x depth_multiplier %d is too many", L->name, c,
                       p->dm);
    if (fn_op_window(L, "height", h, p->kh, p->sh, p->same, &oh, &pt, err) ||
        fn_op_window(L, "width", w, p->kw, p->sw, p->same, &ow, &pl, err))
        return -1;
    *out = (fn_shape){3, {oh, ow, p->filters, 0}};
    int dk[4] = {p->kh, p->kw, c, p->dm}, pk[4] = {1, 1, c * p->dm, p->filters};
    if (fn_layer_declare(L, "depthwise_kernel", 4, dk, 0, err) ||
        fn_layer_declare(L, "pointwise_kernel", 4, pk, 0, err))
        return -1;
    if (p->use_bias && fn_layer_declare(L, "bias", 1, &p->filters, 0, err))
        return -1;
    return 0;
}

static int sep_prepare(fn_layer *L, fn_err *err)
{
    sep_params *p = L->priv;
    if (L->theano_kernels)
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: SeparableConv2D from a Theano-backend file is not supported",
                       L->name);
    free(p->bias);
    p->bias = calloc((size_t)p->filters, sizeof(float));
    if (!p->bias)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    const fn_weight *b = fn_layer_weight_c(L, "bias");
    if (p->use_bias && b && b->data)
        memcpy(p->bias, b->data, sizeof(float) * (size_t)p->filters);
    return 0;
}

static size_t sep_scratch(const fn_layer *L, const fn_shape *in)
{
    const sep_params *p = L->priv;
    fn_conv_geom g = fn_depthwise_geom(p->kh, p->kw, p->sh, p->sw, p->same, in, 1);
    return (size_t)g.oh * g.ow * g.c * p->dm;
}

static void sep_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in, fn_view out,
                        const fn_ctx *ctx)
{
    (void)n_in;
    const sep_params *p = L->priv;
    const float *dk = fn_layer_weight_c(L, "depthwise_kernel")->data;
    const float *pk = fn_layer_weight_c(L, "pointwise_kernel")->data;
    /* depthwise, one image at a time into scratch (oh, ow, c*dm) */
    fn_conv_geom d = fn_depthwise_geom(p->kh, p->kw, p->sh, p->sw, p->same, in_shape, 1);
    const int cm = d.c * p->dm;
    d.f = cm, d.ldi = in[0].ld, d.ldo = cm;
    /* pointwise: a 1x1 convolution of the (oh, ow, c*dm) scratch image */
    fn_conv_geom q = {.n = 1, .h = d.oh, .w = d.ow, .c = cm, .ldi = cm, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                      .oh = d.oh, .ow = d.ow, .f = p->filters, .ldo = out.ld};
    const size_t in_img = (size_t)d.h * d.w * in[0].ld, out_img = (size_t)d.oh * d.ow * out.ld;
    for (int n = 0; n < ctx->n; n++) {
        const float *x = in[0].p + n * in_img;
        float *y = out.p + n * out_img;
        if (ctx->reference) {
            fn_depthwise_naive(&d, p->dm, x, dk, NULL, ctx->scratch);
            fn_conv2d_naive(&q, ctx->scratch, pk, p->bias, y);
        } else {
            fn_depthwise_run(&d, p->dm, x, dk, NULL, FN_ACT_LINEAR, ctx->scratch, ctx->pool);
            /* 1x1: no im2col scratch */
            fn_conv2d_packed(&q, ctx->scratch, &p->pb, pk, p->bias, fn_layer_store_act(L), y, NULL, 0, ctx->pool);
        }
    }
    if (ctx->reference || fn_layer_store_act(L) != L->act)
        fn_layer_act(L, out.p, (size_t)ctx->n * d.oh * d.ow, p->filters, out.ld);
}

/* Weights are final (BatchNorm folded into the pointwise kernel): pack them once. */
static int sep_finalize(fn_layer *L, fn_err *err)
{
    sep_params *p = L->priv;
    fn_packed_b_free(&p->pb);
    const fn_weight *k = fn_layer_weight_c(L, "pointwise_kernel");
    if (!fn_gemm_available() || !k || !k->data || !p->bias)
        return 0;
    if (fn_gemm_pack_b(k->data, k->shape.d[2], p->filters, p->bias, &p->pb))
        return fn_fail(err, FN_E_NOMEM, "layer %s: out of memory packing the pointwise kernel", L->name);
    return 0;
}

static double sep_macs(const fn_layer *L, const fn_shape *in)
{
    const sep_params *p = L->priv;
    fn_conv_geom g = fn_depthwise_geom(p->kh, p->kw, p->sh, p->sw, p->same, in, 1);
    double px = (double)g.oh * g.ow, cm = (double)g.c * p->dm;
    return px * cm * g.kh * g.kw + px * cm * p->filters;
}

static void sep_destroy(fn_layer *L)
{
    sep_params *p = L->priv;
    if (p) {
        free(p->bias);
        fn_packed_b_free(&p->pb);
    }
    free(p);
    L->priv = NULL;
}

static int sep_fold_params(fn_layer *L, float **kernel, size_t *rows, float **bias, int *filters)
{
    sep_params *p = L->priv;
    fn_weight *k = p ? fn_layer_weight(L, "pointwise_kernel") : NULL;
    if (!p || !p->bias || !k || !k->data)
        return -1;
    *kernel = k->data;
    *rows = (size_t)k->shape.d[2];
    *bias = p->bias;
    *filters = p->filters;
    return 0;
}

const fn_op fn_op_separable_conv2d = {
    .class_name = "SeparableConv2D",
    .parse = sep_parse,
    .infer = sep_infer,
    .prepare = sep_prepare,
    .scratch = sep_scratch,
    .forward = sep_forward,
    .destroy = sep_destroy,
    .macs = sep_macs,
    .fold_params = sep_fold_params,
    .finalize = sep_finalize,
};
