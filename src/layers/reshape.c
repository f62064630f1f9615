/* reshape.c - Keras Reshape: the same values in row-major order under a new per-sample
 * shape (target_shape, at most one -1 inferred).  Keras reshapes the tensor as stored,
 * whatever the data format, so this is always a view of the contiguous input: no work. */
#include <stdlib.h>

#include "layers/ops.h"

typedef struct {
    fn_shape target;  /* -1 at the inferred axis, if any */
} reshape_params;

static int reshape_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    reshape_params *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = p;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cfg, "target_shape");
    int r = cJSON_IsArray(t) ? cJSON_GetArraySize(t) : 0;
    if (r < 1 || r > FN_MAX_RANK)
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: target_shape must be a list of 1..%d dimensions",
                       L->name, FN_MAX_RANK);
    int inferred = 0;
    p->target.rank = r;
    for (int i = 0; i < r; i++) {
        if (fn_json_int(cJSON_GetArrayItem(t, i), -1, 1000000000, &p->target.d[i]) || p->target.d[i] == 0)
            return fn_fail(err, FN_E_FORMAT, "layer %s: target_shape[%d] must be a positive integer or -1",
                           L->name, i);
        if (p->target.d[i] < 0 && inferred++)
            return fn_fail(err, FN_E_FORMAT, "layer %s: target_shape has more than one -1", L->name);
    }
    L->flags = FN_L_VIEW;
    return 0;
}

static int reshape_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    const reshape_params *p = L->priv;
    if (n_in != 1)
        return fn_fail(err, FN_E_SHAPE, "layer %s: Reshape needs one input", L->name);
    *out = p->target;
    size_t n = fn_shape_count(in), known = 1;
    int free_axis = -1;
    for (int i = 0; i < out->rank; i++) {
        if (out->d[i] < 0)
            free_axis = i;
        else if (fn_mul_size(known, (size_t)out->d[i], &known))
            return fn_fail(err, FN_E_SHAPE, "layer %s: target_shape is too large", L->name);
    }
    if (n == 0) /* input size not known yet: the inferred axis stays unknown */
        return 0;
    char s0[64], s1[64];
    fn_shape_str(in, s0, sizeof s0);
    fn_shape_str(&p->target, s1, sizeof s1);
    if (free_axis >= 0) {
        if (n % known || n / known > 0x7fffffff)
            return fn_fail(err, FN_E_SHAPE, "layer %s: cannot reshape %s into %s", L->name, s0, s1);
        out->d[free_axis] = (int)(n / known);
    } else if (known != n) {
        return fn_fail(err, FN_E_SHAPE, "layer %s: cannot reshape %s (%zu values) into %s", L->name, s0, n, s1);
    }
    return 0;
}

static void reshape_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                            fn_view out, const fn_ctx *ctx)
{
    (void)L, (void)in, (void)in_shape, (void)n_in, (void)out, (void)ctx; /* a view: nothing to do */
}

static void reshape_destroy(fn_layer *L)
{
    free(L->priv);
    L->priv = NULL;
}

const fn_op fn_op_reshape = {.class_name = "Reshape", .parse = reshape_parse, .infer = reshape_infer,
                             .forward = reshape_forward, .destroy = reshape_destroy};
