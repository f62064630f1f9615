/* dropout.c - Keras Dropout (and the other training-only noise layers): the identity
 * at inference.  The graph optimiser removes them from execution. */
#include "layers/ops.h"

static int dropout_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    (void)cfg, (void)err;
    L->flags = FN_L_IDENTITY;
    return 0;
}

static int dropout_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    if (n_in != 1)
        return fn_fail(err, FN_E_SHAPE, "layer %s: needs exactly one input", L->name);
    *out = *in;
    return 0;
}

static void dropout_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                            fn_view out, const fn_ctx *ctx)
{
    (void)L, (void)in, (void)in_shape, (void)n_in, (void)out, (void)ctx;
}

const fn_op fn_op_dropout = {.class_name = "Dropout", .parse = dropout_parse, .infer = dropout_infer,
                             .forward = dropout_forward};
