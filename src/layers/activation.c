/* activation.c - Keras Activation, ReLU, LeakyReLU and Softmax layers (elementwise, or softmax
 * over the innermost axis).  Usually fused into the producing layer by the graph
 * optimiser, in which case this op never runs. */
#include <math.h>
#include <string.h>

#include "layers/ops.h"

static int act_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    L->flags = FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return fn_cfg_act(L, cfg, err);
}

/* Keras ReLU(max_value=None, negative_slope=0, threshold=0).  The common cases keep
 * their plain kinds (relu, relu6); anything else is FN_ACT_RELU_ARGS. */
static int relu_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    double maxv, slope, thr;
    if (fn_cfg_num(L, cfg, "max_value", -1, &maxv, err) || fn_cfg_num(L, cfg, "negative_slope", 0, &slope, err) ||
        fn_cfg_num(L, cfg, "threshold", 0, &thr, err))
        return -1;
    const cJSON *mv = cJSON_GetObjectItemCaseSensitive(cfg, "max_value");
    int has_max = mv && !cJSON_IsNull(mv);
    if ((has_max && maxv < 0) || slope < 0)
        return fn_fail(err, FN_E_FORMAT, "layer %s: ReLU max_value and negative_slope must not be negative",
                       L->name);
    if (thr < 0)
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: ReLU with a negative threshold (%g) is not supported",
                       L->name, thr);
    L->act_args = (fn_act_args){(float)slope, has_max ? (float)maxv : INFINITY, (float)thr};
    if (slope == 0 && thr == 0 && (!has_max || maxv == 6))
        L->act = has_max ? FN_ACT_RELU6 : FN_ACT_RELU;
    else
        L->act = FN_ACT_RELU_ARGS;
    L->flags = FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return 0;
}

/* Keras LeakyReLU: alpha (Keras 2, default 0.3) or negative_slope (Keras 3). */
static int leaky_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    double alpha;
    const char *key = cJSON_GetObjectItemCaseSensitive(cfg, "negative_slope") ? "negative_slope" : "alpha";
    if (fn_cfg_num(L, cfg, key, 0.3, &alpha, err))
        return -1;
    L->act = FN_ACT_LEAKY;
    L->act_args = (fn_act_args){(float)alpha, INFINITY, 0.0f};
    L->flags = FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return 0;
}

static int softmax_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    int axis;
    if (fn_cfg_int(L, cfg, "axis", -1, &axis, err))
        return -1;
    if (axis != -1)
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: Softmax over axis %d is not supported (only -1)",
                       L->name, axis);
    L->act = FN_ACT_SOFTMAX;
    L->flags = FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return 0;
}

static int act_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    if (n_in != 1)
        return fn_fail(err, FN_E_SHAPE, "layer %s: needs exactly one input", L->name);
    if (in->d[in->rank - 1] < 0)
        return fn_fail(err, FN_E_SHAPE, "layer %s: innermost axis must have a known size", L->name);
    *out = *in;
    return 0;
}

static void act_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                        fn_view out, const fn_ctx *ctx)
{
    (void)n_in;
    const int cols = in_shape[0].d[in_shape[0].rank - 1];
    const size_t rows = (size_t)ctx->n * (fn_shape_count(&in_shape[0]) / (size_t)cols);
    if (in[0].p != out.p)
        for (size_t r = 0; r < rows; r++)
            memcpy(out.p + r * out.ld, in[0].p + r * in[0].ld, sizeof(float) * (size_t)cols);
    fn_layer_act(L, out.p, rows, cols, out.ld);
}

const fn_op fn_op_activation = {.class_name = "Activation", .parse = act_parse, .infer = act_infer,
                                .forward = act_forward};
const fn_op fn_op_relu = {.class_name = "ReLU", .parse = relu_parse, .infer = act_infer,
                          .forward = act_forward};
const fn_op fn_op_softmax = {.class_name = "Softmax", .parse = softmax_parse, .infer = act_infer,
                             .forward = act_forward};
const fn_op fn_op_leaky_relu = {.class_name = "LeakyReLU", .parse = leaky_parse, .infer = act_infer,
                                .forward = act_forward};
