/* l2_normalize.c - L2 normalisation, the last step of FaceNet:
 *
 *     y = x / ||x||,   ||x|| = sqrt(max(sum_i x_i^2, 1e-12))
 *
 * Every embedding then lies on the unit sphere, so the squared distance of two
 * embeddings is 2 - 2 cos(angle) and one threshold fits all faces.  The epsilon is
 * Keras' (K.l2_normalize: max(sum of squares, 1e-12)): a zero vector stays zero.
 * The sum and the scaling are done in double and each value rounded once, so the
 * result is the correctly rounded x/||x|| (TensorFlow's float32 rsqrt-and-multiply can
 * be one ulp away).
 *
 * This file holds the one kernel every part of facenet-c uses (the model's own
 * Lambda, the encoder's normalisation of raw outputs, `facenet embed`), and the op
 * for the Keras Lambda `K.l2_normalize(x, axis=-1)` (recognised by src/io/
 * keras_lambda.c, which hands it the config {"axis": a}). */
#include <math.h>
#include <stdlib.h>

#include "layers/kernels.h"
#include "layers/ops.h"

void fn_l2_normalize_rows(const float *x, int ldx, float *y, int ldy, size_t rows, int cols)
{
    for (size_t r = 0; r < rows; r++) {
        const float *a = x + r * (size_t)ldx;
        float *o = y + r * (size_t)ldy;
        double ss = 0;
        for (int i = 0; i < cols; i++)
            ss += (double)a[i] * a[i];
        const double inv = 1.0 / sqrt(ss > 1e-12 ? ss : 1e-12);
        for (int i = 0; i < cols; i++)
            o[i] = (float)(a[i] * inv);
    }
}

void fn_l2_normalize(float *v, int d)
{
    fn_l2_normalize_rows(v, d, v, d, 1, d);
}

static int l2n_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    int *axis = malloc(sizeof *axis);
    if (!axis)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = axis;
    if (fn_cfg_int(L, cfg, "axis", -1, axis, err))
        return -1;
    L->flags = FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return 0;
}

static int l2n_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    const int axis = *(const int *)L->priv; /* Keras counts the batch axis: last = rank */
    if (n_in != 1 || !(axis == -1 || axis == in[0].rank))
        return fn_fail(err, FN_E_UNSUPPORTED,
                       "layer %s: l2_normalize Lambda needs one input, normalised over its last axis", L->name);
    *out = in[0];
    return 0;
}

/* in (rows, cols) [ld] -> out (rows, cols) [ld], each row normalised */
static void l2n_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in, fn_view out,
                        const fn_ctx *ctx)
{
    (void)n_in;
    const int cols = in_shape[0].d[in_shape[0].rank - 1];
    const size_t rows = (size_t)ctx->n * (fn_shape_count(&in_shape[0]) / (size_t)cols);
    fn_l2_normalize_rows(in[0].p, in[0].ld, out.p, out.ld, rows, cols);
    fn_layer_act(L, out.p, rows, cols, out.ld);
}

const fn_op fn_op_l2_normalize = {
    .class_name = "Lambda:l2_normalize",
    .parse = l2n_parse,
    .infer = l2n_infer,
    .forward = l2n_forward,
};
