/* scale_sum.c - the residual connection of Inception-ResNet:
 *
 *     out = a + scale * b          a: the block's input (the shortcut)
 *                                  b: the block's branches, concatenated and
 *                                     projected back by a 1x1 convolution
 *
 * This is what makes a block residual: the network learns a small correction b that
 * is added to its input, scaled down so the sum stays stable in deep stacks.  The
 * FaceNet (Inception-ResNet-v1) blocks use scale 0.17 (Block35, 35x35 grid), 0.10
 * (Block17, 17x17) and 0.20 (Block8, 8x8); the last Block8 uses 1.0.
 *
 * Keras files store it as a Lambda `inputs[0] + inputs[1] * scale`; src/io/
 * keras_lambda.c recognises that bytecode and hands this op the config {"scale": s}.
 * When b comes straight from a convolution used nowhere else, src/net/fuse.c folds the
 * scale into that convolution's weights and this op is left with scale 1: a plain add. */
#include <stdlib.h>
#include <string.h>

#include "core/thread_pool.h"
#include "layers/kernels.h"
#include "layers/ops.h"

typedef struct {
    float scale;
} scale_sum_params;

static int scale_sum_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    scale_sum_params *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = p;
    double scale;
    if (fn_cfg_num(L, cfg, "scale", 1.0, &scale, err))
        return -1;
    p->scale = (float)scale;
    L->flags = FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return 0;
}

static int scale_sum_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    if (n_in != 2 || !fn_shape_equal(&in[0], &in[1]))
        return fn_fail(err, FN_E_SHAPE, "layer %s: scale-sum Lambda needs two inputs of equal shape", L->name);
    *out = in[0];
    return 0;
}

typedef float v4 __attribute__((vector_size(16)));

/* o[i] = a[i] + b[i] * scale, 4 at a time (SSE vectors, any x86-64); o may be a or b */
void fn_scale_add_vec(float *o, const float *a, const float *b, float scale, int n)
{
    int i = 0;
    for (const v4 sv = {scale, scale, scale, scale}; i + 4 <= n; i += 4) {
        v4 va, vb;
        memcpy(&va, a + i, sizeof va), memcpy(&vb, b + i, sizeof vb);
        va = va + vb * sv;
        memcpy(o + i, &va, sizeof va);
    }
    for (; i < n; i++)
        o[i] = a[i] + b[i] * scale;
}

typedef struct {
    const fn_layer *L;
    const fn_view *in;
    int cols;
    float scale;
    fn_view out;
} scale_sum_job;

/* Rows [r0, r1) of in[0], in[1]: (rows, cols) [ld] -> out (rows, cols) [ld], then the activation. */
static void scale_sum_rows(void *arg, size_t r0, size_t r1)
{
    const scale_sum_job *j = arg;
    const float scale = j->scale;
    for (size_t r = r0; r < r1; r++) {
        const float *a = j->in[0].p + r * j->in[0].ld, *b = j->in[1].p + r * j->in[1].ld;
        float *o = j->out.p + r * j->out.ld;
        fn_scale_add_vec(o, a, b, scale, j->cols); /* o may be a or b */
    }
    fn_layer_act(j->L, j->out.p + r0 * j->out.ld, r1 - r0, j->cols, j->out.ld);
}

static void scale_sum_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                              fn_view out, const fn_ctx *ctx)
{
    (void)n_in;
    const int cols = in_shape[0].d[in_shape[0].rank - 1];
    const size_t rows = (size_t)ctx->n * (fn_shape_count(&in_shape[0]) / (size_t)cols);
    scale_sum_job j = {L, in, cols, ((const scale_sum_params *)L->priv)->scale, out};
    fn_pool_for(ctx->pool, rows, (16384 + (size_t)cols - 1) / (size_t)cols, scale_sum_rows, &j);
}

float fn_scale_sum_scale(const fn_layer *L)
{
    return ((const scale_sum_params *)L->priv)->scale;
}

void fn_scale_sum_set_scale(fn_layer *L, float scale)
{
    ((scale_sum_params *)L->priv)->scale = scale;
}

const fn_op fn_op_scale_sum = {
    .class_name = "Lambda:scale_sum",
    .parse = scale_sum_parse,
    .infer = scale_sum_infer,
    .forward = scale_sum_forward,
};
