/* forward.c - the forward pass: copy the input into its planned buffer, then run
 * every executed layer in topological order, each reading its inputs from and writing
 * its output to the places plan.c gave them.  Allocates nothing. */
#include <string.h>

#include "net/graph.h"

static fn_view view_of(const fn_net *net, int i)
{
    const fn_place *p = &net->place[i];
    return (fn_view){net->arena + net->offset[p->root] + p->col, p->ld};
}

int fn_net_run(fn_net *net, const float *input, int n, const fn_shape *in, fn_err *err)
{
    if (!net->weights_loaded && net->params)
        return fn_fail(err, FN_E_ARG, "the model has no weights loaded");
    if (fn_net_plan(net, n, in, err))
        return -1;
    const fn_ctx ctx = {n, net->arena + net->act_floats, net->scratch_stride, net->reference,
                        net->reference ? NULL : net->pool};
    memcpy(view_of(net, net->input).p, input, sizeof(float) * n * fn_shape_count(&net->plan_in));
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *L = &net->layers[i];
        if ((L->flags & (FN_L_IDENTITY | FN_L_VIEW)) || i == net->input)
            continue;
        fn_view inv[FN_MAX_INPUTS];
        for (int j = 0; j < L->n_in; j++)
            inv[j] = view_of(net, fn_net_resolve(net, L->in[j]));
        L->op->forward(L, inv, L->in_shape, L->n_in, view_of(net, i), &ctx);
    }
    return 0;
}

const float *fn_net_output(const fn_net *net, int i, fn_shape *shape)
{
    if (!net->planned || i < 0 || i >= net->n_out)
        return NULL;
    int s = fn_net_resolve(net, net->out[i]);
    if (shape)
        *shape = net->layers[s].out_shape;
    return view_of(net, s).p;
}

void fn_net_set_reference(fn_net *net, int on)
{
    net->reference = on;
}
