/* concat.c - Keras Concatenate along any axis.  Along the innermost axis the planner
 * normally makes each producer write straight into its slice of the output, so the
 * copy below is skipped for inputs that already sit in place. */
#include <stdlib.h>
#include <string.h>

#include "layers/ops.h"

typedef struct {
    int axis_keras, axis;
} concat_params;

static int concat_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    concat_params *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = p;
    return fn_cfg_int(L, cfg, "axis", -1, &p->axis_keras, err);
}

static int concat_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    concat_params *p = L->priv;
    if (n_in < 1)
        return fn_fail(err, FN_E_SHAPE, "layer %s: Concatenate needs inputs", L->name);
    int r = in[0].rank;
    int a = p->axis_keras < 0 ? r + p->axis_keras : p->axis_keras - 1;
    if (a < 0 || a >= r)
        return fn_fail(err, FN_E_SHAPE, "layer %s: axis %d out of range", L->name, p->axis_keras);
    *out = in[0];
    for (int i = 1; i < n_in; i++) {
        if (in[i].rank != r)
            return fn_fail(err, FN_E_SHAPE, "layer %s: inputs have different ranks", L->name);
        for (int d = 0; d < r; d++)
            if (d != a && in[i].d[d] != in[0].d[d]) {
                char s0[64], s1[64];
                fn_shape_str(&in[0], s0, sizeof s0);
                fn_shape_str(&in[i], s1, sizeof s1);
                return fn_fail(err, FN_E_SHAPE, "layer %s: cannot concatenate %s and %s on axis %d", L->name,
                               s0, s1, p->axis_keras);
            }
        long long sum = (long long)out->d[a] + in[i].d[a];
        if (out->d[a] >= 0 && in[i].d[a] >= 0 && sum > 0x7fffffff)
            return fn_fail(err, FN_E_SHAPE, "layer %s: concatenated axis is too large", L->name);
        out->d[a] = (out->d[a] < 0 || in[i].d[a] < 0) ? -1 : (int)sum;
    }
    p->axis = a;
    L->flags = a == r - 1 ? FN_L_STRIDED_IN | FN_L_STRIDED_OUT : 0;
    return 0;
}

static void concat_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                           fn_view out, const fn_ctx *ctx)
{
    const concat_params *p = L->priv;
    const int r = in_shape[0].rank;
    if (p->axis == r - 1) {
        const int c0 = in_shape[0].d[r - 1];
        const size_t rows = (size_t)ctx->n * (fn_shape_count(&in_shape[0]) / (size_t)c0);
        int off = 0;
        for (int i = 0; i < n_in; i++) {
            const int c = in_shape[i].d[r - 1];
            if (!(in[i].p == out.p + off && in[i].ld == out.ld)) /* not already in place */
                for (size_t row = 0; row < rows; row++)
                    memcpy(out.p + row * out.ld + off, in[i].p + row * in[i].ld, sizeof(float) * (size_t)c);
            off += c;
        }
        return;
    }
    /* general axis, contiguous tensors: outer blocks of (d_axis * inner) per input */
    size_t outer = (size_t)ctx->n, inner = 1;
    for (int d = 0; d < p->axis; d++)
        outer *= (size_t)in_shape[0].d[d];
    for (int d = p->axis + 1; d < r; d++)
        inner *= (size_t)in_shape[0].d[d];
    float *o = out.p;
    for (size_t b = 0; b < outer; b++)
        for (int i = 0; i < n_in; i++) {
            size_t chunk = (size_t)in_shape[i].d[p->axis] * inner;
            memcpy(o, in[i].p + b * chunk, sizeof(float) * chunk);
            o += chunk;
        }
}

static void concat_destroy(fn_layer *L)
{
    free(L->priv);
    L->priv = NULL;
}

const fn_op fn_op_concat = {.class_name = "Concatenate", .parse = concat_parse, .infer = concat_infer,
                            .forward = concat_forward, .destroy = concat_destroy};
