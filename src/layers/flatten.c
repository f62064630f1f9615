/* flatten.c - Keras Flatten.  For channels_last data (the config default) it is a
 * pure reinterpretation of the contiguous input (a view: no work at all).  With
 * data_format channels_first Keras moves channels last before flattening, so that
 * case permutes (C, H, W) -> (H, W, C). */
#include "layers/kernels.h"
#include "layers/ops.h"

static int flatten_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    return fn_cfg_data_format(L, cfg, err);
}

static int flatten_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    if (n_in != 1)
        return fn_fail(err, FN_E_SHAPE, "layer %s: Flatten needs one input", L->name);
    size_t n = fn_shape_count(in);
    if (n == 0 || n > 0x7fffffff)
        return fn_fail(err, FN_E_SHAPE, "layer %s: Flatten needs a fully known input shape", L->name);
    *out = (fn_shape){1, {(int)n, 0, 0, 0}};
    L->flags = fn_layer_channels_first(L) && in->rank >= 2 ? 0 : FN_L_VIEW;
    return 0;
}

static void flatten_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                            fn_view out, const fn_ctx *ctx)
{
    (void)n_in;
    if (L->flags & FN_L_VIEW)
        return;
    /* channels_first: (C, rest) -> (rest, C) per sample */
    const int c = in_shape[0].d[0];
    const int hw = (int)(fn_shape_count(&in_shape[0]) / (size_t)c);
    for (int n = 0; n < ctx->n; n++)
        fn_chw_to_hwc(in[0].p + (size_t)n * c * hw, c, hw, out.p + (size_t)n * c * hw);
}

const fn_op fn_op_flatten = {.class_name = "Flatten", .parse = flatten_parse, .infer = flatten_infer,
                             .forward = flatten_forward};
