/* global_pool2d.c - Keras GlobalAveragePooling2D and GlobalMaxPooling2D: reduce the
 * spatial axes to one value per channel (rank-1 output, or 1x1xC with keepdims). */
#include <float.h>
#include <stdlib.h>

#include "layers/ops.h"

static int gp_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    int *keepdims = calloc(1, sizeof *keepdims);
    if (!keepdims)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = keepdims;
    if (fn_cfg_data_format(L, cfg, err) || fn_cfg_bool(L, cfg, "keepdims", 0, keepdims, err))
        return -1;
    L->flags = fn_layer_channels_first(L) ? 0 : FN_L_STRIDED_IN;
    return 0;
}

static int gp_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    if (n_in != 1 || in->rank != 3)
        return fn_fail(err, FN_E_SHAPE, "layer %s: global pooling needs one input of rank 3", L->name);
    int h, w, c;
    fn_layer_hwc(L, in, &h, &w, &c);
    if (c <= 0)
        return fn_fail(err, FN_E_SHAPE, "layer %s: the number of channels must be known", L->name);
    if (*(const int *)L->priv)
        *out = fn_layer_image(L, 1, 1, c);
    else
        *out = (fn_shape){1, {c, 0, 0, 0}};
    return 0;
}

static void gp_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                       fn_view out, const fn_ctx *ctx)
{
    (void)n_in;
    const int is_max = L->op == &fn_op_gmp2d;
    int h, w, c;
    fn_layer_hwc(L, &in_shape[0], &h, &w, &c);
    const size_t hw = (size_t)h * w;
    const int cf = fn_layer_channels_first(L);
    for (int n = 0; n < ctx->n; n++) {
        float *o = out.p + (size_t)n * c; /* output is contiguous */
        for (int ch = 0; ch < c; ch++) {
            double acc = is_max ? -FLT_MAX : 0.0;
            for (size_t i = 0; i < hw; i++) {
                float v = cf ? in[0].p[((size_t)n * c + ch) * hw + i]
                             : in[0].p[((size_t)n * hw + i) * in[0].ld + ch];
                acc = is_max ? (v > acc ? v : acc) : acc + v;
            }
            o[ch] = (float)(is_max ? acc : acc / (double)hw);
        }
    }
}

static void gp_destroy(fn_layer *L)
{
    free(L->priv);
    L->priv = NULL;
}

const fn_op fn_op_gap2d = {.class_name = "GlobalAveragePooling2D", .parse = gp_parse, .infer = gp_infer,
                           .forward = gp_forward, .destroy = gp_destroy};
const fn_op fn_op_gmp2d = {.class_name = "GlobalMaxPooling2D", .parse = gp_parse, .infer = gp_infer,
                           .forward = gp_forward, .destroy = gp_destroy};
