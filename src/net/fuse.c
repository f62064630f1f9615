/* fuse.c - transform the loaded graph once, before planning:
 *   Conv2D -> BatchNormalization          BN folded into the conv's kernel and bias
 *     (also DepthwiseConv2D, per output channel, and SeparableConv2D: into its
 *     pointwise kernel and bias)
 *   X -> Activation/ReLU/LeakyReLU (X = conv/depthwise/separable/dense/add/scale-sum/BN)
 *                                         activation applied inside X
 *   scale-sum(a, Conv2D(x))               the scale folded into the conv, leaving an add
 *   Dropout, linear Activation            removed
 * A layer is only folded into its producer when the producer has no other consumer
 * and is not a model output, so every tensor anyone can see keeps its value (up to
 * float rounding: folding reassociates a multiply).
 *
 * Folding BatchNormalization into the convolution before it.  Per output channel:
 *     conv   y = w*x + b
 *     BN     z = (y - mu) * gamma / sqrt(var + eps) + beta
 * so z is again a convolution,  z = w'*x + b'  with
 *     w' = w * gamma / sqrt(var + eps)
 *     b' = (b - mu) * gamma / sqrt(var + eps) + beta
 * Computed as s = gamma / sqrt(var + eps) and t = beta - mu*s (the BN layer's own
 * affine form, src/layers/batchnorm.c:bn_prepare), then w' = w*s, b' = b*s + t.
 * The residual scale of a scale-sum folds the same way with s = scale, t = 0. */
#include <stddef.h>
#include <stdlib.h>

#include "layers/ops.h"
#include "net/graph.h"

/* uses[s]: consumers of layer s among executed layers (one per input slot), plus one
 * per model output that resolves to s.  Kept up to date as layers vanish, so the pass is
 * linear in the graph. */
static int *count_uses(const fn_net *net)
{
    int *uses = calloc((size_t)net->n_layers, sizeof *uses);
    if (!uses)
        return NULL;
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *L = &net->layers[i];
        if (!(L->flags & FN_L_IDENTITY))
            for (int j = 0; j < L->n_in; j++)
                uses[fn_net_resolve(net, L->in[j])]++;
    }
    for (int k = 0; k < net->n_out; k++)
        uses[fn_net_resolve(net, net->out[k])]++;
    return uses;
}

static int is_fusable_producer(const fn_layer *P)
{
    return P->op == &fn_op_conv2d || P->op == &fn_op_depthwise_conv2d || P->op == &fn_op_separable_conv2d ||
           P->op == &fn_op_dense || P->op == &fn_op_add ||
           P->op == &fn_op_scale_sum || P->op == &fn_op_l2_normalize || P->op == &fn_op_batchnorm;
}

/* Layer C (an op with fold_params: a convolution) becomes C followed by y*mul + add per
 * output channel: w' = w*mul, b' = b*mul + add.  mul NULL means every channel is
 * multiplied by `scale` (a residual scale); add NULL adds 0.  Returns -1 when C has no
 * weights to fold into. */
static int fold_affine(fn_layer *C, const float *mul, float scale, const float *add)
{
    float *w, *b;
    size_t rows;
    int f;
    if (!C->op->fold_params || C->op->fold_params(C, &w, &rows, &b, &f))
        return -1;
    for (size_t r = 0; r < rows; r++)
        for (int i = 0; i < f; i++)
            w[r * f + i] *= mul ? mul[i] : scale;
    for (int i = 0; i < f; i++)
        b[i] = b[i] * (mul ? mul[i] : scale) + (add ? add[i] : 0.0f);
    return 0;
}

/* L stops executing; its consumers now read its producer P (which L used once). */
static void vanish(fn_layer *L, const fn_layer *into, int *uses, int P)
{
    uses[P] += uses[L->index] - 1;
    L->flags |= FN_L_IDENTITY;
    L->fused_into = into->name;
}

int fn_net_fuse(fn_net *net, fn_err *err)
{
    int *uses = count_uses(net);
    if (!uses)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    for (int i = 0; i < net->n_layers; i++) {
        fn_layer *L = &net->layers[i];
        if (L->flags & FN_L_IDENTITY || L->n_in == 0)
            continue;
        fn_layer *P = &net->layers[fn_net_resolve(net, L->in[0])];
        int sole = uses[P->index] == 1;

        if (L->op == &fn_op_activation && L->act == FN_ACT_LINEAR) {
            vanish(L, P, uses, P->index);
        } else if (L->op == &fn_op_batchnorm && sole && P->act == FN_ACT_LINEAR && P->op->fold_params) {
            const float *mul, *add;
            int axis = fn_batchnorm_affine(L, &mul, &add);
            int chan_axis = fn_layer_channels_first(P) ? 0 : 2;
            if (axis == chan_axis && L->act == FN_ACT_LINEAR && !fold_affine(P, mul, 1.0f, add))
                vanish(L, P, uses, P->index);
        } else if ((L->op == &fn_op_activation || L->op == &fn_op_relu || L->op == &fn_op_leaky_relu) &&
                   sole && is_fusable_producer(P) && P->act == FN_ACT_LINEAR &&
                   (L->act != FN_ACT_SOFTMAX || !fn_layer_channels_first(P))) {
            P->act = L->act;
            P->act_args = L->act_args;
            vanish(L, P, uses, P->index);
        } else if (L->op == &fn_op_scale_sum) {
            fn_layer *C = &net->layers[fn_net_resolve(net, L->in[1])];
            float s = fn_scale_sum_scale(L);
            if (uses[C->index] == 1 && C->act == FN_ACT_LINEAR && C != P && s != 1.0f &&
                !fold_affine(C, NULL, s, NULL)) {
                fn_scale_sum_set_scale(L, 1.0f);
                C->folded_scale = s;
            }
        }
    }
    free(uses);
    return 0;
}
