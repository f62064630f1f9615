/* batchnorm.c - Keras BatchNormalization at inference, on any axis:
 *   y = x * mul + add,  mul = gamma / sqrt(moving_variance + epsilon),
 *                       add = beta - moving_mean * mul
 * (TensorFlow's fused inference form).  The graph optimiser folds it into a
 * preceding convolution when it can (src/net/fuse.c, where the folding formula is
 * written out whole); otherwise this op runs it. */
#include <math.h>
#include <stdlib.h>

#include "layers/ops.h"

typedef struct {
    int axis_keras;   /* as configured (may be negative, counts the batch axis) */
    int axis;         /* per-sample axis, resolved in infer */
    int center, scale;
    double eps;
    float *mul, *add; /* per channel, owned */
} bn_params;

static int bn_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    bn_params *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = p;
    const cJSON *ax = cJSON_GetObjectItemCaseSensitive(cfg, "axis");
    if (cJSON_IsArray(ax)) {
        if (cJSON_GetArraySize(ax) != 1)
            return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: normalisation over several axes is not supported",
                           L->name);
        ax = cJSON_GetArrayItem(ax, 0);
    }
    p->axis_keras = -1;
    if (ax && fn_json_int(ax, -FN_MAX_RANK - 1, FN_MAX_RANK + 1, &p->axis_keras))
        return fn_fail(err, FN_E_FORMAT, "layer %s: config 'axis' must be a small integer", L->name);
    if (fn_cfg_num(L, cfg, "epsilon", 1e-3, &p->eps, err) || fn_cfg_bool(L, cfg, "center", 1, &p->center, err) ||
        fn_cfg_bool(L, cfg, "scale", 1, &p->scale, err))
        return -1;
    if (p->eps < 0)
        return fn_fail(err, FN_E_FORMAT, "layer %s: negative epsilon", L->name);
    return 0;
}

static int bn_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    bn_params *p = L->priv;
    if (n_in != 1)
        return fn_fail(err, FN_E_SHAPE, "layer %s: BatchNormalization needs one input", L->name);
    int a = p->axis_keras < 0 ? in->rank + p->axis_keras : p->axis_keras - 1;
    if (a < 0 || a >= in->rank)
        return fn_fail(err, FN_E_SHAPE, "layer %s: axis %d is out of range for a rank-%d input", L->name,
                       p->axis_keras, in->rank + 1);
    int c = in->d[a];
    if (c <= 0)
        return fn_fail(err, FN_E_SHAPE, "layer %s: the normalised axis must have a known size", L->name);
    p->axis = a;
    L->flags = a == in->rank - 1 ? FN_L_STRIDED_IN | FN_L_STRIDED_OUT : 0;
    *out = *in;
    if ((p->scale && fn_layer_declare(L, "gamma", 1, &c, 0, err)) ||
        (p->center && fn_layer_declare(L, "beta", 1, &c, 0, err)) ||
        fn_layer_declare(L, "moving_mean", 1, &c, 0, err) ||
        fn_layer_declare(L, "moving_variance", 1, &c, 0, err))
        return -1;
    return 0;
}

static int bn_prepare(fn_layer *L, fn_err *err)
{
    bn_params *p = L->priv;
    const fn_weight *mean = fn_layer_weight_c(L, "moving_mean");
    const fn_weight *var = fn_layer_weight_c(L, "moving_variance");
    const fn_weight *gamma = fn_layer_weight_c(L, "gamma"), *beta = fn_layer_weight_c(L, "beta");
    int c = mean->shape.d[0];
    free(p->mul);
    free(p->add);
    p->mul = malloc(sizeof(float) * (size_t)c);
    p->add = malloc(sizeof(float) * (size_t)c);
    if (!p->mul || !p->add)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    for (int i = 0; i < c; i++) {
        if (var->data[i] + p->eps <= 0)
            return fn_fail(err, FN_E_FORMAT, "layer %s: moving_variance[%d] + epsilon is not positive",
                           L->name, i);
        float inv = (float)(1.0 / sqrt((double)var->data[i] + p->eps));
        float m = p->scale ? gamma->data[i] * inv : inv;
        p->mul[i] = m;
        p->add[i] = (p->center ? beta->data[i] : 0.0f) - mean->data[i] * m;
    }
    return 0;
}

static void bn_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                       fn_view out, const fn_ctx *ctx)
{
    (void)n_in;
    const bn_params *p = L->priv;
    const fn_shape *s = &in_shape[0];
    const int cols = s->d[s->rank - 1];
    const size_t rows = (size_t)ctx->n * (fn_shape_count(s) / (size_t)cols);
    if (p->axis == s->rank - 1) {
        for (size_t r = 0; r < rows; r++) {
            const float *x = in[0].p + r * in[0].ld;
            float *y = out.p + r * out.ld;
            for (int i = 0; i < cols; i++)
                y[i] = x[i] * p->mul[i] + p->add[i];
        }
    } else {
        /* contiguous tensor, channel = (index / inner) % C */
        size_t inner = 1;
        for (int i = p->axis + 1; i < s->rank; i++)
            inner *= (size_t)s->d[i];
        const size_t total = rows * (size_t)cols, c = (size_t)s->d[p->axis];
        for (size_t i = 0; i < total; i++) {
            size_t ch = (i / inner) % c;
            out.p[i] = in[0].p[i] * p->mul[ch] + p->add[ch];
        }
    }
    fn_layer_act(L, out.p, rows, cols, out.ld);
}

static void bn_destroy(fn_layer *L)
{
    bn_params *p = L->priv;
    if (p) {
        free(p->mul);
        free(p->add);
    }
    free(p);
    L->priv = NULL;
}

int fn_batchnorm_affine(const fn_layer *L, const float **mul, const float **add)
{
    const bn_params *p = L->priv;
    if (L->op != &fn_op_batchnorm || !p->mul)
        return -1;
    *mul = p->mul;
    *add = p->add;
    return p->axis;
}

const fn_op fn_op_batchnorm = {
    .class_name = "BatchNormalization",
    .parse = bn_parse,
    .infer = bn_infer,
    .prepare = bn_prepare,
    .forward = bn_forward,
    .destroy = bn_destroy,
};
