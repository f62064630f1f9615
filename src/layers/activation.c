/* activation.c - Keras Activation, ReLU, LeakyReLU and Softmax layers (elementwise, or softmax
 * over the innermost axis).  Usually fused into the producing layer by the graph
 * optimiser, in which case this op never runs.
 *
 * Also the activation kernels every op applies at the end of its forward pass:
 * fn_apply_act (the plain loops, the reference) and fn_bias_act, which adds a bias
 * and applies the activation in one pass over a GEMM's output tile while it is
 * still in cache - branch-free and vectorised (AVX2 when the CPU has it). */
#include <math.h>
#include <string.h>

#include "layers/kernels.h"
#include "layers/ops.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FN_X86 1
#endif

static void softmax_row(float *p, int n)
{
    float m = p[0];
    for (int i = 1; i < n; i++)
        m = p[i] > m ? p[i] : m;
    double s = 0;
    for (int i = 0; i < n; i++) {
        p[i] = expf(p[i] - m);
        s += p[i];
    }
    for (int i = 0; i < n; i++)
        p[i] = (float)(p[i] / s);
}

void fn_apply_act(fn_act act, const fn_act_args *args, float *p, size_t rows, int cols, int ld)
{
    static const fn_act_args none = {0.0f, INFINITY, 0.0f};
    const fn_act_args *a = args ? args : &none;
    if (act == FN_ACT_LINEAR)
        return;
    if (act == FN_ACT_RELU) { /* the vectorised loop, same values */
        fn_bias_act(p, rows, cols, ld, NULL, act);
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        float *x = p + r * (size_t)ld;
        switch (act) {
        case FN_ACT_RELU:
            for (int i = 0; i < cols; i++)
                x[i] = x[i] > 0 ? x[i] : 0;
            break;
        case FN_ACT_RELU6:
            for (int i = 0; i < cols; i++)
                x[i] = x[i] < 0 ? 0 : (x[i] > 6 ? 6 : x[i]);
            break;
        case FN_ACT_SIGMOID:
            for (int i = 0; i < cols; i++)
                x[i] = 1.0f / (1.0f + expf(-x[i]));
            break;
        case FN_ACT_TANH:
            for (int i = 0; i < cols; i++)
                x[i] = tanhf(x[i]);
            break;
        case FN_ACT_ELU:
            for (int i = 0; i < cols; i++)
                x[i] = x[i] > 0 ? x[i] : expm1f(x[i]);
            break;
        case FN_ACT_SELU:
            for (int i = 0; i < cols; i++)
                x[i] = 1.0507009873554805f * (x[i] > 0 ? x[i] : 1.6732632423543772f * expm1f(x[i]));
            break;
        case FN_ACT_SOFTPLUS:
            for (int i = 0; i < cols; i++)
                x[i] = x[i] > 20 ? x[i] : log1pf(expf(x[i]));
            break;
        case FN_ACT_SOFTMAX:
            softmax_row(x, cols);
            break;
        case FN_ACT_LEAKY:
            for (int i = 0; i < cols; i++)
                x[i] = x[i] > 0 ? x[i] : a->slope * x[i];
            break;
        case FN_ACT_RELU_ARGS:
            /* Keras' backend relu: x * (x > threshold), clipped to max_value, minus
             * slope * relu(threshold - x); with threshold >= 0 that is this. */
            for (int i = 0; i < cols; i++)
                x[i] = x[i] > a->threshold ? (x[i] < a->max_value ? x[i] : a->max_value)
                                           : a->slope * (x[i] - a->threshold);
            break;
        case FN_ACT_LINEAR:
            break;
        }
    }
}

void fn_layer_act(const fn_layer *L, float *p, size_t rows, int cols, int ld)
{
    fn_apply_act(L->act, &L->act_args, p, rows, cols, ld);
}

fn_act fn_layer_store_act(const fn_layer *L)
{
    return L->act == FN_ACT_LEAKY || L->act == FN_ACT_RELU_ARGS ? FN_ACT_LINEAR : L->act;
}

/* The epilogue, portable: out = max(out + bias, 0) (relu) or out + bias (linear).
 * x > 0 ? x : 0 is the reference's rule (NaN -> 0); the AVX2 path keeps it. */
static void bias_act_c(float *out, size_t rows, int cols, int ld, const float *bias, int relu)
{
    for (size_t r = 0; r < rows; r++) {
        float *x = out + r * (size_t)ld;
        if (relu && bias)
            for (int i = 0; i < cols; i++) {
                float v = x[i] + bias[i];
                x[i] = v > 0.0f ? v : 0.0f;
            }
        else if (relu)
            for (int i = 0; i < cols; i++)
                x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        else
            for (int i = 0; i < cols; i++)
                x[i] += bias[i];
    }
}

#ifdef FN_X86
__attribute__((target("avx2,fma"))) static void bias_act_avx2(float *out, size_t rows, int cols, int ld,
                                                              const float *bias, int relu)
{
    const __m256 zero = _mm256_setzero_ps();
    for (size_t r = 0; r < rows; r++) {
        float *x = out + r * (size_t)ld;
        int i = 0;
        for (; i + 8 <= cols; i += 8) {
            __m256 v = _mm256_loadu_ps(x + i);
            if (bias)
                v = _mm256_add_ps(v, _mm256_loadu_ps(bias + i));
            if (relu) /* max(v, 0) gives the second operand, 0, for NaN: the reference's rule */
                v = _mm256_max_ps(v, zero);
            _mm256_storeu_ps(x + i, v);
        }
        if (i < cols)
            bias_act_c(x + i, 1, cols - i, ld, bias ? bias + i : NULL, relu);
    }
}
#endif

void fn_bias_act(float *out, size_t rows, int cols, int ld, const float *bias, fn_act act)
{
    if (act != FN_ACT_LINEAR && act != FN_ACT_RELU) {
        if (bias)
            bias_act_c(out, rows, cols, ld, bias, 0);
        fn_apply_act(act, NULL, out, rows, cols, ld); /* no parameters: callers apply those themselves */
        return;
    }
    if (act == FN_ACT_LINEAR && !bias)
        return;
#ifdef FN_X86
    if (fn_cpu_isa() >= FN_ISA_AVX2) {
        bias_act_avx2(out, rows, cols, ld, bias, act == FN_ACT_RELU);
        return;
    }
#endif
    bias_act_c(out, rows, cols, ld, bias, act == FN_ACT_RELU);
}

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
