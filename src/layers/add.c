/* add.c - Keras Add: elementwise sum of any number of equally shaped inputs (plus
 * the activation the optimiser may fuse in, e.g. the ReLU after a residual sum). */
#include <string.h>

#include "core/thread_pool.h"
#include "layers/kernels.h"
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

typedef float v4 __attribute__((vector_size(16)));

/* o[i] = a[i] + b[i], 4 at a time (SSE vectors, any x86-64); o may be a or b */
void fn_add_vec(float *o, const float *a, const float *b, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        v4 va, vb;
        memcpy(&va, a + i, sizeof va), memcpy(&vb, b + i, sizeof vb);
        va += vb;
        memcpy(o + i, &va, sizeof va);
    }
    for (; i < n; i++)
        o[i] = a[i] + b[i];
}

typedef struct {
    const fn_layer *L;
    const fn_view *in;
    int n_in, cols;
    fn_view out;
} add_job;

/* Rows [r0, r1): the sum, then the activation while the rows are in cache. */
static void add_rows(void *arg, size_t r0, size_t r1)
{
    const add_job *j = arg;
    for (size_t r = r0; r < r1; r++) {
        float *o = j->out.p + r * j->out.ld;
        const float *a = j->in[0].p + r * j->in[0].ld, *b = j->in[1].p + r * j->in[1].ld;
        fn_add_vec(o, a, b, j->cols); /* o may be a (in place): same index */
        for (int k = 2; k < j->n_in; k++)
            fn_add_vec(o, o, j->in[k].p + r * j->in[k].ld, j->cols);
    }
    fn_layer_act(j->L, j->out.p + r0 * j->out.ld, r1 - r0, j->cols, j->out.ld);
}

static void add_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                        fn_view out, const fn_ctx *ctx)
{
    const int cols = in_shape[0].d[in_shape[0].rank - 1];
    const size_t rows = (size_t)ctx->n * (fn_shape_count(&in_shape[0]) / (size_t)cols);
    add_job j = {L, in, n_in, cols, out};
    fn_pool_for(ctx->pool, rows, (16384 + (size_t)cols - 1) / (size_t)cols, add_rows, &j);
}

const fn_op fn_op_add = {.class_name = "Add", .parse = add_parse, .infer = add_infer, .forward = add_forward};
