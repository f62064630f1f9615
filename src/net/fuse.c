/* fuse.c - transform the loaded graph once, before planning:
 *   Conv2D -> BatchNormalization          BN folded into the conv's kernel and bias
 *   X -> Activation (X = conv/dense/add/scale-sum/BN)   activation applied inside X
 *   Lambda scale-sum(a, Conv2D(x))        the scale folded into the conv, leaving an add
 *   Dropout, linear Activation            removed
 * A layer is only folded into its producer when the producer has no other consumer
 * and is not a model output, so every tensor anyone can see keeps its value (up to
 * float rounding: folding reassociates a multiply). */
#include <stdlib.h>

#include "layers/ops.h"
#include "net/graph.h"

/* Consumers of layer s among executed layers, plus 1 if s is (resolves to) an output. */
static int users(const fn_net *net, int s)
{
    int u = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *L = &net->layers[i];
        if (L->flags & FN_L_IDENTITY)
            continue;
        for (int j = 0; j < L->n_in; j++)
            u += fn_net_resolve(net, L->in[j]) == s;
    }
    for (int k = 0; k < net->n_out; k++)
        u += fn_net_resolve(net, net->out[k]) == s;
    return u;
}

static int is_fusable_producer(const fn_layer *P)
{
    return P->op == &fn_op_conv2d || P->op == &fn_op_dense || P->op == &fn_op_add ||
           P->op == &fn_op_lambda || P->op == &fn_op_batchnorm;
}

static void vanish(fn_layer *L, const fn_layer *into)
{
    L->flags |= FN_L_IDENTITY;
    L->fused_into = into->name;
}

int fn_net_fuse(fn_net *net, fn_err *err)
{
    (void)err;
    for (int i = 0; i < net->n_layers; i++) {
        fn_layer *L = &net->layers[i];
        if (L->flags & FN_L_IDENTITY || L->n_in == 0)
            continue;
        fn_layer *P = &net->layers[fn_net_resolve(net, L->in[0])];
        int sole = users(net, P->index) == 1;

        if (L->op == &fn_op_activation && L->act == FN_ACT_LINEAR) {
            vanish(L, P);
        } else if (L->op == &fn_op_batchnorm && P->op == &fn_op_conv2d && sole && P->act == FN_ACT_LINEAR) {
            const float *mul, *add;
            int axis = fn_batchnorm_affine(L, &mul, &add);
            int chan_axis = fn_layer_channels_first(P) ? 0 : 2;
            if (axis == chan_axis && L->act == FN_ACT_LINEAR && !fn_conv2d_fold_affine(P, mul, add))
                vanish(L, P);
        } else if ((L->op == &fn_op_activation || L->op == &fn_op_relu) && sole &&
                   is_fusable_producer(P) && P->act == FN_ACT_LINEAR &&
                   (L->act != FN_ACT_SOFTMAX || !fn_layer_channels_first(P))) {
            P->act = L->act;
            vanish(L, P);
        } else if (fn_lambda_kind_of(L) == FN_LAMBDA_SCALE_SUM) {
            fn_layer *C = &net->layers[fn_net_resolve(net, L->in[1])];
            float s = fn_lambda_scale(L);
            if (C->op == &fn_op_conv2d && users(net, C->index) == 1 && C->act == FN_ACT_LINEAR &&
                C != P && s != 1.0f) {
                int f = fn_conv2d_filters(C);
                float *mul = malloc(sizeof(float) * (size_t)f);
                if (mul) {
                    for (int k = 0; k < f; k++)
                        mul[k] = s;
                    if (!fn_conv2d_fold_affine(C, mul, NULL))
                        fn_lambda_set_scale(L, 1.0f);
                    free(mul);
                }
            }
        }
    }
    return 0;
}
