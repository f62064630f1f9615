/* add.c - Keras Add: elementwise sum of any number of equally shaped inputs (plus
 * the activation the optimiser may fuse in, e.g. the ReLU after a residual sum). */
#include "layers/ops.h"

static int add_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    (void)cfg, (void)err;
    L->flags = FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return 0;
}

static int add_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    if (n_in < 2)
        return fn_fail(err, FN_E_SHAPE, "layer %s: Add needs at least two inputs", L->name);
    for (int i = 1; i < n_in; i++)
        if (!fn_shape_equal(&in[i], &in[0])) {
            char s0[64], s1[64];
            fn_shape_str(&in[0], s0, sizeof s0);
            fn_shape_str(&in[i], s1, sizeof s1);
            return fn_fail(err, FN_E_SHAPE, "layer %s: cannot add shapes %s and %s", L->name, s0, s1);
        }
    *out = in[0];
    return 0;
}

static void add_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                        fn_view out, const fn_ctx *ctx)
{
    const int cols = in_shape[0].d[in_shape[0].rank - 1];
    const size_t rows = (size_t)ctx->n * (fn_shape_count(&in_shape[0]) / (size_t)cols);
    for (size_t r = 0; r < rows; r++) {
        float *o = out.p + r * out.ld;
        const float *a = in[0].p + r * in[0].ld, *b = in[1].p + r * in[1].ld;
        for (int i = 0; i < cols; i++)
            o[i] = a[i] + b[i];
        for (int k = 2; k < n_in; k++) {
            const float *x = in[k].p + r * in[k].ld;
            for (int i = 0; i < cols; i++)
                o[i] += x[i];
        }
    }
    fn_layer_act(L, out.p, rows, cols, out.ld);
}

const fn_op fn_op_add = {.class_name = "Add", .parse = add_parse, .infer = add_infer, .forward = add_forward};
