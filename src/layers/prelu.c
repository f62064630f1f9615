/* prelu.c - Keras PReLU: y = x for x >= 0, alpha * x otherwise, with a learned alpha
 * per element, broadcast over `shared_axes` (MTCNN shares over height and width, so
 * one alpha per channel). */
#include <stdlib.h>

#include "layers/ops.h"

typedef struct {
    unsigned shared; /* bit i set: per-sample axis i is shared */
} prelu_params;

static int prelu_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    prelu_params *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = p;
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(cfg, "shared_axes"), *a;
    if (sa && !cJSON_IsNull(sa)) {
        if (cJSON_IsNumber(sa)) {
            if (sa->valueint < 1 || sa->valueint > FN_MAX_RANK)
                return fn_fail(err, FN_E_FORMAT, "layer %s: bad shared_axes", L->name);
            p->shared |= 1u << (sa->valueint - 1);
        } else if (cJSON_IsArray(sa)) {
            cJSON_ArrayForEach(a, sa)
            {
                if (!cJSON_IsNumber(a) || a->valueint < 1 || a->valueint > FN_MAX_RANK)
                    return fn_fail(err, FN_E_FORMAT, "layer %s: bad shared_axes", L->name);
                p->shared |= 1u << (a->valueint - 1);
            }
        } else {
            return fn_fail(err, FN_E_FORMAT, "layer %s: bad shared_axes", L->name);
        }
    }
    return 0;
}

static int prelu_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    const prelu_params *p = L->priv;
    if (n_in != 1)
        return fn_fail(err, FN_E_SHAPE, "layer %s: PReLU needs one input", L->name);
    int dims[FN_MAX_RANK];
    for (int i = 0; i < in->rank; i++) {
        dims[i] = (p->shared >> i) & 1 ? 1 : in->d[i];
        if (dims[i] < 0)
            return fn_fail(err, FN_E_SHAPE, "layer %s: axis %d of unknown size must be in shared_axes",
                           L->name, i + 1);
    }
    if (p->shared >> in->rank)
        return fn_fail(err, FN_E_SHAPE, "layer %s: shared_axes beyond the input rank", L->name);
    *out = *in;
    return fn_layer_declare(L, "alpha", in->rank, dims, 0, err);
}

static void prelu_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                          fn_view out, const fn_ctx *ctx)
{
    (void)n_in;
    const fn_weight *w = fn_layer_weight_c(L, "alpha");
    const fn_shape *s = &in_shape[0];
    /* alpha stride per axis (0 where shared) */
    size_t astride[FN_MAX_RANK], st = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        astride[i] = w->shape.d[i] == 1 ? 0 : st;
        st *= (size_t)w->shape.d[i];
    }
    const size_t per = fn_shape_count(s);
    int coord[FN_MAX_RANK] = {0};
    for (size_t i = 0; i < per; i++) {
        size_t ai = 0;
        for (int k = 0; k < s->rank; k++)
            ai += (size_t)coord[k] * astride[k];
        const float alpha = w->data[ai];
        for (int n = 0; n < ctx->n; n++) {
            float x = in[0].p[(size_t)n * per + i];
            out.p[(size_t)n * per + i] = x >= 0 ? x : alpha * x;
        }
        for (int k = s->rank - 1; k >= 0; k--) { /* odometer */
            if (++coord[k] < s->d[k])
                break;
            coord[k] = 0;
        }
    }
}

static void prelu_destroy(fn_layer *L)
{
    free(L->priv);
    L->priv = NULL;
}

const fn_op fn_op_prelu = {.class_name = "PReLU", .parse = prelu_parse, .infer = prelu_infer,
                           .forward = prelu_forward, .destroy = prelu_destroy};
