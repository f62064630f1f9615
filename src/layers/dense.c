/* dense.c - Keras Dense: y = x W + b over the innermost axis (W is Keras' (in, units)
 * kernel, used as is by the GEMM), with a fused activation. */
#include <cblas.h>
#include <stdlib.h>

#include "layers/kernels.h"
#include "layers/ops.h"

typedef struct {
    int units, use_bias;
} dense_params;

void fn_dense_naive(size_t rows, int in, int out, const float *x, int ldx, const float *W,
                    const float *bias, float *y, int ldy)
{
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < out; j++) {
            double acc = bias ? bias[j] : 0.0;
            for (int i = 0; i < in; i++)
                acc += (double)x[r * ldx + i] * W[(size_t)i * out + j];
            y[r * ldy + j] = (float)acc;
        }
}

void fn_dense_gemm(size_t rows, int in, int out, const float *x, int ldx, const float *W,
                   const float *bias, float *y, int ldy)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, out, in, 1.0f, x, ldx, W, out, 0.0f,
                y, ldy);
    if (bias)
        for (size_t r = 0; r < rows; r++)
            for (int j = 0; j < out; j++)
                y[r * ldy + j] += bias[j];
}

typedef struct {
    size_t rows;
    int in, out, ldx, ldy, chunk;
    const float *x, *W, *bias;
    fn_act act;
    float *y;
} dense_job;

/* Task t: output columns [t*chunk, (t+1)*chunk). */
static void dense_task(void *arg, int t, int thread)
{
    (void)thread;
    const dense_job *j = arg;
    const int c0 = t * j->chunk, nc = c0 + j->chunk < j->out ? j->chunk : j->out - c0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)j->rows, nc, j->in, 1.0f, j->x, j->ldx,
                j->W + c0, j->out, 0.0f, j->y + c0, j->ldy);
    fn_bias_act(j->y + c0, j->rows, nc, j->ldy, j->bias ? j->bias + c0 : NULL, j->act);
}

void fn_dense_fast(size_t rows, int in, int out, const float *x, int ldx, const float *W,
                   const float *bias, fn_act act, float *y, int ldy, fn_pool *pool)
{
    int tasks = fn_pool_threads(pool);
    /* below ~1M multiply-adds a wake-up costs more than it saves */
    if ((double)rows * in * out < 1e6 || out < 32 * tasks)
        tasks = 1;
    int chunk = (out + tasks - 1) / tasks;
    chunk = act == FN_ACT_SOFTMAX ? out : (chunk + 15) / 16 * 16; /* softmax needs whole rows */
    dense_job j = {rows, in, out, ldx, ldy, chunk, x, W, bias, act, y};
    fn_pool_run(pool, (out + chunk - 1) / chunk, dense_task, &j);
}

static int dense_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    dense_params *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = p;
    if (fn_cfg_int(L, cfg, "units", 0, &p->units, err) || fn_cfg_bool(L, cfg, "use_bias", 1, &p->use_bias, err) ||
        fn_cfg_act(L, cfg, err))
        return -1;
    if (p->units <= 0)
        return fn_fail(err, FN_E_FORMAT, "layer %s: units must be positive", L->name);
    L->flags = FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return 0;
}

static int dense_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    const dense_params *p = L->priv;
    if (n_in != 1)
        return fn_fail(err, FN_E_SHAPE, "layer %s: Dense needs one input", L->name);
    int c = in->d[in->rank - 1];
    if (c <= 0)
        return fn_fail(err, FN_E_SHAPE, "layer %s: the input's last axis must have a known size", L->name);
    *out = *in;
    out->d[in->rank - 1] = p->units;
    int k[2] = {c, p->units};
    if (fn_layer_declare(L, "kernel", 2, k, 0, err))
        return -1;
    if (p->use_bias && fn_layer_declare(L, "bias", 1, &p->units, 0, err))
        return -1;
    return 0;
}

static void dense_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                          fn_view out, const fn_ctx *ctx)
{
    (void)n_in;
    const dense_params *p = L->priv;
    const int c = in_shape[0].d[in_shape[0].rank - 1];
    const size_t rows = (size_t)ctx->n * (fn_shape_count(&in_shape[0]) / (size_t)c);
    const float *W = fn_layer_weight_c(L, "kernel")->data;
    const fn_weight *b = fn_layer_weight_c(L, "bias");
    const float *bias = p->use_bias && b ? b->data : NULL;
    if (ctx->reference) {
        fn_dense_naive(rows, c, p->units, in[0].p, in[0].ld, W, bias, out.p, out.ld);
        fn_layer_act(L, out.p, rows, p->units, out.ld);
    } else {
        const fn_act act = fn_layer_store_act(L); /* in the kernel's epilogue */
        fn_dense_fast(rows, c, p->units, in[0].p, in[0].ld, W, bias, act, out.p, out.ld, ctx->pool);
        if (act != L->act) /* a pass of its own */
            fn_layer_act(L, out.p, rows, p->units, out.ld);
    }
}

static double dense_macs(const fn_layer *L, const fn_shape *in)
{
    const dense_params *p = L->priv;
    return (double)fn_shape_count(in) * p->units;
}

static void dense_destroy(fn_layer *L)
{
    free(L->priv);
    L->priv = NULL;
}

const fn_op fn_op_dense = {.class_name = "Dense", .parse = dense_parse, .infer = dense_infer,
                           .forward = dense_forward, .destroy = dense_destroy, .macs = dense_macs};
